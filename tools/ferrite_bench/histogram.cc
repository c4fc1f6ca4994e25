#include "histogram.h"

#include <cmath>

namespace ferrite::bench {

void Histogram::merge(const Histogram& o) noexcept {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  if (o.count_ != 0) {
    if (o.max_ > max_) max_ = o.max_;
    if (o.min_ < min_) min_ = o.min_;
  }
}

std::uint64_t Histogram::bucket_low(std::size_t i) noexcept {
  if (i < kSub) return i;
  const std::size_t shift = i / kHalf - 1;
  const std::uint64_t mantissa = i - shift * kHalf;  // kHalf .. kSub-1
  return mantissa << shift;
}

std::uint64_t Histogram::bucket_high(std::size_t i) noexcept {
  if (i < kSub) return i;
  const std::size_t shift = i / kHalf - 1;
  return bucket_low(i) + (std::uint64_t{1} << shift) - 1;
}

std::uint64_t Histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (q <= 0) return min_;
  if (q >= 1) return max_;
  // Rank of the value wanted, 1-based: ceil(q * count).
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t high = bucket_high(i);
      return high < max_ ? high : max_;
    }
  }
  return max_;
}

}  // namespace ferrite::bench
