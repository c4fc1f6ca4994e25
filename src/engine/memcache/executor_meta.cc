// The meta commands: mg, ms, md, ma, me (mn is answered in step()).
#include <climits>
#include <limits>

#include "core/decimal.h"
#include "engine/memcache/executor.h"
#include "engine/memcache_semantics.h"
#include "proto/memcache/reply.h"

namespace ferrite::engine::memcache {

namespace mc = proto::memcache;
using proto::memcache::MetaFlags;

namespace {

constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kFlagsTooLong = "CLIENT_ERROR options flags too long";
constexpr std::string_view kBadFlag = "CLIENT_ERROR invalid or duplicate flag";
constexpr std::string_view kOpaqueTooLong = "CLIENT_ERROR opaque token too long";
constexpr std::string_view kNonNumeric = "CLIENT_ERROR cannot increment or decrement non-numeric value";

// Whole seconds left before `deadline` (store clock), at least 1 while the item lives (as with
// memcached's one-second clock); -1 for no deadline or one passed. Rounded down: the store keeps
// far deadlines in whole seconds, rounded up.
std::int64_t ttl_left(std::uint64_t deadline, std::uint64_t now) noexcept {
  if (deadline == 0 || deadline <= now) return -1;
  const std::uint64_t s = (deadline - now) / 1000;
  return s == 0 ? 1 : static_cast<std::int64_t>(s);
}

// The fields of an item a meta reply reports (from the store, or of an item just created).
struct ItemInfo {
  std::string_view value;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;
  std::uint64_t deadline = 0;
};

ItemInfo info_of(const store::ItemView& v) noexcept {
  return {v.value(), v.flags(), v.cas(), v.expires_at_ms()};
}

}  // namespace

const char* Executor::meta_flags(const Request& r, std::size_t first, MetaFlags* f) {
  key_ = r.t.tok[1];
  const std::size_t n = r.t.count > first ? r.t.count - first : 0;
  if (const char* err = mc::parse_meta_flags(r.t.tok + first, n, &key_, key_buf_, f)) return err;
  if (f->has_O && f->opaque.size() > mc::kMaxOpaqueLength) return kOpaqueTooLong.data();
  return nullptr;
}

template <typename Each>
void Executor::meta_tokens(const Request& r, std::size_t first, const MetaFlags& f, Buffer& out,
                           Each&& each) {
  for (std::size_t i = first; i < r.t.count; ++i) {
    const std::string_view tok = r.t.tok[i];
    switch (tok[0]) {
      case 'O':
        out.push_back(' ');
        out.append(tok);
        break;
      case 'k':
        mc::append_meta_key(out, key_, f.b);
        break;
      default:
        each(tok[0]);
        break;
    }
  }
}

std::size_t Executor::meta_get(const Request& r, Buffer& out, Exec& ex) {
  const Proto p = meta_proto();
  if (r.t.ntokens() < 3) {
    fail(out, ex, true, r.start, "ERROR");
    return r.line.consumed;
  }
  if (r.t.tok[1].size() > mc::kMaxKeyLength) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  if (r.t.ntokens() > mc::kMaxMetaTokens) {
    fail(out, ex, true, r.start, "CLIENT_ERROR options flags are too long");
    return r.line.consumed;
  }
  MetaFlags f;
  if (const char* err = meta_flags(r, 2, &f)) {
    fail(out, ex, true, r.start, err);
    return r.line.consumed;
  }
  ex.note_key(key_);
  const std::uint64_t now = ex.now_ms();
  store::ItemView v = ex.ctx.get(key_);
  if (v && !v.is_string()) {  // a hash: refused (before any TTL change), never its encoding
    ex.count(p, f.has_T ? Op::k_gat : Op::k_get, r.start);
    mc::append_line(out, kWrongTypeError);
    return r.line.consumed;
  }
  if (f.has_T) v = ex.ctx.gat(key_, memcache_deadline(f.ttl, ex));
  ItemInfo item;
  bool found = static_cast<bool>(v);
  bool won = false;
  if (found) {
    item = info_of(v);
  } else if (f.has_N) {
    // Vivify on miss: an empty item, and the right to recache it for this client. A T after the
    // N sets the new item's TTL, as memcached applies them in order.
    store::SetRequest req;
    req.mode = store::SetMode::kAdd;
    req.expires_at_ms = memcache_deadline(f.has_T && f.pos_T > f.pos_N ? f.ttl : f.vivify_ttl, ex);
    const store::SetResult res = ex.ctx.set(key_, std::string_view(), req);
    if (res.status == store::Status::kOk) {
      item = {std::string_view(), 0, res.cas, req.expires_at_ms};
      found = true;
      won = true;
    } else if (res.status == store::Status::kNotStored && (v = ex.ctx.get(key_))) {
      item = info_of(v);  // another worker created it first
      found = true;
    }
  }
  ex.count(p, f.has_T ? Op::k_gat : Op::k_get, r.start);
  if (!found) {
    ex.miss(p);
    if (f.q) return r.line.consumed;
    out.append("EN", 2);
    meta_tokens(r, 2, f, out, [](char) {});
    mc::append_crlf(out);
    return r.line.consumed;
  }
  ex.hit(p);
  const std::size_t mark = out.size();
  if (f.v) {
    mc::append_meta_value_code(out, item.value.size());
  } else {
    out.append("HD", 2);
  }
  meta_tokens(r, 2, f, out, [&](char c) {
    switch (c) {
      case 's':
        mc::append_meta_uint(out, 's', item.value.size());
        break;
      case 't':
        mc::append_meta_int(out, 't', ttl_left(item.deadline, now));
        break;
      case 'c':
        mc::append_meta_uint(out, 'c', item.cas);
        break;
      case 'f':
        mc::append_meta_uint(out, 'f', item.flags);
        break;
      default:
        break;  // h, l: not tracked by the store; the rest return nothing
    }
  });
  if (won) out.append(" W", 2);
  mc::append_crlf(out);
  // A datagram's replies stop before a value would pass the budget: the line (short) is taken
  // back, the value never copied.
  if (mode_ == Mode::kDatagram && out.size() + (f.v ? item.value.size() + 2 : 0) > budget_) {
    out.resize(mark);
    overflow_ = true;
    return r.line.consumed;
  }
  if (f.v) {
    out.append(item.value);
    mc::append_crlf(out);
  }
  return r.line.consumed;
}

std::size_t Executor::meta_set(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() < 3) {
    fail(out, ex, true, r.start, "ERROR");
    return r.line.consumed;
  }
  if (r.t.tok[1].size() > mc::kMaxKeyLength || r.t.ntokens() == 3) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  if (r.t.ntokens() > mc::kMaxMetaTokens) {
    fail(out, ex, true, r.start, kFlagsTooLong);
    return r.line.consumed;
  }
  std::int32_t vlen = 0;
  if (!mc::parse_i32(r.t.tok[2], &vlen) || vlen < 0 || vlen > INT_MAX - 2) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  const auto n = static_cast<std::size_t>(vlen);
  // From here on an error skips the data block (memcached swallows it).
  MetaFlags f;
  const char* err = meta_flags(r, 3, &f);
  store::SetRequest req;
  if (err == nullptr) {
    switch (f.mode) {
      case 0:
      case 'S':
        req.mode = store::SetMode::kSet;
        break;
      case 'E':
        req.mode = store::SetMode::kAdd;
        break;
      case 'A':
        req.mode = store::SetMode::kAppend;
        break;
      case 'P':
        req.mode = store::SetMode::kPrepend;
        break;
      case 'R':
        req.mode = store::SetMode::kReplace;
        break;
      default:
        err = "CLIENT_ERROR invalid mode for ms M token";
        break;
    }
  }
  if (err != nullptr) {
    fail(out, ex, true, r.start, err);
    swallow_ = static_cast<std::uint64_t>(n) + 2;
    return r.line.consumed;
  }
  if (over_limits(r, ex, n)) return too_large(r, out, ex, key_, n, true, false);
  const std::size_t total = r.line.consumed + n + 2;
  if (r.in.size() < total) return 0;
  if (r.in.substr(r.line.consumed + n, 2) != "\r\n") {
    fail(out, ex, true, r.start, "CLIENT_ERROR bad data chunk");
    return total;
  }
  ex.note_key(key_);  // once the data block is whole (the line is parsed again until it is)
  // A CAS turns set and replace into cas; append/prepend check it; add ignores it.
  if (f.has_C) {
    if (req.mode == store::SetMode::kSet || req.mode == store::SetMode::kReplace) {
      req.mode = store::SetMode::kCas;
      req.cas = f.cas;
    } else if (req.mode != store::SetMode::kAdd) {
      req.cas = f.cas;
    }
  }
  req.flags = f.client_flags;
  req.expires_at_ms = f.has_T ? memcache_deadline(f.ttl, ex) : 0;
  const std::string_view value = r.in.substr(r.line.consumed, n);
  req.may_wait = true;  // the value is the request's
  std::uint64_t cas = 0;
  store::Status st = apply_store(ex, key_, value, req, &cas);
  if (st == store::Status::kNotStored && f.has_N &&
      (req.mode == store::SetMode::kAppend || req.mode == store::SetMode::kPrepend)) {
    // Append/prepend with N: a missing item is created with the value and N's TTL.
    store::SetRequest add;
    add.mode = store::SetMode::kAdd;
    add.flags = f.client_flags;
    add.expires_at_ms = memcache_deadline(f.vivify_ttl, ex);
    st = apply_store(ex, key_, value, add, &cas);
  }
  ex.count(meta_proto(), Op::k_set, r.start);
  std::string_view code;
  switch (st) {
    case store::Status::kOk:
      code = "HD";
      break;
    case store::Status::kNotStored:
      code = "NS";
      break;
    case store::Status::kExists:
      code = "EX";
      break;
    case store::Status::kNotFound:
      code = "NF";
      break;
    case store::Status::kTooLarge:
      mc::append_line(out, "SERVER_ERROR object too large for cache");
      return total;
    case store::Status::kWrongType:  // ms in append/prepend mode on a hash
      mc::append_line(out, kWrongTypeError);
      return total;
    default:
      mc::append_line(out, "SERVER_ERROR out of memory storing object");
      return total;
  }
  if (st == store::Status::kOk && f.q) return total;
  out.append(code);
  meta_tokens(r, 3, f, out, [&](char c) {
    if (c == 'c') mc::append_meta_uint(out, 'c', st == store::Status::kOk ? cas : 0);
  });
  mc::append_crlf(out);
  return total;
}

