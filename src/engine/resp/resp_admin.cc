// Admin commands with nothing (or little) behind them here: FUNCTION, SCRIPT and the scripting
// commands, WAIT/WAITAOF, DEBUG, CLIENT NO-TOUCH, and the OBJECT/MEMORY help texts.
#include <time.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/net.h"
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
  } else if (local > 0 && !c.ex.shared.aof_enabled) {
    c.w.error("ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled.");
  } else if (local > 0 && (c.ex.durability == nullptr || !c.ex.durability->wait_for_disk())) {
    // Waiting here for the next fsync would hold every connection of this worker.
    c.w.error("ERR WAITAOF numlocal needs persist.fsync = always here (each reply then waits for its fsync)");
  } else if (local > 0) {
    // fsync = always: every write this connection was answered is on disk already.
    c.w.array(2);
    c.w.integer(1);
    c.w.integer(0);
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
    // Until the daemon's own clock (the TSC that times requests for SLOWLOG) has seen `ms` go
    // by: its calibration against the monotonic clock may be a fraction of a per mille short.
    const std::uint64_t start = ferrite::cycles();
    for (std::uint64_t done = 0; done < ms * 1'000'000; done = cycles_to_ns(ferrite::cycles() - start)) {
      const std::uint64_t left = ms * 1'000'000 - done;
      timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
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

// --- CLIENT LIST / KILL over every worker -------------------------------------------------------

namespace {

struct Peer {
  ConnRecord rec;
  char addr[64];
  char laddr[64];
};

// Every open connection of the daemon (not the listeners), from the lock-free registry, by id.
std::vector<Peer> all_connections(const Call& c) {
  std::vector<Peer> out;
  if (c.ex.shared.conns == nullptr) return out;
  c.ex.shared.conns->for_each([&](const ConnRecord& r) {
    if (r.state == ConnState::kListening || r.state == ConnState::kDatagram || r.state == ConnState::kClosed ||
        r.state == ConnState::kClosing) {
      return;
    }
    Peer p{r, {}, {}};
    format_endpoint(r.peer.endpoint(), p.addr, sizeof(p.addr));
    format_endpoint(r.local.endpoint(), p.laddr, sizeof(p.laddr));
    out.push_back(p);
  });
  std::sort(out.begin(), out.end(), [](const Peer& a, const Peer& b) { return a.rec.id < b.rec.id; });
  return out;
}

}  // namespace

// This connection's line is its session's (append_client_line); another connection is described
// from the registry: id, addresses, age and idle time are its own, the figures only its session
// knows (name, last command, buffers, protocol version) read empty, 0 or NULL.
void RespSession::list_clients(Call& c, const std::vector<std::uint64_t>* ids, Buffer& out) const {
  const auto wanted = [&](std::uint64_t id) {
    return ids == nullptr || std::find(ids->begin(), ids->end(), id) != ids->end();
  };
  const std::vector<Peer> peers = all_connections(c);
  bool self_listed = false;
  const auto now_s = static_cast<std::uint32_t>(c.ex.now_ms() / 1000);
  for (const Peer& p : peers) {
    if (!wanted(p.rec.id)) continue;
    if (p.rec.id == info_.id) {
      append_client_line(c, out);
      out.push_back('\n');
      self_listed = true;
      continue;
    }
    out.append("id=");
    out.append_uint(p.rec.id);
    out.append(" addr=");
    out.append(std::string_view(p.addr));
    out.append(" laddr=");
    out.append(std::string_view(p.laddr));
    out.append(" fd=-1 name= age=");
    out.append_uint(now_s > p.rec.opened_s ? now_s - p.rec.opened_s : 0);
    out.append(" idle=");
    out.append_uint(now_s > p.rec.last_cmd_s ? now_s - p.rec.last_cmd_s : 0);
    out.append(
        " flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 "
        "oll=0 omem=0 tot-mem=0 events=r cmd=NULL user=default redir=-1 resp=2 lib-name= lib-ver=\n");
  }
  // Not in the registry (a test without one, or a slot it could not list): this connection.
  if (!self_listed && wanted(info_.id)) {
    append_client_line(c, out);
    out.push_back('\n');
  }
}

// CLIENT KILL ip:port (the old form: OK or an error), or CLIENT KILL <filter> <value> ... (the
// number of clients killed). A connection of another worker is closed by that worker at its next
// loop turn (its KillBox); this one after the reply, as Redis does.
void RespSession::cmd_client_kill(Call& c) {
  const bool old_form = c.argc() == 3;
  std::string_view addr, laddr;
  std::uint64_t id = 0;
  bool skipme = !old_form;
  bool any_type = true;
  std::int64_t maxage = 0;
  if (old_form) {
    addr = c.argv[2];
  } else {
    if (c.argc() % 2 != 0) {
      c.w.error(kErrSyntax);
      return;
    }
    for (std::size_t i = 2; i + 1 < c.argc(); i += 2) {
      const std::string_view opt = c.argv[i], val = c.argv[i + 1];
      if (iequals(opt, "id")) {
        std::int64_t v = 0;
        if (!proto::resp::parse_i64(val, &v) || v <= 0) {
          c.w.error("ERR client-id should be greater than 0");
          return;
        }
        id = static_cast<std::uint64_t>(v);
      } else if (iequals(opt, "addr")) {
        addr = val;
      } else if (iequals(opt, "laddr")) {
        laddr = val;
      } else if (iequals(opt, "type")) {
        if (iequals(val, "normal")) {
          any_type = true;
        } else if (iequals(val, "master") || iequals(val, "replica") || iequals(val, "slave") ||
                   iequals(val, "pubsub")) {
          any_type = false;
        } else {
          c.w.error("ERR Unknown client type '" + std::string(cstr(val)) + "'");
          return;
        }
      } else if (iequals(opt, "user")) {
        if (val != "default") {
          c.w.error("ERR No such user '" + std::string(cstr(val)) + "'");
          return;
        }
      } else if (iequals(opt, "skipme")) {
        if (iequals(val, "yes")) {
          skipme = true;
        } else if (iequals(val, "no")) {
          skipme = false;
        } else {
          c.w.error(kErrSyntax);
          return;
        }
      } else if (iequals(opt, "maxage")) {
        if (!proto::resp::parse_i64(val, &maxage) || maxage < 0) {
          c.w.error(kErrNotInteger);
          return;
        }
      } else {
        c.w.error(kErrSyntax);
        return;
      }
    }
  }
  std::int64_t killed = 0;
  const auto now_s = static_cast<std::uint32_t>(c.ex.now_ms() / 1000);
  if (any_type) {
    for (const Peer& p : all_connections(c)) {
      if (id != 0 && p.rec.id != id) continue;
      if (!addr.empty() && addr != p.addr) continue;
      if (!laddr.empty() && laddr != p.laddr) continue;
      if (maxage > 0 && (now_s > p.rec.opened_s ? now_s - p.rec.opened_s : 0) < static_cast<std::uint64_t>(maxage)) {
        continue;
      }
      if (p.rec.id == info_.id) {
        if (skipme) continue;
        close_after_reply();
        ++killed;
      } else if (p.rec.worker < c.ex.shared.controls.size() &&
                 c.ex.shared.controls[p.rec.worker]->kills.post(p.rec.id)) {
        ++killed;
      }
    }
  }
  if (!old_form) {
    c.w.integer(killed);
  } else if (killed == 0) {
    c.w.error("ERR No such client");
  } else {
    c.w.simple("OK");
  }
}

// --- SLOWLOG, LATENCY ---------------------------------------------------------------------------

namespace {
// The slow-request log the management plane keeps (null without one: empty).
SlowlogAccess* slowlog_of(const Call& c) { return c.ex.shared.slowlog.load(std::memory_order_acquire); }
}  // namespace

// SLOWLOG GET [count]: the daemon's slow requests (executing longer than
// server.slow_request_ns), newest first, in Redis's entry shape: id, Unix time, microseconds,
// arguments, client address, client name. The log keeps what the workers count, not the
// arguments: the arguments are the operation and the protocol ("get", "resp"); address and name
// are empty.
void RespSession::cmd_slowlog_get(Call& c) {
  std::int64_t count = 10;
  if (c.argc() > 3) {
    reply_arity(c);
    return;
  }
  if (c.argc() == 3) {
    if (!proto::resp::parse_i64(c.argv[2], &count)) {
      c.w.error(kErrNotInteger);
      return;
    }
    if (count < -1) {
      c.w.error("ERR count should be greater than or equal to -1");
      return;
    }
    if (count == -1) count = INT64_MAX;
  }
  std::vector<SlowEntry> entries;
  if (SlowlogAccess* log = slowlog_of(c)) log->slow_latest(static_cast<std::size_t>(std::min<std::int64_t>(count, 1 << 20)), &entries);
  c.w.array(entries.size());
  for (const SlowEntry& e : entries) {
    c.w.array(6);
    c.w.integer(static_cast<std::int64_t>(e.id));
    c.w.integer(static_cast<std::int64_t>(e.unix_ms / 1000));
    c.w.integer(static_cast<std::int64_t>(e.latency_ns / 1000));
    c.w.array(2);
    c.w.bulk(op_name(e.op));
    c.w.bulk(proto_name(e.proto));
    c.w.bulk("");
    c.w.bulk("");
  }
}

void RespSession::cmd_slowlog_len(Call& c) {
  const SlowlogAccess* log = slowlog_of(c);
  c.w.integer(log == nullptr ? 0 : static_cast<std::int64_t>(log->slow_len()));
}

void RespSession::cmd_slowlog_reset(Call& c) {
  if (SlowlogAccess* log = slowlog_of(c)) log->slow_reset();
  c.w.simple("OK");
}

void RespSession::cmd_slowlog_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GET [<count>]",
      "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
      "    Entries are made of:",
      "    id, timestamp, time in microseconds, arguments array, client IP and port,",
      "    client name",
      "    (here the arguments are the operation and the protocol: the daemon's slow-request",
      "    log keeps those, for requests slower than server.slow_request_ns, on any protocol).",
      "LEN",
      "    Return the length of the slowlog.",
      "RESET",
      "    Reset the slowlog.",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

// LATENCY LATEST: one event, "command", made of the slow-request log (Redis's latency monitor
// names slow commands so): the latest slow request's time and latency, and the largest latency
// among the kept ones, both in ms, since the last LATENCY RESET. An empty array when no request
// crossed the threshold.
void RespSession::cmd_latency_latest(Call& c) {
  std::vector<SlowEntry> entries;
  if (SlowlogAccess* log = slowlog_of(c)) log->slow_latest(1 << 20, &entries);
  const std::uint64_t after = c.ex.shared.latency_reset_after.load(std::memory_order_relaxed);
  const SlowEntry* latest = nullptr;
  std::uint64_t max_ns = 0;
  for (const SlowEntry& e : entries) {
    if (e.id <= after) continue;
    if (latest == nullptr) latest = &e;  // newest first
    max_ns = std::max(max_ns, e.latency_ns);
  }
  if (latest == nullptr) {
    c.w.array(0);
    return;
  }
  c.w.array(1);
  c.w.array(4);
  c.w.bulk("command");
  c.w.integer(static_cast<std::int64_t>(latest->unix_ms / 1000));
  c.w.integer(static_cast<std::int64_t>(latest->latency_ns / 1000000));
  c.w.integer(static_cast<std::int64_t>(max_ns / 1000000));
}

// LATENCY RESET [event ...]: the number of event series reset (0 or 1: "command").
void RespSession::cmd_latency_reset(Call& c) {
  bool command = c.argc() == 2;
  for (std::size_t i = 2; i < c.argc(); ++i) command = command || iequals(c.argv[i], "command");
  std::int64_t n = 0;
  if (command) {
    std::vector<SlowEntry> newest;
    if (SlowlogAccess* log = slowlog_of(c)) log->slow_latest(1, &newest);
    const std::uint64_t upto = newest.empty() ? 0 : newest[0].id;
    if (upto > c.ex.shared.latency_reset_after.exchange(upto, std::memory_order_relaxed)) n = 1;
  }
  c.w.integer(n);
}

void RespSession::cmd_latency_help(Call& c) {
  static constexpr std::string_view kLines[] = {
      "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "LATEST",
      "    Return the latest latency samples for all events (here one, \"command\": requests",
      "    slower than server.slow_request_ns, from the slow-request log).",
      "RESET [<event> ...]",
      "    Reset latency data of one or more <event> classes.",
      "    (default: reset all data for all event classes)",
      "HELP",
      "    Print this help.",
  };
  write_help(c, kLines);
}

}  // namespace ferrite::engine::resp
