// SCAN, RANDOMKEY and untouched reads: Context::scan_keys, random_item and peek (store.h).
#include <vector>

#include "store/store_internal.h"

namespace ferrite::store {

namespace {
// One shard's refs at a time (up to kMaxShardBuckets * kSlotsPerBucket): kept per thread, so a
// scan allocates once per worker, not per call.
std::vector<std::uint32_t>& scan_scratch() {
  thread_local std::vector<std::uint32_t> refs;
  if (refs.capacity() == 0) refs.reserve(std::size_t{Table::kMaxShardBuckets} * kSlotsPerBucket);
  return refs;
}
}  // namespace

std::uint64_t Context::scan_keys(std::uint64_t cursor, std::size_t shards, ItemFn fn, void* arg) noexcept {
  maybe_run_flush();
  const std::uint32_t total = table_.shards();
  if (cursor >= total) return 0;
  std::vector<std::uint32_t>& refs = scan_scratch();
  auto shard = static_cast<std::uint32_t>(cursor);
  for (std::size_t done = 0; shard < total && done < (shards == 0 ? 1 : shards); ++shard, ++done) {
    refs.clear();
    table_.snapshot_shard(shard, &refs, tx_holding_ ? &held_ : nullptr);
    for (const std::uint32_t ref : refs) {
      const Item* it = memory_.item_at(ref);  // safe to read until our next quiescent point
      if (liveness(it) == Liveness::kAlive) fn(arg, ItemView(it));
    }
  }
  return shard >= total ? 0 : shard;
}

ItemView Context::random_item() noexcept {
  maybe_run_flush();
  const std::uint32_t total = table_.shards();
  const std::uint32_t max = table_.shard_max();
  // A random bucket, then the slots from there on in its shard; a few shards at most.
  constexpr unsigned kTries = 16;
  for (unsigned t = 0; t < kTries; ++t) {
    const auto shard = static_cast<std::uint32_t>(rng_.next() % total);
    Location at;
    std::uint64_t next;
    const std::uint64_t first = std::uint64_t{shard} * max;
    if (!table_.at(first, &at, &next)) continue;
    const std::uint32_t n = Table::size_of(at.state);
    const auto start = static_cast<std::uint32_t>(rng_.next() % n);
    const auto slot0 = static_cast<unsigned>(rng_.next() % kSlotsPerBucket);
    for (std::uint32_t i = 0; i < n; ++i) {
      const Bucket& b = at.base[(start + i) % n];
      for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
        const std::uint32_t ref = b.ref[(slot0 + s) % kSlotsPerBucket].load(std::memory_order_acquire);
        if (ref == 0) continue;
        const Item* it = memory_.item_at(ref);
        if (liveness(it) == Liveness::kAlive) return ItemView(it);
      }
    }
  }
  // Mostly empty: the first live item in shard order from a random shard.
  struct First {
    ItemView found;
  } first;
  const auto from = static_cast<std::uint32_t>(rng_.next() % total);
  for (std::uint32_t i = 0; i < total && !first.found; ++i) {
    scan_keys((from + i) % total, 1, [](void* a, const ItemView& it) {
      auto* f = static_cast<First*>(a);
      if (!f->found) f->found = it;
    }, &first);
  }
  return first.found;
}

ItemView Context::peek(const KeyRef& key) noexcept {
  const bool was = no_touch_;
  no_touch_ = true;
  const ItemView it = get(key);
  no_touch_ = was;
  return it;
}

}  // namespace ferrite::store
