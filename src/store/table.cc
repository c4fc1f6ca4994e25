#include "store/table.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

#include "core/compiler.h"
#include "store/memory.h"

namespace ferrite::store {

namespace {
constexpr std::size_t kMaxBuckets = std::size_t{1} << 30;  // the region's offsets are 32 bits
constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
constexpr std::size_t kPageBytes = 4096;
constexpr std::uint64_t kPageBuckets = kPageBytes / sizeof(Bucket);

std::size_t bucket_count(std::size_t slots) noexcept {
  return std::clamp<std::size_t>((slots + kSlotsPerBucket - 1) / kSlotsPerBucket, Table::kMinShardBuckets,
                                 kMaxBuckets);
}

struct Shape {
  std::uint32_t shards;
  std::uint32_t shard_max;
};

// As few shards as keep each at most kMaxShardBuckets, the buckets split evenly among them.
Shape shape_for(std::size_t max_slots) noexcept {
  const std::size_t buckets = bucket_count(max_slots);
  const std::size_t shards = (buckets + Table::kMaxShardBuckets - 1) / Table::kMaxShardBuckets;
  return {static_cast<std::uint32_t>(shards), static_cast<std::uint32_t>((buckets + shards - 1) / shards)};
}

// The next size of a shard: half as large again, at least 16 buckets more, at most `max`.
std::uint32_t next_size(std::uint32_t n, std::uint32_t max) noexcept {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(max, std::max<std::uint64_t>(n + n / 2, n + 16)));
}
}  // namespace

std::size_t Table::bytes_for_shape(std::uint32_t shards, std::uint32_t shard_max) noexcept {
  return std::size_t{shards} * (std::size_t{shard_max} * sizeof(Bucket) + sizeof(Count) + sizeof(std::uint64_t));
}

std::size_t Table::bytes_for(std::size_t max_slots) noexcept {
  const Shape s = shape_for(max_slots);
  return bytes_for_shape(s.shards, s.shard_max);
}

Table::Table(std::size_t max_slots, int numa_node) {
  const Shape s = shape_for(max_slots);
  shards_ = s.shards;
  shard_max_ = s.shard_max;
  // Every size a shard passes through, 16 to M buckets growing by half, adds up to under 3 M:
  // 4 M per shard never runs out. Whole chunks, and one more to align the start to a chunk.
  const std::size_t buckets = (std::size_t{4} * shards_ * shard_max_ + kChunkBuckets - 1) / kChunkBuckets * kChunkBuckets;
  region_bytes_ = buckets * sizeof(Bucket) + kChunkBytes;
  // Address space only: anonymous memory is zero (every slot empty, every version even), and a
  // chunk becomes resident (a huge page where the kernel has one) when it is first written.
  void* p = mmap(nullptr, region_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  map_ = p;
  auto* aligned = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(p) + kChunkBytes - 1) & ~(kChunkBytes - 1));
  madvise(aligned, buckets * sizeof(Bucket), MADV_HUGEPAGE);
  prefer_node(aligned, buckets * sizeof(Bucket), numa_node);
  region_ = reinterpret_cast<Bucket*>(aligned);
  region_buckets_ = buckets;
  chunk_dead_ = std::make_unique<std::uint32_t[]>(buckets / kChunkBuckets);
  chunk_freed_ = std::make_unique<std::uint16_t[]>(buckets / kChunkBuckets);
  // Room for every shard to have two arrays waiting at once (a shard grows again within a grace
  // period only on an oversubscribed machine); a full queue leaves an old array resident.
  std::uint64_t cells = 64;
  while (cells < std::uint64_t{shards_} * 2) cells *= 2;
  retire_ring_ = std::make_unique<RetireCell[]>(cells);
  for (std::uint64_t i = 0; i < cells; ++i) retire_ring_[i].seq.store(i, std::memory_order_relaxed);
  retire_mask_ = cells - 1;
  state_ = std::make_unique<std::atomic<std::uint64_t>[]>(shards_);
  count_ = std::make_unique<Count[]>(shards_);
  const std::uint32_t first = std::min(kMinShardBuckets, shard_max_);
  for (std::uint32_t i = 0; i < shards_; ++i) {
    std::uint64_t offset = 0;
    carve(first, &offset);  // cannot fail: the region has room for 4 M per shard
    state_[i].store(offset << 32 | std::uint64_t{first} << 3, std::memory_order_relaxed);
  }
  buckets_now_.store(std::size_t{shards_} * first, std::memory_order_relaxed);
}

Table::~Table() { munmap(map_, region_bytes_); }

