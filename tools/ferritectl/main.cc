// ferritectl: the operator's client of ferrited's management socket. One request per command
// (info, stats, config, keys, ...), printed as tables or, with --json, as the daemon's JSON; plus
// `top` (a refreshing view) and `watch` (the event stream); and `verify`, which checks a
// persistence folder without a daemon; `backup` (of a live daemon's folder) and `restore`. See
// --help and docs/operations.md.
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "backup.h"
#include "client.h"
#include "mgmt/json_reader.h"
#include "options.h"
#include "render.h"
#include "verify.h"

namespace ferrite::ctl {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

int fail(int status, const std::string& msg) {
  std::cerr << "ferritectl: " << msg << "\n";
  return status;
}

// A one-shot request's timeout: /keys/big scans the table (up to 5 s in the daemon), /flush sweeps
// it (up to 60 s), and requests of other clients may be ahead of this one.
constexpr int kReplyTimeoutMs = 75'000;

struct Answer {
  int status = kExitOk;
  std::string line;  // the reply as received
  JsonValue reply;
};

// Sends one request and reads its reply; on failure `status` says which kind and the message is
// printed.
Answer ask(Client& client, const std::string& request) {
  Answer a;
  std::string error;
  if (!client.send_line(request, &error)) {
    a.status = fail(kExitBadReply, error);
    return a;
  }
  std::optional<std::string> line = client.read_line(kReplyTimeoutMs, nullptr, &error);
  if (!line) {
    a.status = fail(kExitBadReply, error);
    return a;
  }
  a.line = *line;
  std::optional<JsonValue> v = mgmt::parse_json(*line, &error);
  if (!v || !(*v)["ok"].is_bool()) {
    a.status = fail(kExitBadReply, "the reply is not the management protocol's JSON (" +
                                       (v ? std::string("no \"ok\" field") : error) + ")");
    return a;
  }
  a.reply = std::move(*v);
  return a;
}

int one_shot(const Options& o) {
  std::string error;
  const std::string request = request_line(o.command, &error);
  if (request.empty()) return fail(kExitUsage, error + "\n(ferritectl --help lists the commands)");
  std::optional<Client> client = Client::connect(o.socket, &error);
  if (!client) return fail(kExitUnreachable, error);
  Answer a = ask(*client, request);
  if (a.status != kExitOk) return a.status;
  const bool ok = a.reply["ok"].as_bool();
  if (o.json || o.command[0] == "raw") {
    std::cout << a.line << "\n";
  } else if (ok) {
    std::cout << render(o.command, a.reply["data"]);
  }
  if (!ok) {
    if (!o.json && o.command[0] != "raw") std::cerr << "ferritectl: " << a.reply["error"].as_string() << "\n";
    return kExitDaemonError;
  }
  return kExitOk;
}

// save: starts a snapshot (/save) and waits until it is written (/persistence, polled every
// 100 ms), then says what it wrote. One already under way (begun before this command) is waited
// for, then a new one is started.
int save(const Options& o) {
  std::string error;
  std::optional<Client> client = Client::connect(o.socket, &error);
  if (!client) return fail(kExitUnreachable, error);
  for (int round = 0; round < 2; ++round) {
    Answer a = ask(*client, "/save");
    if (a.status != kExitOk) return a.status;
    if (!a.reply["ok"].as_bool()) return fail(kExitDaemonError, a.reply["error"].as_string());
    const JsonValue started = a.reply["data"];
    const bool ours = started["started"].as_bool();
    // The counts before ours ended (a snapshot that ended before this read is not ours: ours
    // was only just started and is still in progress).
    const std::uint64_t saves = started["saves"].as_uint(), failures = started["failures"].as_uint();
    JsonValue now = started;
    while (now["in_progress"].as_bool()) {
      if (g_stop.load()) return fail(kExitDaemonError, "interrupted; the snapshot goes on in the daemon");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Answer p = ask(*client, "/persistence");
      if (p.status != kExitOk) return p.status;
      if (!p.reply["ok"].as_bool()) return fail(kExitDaemonError, p.reply["error"].as_string());
      now = p.reply["data"];
    }
    if (!ours) continue;  // the one under way ended: now ours
    if (o.json) {
      std::cout << "{\"ok\":" << (now["saves"].as_uint() > saves ? "true" : "false") << ",\"saves\":"
                << now["saves"].as_uint() << ",\"failures\":" << now["failures"].as_uint() << "}\n";
    }
    if (now["saves"].as_uint() > saves) {
      if (!o.json) std::cout << render({"persistence"}, now);
      return kExitOk;
    }
    if (now["failures"].as_uint() > failures) return fail(kExitDaemonError, "the snapshot failed: " + now["last_error"].as_string());
    return fail(kExitBadReply, "the snapshot ended but the daemon counts neither a save nor a failure");
  }
  return fail(kExitDaemonError, "another snapshot kept the daemon busy; try again");
}

// `backup PATH`: the folder is --dir's, else the daemon's persist.dir (asked over the socket;
// the copy is made here, so ferritectl runs on the daemon's host).
int backup(const Options& o) {
  std::string dir = o.dir;
  if (!o.dir_given) {
    std::string error;
    std::optional<Client> client = Client::connect(o.socket, &error);
    if (!client) return fail(kExitUnreachable, error + " (--dir DIR backs a folder up without asking the daemon)");
    Answer a = ask(*client, "/config get persist.dir");
    if (a.status != kExitOk) return a.status;
    if (!a.reply["ok"].as_bool()) return fail(kExitDaemonError, a.reply["error"].as_string());
    dir = a.reply["data"]["persist.dir"].as_string();
    if (dir.empty()) return fail(kExitDaemonError, "the daemon's persist.dir is empty: no folder to back up");
    if (dir[0] != '/') {
      // Relative to the daemon's working directory: /proc/<its pid>/cwd says which (same host).
      Answer info = ask(*client, "/info");
      if (info.status != kExitOk) return info.status;
      const std::string cwd_link = "/proc/" + std::to_string(info.reply["data"]["pid"].as_int()) + "/cwd";
      std::string cwd(4096, '\0');
      const ssize_t n = info.reply["ok"].as_bool() ? ::readlink(cwd_link.c_str(), cwd.data(), cwd.size()) : -1;
      if (n <= 0 || static_cast<std::size_t>(n) >= cwd.size()) {
        return fail(kExitDaemonError, "the daemon's persist.dir \"" + dir +
                                          "\" is relative to its working directory, which " + cwd_link +
                                          " does not tell (" + (n < 0 ? std::strerror(errno) : "no answer") +
                                          "): give the folder with --dir");
      }
      cwd.resize(static_cast<std::size_t>(n));
      dir = cwd + "/" + (dir.rfind("./", 0) == 0 ? dir.substr(2) : dir);
    }
  }
  return run_backup(dir, o.command[1], o.json, std::cout, std::cerr);
}

// Puts the terminal in no-echo, non-canonical mode while top runs (so `q` quits at once).
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios t = saved_;
    t.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    t.c_cc[VMIN] = 0;
    t.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool quit_pressed() const {
    if (!active_) return false;
    char c = 0;
    while (::read(STDIN_FILENO, &c, 1) == 1) {
      if (c == 'q' || c == 'Q') return true;
    }
    return false;
  }

