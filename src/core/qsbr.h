// Quiescent-state-based reclamation (QSBR).
//
// Readers of a shared structure never lock; a writer that unlinks an object cannot free it until
// every thread that might still hold a pointer to it has passed a quiescent point. A worker's
// loop iteration is such a point: between iterations it holds no pointer into the table.
//
//   global_ : the grace-period counter. A writer bumps it once per loop iteration in which it
//             unlinked something, and tags those objects with the value it replaced (t).
//   seen_[i]: the value of global_ that thread i read at its last quiescent point; 0 = offline.
//
// An object tagged t may be freed once every online thread has seen a value > t: each of them has
// passed a quiescent point after the bump that followed the unlink, so none can still reach it.
// The same idea as DPDK's rte_rcu_qsbr, without needing an EAL.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "core/compiler.h"

namespace ferrite {

class Qsbr {
 public:
  explicit Qsbr(unsigned max_threads);
  Qsbr(const Qsbr&) = delete;
  Qsbr& operator=(const Qsbr&) = delete;

  // Claims a slot; the thread starts online. Not for the hot path (takes a mutex).
  unsigned register_thread();
  void unregister_thread(unsigned id);

  // The thread holds no references into protected structures. Once per loop iteration.
  void quiescent(unsigned id) noexcept {
    slots_[id].seen.store(global_.load(std::memory_order_acquire), std::memory_order_release);
  }
  // An offline thread (idle, blocked in the kernel) does not hold grace periods back.
  void offline(unsigned id) noexcept { slots_[id].seen.store(0, std::memory_order_release); }
  void online(unsigned id) noexcept {
    // A read-modify-write: the thread's later reads cannot move above its announcement.
    slots_[id].seen.exchange(global_.load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  }

  // Starts a new grace period and returns the tag for everything unlinked before the call.
  // The read-modify-write is a full barrier: those unlinks are visible to any thread that
  // reads the new value, so a thread that has seen a value above the tag cannot reach them.
  std::uint64_t advance() noexcept { return global_.fetch_add(1, std::memory_order_seq_cst); }
  // Objects with a tag below the returned value may be freed.
  std::uint64_t safe_below() const noexcept;

  unsigned max_threads() const noexcept { return max_threads_; }

 private:
  struct alignas(kCacheLine) Slot {
    std::atomic<std::uint64_t> seen{0};
    bool used = false;  // guarded by mu_
  };

  const unsigned max_threads_;
  alignas(kCacheLine) std::atomic<std::uint64_t> global_{1};
  std::unique_ptr<Slot[]> slots_;
  std::mutex mu_;  // registration only
};

}  // namespace ferrite