std::size_t Executor::meta_delete(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() < 3) {
    fail(out, ex, true, r.start, "ERROR");
    return r.line.consumed;
  }
  if (r.t.tok[1].size() > mc::kMaxKeyLength) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  if (r.t.ntokens() > mc::kMaxMetaTokens) {
    fail(out, ex, true, r.start, kFlagsTooLong);
    return r.line.consumed;
  }
  MetaFlags f;
  if (const char* err = meta_flags(r, 2, &f)) {
    fail(out, ex, true, r.start, err == kOpaqueTooLong.data() ? kOpaqueTooLong : kBadFlag);
    return r.line.consumed;
  }
  ex.note_key(key_);
  store::Status st;
  if (f.has_C && f.cas == 0) {
    // No item has CAS 0: a present item does not match (the store reads 0 as "no check").
    st = ex.ctx.get(key_) ? store::Status::kExists : store::Status::kNotFound;
  } else {
    // I (mark stale) is served as a delete: the store keeps no stale state.
    st = ex.ctx.del(key_, f.has_C ? f.cas : 0);
  }
  ex.count(meta_proto(), Op::k_delete, r.start);
  if (st == store::Status::kOk && f.q) return r.line.consumed;
  out.append(st == store::Status::kOk ? "HD" : st == store::Status::kExists ? "EX" : "NF", 2);
  meta_tokens(r, 2, f, out, [](char) {});
  mc::append_crlf(out);
  return r.line.consumed;
}

