// The management plane's rate window: one minute of samples, diffed into rates.
#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

#include "mgmt/rates.h"

namespace ferrite::mgmt {
namespace {

TEST(RateWindow, KeepsOneMinuteAndDiffsSamples) {
  RateWindow r;
  EXPECT_EQ(r.rates().ops_per_second, 0.0);
  for (int i = 0; i <= 100; ++i) {
    Sample s;
    s.mono_ms = static_cast<std::uint64_t>(i) * 1000;
    s.requests = i * 10;
    s.evictions = i < 50 ? 0 : (i - 50) * 6;
    s.hits = i * 3;
    s.misses = i;
    s.workers.push_back(WorkerSample{i * 10, i * 100, i * 400, 0});
    r.add(std::move(s));
  }
  EXPECT_EQ(r.size(), RateWindow::kSeconds + 1);
  const Rates x = r.rates();
  EXPECT_DOUBLE_EQ(x.window_seconds, 60.0);
  EXPECT_DOUBLE_EQ(x.ops_per_second, 10.0);
  EXPECT_DOUBLE_EQ(x.evictions_per_second, 6.0);
  EXPECT_DOUBLE_EQ(x.evictions_per_second_1m, 5.0);  // 300 evictions over the 60 s kept
  ASSERT_TRUE(x.hit_ratio_1m);
  EXPECT_DOUBLE_EQ(*x.hit_ratio_1m, 0.75);
  ASSERT_EQ(x.worker_busy_ratio.size(), 1u);
  EXPECT_DOUBLE_EQ(x.worker_busy_ratio[0], 0.25);
  EXPECT_DOUBLE_EQ(x.worker_busy_ratio_1m[0], 0.25);
}

}  // namespace
}  // namespace ferrite::mgmt
