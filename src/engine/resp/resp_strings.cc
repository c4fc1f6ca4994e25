// String commands that read or replace whole values: GET, SET and its variants, SETNX, SETEX,
// PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX.
//
// Read-modify-write commands read the item, build the new value, and store it only if the item
// is still the one they read (SetRequest::cas with the version they saw, or mode kAdd when the
// key was missing); when another worker got there first they read again. So each one is atomic
// with respect to every other command, as in Redis.
#include <limits>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace {

using store::SetMode;
using store::SetRequest;
using store::Status;

// SET and GETEX options (Redis's parseExtendedStringArgumentsOrReply).
enum : unsigned {
  kNx = 1u << 0,
  kXx = 1u << 1,
  kGet = 1u << 2,
  kKeepTtl = 1u << 3,
  kPersist = 1u << 4,
  kEx = 1u << 5,
  kPx = 1u << 6,
  kExAt = 1u << 7,
  kPxAt = 1u << 8,
};
constexpr unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;

bool parse_options(Call& c, bool is_set, unsigned* flags, std::string_view* expire) {
  unsigned f = 0;
  for (std::size_t j = is_set ? 3 : 2; j < c.argc(); ++j) {
    const std::string_view opt = c.argv[j];
    const bool next = j + 1 < c.argc();
    if (is_set && iequals(opt, "nx") && !(f & kXx)) {
      f |= kNx;
    } else if (is_set && iequals(opt, "xx") && !(f & kNx)) {
      f |= kXx;
    } else if (is_set && iequals(opt, "get")) {
      f |= kGet;
    } else if (is_set && iequals(opt, "keepttl") && !(f & (kPersist | kAnyExpire))) {
      f |= kKeepTtl;
    } else if (!is_set && iequals(opt, "persist") && !(f & (kAnyExpire | kKeepTtl))) {
      f |= kPersist;
    } else if (iequals(opt, "ex") && !(f & (kKeepTtl | kPersist | kExAt | kPx | kPxAt)) && next) {
      f |= kEx;
      *expire = c.argv[++j];
    } else if (iequals(opt, "px") && !(f & (kKeepTtl | kPersist | kEx | kExAt | kPxAt)) && next) {
      f |= kPx;
      *expire = c.argv[++j];
    } else if (iequals(opt, "exat") && !(f & (kKeepTtl | kPersist | kEx | kPx | kPxAt)) && next) {
      f |= kExAt;
      *expire = c.argv[++j];
    } else if (iequals(opt, "pxat") && !(f & (kKeepTtl | kPersist | kEx | kExAt | kPx)) && next) {
      f |= kPxAt;
      *expire = c.argv[++j];
    } else {
      c.w.error(kErrSyntax);
      return false;
    }
  }
  *flags = f;
  return true;
}

}  // namespace

// Redis's getExpireMillisecondsOrReply: a positive number of seconds or milliseconds, relative or
// a Unix time; becomes a deadline on the store clock (1 for a moment already past).
RespSession::Expire RespSession::expire_arg(Call& c, std::string_view arg, bool seconds, bool relative,
                                            std::uint64_t* deadline) const {
  std::int64_t v = 0;
  if (!proto::resp::parse_i64(arg, &v)) return Expire::kNotInteger;
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (v <= 0 || (seconds && v > kMax / 1000)) return Expire::kInvalid;
  if (seconds) v *= 1000;
  if (relative) {
    if (v > kMax - static_cast<std::int64_t>(c.ex.unix_ms())) return Expire::kInvalid;
    *deadline = c.ex.now_ms() + static_cast<std::uint64_t>(v);
  } else {
    *deadline = c.ex.store().from_unix_ms(static_cast<std::uint64_t>(v));
  }
  return Expire::kOk;
}

void RespSession::reply_expire_error(Call& c, Expire e) const {
  if (e == Expire::kNotInteger) {
    c.w.error(kErrNotInteger);
    return;
  }
  Buffer& out = c.w.buffer();
  out.append("-ERR invalid expire time in '");
  out.append(c.cmd->name);
  out.append("' command\r\n");
}

void RespSession::reply_store_error(Call& c, Status s) const {
  switch (s) {
    case Status::kTooLarge:
      c.w.error(kErrTooLong);
      return;
    case Status::kNoMemory:
      c.w.error(kErrOom);
      return;
    case Status::kWrongType:
      reply_wrongtype(c);
      return;
    case Status::kEmptyKey:
      c.w.error("ERR empty keys are not supported");
      return;
    case Status::kKeyTooLong: {
      Buffer& out = c.w.buffer();
      out.append("-ERR key is too long (the limit is ");
      out.append_uint(c.ex.store().config().max_key_size);
      out.append(" bytes)\r\n");
      return;
    }
    default:
      c.w.error("ERR internal error");
      return;
  }
}

void RespSession::cmd_get(Call& c) { reply_value(c, c.ctx.get(c.argv[1])); }

