// What the append-only file's producer (aof_producer.cc) and writer (aof.cc) share: the order
// stamp's layout and the TSC read it is taken with. Internal to src/persist.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ferrite::persist::aof_detail {

// A producer's state word: bit 63 = idle; the rest, the watermark (every future record of that
// worker has a stamp >= it).
inline constexpr std::uint64_t kIdle = std::uint64_t{1} << 63;
inline constexpr std::uint64_t kStampMask = kIdle - 1;

inline std::uint64_t tsc_now() noexcept {
#if defined(__x86_64__)
  unsigned aux = 0;
  // rdtscp waits for every earlier instruction (the bucket lock's acquisition included) to
  // execute before it reads the counter.
  return __rdtscp(&aux) & kStampMask;
#else
  return 0;
#endif
}

}  // namespace ferrite::persist::aof_detail
