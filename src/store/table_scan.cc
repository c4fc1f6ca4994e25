// Table::snapshot_shard: one shard's refs as of one instant, for SCAN (see table.h).
#include <algorithm>
#include <vector>

#include "core/compiler.h"
#include "store/table.h"

namespace ferrite::store {

namespace {
void append_refs(const Bucket* base, std::uint32_t n, std::vector<std::uint32_t>* out) {
  for (std::uint32_t b = 0; b < n; ++b) {
    for (const auto& r : base[b].ref) {
      const std::uint32_t ref = r.load(std::memory_order_acquire);
      if (ref != 0) out->push_back(ref);
    }
  }
}
}  // namespace

void Table::snapshot_shard(std::uint32_t shard, std::vector<std::uint32_t>* out,
                           const std::vector<const Bucket*>* held) const {
  // A bucket the caller holds (its transaction's, sorted by address) changes only by the
  // caller's hand: it is as good as an even one, and it is neither locked nor unlocked here.
  const auto holds = [&](const Bucket* b) {
    return held != nullptr && std::binary_search(held->begin(), held->end(), b);
  };
  const std::size_t keep = out->size();
  std::uint32_t versions[kMaxShardBuckets];
  for (unsigned attempt = 0; attempt < kSnapshotTries; ++attempt) {
    out->resize(keep);
    const std::uint64_t st = state_[shard].load(std::memory_order_acquire);
    const Bucket* base = array(st);
    const std::uint32_t n = size_of(st);
    if ((st & kFrozen) != 0) {  // its grower holds every bucket: fixed since it froze
      append_refs(base, n, out);
      return;
    }
    // Seqlock over the whole shard: each bucket's refs are read between two equal, even reads
    // of its version, and every first read comes before every second one, so each bucket is
    // copied as it was at the moment between the two passes, the same moment for all of them.
    bool ok = true;
    for (std::uint32_t b = 0; b < n && ok; ++b) {
      const std::uint32_t v = base[b].version.load(std::memory_order_acquire);
      if ((v & 1u) != 0 && !holds(&base[b])) {
        ok = false;
        break;
      }
      versions[b] = v;
      for (const auto& r : base[b].ref) {
        const std::uint32_t ref = r.load(std::memory_order_acquire);
        if (ref != 0) out->push_back(ref);
      }
    }
    if (ok) {
      std::atomic_thread_fence(std::memory_order_acquire);
      for (std::uint32_t b = 0; b < n; ++b) {
        if (base[b].version.load(std::memory_order_relaxed) != versions[b]) {
          ok = false;
          break;
        }
      }
    }
    if (ok) return;
    cpu_relax();
  }
  // Writers keep changing the shard: take every bucket of its array, ascending like every
  // writer and the grower (no lock-order cycle); a shard that grows meanwhile is read again.
  // Inside a transaction (held != nullptr) the caller already holds locks out of that order, so
  // it only try-locks, and another transaction waiting for one of its buckets may hold one of
  // these for as long as it lives: after kSnapshotTries rounds the shard is read as it is (SCAN
  // and KEYS inside MULTI are not atomic; docs/protocol.md, Transactions).
  for (unsigned round = 0;; ++round) {
    out->resize(keep);
    const std::uint64_t st = state_[shard].load(std::memory_order_acquire);
    Bucket* base = array(st);
    const std::uint32_t n = size_of(st);
    if ((st & kFrozen) != 0) {
      append_refs(base, n, out);
      return;
    }
    std::uint32_t locked = 0;
    if (held != nullptr && round >= kSnapshotTries) {
      append_refs(base, n, out);
      return;
    }
    while (locked < n &&
           (holds(&base[locked]) || (held != nullptr ? try_lock(base[locked]) : lock(shard, st, base[locked])))) {
      ++locked;
    }
    if (locked == n) append_refs(base, n, out);
    for (std::uint32_t b = 0; b < locked; ++b) {
      if (!holds(&base[b])) unlock(base[b]);
    }
    if (locked == n) return;
    cpu_relax();
  }
}

}  // namespace ferrite::store
