// A bounded single-producer single-consumer ring: one thread pushes, one other thread pops,
// neither waits. Workers use it to hand events and requests to side threads (and back) without
// a lock; a full ring refuses the push and the producer counts the drop.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

namespace ferrite {

template <typename T>
class SpscRing {
 public:
  // Capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) {
    std::size_t n = 2;
    while (n < capacity) n *= 2;
    mask_ = n - 1;
    slots_ = std::make_unique<T[]>(n);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const noexcept { return mask_ + 1; }

  // Producer side.
  bool push(const T& v) noexcept {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return false;
    }
    slots_[t & mask_] = v;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  // Producer side, in place (for slots too large to copy twice): the free slot to fill, or null
  // when the ring is full; publish() makes it visible.
  T* claim() noexcept {
    const std::size_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ > mask_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ > mask_) return nullptr;
    }
    return &slots_[t & mask_];
  }
  void publish() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer side, in place: the oldest slot or null; release() frees it.
  T* front() noexcept {
    const std::size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) return nullptr;
    }
    return &slots_[h & mask_];
  }
  void release() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Consumer side: how many slots are ready now, and the i-th of them (i < readable(); 0 is
  // front()), in place, to look ahead before releasing.
  std::size_t readable() noexcept {
    tail_cache_ = tail_.load(std::memory_order_acquire);
    return tail_cache_ - head_.load(std::memory_order_relaxed);
  }
  T* peek(std::size_t i) noexcept { return &slots_[(head_.load(std::memory_order_relaxed) + i) & mask_]; }

  // Consumer side.
  bool pop(T* out) noexcept {
    const std::size_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) return false;
    }
    *out = slots_[h & mask_];
    head_.store(h + 1, std::memory_order_release);
    return true;
  }
  // Either side: a momentary count.
  std::size_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  std::unique_ptr<T[]> slots_;
  std::size_t mask_ = 0;
  alignas(64) std::atomic<std::size_t> head_{0};
  std::size_t tail_cache_ = 0;  // consumer's view of tail_
  alignas(64) std::atomic<std::size_t> tail_{0};
  std::size_t head_cache_ = 0;  // producer's view of head_
};

}  // namespace ferrite