void RespSession::cmd_set(Call& c) {
  unsigned flags = 0;
  std::string_view expire;
  if (!parse_options(c, true, &flags, &expire)) return;
  std::uint64_t deadline = 0;
  if (flags & kAnyExpire) {
    const Expire e =
        expire_arg(c, expire, (flags & (kEx | kExAt)) != 0, (flags & (kEx | kPx)) != 0, &deadline);
    if (e != Expire::kOk) {
      reply_expire_error(c, e);
      return;
    }
  }
  c.op = (flags & kNx) ? Op::k_add : (flags & kXx) ? Op::k_replace : Op::k_set;
  if (flags & (kGet | kKeepTtl)) {
    set_with_get(c, c.argv[1], c.argv[2], flags, deadline);
    return;
  }
  SetRequest req;
  req.mode = (flags & kNx) ? SetMode::kAdd : (flags & kXx) ? SetMode::kReplace : SetMode::kSet;
  req.expires_at_ms = deadline;
  req.may_wait = true;  // the value is the request's
  const store::SetResult r = c.ctx.set(c.argv[1], c.argv[2], req);
  if (r.status == Status::kOk) {
    c.w.simple("OK");
  } else if (r.status == Status::kNotStored) {
    c.w.null();
  } else {
    reply_store_error(c, r.status);
  }
}

// SET with GET or KEEPTTL (and GETSET): reads the old item, then stores over exactly that item.
void RespSession::set_with_get(Call& c, std::string_view key, std::string_view value, unsigned flags,
                               std::uint64_t deadline) {
  const bool get = (flags & kGet) != 0;
  for (;;) {
    const store::ItemView old = c.ctx.get(key);
    if (get && !string_or_none(c, old)) return;  // SET ... GET on a hash: WRONGTYPE, nothing set
    if (((flags & kNx) && old) || ((flags & kXx) && !old)) {
      if (get) {
        reply_value(c, old);
      } else {
        c.w.null();
      }
      return;
    }
    SetRequest req;
    if (old) {
      req.mode = SetMode::kSet;
      req.cas = old.cas();
      req.expires_at_ms = (flags & kKeepTtl) ? old.expires_at_ms() : deadline;
    } else {
      req.mode = SetMode::kAdd;
      req.expires_at_ms = (flags & kKeepTtl) ? 0 : deadline;
    }
    const store::SetResult r = c.ctx.set(key, value, req);
    if (r.status == Status::kOk) {
      if (get) {
        reply_value(c, old);  // still readable: the old item is reclaimed only after quiescent()
      } else {
        c.w.simple("OK");
      }
      return;
    }
    if (!lost_race(r.status)) {
      reply_store_error(c, r.status);
      return;
    }
  }
}

void RespSession::cmd_setnx(Call& c) {
  SetRequest req;
  req.mode = SetMode::kAdd;
  req.may_wait = true;  // the value is the request's
  const store::SetResult r = c.ctx.set(c.argv[1], c.argv[2], req);
  if (r.status == Status::kOk || r.status == Status::kNotStored) {
    c.w.integer(r.status == Status::kOk ? 1 : 0);
  } else {
    reply_store_error(c, r.status);
  }
}

void RespSession::setex_generic(Call& c, bool seconds) {
  std::uint64_t deadline = 0;
  if (const Expire e = expire_arg(c, c.argv[2], seconds, true, &deadline); e != Expire::kOk) {
    reply_expire_error(c, e);
    return;
  }
  SetRequest req;
  req.expires_at_ms = deadline;
  req.may_wait = true;  // the value is the request's
  const store::SetResult r = c.ctx.set(c.argv[1], c.argv[3], req);
  if (r.status == Status::kOk) {
    c.w.simple("OK");
  } else {
    reply_store_error(c, r.status);
  }
}

void RespSession::cmd_setex(Call& c) { setex_generic(c, true); }
void RespSession::cmd_psetex(Call& c) { setex_generic(c, false); }

void RespSession::cmd_getset(Call& c) { set_with_get(c, c.argv[1], c.argv[2], kGet, 0); }

void RespSession::cmd_getdel(Call& c) {
  for (;;) {
    const store::ItemView it = c.ctx.get(c.argv[1]);
    if (!it || !it.is_string()) {
      reply_value(c, it);  // nil, or WRONGTYPE (and nothing deleted)
      return;
    }
    const Status s = c.ctx.del(c.argv[1], it.cas());
    if (s == Status::kOk) {
      reply_value(c, it);
      return;
    }
    if (!lost_race(s)) {
      reply_store_error(c, s);
      return;
    }
  }
}