std::size_t Executor::meta_arith(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() < 3) {
    fail(out, ex, true, r.start, "ERROR");
    return r.line.consumed;
  }
  if (r.t.tok[1].size() > mc::kMaxKeyLength) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  if (r.t.ntokens() > mc::kMaxMetaTokens) {
    fail(out, ex, true, r.start, kFlagsTooLong);
    return r.line.consumed;
  }
  MetaFlags f;
  if (const char* err = meta_flags(r, 2, &f)) {
    fail(out, ex, true, r.start, err == kOpaqueTooLong.data() ? kOpaqueTooLong : kBadFlag);
    return r.line.consumed;
  }
  ex.note_key(key_);
  bool decr = false;
  switch (f.mode) {
    case 0:
    case 'I':
    case '+':
      break;
    case 'D':
    case '-':
      decr = true;
      break;
    default:
      fail(out, ex, true, r.start, "CLIENT_ERROR invalid mode for ma M token");
      return r.line.consumed;
  }
  const Op op = decr ? Op::k_decr : Op::k_incr;
  CounterRequest creq;
  creq.delta = f.delta;
  creq.decrement = decr;
  creq.check_cas = f.has_C;  // compare-and-apply: only to the item of that version
  creq.cas = f.cas;
  // Auto-create with N, holding J (default 0); a T after the N sets the new item's TTL.
  creq.create = f.has_N;
  creq.initial = f.initial;
  creq.expires_at_ms = f.has_N ? memcache_deadline(f.has_T && f.pos_T > f.pos_N ? f.ttl : f.vivify_ttl, ex) : 0;
  const CounterResult res = memcache_counter(ex.ctx, key_, creq);
  const bool created = res.created;
  std::uint64_t deadline = res.expires_at_ms;
  bool deadline_known = res.deadline_known;
  if (res.create_failed && res.status != store::Status::kNotStored) {
    fail(out, ex, true, r.start, "SERVER_ERROR Out of memory allocating new item");
    return r.line.consumed;
  }
  switch (res.status) {
    case store::Status::kOk:
    case store::Status::kNotFound:
    case store::Status::kNotStored:
    case store::Status::kExists:
      break;
    case store::Status::kNonNumeric:
      mc::append_line(out, kNonNumeric);
      ex.count(meta_proto(), op, r.start);
      return r.line.consumed;
    case store::Status::kWrongType:
      mc::append_line(out, kWrongTypeError);
      ex.count(meta_proto(), op, r.start);
      return r.line.consumed;
    default:
      mc::append_line(out, "SERVER_ERROR out of memory");
      ex.count(meta_proto(), op, r.start);
      return r.line.consumed;
  }
  ex.count(meta_proto(), op, r.start);
  if (res.status != store::Status::kOk) {
    out.append(res.status == store::Status::kNotFound    ? "NF"
               : res.status == store::Status::kNotStored ? "NS"
                                                         : "EX",
               2);
    meta_tokens(r, 2, f, out, [](char) {});
    mc::append_crlf(out);
    return r.line.consumed;
  }
  if (f.has_T && !created) {
    deadline = memcache_deadline(f.ttl, ex);
    deadline_known = true;
    ex.ctx.touch(key_, deadline);
  }
  if (f.t && !deadline_known) {
    const store::ItemView v = ex.ctx.get(key_);
    deadline = v ? v.expires_at_ms() : 0;
  }
  // memcached's quiet mode hides the reply of an applied delta, not of an auto-created counter.
  if (f.q && !created) return r.line.consumed;
  char digits[kU64Chars];
  const std::size_t len = format_u64(res.value, digits);
  if (f.v) {
    mc::append_meta_value_code(out, len);
  } else {
    out.append("HD", 2);
  }
  const std::uint64_t now = ex.now_ms();
  meta_tokens(r, 2, f, out, [&](char c) {
    if (c == 'c') mc::append_meta_uint(out, 'c', res.cas);
    if (c == 't') mc::append_meta_int(out, 't', ttl_left(deadline, now));
  });
  mc::append_crlf(out);
  if (f.v) {
    out.append(digits, len);
    mc::append_crlf(out);
  }
  return r.line.consumed;
}

