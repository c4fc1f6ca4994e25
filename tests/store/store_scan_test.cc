// SCAN and RANDOMKEY on the store: Context::scan_keys (whole shards, each a consistent
// snapshot), PartitionedContext::scan_keys across partitions, random_item, and reads that do not
// touch (peek, no-touch mode).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/partitions.h"
#include "store/store.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

using testing::Harness;
using testing::key_n;
using testing::scaled;

struct Seen {
  std::unordered_map<std::string, int> count;
  static void add(void* arg, const ItemView& it) { ++static_cast<Seen*>(arg)->count[std::string(it.key())]; }
};

// A whole scan, `shards` shards per call; each call ends with a quiescent point, as a request does.
template <typename Ctx>
Seen full_scan(Ctx& ctx, std::size_t shards, std::size_t* calls = nullptr) {
  Seen seen;
  std::uint64_t cursor = 0;
  std::size_t n = 0;
  do {
    cursor = ctx.scan_keys(cursor, shards, &Seen::add, &seen);
    ctx.quiescent();
    ++n;
  } while (cursor != 0 && n < 1'000'000);
  if (calls != nullptr) *calls = n;
  return seen;
}

TEST(StoreScan, EmptyStoreEndsAtOnce) {
  Harness h;
  std::size_t calls = 0;
  EXPECT_TRUE(full_scan(*h.ctx, 1000000, &calls).count.empty());
  EXPECT_EQ(calls, 1u);
  EXPECT_FALSE(h.ctx->random_item());
}

TEST(StoreScan, VisitsEveryKeyExactlyOnceWhenNothingChanges) {
  Harness h;
  constexpr int kKeys = 20000;
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(h.set(key_n("k", i), "v").status, Status::kOk);
  for (int t = 0; t < 8; ++t) h.ctx->tick();  // let the shards grow
  std::size_t calls = 0;
  const Seen seen = full_scan(*h.ctx, 1, &calls);
  EXPECT_EQ(calls, h.ctx->scan_shards());
  ASSERT_EQ(seen.count.size(), static_cast<std::size_t>(kKeys));
  for (const auto& [k, n] : seen.count) EXPECT_EQ(n, 1) << k;
}

TEST(StoreScan, SkipsExpiredAndDeletedItems) {
  Harness h;
  h.set("live", "1");
  h.set("gone", "1");
  h.set("soon", "1", SetMode::kSet, 0, Harness::kT0 + 10);
  ASSERT_EQ(h.ctx->del("gone"), Status::kOk);
  h.at(Harness::kT0 + 10);
  const Seen seen = full_scan(*h.ctx, 7);
  EXPECT_EQ(seen.count.size(), 1u);
  EXPECT_EQ(seen.count.count("live"), 1u);
}

TEST(StoreScan, CursorPastTheEndEndsTheScan) {
  Harness h;
  h.set("k", "v");
  Seen seen;
  EXPECT_EQ(h.ctx->scan_keys(h.ctx->scan_shards(), 1, &Seen::add, &seen), 0u);
  EXPECT_TRUE(seen.count.empty());
}

TEST(StoreScan, PartitionsAreScannedOneAfterAnother) {
  StoreConfig config = Harness::small_config();
  config.memory_limit = std::size_t{96} << 20;
  Partitions parts(config, 3);
  PartitionedContext ctx(parts, 0);
  ctx.set_now(Harness::kT0);
  constexpr int kKeys = 5000;
  for (int i = 0; i < kKeys; ++i) ASSERT_EQ(ctx.set(key_n("p", i), "v").status, Status::kOk);
  for (const std::size_t step : {std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
    const Seen seen = full_scan(ctx, step);
    ASSERT_EQ(seen.count.size(), static_cast<std::size_t>(kKeys)) << step;
    for (const auto& [k, n] : seen.count) EXPECT_EQ(n, 1) << k;
  }
  EXPECT_TRUE(ctx.valid_scan_cursor(0));
  EXPECT_TRUE(ctx.valid_scan_cursor(std::uint64_t{2} << 32));
  EXPECT_FALSE(ctx.valid_scan_cursor(std::uint64_t{3} << 32));
  EXPECT_FALSE(ctx.valid_scan_cursor(std::uint64_t{1} << 32 | 0xFFFFFFF));
  EXPECT_TRUE(ctx.random_item());
}

TEST(StoreScan, RandomItemFindsTheOnlyKey) {
  Harness h;
  h.set("only", "1");
  for (int i = 0; i < 20; ++i) {
    const ItemView it = h.ctx->random_item();
    ASSERT_TRUE(it);
    EXPECT_EQ(it.key(), "only");
    h.ctx->quiescent();
  }
  h.set("other", "1");
  std::unordered_set<std::string> got;
  for (int i = 0; i < 200 && got.size() < 2; ++i) {
    got.emplace(h.ctx->random_item().key());
    h.ctx->quiescent();
  }
  EXPECT_EQ(got.size(), 2u);
}

TEST(StoreScan, PeekAndNoTouchLeaveTheAccessByte) {
  StoreConfig config = Harness::small_config();
  config.policy = EvictionPolicy::kLfu;
  config.lfu_log_factor = 0;  // every hit counts
  Harness h(config);
  h.set("k", "v");
  auto access = [&] { return h.with_item("k", [](ItemView v) { return v.item()->load_access(); }); };
  const KeyRef k = make_key("k");
  const std::uint8_t a0 = h.ctx->peek(k).item()->load_access();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.ctx->peek(k));
  h.ctx->set_no_touch(true);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(h.ctx->get(k));
  h.ctx->set_no_touch(false);
  EXPECT_EQ(h.ctx->peek(k).item()->load_access(), a0);
  EXPECT_GT(access(), a0);  // an ordinary get counts
}

