// Time sources. Workers read the clock once per loop iteration and hand the value to the
// store, so the store itself never calls into the kernel and tests can drive time by hand.
#pragma once

#include <cstdint>

namespace ferrite {

// Milliseconds on CLOCK_MONOTONIC (vDSO, no syscall on Linux).
std::uint64_t monotonic_ms() noexcept;

// Milliseconds since the Unix epoch on CLOCK_REALTIME (vDSO, no syscall on Linux).
std::uint64_t unix_ms() noexcept;

// Reads the time stamp counter where the CPU has one (x86), else a monotonic nanosecond count.
// Inline: the workers read it several times per loop iteration and per request.
#if defined(__x86_64__)
inline std::uint64_t cycles() noexcept { return __builtin_ia32_rdtsc(); }
#else
std::uint64_t cycles() noexcept;
#endif

}  // namespace ferrite
