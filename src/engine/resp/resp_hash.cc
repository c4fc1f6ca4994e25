// Hash commands: HSET, HMSET, HSETNX, HGET, HMGET, HGETALL, HDEL, HEXISTS, HLEN, HKEYS, HVALS,
// HINCRBY, HINCRBYFLOAT, HSTRLEN, HRANDFIELD, HSCAN.
//
// A hash is one item of type kHash whose value is the encoding of store/hash_value.h. A write
// reads the item, builds the whole new encoding into the session's scratch buffers and stores it
// over exactly the item it read (SetRequest::cas, or mode kAdd for a new key), keeping its TTL;
// when another worker changed the key meanwhile it reads again (the lost_race pattern of APPEND).
// So every command is atomic, as in Redis, and costs O(fields) per write.
#include <cmath>
#include <limits>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace hash = store::hash;
using store::ItemType;
using store::SetMode;
using store::SetRequest;
using store::Status;

namespace {

// Bytes of a bulk string's reply ($<len>\r\n<bytes>\r\n).
std::uint64_t bulk_bytes(std::size_t n) {
  std::uint64_t digits = 1;
  for (std::size_t v = n; v >= 10; v /= 10) ++digits;
  return 1 + digits + 2 + n + 2;
}

// Redis's string2ll on a hash value (no spaces, no leading zeros, fits in int64).
bool value_to_i64(std::string_view s, std::int64_t* out) { return proto::resp::parse_i64(s, out); }

std::size_t format_i64(std::int64_t v, char* buf) {
  std::uint64_t u = v < 0 ? ~static_cast<std::uint64_t>(v) + 1 : static_cast<std::uint64_t>(v);
  char tmp[24];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  std::size_t len = 0;
  if (v < 0) buf[len++] = '-';
  while (n > 0) buf[len++] = tmp[--n];
  return len;
}

// The pairs of a hash actually readable (the count a reply announces must match what follows).
std::size_t readable_pairs(std::string_view encoded) {
  hash::Reader r(encoded);
  hash::Pair p;
  std::size_t n = 0;
  while (r.next(&p)) ++n;
  return n;
}

}  // namespace

void reply_wrongtype(Call& c) { c.w.error(kErrWrongType); }

// The item at `key` if it is a hash (or none); false after answering WRONGTYPE.
bool RespSession::hash_lookup(Call& c, store::ItemView* out) {
  *out = c.ctx.get(c.argv[1]);
  if (*out && out->type() != ItemType::kHash) {
    reply_wrongtype(c);
    return false;
  }
  if (*out) {
    c.ex.hit(Proto::kResp);
  } else {
    c.ex.miss(Proto::kResp);
  }
  return true;
}

// Stores hash_.out as the new value of the hash `old` was read as (none: a new key), keeping
// its TTL and flags.
Status RespSession::hash_store(Call& c, const store::ItemView& old) {
  SetRequest req;
  req.type = ItemType::kHash;
  if (old) {
    req.mode = SetMode::kSet;
    req.cas = old.cas();
    req.flags = old.flags();
    req.expires_at_ms = old.expires_at_ms();
  } else {
    req.mode = SetMode::kAdd;
  }
  const Status st = c.ctx.set(c.argv[1], hash_.out, req).status;
  hash_trim();
  return st;
}

// The scratch buffers stay as large as the connection's usual hash (no allocation per request);
// after an unusually large one they are given back, so that an idle connection does not keep
// a hash's worth of memory.
void RespSession::hash_trim() {
  constexpr std::size_t kKeepBytes = std::size_t{64} << 10;
  constexpr std::size_t kKeepEntries = 4096;
  if (hash_.out.capacity() > kKeepBytes) std::string().swap(hash_.out);
  if (hash_.index.capacity() > kKeepEntries) std::vector<std::uint32_t>().swap(hash_.index);
  if (hash_.offsets.capacity() > kKeepEntries) std::vector<std::uint32_t>().swap(hash_.offsets);
  if (hash_.matches.capacity() > kKeepEntries) std::vector<std::uint32_t>().swap(hash_.matches);
  if (hash_.marks.capacity() > kKeepEntries) std::vector<std::uint8_t>().swap(hash_.marks);
  if (hash_pairs_.capacity() > kKeepEntries) std::vector<hash::Pair>().swap(hash_pairs_);
  if (hash_fields_.capacity() > kKeepEntries) std::vector<std::string_view>().swap(hash_fields_);
}

void RespSession::reply_hash_store_error(Call& c, Status s) const {
  if (s == Status::kTooLarge) {
    c.w.error("ERR hash exceeds the maximum item size (proto-max-bulk-len)");
  } else {
    reply_store_error(c, s);
  }
}

