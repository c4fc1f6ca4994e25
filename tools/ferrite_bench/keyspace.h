// The keys a run uses, the value stored under each, and how the next key is drawn.
//
// Key i is a one-letter prefix ("k" unless told otherwise: the RESP type workloads use "c" for
// their counters and "h" for their hashes, so that runs of different workloads against one server
// do not meet each other's keys) followed by i in decimal, zero-padded to exactly key_size bytes,
// so every key has the same length and keys of different runs with the same settings are the
// same keys. The value
// of key i is a 16-character hex digest of i repeated to value_size bytes: a reply that carries
// another key's value, a truncated value or stray bytes does not match and counts as an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/rng.h"

namespace ferrite::bench {

class Keyspace {
 public:
  Keyspace(std::uint64_t keys, std::uint32_t key_size, std::uint32_t value_size, char prefix = 'k');

  // Empty if key_size can hold the prefix and the largest index; else what is wrong.
  static std::string check(std::uint64_t keys, std::uint32_t key_size);

  std::uint64_t keys() const noexcept { return keys_; }
  std::uint32_t key_size() const noexcept { return key_size_; }
  std::uint32_t value_size() const noexcept { return value_size_; }

  // Writes key i to out (key_size bytes) and returns it.
  std::string_view key(std::uint64_t i, char* out) const noexcept;
  // Writes the value of key i to out (value_size bytes) and returns it.
  std::string_view value(std::uint64_t i, char* out) const noexcept;
  bool value_matches(std::uint64_t i, std::string_view v) const noexcept;

 private:
  static void digest(std::uint64_t i, char out[16]) noexcept;

  std::uint64_t keys_;
  std::uint32_t key_size_;
  std::uint32_t value_size_;
  char prefix_;
};

// Zipf over ranks 1..n with exponent theta > 0 (P(k) proportional to k^-theta), by rejection-
// inversion (Hormann and Derflinger, "Rejection-inversion to generate variates from monotone
// discrete distributions", 1996): O(1) per sample with no table, about 1.1 tries on average.
class ZipfSampler {
 public:
  ZipfSampler(std::uint64_t n, double theta);
  // A rank in 1..n.
  std::uint64_t sample(Rng& rng) const noexcept;

 private:
  double h(double x) const noexcept;
  double big_h(double x) const noexcept;
  double big_h_inverse(double x) const noexcept;

  std::uint64_t n_;
  double theta_;
  double h_x1_;
  double h_n_;
  double s_;
};

// Draws key indexes in [0, keys): uniform, or Zipf with rank r mapped to index r - 1 (key 0 is
// the hottest).
class KeyChooser {
 public:
  KeyChooser(std::uint64_t keys, bool zipf, double theta)
      : keys_(keys), zipf_(zipf), sampler_(keys, zipf ? theta : 1.0) {}

  std::uint64_t next(Rng& rng) const noexcept {
    if (zipf_) return sampler_.sample(rng) - 1;
    // Multiply-shift: uniform in [0, keys) without a division.
    __extension__ using U128 = unsigned __int128;
    return static_cast<std::uint64_t>((static_cast<U128>(rng.next()) * keys_) >> 64);
  }

 private:
  std::uint64_t keys_;
  bool zipf_;
  ZipfSampler sampler_;
};

}  // namespace ferrite::bench