std::size_t Table::resident_bytes() const noexcept {
  return held_bytes_.load(std::memory_order_relaxed) + std::size_t{shards_} * (sizeof(Count) + sizeof(std::uint64_t));
}

bool Table::carve(std::uint32_t buckets, std::uint64_t* offset) noexcept {
  std::uint64_t at = carved_.load(std::memory_order_relaxed);
  do {
    if (at + buckets > region_buckets_) return false;
  } while (!carved_.compare_exchange_weak(at, at + buckets, std::memory_order_relaxed));
  *offset = at;
  const std::uint64_t chunks_before = (at + kChunkBuckets - 1) / kChunkBuckets;
  const std::uint64_t chunks_after = (at + buckets + kChunkBuckets - 1) / kChunkBuckets;
  held_bytes_.fetch_add((chunks_after - chunks_before) * kChunkBytes, std::memory_order_relaxed);
  return true;
}

void Table::release(std::uint64_t offset, std::uint32_t buckets) noexcept {
  for (std::uint64_t at = offset, end = offset + buckets; at < end;) {
    const std::uint64_t chunk = at / kChunkBuckets;
    const std::uint64_t upto = std::min(end, (chunk + 1) * kChunkBuckets);
    const auto n = static_cast<std::uint32_t>(upto - at);
    if ((chunk_dead_[chunk] += n) == kChunkBuckets) {
      // Arrays are cut one after another with no gap and never twice, so a chunk whose every
      // bucket belongs to a dead array is empty for good: back to the kernel. (A failed madvise
      // only leaves the memory resident.)
      madvise(region_ + chunk * kChunkBuckets, kChunkBytes, MADV_DONTNEED);
      held_bytes_.fetch_sub(kChunkBytes - std::size_t{chunk_freed_[chunk]} * kPageBytes, std::memory_order_relaxed);
      chunk_freed_[chunk] = 0;
    } else {
      // The chunk still holds live arrays (shards grow in no particular order, so a chunk of
      // one round's arrays empties only at the end of the next round): give back the 4 KiB
      // pages that lie wholly inside this dead array. The kernel splits the chunk's huge page
      // to do so, which costs the arrays still live in it their huge-page TLB entries; most of
      // them are of the same round and die before the next round ends.
      const std::uint64_t first = (at + kPageBuckets - 1) / kPageBuckets * kPageBuckets;
      const std::uint64_t last = upto / kPageBuckets * kPageBuckets;
      if (last > first && madvise(region_ + first, (last - first) * sizeof(Bucket), MADV_DONTNEED) == 0) {
        const auto pages = static_cast<std::uint16_t>((last - first) / kPageBuckets);
        chunk_freed_[chunk] = static_cast<std::uint16_t>(chunk_freed_[chunk] + pages);
        held_bytes_.fetch_sub(std::size_t{pages} * kPageBytes, std::memory_order_relaxed);
      }
    }
    at = upto;
  }
}

bool Table::push_retired(std::uint64_t offset, std::uint32_t buckets, std::uint64_t tag) noexcept {
  std::uint64_t pos = retire_tail_.load(std::memory_order_relaxed);
  RetireCell* cell = nullptr;
  for (;;) {
    cell = &retire_ring_[pos & retire_mask_];
    const std::uint64_t seq = cell->seq.load(std::memory_order_acquire);
    const auto diff = static_cast<std::int64_t>(seq - pos);
    if (diff == 0) {
      if (retire_tail_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) break;
    } else if (diff < 0) {
      return false;  // full
    } else {
      pos = retire_tail_.load(std::memory_order_relaxed);
    }
  }
  cell->offset = offset;
  cell->buckets = buckets;
  cell->tag = tag;
  cell->seq.store(pos + 1, std::memory_order_release);
  return true;
}