 private:
  termios saved_{};
  bool active_ = false;
};

int top(const Options& o) {
  std::string error;
  std::optional<Client> client = Client::connect(o.socket, &error);
  if (!client) return fail(kExitUnreachable, error);
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  RawTerminal term;
  const auto period = std::chrono::duration<double>(o.interval_s);
  for (std::uint64_t i = 0; o.iterations == 0 || i < o.iterations; ++i) {
    const auto started = std::chrono::steady_clock::now();
    Answer a = ask(*client, "/stats");
    if (a.status != kExitOk) return a.status;
    if (!a.reply["ok"].as_bool()) return fail(kExitDaemonError, a.reply["error"].as_string());
    if (o.json) {
      std::cout << a.line << "\n";
    } else {
      if (tty) std::cout << "\x1b[H\x1b[2J";  // home, clear
      std::cout << render_top(a.reply["data"], o.socket);
      if (tty) std::cout << "\n(q quits)";
      if (!tty && (o.iterations == 0 || i + 1 < o.iterations)) std::cout << "\n";
    }
    std::cout.flush();
    if (o.iterations != 0 && i + 1 >= o.iterations) break;
    while (std::chrono::steady_clock::now() - started < period) {
      if (g_stop.load() || term.quit_pressed()) {
        if (tty && !o.json) std::cout << "\n";
        return kExitOk;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (tty && !o.json) std::cout << "\n";
  return kExitOk;
}

int watch(const Options& o) {
  std::string error;
  std::optional<Client> client = Client::connect(o.socket, &error);
  if (!client) return fail(kExitUnreachable, error);
  Answer a = ask(*client, "/events " + std::to_string(o.backlog));
  if (a.status != kExitOk) return a.status;
  if (!a.reply["ok"].as_bool()) return fail(kExitDaemonError, a.reply["error"].as_string());
  if (!o.json) std::cerr << "watching events at " << o.socket << " (Ctrl-C stops)\n";
  for (std::uint64_t n = 0; o.count == 0 || n < o.count;) {
    std::optional<std::string> line = client->read_line(-1, &g_stop, &error);
    if (!line) {
      if (g_stop.load()) return kExitOk;
      return fail(kExitBadReply, error);
    }
    std::optional<JsonValue> e = mgmt::parse_json(*line, &error);
    if (!e) return fail(kExitBadReply, "an event is not JSON (" + error + ")");
    if (o.json) {
      std::cout << *line << "\n";
    } else {
      std::cout << render_event(*e);
    }
    std::cout.flush();
    if ((*e)["event"].as_string() != "events_lost") ++n;
  }
  return kExitOk;
}

}  // namespace
}  // namespace ferrite::ctl

int main(int argc, char** argv) {
  using namespace ferrite::ctl;
  Options o;
  if (const int status = parse_options(argc, argv, o); status >= 0) return status;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  const std::string& cmd = o.command[0];
  if (cmd == "top") return top(o);
  if (cmd == "watch") return watch(o);
  if (cmd == "save") return save(o);
  if (cmd == "verify") return run_verify(o.command[1], o.truncate, o.json, std::cout);
  if (cmd == "backup") return backup(o);
  if (cmd == "restore") return run_restore(o.command[1], o.dir, o.force, o.json, std::cout, std::cerr);
  return one_shot(o);
}
