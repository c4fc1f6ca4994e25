// The store: memory and eviction (see store_internal.h for how the store's code is split).
#include "store/store_internal.h"

namespace ferrite::store {

// ---------------------------------------------------------------------------------------------
// Memory and eviction

// Moves the shared hand on by one bucket and evicts there. The hand goes round the positions
// (every bucket the table may have); past a shard's current size it skips to the next shard.
std::size_t Context::turn_hand(Sweep mode) noexcept {
  std::atomic<std::uint64_t>& hand = store_.shared_->hand;
  const std::uint64_t total = table_.positions();
  for (;;) {
    const std::uint64_t h = hand.fetch_add(1, std::memory_order_relaxed);
    Location at;
    std::uint64_t next;
    if (table_.at(h % total, &at, &next)) return evict_bucket(at, mode);
    std::uint64_t expect = h + 1;  // unless another thread moved the hand on already
    hand.compare_exchange_strong(expect, h + (next - h % total), std::memory_order_relaxed);
  }
}

// Removes from one bucket the dead items and, unless `mode` is kDeadOnly, the live ones the
// policy gives up (kForce: every live one).
std::size_t Context::evict_bucket(const Location& at, Sweep mode) noexcept {
  Bucket& b = at.primary();
  unsigned victims[kSlotsPerBucket];
  std::uint32_t victim_refs[kSlotsPerBucket];
  Liveness reasons[kSlotsPerBucket];
  unsigned n = 0;
  // One reading per bucket: the policy may change live (Store::set_policy).
  const bool clock = store_.policy() == EvictionPolicy::kClock;
  for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
    const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
    if (ref == 0) continue;
    Item* it = memory_.item_at(ref);
    const Liveness l = liveness(it);
    if (FERRITE_UNLIKELY(writing_ != nullptr) && l == Liveness::kAlive &&
        b.tag[s].load(std::memory_order_relaxed) == Table::tag_of(writing_->hash) && protected_item(it)) {
      continue;
    }
    if (l == Liveness::kAlive && mode != Sweep::kForce) {
      if (mode == Sweep::kDeadOnly) continue;
      if (mode == Sweep::kPolicyOwn && memory_.owner_of(it) != id_) continue;
      const std::uint8_t a = it->load_access();
      if (clock) {
        if (a != 0) {  // second chance
          it->store_access(0);
          continue;
        }
      } else if (a != 0) {  // LFU: the hand's pass is the decay
        it->store_access(static_cast<std::uint8_t>(a - 1 - a / 8));
        continue;
      }
    }
    victims[n] = s;
    victim_refs[n] = ref;
    reasons[n] = l;
    ++n;
  }
  if (n == 0) return 0;
  unsigned removed = 0;
  bool held = false;
  if (!lock_one(at.shard, at.state, b, &held)) return 0;  // the shard grew: the hand comes back to its new array
  for (unsigned i = 0; i < n; ++i) {
    if (b.ref[victims[i]].load(std::memory_order_relaxed) != victim_refs[i]) continue;
    Item* it = memory_.item_at(victim_refs[i]);
    unlink({it, &b, victims[i], at.shard, at.state});
    account_removal(it, reasons[i], Via::kActive);  // reported under the bucket's lock (see commit())
    ++removed;
  }
  if (!held) Table::unlock(b);
  return removed;
}

