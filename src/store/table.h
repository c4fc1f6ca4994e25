// The table: set-associative buckets of one cache line, two candidate buckets per key, in shards
// that grow with the number of items.
//
//   struct Bucket {                 // 64 bytes, one cache line
//     atomic<u32> version;          // seqlock: odd while a writer holds the bucket
//     atomic<u16> tag[10];          // 16 bits of the key's hash; 0 = empty slot
//     atomic<u32> ref[10];          // item address in the arena, in 8-byte units; 0 = empty
//   };
//
// A key's xxh3-64 hash gives its shard and its place in the shard (bits 16..47, multiply-shift),
// and a tag (bits 48..63). In a shard of n buckets the key has a primary bucket b1 and an
// alternate b2 = alt(b1, tag). alt() is an involution computed from the bucket and the tag
// alone (alt(alt(b, t), t) == b), so an entry can move to its other bucket without reading its
// key: partial-key cuckoo hashing, as in MemC3, for any bucket count.
//
// Inserts fill a key's primary bucket first and use the alternate only when it is full, so most
// hits read one bucket line. Readers take no lock: they read a bucket's version, match tags
// (one SSE2 compare), follow a matching ref and compare the full key, primary bucket first. A
// hit needs no re-check (items are immutable; the ref was the key's item when it was read); a
// miss re-reads both versions and retries if either changed, since a displacement may have
// moved the key between the two reads. Writers lock the version word(s): both buckets, lower
// index first, for anything that may insert; one bucket to remove a slot; a third bucket only
// with try_lock (displacement), so there is no lock-order cycle.
//
// Growth. The table is S shards of at most M buckets each (S * M covers the slots the memory
// limit allows). A shard starts at 16 buckets and grows by half when more than 85% of its slots
// are taken (or a new key finds both its buckets full), up to M: resident memory follows the
// item count, not the limit. To grow a shard, one thread (the shard's `growing` flag) locks
// every bucket of its array (ascending, like every writer), marks the shard frozen, rehashes the
// entries into a new array of the larger size and publishes it with the shard's state word. The
// old array is never unlocked:
//   - a writer spinning on one of its buckets sees the state change and starts over with the
//     new array (lock() returns false);
//   - a reader may finish on the old array: its contents are those of the moment it froze, a
//     miss there is trusted when the shard's state says "frozen" (the versions are odd but no
//     writer holds them), and a hit is as good as it was at that moment.
// The old array's memory goes back to the kernel after a grace period (QSBR), when no reader
// can hold it.
//
// Memory. Arrays are cut, in the order shards grow, from one region of address space with
// transparent huge pages (a table lookup then rarely misses the TLB); the region never hands
// out the same bytes twice (4x the capacity covers every size a shard passes through). A 2 MiB
// chunk of it goes back to the kernel once no array in it is live any more: shards grow at
// about the same rate, so the arrays of one round of growth leave their chunks together.
//
// Cost: 6.4 bytes per slot, at 57% to 85% load while the table grows (7.5 to 11 bytes per
// item); the whole table (S * M buckets) is charged to the memory limit at start, so growing
// never needs memory the limit did not already set aside.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "core/compiler.h"
#include "core/qsbr.h"

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

// Where a key is (or goes), in the shard's array current when it was located.
struct Location {
  Bucket* base;         // the shard's array
  std::uint64_t state;  // the shard's state word it was located in (see Table)
  std::uint32_t shard;
  std::uint32_t b1;     // indices into base
  std::uint32_t b2;
  std::uint16_t tag;

  Bucket& primary() const noexcept { return base[b1]; }
  Bucket& alternate() const noexcept { return base[b2]; }
};

class Table {
 public:
  // Room for at least `max_slots` slots once fully grown.
  explicit Table(std::size_t max_slots, int numa_node = -1);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // What the table may grow to, and what the memory limit is charged for it.
  std::size_t max_slots() const noexcept { return std::size_t{shards_} * shard_max_ * kSlotsPerBucket; }
  std::size_t bytes() const noexcept { return bytes_for_shape(shards_, shard_max_); }
  static std::size_t bytes_for(std::size_t max_slots) noexcept;
  // Now: buckets in the shards' current arrays, and the memory the table holds from the kernel
  // (the 2 MiB chunks arrays were cut from, less the chunks and pages given back: live arrays,
  // old ones waiting for their grace period, and the pieces of dead ones that share a chunk or
  // a page with a live one).
  std::size_t buckets() const noexcept { return buckets_now_.load(std::memory_order_relaxed); }
  std::size_t slots() const noexcept { return buckets() * kSlotsPerBucket; }
  std::size_t resident_bytes() const noexcept;
  std::uint32_t shards() const noexcept { return shards_; }
  std::uint32_t shard_max() const noexcept { return shard_max_; }

