// What the store's source files share and nothing else sees: the store's internal constants, the
// state every context shares (Store::Shared), and the lookup helpers every part of a context
// calls on its fast paths (inline here, so that a write in store_writes.cc inlines them as a
// read in store.cc does). The store's code is one class in four files, along its seams:
//   store.cc         the Store, a context's set-up, lookups, unlinking and reclamation
//   store_memory.cc  memory and eviction: the hand, relief, segments between contexts, allocation
//   store_writes.cc  writes, arithmetic, deletes, touches, flushes
//   store_loop.cc    expiry, the post-flush sweep, table growth and tick()
#pragma once

#include "store/store.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/clock.h"
#include "core/hash.h"
#include "core/qsbr.h"
#include "store/memory.h"
#include "store/wheel.h"

namespace ferrite::store {

inline constexpr std::uint64_t kUntagged = std::numeric_limits<std::uint64_t>::max();
inline constexpr unsigned kMaxContexts = 64;
inline constexpr std::uint8_t kLfuInit = 0;  // on probation: evicted at the hand's first pass unless hit
inline constexpr std::size_t kBatchStep = 16;
inline constexpr std::size_t kSweepBucketsPerTick = 64;
inline constexpr std::size_t kHeadroomBucketsPerTick = 32;
inline constexpr std::size_t kLargeDemand = std::size_t{64} << 10;  // allocations that need whole pages
inline constexpr unsigned kFragmentedTicks = 16;
inline constexpr unsigned kFragCheckEvery = 32;         // ticks between fragmentation checks
inline constexpr std::size_t kFragSlackDivisor = 32;    // touched-but-free memory allowed: ~3% of a share
inline constexpr std::size_t kGiveBackBlocksPerTick = 4096;  // items a give_back() evicts per tick at most
// Blocks one relieve() call looks at, at most: 8 windows of 100-byte items are 300k items, and
// moving or evicting them all in one tick stalled the worker's clients for half a second; 32k
// items are a few milliseconds, and enough for a 1 MiB hole among 128-byte items. The windows
// left are chosen again (still the sparsest) at the next call.
inline constexpr std::size_t kReliefBlocksPerCall = 32768;
inline constexpr unsigned kGiveBackCollectTicks = 64;        // forced collects after a segment was emptied
inline constexpr unsigned kOwnRoomEvery = 8;                 // ticks between counts of a heap's own room
inline constexpr std::size_t kCensusPagesPerStep = 1024;      // pages a census walk covers per step of census_scale_
inline constexpr unsigned kCensusScaleMax = 64;
// What a segment holds for items: 32 MiB less its header slice.
inline constexpr std::size_t kSegmentUsable = (std::size_t{1} << ItemMemory::kSegmentShift) - (std::size_t{64} << 10);
inline constexpr std::uint64_t kNoSegment = ~std::uint64_t{0};
inline constexpr unsigned kArenaWaitSpins = 20000;           // ~1 ms of pause instructions at most

// State every context shares. Read-mostly fields sit apart from the ones written often.
struct Store::Shared {
  explicit Shared(unsigned max_contexts) : qsbr(max_contexts) {}

  Qsbr qsbr;
  std::uint64_t epoch_mono_ms = 0;
  std::uint64_t epoch_unix_ms = 0;

  // Read on every access; written only by flushes.
  alignas(kCacheLine) std::atomic<std::uint64_t> flush_cutoff{0};  // versions <= this are flushed
  std::atomic<std::uint64_t> flush_at{0};                         // pending delayed flush, 0 = none

  alignas(kCacheLine) std::atomic<std::uint64_t> hand{0};         // CLOCK hand, in buckets
  alignas(kCacheLine) std::atomic<std::uint64_t> sweep_next{~std::uint64_t{0}};  // post-flush sweep
  // Contexts inside sweep_some(): the sweep is done once the cursor is past the end and none is
  // still at a run it claimed (the counts of what it removes are not all in before then).
  std::atomic<std::uint32_t> sweepers{0};

  // The last version each context id issued: flush cutoffs, and a re-attached id resumes here.
  struct alignas(kCacheLine) LastVersion {
    std::atomic<std::uint64_t> v{0};
  };
  LastVersion last_version[kMaxContexts];