// Evicts the item in an allocator block if, and only if, the table still links that very
// item. The block may hold a retired item or one freed a moment ago by another thread, so its
// header is checked against the block before the key is read, and only the table is trusted.
std::size_t Context::evict_block(const Item* it, std::size_t block_size) noexcept {
  if (block_size < sizeof(Item) + 8 || !ItemMemory::readable(it)) return 0;
  const std::size_t klen = it->key_len();
  const std::size_t vlen = it->value_len();
  if (klen == 0 || klen > config_.max_key_size || vlen > kMaxItemSizeCeiling ||
      Item::footprint(klen, vlen, it->has_flags() ? 1 : 0, it->type()) > block_size) {
    return 0;
  }
  if (FERRITE_UNLIKELY(writing_ != nullptr) && protected_item(it)) return 0;
  const KeyRef key = make_key(it->key());
  Location loc;
  if (!try_lock_key(key, &loc)) return 0;
  const Found f = find_locked(key, loc);
  std::size_t freed = 0;
  if (f.item == it) {
    freed = ItemMemory::charge_for(ItemMemory::usable_size(f.item));
    unlink(f);
    notify(MutationKind::kEvict, f.item);  // under the key's locks (see commit())
  }
  unlock_key(loc);
  if (freed != 0) {
    stats_.evictions.add();
    stats_.page_evictions.add();
  }
  return freed;
}

template <typename Fn>
void Context::visit_own_pages(Fn fn, void* arg) noexcept {
  ItemMemory::visit_pages(heap_, fn, arg);
  ItemMemory::visit_pages(keep_heap_, fn, arg);
}

// Moves the item in an allocator block to a block of the same size in this context's second
// heap, if the table still links that very item (checked as evict_block does); evicts it when no
// such block can be had. Readers that found the old copy keep reading it until the grace period
// ends; the new copy has the same version, deadline and access byte, so a CAS, a timing-wheel
// handle or the policy sees no difference. The budget is unchanged: same usable size.
std::size_t Context::move_block(const Item* it, std::size_t block_size) noexcept {
  if (block_size < sizeof(Item) + 8 || !ItemMemory::readable(it)) return 0;
  const std::size_t klen = it->key_len();
  const std::size_t vlen = it->value_len();
  const std::size_t footprint = Item::footprint(klen, vlen, it->has_flags() ? 1 : 0, it->type());
  if (klen == 0 || klen > config_.max_key_size || vlen > kMaxItemSizeCeiling || footprint > block_size)
    return 0;
  const KeyRef key = make_key(it->key());
  Location loc;
  if (!try_lock_key(key, &loc)) return 0;
  const Found f = find_locked(key, loc);
  if (f.item != it) {
    unlock_key(loc);
    return 0;
  }
  const std::size_t usable = ItemMemory::usable_size(f.item);
  const std::size_t charged = ItemMemory::charge_for(usable);
  void* p = liveness(f.item) == Liveness::kAlive ? memory_.allocate(keep_heap_, footprint) : nullptr;
  if (p != nullptr && ItemMemory::usable_size(p) != usable) {
    memory_.release(p);
    p = nullptr;
  }
  if (p == nullptr) {  // no room to keep it (or it is dead): evict it, as evict_block would
    unlink(f);
    notify(MutationKind::kEvict, f.item);  // under the key's locks (see commit())
    unlock_key(loc);
    stats_.evictions.add();
    stats_.page_evictions.add();
    return charged;
  }
  auto* fresh = static_cast<Item*>(p);
  std::memcpy(fresh->version_bytes, f.item->version_bytes, sizeof(fresh->version_bytes));
  fresh->access = f.item->load_access();
  fresh->expiry = f.item->load_expiry();
  fresh->shape = f.item->shape;
  std::memcpy(fresh + 1, f.item + 1, footprint - sizeof(Item));
  f.bucket->ref[f.slot].store(memory_.ref_of(fresh), std::memory_order_release);
  unlock_key(loc);
  memory_.note_owner(fresh, id_);
  retire(f.item, charged);
  stats_.page_moves.add();
  return charged;
}

