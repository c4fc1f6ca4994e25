// Keyspace commands: SCAN, KEYS, RANDOMKEY, RENAME, RENAMENX, COPY, TOUCH, OBJECT, MEMORY.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"
#include "store/hash_value.h"
#include "store/memory.h"

namespace ferrite::engine::resp {

using store::Status;

std::string_view redis_type(const store::ItemView& it) noexcept { return store::type_name(it.type()); }

// Redis's encodings, judged by the value. A hash: "listpack" while Redis 7 would keep it in one
// (at most 128 fields, every field and value at most 64 bytes: hash-max-listpack-entries and
// -value), "hashtable" beyond; Ferrite's encoding is the same either way (store/hash_value.h).
// A string: "int" for a canonical 64-bit decimal of at most 20 characters (string2l's rule),
// "embstr" up to 44 bytes, "raw" beyond. Redis also keeps "raw" for a short string grown by
// APPEND or SETRANGE; the store does not know a value's history.
std::string_view redis_encoding(const store::ItemView& it) noexcept {
  const std::string_view v = it.value();
  if (it.type() == store::ItemType::kHash) {
    store::hash::Reader r(v);
    if (r.count() > 128) return "hashtable";
    store::hash::Pair p;
    while (r.next(&p)) {
      if (p.field.size() > 64 || p.value.size() > 64) return "hashtable";
    }
    return "listpack";
  }
  std::int64_t n = 0;
  if (!v.empty() && v.size() <= 20 && proto::resp::parse_i64(v, &n)) {
    // parse_i64 is Redis's string2ll: no sign-only, no leading zeros, no "+", no "-0".
    return "int";
  }
  return v.size() <= 44 ? "embstr" : "raw";
}

namespace {

constexpr std::string_view kErrNoSuchKey = "ERR no such key";
constexpr std::string_view kErrInvalidCursor = "ERR invalid cursor";

// A cursor as Redis's parseScanCursorOrReply takes it: strtoul, whole string, no leading space.
bool parse_cursor(std::string_view s, std::uint64_t* out) {
  if (s.empty() || s.size() > 24) return false;
  char buf[32];
  s.copy(buf, s.size());
  buf[s.size()] = '\0';
  if (buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r')) return false;
  if (s.find('\0') != std::string_view::npos) return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(buf, &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *out = v;
  return true;
}

struct Collect {
  std::vector<std::string_view>* keys;
  std::string_view pattern;
  bool all;          // pattern "*" (or none)
  std::string_view type;  // "" = any
  std::size_t visited = 0;
  static void add(void* arg, const store::ItemView& it) {
    auto* c = static_cast<Collect*>(arg);
    ++c->visited;
    if (!c->all && !proto::resp::glob_match(c->pattern, it.key(), false)) return;
    if (!c->type.empty() && !iequals_both(c->type, redis_type(it))) return;
    c->keys->push_back(it.key());
  }
};

void write_keys(Call& c, const std::vector<std::string_view>& keys) {
  c.w.array(keys.size());
  for (const std::string_view k : keys) c.w.bulk(k);
}

}  // namespace

// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]: whole shards of the table per call
// (each a consistent snapshot), until COUNT (default 10) entries were visited, 10 x COUNT shards
// were, or the scan ends. The cursor is partition << 32 | next shard, in decimal.
void RespSession::cmd_scan(Call& c) {
  std::uint64_t cursor = 0;
  if (!parse_cursor(c.argv[1], &cursor)) {
    c.w.error(kErrInvalidCursor);
    return;
  }
  std::int64_t count = 10;
  Collect col{&scan_out_, "*", true, {}};
  for (std::size_t i = 2; i < c.argc(); i += 2) {
    const std::string_view opt = c.argv[i];
    if (i + 1 >= c.argc()) {
      c.w.error(kErrSyntax);
      return;
    }
    if (iequals(opt, "count")) {
      if (!proto::resp::parse_i64(c.argv[i + 1], &count)) {
        c.w.error(kErrNotInteger);
        return;
      }
      if (count < 1) {
        c.w.error(kErrSyntax);
        return;
      }
    } else if (iequals(opt, "match")) {
      col.pattern = c.argv[i + 1];
      col.all = col.pattern == "*";
    } else if (iequals(opt, "type")) {
      col.type = c.argv[i + 1];
    } else {
      c.w.error(kErrSyntax);
      return;
    }
  }
  scan_out_.clear();
  if (c.ctx.valid_scan_cursor(cursor)) {
    // As Redis bounds the empty buckets one call may pass (10 x COUNT), at most that many shards.
    const std::uint64_t max_shards = static_cast<std::uint64_t>(count) * 10;
    std::uint64_t shards = 0;
    do {
      cursor = c.ctx.scan_keys(cursor, 1, &Collect::add, &col);
    } while (cursor != 0 && col.visited < static_cast<std::uint64_t>(count) && ++shards < max_shards);
  } else {
    cursor = 0;  // past the end: the scan is over, as Redis's is for a cursor it never gave
  }
  char buf[24];
  const int n = std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(cursor));
  c.w.array(2);
  c.w.bulk({buf, static_cast<std::size_t>(n)});
  write_keys(c, scan_out_);
  scan_out_.clear();
}

// KEYS pattern: the whole table, shard by shard.
void RespSession::cmd_keys(Call& c) {
  scan_out_.clear();
  Collect col{&scan_out_, c.argv[1], c.argv[1] == "*", {}};
  std::uint64_t cursor = 0;
  do {
    cursor = c.ctx.scan_keys(cursor, 64, &Collect::add, &col);
  } while (cursor != 0);
  write_keys(c, scan_out_);
  scan_out_.clear();
}

void RespSession::cmd_randomkey(Call& c) {
  const store::ItemView it = c.ctx.random_item();
  if (it) {
    c.w.bulk(it.key());
  } else {
    c.w.null();
  }
}

namespace {
// Holds the transaction locks of a command's two keys (RENAME, COPY) while it runs, so that it is
// atomic to every other client as in Redis (docs/store.md, Transactions), unless an EXEC already
// holds them (their key spec covers both keys).
class TwoKeyLock {
 public:
  TwoKeyLock(store::PartitionedContext& ctx, std::string_view a, std::string_view b) noexcept
      : ctx_(ctx), mine_(!ctx.holding()) {
    if (!mine_) return;
    keys_[0] = store::make_key(a);
    keys_[1] = store::make_key(b);
    ctx_.lock_keys(keys_);
  }
  ~TwoKeyLock() {
    if (mine_) ctx_.unlock_keys();
  }
  TwoKeyLock(const TwoKeyLock&) = delete;
  TwoKeyLock& operator=(const TwoKeyLock&) = delete;

