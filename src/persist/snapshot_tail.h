// The redo tail of a fork-less snapshot: while a snapshot walks the table, every mutation the
// workers make is captured here as a record (persist/record.h) with a global capture sequence,
// and the snapshot thread drains it into the snapshot's tail blocks. Base (fuzzy) + tail applied
// in sequence order = the store at the moment the tail was closed (docs/persistence.md,
// "Snapshots").
//
// The workers' side is capture(): called from the MutationObserver of each context (in the
// daemon, the persistence observer forwards to it; in tests and snapshot-only mode, observer(p)
// is one). When no snapshot runs it is one load and a return. While one runs, it encodes the
// record into that context's own single-producer ring: no lock, no allocation, no system call.
// A ring too full for a record marks the tail overflowed (the snapshot then fails and says so;
// the worker never waits).
//
// Ordering: two workers mutate one key one after the other; the store reports stores, deletes
// and touches while it still holds the key's bucket lock, so a later mutation of the key always
// takes a later sequence. Expiries and evictions are reported after the lock and carry the
// version of the item they removed: the loader applies a removal or touch only to that version
// (TailApplier in persist/snapshot.h), which makes their order against later stores irrelevant.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace ferrite::persist {

class SnapshotTail {
 public:
  // `clock` turns the store's deadlines into Unix ms (partitions share one clock);
  // `partitions`: how many stores report to it; `ring_bytes`: each context's ring (allocated
  // when a snapshot opens the tail, freed when it is released).
  SnapshotTail(const store::Store& clock, unsigned partitions, std::size_t ring_bytes = std::size_t{8} << 20);
  ~SnapshotTail();
  SnapshotTail(const SnapshotTail&) = delete;
  SnapshotTail& operator=(const SnapshotTail&) = delete;

  // --- workers -------------------------------------------------------------------------------
  // Records the mutation when a snapshot is capturing; `context_id` is the context's id in
  // partition `partition`'s store (one thread per context: each pair has its own ring).
  void capture(unsigned partition, unsigned context_id, store::MutationKind kind, const store::Item* item) noexcept;
  // A MutationObserver forwarding to capture() for `partition` (set it on that partition's
  // contexts when nothing else observes them).
  store::MutationObserver* observer(unsigned partition) noexcept { return &observers_[partition]; }
  bool capturing() const noexcept { return capturing_.load(std::memory_order_relaxed); }

  // --- the snapshot thread -------------------------------------------------------------------
  // Allocates the rings and starts capturing (every mutation whose report runs after this
  // returns is captured).
  void open();
  // Stops capturing and waits for captures under way to finish (they never block).
  void close() noexcept;
  // Hands every captured entry (u64 sequence + record, contiguous) to `fn`, ring by ring, each
  // ring in its order; returns the entries handed over.
  using EntryFn = void (*)(void* arg, std::string_view entry);
  std::size_t drain(EntryFn fn, void* arg);
  // A ring had no room for a record since open(): the tail is incomplete.
  bool overflowed() const noexcept { return dropped_.load(std::memory_order_relaxed) != 0; }
  std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }
  // Frees the rings (after close() and the last drain()).
  void release() noexcept;

 private:
  struct Ring;
  class Forward final : public store::MutationObserver {
   public:
    void on_mutation(unsigned context_id, store::MutationKind kind, const store::Item* item) noexcept override {
      tail->capture(partition, context_id, kind, item);
    }
    SnapshotTail* tail = nullptr;
    unsigned partition = 0;
  };

  Ring* ring(unsigned partition, unsigned context_id) noexcept;
  std::size_t drain_ring(Ring& r, EntryFn fn, void* arg);

  const store::Store& clock_;
  const unsigned partitions_;
  const std::size_t ring_bytes_;
  std::atomic<bool> capturing_{false};
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::unique_ptr<Forward[]> observers_;
  std::unique_ptr<Ring[]> rings_;  // partitions_ * kRingsPerPartition
  std::vector<char> scratch_;     // drain(): an entry that wraps around its ring
};

}  // namespace ferrite::persist