// Fragmentation relief. Lists this context's allocator pages (cheap: one record per page) and
// compares the bytes they have touched with the bytes live in them. When the gap is more than
// about 3% of this context's share of the budget and the store is near its limit, or
// `want_bytes` of contiguous room is asked for, it empties the aligned 4 MiB windows that hold
// the fewest live bytes of small and medium items: every item in the pages overlapping them is
// evicted, and their memory comes back as contiguous runs (memcached's slab reassignment, for a
// general allocator). Large values are never evicted this way: they are what the room is for.
// At most kMaxWindows windows per call.
void Context::relieve(std::size_t want_bytes) noexcept {
  constexpr std::size_t kWin = std::size_t{4} << 20;  // fits three 1 MiB values (17 slices each)
  constexpr std::size_t kMaxWindows = 8;
  constexpr std::size_t kLargeBlock = std::size_t{128} << 10;
  constexpr std::uint64_t kNone = ~std::uint64_t{0}, kTaken = kNone - 1;
  struct Scan {
    Context* self;
    std::size_t n;
    std::size_t touched = 0, live = 0;
    std::size_t chosen[kMaxWindows] = {};
    std::size_t n_chosen = 0;
    bool windows = true;  // heap_'s pages are emptied; keep_heap_'s only count
    std::size_t keep_from = kLargeBlock;  // blocks this large or larger are never emptied
    bool move = false;    // move the items of the windows (else evict them)
    std::size_t blocks_left = kReliefBlocksPerCall;  // the rest of the windows waits for the next call
  } scan{this, memory_.arena_bytes() / kWin + 1};
  // Room for a large value may have to come from smaller large blocks (a store full of 256 KiB
  // values that receives 1 MiB ones): those may go too, never a block as large as the one the
  // room is for (the values just written are what the room was made for).
  if (want_bytes != 0 && largest_demand_ > kLargeBlock) scan.keep_from = ItemMemory::usable_for(largest_demand_);
  window_live_.assign(scan.n, kNone);  // kNone: no small or medium page of ours there
  const auto census_page = [](void* arg, const ItemMemory::Page& p) noexcept {
    auto& sc = *static_cast<Scan*>(arg);
    auto& live = sc.self->window_live_;
    const std::size_t used = p.used * p.block_size;
    const bool large = p.block_size >= kLargeBlock;
    // A large object's page is rounded up to whole slices, but the tail is never touched.
    sc.touched += large ? used : p.touched;
    sc.live += used;
    const std::size_t off = static_cast<std::size_t>(p.start - sc.self->memory_.base());
    if (p.block_size >= sc.keep_from || used == 0 || !sc.windows) return;
    for (std::size_t w = off / kWin; w <= (off + p.bytes - 1) / kWin && w < sc.n; ++w) {
      live[w] = (live[w] == kNone ? 0 : live[w]) + used;
    }
  };
  const std::size_t share = memory_.budget() / std::max(1u, store_.shared_->attached.load(std::memory_order_relaxed));
  // Segments held far beyond this context's share of the budget (the limit was lowered, or the
  // items went): the items of the windows emptied are moved, not evicted, into this context's
  // second heap, where they fill fresh pages densely, as long as its segments have free spans
  // for them (taking segments from the arena would take the room other contexts' writes need),
  // and the free spans go back to the system (trim). Otherwise (a full store, fragmented) the
  // items are evicted: the second heap receives no writes, so its free blocks would only be
  // reused by later moves.
  const Census c = census();
  const bool over = c.held << ItemMemory::kSegmentShift > share + (share >> 3) + (std::size_t{2} << ItemMemory::kSegmentShift);
  scan.move = over && c.held * kSegmentUsable > c.in_pages + 2 * kWin;
  ItemMemory::visit_pages(heap_, census_page, &scan);
  scan.windows = !scan.move;
  ItemMemory::visit_pages(keep_heap_, census_page, &scan);
  if (over) trim();
  const std::size_t slack = scan.touched > scan.live ? scan.touched - scan.live : 0;
  const std::size_t allowed = share / kFragSlackDivisor + (std::size_t{2} << 20);
  // Slack only matters near the limit: far from it, charged bytes plus slack are still within the
  // budget (and overwrites from other threads routinely leave slack in this heap for a while).
  const auto charged = static_cast<std::size_t>(std::max<std::int64_t>(
      0, static_cast<std::int64_t>(memory_.budget()) - memory_.pool()));
  const bool near_limit = charged + slack + allowed > memory_.budget();
  std::size_t want = want_bytes;
  if (near_limit && slack > allowed) want = std::max(want, slack - allowed / 2);
  if (want == 0) return;
  for (std::size_t got = 0; scan.n_chosen < kMaxWindows && got < want;) {
    std::size_t best = SIZE_MAX;
    for (std::size_t w = 0; w < scan.n; ++w) {
      const std::uint64_t l = window_live_[w];
      if (l != 0 && l < kTaken && (best == SIZE_MAX || l < window_live_[best])) best = w;
    }
    if (best == SIZE_MAX) break;
    got += kWin - std::min<std::size_t>(kWin, window_live_[best]);
    scan.chosen[scan.n_chosen++] = best;
    window_live_[best] = kTaken;
  }
  if (scan.n_chosen == 0) return;
  const auto empty_windows = [](void* arg, const ItemMemory::Page& p) noexcept {
    auto& sc = *static_cast<Scan*>(arg);
    if (p.used == 0 || p.block_size >= sc.keep_from) return;
    const std::size_t off = static_cast<std::size_t>(p.start - sc.self->memory_.base());
    bool hit = false;
    for (std::size_t i = 0; i < sc.n_chosen && !hit; ++i) {
      hit = off < (sc.chosen[i] + 1) * kWin && off + p.bytes > sc.chosen[i] * kWin;
    }
    if (!hit) return;
    for (std::size_t b = 0; b + p.stride <= p.bytes && sc.blocks_left > 0; b += p.stride, --sc.blocks_left) {
      const auto* it = reinterpret_cast<const Item*>(p.start + b);
      if (sc.move) {
        sc.self->move_block(it, p.block_size);
      } else {
        sc.self->evict_block(it, p.block_size);
      }
    }
  };
  ItemMemory::visit_pages(heap_, empty_windows, &scan);
  if (!scan.move) ItemMemory::visit_pages(keep_heap_, empty_windows, &scan);
  collect_pages_ = true;
}

