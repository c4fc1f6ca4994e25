#include "keyspace.h"

#include <cmath>
#include <cstring>

namespace ferrite::bench {

namespace {

int decimal_digits(std::uint64_t v) {
  int n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

// log1p(x) / x, accurate near 0.
double helper1(double x) noexcept {
  if (std::fabs(x) > 1e-8) return std::log1p(x) / x;
  return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

// expm1(x) / x, accurate near 0.
double helper2(double x) noexcept {
  if (std::fabs(x) > 1e-8) return std::expm1(x) / x;
  return 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
}

}  // namespace

Keyspace::Keyspace(std::uint64_t keys, std::uint32_t key_size, std::uint32_t value_size, char prefix)
    : keys_(keys), key_size_(key_size), value_size_(value_size), prefix_(prefix) {}

std::string Keyspace::check(std::uint64_t keys, std::uint32_t key_size) {
  if (keys == 0) return "--keys must be at least 1";
  const int need = 1 + decimal_digits(keys - 1);
  if (key_size < static_cast<std::uint32_t>(need)) {
    return "--key-size " + std::to_string(key_size) + " is too short for " + std::to_string(keys) +
           " keys (needs at least " + std::to_string(need) + ")";
  }
  if (key_size > 250) return "--key-size must be at most 250 (memcached's key limit)";
  return {};
}

std::string_view Keyspace::key(std::uint64_t i, char* out) const noexcept {
  out[0] = prefix_;
  char* p = out + key_size_;
  while (p > out + 1) {
    *--p = static_cast<char>('0' + i % 10);
    i /= 10;
  }
  return {out, key_size_};
}

void Keyspace::digest(std::uint64_t i, char out[16]) noexcept {
  // splitmix64 finaliser: distinct indexes give distinct digests.
  std::uint64_t z = i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int k = 0; k < 16; ++k) out[k] = kHex[(z >> (60 - 4 * k)) & 0xF];
}

std::string_view Keyspace::value(std::uint64_t i, char* out) const noexcept {
  char d[16];
  digest(i, d);
  std::uint32_t n = 0;
  for (; n + 16 <= value_size_; n += 16) std::memcpy(out + n, d, 16);
  std::memcpy(out + n, d, value_size_ - n);
  return {out, value_size_};
}

bool Keyspace::value_matches(std::uint64_t i, std::string_view v) const noexcept {
  if (v.size() != value_size_) return false;
  char d[16];
  digest(i, d);
  std::size_t n = 0;
  for (; n + 16 <= v.size(); n += 16) {
    if (std::memcmp(v.data() + n, d, 16) != 0) return false;
  }
  return std::memcmp(v.data() + n, d, v.size() - n) == 0;
}

ZipfSampler::ZipfSampler(std::uint64_t n, double theta) : n_(n), theta_(theta) {
  h_x1_ = big_h(1.5) - 1.0;
  h_n_ = big_h(static_cast<double>(n_) + 0.5);
  s_ = 2.0 - big_h_inverse(big_h(2.5) - h(2.0));
}

double ZipfSampler::h(double x) const noexcept { return std::exp(-theta_ * std::log(x)); }

// The integral of h: (x^(1-theta) - 1) / (1-theta), and log(x) at theta == 1.
double ZipfSampler::big_h(double x) const noexcept {
  const double lx = std::log(x);
  return helper2((1.0 - theta_) * lx) * lx;
}

double ZipfSampler::big_h_inverse(double x) const noexcept {
  double t = x * (1.0 - theta_);
  if (t < -1.0) t = -1.0;  // rounding at the far end of the support
  return std::exp(helper1(t) * x);
}

std::uint64_t ZipfSampler::sample(Rng& rng) const noexcept {
  for (;;) {
    const double u = h_n_ + rng.next_double() * (h_x1_ - h_n_);
    const double x = big_h_inverse(u);
    auto k = static_cast<std::uint64_t>(x + 0.5);
    if (k < 1) {
      k = 1;
    } else if (k > n_) {
      k = n_;
    }
    const auto kd = static_cast<double>(k);
    if (kd - x <= s_ || u >= big_h(kd + 0.5) - h(kd)) return k;
  }
}

}  // namespace ferrite::bench