std::uint32_t Table::grow(std::uint32_t shard, const Items& items, Qsbr& qsbr, bool full) noexcept {
  Count& count = count_[shard];
  const std::uint64_t st = state_[shard].load(std::memory_order_acquire);
  const std::uint32_t n = size_of(st);
  if (n >= shard_max_ ||
      (!full && std::uint64_t{count.n.load(std::memory_order_relaxed)} * 100 <=
                    std::uint64_t{n} * kSlotsPerBucket * kGrowAtPercent)) {
    return 0;
  }
  std::uint32_t idle = 0;
  if (!count.growing.compare_exchange_strong(idle, 1, std::memory_order_acquire)) return 0;
  const std::uint32_t m = next_size(n, shard_max_);
  std::uint64_t to = 0;
  bool carved = false;
  if (state_[shard].load(std::memory_order_acquire) == st) carved = carve(m, &to);
  if (!carved) {  // grown meanwhile, or (never, by its size) the region is used up
    count.growing.store(0, std::memory_order_release);
    return 0;
  }

  // Freeze the old array: every bucket locked, in ascending order like every writer.
  Bucket* old = array(st);
  const Location whole{old, st, shard, 0, 0, 0};
  for (std::uint32_t b = 0; b < n; ++b) lock(whole, old[b]);
  state_[shard].store(st | kFrozen, std::memory_order_release);

  const std::uint64_t next_st = to << 32 | std::uint64_t{m} << 3;
  Bucket* fresh = region_ + to;  // zero: never handed out before
  std::uint32_t linked = 0;
  auto free_slot = [](const Bucket& b) -> int {
    for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
      if (b.ref[s].load(std::memory_order_relaxed) == 0) return static_cast<int>(s);
    }
    return -1;
  };
  auto put = [](Bucket& b, unsigned s, std::uint16_t tag, std::uint32_t ref) {
    b.tag[s].store(tag, std::memory_order_relaxed);
    b.ref[s].store(ref, std::memory_order_relaxed);
  };
  for (std::uint32_t b = 0; b < n; ++b) {
    if (b + 2 < n) {  // the items two buckets on: their keys are read to rehash them
      for (auto& r : old[b + 2].ref) {
        const std::uint32_t ref = r.load(std::memory_order_relaxed);
        if (ref != 0) prefetch_read(items.address(items.arg, ref));
      }
    }
    for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
      const std::uint32_t ref = old[b].ref[s].load(std::memory_order_relaxed);
      if (ref == 0) continue;
      const std::uint64_t hash = items.hash(items.arg, ref);
      const std::uint64_t x = std::uint64_t{place_bits(hash)} * shards_;
      const std::uint16_t tag = tag_of(hash);
      const auto b1 = static_cast<std::uint32_t>((std::uint64_t{static_cast<std::uint32_t>(x)} * m) >> 32);
      const std::uint32_t b2 = alt(m, b1, tag);
      int k = free_slot(fresh[b1]);
      if (k >= 0) {
        put(fresh[b1], static_cast<unsigned>(k), tag, ref);
        ++linked;
        continue;
      }
      k = free_slot(fresh[b2]);
      if (k >= 0) {
        put(fresh[b2], static_cast<unsigned>(k), tag, ref);
        ++linked;
        continue;
      }
      // Both full (rare at under 60% load): move one entry of either bucket to its other one.
      bool placed = false;
      for (const std::uint32_t bi : {b1, b2}) {
        for (unsigned j = 0; j < kSlotsPerBucket && !placed; ++j) {
          const std::uint16_t tg = fresh[bi].tag[j].load(std::memory_order_relaxed);
          const std::uint32_t other = alt(m, bi, tg);
          const int e = free_slot(fresh[other]);
          if (other == bi || e < 0) continue;
          put(fresh[other], static_cast<unsigned>(e), tg, fresh[bi].ref[j].load(std::memory_order_relaxed));
          put(fresh[bi], j, tag, ref);
          placed = true;
        }
        if (placed) break;
      }
      if (placed) {
        ++linked;
      } else {
        items.drop(items.arg, ref);
      }
    }
  }
  count.n.store(linked, std::memory_order_relaxed);
  // Publish: the release orders every store above before the new state.
  state_[shard].store(next_st, std::memory_order_release);
  buckets_now_.fetch_add(m - n, std::memory_order_relaxed);
  retired_buckets_.fetch_add(n, std::memory_order_relaxed);

  // Retire the old array: readers that may hold it finish within a grace period. (Should the
  // queue be full, its memory stays resident.)
  push_retired(st >> 32, n, qsbr.advance());
  count.growing.store(0, std::memory_order_release);
  return n;
}

void Table::release_due(const Qsbr& qsbr) noexcept {
  std::unique_lock lock(release_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;
  const std::uint64_t safe = qsbr.safe_below();
  // In queue order; a grower that took its tag before another pushed after it, so a younger
  // array may wait behind an older one for a moment: never the other way round.
  for (;;) {
    RetireCell& cell = retire_ring_[retire_head_ & retire_mask_];
    if (cell.seq.load(std::memory_order_acquire) != retire_head_ + 1 || cell.tag >= safe) break;
    release(cell.offset, cell.buckets);
    retired_buckets_.fetch_sub(cell.buckets, std::memory_order_relaxed);
    cell.seq.store(retire_head_ + retire_mask_ + 1, std::memory_order_release);
    ++retire_head_;
  }
  retire_head_seen_.store(retire_head_, std::memory_order_relaxed);
}

}  // namespace ferrite::store
