#include "options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <string_view>

namespace ferrite::ctl {

std::string usage_text() {
  return R"(Usage: ferritectl [--socket PATH] [--json] COMMAND [ARGS]

Talks to a running ferrited over its management socket (mgmt.socket).

Commands:
  info                     version, build, uptime, driver, workers, listeners, config digest
  stats                    every counter, summed and per worker; the store; rates
  metrics                  the Prometheus exposition (with the rate gauges)
  config get [KEY|GLOB]    configuration values (all of them without KEY)
  config set KEY VALUE     change a key that can change live (ferrited --describe-config marks them)
  keys hot [COUNT]         the most requested keys (default 10)
  keys big [COUNT]         the largest values (default 10; scans the table)
  clients [COUNT]          open connections
  latency [PROTOCOL]       latency per protocol and operation: count, mean, p50, p99, p99.9
  slowlog [COUNT]          the latest slow requests, newest first
  slowlog reset            forget them
  flush                    remove every item
  shutdown                 stop ferrited (workers finish what they owe first; with
                           persist.mode snapshot or both, a last snapshot)
  save                     take a snapshot now and wait until it is written (with the
                           append-only file: its rewrite)
  persistence              the snapshots' state: the last one's time, size, status
  top                      a live view, refreshed every second (q or Ctrl-C quits)
  watch                    stream events: slow requests, refused connections, eviction
                           storms, failed writes, config changes (Ctrl-C stops)
  raw REQUEST...           send one request line as it is (e.g. `raw /help`)
  verify PATH              check a persistence folder (no daemon needed): the MANIFEST, the
                           files it names, every record; prints OK with the counts or the
                           first fault (file and offset)
  backup PATH              make PATH (new or empty) a consistent archive of the daemon's
                           persistence folder while it serves (its persist.dir, asked over
                           the socket; --dir DIR names the folder instead): the snapshot,
                           the segments up to the last whole record, MANIFEST, CHECKSUMS.
                           Run it on the daemon's host
  restore ARCHIVE --dir DIR
                           check ARCHIVE (CHECKSUMS, every record) and restore it into the
                           persistence folder DIR, offline (the daemon stopped); a DIR that
                           holds a persistence folder is refused unless --force

Options:
  -s, --socket PATH        the management socket (default $FERRITECTL_SOCKET, else
                           /run/ferrite/ferrited.sock)
  -j, --json               print the daemon's JSON reply (one document per line)
      --interval SECONDS   top: time between refreshes (default 1)
  -n, --iterations N       top: stop after N refreshes
      --backlog N          watch: first print up to N recent events
      --count N            watch: stop after N events
      --truncate           verify: cut a torn tail of the last segment (as redis-check-aof --fix)
      --dir DIR            backup: the folder to back up (no daemon asked); restore: the target
      --force              restore: move the old files into DIR/.replaced-<time>/ and restore
  -h, --help               this text
      --version            ferritectl's version

Exit status: 0 done; 1 the daemon answered with an error; 2 bad arguments; 3 no daemon at the
socket (not running, wrong path) or no permission to use it; 4 the connection broke or the reply
was not understood; verify: 5 the folder would be refused (damage, a missing or unnamed file, a
bad manifest), 6 only a torn tail that was not cut (--truncate cuts it); backup and restore: 5 the
archive fails its checks, 7 the backup or restore failed (the message names the file), 8 restore's
target holds a persistence folder (--force replaces it).
)";
}

