// Commands that change part of a value or compute a new one from it: APPEND, SETRANGE, the
// counters (INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT), and the partial reads STRLEN, GETRANGE.
//
// Read-modify-write commands store their result only over the item they read (SetRequest::cas
// with its version, or mode kAdd when the key was missing) and read again when another worker got
// there first, so each is atomic as in Redis. INCR and friends use the store's own atomic
// incr_signed.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

using store::SetMode;
using store::SetRequest;
using store::Status;

void RespSession::cmd_append(Call& c) {
  const std::string_view key = c.argv[1], value = c.argv[2];
  const std::size_t max = c.ex.store().max_item_size();
  for (;;) {
    const store::ItemView old = c.ctx.get(key);
    if (!string_or_none(c, old)) return;
    SetRequest req;
    std::size_t length = value.size();
    if (old) {
      if (old.value().size() + value.size() > max) {
        c.w.error(kErrTooLong);
        return;
      }
      req.mode = SetMode::kAppend;
      req.cas = old.cas();
      length += old.value().size();
    } else {
      req.mode = SetMode::kAdd;
    }
    const store::SetResult r = c.ctx.set(key, value, req);
    if (r.status == Status::kOk) {
      c.w.integer(static_cast<std::int64_t>(length));
      return;
    }
    if (!lost_race(r.status)) {
      reply_store_error(c, r.status);
      return;
    }
  }
}

void RespSession::cmd_strlen(Call& c) {
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (!string_or_none(c, it)) return;
  if (it) {
    c.ex.hit(Proto::kResp);
  } else {
    c.ex.miss(Proto::kResp);
  }
  c.w.integer(it ? static_cast<std::int64_t>(it.value().size()) : 0);
}

void RespSession::cmd_getrange(Call& c) {
  std::int64_t start = 0, end = 0;
  if (!proto::resp::parse_i64(c.argv[2], &start) || !proto::resp::parse_i64(c.argv[3], &end)) {
    c.w.error(kErrNotInteger);
    return;
  }
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (!string_or_none(c, it)) return;
  if (!it) {
    c.ex.miss(Proto::kResp);
    c.w.bulk("");
    return;
  }
  c.ex.hit(Proto::kResp);
  const std::string_view v = it.value();
  const auto len = static_cast<std::int64_t>(v.size());
  if (start < 0 && end < 0 && start > end) {
    c.w.bulk("");
    return;
  }
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    c.w.bulk("");
    return;
  }
  c.w.bulk(v.substr(static_cast<std::size_t>(start), static_cast<std::size_t>(end - start + 1)));
}

void RespSession::cmd_setrange(Call& c) {
  std::int64_t offset = 0;
  if (!proto::resp::parse_i64(c.argv[2], &offset)) {
    c.w.error(kErrNotInteger);
    return;
  }
  if (offset < 0) {
    c.w.error("ERR offset is out of range");
    return;
  }
  const std::string_view key = c.argv[1], value = c.argv[3];
  const std::size_t max = c.ex.store().max_item_size();
  const auto off = static_cast<std::uint64_t>(offset);
  for (;;) {
    const store::ItemView old = c.ctx.get(key);
    if (!string_or_none(c, old)) return;
    const std::size_t old_len = old ? old.value().size() : 0;
    if (value.empty()) {  // nothing to write: the length as it is
      c.w.integer(static_cast<std::int64_t>(old_len));
      return;
    }
    if (off > max || value.size() > max - off) {
      c.w.error(kErrTooLong);
      return;
    }
    const std::size_t new_len = std::max<std::size_t>(old_len, off + value.size());
    scratch_.resize(new_len);
    char* p = scratch_.data();
    if (old_len > 0) std::memcpy(p, old.value().data(), old_len);
    if (off > old_len) std::memset(p + old_len, 0, off - old_len);
    std::memcpy(p + off, value.data(), value.size());
    SetRequest req;
    if (old) {
      req.cas = old.cas();
      req.flags = old.flags();
      req.expires_at_ms = old.expires_at_ms();
    } else {
      req.mode = SetMode::kAdd;
    }
    const store::SetResult r = c.ctx.set(key, scratch_.view(), req);
    if (r.status == Status::kOk) {
      c.w.integer(static_cast<std::int64_t>(new_len));
      return;
    }
    if (!lost_race(r.status)) {
      reply_store_error(c, r.status);
      return;
    }
  }
}

void RespSession::incr_generic(Call& c, std::int64_t delta) {
  bool overflow = false;
  const store::ArithResult r = c.ctx.incr_signed(c.argv[1], delta, &overflow);
  if (r.status == Status::kOk) {
    c.w.integer(static_cast<std::int64_t>(r.value));
  } else if (r.status == Status::kNonNumeric) {
    c.w.error(overflow ? kErrOverflow : kErrNotInteger);
  } else {
    reply_store_error(c, r.status);
  }
}

void RespSession::cmd_incr(Call& c) { incr_generic(c, 1); }
void RespSession::cmd_decr(Call& c) { incr_generic(c, -1); }

void RespSession::cmd_incrby(Call& c) {
  std::int64_t v = 0;
  if (!proto::resp::parse_i64(c.argv[2], &v)) {
    c.w.error(kErrNotInteger);
    return;
  }
  incr_generic(c, v);
}

void RespSession::cmd_decrby(Call& c) {
  std::int64_t v = 0;
  if (!proto::resp::parse_i64(c.argv[2], &v)) {
    c.w.error(kErrNotInteger);
    return;
  }
  if (v == std::numeric_limits<std::int64_t>::min()) {
    c.w.error("ERR decrement would overflow");
    return;
  }
  incr_generic(c, -v);
}

void RespSession::cmd_incrbyfloat(Call& c) {
  const std::string_view key = c.argv[1];
  for (;;) {
    const store::ItemView old = c.ctx.get(key);
    if (!string_or_none(c, old)) return;
    long double value = 0, incr = 0;
    if ((old && !proto::resp::parse_long_double(old.value(), &value)) ||
        !proto::resp::parse_long_double(c.argv[2], &incr)) {
      c.w.error(kErrNotFloat);
      return;
    }
    value += incr;
    if (std::isnan(value) || std::isinf(value)) {
      c.w.error("ERR increment would produce NaN or Infinity");
      return;
    }
    char buf[proto::resp::kLongDoubleChars];
    const std::string_view text(buf, proto::resp::format_long_double(value, buf));
    SetRequest req;
    if (old) {
      req.cas = old.cas();
      req.flags = old.flags();
      req.expires_at_ms = old.expires_at_ms();
    } else {
      req.mode = SetMode::kAdd;
    }
    const store::SetResult r = c.ctx.set(key, text, req);
    if (r.status == Status::kOk) {
      c.w.bulk(text);
      return;
    }
    if (!lost_race(r.status)) {
      reply_store_error(c, r.status);
      return;
    }
  }
}

}  // namespace ferrite::engine::resp
