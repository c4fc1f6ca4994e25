// ferrited's command line:
//   ferrited [--config FILE] [--set section.key=value ...] [--restore ARCHIVE [--restore-force]]
//   ferrited --help | --describe-config | --version
// The configuration is the built-in defaults, then FILE, then each --set in order.
#pragma once

#include <ostream>
#include <string>

#include "server/config.h"

namespace ferrite::server {

// What main() does after parse_command_line().
struct CommandLine {
  bool run = false;         // start the server on the configuration filled in
  int exit_status = 0;      // when !run: 0 after --help/--describe-config/--version, 2 after an error
  std::string config_path;  // --config FILE; "" = the built-in defaults
  // --restore ARCHIVE: restore a backup (persist/backup.h) into persist.dir before starting;
  // --restore-force replaces a folder that holds one (its files moved aside, not deleted).
  std::string restore_path;
  bool restore_force = false;
};

// Parses the arguments, loads and resolves the configuration into *config (on the CPUs this process
// may run on), and prints help, the settings table or the version to `out`, errors to `err` (one
// line each, "ferrited: ..."). Never exits the process.
CommandLine parse_command_line(int argc, const char* const* argv, ServerConfig* config, std::ostream& out,
                               std::ostream& err);

// The --help text.
std::string usage();

}  // namespace ferrite::server