// HSET / HMSET: the pairs from argv[2], all set at once.
void RespSession::hset_generic(Call& c, bool hmset) {
  if (c.argc() % 2 != 0) {
    reply_arity(c);
    return;
  }
  hash_pairs_.clear();
  for (std::size_t i = 2; i < c.argc(); i += 2) hash_pairs_.push_back({c.argv[i], c.argv[i + 1]});
  for (;;) {
    store::ItemView old;
    if (!hash_lookup(c, &old)) return;
    const std::size_t added = hash::set(old ? old.value() : std::string_view(), hash_pairs_, hash_);
    const Status s = hash_store(c, old);
    if (s == Status::kOk) {
      if (hmset) {
        c.w.simple("OK");
      } else {
        c.w.integer(static_cast<std::int64_t>(added));
      }
      return;
    }
    if (!lost_race(s)) {
      reply_hash_store_error(c, s);
      return;
    }
  }
}

void RespSession::cmd_hset(Call& c) { hset_generic(c, false); }
void RespSession::cmd_hmset(Call& c) { hset_generic(c, true); }

void RespSession::cmd_hsetnx(Call& c) {
  const hash::Pair pair{c.argv[2], c.argv[3]};
  for (;;) {
    store::ItemView old;
    if (!hash_lookup(c, &old)) return;
    std::string_view existing;
    if (old && hash::find(old.value(), pair.field, &existing)) {
      c.w.integer(0);
      return;
    }
    hash::set(old ? old.value() : std::string_view(), {&pair, 1}, hash_);
    const Status s = hash_store(c, old);
    if (s == Status::kOk) {
      c.w.integer(1);
      return;
    }
    if (!lost_race(s)) {
      reply_hash_store_error(c, s);
      return;
    }
  }
}

void RespSession::cmd_hget(Call& c) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  std::string_view v;
  if (it && hash::find(it.value(), c.argv[2], &v)) {
    c.w.bulk(v);
  } else {
    c.w.null();
  }
}

void RespSession::cmd_hmget(Call& c) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  c.w.array(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    std::string_view v;
    if (it && hash::find(it.value(), c.argv[i], &v)) {
      c.w.bulk(v);
    } else {
      c.w.null();
    }
  }
}

// HGETALL, HKEYS, HVALS: every pair in the hash's order (a map in RESP3 for HGETALL).
void RespSession::hash_all(Call& c, bool fields, bool values) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  const std::string_view enc = it ? it.value() : std::string_view();
  const std::size_t n = it ? readable_pairs(enc) : 0;
  if (fields && values) {
    c.w.map(n);
  } else {
    c.w.array(n);
  }
  if (n == 0) return;
  hash::Reader r(enc);
  hash::Pair p;
  while (r.next(&p)) {
    if (fields) c.w.bulk(p.field);
    if (values) c.w.bulk(p.value);
  }
}

void RespSession::cmd_hgetall(Call& c) { hash_all(c, true, true); }
void RespSession::cmd_hkeys(Call& c) { hash_all(c, true, false); }
void RespSession::cmd_hvals(Call& c) { hash_all(c, false, true); }

void RespSession::cmd_hdel(Call& c) {
  hash_fields_.assign(c.argv.begin() + 2, c.argv.end());
  for (;;) {
    store::ItemView old;
    if (!hash_lookup(c, &old)) return;
    if (!old) {
      c.w.integer(0);
      return;
    }
    const std::size_t removed = hash::del(old.value(), hash_fields_, hash_);
    if (removed == 0) {
      c.w.integer(0);
      return;
    }
    // The last field gone: the key goes too, as in Redis.
    Status s;
    if (hash::count(hash_.out) == 0) {
      s = c.ctx.del(c.argv[1], old.cas());
      hash_trim();
    } else {
      s = hash_store(c, old);
    }
    if (s == Status::kOk) {
      c.w.integer(static_cast<std::int64_t>(removed));
      return;
    }
    if (!lost_race(s)) {
      reply_hash_store_error(c, s);
      return;
    }
  }
}

void RespSession::cmd_hexists(Call& c) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  std::string_view v;
  c.w.integer(it && hash::find(it.value(), c.argv[2], &v) ? 1 : 0);
}

void RespSession::cmd_hlen(Call& c) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  c.w.integer(it ? static_cast<std::int64_t>(hash::count(it.value())) : 0);
}

void RespSession::cmd_hstrlen(Call& c) {
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  std::string_view v;
  c.w.integer(it && hash::find(it.value(), c.argv[2], &v) ? static_cast<std::int64_t>(v.size()) : 0);
}

