#include "options.h"

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
  shutdown                 stop ferrited (workers finish what they owe first)
  top                      a live view, refreshed every second (q or Ctrl-C quits)
  watch                    stream events: slow requests, refused connections, eviction
                           storms, failed writes, config changes (Ctrl-C stops)
  raw REQUEST...           send one request line as it is (e.g. `raw /help`)

Options:
  -s, --socket PATH        the management socket (default $FERRITECTL_SOCKET, else
                           /run/ferrite/ferrited.sock)
  -j, --json               print the daemon's JSON reply (one document per line)
      --interval SECONDS   top: time between refreshes (default 1)
  -n, --iterations N       top: stop after N refreshes
      --backlog N          watch: first print up to N recent events
      --count N            watch: stop after N events
  -h, --help               this text
      --version            ferritectl's version

Exit status: 0 done; 1 the daemon answered with an error; 2 bad arguments; 3 no daemon at the
socket (not running, wrong path) or no permission to use it; 4 the connection broke or the reply
was not understood.
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

}  // namespace

int parse_options(int argc, char** argv, Options& o) {
  if (const char* env = std::getenv("FERRITECTL_SOCKET"); env != nullptr && *env != '\0') o.socket = env;
  bool raw = false;  // after `raw`, every word is the request's
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (raw || a.empty() || a[0] != '-' || a == "-") {
      o.command.emplace_back(a);
      if (o.command.size() == 1 && a == "raw") raw = true;
      continue;
    }
    const std::size_t eq = a.find('=');
    const std::string_view name = a.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    auto value = [&](std::string* out) -> bool {
      if (has_value) {
        *out = std::string(a.substr(eq + 1));
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (name == "-h" || name == "--help") {
      std::cout << usage_text();
      return kExitOk;
    }
    if (name == "--version") {
      std::cout << "ferritectl " << FERRITE_VERSION << "\n";
      return kExitOk;
    }
    if (name == "-j" || name == "--json") {
      o.json = true;
    } else if (name == "-s" || name == "--socket") {
      if (!value(&v) || v.empty()) return usage_error(std::string(name) + " needs a path");
      o.socket = v;
    } else if (name == "--interval") {
      if (!value(&v)) return usage_error("--interval needs a number of seconds");
      char* end = nullptr;
      o.interval_s = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(o.interval_s >= 0.1 && o.interval_s <= 3600))
        return usage_error("--interval must be a number of seconds from 0.1 to 3600; got \"" + v + "\"");
    } else if (name == "-n" || name == "--iterations") {
      if (!value(&v) || !parse_uint(v, &o.iterations) || o.iterations == 0)
        return usage_error("--iterations must be a whole number above 0; got \"" + v + "\"");
    } else if (name == "--backlog") {
      if (!value(&v) || !parse_uint(v, &o.backlog))
        return usage_error("--backlog must be a whole number; got \"" + v + "\"");
    } else if (name == "--count") {
      if (!value(&v) || !parse_uint(v, &o.count) || o.count == 0)
        return usage_error("--count must be a whole number above 0; got \"" + v + "\"");
    } else {
      return usage_error("unknown option " + std::string(a));
    }
  }
  if (o.command.empty()) return usage_error("no command given");
  const std::string& cmd = o.command[0];
  const bool top_opts = o.interval_s != 1.0 || o.iterations != 0;
  const bool watch_opts = o.backlog != 0 || o.count != 0;
  if (top_opts && cmd != "top") return usage_error("--interval and --iterations are options of top");
  if (watch_opts && cmd != "watch") return usage_error("--backlog and --count are options of watch");
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
  if (cmd == "info" || cmd == "stats" || cmd == "metrics" || cmd == "flush" || cmd == "shutdown") {
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
