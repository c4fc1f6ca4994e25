// Compiler helpers shared by every layer: branch hints, prefetch, cache-line size.
#pragma once

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

}  // namespace ferrite