// The guarantee under fire: while another thread inserts (the shards grow, entries are displaced
// to their alternate bucket) and churns keys of its own, every key present for the whole scan is
// returned by every scan.
TEST(StoreScan, KeysPresentThroughoutAreSeenWhileTheTableGrows) {
  StoreConfig config = Harness::small_config();
  config.memory_limit = std::size_t{64} << 20;  // 52 shards of 16 buckets to start: they grow soon
  config.max_contexts = 4;
  Store store(config);
  const int stable_keys = static_cast<int>(scaled(20000, 2000));
  const int insert_keys = static_cast<int>(scaled(200000, 60000));
  {
    auto ctx = store.attach();
    ctx->set_now(Harness::kT0);
    for (int i = 0; i < stable_keys; ++i) ASSERT_EQ(ctx->set(key_n("stable:", i), "s").status, Status::kOk);
    ctx->quiescent();
  }
  std::atomic<bool> stop{false};
  std::int64_t grown_before = 0;
  std::thread writer([&] {
    auto ctx = store.attach();
    ctx->set_now(Harness::kT0);
    for (int i = 0; i < insert_keys && !stop.load(std::memory_order_relaxed); ++i) {
      ctx->set(key_n("new:", i), "n");
      if (i % 3 == 0) ctx->del(key_n("new:", i / 2));
      if (i % 64 == 0) {
        ctx->tick();
        ctx->quiescent();
      }
    }
    ctx->quiescent();
  });
  auto ctx = store.attach();
  ctx->set_now(Harness::kT0);
  grown_before = store.stats().table_slots_now;
  int scans = 0;
  std::size_t missing = 0;
  for (; scans < 200; ++scans) {
    const Seen seen = full_scan(*ctx, 3);
    for (int i = 0; i < stable_keys; ++i) {
      if (seen.count.count(key_n("stable:", i)) == 0) ++missing;
    }
    if (missing != 0) break;
    if (scans >= 3 && store.stats().table_slots_now > grown_before * 4) break;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(missing, 0u) << "after " << scans << " scans";
  EXPECT_GT(store.stats().table_slots_now, grown_before) << "the table did not grow during the scans";
  ctx.reset();
}

// The same at a fixed table near its load limit: a steady churn of inserts and deletes keeps
// entries moving between their two buckets (cuckoo displacement), so a scan that read the
// buckets one by one would miss stable keys moved from a bucket not yet read to one already read.
TEST(StoreScan, KeysPresentThroughoutAreSeenUnderDisplacement) {
  StoreConfig config = Harness::small_config();
  config.memory_limit = std::size_t{128} << 20;
  config.table_slots = 40960;
  Store store(config);
  const int stable_keys = 14000;
  constexpr int kWindow = 17000;
  {
    auto ctx = store.attach();
    ctx->set_now(Harness::kT0);
    for (int i = 0; i < stable_keys; ++i) ASSERT_EQ(ctx->set(key_n("stable:", i), "s").status, Status::kOk);
    for (int t = 0; t < 64; ++t) ctx->tick();
    ctx->quiescent();
  }
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    auto ctx = store.attach();
    ctx->set_now(Harness::kT0);
    for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      ctx->set(key_n("churn:", i), "c");
      if (i >= kWindow) ctx->del(key_n("churn:", i - kWindow));
      if (i % 64 == 0) {
        ctx->tick();
        ctx->quiescent();
      }
    }
    ctx->quiescent();
  });
  auto ctx = store.attach();
  ctx->set_now(Harness::kT0);
  const int scans = static_cast<int>(scaled(40, 8));
  std::size_t missing = 0;
  int done = 0;
  for (; done < scans && missing == 0; ++done) {
    const Seen seen = full_scan(*ctx, 1);
    for (int i = 0; i < stable_keys; ++i) missing += seen.count.count(key_n("stable:", i)) == 0 ? 1 : 0;
  }
  stop = true;
  writer.join();
  EXPECT_EQ(missing, 0u) << "after " << done << " scans";
  // The stable keys were never evicted (the table had room): each is still there.
  for (int i = 0; i < stable_keys; ++i) ASSERT_TRUE(ctx->get(key_n("stable:", i))) << i;
  ctx.reset();
}

}  // namespace
}  // namespace ferrite::store