void Context::set_short(bool on) noexcept {
  if (on == short_) return;
  short_ = on;
  Store::Shared& sh = *store_.shared_;
  const std::uint64_t bit = std::uint64_t{1} << id_;
  if (on) {
    sh.short_epoch[id_].fetch_add(1, std::memory_order_relaxed);
    sh.short_mask.fetch_or(bit, std::memory_order_relaxed);
  } else {
    sh.short_mask.fetch_and(~bit, std::memory_order_relaxed);
  }
}

// Moving arena room between contexts. Each context's heap owns the segments it allocates in,
// and a free block or page is reusable only by its owner, so a context can be short of room
// while the budget has plenty and other heaps hold free memory: after one worker wrote most of
// the data, another worker's writes would fail for good. A context short of room sets its bit
// in the short mask and counts the segments it holds; a context holding more than its equal
// share of the arena's segments (floor(segments / contexts)) then gives one back, once per
// shortage of each short context that holds less than that share: it evicts every item in the
// pages of its segment with the fewest live bytes (a bounded number per tick), and once they
// are freed the segment returns to the arena, where the short context's heap takes it. A
// context at or above its share makes room in its own heap instead (relieve()). So every
// context can always reach its equal share, and memory moves between contexts only when one
// runs out, never back and forth.
Context::Census Context::census() noexcept {
  struct Visit {
    Context* self;
    Census c;
  } v{this, {}};
  segment_live_.assign(memory_.segments() + 1, kNoSegment);
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    auto& vs = *static_cast<Visit*>(arg);
    std::uint64_t& live = vs.self->segment_live_[vs.self->memory_.segment_of(p.start)];
    if (live == kNoSegment) {
      live = 0;
      ++vs.c.held;
    }
    ++vs.c.pages;
    live += p.used * p.block_size;
    vs.c.in_blocks += p.used * p.block_size;
    vs.c.in_pages += p.bytes;
    if (p.block_size == vs.self->last_usable_) vs.c.free_in_class += p.bytes - p.used * p.stride;
  }, &v);
  Store::Shared& sh = *store_.shared_;
  sh.segments_held[id_].store(static_cast<std::uint32_t>(v.c.held), std::memory_order_relaxed);
  std::size_t all_held = 0;
  const unsigned n = store_.config_.max_contexts;
  for (unsigned i = 0; i < n; ++i) all_held += sh.segments_held[i].load(std::memory_order_relaxed);
  v.c.arena_free = memory_.segments() > all_held ? memory_.segments() - all_held : 0;
  census_scale_ = static_cast<unsigned>(
      std::clamp<std::size_t>(v.c.pages / kCensusPagesPerStep, 1, kCensusScaleMax));
  return v.c;
}