void RespSession::cmd_hincrby(Call& c) {
  std::int64_t incr = 0;
  if (!proto::resp::parse_i64(c.argv[3], &incr)) {
    c.w.error(kErrNotInteger);
    return;
  }
  for (;;) {
    store::ItemView old;
    if (!hash_lookup(c, &old)) return;
    std::int64_t value = 0;
    std::string_view current;
    if (old && hash::find(old.value(), c.argv[2], &current) && !value_to_i64(current, &value)) {
      c.w.error("ERR hash value is not an integer");
      return;
    }
    std::int64_t result = 0;
    if (__builtin_add_overflow(value, incr, &result)) {
      c.w.error(kErrOverflow);
      return;
    }
    char buf[24];
    const hash::Pair pair{c.argv[2], std::string_view(buf, format_i64(result, buf))};
    hash::set(old ? old.value() : std::string_view(), {&pair, 1}, hash_);
    const Status s = hash_store(c, old);
    if (s == Status::kOk) {
      c.w.integer(result);
      return;
    }
    if (!lost_race(s)) {
      reply_hash_store_error(c, s);
      return;
    }
  }
}

void RespSession::cmd_hincrbyfloat(Call& c) {
  long double incr = 0;
  if (!proto::resp::parse_long_double(c.argv[3], &incr)) {
    c.w.error(kErrNotFloat);
    return;
  }
  if (std::isnan(incr) || std::isinf(incr)) {
    c.w.error("ERR value is NaN or Infinity");
    return;
  }
  for (;;) {
    store::ItemView old;
    if (!hash_lookup(c, &old)) return;
    long double value = 0;
    std::string_view current;
    if (old && hash::find(old.value(), c.argv[2], &current) &&
        !proto::resp::parse_long_double(current, &value)) {
      c.w.error("ERR hash value is not a float");
      return;
    }
    value += incr;
    if (std::isnan(value) || std::isinf(value)) {
      c.w.error("ERR increment would produce NaN or Infinity");
      return;
    }
    char buf[proto::resp::kLongDoubleChars];
    const hash::Pair pair{c.argv[2], std::string_view(buf, proto::resp::format_long_double(value, buf))};
    hash::set(old ? old.value() : std::string_view(), {&pair, 1}, hash_);
    const Status s = hash_store(c, old);
    if (s == Status::kOk) {
      c.w.bulk(pair.value);
      return;
    }
    if (!lost_race(s)) {
      reply_hash_store_error(c, s);
      return;
    }
  }
}

// HRANDFIELD key [count [WITHVALUES]] (Redis 7's hrandfieldCommand with a listpack: distinct
// fields in the hash's order by selection sampling; a negative count picks with repeats).
void RespSession::cmd_hrandfield(Call& c) {
  if (c.argc() == 2) {
    store::ItemView it = c.ctx.get(c.argv[1]);
    if (it && it.type() != ItemType::kHash) {
      reply_wrongtype(c);
      return;
    }
    if (!it || !hash::index_pairs(it.value(), hash_) || hash_.offsets.empty()) {
      c.ex.miss(Proto::kResp);
      c.w.null();
      return;
    }
    c.ex.hit(Proto::kResp);
    hash::Reader r(it.value());
    hash::Pair p;
    if (r.pair_at(hash_.offsets[rng_.next() % hash_.offsets.size()], &p)) {
      c.w.bulk(p.field);
    } else {
      c.w.null();
    }
    hash_trim();
    return;
  }
  std::int64_t l = 0;
  if (!proto::resp::parse_i64(c.argv[2], &l)) {
    c.w.error(kErrNotInteger);
    return;
  }
  constexpr std::int64_t kLongMax = std::numeric_limits<std::int64_t>::max();
  if (l < -kLongMax) {
    c.w.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
    return;
  }
  bool withvalues = false;
  if (c.argc() > 4 || (c.argc() == 4 && !iequals(c.argv[3], "withvalues"))) {
    c.w.error(kErrSyntax);
    return;
  }
  if (c.argc() == 4) {
    withvalues = true;
    if (l < -kLongMax / 2 || l > kLongMax / 2) {
      c.w.error("ERR value is out of range");
      return;
    }
  }
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  struct Trim {  // the offsets of a large hash are not kept
    RespSession* s;
    ~Trim() { s->hash_trim(); }
  } trim{this};
  const bool uniq = l >= 0;
  const std::uint64_t count = uniq ? static_cast<std::uint64_t>(l) : ~static_cast<std::uint64_t>(l) + 1;
  if (!it || count == 0 || !hash::index_pairs(it.value(), hash_) || hash_.offsets.empty()) {
    c.w.array(0);
    return;
  }
  const std::size_t size = hash_.offsets.size();
  const bool pairs3 = withvalues && c.w.resp3();
  auto header = [&](std::uint64_t n) { c.w.array(withvalues && !pairs3 ? n * 2 : n); };
  hash::Reader r(it.value());
  auto entry = [&](std::size_t i) {
    hash::Pair p;
    if (!r.pair_at(hash_.offsets[i], &p)) p = {};
    if (pairs3) c.w.array(2);
    c.w.bulk(p.field);
    if (withvalues) c.w.bulk(p.value);
  };
  if (!uniq || count == 1) {  // with repeats
    // |count| entries may repeat without bound, but one reply is built whole in the connection's
    // buffer: it may take the larger of the reply cap and the item size, as any other reply of
    // one value may, and no more (Redis has no such bound; the error says which one applies).
    std::uint64_t all = 0;
    for (std::size_t i = 0; i < size; ++i) {
      hash::Pair p;
      if (r.pair_at(hash_.offsets[i], &p)) all += bulk_bytes(p.field.size()) + (withvalues ? bulk_bytes(p.value.size()) : 0);
    }
    const std::uint64_t limit = std::max<std::uint64_t>(c.ex.reply_limit(), c.ex.store().max_item_size());
    if (count > limit || (count * all) / size > limit) {
      c.w.error("ERR HRANDFIELD reply would exceed the reply limit (server.max_reply_bytes)");
      return;
    }
    header(count);
    for (std::uint64_t i = 0; i < count; ++i) entry(rng_.next() % size);
    return;
  }
  if (count >= size) {  // the whole hash
    header(size);
    for (std::size_t i = 0; i < size; ++i) entry(i);
    return;
  }
  // count distinct of size, in order: selection sampling (Knuth's algorithm S).
  header(count);
  std::uint64_t need = count;
  for (std::size_t i = 0; i < size && need > 0; ++i) {
    if (rng_.next() % (size - i) < need) {
      entry(i);
      --need;
    }
  }
}