 private:
  store::PartitionedContext& ctx_;
  bool mine_;
  store::KeyRef keys_[2];
};
}  // namespace

// RENAME / RENAMENX: with both keys locked, the destination is written with the source's value,
// flags, type and deadline, then the source deleted. Every writer (and expiry, and eviction)
// takes a key's bucket lock, so neither key changes in between: nobody sees both keys or neither.
void RespSession::rename_generic(Call& c, bool nx) {
  const std::string_view src = c.argv[1], dst = c.argv[2];
  const TwoKeyLock lock(c.ctx, src, dst);
  const store::ItemView it = c.ctx.get(src);
  if (!it) {
    c.w.error(kErrNoSuchKey);
    return;
  }
  if (src != dst) {
    const std::uint64_t src_cas = it.cas();
    store::SetRequest req;
    req.flags = it.flags();
    req.type = it.type();
    req.expires_at_ms = it.expires_at_ms();
    if (nx) req.mode = store::SetMode::kAdd;
    const store::SetResult r = c.ctx.set(dst, it.value(), req);
    if (r.status == Status::kNotStored && nx) {
      c.w.integer(0);
      return;
    }
    if (r.status != Status::kOk) {
      reply_store_error(c, r.status);
      return;
    }
    // kNotFound: its deadline passed since the get (a lazy expiry); the rename still happened.
    c.ctx.del(src, src_cas);
  } else if (nx) {
    c.w.integer(0);
    return;
  }
  if (nx) {
    c.w.integer(1);
  } else {
    c.w.simple("OK");
  }
}

void RespSession::cmd_rename(Call& c) { rename_generic(c, false); }
void RespSession::cmd_renamenx(Call& c) { rename_generic(c, true); }

// COPY source destination [DB destination-db] [REPLACE]
void RespSession::cmd_copy(Call& c) {
  bool replace = false;
  for (std::size_t i = 3; i < c.argc(); ++i) {
    if (iequals(c.argv[i], "replace")) {
      replace = true;
    } else if (iequals(c.argv[i], "db") && i + 1 < c.argc()) {
      std::int64_t db = 0;
      if (!proto::resp::parse_i64(c.argv[i + 1], &db) || db < INT32_MIN || db > INT32_MAX) {
        c.w.error(kErrNotInteger);
        return;
      }
      if (db != 0) {
        c.w.error("ERR DB index is out of range");  // one database
        return;
      }
      ++i;
    } else {
      c.w.error(kErrSyntax);
      return;
    }
  }
  if (c.argv[1] == c.argv[2]) {
    c.w.error("ERR source and destination objects are the same");
    return;
  }
  const TwoKeyLock lock(c.ctx, c.argv[1], c.argv[2]);
  const store::ItemView it = c.ctx.get(c.argv[1]);
  if (!it) {
    c.ex.miss(Proto::kResp);
    c.w.integer(0);
    return;
  }
  c.ex.hit(Proto::kResp);
  store::SetRequest req;
  req.flags = it.flags();
  req.type = it.type();
  req.expires_at_ms = it.expires_at_ms();
  req.mode = replace ? store::SetMode::kSet : store::SetMode::kAdd;
  const store::SetResult r = c.ctx.set(c.argv[2], it.value(), req);
  if (r.status == Status::kNotStored) {
    c.w.integer(0);
  } else if (r.status != Status::kOk) {
    reply_store_error(c, r.status);
  } else {
    c.w.integer(1);
  }
}

// TOUCH key [key ...]: the keys that exist, each read (so marked as used, as a GET marks it,
// even for a NO-TOUCH client: execute() leaves TOUCH out of that mode, as Redis does).
void RespSession::cmd_touch(Call& c) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) n += c.ctx.get(c.argv[i]) ? 1 : 0;
  c.w.integer(n);
}

