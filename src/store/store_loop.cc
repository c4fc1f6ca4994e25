// The store: expiry and the worker loop (see store_internal.h for how the store's code is split).
#include "store/store_internal.h"

namespace ferrite::store {

// ---------------------------------------------------------------------------------------------
// Expiry and the loop

void Context::schedule_expiry(std::uint64_t hash, std::uint64_t version, std::uint64_t deadline_ms) noexcept {
  const WheelEntry e{Table::place_bits(hash), Table::tag_of(hash), static_cast<std::uint16_t>(version)};
  if (wheel_->insert(e, deadline_ms)) {
    stats_.wheel_scheduled.add();
  } else {
    stats_.wheel_dropped.add();
  }
}

void Context::fire(const WheelEntry& e) noexcept {
  stats_.wheel_fired.add();
  const Location loc = table_.locate_bits(e.place, e.tag);
  for (const std::uint32_t bi : {loc.b1, loc.b2}) {
    Bucket& b = loc.base[bi];
    for (std::uint32_t m = match_tags(b, e.tag); m != 0; m &= m - 1) {
      const unsigned s = static_cast<unsigned>(__builtin_ctz(m)) >> 1;
      const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
      if (ref == 0) continue;
      Item* it = memory_.item_at(ref);
      if (static_cast<std::uint16_t>(it->version()) != e.version16) continue;
      const std::uint64_t deadline = decode_expiry(it->load_expiry());
      if (deadline == 0) return;  // persisted since
      if (now_ms_ < deadline) {   // touched to a later deadline: file it again
        if (!wheel_->insert(e, deadline)) stats_.wheel_dropped.add();
        return;
      }
      unlink_dead({it, &b, s, loc.shard, loc.state}, Liveness::kExpired, Via::kActive);
      return;
    }
  }
}

// Claims the next run of up to `buckets` buckets of one shard from the shared sweep cursor (a
// position: see Table) and removes the dead items there. Positions that are no bucket are skipped.
void Context::sweep_some(std::size_t buckets) noexcept {
  std::atomic<std::uint32_t>& sweepers = store_.shared_->sweepers;
  sweepers.fetch_add(1, std::memory_order_seq_cst);  // before the claim: see sweep_done()
  sweep_claimed(buckets);
  sweepers.fetch_sub(1, std::memory_order_release);
}

// True once no bucket is left to claim and no context is still at one it claimed.
bool Context::sweep_done() const noexcept {
  return store_.shared_->sweep_next.load(std::memory_order_seq_cst) >= table_.positions() &&
         store_.shared_->sweepers.load(std::memory_order_seq_cst) == 0;
}

void Context::sweep_claimed(std::size_t buckets) noexcept {
  std::atomic<std::uint64_t>& cursor = store_.shared_->sweep_next;
  const std::uint64_t total = table_.positions();
  std::uint64_t pos = cursor.load(std::memory_order_seq_cst);
  while (pos < total) {
    Location at;
    std::uint64_t next;
    const bool bucket = table_.at(pos, &at, &next);
    const std::uint64_t end =
        bucket ? std::min<std::uint64_t>(pos + buckets, pos - at.b1 + Table::size_of(at.state)) : next;
    if (!cursor.compare_exchange_weak(pos, end, std::memory_order_relaxed)) continue;  // pos reloaded
    if (!bucket) {
      pos = end;
      continue;
    }
    for (std::uint64_t p = pos; p < end; ++p, ++at.b1) {
      at.b2 = at.b1;
      evict_bucket(at, Sweep::kDeadOnly);
    }
    return;
  }
}

// Another context may still be at the last run it claimed: a bounded wait (one run's work),
// except inside a transaction, whose held buckets that context may be waiting for.
void Context::sweep_flushed() noexcept {
  maybe_run_flush();
  while (!sweep_done()) {
    if (store_.shared_->sweep_next.load(std::memory_order_relaxed) < table_.positions()) {
      sweep_some(kSweepBucketsPerTick);
    } else if (tx_holding_) {
      return;
    } else {
      cpu_relax();
    }
  }
}

bool Context::sweep_flushed_some(std::size_t buckets) noexcept {
  maybe_run_flush();
  const std::atomic<std::uint64_t>& next = store_.shared_->sweep_next;
  for (std::size_t done = 0; done < buckets && next.load(std::memory_order_relaxed) < table_.positions();
       done += kSweepBucketsPerTick) {
    sweep_some(kSweepBucketsPerTick);
  }
  return sweep_done();
}

void Context::want_growth(std::uint32_t shard) noexcept {
  for (unsigned i = 0; i < grow_count_; ++i) {
    if (grow_wanted_[i] == shard) return;
  }
  if (grow_count_ < kGrowQueue) grow_wanted_[grow_count_++] = shard;
}

// Grows the shards this context's inserts found over their load, right after the insert that
// found it (outside its locks; the largest step rehashes ~16k entries, 0.6-0.9 ms measured). A
// shard not grown now (another thread is at it) is asked for again by its next insert.
void Context::grow_table() noexcept {
  for (unsigned i = 0; i < grow_count_; ++i) {
    if (grow_shard(grow_wanted_[i], false)) break;
  }
  grow_count_ = 0;
}

// Grows one shard if it is over its load (or `full`: a key found both its buckets full).
bool Context::grow_shard(std::uint32_t shard, bool full) noexcept {
  static constexpr Table::Items kItems{
      nullptr,
      [](void* self, std::uint32_t ref) noexcept -> const void* {
        return static_cast<Context*>(self)->memory_.item_at(ref);
      },
      [](void* self, std::uint32_t ref) noexcept { return hash_key(static_cast<Context*>(self)->memory_.item_at(ref)->key()); },
      [](void* self, std::uint32_t ref) noexcept {  // no room in the new array: evicted
        auto* c = static_cast<Context*>(self);
        Item* it = c->memory_.item_at(ref);
        const Liveness why = c->liveness(it);
        c->stats_.items_delta.sub();
        c->drop_linked(it);
        if (why == Liveness::kAlive) c->stats_.table_full_evictions.add();
        c->account_removal(it, why, Via::kActive);
      },
  };
  Table::Items items = kItems;
  items.arg = this;
  if (table_.grow(shard, items, store_.shared_->qsbr, full) == 0) return false;
  stats_.table_growths.add();
  return true;
}

void Context::tick() noexcept {
  maybe_run_flush();
  Store::Shared& sh = *store_.shared_;

  // Active expiry: whatever the wheel says is due, a bounded number per call.
  wheel_->advance(now_ms_);
  WheelEntry due[64];
  for (std::size_t budget = config_.expire_per_tick; budget > 0;) {
    const std::size_t n = wheel_->pop_pending(due, std::min<std::size_t>(budget, 64));
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) fire(due[i]);
    budget -= n;
  }

