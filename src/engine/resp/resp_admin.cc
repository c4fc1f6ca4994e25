// Admin commands with nothing (or little) behind them here: FUNCTION, SCRIPT and the scripting
// commands, WAIT/WAITAOF, DEBUG, CLIENT NO-TOUCH, and the OBJECT/MEMORY help texts.
#include <time.h>

#include <algorithm>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace {
// What EVAL, FCALL, SCRIPT LOAD and FUNCTION LOAD answer: there is no script engine.
constexpr std::string_view kErrNoScripting = "ERR scripting is not supported by this server";
// The longest DEBUG SLEEP: the command runs on a worker's loop, which serves other connections.
constexpr std::uint64_t kMaxDebugSleepMs = 100;

void write_help(Call& c, std::span<const std::string_view> lines) {
  c.w.array(lines.size());
  for (const std::string_view l : lines) c.w.simple(l);
}
}  // namespace

// FUNCTION FLUSH [ASYNC|SYNC]: there are no functions, so nothing to flush.
void RespSession::cmd_function_flush(Call& c) {
  if (c.argc() > 3) {
    c.w.error("ERR wrong number of arguments for FUNCTION FLUSH");
  } else if (c.argc() == 3 && !iequals(c.argv[2], "async") && !iequals(c.argv[2], "sync")) {
    c.w.error("ERR Bad flush type");
  } else {
    c.w.simple("OK");
  }
}

// FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern]: no libraries.
void RespSession::cmd_function_list(Call& c) {
  for (std::size_t i = 2; i < c.argc(); ++i) {
    if (iequals(c.argv[i], "withcode")) continue;
    if (iequals(c.argv[i], "libraryname") && i + 1 < c.argc()) {
      ++i;
      continue;
    }
    c.w.error("ERR Unknown argument " + std::string(cstr(c.argv[i])));
    return;
  }
  c.w.array(0);
}

void RespSession::cmd_no_scripting(Call& c) { c.w.error(kErrNoScripting); }

// SCRIPT FLUSH [ASYNC|SYNC]: no scripts are cached.
void RespSession::cmd_script_flush(Call& c) {
  if (c.argc() == 2 || (c.argc() == 3 && (iequals(c.argv[2], "sync") || iequals(c.argv[2], "async")))) {
    c.w.simple("OK");
  } else {
    c.w.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  }
}

// SCRIPT EXISTS sha1 [sha1 ...]: none is cached.
void RespSession::cmd_script_exists(Call& c) {
  c.w.array(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) c.w.integer(0);
}

// WAIT numreplicas timeout: there are no replicas, so none acknowledged: 0 at once.
void RespSession::cmd_wait(Call& c) {
  std::int64_t n = 0, timeout = 0;
  if (!proto::resp::parse_i64(c.argv[1], &n) || !proto::resp::parse_i64(c.argv[2], &timeout)) {
    c.w.error(kErrNotInteger);
  } else if (timeout < 0) {
    c.w.error("ERR timeout is negative");
  } else {
    c.w.integer(0);
  }
}

// WAITAOF numlocal numreplicas timeout: no AOF (appendonly is "no") and no replicas. Redis
// refuses numlocal > 0 without appendonly, and answers [0, 0] otherwise.
void RespSession::cmd_waitaof(Call& c) {
  std::int64_t local = 0, replicas = 0, timeout = 0;
  if (!proto::resp::parse_i64(c.argv[1], &local) || !proto::resp::parse_i64(c.argv[2], &replicas) ||
      !proto::resp::parse_i64(c.argv[3], &timeout)) {
    c.w.error(kErrNotInteger);
  } else if (timeout < 0) {
    c.w.error("ERR timeout is negative");
  } else if (local > 0) {
    c.w.error("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.");
  } else {
    c.w.array(2);
    c.w.integer(0);
    c.w.integer(0);
  }
}

// DEBUG SLEEP seconds | DEBUG OBJECT key | DEBUG HELP. Redis's DEBUG SLEEP blocks the server;
// here it would block every connection of this worker, so it sleeps at most 100 ms (the reply
// comes after the sleep).
void RespSession::cmd_debug(Call& c) {
  const std::string_view sub = c.argv[1];
  if (iequals(sub, "sleep") && c.argc() == 3) {
    long double secs = 0;
    if (!proto::resp::parse_long_double(c.argv[2], &secs) || !(secs >= 0) || secs > 1e9L) {
      c.w.error(kErrNotFloat);
      return;
    }
    const std::uint64_t ms = std::min<std::uint64_t>(kMaxDebugSleepMs, static_cast<std::uint64_t>(secs * 1000));
    if (ms != 0) {
      timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(ms % 1000) * 1000000L};
      nanosleep(&ts, nullptr);
    }
    c.w.simple("OK");
  } else if (iequals(sub, "object") && c.argc() == 3) {
    cmd_debug_object(c, c.argv[2]);
  } else if (iequals(sub, "help") && c.argc() == 2) {
    static constexpr std::string_view kLines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "OBJECT <key>",
        "    Show low-level info about the <key> and associated value.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds> (here: this worker, at most 0.1 s). Decimals allowed.",
        "HELP",
        "    Print this help.",
    };
    write_help(c, kLines);
  } else {
    std::string msg = "ERR unknown subcommand '";
    msg.append(cstr(sub).substr(0, 128));
    msg.append("'. Try DEBUG HELP.");
    c.w.error(msg);
  }
}

// CLIENT NO-TOUCH ON|OFF: while on, this client's commands (but TOUCH) do not mark the keys
// they read as used (execute() puts the store context in its no-touch mode around them).
void RespSession::cmd_client_no_touch(Call& c) {
  if (iequals(c.argv[2], "on")) {
    no_touch_ = true;
  } else if (iequals(c.argv[2], "off")) {
    no_touch_ = false;
  } else {
    c.w.error(kErrSyntax);
    return;
  }
  c.w.simple("OK");
}

void RespSession::cmd_object_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key (here: 0 if read since the",
      "    eviction hand last passed it, else the seconds since the store started).",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

void RespSession::cmd_memory_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "USAGE <key> [SAMPLES <count>]",
      "    Return memory in bytes used by <key> and its value: the item's allocation and its",
      "    share of the table.",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

void RespSession::cmd_function_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "LIST [WITHCODE] [LIBRARYNAME <pattern>]",
      "    Return general information on all the libraries (there are none: scripting is not",
      "    supported).",
      "FLUSH [ASYNC|SYNC]",
      "    Delete all the libraries (there are none).",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

void RespSession::cmd_script_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache (none).",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache (it is always empty).",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

}  // namespace ferrite::engine::resp
