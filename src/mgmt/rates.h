// The autoscaling signals: the management thread samples the counters once a second into a ring
// of the last minute, and rates come from differences between samples (a counter read twice,
// never reset). Over the last second: ops/s, evictions/s, each worker's busy ratio; over the
// last minute (or since start, when younger): hit ratio, evictions/s, busy ratios.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "engine/session.h"

namespace ferrite::mgmt {

struct WorkerSample {
  std::int64_t requests = 0;
  std::int64_t cycles_busy = 0, cycles_total = 0;
  std::int64_t connections = 0;
};

struct Sample {
  std::uint64_t mono_ms = 0;
  std::int64_t requests = 0, hits = 0, misses = 0;
  std::int64_t evictions = 0, refused = 0;
  std::int64_t bytes_read = 0, bytes_written = 0;
  std::vector<WorkerSample> workers;
};

// Reads the counters now (workers' and the store's).
Sample take_sample(const engine::Shared& shared, std::uint64_t mono_ms);

struct Rates {
  double window_seconds = 0;        // the span of the 1-minute figures (<= 60)
  double ops_per_second = 0;        // last second
  double evictions_per_second = 0;  // last second
  double evictions_per_second_1m = 0;
  double read_bytes_per_second = 0, written_bytes_per_second = 0;  // last second
  std::optional<double> hit_ratio_1m;                              // none when there was no get-type request
  std::vector<double> worker_ops_per_second;                       // last second
  std::vector<double> worker_busy_ratio;                           // last second, 0..1
  std::vector<double> worker_busy_ratio_1m;
};

class RateWindow {
 public:
  static constexpr std::size_t kSeconds = 60;
  // Keeps the sample (the oldest falls out once kSeconds + 1 are kept).
  void add(Sample s);
  // Rates from the samples kept; all zero until there are two.
  Rates rates() const;
  std::size_t size() const noexcept { return samples_.size(); }

 private:
  std::deque<Sample> samples_;
};

}  // namespace ferrite::mgmt
