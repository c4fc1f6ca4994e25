// Item memory: a mimalloc arena of the store's own, per-thread heaps in it, and the budget that
// keeps accounted bytes within the memory limit.
//
// Two bounds, one soft and one hard:
//   - the budget: every live item is charged its allocator usable size (plus the table and the
//     wheels), and nothing is allocated without a charge, so accounted bytes never exceed the
//     limit. Contexts take budget from a shared pool in chunks and return surplus, so the pool
//     is touched once per chunk, not once per item.
//   - the arena: items come only from a region reserved for this store (an exclusive mimalloc
//     arena, 7% larger than the item budget, plus one 32 MiB allocator segment for each
//     context beyond the first, since mimalloc gives every thread segments of its own). A full
//     arena makes allocation fail rather than go to the OS; each context keeps its pages'
//     touched bytes close to their live bytes by emptying sparse pages (fragmentation relief,
//     Context::relieve), so that large values find contiguous room.
//
// Items are 8-byte aligned inside the arena, so a 32-bit reference in 8-byte units (the table's
// slot format) reaches 32 GiB: the most one store may hold. Larger machines run one store per
// NUMA node or per 32 GiB shard.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "store/item.h"

namespace ferrite::store {

inline constexpr std::size_t kMaxArenaBytes = std::size_t{32} << 30;

// Asks the kernel to place the pages of [p, p + len) on NUMA `node` (preferred, not required);
// nothing for node < 0. Never fails loudly: without NUMA the pages go where they would anyway.
void prefer_node(void* p, std::size_t len, int node) noexcept;

class ItemMemory {
 public:
  // `budget`: bytes items may be charged; `max_contexts`: sizes the per-context chunk.
  ItemMemory(std::size_t budget, unsigned max_contexts, int numa_node = -1);
  ~ItemMemory();
  ItemMemory(const ItemMemory&) = delete;
  ItemMemory& operator=(const ItemMemory&) = delete;

  // The calling thread's heap in this arena (created on first use, kept for the thread's life);
  // `which` 1 is a second heap of the thread, where relief moves the items it keeps (so that
  // they fill fresh pages densely instead of the sparse pages being emptied).
  void* thread_heap(unsigned which = 0);
  // The usable size an allocation of `n` bytes will have.
  static std::size_t usable_for(std::size_t n) noexcept;
  // What a block of `usable` bytes is charged to the budget: its usable size plus its share of
  // the tail of its allocator page that no block of its size fits in (mimalloc 2.0: blocks up to
  // 16 KiB in 64 KiB pages, up to 128 KiB in 512 KiB pages, larger ones in whole 64 KiB
  // slices). A 10 KiB value's block is 10,240 bytes, six to a page: 4 KiB of each page is in no
  // block, and uncharged it would have let the budget promise more than the arena holds.
  static constexpr std::size_t charge_for(std::size_t usable) noexcept {
    constexpr std::size_t kSmallPage = std::size_t{64} << 10, kMediumPage = std::size_t{512} << 10;
    if (usable == 0) return 0;
    if (usable > (kMediumPage >> 2)) return (usable + kSmallPage - 1) / kSmallPage * kSmallPage;
    const std::size_t page = usable <= (kSmallPage >> 2) ? kSmallPage : kMediumPage;
    const std::size_t blocks = page / usable;
    return usable + (page - blocks * usable) / blocks;
  }
  // Allocates from `heap`; nullptr when the arena has no room.
  void* allocate(void* heap, std::size_t n) noexcept;
  // Frees an item that no reader can reach any more.
  void release(void* p) noexcept;
  static std::size_t usable_size(const void* p) noexcept;
  // One allocator page of a heap: blocks of `stride` bytes over `bytes` from `start` (the part
  // handed out so far, hence touched), `used` of them allocated.
  struct Page {
    char* start;
    std::size_t bytes;
    std::size_t stride;
    std::size_t used;
    std::size_t block_size;
    std::size_t touched;
    std::size_t reserved;  // bytes the page has room for (its blocks' span)
  };
  using PageFn = void (*)(void* arg, const Page& page) noexcept;
  // Lists the pages of `heap` (the calling thread's own). Cheap: one call per page, no blocks.
  static void visit_pages(void* heap, PageFn fn, void* arg) noexcept;
  // Returns this thread's empty pages to their segments now rather than after a delay; with
  // `force`, also frees pages emptied by other threads' frees, so that a segment left with no
  // page goes back to the arena for any heap to take.
  static void collect(void* heap, bool force = false) noexcept;