  // After a flush: sweep the table for flushed items, a few buckets per call.
  if (sh.sweep_next.load(std::memory_order_relaxed) < table_.positions()) sweep_some(kSweepBucketsPerTick);

  // Fragmentation: check now and then, and every tick for a while after the arena refused an
  // allocation (then also making contiguous room for the large allocations of the last tick).
  if (fragmented_ticks_ > 0 || ticks_to_check_ == 0) {
    relieve(fragmented_ticks_ > 0 ? std::max(large_demand_, arena_demand_) : 0);
    ticks_to_check_ = kFragCheckEvery * census_scale_;
    if (fragmented_ticks_ > 0) --fragmented_ticks_;
  } else {
    --ticks_to_check_;
  }
  large_demand_ = 0;
  arena_demand_ = 0;
  if (fragmented_ticks_ == 0) largest_demand_ = 0;

  // Another context is short of arena room (or this one is, or a give-back is under way).
  const std::uint64_t others_short = sh.short_mask.load(std::memory_order_relaxed) & ~(std::uint64_t{1} << id_);
  if (FERRITE_UNLIKELY(others_short != 0 || short_ || giving_ != kNotGiving)) {
    give_back(others_short);
  } else if (--own_room_in_ == 0) {
    own_room_in_ = kOwnRoomEvery * census_scale_;
    if (store_.shared_->attached.load(std::memory_order_relaxed) > 1) keep_own_room();
  }

  // Headroom: keep free budget for the next iteration's writes, at least the configured
  // fraction and twice what was allocated since the last tick (up to an eighth of the budget).
  // Memory evicted inline is only reusable after the quiescent point, so an iteration that had
  // to evict for each of its writes could run the arena dry; evicting here, ahead, it cannot.
  const double budget = static_cast<double>(memory_.budget());
  const auto headroom = static_cast<std::int64_t>(
      std::max(config_.headroom_fraction * budget, std::min(2.0 * static_cast<double>(allocated_), budget / 8)));
  allocated_ = 0;
  const std::int64_t deficit = headroom - (memory_.pool() + credit_);
  if (deficit > 0) {
    // Buckets that hold about twice the deficit, whatever the items' sizes.
    const auto limit = kHeadroomBucketsPerTick +
                       static_cast<std::size_t>(2.0 * table_.buckets() * static_cast<double>(deficit) / budget);
    // What this loop evicts comes back to the budget only after the quiescent point: count it
    // as returned, or a large deficit (a lowered limit) would evict twice what it needs.
    // Every context sees the same shared pool and evicts in its own tick: each takes its part of
    // the deficit, or together they would evict it once per context (a lowered limit emptied
    // the store).
    const std::int64_t retired_before = stats_.retired_bytes_delta.get();
    const std::int64_t part = deficit / std::max(1u, sh.attached.load(std::memory_order_relaxed)) + 1;
    const auto short_of_headroom = [&] {
      const std::int64_t evicted = stats_.retired_bytes_delta.get() - retired_before;
      return evicted < part && memory_.pool() + credit_ + evicted < headroom;
    };
    // This context's own items first: what they free comes back to its own heap, where its next
    // writes will need it (memory freed in another context's pages is reusable only there). A
    // context that owns too little to cover the deficit takes the rest from anyone's.
    std::size_t i = 0;
    for (; i < limit && short_of_headroom(); ++i) turn_hand(Sweep::kPolicyOwn);
    for (std::size_t j = 0; j < limit && short_of_headroom(); ++j) turn_hand(Sweep::kPolicy);
  }
}

}  // namespace ferrite::store
