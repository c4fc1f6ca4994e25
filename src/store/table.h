// The table: set-associative buckets of one cache line, two candidate buckets per key.
//
//   struct Bucket {                 // 64 bytes, one cache line
//     atomic<u32> version;          // seqlock: odd while a writer holds the bucket
//     atomic<u16> tag[10];          // 16 bits of the key's hash; 0 = empty slot
//     atomic<u32> ref[10];          // item address in the arena, in 8-byte units; 0 = empty
//   };
//
// A key hashes (xxh3-64) to a primary bucket b1 (from the low 48 bits), a tag (the top 16 bits)
// and an alternate bucket b2 = alt(b1, tag). alt() is an involution computed from the bucket and
// the tag alone (alt(alt(b, t), t) == b), so an entry can move to its other bucket without
// reading its key: partial-key cuckoo hashing, as in MemC3, for any bucket count.
//
// Inserts fill a key's primary bucket first and use the alternate only when it is full, so most
// hits read one bucket line. Readers take no lock: they read a bucket's version, match tags
// (one SSE2 compare), follow a matching ref and compare the full key, primary bucket first. A hit needs no re-check (items are immutable; the ref was the key's
// item when it was read); a miss re-reads both versions and retries if either changed, since a
// displacement may have moved the key between the two reads. Writers lock the version word(s):
// both buckets, lower index first, for anything that may insert; one bucket to remove a slot;
// a third bucket only with try_lock (displacement), so there is no lock-order cycle.
//
// Cost: 6.4 bytes per slot. The table is sized once, at start, from the memory limit (see
// docs/store.md): it never resizes, so readers never stall behind a rehash.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/compiler.h"

namespace ferrite::store {

inline constexpr unsigned kSlotsPerBucket = 10;

struct alignas(kCacheLine) Bucket {
  std::atomic<std::uint32_t> version;
  std::atomic<std::uint16_t> tag[kSlotsPerBucket];
  std::atomic<std::uint32_t> ref[kSlotsPerBucket];
};
static_assert(sizeof(Bucket) == kCacheLine, "a bucket is one cache line");
static_assert(std::atomic<std::uint32_t>::is_always_lock_free && std::atomic<std::uint16_t>::is_always_lock_free);

__extension__ typedef unsigned __int128 uint128_t;

struct Location {
  std::uint32_t b1;
  std::uint32_t b2;
  std::uint16_t tag;
};

class Table {
 public:
  explicit Table(std::size_t slots, int numa_node = -1);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  std::uint32_t buckets() const noexcept { return n_; }
  std::size_t slots() const noexcept { return std::size_t{n_} * kSlotsPerBucket; }
  std::size_t bytes() const noexcept { return std::size_t{n_} * sizeof(Bucket); }
  static std::size_t bytes_for(std::size_t slots) noexcept;

  Bucket& bucket(std::uint32_t i) const noexcept { return buckets_[i]; }

  Location locate(std::uint64_t hash) const noexcept {
    std::uint16_t tag = static_cast<std::uint16_t>(hash >> 48);
    if (tag == 0) tag = 1;
    const auto b1 = static_cast<std::uint32_t>(
        (static_cast<uint128_t>(hash & ((std::uint64_t{1} << 48) - 1)) * n_) >> 48);
    return {b1, alt(b1, tag), tag};
  }

  // The other bucket of an entry with `tag` that sits in bucket `b`.
  // No division on this path: F(tag) is a multiply-shift into [0, n), and the sum below is in
  // [0, 3n), so two conditional subtractions finish the modulo.
  std::uint32_t alt(std::uint32_t b, std::uint16_t tag) const noexcept {
    const std::uint64_t mixed = (std::uint64_t{tag} * 0x9E3779B97F4A7C15ull) >> 32;
    const std::uint64_t f = (mixed * n_) >> 32;
    std::uint64_t x = f + 2 * std::uint64_t{n_} - 1 - b;
    if (x >= 2 * std::uint64_t{n_}) x -= 2 * std::uint64_t{n_};
    if (x >= n_) x -= n_;
    return static_cast<std::uint32_t>(x);
  }

  static void lock(Bucket& b) noexcept {
    for (;;) {
      std::uint32_t v = b.version.load(std::memory_order_relaxed);
      if ((v & 1u) == 0 &&
          b.version.compare_exchange_weak(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        std::atomic_thread_fence(std::memory_order_release);  // seqlock: odd before the slot stores
        return;
      }
      cpu_relax();
    }
  }
  static bool try_lock(Bucket& b) noexcept {
    std::uint32_t v = b.version.load(std::memory_order_relaxed);
    if ((v & 1u) != 0 ||
        !b.version.compare_exchange_strong(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed)) {
      return false;
    }
    std::atomic_thread_fence(std::memory_order_release);
    return true;
  }
  static void unlock(Bucket& b) noexcept {
    b.version.store(b.version.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }
  void lock_pair(std::uint32_t a, std::uint32_t b) const noexcept {
    if (a == b) return lock(bucket(a));
    lock(bucket(a < b ? a : b));
    lock(bucket(a < b ? b : a));
  }
  void unlock_pair(std::uint32_t a, std::uint32_t b) const noexcept {
    unlock(bucket(a));
    if (a != b) unlock(bucket(b));
  }

 private:
  std::uint32_t n_;
  Bucket* buckets_;
};

}  // namespace ferrite::store