std::size_t Executor::meta_debug(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() < 3 || r.t.tok[1].size() > mc::kMaxKeyLength) {
    fail(out, ex, true, r.start, kBadFormat);
    return r.line.consumed;
  }
  key_ = r.t.tok[1];
  const bool binary = r.t.count >= 3 && r.t.tok[2] == "b";
  if (binary) {
    std::size_t len = 0;
    if (!mc::base64_decode(key_, key_buf_, &len)) {
      fail(out, ex, true, r.start, kBadFormat);
      return r.line.consumed;
    }
    key_ = std::string_view(key_buf_, len);
  }
  ex.note_key(key_);
  const store::ItemView v = ex.ctx.get(key_);
  ex.count(meta_proto(), Op::k_other, r.start);
  if (!v) {
    mc::append_line(out, "EN");
    return r.line.consumed;
  }
  out.append("ME ", 3);
  if (binary) {
    char* p = out.prepare(mc::base64_encoded_size(key_.size()));
    out.advance(mc::base64_encode(key_, p));
  } else {
    out.append(key_);
  }
  out.append(" exp=", 5);
  out.append_int(ttl_left(v.expires_at_ms(), ex.now_ms()));
  out.append(" cas=", 5);
  out.append_uint(v.cas());
  out.append(" size=", 6);
  out.append_uint(store::Item::footprint(v.key().size(), v.value().size(), v.flags(), v.type()));
  mc::append_crlf(out);
  return r.line.consumed;
}

}  // namespace ferrite::engine::memcache
