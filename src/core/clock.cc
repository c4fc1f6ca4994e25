#include "core/clock.h"

#include <time.h>

namespace ferrite {
namespace {
std::uint64_t read_ms(clockid_t id) noexcept {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000000u;
}
}  // namespace

std::uint64_t monotonic_ms() noexcept { return read_ms(CLOCK_MONOTONIC); }
std::uint64_t unix_ms() noexcept { return read_ms(CLOCK_REALTIME); }

#if !defined(__x86_64__)
std::uint64_t cycles() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}
#endif

}  // namespace ferrite
