// memcached's write semantics, in one place for every protocol that offers them: the memcached
// text and meta commands, memcached binary, and the Ferrite binary protocol (its INCR/DECR with
// an initial value). Each session parses its request and maps the result to its own words; what
// happens in the store is decided here, so the protocols cannot drift apart.
//
//   a failed set    memcached (proto_text.c, proto_bin.c) removes the key's old item when a set
//                   cannot be stored for its size or for memory, so that no stale value is served
//                   after a write the client was told failed. Which commands do this is the
//                   protocol's (`unlink` below): text `set` (not add/replace/cas/append/prepend),
//                   meta `ms` in set mode (and, refused from its line before the data, any mode,
//                   as memcached's mset), memcached binary SET/SETQ with or without a CAS (its
//                   check is on the opcode, before the CAS). A Ferrite binary SET does not: its
//                   protocol document makes no such promise.
//
//   incr/decr       the store's counter (store::Context::incr: decimal text, incr wraps at 2^64,
//   with create     decr stops at 0). With `create`, a missing key is created holding `initial`
//                   (the delta is not applied; the reply is `initial`), as memcached binary's
//                   incr with an expiration other than 0xffffffff and meta's `ma` with N do.
//
//   CAS arithmetic  with `check_cas` (memcached binary with a CAS, meta `ma` with C), the delta is
//                   applied only to the item of version `cas`: read, check, write back as a
//                   compare-and-swap, so a change in between is kExists, never lost.
//
// The one retry policy. memcached runs incr-or-create under the item's lock; here the miss and the
// create are two store calls, and another client may create the key between them (the create,
// an add, then answers kNotStored). The request is then run again from the start: in that order
// it came after the other's create, so it applies its delta to that value (with a CAS: the new
// item's version is one the client never saw, kExists). At most kCounterAttempts rounds (a key
// created and deleted again and again by others); after that, kNotStored (memcached's answer when
// its create is refused).
#pragma once

#include <cstdint>
#include <string_view>

#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::engine {

// Whether memcached's failed-set rule covers this store answer: too large, or no memory.
inline bool store_failed_for_room(store::Status s) noexcept {
  return s == store::Status::kTooLarge || s == store::Status::kNoMemory;
}

// A set that could not be stored (refused by the store or, before it, by the session for its
// size): removes the key's old item.
inline void unlink_after_failed_set(store::PartitionedContext& ctx, std::string_view key) noexcept {
  ctx.del(key);
}

// ctx.set, and when `unlink` (the command is one memcached unlinks for, see above) and the set
// failed for its size or for memory, the key's old item is removed.
store::SetResult memcache_set(store::PartitionedContext& ctx, std::string_view key, std::string_view value,
                              const store::SetRequest& req, bool unlink) noexcept;

inline constexpr int kCounterAttempts = 4;

struct CounterRequest {
  std::uint64_t delta = 0;
  bool decrement = false;
  bool check_cas = false;  // apply only to the item of version `cas` (0 matches no item)
  std::uint64_t cas = 0;
  bool create = false;  // a missing key is created holding `initial`
  std::uint64_t initial = 0;
  std::uint32_t flags = 0;          // the created item's client flags
  std::uint64_t expires_at_ms = 0;  // the created item's deadline (store clock; 0 = never)
};

struct CounterResult {
  // kOk; kNotFound (missing, no create); kExists (CAS mismatch); kNonNumeric; kWrongType; a
  // store failure (kNoMemory...); kNotStored (the create kept losing to others).
  store::Status status = store::Status::kOk;
  std::uint64_t value = 0;  // kOk: the counter now
  std::uint64_t cas = 0;    // kOk: its version
  bool created = false;     // kOk: the key was created holding `initial`
  // The status is the create's: storing `initial` failed (kNoMemory, ...), not the delta.
  bool create_failed = false;
  // kOk and known without another read (created, or written back by the CAS path): its deadline.
  bool deadline_known = false;
  std::uint64_t expires_at_ms = 0;
};

CounterResult memcache_counter(store::PartitionedContext& ctx, std::string_view key,
                               const CounterRequest& req) noexcept;

}  // namespace ferrite::engine
