// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH, with Redis 7's replies (multi.c and
// processCommand): commands after MULTI are checked (unknown command, arity) and queued with
// +QUEUED; an error while queueing makes EXEC answer EXECABORT; EXEC runs the queue and answers
// the array of the replies (a command's runtime error is one element, the others still run);
// MULTI, EXEC, DISCARD, WATCH, QUIT and RESET are never queued; EXEC, DISCARD and RESET forget
// the watches.
//
// Atomicity: EXEC locks every key of every queued command (from its key spec: begin_index,
// lastkey, keystep, as COMMAND INFO reports them) and every watched key in the store
// (PartitionedContext::lock_keys), checks the watches, runs the queue with the ordinary
// handlers, then unlocks: every other client, on any worker and any protocol, sees all of the
// transaction or none of it. Commands without a key spec that touch the whole keyspace (FLUSHALL,
// DBSIZE) run inside EXEC without that guarantee.
//
// WATCH records each key's live version (the CAS unique; 0 when absent or expired); EXEC aborts
// with a null array when one differs then: a write by any client on any worker, a delete,
// FLUSHALL, or the key's expiry (a key already expired at WATCH and still absent does not
// abort, as in Redis 7). A change of TTL alone (EXPIRE, PERSIST, GETEX with an expiry) keeps the
// version, so WATCH records the expiry too and EXEC aborts when it changed (setting the same
// deadline again is no change here; Redis's EXPIRE would abort).
#include <algorithm>

#include "core/clock.h"
#include "engine/resp/resp_internal.h"

