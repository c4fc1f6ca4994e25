// ferritectl's command line: global options, the command and its arguments, and how a command
// becomes a request line for the management socket.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ferrite::ctl {

// Exit statuses (documented in --help and docs/operations.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitDaemonError = 1;  // the daemon answered with an error
inline constexpr int kExitUsage = 2;        // bad ferritectl arguments
inline constexpr int kExitUnreachable = 3;  // no daemon at the socket, or no permission
inline constexpr int kExitBadReply = 4;     // the connection broke or the reply was not JSON

inline constexpr const char* kDefaultSocket = "/run/ferrite/ferrited.sock";

struct Options {
  std::string socket = kDefaultSocket;  // --socket, else $FERRITECTL_SOCKET, else the default
  bool json = false;
  std::vector<std::string> command;  // the command and its arguments
  // top
  double interval_s = 1.0;
  std::uint64_t iterations = 0;  // 0 = until interrupted
  // watch
  std::uint64_t backlog = 0;
  std::uint64_t count = 0;  // events to print before exiting; 0 = until interrupted
  // verify
  bool truncate = false;
  // backup (the folder, instead of asking the daemon) and restore (the target folder)
  std::string dir;
  bool dir_given = false;
  // restore
  bool force = false;
};

// Parses argv. Returns -1 to go on, else the exit status (0 after --help or --version, 2 on a
// usage error; the message is printed on stderr, the help on stdout).
int parse_options(int argc, char** argv, Options& o);

// The request line for a one-shot command ("keys hot 5" -> "/keys/hot 5"), or "" with *error
// set when the command or its arguments are wrong. top and watch are not one-shot.
std::string request_line(const std::vector<std::string>& command, std::string* error);

std::string usage_text();

}  // namespace ferrite::ctl