// --- OBJECT -----------------------------------------------------------------------------------

namespace {
constexpr std::string_view kErrNoLfu =
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.";
constexpr std::string_view kErrLfuSelected =
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching "
    "between policies at runtime LRU and LFU data will take some time to adjust.";

bool lfu(Call& c) { return c.ex.store().policy() == store::EvictionPolicy::kLfu; }

// OBJECT's lookups do not mark the item as used (Redis's LOOKUP_NOTOUCH).
store::ItemView object_lookup(Call& c) {
  const store::ItemView it = c.ctx.peek(store::make_key(c.argv[2]));
  if (!it) c.w.null();
  return it;
}

// IDLETIME under CLOCK: the store keeps no access time, only the reference bit the eviction hand
// clears as it passes. Set: the item was read since the hand last passed it, answered as 0.
// Clear: not read since then (nor since it was written, for a new item), answered as the seconds
// since the store started, the bound the store can vouch for.
std::int64_t idle_seconds(Call& c, const store::ItemView& it) {
  if (it.item()->load_access() != 0) return 0;
  return static_cast<std::int64_t>(c.ex.now_ms() / 1000);
}
}  // namespace

void RespSession::cmd_object_encoding(Call& c) {
  if (const store::ItemView it = object_lookup(c)) c.w.bulk(redis_encoding(it));
}

void RespSession::cmd_object_freq(Call& c) {
  const store::ItemView it = object_lookup(c);
  if (!it) return;
  if (!lfu(c)) {
    c.w.error(kErrNoLfu);
    return;
  }
  c.w.integer(it.item()->load_access());
}

void RespSession::cmd_object_idletime(Call& c) {
  const store::ItemView it = object_lookup(c);
  if (!it) return;
  if (lfu(c)) {
    c.w.error(kErrLfuSelected);
    return;
  }
  c.w.integer(idle_seconds(c, it));
}

// Items are not reference-counted: each is held once, by the table.
void RespSession::cmd_object_refcount(Call& c) {
  if (object_lookup(c)) c.w.integer(1);
}

// --- MEMORY -----------------------------------------------------------------------------------

namespace {
// What the item costs: its allocation (the allocator's usable size for its footprint, what the
// memory limit is charged) and its share of the table (one slot of a 64-byte, 10-slot bucket).
std::int64_t item_bytes(const store::ItemView& it) {
  const std::size_t fp = store::Item::footprint(it.key().size(), it.value().size(), it.flags());
  return static_cast<std::int64_t>(store::ItemMemory::usable_for(fp) +
                                   (sizeof(store::Bucket) + store::kSlotsPerBucket - 1) / store::kSlotsPerBucket);
}
}  // namespace

// MEMORY USAGE key [SAMPLES count]: SAMPLES is checked and ignored (a string has no elements).
void RespSession::cmd_memory_usage(Call& c) {
  for (std::size_t i = 3; i < c.argc(); ++i) {
    if (iequals(c.argv[i], "samples") && i + 1 < c.argc()) {
      std::int64_t n = 0;
      if (!proto::resp::parse_i64(c.argv[i + 1], &n)) {
        c.w.error(kErrNotInteger);
        return;
      }
      ++i;
    } else {
      c.w.error(kErrSyntax);
      return;
    }
  }
  const store::ItemView it = c.ctx.peek(store::make_key(c.argv[2]));
  if (!it) {
    c.w.null();
    return;
  }
  c.w.integer(item_bytes(it));
}

// DEBUG OBJECT key: Redis's line; serializedlength is the value's length (Redis's RDB length
// of a string is about that), lru the access byte.
void RespSession::cmd_debug_object(Call& c, std::string_view key) {
  const store::ItemView it = c.ctx.peek(store::make_key(key));
  if (!it) {
    c.w.error(kErrNoSuchKey);
    return;
  }
  char buf[256];
  const std::string_view enc = redis_encoding(it);
  const int n = std::snprintf(buf, sizeof(buf),
                              "Value at:%p refcount:1 encoding:%.*s serializedlength:%zu lru:%u lru_seconds_idle:%lld",
                              static_cast<const void*>(it.item()), static_cast<int>(enc.size()), enc.data(),
                              it.value().size(), static_cast<unsigned>(it.item()->load_access()),
                              lfu(c) ? 0LL : static_cast<long long>(idle_seconds(c, it)));
  c.w.simple({buf, static_cast<std::size_t>(n)});
}

}  // namespace ferrite::engine::resp