// HSCAN key cursor [MATCH pattern] [COUNT count]. A hash is one compact value, so, as Redis does
// for a listpack, the first call returns every (matching) pair and cursor 0; COUNT is checked
// and otherwise ignored.
void RespSession::cmd_hscan(Call& c) {
  // Redis's parseScanCursorOrReply (strtoul): an optional sign, then digits that fit in 64 bits;
  // "" is 0. Any cursor returns the whole hash (see above).
  std::string_view cursor = c.argv[2];
  bool cursor_ok = true;
  if (!cursor.empty() && (cursor[0] == '-' || cursor[0] == '+')) {
    cursor.remove_prefix(1);
    cursor_ok = !cursor.empty();
  }
  std::uint64_t cur = 0;
  for (const char ch : cursor) {
    const auto d = static_cast<std::uint64_t>(ch - '0');
    if (ch < '0' || ch > '9' || cur > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
      cursor_ok = false;
      break;
    }
    cur = cur * 10 + d;
  }
  if (!cursor_ok) {
    c.w.error("ERR invalid cursor");
    return;
  }
  std::string_view pattern;
  bool has_pattern = false;
  for (std::size_t i = 3; i < c.argc(); i += 2) {
    if (i + 1 >= c.argc()) {
      c.w.error(kErrSyntax);
      return;
    }
    if (iequals(c.argv[i], "count")) {
      std::int64_t n = 0;
      if (!proto::resp::parse_i64(c.argv[i + 1], &n)) {
        c.w.error(kErrNotInteger);
        return;
      }
      if (n < 1) {
        c.w.error(kErrSyntax);
        return;
      }
    } else if (iequals(c.argv[i], "match")) {
      pattern = c.argv[i + 1];
      has_pattern = !(pattern.size() == 1 && pattern[0] == '*');
    } else {
      c.w.error(kErrSyntax);
      return;
    }
  }
  store::ItemView it;
  if (!hash_lookup(c, &it)) return;
  c.w.array(2);
  c.w.bulk("0");
  if (!it) {
    c.w.array(0);
    return;
  }
  const std::string_view enc = it.value();
  hash::Reader r(enc);
  hash::Pair p;
  std::size_t n = 0;
  while (r.next(&p)) n += !has_pattern || proto::resp::glob_match(pattern, p.field, false);
  c.w.array(2 * n);
  hash::Reader again(enc);
  while (again.next(&p)) {
    if (has_pattern && !proto::resp::glob_match(pattern, p.field, false)) continue;
    c.w.bulk(p.field);
    c.w.bulk(p.value);
  }
}

}  // namespace ferrite::engine::resp
