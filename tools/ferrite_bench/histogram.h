// A log-linear latency histogram in the style of HdrHistogram: values below 256 ns have their own
// bucket, above that every power of two is split into 128 equal buckets, so a reported percentile
// (the highest value its bucket can hold) is at most 1/128 (0.8%) above the true value, from 1 ns
// up to 2^40 ns (18 minutes; larger values are clamped there). Recording is one array increment;
// per-thread histograms are merged once at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferrite::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 8;  // exact below 2^8, then 2^7 buckets per power of two
  static constexpr std::uint64_t kSub = std::uint64_t{1} << kSubBits;  // values below this are exact
  static constexpr std::uint64_t kHalf = kSub / 2;
  static constexpr int kMaxBits = 40;  // largest value tracked: 2^40 - 1 ns
  static constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << kMaxBits) - 1;
  static constexpr std::size_t kBuckets = static_cast<std::size_t>(kMaxBits - kSubBits + 1) * kHalf + kSub;

  void record(std::uint64_t v) noexcept {
    if (v > kMaxValue) v = kMaxValue;
    ++counts_[index_of(v)];
    ++count_;
    sum_ += v;
    if (v > max_) max_ = v;
    if (v < min_) min_ = v;
  }

  void merge(const Histogram& o) noexcept;

  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return count_ ? max_ : 0; }
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  double mean() const noexcept {
    return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0;
  }
  // The smallest recorded value v such that at least fraction q (0..1) of the values are <= v, as
  // the highest value of v's bucket (never below the true percentile), capped at max().
  std::uint64_t percentile(double q) const noexcept;

  static std::size_t index_of(std::uint64_t v) noexcept {
    if (v < kSub) return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - (kSubBits - 1);
    return static_cast<std::size_t>(shift) * kHalf + static_cast<std::size_t>(v >> shift);
  }
  // The lowest and highest value that land in bucket i.
  static std::uint64_t bucket_low(std::size_t i) noexcept;
  static std::uint64_t bucket_high(std::size_t i) noexcept;

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
};

}  // namespace ferrite::bench