// Keeps room in this context's own heap for its next writes. The budget's headroom (tick())
// is global: free budget may be free memory in another context's heap, which this one cannot
// use. Every few ticks this counts the room left in its own segments (and its share of the
// arena's free segments); when that is less than twice what it allocated since, it evicts its
// own items, by the policy, for the difference: freed after the grace period, they are room in
// its own pages.
void Context::keep_own_room() noexcept {
  const Census c = census();
  const unsigned attached = std::max(1u, store_.shared_->attached.load(std::memory_order_relaxed));
  // Room for the next writes: the free blocks of the size this context writes, and what no page
  // of its segments (or of its share of the free segments) covers yet. Free blocks of other
  // sizes do not count: a page is reusable for another size only once it is empty.
  // What this context unlinked and waits to free counts as room to come: evicting more would
  // not free anything sooner (a stalled context holds every grace period back).
  const std::size_t capacity = (c.held + c.arena_free / attached) * kSegmentUsable;
  const std::size_t room = (capacity > c.in_pages ? capacity - c.in_pages : 0) + c.free_in_class +
                           static_cast<std::size_t>(std::max<std::int64_t>(0, stats_.retired_bytes_delta.get()));
  const std::size_t want = std::min(std::max<std::size_t>(2 * own_allocated_, kSegmentUsable / 16),
                                    memory_.budget() / attached / 8);
  own_allocated_ = 0;
  if (room >= want) return;
  const std::int64_t target = static_cast<std::int64_t>(want - room);
  const std::int64_t retired_before = stats_.retired_bytes_delta.get();
  const std::size_t limit = kHeadroomBucketsPerTick + table_.buckets() / 16;
  for (std::size_t i = 0; i < limit && stats_.retired_bytes_delta.get() - retired_before < target; ++i) {
    turn_hand(Sweep::kPolicyOwn);
  }
}

