// Compiler helpers shared by every layer: branch hints, prefetch, cache-line size.
#pragma once

#include <sched.h>

#include <cstddef>

#define FERRITE_LIKELY(x) __builtin_expect(!!(x), 1)
#define FERRITE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FERRITE_ALWAYS_INLINE inline __attribute__((always_inline))

namespace ferrite {

inline constexpr std::size_t kCacheLine = 64;

// Prefetch for reading; `locality` 3 keeps the line in every cache level.
FERRITE_ALWAYS_INLINE void prefetch_read(const void* p) { __builtin_prefetch(p, 0, 3); }
FERRITE_ALWAYS_INLINE void prefetch_write(const void* p) { __builtin_prefetch(p, 1, 3); }

// Spin-wait hint for retry loops.
FERRITE_ALWAYS_INLINE void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// One round of waiting for a lock another thread holds (round counts from 0): a pause for the
// first kSpinsBeforeYield rounds (a holder keeps a bucket for well under a microsecond), then the
// CPU is given away each round. On a box whose cores are shared (clients, the other workers) a
// holder that is still there after that was most likely preempted: spinning on would only keep
// it off the core it needs to finish. The yield is a syscall, but only on this contended path.
inline constexpr unsigned kSpinsBeforeYield = 512;
inline void spin_wait(unsigned round) noexcept {
  if (round < kSpinsBeforeYield) {
    cpu_relax();
  } else {
    sched_yield();
  }
}

}  // namespace ferrite