void RespSession::cmd_getex(Call& c) {
  unsigned flags = 0;
  std::string_view expire;
  if (!parse_options(c, false, &flags, &expire)) return;
  const std::string_view key = c.argv[1];
  if (flags != 0 && !string_or_none(c, c.ctx.get(key))) return;  // no TTL change on a hash
  std::uint64_t deadline = 0;
  Expire e = Expire::kOk;
  if (flags & kAnyExpire)
    e = expire_arg(c, expire, (flags & (kEx | kExAt)) != 0, (flags & (kEx | kPx)) != 0, &deadline);
  if (e != Expire::kOk) {
    // Redis looks the key up first: a missing key is nil whatever the time says.
    const store::ItemView it = c.ctx.get(key);
    if (!it) {
      reply_value(c, it);
    } else {
      reply_expire_error(c, e);
    }
    return;
  }
  if ((flags & kAnyExpire) && deadline <= c.ex.now_ms()) {
    // EXAT/PXAT in the past: reply with the value, then delete that item (if still there).
    const store::ItemView it = c.ctx.get(key);
    reply_value(c, it);
    if (it && it.is_string()) c.ctx.del(key, it.cas());
    return;
  }
  if (flags & kAnyExpire) {
    reply_value(c, c.ctx.gat(key, deadline));
  } else if (flags & kPersist) {
    reply_value(c, c.ctx.gat(key, 0));
  } else {
    c.op = Op::k_get;
    reply_value(c, c.ctx.get(key));
  }
}

void RespSession::cmd_mget(Call& c) {
  const std::size_t n = c.argc() - 1;
  keys_.clear();
  for (std::size_t i = 1; i < c.argc(); ++i) keys_.push_back(store::make_key(c.argv[i]));
  items_.resize(n);
  c.ctx.get_batch(keys_, items_.data());
  c.w.array(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (items_[i] && !items_[i].is_string()) {  // a key of another type is nil to MGET, as in Redis
      c.ex.miss(Proto::kResp);
      c.w.null();
    } else {
      reply_value(c, items_[i]);
    }
  }
  c.times = static_cast<unsigned>(n);
}

namespace {
// MSET and MSETNX check every pair before storing any, so that only running out of memory can
// leave a command half done.
bool check_pairs(Call& c, Status* bad) {
  if (c.argc() % 2 == 0) return false;
  const store::StoreConfig& cfg = c.ex.store().config();
  for (std::size_t i = 1; i < c.argc() && *bad == Status::kOk; i += 2) {
    if (c.argv[i].empty()) {
      *bad = Status::kEmptyKey;
    } else if (c.argv[i].size() > cfg.max_key_size) {
      *bad = Status::kKeyTooLong;
    } else if (c.argv[i + 1].size() > c.ex.store().max_item_size()) {
      *bad = Status::kTooLarge;
    }
  }
  return true;
}
}  // namespace

void RespSession::cmd_mset(Call& c) {
  Status bad = Status::kOk;
  if (!check_pairs(c, &bad)) {
    reply_arity(c);
    return;
  }
  if (bad != Status::kOk) {
    reply_store_error(c, bad);
    return;
  }
  SetRequest req;
  req.may_wait = true;  // the values are the request's
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    const store::SetResult r = c.ctx.set(c.argv[i], c.argv[i + 1], req);
    if (r.status != Status::kOk) {
      reply_store_error(c, r.status);
      return;
    }
  }
  c.times = static_cast<unsigned>(c.argc() / 2);
  c.w.simple("OK");
}

// All or nothing: nothing is stored if any key exists. Keys are added one by one (mode kAdd); if
// one appears meanwhile, what this command added is deleted again (by version) and it answers 0.
void RespSession::cmd_msetnx(Call& c) {
  Status bad = Status::kOk;
  if (!check_pairs(c, &bad)) {
    reply_arity(c);
    return;
  }
  if (bad != Status::kOk) {
    reply_store_error(c, bad);
    return;
  }
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    if (c.ctx.get(c.argv[i])) {
      c.w.integer(0);
      return;
    }
  }
  added_.clear();
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    SetRequest req;
    req.mode = SetMode::kAdd;
    store::SetResult r = c.ctx.set(c.argv[i], c.argv[i + 1], req);
    if (r.status == Status::kNotStored) {
      // The same key earlier in this command: overwrite what this command stored.
      for (std::size_t j = i; j > 1; j -= 2) {
        if (c.argv[j - 2] == c.argv[i]) {
          req.mode = SetMode::kSet;
          req.cas = added_[(j - 2) / 2];
          r = c.ctx.set(c.argv[i], c.argv[i + 1], req);
          break;
        }
      }
    }
    if (r.status != Status::kOk) {
      for (std::size_t j = added_.size(); j > 0; --j) c.ctx.del(c.argv[2 * j - 1], added_[j - 1]);
      if (lost_race(r.status)) {
        c.w.integer(0);
      } else {
        reply_store_error(c, r.status);
      }
      return;
    }
    added_.push_back(r.cas);
  }
  c.times = static_cast<unsigned>(c.argc() / 2);
  c.w.integer(1);
}

}  // namespace ferrite::engine::resp
