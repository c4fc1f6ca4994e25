// Keyspace commands: DEL/UNLINK, EXISTS, TYPE, the EXPIRE family and TTLs, DBSIZE, FLUSHALL.
//
// TTLs are deadlines on the store clock; the absolute forms convert Unix times with
// Store::from_unix_ms / to_unix_ms. As in Redis, a relative TTL that lands in the past (EXPIRE
// with a negative number) or an absolute one already past deletes the key.
#include <limits>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

using store::Status;

void RespSession::cmd_del(Call& c) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) n += c.ctx.del(c.argv[i]) == Status::kOk ? 1 : 0;
  c.times = static_cast<unsigned>(c.argc() - 1);
  c.w.integer(n);
}

void RespSession::cmd_exists(Call& c) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) {
    if (c.ctx.get(c.argv[i])) {
      c.ex.hit(Proto::kResp);
      ++n;
    } else {
      c.ex.miss(Proto::kResp);
    }
  }
  c.w.integer(n);
}

void RespSession::cmd_type(Call& c) {
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (it) {
    c.ex.hit(Proto::kResp);
  } else {
    c.ex.miss(Proto::kResp);
  }
  c.w.simple(it ? store::type_name(it.type()) : "none");
}

// EXPIRE key time [NX | XX | GT | LT] and friends (Redis's expireGenericCommand). A key without
// a TTL counts as an infinite TTL for GT and LT. With a condition, the new deadline is stored
// only over the item whose TTL was checked (a versioned rewrite), so a concurrent SET is never
// given a TTL meant for the value before it.
void RespSession::expire_generic(Call& c, bool seconds, bool relative) {
  bool nx = false, xx = false, gt = false, lt = false;
  for (std::size_t j = 3; j < c.argc(); ++j) {
    const std::string_view opt = c.argv[j];
    if (iequals(opt, "nx")) {
      nx = true;
    } else if (iequals(opt, "xx")) {
      xx = true;
    } else if (iequals(opt, "gt")) {
      gt = true;
    } else if (iequals(opt, "lt")) {
      lt = true;
    } else {
      scratch_.clear();
      scratch_.append("ERR Unsupported option ");
      scratch_.append(cstr(opt));
      c.w.error(scratch_.view());
      return;
    }
  }
  if (nx && (xx || gt || lt)) {
    c.w.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    return;
  }
  if (gt && lt) {
    c.w.error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  std::int64_t when = 0;
  if (!proto::resp::parse_i64(c.argv[2], &when)) {
    c.w.error(kErrNotInteger);
    return;
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  if (seconds) {
    if (when > kMax / 1000 || when < kMin / 1000) {
      reply_expire_error(c, Expire::kInvalid);
      return;
    }
    when *= 1000;
  }
  const auto now_unix = static_cast<std::int64_t>(c.ex.unix_ms());
  if (relative) {
    if (when > kMax - now_unix) {
      reply_expire_error(c, Expire::kInvalid);
      return;
    }
    when += now_unix;
  }
  const std::string_view key = c.argv[1];
  const bool conditional = nx || xx || gt || lt;
  for (;;) {
    const store::ItemView it = c.ctx.get(key);
    if (!it) {
      c.w.integer(0);
      return;
    }
    const std::uint64_t current = it.expires_at_ms();  // 0: none
    const auto current_unix = static_cast<std::int64_t>(c.ex.store().to_unix_ms(current));
    if ((nx && current != 0) || (xx && current == 0) || (gt && (current == 0 || when <= current_unix)) ||
        (lt && current != 0 && when >= current_unix)) {
      c.w.integer(0);
      return;
    }
    if (when <= now_unix) {  // already past: the key goes
      const Status s = c.ctx.del(key, it.cas());
      if (s == Status::kOk) {
        c.w.integer(1);
        return;
      }
      continue;  // it changed meanwhile: look again
    }
    const std::uint64_t deadline = c.ex.store().from_unix_ms(static_cast<std::uint64_t>(when));
    if (!conditional) {
      c.w.integer(c.ctx.touch(key, deadline) == Status::kOk ? 1 : 0);
      return;
    }
    store::SetRequest req;
    req.cas = it.cas();
    req.flags = it.flags();
    req.type = it.type();  // a hash stays a hash
    req.expires_at_ms = deadline;
    const store::SetResult r = c.ctx.set(key, it.value(), req);
    if (r.status == Status::kOk) {
      c.w.integer(1);
      return;
    }
    if (r.status != Status::kExists && r.status != Status::kNotFound) {
      reply_store_error(c, r.status);
      return;
    }
  }
}

void RespSession::cmd_expire(Call& c) { expire_generic(c, true, true); }
void RespSession::cmd_pexpire(Call& c) { expire_generic(c, false, true); }
void RespSession::cmd_expireat(Call& c) { expire_generic(c, true, false); }
void RespSession::cmd_pexpireat(Call& c) { expire_generic(c, false, false); }

// TTL, PTTL (remaining time) and EXPIRETIME, PEXPIRETIME (the Unix deadline): -2 for a missing
// key, -1 for a key without a TTL; seconds are rounded to the nearest, as Redis does.
void RespSession::ttl_generic(Call& c, bool ms, bool absolute) {
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (!it) {
    c.ex.miss(Proto::kResp);
    c.w.integer(-2);
    return;
  }
  c.ex.hit(Proto::kResp);
  const std::uint64_t deadline = it.expires_at_ms();
  if (deadline == 0) {
    c.w.integer(-1);
    return;
  }
  std::uint64_t v = 0;
  if (absolute) {
    v = c.ex.store().to_unix_ms(deadline);
  } else {
    v = deadline > c.ex.now_ms() ? deadline - c.ex.now_ms() : 0;
  }
  c.w.integer(static_cast<std::int64_t>(ms ? v : (v + 500) / 1000));
}

void RespSession::cmd_ttl(Call& c) { ttl_generic(c, false, false); }
void RespSession::cmd_pttl(Call& c) { ttl_generic(c, true, false); }
void RespSession::cmd_expiretime(Call& c) { ttl_generic(c, false, true); }
void RespSession::cmd_pexpiretime(Call& c) { ttl_generic(c, true, true); }

void RespSession::cmd_persist(Call& c) {
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (!it || it.expires_at_ms() == 0) {
    c.w.integer(0);
    return;
  }
  c.w.integer(c.ctx.touch(c.argv[1], 0) == Status::kOk ? 1 : 0);
}

void RespSession::cmd_dbsize(Call& c) { c.w.integer(c.ex.store().stats().items); }

// FLUSHALL / FLUSHDB [ASYNC | SYNC]: both run synchronously; the sweep is finished at once so
// that DBSIZE right after reads 0.
void RespSession::cmd_flushall(Call& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !iequals(c.argv[1], "sync") && !iequals(c.argv[1], "async"))) {
    c.w.error(kErrSyntax);
    return;
  }
  c.ctx.flush(0);
  c.ctx.sweep_flushed();
  c.w.simple("OK");
}

}  // namespace ferrite::engine::resp