namespace ferrite::engine::resp {

namespace {
// What the queue of one connection may hold, beyond which the command is refused and EXEC
// aborts (the queue's bytes also count toward the connection-buffer budget, as every buffer).
constexpr std::size_t kMaxQueuedCommands = 100000;
constexpr std::size_t kMaxQueuedBytes = std::size_t{64} << 20;
// Kept across transactions (no allocation after warm-up); a larger queue is given back after.
constexpr std::size_t kKeepQueueBytes = std::size_t{64} << 10;
constexpr std::size_t kKeepEntries = 4096;

constexpr std::string_view kErrExecAbort = "EXECABORT Transaction discarded because of previous errors.";
constexpr std::string_view kErrQueueFull =
    "ERR MULTI queue is full (at most 100000 commands and 64 MiB of arguments)";
// The most bytes of replies one EXEC may produce (or server.max_reply_bytes if larger).
constexpr std::size_t kMaxExecReplyBytes = std::size_t{64} << 20;
constexpr std::string_view kErrExecReplyTooLarge =
    "ERR EXEC reply too large (over 64 MiB): the transaction ran, its replies were dropped; closing";
constexpr std::string_view kErrWatchFull = "ERR too many WATCHed keys (at most 64 MiB of them)";

template <typename T>
void clear_keeping(std::vector<T>& v) {
  v.clear();
  if (v.capacity() > kKeepEntries) std::vector<T>().swap(v);
}
}  // namespace

bool RespSession::queue_command(Call& c) {
  const Handler h = c.cmd->handler;
  if (h == &RespSession::cmd_exec || h == &RespSession::cmd_discard || h == &RespSession::cmd_multi ||
      h == &RespSession::cmd_watch || h == &RespSession::cmd_quit || h == &RespSession::cmd_reset) {
    return false;
  }
  if (has_flag(c.cmd->flags, "no_multi")) {  // SAVE: it would wait for a walk of the buckets EXEC holds
    c.w.error("ERR Command not allowed inside a transaction");
    multi_dirty_ = true;
    return true;
  }
  if (!multi_dirty_) {  // an aborted transaction keeps nothing (Redis neither)
    std::size_t bytes = 0;
    for (const std::string_view a : c.argv) bytes += a.size();
    if (tx_cmds_.size() >= kMaxQueuedCommands || tx_bytes_.size() + bytes > kMaxQueuedBytes) {
      c.w.error(kErrQueueFull);
      multi_dirty_ = true;
      return true;
    }
    tx_cmds_.push_back({c.cmd, static_cast<std::uint32_t>(tx_args_.size()), static_cast<std::uint32_t>(c.argc())});
    for (const std::string_view a : c.argv) {
      tx_args_.push_back({static_cast<std::uint32_t>(tx_bytes_.size()), static_cast<std::uint32_t>(a.size())});
      tx_bytes_.append(a);
    }
  }
  c.w.simple("QUEUED");
  return true;
}

void RespSession::multi_reset() noexcept {
  in_multi_ = false;
  multi_dirty_ = false;
  tx_bytes_.clear();
  tx_bytes_.shrink_to(kKeepQueueBytes);
  clear_keeping(tx_args_);
  clear_keeping(tx_cmds_);
  unwatch_all();
}

void RespSession::unwatch_all() noexcept {
  watch_bytes_.clear();
  watch_bytes_.shrink_to(kKeepQueueBytes);
  clear_keeping(watched_);
}

std::string_view RespSession::watched_key(const WatchedKey& w) const noexcept {
  return {watch_bytes_.data() + w.offset, w.length};
}

// The keys a command names by its key spec, as Redis finds them (begin_search index, find_keys
// range: lastkey relative to the first key, negative from the end).
void RespSession::collect_keys(const CommandSpec& cmd, std::span<const std::string_view> argv) {
  for_each_key(cmd.key_spec, argv, [this](std::string_view key) { tx_keys_.push_back(store::make_key(key)); });
}

void RespSession::cmd_multi(Call& c) {
  if (in_multi_) {
    c.w.error("ERR MULTI calls can not be nested");
    return;
  }
  in_multi_ = true;
  c.w.simple("OK");
}

void RespSession::cmd_discard(Call& c) {
  if (!in_multi_) {
    c.w.error("ERR DISCARD without MULTI");
    return;
  }
  multi_reset();
  c.w.simple("OK");
}

void RespSession::cmd_watch(Call& c) {
  if (in_multi_) {
    c.w.error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  std::size_t bytes = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) bytes += c.argv[i].size();
  if (watch_bytes_.size() + bytes > kMaxQueuedBytes) {
    c.w.error(kErrWatchFull);
    return;
  }
  // A key watched twice is kept twice (no quadratic search): both record the same version.
  for (std::size_t i = 1; i < c.argc(); ++i) {
    const std::string_view key = c.argv[i];
    std::uint32_t expiry = 0;
    const std::uint64_t version = c.ctx.live_version(store::make_key(key), &expiry);
    watched_.push_back({static_cast<std::uint32_t>(watch_bytes_.size()), static_cast<std::uint32_t>(key.size()),
                        version, expiry});
    watch_bytes_.append(key);
  }
  c.w.simple("OK");
}

void RespSession::cmd_unwatch(Call& c) {
  unwatch_all();
  c.w.simple("OK");
}

void RespSession::cmd_exec(Call& c) {
  if (!in_multi_) {
    c.w.error("ERR EXEC without MULTI");
    return;
  }
  if (multi_dirty_) {
    c.w.error(kErrExecAbort);
    multi_reset();
    return;
  }
  // The queued arguments, as views (the queue no longer changes), and every key to lock.
  tx_argv_.clear();
  for (const auto& a : tx_args_) tx_argv_.emplace_back(tx_bytes_.data() + a.offset, a.length);
  tx_keys_.clear();
  for (const QueuedCommand& q : tx_cmds_) {
    collect_keys(*q.cmd, std::span<const std::string_view>(tx_argv_.data() + q.first, q.argc));
  }
  for (const WatchedKey& w : watched_) tx_keys_.push_back(store::make_key(watched_key(w)));
  const bool lock = !tx_keys_.empty();
  if (lock) c.ctx.lock_keys(tx_keys_);
  for (const WatchedKey& w : watched_) {
    std::uint32_t expiry = 0;
    if (c.ctx.live_version(store::make_key(watched_key(w)), &expiry) != w.version || expiry != w.expiry) {
      if (lock) c.ctx.unlock_keys();
      c.w.null_array();
      multi_reset();
      return;
    }
  }
  unwatch_all();
  // The replies are written whole (the array's length first): past kMaxExecReplyBytes they are
  // dropped as they come, the commands still run (all of them or none), and the connection gets
  // an error and closes, as Redis closes a client past its output buffer limit.
  Buffer& out = c.w.buffer();
  const std::size_t exec_start = out.size();
  const std::size_t reply_limit =
      std::max<std::size_t>(kMaxExecReplyBytes, c.ex.settings().max_reply_bytes);
  bool dropped = false;
  c.w.array(tx_cmds_.size());
  for (const QueuedCommand& q : tx_cmds_) {
    const std::uint64_t start = cycles();
    Call qc{c.ex, c.ctx, proto::resp::Writer(out, resp_), std::span<const std::string_view>(tx_argv_.data() + q.first, q.argc),
            q.cmd, q.cmd->op};
    last_command_ = q.cmd->name;
    run(qc);
    for (unsigned i = 1; i < qc.times; ++i) c.ex.count(Proto::kResp, qc.op);
    c.ex.count(Proto::kResp, qc.op, start);
    if (FERRITE_UNLIKELY(dropped || out.size() - exec_start > reply_limit)) {
      dropped = true;
      out.resize(exec_start);
    }
  }
  if (lock) c.ctx.unlock_keys();
  last_command_ = c.cmd->name;
  multi_reset();
  if (dropped) {
    out.shrink_to(exec_start + (std::size_t{64} << 10));
    c.w.error(kErrExecReplyTooLarge);
    close_after_reply();
  }
}

}  // namespace ferrite::engine::resp