  // Segments. mimalloc gives each thread's heap segments of its own (32 MiB, aligned, in
  // mimalloc 2.0): a block freed by any thread stays in its segment, reusable only by the heap
  // that owns it, and a segment returns to the arena only once all of its pages are free. The
  // store therefore keeps which context last allocated in each segment of the arena (its heap
  // owns it), so that eviction can prefer a context's own items and a context short of arena
  // room can have others empty and give back whole segments (Context::give_back).
  static constexpr unsigned kSegmentShift = 25;
  static constexpr std::uint8_t kNoOwner = 0xFF;
  std::size_t segments() const noexcept { return arena_size_ >> kSegmentShift; }
  std::size_t segment_of(const void* p) const noexcept {
    return static_cast<std::size_t>(static_cast<const char*>(p) - base_) >> kSegmentShift;
  }
  // Called on each allocation: one relaxed load, a store only when the segment changed hands.
  void note_owner(const void* p, unsigned ctx) noexcept {
    std::atomic<std::uint8_t>& o = owner_[segment_of(p)];
    if (o.load(std::memory_order_relaxed) != ctx) o.store(static_cast<std::uint8_t>(ctx), std::memory_order_relaxed);
  }
  unsigned owner_of(const void* p) const noexcept { return owner_[segment_of(p)].load(std::memory_order_relaxed); }
  // Gives the pages of [p, p + len) back to the kernel (they read as zero when touched again).
  // Only for memory of a segment the calling thread's heaps own and that no page covers.
  static void discard(char* p, std::size_t len) noexcept;
  // True when `p` may be read (it is not memory this store freed, under ASan).
  static bool readable(const void* p) noexcept;
  const char* base() const noexcept { return base_; }

  std::uint32_t ref_of(const Item* it) const noexcept {
    return static_cast<std::uint32_t>((reinterpret_cast<const char*>(it) - base_) >> 3);
  }
  Item* item_at(std::uint32_t ref) const noexcept { return reinterpret_cast<Item*>(base_ + (std::uintptr_t{ref} << 3)); }

  // Budget. `credit` is a context's private balance.
  bool charge(std::int64_t& credit, std::size_t bytes) noexcept;
  void uncharge(std::int64_t& credit, std::size_t bytes) noexcept;
  void return_credit(std::int64_t& credit) noexcept;
  std::int64_t pool() const noexcept { return pool_.load(std::memory_order_relaxed); }
  std::size_t budget() const noexcept { return budget_.load(std::memory_order_relaxed); }
  // Changes the budget by `delta` bytes at once (a live memory-limit change). Lowering it takes
  // the bytes out of the shared pool, which may go negative: contexts then evict in tick()
  // until their charges fit again.
  void adjust_budget(std::int64_t delta) noexcept {
    budget_.fetch_add(static_cast<std::size_t>(delta), std::memory_order_relaxed);
    pool_.fetch_add(delta, std::memory_order_relaxed);
  }
  std::size_t arena_bytes() const noexcept { return arena_size_; }

  struct Arena;  // defined in memory.cc

 private:
  std::atomic<std::size_t> budget_;
  const std::int64_t chunk_;
  Arena* arena_ = nullptr;
  char* base_ = nullptr;
  std::size_t arena_size_ = 0;
  std::unique_ptr<std::atomic<std::uint8_t>[]> owner_;  // per segment: the context that allocates there
  alignas(64) std::atomic<std::int64_t> pool_;
};

}  // namespace ferrite::store