  // Contexts whose heap and the arena had no room for an allocation (bit = context id), and how
  // many arena segments each context's heap holds (published at its censuses): give_back().
  alignas(kCacheLine) std::atomic<std::uint64_t> short_mask{0};
  std::atomic<unsigned> arena_waiter{0};  // id + 1 of the context in alloc_after_grace, 0 = none
  std::atomic<std::uint32_t> segments_held[kMaxContexts] = {};
  std::atomic<std::uint32_t> short_epoch[kMaxContexts] = {};  // bumped each time a context turns short

  std::atomic<unsigned> attached{0};
  std::mutex mu;  // attach/detach, stats, orphans: never on a request path
  Context* contexts[kMaxContexts] = {};
  StoreStats detached;
  std::vector<RetiredItem> orphans;  // left by detached contexts, freed by any other
  std::atomic<bool> has_orphans{false};
};

FERRITE_ALWAYS_INLINE bool key_equals(const Item* it, std::string_view key) noexcept {
  const std::size_t n = key.size();
  if (it->key_len() != n) return false;
  const char* a = it->key_data();
  if (n >= 8 && n <= 16) {  // the common key: two overlapping 8-byte words, no call
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, key.data(), 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, key.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return std::memcmp(a, key.data(), n) == 0;
}

// Slots whose tag equals `tag`, as a mask with bit 2*s set for slot s. Readers race with writers
// by design (the seqlock and the key comparison make that safe), so the fast path reads the ten
// tags with one SSE2 compare; sanitizer builds take the atomic loads, which TSan can check.
FERRITE_ALWAYS_INLINE std::uint32_t match_tags(const Bucket& b, std::uint16_t tag) noexcept {
#if defined(__SSE2__) && !defined(FERRITE_SANITIZE)
  const __m128i needle = _mm_set1_epi16(static_cast<short>(tag));
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&b.tag[0]));
  std::uint32_t m = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi16(lo, needle))) & 0x5555u;
  std::uint32_t hi;
  std::memcpy(&hi, reinterpret_cast<const char*>(&b.tag[8]), 4);
  m |= static_cast<std::uint32_t>((hi & 0xFFFFu) == tag) << 16;
  m |= static_cast<std::uint32_t>((hi >> 16) == tag) << 18;
  return m;
#else
  std::uint32_t m = 0;
  for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
    m |= static_cast<std::uint32_t>(b.tag[s].load(std::memory_order_relaxed) == tag) << (2 * s);
  }
  return m;
#endif
}

FERRITE_ALWAYS_INLINE Context::Found Context::find_in(const KeyRef& key, const Location& loc,
                                                     std::uint32_t bi) const noexcept {
  Bucket& b = loc.base[bi];
  for (std::uint32_t m = match_tags(b, loc.tag); m != 0; m &= m - 1) {
    const unsigned s = static_cast<unsigned>(__builtin_ctz(m)) >> 1;
    const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
    if (ref == 0) continue;
    Item* it = memory_.item_at(ref);
    if (key_equals(it, key.key)) return {it, &b, s, loc.shard, loc.state};
  }
  return {};
}

FERRITE_ALWAYS_INLINE Context::Found Context::find_locked(const KeyRef& key, const Location& loc) const noexcept {
  Found f = find_in(key, loc, loc.b1);
  if (f.item == nullptr && loc.b2 != loc.b1) f = find_in(key, loc, loc.b2);
  return f;
}

FERRITE_ALWAYS_INLINE Context::Liveness Context::liveness(const Item* it) const noexcept {
  const std::uint32_t e = it->load_expiry();
  if (e != 0 && now_ms_ >= decode_expiry(e)) return Liveness::kExpired;
  if (it->version() <= store_.shared_->flush_cutoff.load(std::memory_order_relaxed)) return Liveness::kFlushed;
  return Liveness::kAlive;
}

FERRITE_ALWAYS_INLINE void Context::note_hit(Item* it) noexcept {
  const std::uint8_t a = it->load_access();
  if (store_.policy() == EvictionPolicy::kClock) {
    if (a == 0) it->store_access(1);
    return;
  }
  // Redis's logarithmic counter: the higher it is, the less likely a hit raises it.
  if (a == 255) return;
  const double base = a > kLfuInit ? a - kLfuInit : 0;
  if (rng_.next_double() * (base * config_.lfu_log_factor + 1) < 1.0) it->store_access(static_cast<std::uint8_t>(a + 1));
}

}  // namespace ferrite::store