// Gives memory back to the system. mimalloc keeps the pages of its segments resident once
// touched, even when no block is left in them, so a store whose limit was lowered live (or that
// emptied pages by relief) would keep its peak resident. Every span of this context's own
// segments that no page covers is handed back to the kernel (MADV_DONTNEED): free spans hold no
// allocator data (a segment's bookkeeping is in its first slices, which are never touched here),
// only this thread allocates in its own segments, so nothing can be placed there meanwhile, and
// memory mimalloc takes up again later simply reads as zero. Spans given back once are not given
// back again until a page has covered them since.
void Context::trim() noexcept {
  constexpr unsigned kSliceShift = 16;
  constexpr std::size_t kSlicesPerSegment = std::size_t{1} << (ItemMemory::kSegmentShift - kSliceShift);
  constexpr std::size_t kWords = kSlicesPerSegment / 64;
  constexpr std::size_t kHeaderSlices = 2;  // the segment's own data: never touched
  const std::size_t nseg = memory_.segments() + 1;
  slices_used_.assign(nseg * kWords, 0);
  if (slices_trimmed_.size() != nseg * kWords) slices_trimmed_.assign(nseg * kWords, 0);
  struct Mark {
    Context* self;
  } mark{this};
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    Context& c = *static_cast<Mark*>(arg)->self;
    const std::size_t off = static_cast<std::size_t>(p.start - c.memory_.base());
    const std::size_t end = off + std::max(p.reserved, p.bytes);
    for (std::size_t sl = off >> kSliceShift; sl < (end + (std::size_t{1} << kSliceShift) - 1) >> kSliceShift; ++sl) {
      c.slices_used_[sl / 64] |= std::uint64_t{1} << (sl % 64);
    }
  }, &mark);
  char* const base = const_cast<char*>(memory_.base());
  for (std::size_t seg = 0; seg + 1 < nseg; ++seg) {
    const std::uint64_t* used = &slices_used_[seg * kWords];
    std::uint64_t* trimmed = &slices_trimmed_[seg * kWords];
    bool owned = false;
    for (std::size_t w = 0; w < kWords && !owned; ++w) owned = used[w] != 0;
    if (!owned) {  // not this context's segment (or empty, back in the arena): not ours to touch
      for (std::size_t w = 0; w < kWords; ++w) trimmed[w] = 0;
      continue;
    }
    for (std::size_t w = 0; w < kWords; ++w) trimmed[w] &= ~used[w];
    std::size_t run = 0;
    for (std::size_t sl = kHeaderSlices; sl <= kSlicesPerSegment; ++sl) {
      const bool free = sl < kSlicesPerSegment && (used[sl / 64] >> (sl % 64) & 1) == 0 &&
                        (trimmed[sl / 64] >> (sl % 64) & 1) == 0;
      if (free) {
        ++run;
        trimmed[sl / 64] |= std::uint64_t{1} << (sl % 64);
        continue;
      }
      if (run > 0) {
        const std::size_t first = sl - run;
        ItemMemory::discard(base + (seg << ItemMemory::kSegmentShift) + (first << kSliceShift), run << kSliceShift);
        stats_.trimmed_bytes.add(static_cast<std::int64_t>(run << kSliceShift));
        run = 0;
      }
    }
  }
}

void Context::give_back(std::uint64_t others_short) noexcept {
  Store::Shared& sh = *store_.shared_;

  if (giving_ == kNotGiving) {
    if (others_short == 0) return;
    const std::size_t share = memory_.segments() / std::max(1u, sh.attached.load(std::memory_order_relaxed));
    // What this context held at its last census (published there): the walk of its pages runs
    // only once a short context is to be served, not every tick while one is short.
    if (sh.segments_held[id_].load(std::memory_order_relaxed) <= share) return;
    bool needed = false;
    for (std::uint64_t m = others_short; m != 0; m &= m - 1) {
      const auto c = static_cast<unsigned>(__builtin_ctzll(m));
      const std::uint32_t epoch = sh.short_epoch[c].load(std::memory_order_relaxed);
      if (sh.segments_held[c].load(std::memory_order_relaxed) < share && served_epoch_[c] != epoch) {
        served_epoch_[c] = epoch;
        needed = true;
      }
    }
    if (!needed) return;
    if (census().held <= share) return;  // segment_live_ now per segment
    for (std::size_t seg = 0; seg < segment_live_.size(); ++seg) {
      if (segment_live_[seg] != kNoSegment && (giving_ == kNotGiving || segment_live_[seg] < segment_live_[giving_])) {
        giving_ = seg;
      }
    }
    if (giving_ == kNotGiving) return;
    stats_.segments_given.add();
  }

  // Empty the segment: every item still linked in its pages, a bounded number per tick.
  struct Empty {
    Context* self;
    std::size_t budget = kGiveBackBlocksPerTick;
    std::size_t linked = 0;
  } empty{this};
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    auto& e = *static_cast<Empty*>(arg);
    if (p.used == 0 || e.budget == 0 || e.self->memory_.segment_of(p.start) != e.self->giving_) return;
    for (std::size_t b = 0; b + p.stride <= p.bytes && e.budget > 0; b += p.stride, --e.budget) {
      if (e.self->evict_block(reinterpret_cast<const Item*>(p.start + b), p.block_size) != 0) ++e.linked;
    }
  }, &empty);
  if (empty.linked == 0) {
    // Nothing of it is linked any more: what is left is waiting for grace periods and for frees
    // by other threads. Collect with force for a while, so its pages and then the segment go.
    giving_ = kNotGiving;
    collect_force_ticks_ = kGiveBackCollectTicks;
  } else {
    collect_pages_ = true;
  }
}

