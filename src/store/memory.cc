#include "store/memory.h"

#include <mimalloc.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define FERRITE_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define FERRITE_TSAN 1
#endif

namespace ferrite::store {

void prefer_node(void* p, std::size_t len, int node) noexcept {
  if (node < 0 || node >= 1024) return;
  // The kernel's mbind(2) directly (no libnuma): MPOL_PREFERRED with a one-node mask. Pages
  // touched later come from that node while it has free memory. A failure (no such node, no
  // NUMA support) leaves the default policy, which is only slower, never wrong.
  unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {};
  mask[static_cast<unsigned>(node) / (8 * sizeof(unsigned long))] |= 1ul << (static_cast<unsigned>(node) % (8 * sizeof(unsigned long)));
  syscall(SYS_mbind, p, len, MPOL_PREFERRED, mask, 1024ul, 0u);
}

// mimalloc cannot forget an arena and has room for 64 of them, so arenas outlive stores: a
// store that goes away puts its arena back on this list and the next store of the same or a
// smaller size takes it up again. Heaps are per thread and per arena, kept in a thread_local
// table indexed by the arena id.
struct ItemMemory::Arena {
  char* base;
  std::size_t size;
  mi_arena_id_t id;
  bool in_use;
};

namespace {
constexpr std::size_t kArenaAlign = std::size_t{64} << 20;
constexpr std::size_t kArenaUnit = std::size_t{32} << 20;
constexpr int kMaxArenaIds = 256;

std::mutex g_arena_mu;
std::vector<ItemMemory::Arena*>& arenas() {
  static auto* list = new std::vector<ItemMemory::Arena*>();
  return *list;
}
thread_local std::array<mi_heap_t*, kMaxArenaIds> t_heaps[2]{};

#if FERRITE_TSAN
// mimalloc is not instrumented: tell TSan that a block freed on one thread and handed out again
// on another is ordered, as it really is inside mimalloc.
char g_tsan_reuse;
#endif
}  // namespace

ItemMemory::ItemMemory(std::size_t budget, unsigned max_contexts, int numa_node)
    : budget_(budget),
      chunk_(static_cast<std::int64_t>(
          std::clamp<std::size_t>(budget / (8 * std::max(1u, max_contexts)), 4096, std::size_t{1} << 20))),
      pool_(static_cast<std::int64_t>(budget)) {
  // Room for the allocator's rounding (a 1 MiB value takes 17 slices of 64 KiB: 6.25%) and a
  // little fragmentation: 7% over the budget, in mimalloc's 32 MiB arena units, plus a segment
  // for each further context (each thread allocates from segments of its own). The contexts keep
  // touched-but-free memory small (Context::relieve); the arena is the hard stop.
  const std::size_t want = (budget + budget / 100 * 7 + kArenaUnit - 1) / kArenaUnit * kArenaUnit +
                           kArenaUnit * (std::max(1u, max_contexts) - 1);
  if (want > kMaxArenaBytes) {
    throw std::invalid_argument("store.memory: at most 32 GiB per store (use one store per NUMA node or shard)");
  }
  std::lock_guard lock(g_arena_mu);
  Arena* best = nullptr;
  for (Arena* a : arenas()) {
    if (!a->in_use && a->size >= want && (best == nullptr || a->size < best->size)) best = a;
  }
  if (best == nullptr) {
    void* raw = mmap(nullptr, want + kArenaAlign, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    char* base = reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(raw) + kArenaAlign - 1) & ~(kArenaAlign - 1));
    // Items are reached by random lookups: transparent huge pages spare most of the TLB misses
    // (where the kernel offers them on request, as Debian's default "madvise" mode does).
    madvise(base, want, MADV_HUGEPAGE);
    prefer_node(base, want, numa_node);
    mi_arena_id_t id = 0;
    if (!mi_manage_os_memory_ex(base, want, true, false, true, numa_node, true, &id) || id <= 0 || id >= kMaxArenaIds) {
      munmap(raw, want + kArenaAlign);
      throw std::runtime_error("store: mimalloc refused a new arena (too many stores alive at once?)");
    }
    std::size_t size = 0;
    mi_arena_area(id, &size);
    best = new Arena{base, size, id, false};
    arenas().push_back(best);
  } else {
    prefer_node(best->base, best->size, numa_node);  // pages already touched stay where they are
  }
  best->in_use = true;
  arena_ = best;
  base_ = best->base;
  arena_size_ = best->size;
  owner_ = std::make_unique<std::atomic<std::uint8_t>[]>(segments() + 1);
  for (std::size_t i = 0; i <= segments(); ++i) owner_[i].store(kNoOwner, std::memory_order_relaxed);
}