  // The hash bits a location depends on besides the tag (a timing-wheel handle keeps them).
  static std::uint32_t place_bits(std::uint64_t hash) noexcept { return static_cast<std::uint32_t>(hash >> 16); }
  static std::uint16_t tag_of(std::uint64_t hash) noexcept {
    const auto tag = static_cast<std::uint16_t>(hash >> 48);
    return tag == 0 ? 1 : tag;
  }

  Location locate(std::uint64_t hash) const noexcept { return locate_bits(place_bits(hash), tag_of(hash)); }
  Location locate_bits(std::uint32_t place, std::uint16_t tag) const noexcept {
    const std::uint64_t x = std::uint64_t{place} * shards_;
    const auto shard = static_cast<std::uint32_t>(x >> 32);
    const std::uint64_t st = state_[shard].load(std::memory_order_acquire);
    const auto n = size_of(st);
    const auto b1 = static_cast<std::uint32_t>((std::uint64_t{static_cast<std::uint32_t>(x)} * n) >> 32);
    return {array(st), st, shard, b1, alt(n, b1, tag), tag};
  }

  // The other bucket of an entry with `tag` that sits in bucket `b` of an array of n buckets.
  // No division on this path: F(tag) is a multiply-shift into [0, n), and the sum below is in
  // [0, 3n), so two conditional subtractions finish the modulo.
  static std::uint32_t alt(std::uint32_t n, std::uint32_t b, std::uint16_t tag) noexcept {
    const std::uint64_t mixed = (std::uint64_t{tag} * 0x9E3779B97F4A7C15ull) >> 32;
    const std::uint64_t f = (mixed * n) >> 32;
    std::uint64_t x = f + 2 * std::uint64_t{n} - 1 - b;
    if (x >= 2 * std::uint64_t{n}) x -= 2 * std::uint64_t{n};
    if (x >= n) x -= n;
    return static_cast<std::uint32_t>(x);
  }
  static std::uint32_t size_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state >> 3) & ((1u << 29) - 1);
  }

  // A miss read from `loc` with these (unchanged) versions may be trusted: both were even, or
  // the shard froze the array (its grower holds every bucket, so nothing in it changes).
  bool stable(const Location& loc, std::uint32_t v1, std::uint32_t v2) const noexcept {
    return ((v1 | v2) & 1u) == 0 || state_[loc.shard].load(std::memory_order_acquire) == (loc.state | kFrozen);
  }
  // The shard's array changed since `loc` was located.
  bool moved(const Location& loc) const noexcept {
    return state_[loc.shard].load(std::memory_order_acquire) != loc.state;
  }

  // Locks one bucket of loc's array; false (nothing locked) when the shard moved to a new array
  // meanwhile: locate again.
  bool lock(const Location& loc, Bucket& b) const noexcept { return lock(loc.shard, loc.state, b); }
  // The same for a bucket of the array the shard had in `state`.
  // Spins while another thread holds the bucket, then yields the CPU (spin_wait, core/compiler.h).
  bool lock(std::uint32_t shard, std::uint64_t state, Bucket& b) const noexcept {
    for (unsigned round = 0;; ++round) {
      std::uint32_t v = b.version.load(std::memory_order_relaxed);
      if ((v & 1u) == 0 &&
          b.version.compare_exchange_weak(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        std::atomic_thread_fence(std::memory_order_release);  // seqlock: odd before the slot stores
        return true;
      }
      if ((v & 1u) != 0 && state_[shard].load(std::memory_order_acquire) != state) return false;
      spin_wait(round);
    }
  }
  // lock() that gives up (kBusy, nothing locked) after `max_spins` pauses on a bucket another
  // thread holds, instead of yielding: for a caller that holds other buckets and would rather
  // let them go while it waits (a transaction, PartitionedContext::lock_keys).
  enum class Lock : std::uint8_t { kLocked, kMoved, kBusy };
  Lock lock_bounded(std::uint32_t shard, std::uint64_t state, Bucket& b, unsigned max_spins) const noexcept {
    for (unsigned spins = 0;; ++spins) {
      std::uint32_t v = b.version.load(std::memory_order_relaxed);
      if ((v & 1u) == 0 &&
          b.version.compare_exchange_weak(v, v + 1, std::memory_order_acquire, std::memory_order_relaxed)) {
        std::atomic_thread_fence(std::memory_order_release);
        return Lock::kLocked;
      }
      if ((v & 1u) != 0 && state_[shard].load(std::memory_order_acquire) != state) return Lock::kMoved;
      if (spins >= max_spins) return Lock::kBusy;
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
  // Both of loc's buckets, lower index first; false (nothing locked) when the shard moved.
  bool lock_pair(const Location& loc) const noexcept {
    if (loc.b1 == loc.b2) return lock(loc, loc.primary());
    Bucket& lo = loc.base[loc.b1 < loc.b2 ? loc.b1 : loc.b2];
    Bucket& hi = loc.base[loc.b1 < loc.b2 ? loc.b2 : loc.b1];
    if (!lock(loc, lo)) return false;
    if (lock(loc, hi)) return true;
    unlock(lo);
    return false;
  }
  static void unlock_pair(const Location& loc) noexcept {
    unlock(loc.primary());
    if (loc.b1 != loc.b2) unlock(loc.alternate());
  }

  // Occupancy, counted by writers under the bucket lock. note_insert() is true when the shard
  // has passed the load at which it should grow (and can).
  bool note_insert(std::uint32_t shard) noexcept {
    const std::uint32_t c = count_[shard].n.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::uint32_t n = size_of(state_[shard].load(std::memory_order_relaxed));
    return n < shard_max_ && std::uint64_t{c} * 100 > std::uint64_t{n} * kSlotsPerBucket * kGrowAtPercent;
  }
  void note_remove(std::uint32_t shard) noexcept { count_[shard].n.fetch_sub(1, std::memory_order_relaxed); }

  // Grows one shard (see above). The table asks `items` for what it cannot know: an entry's
  // hash (its item's key's), where the item is (to prefetch it), and it tells `items` of an
  // entry the new array had no room for (no longer linked). The old array is retired with a tag
  // from `qsbr`; release_due() gives its memory back once the grace period has passed. Returns
  // the old array's size, or 0 when the shard does not need to grow, cannot, or another thread
  // is growing it.
  struct Items {
    void* arg;
    const void* (*address)(void* arg, std::uint32_t ref) noexcept;
    std::uint64_t (*hash)(void* arg, std::uint32_t ref) noexcept;
    void (*drop)(void* arg, std::uint32_t ref) noexcept;
  };
  // `full`: grow even under the load (a key found both its buckets full).
  std::uint32_t grow(std::uint32_t shard, const Items& items, Qsbr& qsbr, bool full = false) noexcept;
  bool can_grow(std::uint32_t shard) const noexcept {
    return size_of(state_[shard].load(std::memory_order_relaxed)) < shard_max_;
  }
  // Waits while another thread grows the shard; false at once when none does.
  bool await_growth(std::uint32_t shard) const noexcept {
    if (count_[shard].growing.load(std::memory_order_acquire) == 0) return false;
    while (count_[shard].growing.load(std::memory_order_acquire) != 0) cpu_relax();
    return true;
  }
  bool has_retired() const noexcept {
    return retire_tail_.load(std::memory_order_acquire) != retire_head_seen_.load(std::memory_order_relaxed);
  }
  // Gives back the memory of old arrays past their grace period (a syscall; at a quiescent point).
  void release_due(const Qsbr& qsbr) noexcept;

  // Positions: every bucket the table may ever have, shard by shard (shard * M + index), for
  // the eviction hand, the sweeps and scans. A position past its shard's current size is no
  // bucket: at() then returns false and the first position of the next shard in *next.
  std::uint64_t positions() const noexcept { return std::uint64_t{shards_} * shard_max_; }
  bool at(std::uint64_t pos, Location* loc, std::uint64_t* next) const noexcept {
    const auto shard = static_cast<std::uint32_t>(pos / shard_max_);
    const auto i = static_cast<std::uint32_t>(pos % shard_max_);
    const std::uint64_t st = state_[shard].load(std::memory_order_acquire);
    if (i >= size_of(st)) {
      *next = std::uint64_t{shard + 1} * shard_max_;
      return false;
    }
    *loc = {array(st), st, shard, i, i, 0};
    return true;
  }

  // SCAN: appends to *out every ref linked in the shard at one instant during the call (a
  // consistent copy: an entry moving between its two buckets, or the shard growing meanwhile,
  // is neither lost nor doubled). Optimistic first (each bucket's version before and after the
  // refs are read), then, after kSnapshotTries failures, with every bucket of the shard's array
  // locked in ascending order as a grower does. A frozen array is read as it is (its grower holds
  // every bucket). The caller must be inside a grace period (an old array stays mapped). `held`:
  // the buckets a transaction of the caller holds, sorted by address (nullptr outside one).
  void snapshot_shard(std::uint32_t shard, std::vector<std::uint32_t>* out,
                      const std::vector<const Bucket*>* held = nullptr) const;
  static constexpr unsigned kSnapshotTries = 4;

  // Every linked ref of the current arrays (for the store's destructor: no concurrency).
  template <typename Fn>
  void for_each_ref(Fn&& fn) const {
    for (std::uint32_t s = 0; s < shards_; ++s) {
      const std::uint64_t st = state_[s].load(std::memory_order_relaxed);
      Bucket* base = array(st);
      for (std::uint32_t b = 0; b < size_of(st); ++b) {
        for (auto& r : base[b].ref) {
          const std::uint32_t ref = r.load(std::memory_order_relaxed);
          if (ref != 0) fn(ref);
        }
      }
    }
  }

  static constexpr std::uint32_t kMinShardBuckets = 16;
  static constexpr std::uint32_t kMaxShardBuckets = 2048;  // 128 KiB: one growth step is short
  static constexpr unsigned kGrowAtPercent = 85;

 private:
  // state: the array's offset in the region (in buckets) << 32 | n << 3 | frozen << 2. Offsets
  // only grow, so a state word never repeats.
  static constexpr std::uint64_t kFrozen = 4;
  static constexpr std::size_t kChunkBuckets = (std::size_t{2} << 20) / sizeof(Bucket);
  struct alignas(kCacheLine) Count {
    std::atomic<std::uint32_t> n{0};
    std::atomic<std::uint32_t> growing{0};
  };
  // An old array waiting for its grace period, in a bounded queue: growers (any thread) push
  // without a lock; release_due(), one thread at a time, takes from the front those whose grace
  // period is over (Vyukov's bounded queue: a cell's sequence says whose turn it is). Cells are
  // not padded to a line each: pushes are as rare as growths, and 2 per shard stay small.
  struct RetireCell {
    std::atomic<std::uint64_t> seq{0};
    std::uint64_t offset = 0;  // in buckets
    std::uint32_t buckets = 0;
    std::uint64_t tag = 0;
  };

  static std::size_t bytes_for_shape(std::uint32_t shards, std::uint32_t shard_max) noexcept;
  Bucket* array(std::uint64_t state) const noexcept { return region_ + (state >> 32); }
  // Takes `buckets` from the region, lock-free (false: it is used up).
  bool carve(std::uint32_t buckets, std::uint64_t* offset) noexcept;
  // Gives a dead array's memory back: its whole chunks, or else its whole pages; release_mu_ held.
  void release(std::uint64_t offset, std::uint32_t buckets) noexcept;
  // Queues an old array for release_due(); false when the queue is full.
  bool push_retired(std::uint64_t offset, std::uint32_t buckets, std::uint64_t tag) noexcept;

  std::uint32_t shards_;
  std::uint32_t shard_max_;
  void* map_;                // the mapping; region_ is its first 2 MiB boundary
  std::size_t region_bytes_;
  Bucket* region_;          // 4 * shards_ * shard_max_ buckets (rounded up to chunks) of address space
  std::size_t region_buckets_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> state_;
  std::unique_ptr<Count[]> count_;
  std::atomic<std::size_t> buckets_now_{0};
  std::atomic<std::size_t> retired_buckets_{0};
  alignas(kCacheLine) std::atomic<std::uint64_t> carved_{0};  // buckets of the region handed out so far
  std::atomic<std::size_t> held_bytes_{0};  // chunks carved from, less what went back
  // The retire queue: growers push at the tail; release_due() takes from the head.
  std::unique_ptr<RetireCell[]> retire_ring_;
  std::uint64_t retire_mask_ = 0;
  alignas(kCacheLine) std::atomic<std::uint64_t> retire_tail_{0};
  std::atomic<std::uint64_t> retire_head_seen_{0};  // retire_head_, for has_retired()
  // Releasing (only ever try-locked: a worker that finds it taken leaves the work to the holder).
  std::mutex release_mu_;
  std::uint64_t retire_head_ = 0;                 // release_mu_
  std::unique_ptr<std::uint32_t[]> chunk_dead_;   // release_mu_: dead buckets per 2 MiB chunk
  std::unique_ptr<std::uint16_t[]> chunk_freed_;  // release_mu_: 4 KiB pages of a chunk given back one by one
};

}  // namespace ferrite::store