bool Context::make_room(std::size_t bytes) noexcept {
  if (memory_.charge(credit_, bytes)) return true;
  // The policy's way first: second chances, decaying counters.
  for (std::size_t scanned = 0; scanned < config_.evict_scan_limit; scanned += kSlotsPerBucket) {
    turn_hand(Sweep::kPolicy);
    if (memory_.charge(credit_, bytes)) return true;
  }
  // A request's work is bounded: past the scan limit, the hand evicts whatever it meets, for at
  // most one sweep of the table. That finds room unless the memory is in other contexts' hands;
  // it costs more only when the table is sparse (a few large values), one cache line a bucket.
  for (std::size_t scanned = 0; scanned < table_.slots(); scanned += kSlotsPerBucket) {
    turn_hand(Sweep::kForce);
    if (memory_.charge(credit_, bytes)) return true;
  }
  return false;
}

// Allocates an item of `footprint` bytes with its charge to the budget (*charged, what commit()
// adds to the live bytes and drop_linked() takes off again: ItemMemory::charge_for).
Item* Context::alloc_item(std::size_t footprint, std::size_t* charged) noexcept {
  const std::size_t usable_want = ItemMemory::usable_for(footprint);
  const std::size_t want = ItemMemory::charge_for(usable_want);
  if (!make_room(want)) {
    stats_.no_memory.add();
    return nullptr;
  }
  if (footprint >= kLargeDemand) {
    large_demand_ += footprint;
    largest_demand_ = std::max(largest_demand_, footprint);
  }
  allocated_ += want;
  void* p = memory_.allocate(heap_, footprint);
  if (FERRITE_UNLIKELY(p == nullptr)) p = alloc_after_grace(footprint);
  if (FERRITE_UNLIKELY(p == nullptr && writing_ != nullptr)) p = alloc_after_quiescing(footprint, want);
  if (p == nullptr) {
    // The arena is full although the budget is not: this heap's pages are full and every free
    // segment is taken. Either the free memory is in this heap's pages of other sizes
    // (fragmentation, typically large values arriving in a store full of small ones) or in
    // other contexts' heaps (memory they hold is free but theirs). Memory unlinked now is only
    // reusable after this loop iteration's quiescent point, so refuse this request; tick() then
    // empties whole allocator pages of this heap (memcached's slab reassignment, in effect)
    // and, through the short mask, has a context holding more than its share of the arena
    // give a segment back (give_back).
    fragmented_ticks_ = kFragmentedTicks;
    arena_demand_ += want;
    set_short(true);
    memory_.uncharge(credit_, want);
    stats_.no_memory.add();
    stats_.arena_refusals.add();
    return nullptr;
  }
  if (FERRITE_UNLIKELY(short_)) set_short(false);
  memory_.note_owner(p, id_);
  own_allocated_ += want;
  last_usable_ = usable_want;
  const std::size_t got = ItemMemory::charge_for(ItemMemory::usable_size(p));
  if (got > want && !make_room(got - want)) {
    memory_.release(p);
    memory_.uncharge(credit_, want);
    stats_.no_memory.add();
    return nullptr;
  }
  if (got < want) memory_.uncharge(credit_, want - got);
  *charged = got;
  return static_cast<Item*>(p);
}

