// The timing wheel on its own: entries surface when due (cascading ones earlier, to be re-filed),
// across every level, with bounded pops, and its block memory is charged and given back.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "store/wheel.h"

namespace ferrite::store {
namespace {

struct Charges {
  std::int64_t bytes = 0;
  std::int64_t limit = INT64_MAX;
  static bool fn(void* self, std::int64_t delta) noexcept {
    auto* c = static_cast<Charges*>(self);
    if (delta > 0 && c->bytes + delta > c->limit) return false;
    c->bytes += delta;
    return true;
  }
};

std::vector<WheelEntry> drain(TimingWheel& w) {
  std::vector<WheelEntry> out;
  WheelEntry buf[7];
  for (std::size_t n; (n = w.pop_pending(buf, 7)) > 0;) out.insert(out.end(), buf, buf + n);
  return out;
}

TEST(TimingWheel, EntriesSurfaceByTheirDeadlineAcrossLevels) {
  Charges charges;
  const std::uint64_t start = 1000;
  TimingWheel w(start, &Charges::fn, &charges);
  std::mt19937_64 rng(7);
  std::map<std::uint32_t, std::uint64_t> deadline;  // id -> deadline ms
  // Deadlines spread over every level: ms, seconds, minutes, hours, days, and past the top.
  const std::uint64_t spans[] = {5, 400, 30'000, 2'000'000, 100'000'000, 20'000'000'000ull};
  std::uint32_t id = 0;
  for (std::uint64_t span : spans) {
    for (int i = 0; i < 200; ++i, ++id) {
      const std::uint64_t d = start + 1 + rng() % span;
      deadline[id] = d;
      ASSERT_TRUE(w.insert({id, 1, 0}, d));
    }
  }
  EXPECT_EQ(w.size(), deadline.size());
  EXPECT_GT(charges.bytes, 0);
  // Due slots and higher-level slots that roll over come back as pending entries; the store
  // re-files each by the item's own deadline, as done here. An entry must surface no later than
  // the first check at which it is due, and be re-filed only a bounded number of times.
  std::map<std::uint32_t, std::uint64_t> fired;
  std::map<std::uint32_t, int> surfaced;
  std::uint64_t now = start, prev = start;
  while (fired.size() < deadline.size() && now < start + 30'000'000'000ull) {
    prev = now;
    now += 1 + rng() % (now < start + 1'000'000 ? 50 : 5'000'000);
    w.advance(now, SIZE_MAX);
    for (const WheelEntry& e : drain(w)) {
      const std::uint64_t d = deadline.at(e.place);
      ++surfaced[e.place];
      if (now < d) {
        ASSERT_TRUE(w.insert(e, d));
        continue;
      }
      EXPECT_LT(prev, d + 8) << "entry " << e.place << " stayed in the wheel past a check where it was due";
      EXPECT_TRUE(fired.emplace(e.place, now).second) << "entry " << e.place << " fired twice";
    }
  }
  for (const auto& [entry, n] : surfaced) EXPECT_LE(n, 8) << "entry " << entry << " re-filed too often";
  EXPECT_EQ(fired.size(), deadline.size());
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimingWheel, PastDeadlinesAreDueImmediately) {
  Charges charges;
  TimingWheel w(5000, &Charges::fn, &charges);
  ASSERT_TRUE(w.insert({1, 1, 0}, 10));
  ASSERT_TRUE(w.insert({2, 1, 0}, 5000));
  EXPECT_EQ(drain(w).size(), 2u);
}

TEST(TimingWheel, PopIsBoundedAndResumes) {
  Charges charges;
  TimingWheel w(0, &Charges::fn, &charges);
  for (std::uint32_t i = 0; i < 1000; ++i) ASSERT_TRUE(w.insert({i, 1, 0}, 100));
  w.advance(200);
  WheelEntry buf[64];
  std::size_t total = 0;
  for (int round = 0; round < 100; ++round) {
    const std::size_t n = w.pop_pending(buf, 64);
    EXPECT_LE(n, 64u);
    total += n;
    if (n == 0) break;
  }
  EXPECT_EQ(total, 1000u);
}

TEST(TimingWheel, RefusesWhenMemoryIsRefusedAndGivesItBack) {
  Charges charges;
  charges.limit = TimingWheel::kBlockBytes;  // one block only
  {
    TimingWheel w(0, &Charges::fn, &charges);
    std::size_t ok = 0;
    for (std::uint32_t i = 0; i < 200; ++i) ok += w.insert({i, 1, 0}, 1'000'000) ? 1 : 0;
    EXPECT_EQ(ok, TimingWheel::kBlockEntries);
    EXPECT_EQ(charges.bytes, static_cast<std::int64_t>(TimingWheel::kBlockBytes));
  }
  EXPECT_EQ(charges.bytes, 0);
}

}  // namespace
}  // namespace ferrite::store