ItemMemory::~ItemMemory() {
  // Every item has been released by the store; give the pages back to the kernel and the arena
  // to the next store. The heaps stay with their threads (they are empty now). This thread's
  // (the store's destroyer, which freed the last items) hand their empty pages and segments back
  // at once: kept, its segments would be stranded for the next store that takes the arena up.
  for (auto& heaps : t_heaps) {
    if (mi_heap_t* h = heaps[static_cast<std::size_t>(arena_->id)]) mi_heap_collect(h, true);
  }
  std::lock_guard lock(g_arena_mu);
  arena_->in_use = false;
}

void* ItemMemory::thread_heap(unsigned which) {
  mi_heap_t*& h = t_heaps[which & 1][static_cast<std::size_t>(arena_->id)];
  if (h == nullptr) {
    h = mi_heap_new_in_arena(arena_->id);
    if (h == nullptr) throw std::bad_alloc();
  }
  return h;
}

std::size_t ItemMemory::usable_for(std::size_t n) noexcept { return mi_good_size(n); }
std::size_t ItemMemory::usable_size(const void* p) noexcept { return mi_usable_size(p); }

void* ItemMemory::allocate(void* heap, std::size_t n) noexcept {
  void* p = mi_heap_malloc(static_cast<mi_heap_t*>(heap), n);
#if FERRITE_TSAN
  __tsan_acquire(&g_tsan_reuse);
#endif
#if FERRITE_ASAN
  if (p != nullptr) ASAN_UNPOISON_MEMORY_REGION(p, mi_usable_size(p));
#endif
  return p;
}

void ItemMemory::release(void* p) noexcept {
#if FERRITE_ASAN
  ASAN_POISON_MEMORY_REGION(p, mi_usable_size(p));
#endif
#if FERRITE_TSAN
  __tsan_release(&g_tsan_reuse);
#endif
  mi_free(p);
}

namespace {
struct VisitState {
  ItemMemory::PageFn fn;
  void* arg;
};
bool visit_area(const mi_heap_t*, const mi_heap_area_t* area, void* block, size_t, void* arg) {
  if (block != nullptr || area == nullptr || area->full_block_size == 0) return true;
  auto* st = static_cast<VisitState*>(arg);
  st->fn(st->arg, {static_cast<char*>(area->blocks), area->committed, area->full_block_size, area->used,
                   area->block_size, area->committed, area->reserved});
  return true;
}
}  // namespace

void ItemMemory::visit_pages(void* heap, PageFn fn, void* arg) noexcept {
  VisitState st{fn, arg};
  mi_heap_visit_blocks(static_cast<mi_heap_t*>(heap), false, &visit_area, &st);
}

void ItemMemory::collect(void* heap, bool force) noexcept { mi_heap_collect(static_cast<mi_heap_t*>(heap), force); }

void ItemMemory::discard(char* p, std::size_t len) noexcept { madvise(p, len, MADV_DONTNEED); }

bool ItemMemory::readable(const void* p) noexcept {
#if FERRITE_ASAN
  return !__asan_address_is_poisoned(p);
#else
  (void)p;
  return true;
#endif
}

bool ItemMemory::charge(std::int64_t& credit, std::size_t bytes) noexcept {
  const auto need = static_cast<std::int64_t>(bytes);
  if (credit >= need) {
    credit -= need;
    return true;
  }
  const std::int64_t short_by = need - credit;
  std::int64_t avail = pool_.load(std::memory_order_relaxed);
  for (;;) {
    const std::int64_t take = std::min(avail, short_by + chunk_);
    if (take < short_by) return false;
    if (pool_.compare_exchange_weak(avail, avail - take, std::memory_order_relaxed)) {
      credit += take - need;
      return true;
    }
  }
}

void ItemMemory::uncharge(std::int64_t& credit, std::size_t bytes) noexcept {
  credit += static_cast<std::int64_t>(bytes);
  if (credit > 2 * chunk_) {
    const std::int64_t give = credit - chunk_;
    pool_.fetch_add(give, std::memory_order_relaxed);
    credit -= give;
  }
}

void ItemMemory::return_credit(std::int64_t& credit) noexcept {
  if (credit != 0) pool_.fetch_add(credit, std::memory_order_relaxed);
  credit = 0;
}

}  // namespace ferrite::store