// The arena refused an allocation. What this context retired in earlier loop iterations is
// freed once every other context has passed a quiescent point, usually within microseconds
// (this context holds no reference to it: ItemViews end at its own quiescent point). So free
// what is due, pages other threads' frees emptied, and wait for the rest, a bounded while,
// retrying as it comes. One context waits at a time: two waiting for each other would only
// time out; while another waits, this one frees what is due and tries once.
void* Context::alloc_after_grace(std::size_t footprint) noexcept {
  Store::Shared& sh = *store_.shared_;
  unsigned none = 0;
  // Not while holding a transaction's locks: the others may be spinning on them.
  const bool wait = !tx_holding_ && sh.arena_waiter.compare_exchange_strong(none, id_ + 1, std::memory_order_acquire);
  void* p = retry_as_freed(footprint, false, wait ? kArenaWaitSpins : 1);
  if (wait) sh.arena_waiter.store(0, std::memory_order_release);
  return p;
}

// Frees what the grace periods allow, hands emptied pages back to the heaps and retries the
// allocation each time more came free, for at most `spins` turns; stops early once nothing it
// waits for is left (with `quiescing`, everything retired; else everything retired before this
// iteration: what it retired since is held back by its own quiescent point). `quiescing`: the
// caller holds no view, so every turn is a quiescent point of this context too, announced so
// that two contexts waiting here at once see each other pass.
void* Context::retry_as_freed(std::size_t footprint, bool quiescing, unsigned spins) noexcept {
  Store::Shared& sh = *store_.shared_;
  for (unsigned spin = 0; spin < spins; ++spin) {
    if (quiescing) sh.qsbr.quiescent(qsbr_id_);
    const std::size_t before = retired_count_;
    reclaim();
    if (spin == 0 || retired_count_ != before) {
      ItemMemory::collect(heap_, true);
      ItemMemory::collect(keep_heap_, true);
      if (void* p = memory_.allocate(heap_, footprint)) return p;
    }
    if (retired_count_ == (quiescing ? 0 : untagged_)) return nullptr;  // nothing more will come
    if (spin == 0) stats_.arena_waits.add();
    cpu_relax();
  }
  return nullptr;
}

// The key of the may_wait write under way, whose item the room-making for it must not evict (a
// replace or cas of it would fail): compared by tag first, then by key.
bool Context::protected_item(const Item* it) const noexcept {
  return writing_ != nullptr && it->key() == writing_->key;
}

// A may_wait write the arena could not place, even after alloc_after_grace(): the caller holds
// no view, so this call may be a quiescent point of this context. Make room in its own heap (a
// large value's contiguous room by emptying allocator pages, a smaller one by evicting its own
// items by the policy), mark the quiescent point, and wait, bounded, for the other contexts to
// pass one too, freeing and retrying as they do: what was unlinked is then reusable here. The
// quiescent point is announced again at every turn of the wait, so two contexts waiting here at
// once see each other pass and neither holds the other back.
void* Context::alloc_after_quiescing(std::size_t footprint, std::size_t want) noexcept {
  const std::int64_t evicted_before = stats_.retired_bytes_delta.get();
  if (footprint >= kLargeDemand) {
    largest_demand_ = std::max(largest_demand_, footprint);
    relieve(2 * want);
  }
  const std::size_t limit = kHeadroomBucketsPerTick + table_.buckets() / 16;
  for (std::size_t i = 0; i < limit && stats_.retired_bytes_delta.get() - evicted_before < static_cast<std::int64_t>(2 * want); ++i) {
    turn_hand(Sweep::kPolicyOwn);
  }
  tag_retired();
  return retry_as_freed(footprint, true, kArenaWaitSpins);
}

void Context::free_unpublished(Item* it, std::size_t charged) noexcept {
  memory_.release(it);
  memory_.uncharge(credit_, charged);
}

}  // namespace ferrite::store
