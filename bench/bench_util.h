// Helpers shared by the bench binaries: fixed-width keys, RSS, a fast Zipf sampler.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include <unistd.h>

namespace ferrite::bench {

inline constexpr std::size_t kKeyLen = 16;
inline constexpr std::size_t kValueLen = 32;

// Writes key number `id` as 16 bytes: 'k' followed by 15 lower-case hex digits.
inline void format_key(std::uint64_t id, char* out) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  out[0] = 'k';
  for (int i = 15; i >= 1; --i) {
    out[i] = kHex[id & 0xF];
    id >>= 4;
  }
}

// A 32-byte value (the content does not matter to the store).
inline std::string_view value32() noexcept {
  static constexpr char kValue[] = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";
  static_assert(sizeof(kValue) - 1 == kValueLen);
  return {kValue, kValueLen};
}

// Resident set size in bytes, from /proc/self/statm (second field, in pages).
inline std::size_t rss_bytes() noexcept {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<std::size_t>(resident) * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// splitmix64: seeds and cheap mixing.
inline std::uint64_t splitmix64(std::uint64_t& s) noexcept {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform integer in [0, n) by Lemire's multiply-shift (bias is negligible for our n).
__extension__ typedef unsigned __int128 u128;
inline std::uint64_t uniform_below(std::uint64_t r, std::uint64_t n) noexcept {
  return static_cast<std::uint64_t>((static_cast<u128>(r) * n) >> 64);
}

// Zipf(s) over ranks 1..n by rejection-inversion (W. Hörmann, G. Derflinger, "Rejection-inversion
// to generate variates from monotone discrete distributions", 1996) — the method of Apache Commons
// RejectionInversionZipfSampler. O(1) per sample, no table, exact distribution P(k) ∝ k^-s.
class ZipfSampler {
 public:
  ZipfSampler(std::uint64_t n, double s) : n_(static_cast<double>(n)), s_(s) {
    h_integral_x1_ = h_integral(1.5) - 1.0;
    h_integral_n_ = h_integral(n_ + 0.5);
    s_const_ = 2.0 - h_integral_inverse(h_integral(2.5) - h(2.0));
  }

  // `u` uniform in [0, 1); returns a rank in [1, n].
  template <typename UniformFn>
  std::uint64_t sample(UniformFn&& next_uniform) const noexcept {
    for (;;) {
      const double u = h_integral_n_ + next_uniform() * (h_integral_x1_ - h_integral_n_);
      const double x = h_integral_inverse(u);
      double k = std::floor(x + 0.5);
      if (k < 1.0) k = 1.0;
      else if (k > n_) k = n_;
      if (k - x <= s_const_ || u >= h_integral(k + 0.5) - h(k)) {
        return static_cast<std::uint64_t>(k);
      }
    }
  }

 private:
  // h(x) = x^-s; H(x) = the integral of h, written to be accurate when s is near 1.
  double h(double x) const noexcept { return std::exp(-s_ * std::log(x)); }
  double h_integral(double x) const noexcept {
    const double log_x = std::log(x);
    return helper2((1.0 - s_) * log_x) * log_x;
  }
  double h_integral_inverse(double x) const noexcept {
    double t = x * (1.0 - s_);
    if (t < -1.0) t = -1.0;  // numerical guard
    return std::exp(helper1(t) * x);
  }
  // log1p(x)/x, with its limit 1 at 0.
  static double helper1(double x) noexcept {
    return std::abs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
  }
  // expm1(x)/x, with its limit 1 at 0.
  static double helper2(double x) noexcept {
    return std::abs(x) > 1e-8 ? std::expm1(x) / x : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
  }

  double n_, s_;
  double h_integral_x1_, h_integral_n_, s_const_;
};

}  // namespace ferrite::bench
