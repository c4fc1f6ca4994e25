// Per-core counters: each is written by exactly one thread and read by anyone.
//
// A Counter is a relaxed atomic used only through load and store, never a read-modify-write,
// so an increment compiles to a plain add on x86 and a reader on another thread sees a value
// that is at most a few increments old. Totals are summed when someone asks.
#pragma once

#include <atomic>
#include <cstdint>

namespace ferrite {

class Counter {
 public:
  void add(std::int64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(std::int64_t n = 1) noexcept { add(-n); }
  std::int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> v_{0};
};

}  // namespace ferrite