namespace {

bool parse_uint(std::string_view s, std::uint64_t* out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int usage_error(const std::string& msg) {
  std::cerr << "ferritectl: " << msg << "\n(ferritectl --help lists the commands and options)\n";
  return kExitUsage;
}

// A value option: its value may be missing (ferritectl says so in its own words, below); given
// twice, the last one counts.
CLI::Option* value_option(CLI::App& app, const std::string& names, std::string& into) {
  return app.add_option(names, into)->expected(0, 1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
}

}  // namespace

int parse_options(int argc, char** argv, Options& o) {
  if (const char* env = std::getenv("FERRITECTL_SOCKET"); env != nullptr && *env != '\0') o.socket = env;
  // The options are CLI11's; the checks of their values, the messages and the exit statuses are
  // ferritectl's (documented in --help, relied on by scripts).
  CLI::App app{"ferritectl"};
  app.set_help_flag();  // -h/--help prints usage_text(), which lists the commands too
  app.allow_extras();   // an unknown option is reported below, in ferritectl's words
  bool help = false;
  bool version = false;
  std::string socket;
  std::string interval;
  std::string iterations;
  std::string backlog;
  std::string count;
  app.add_flag("-h,--help", help);
  app.add_flag("--version", version);
  app.add_flag("-j,--json", o.json)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--truncate", o.truncate)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_flag("--force", o.force)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  CLI::Option* socket_opt = value_option(app, "-s,--socket", socket);
  CLI::Option* interval_opt = value_option(app, "--interval", interval);
  CLI::Option* iterations_opt = value_option(app, "-n,--iterations", iterations);
  CLI::Option* backlog_opt = value_option(app, "--backlog", backlog);
  CLI::Option* count_opt = value_option(app, "--count", count);
  CLI::Option* dir_opt = value_option(app, "--dir", o.dir);
  app.add_option("command", o.command);

  // `raw REQUEST...` sends every word after raw as it is, options included: CLI11 sees only the
  // words before it. Finding the command word needs to know which options take a value (the next
  // word, unless given as --name=value): CLI11's option table says.
  int until = argc;
  std::string socket_name = "--socket";  // as typed, for its error message
  bool command_seen = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.empty() || a[0] != '-' || a == "-") {
      if (!command_seen && a == "raw") {
        until = i;
        break;
      }
      command_seen = true;
      continue;
    }
    const std::string name(a.substr(0, a.find('=')));
    const CLI::Option* opt = app.get_option_no_throw(name);
    if (opt == socket_opt) socket_name = name;
    if (opt != nullptr && opt->get_expected_max() > 0 && name.size() == a.size()) ++i;  // its value
  }
  std::vector<std::string> args;
  for (int i = until - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 takes them reversed
  try {
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  for (int i = until; i < argc; ++i) o.command.emplace_back(argv[i]);

  if (help) {
    std::cout << usage_text();
    return kExitOk;
  }
  if (version) {
    std::cout << "ferritectl " << FERRITE_VERSION << "\n";
    return kExitOk;
  }
  for (const std::string& extra : app.remaining()) {
    if (!extra.empty() && extra[0] == '-') return usage_error("unknown option " + extra);
  }
  if (socket_opt->count() > 0) {
    if (socket.empty()) return usage_error(socket_name + " needs a path");
    o.socket = socket;
  }
  if (interval_opt->count() > 0) {
    if (interval.empty()) return usage_error("--interval needs a number of seconds");
    char* end = nullptr;
    o.interval_s = std::strtod(interval.c_str(), &end);
    if (end == interval.c_str() || *end != '\0' || !(o.interval_s >= 0.1 && o.interval_s <= 3600))
      return usage_error("--interval must be a number of seconds from 0.1 to 3600; got \"" + interval + "\"");
  }
  if (iterations_opt->count() > 0 && (!parse_uint(iterations, &o.iterations) || o.iterations == 0))
    return usage_error("--iterations must be a whole number above 0; got \"" + iterations + "\"");
  if (backlog_opt->count() > 0 && !parse_uint(backlog, &o.backlog))
    return usage_error("--backlog must be a whole number; got \"" + backlog + "\"");
  if (count_opt->count() > 0 && (!parse_uint(count, &o.count) || o.count == 0))
    return usage_error("--count must be a whole number above 0; got \"" + count + "\"");

  if (dir_opt->count() > 0) {
    if (o.dir.empty()) return usage_error("--dir needs a folder");
    o.dir_given = true;
  }

  if (o.command.empty()) return usage_error("no command given");
  const std::string& cmd = o.command[0];
  const bool top_opts = o.interval_s != 1.0 || o.iterations != 0;
  const bool watch_opts = o.backlog != 0 || o.count != 0;
  if (top_opts && cmd != "top") return usage_error("--interval and --iterations are options of top");
  if (watch_opts && cmd != "watch") return usage_error("--backlog and --count are options of watch");
  if (o.truncate && cmd != "verify") return usage_error("--truncate is an option of verify");
  if (cmd == "verify" && o.command.size() != 2) return usage_error("usage: verify PATH [--truncate]");
  if (o.dir_given && cmd != "backup" && cmd != "restore") return usage_error("--dir is an option of backup and restore");
  if (o.force && cmd != "restore") return usage_error("--force is an option of restore");
  if (cmd == "backup" && o.command.size() != 2) return usage_error("usage: backup PATH [--dir DIR]");
  if (cmd == "restore" && (o.command.size() != 2 || !o.dir_given))
    return usage_error("usage: restore ARCHIVE --dir DIR [--force]");
  if ((cmd == "top" || cmd == "watch") && o.command.size() > 1)
    return usage_error(cmd + " takes no arguments; got \"" + o.command[1] + "\"");
  return -1;
}

std::string request_line(const std::vector<std::string>& c, std::string* error) {
  auto join = [&](std::string path, std::size_t from) {
    for (std::size_t i = from; i < c.size(); ++i) {
      path += ' ';
      path += c[i];
    }
    return path;
  };
  auto bad = [&](const std::string& msg) {
    *error = msg;
    return std::string();
  };
  for (const std::string& word : c) {
    if (word.find_first_of("\n\r") != std::string::npos) return bad("arguments cannot contain line breaks");
    if (word.empty() && c[0] != "raw") return bad("empty argument");
  }
  if (c.empty()) return bad("no command given");
  const std::string& cmd = c[0];
  const std::size_t n = c.size() - 1;  // arguments
  if (cmd == "info" || cmd == "stats" || cmd == "metrics" || cmd == "flush" || cmd == "shutdown" ||
      cmd == "save" || cmd == "persistence") {
    if (n != 0) return bad(cmd + " takes no arguments");
    return "/" + cmd;
  }
  if (cmd == "config") {
    if (n == 0) return "/config";
    if (c[1] == "get") {
      if (n > 2) return bad("usage: config get [KEY|GLOB]");
      return join("/config", 1);
    }
    if (c[1] == "set") {
      if (n < 3) return bad("usage: config set KEY VALUE");
      return join("/config", 1);
    }
    return bad("unknown config subcommand \"" + c[1] + "\"; expected get or set");
  }
  if (cmd == "keys") {
    if (n == 0 || (c[1] != "hot" && c[1] != "big"))
      return bad(n == 0 ? "usage: keys hot|big [COUNT]"
                        : "unknown keys subcommand \"" + c[1] + "\"; expected hot or big");
    if (n > 2) return bad("usage: keys " + c[1] + " [COUNT]");
    return join("/keys/" + c[1], 2);
  }
  if (cmd == "clients" || cmd == "latency" || cmd == "slowlog") {
    if (n > 1)
      return bad("usage: " + cmd +
                 (cmd == "latency"   ? " [PROTOCOL]"
                  : cmd == "slowlog" ? " [COUNT|reset]"
                                     : " [COUNT]"));
    return join("/" + cmd, 1);
  }
  if (cmd == "raw") {
    if (n == 0) return bad("usage: raw REQUEST...");
    std::string line = c[1];
    for (std::size_t i = 2; i < c.size(); ++i) {
      line += ' ';
      line += c[i];
    }
    return line;
  }
  return bad("unknown command \"" + cmd + "\"");
}

}  // namespace ferrite::ctl
