// engine/memcache_semantics.h: memcached's failed-set rule, incr/decr with create, CAS
// arithmetic, and the one retry policy of a create that loses to another client.
#include "engine/memcache_semantics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "../engine_test_util.h"

namespace ferrite::engine {
namespace {

using store::Status;

class MemcacheSemantics : public ::testing::Test {
 protected:
  MemcacheSemantics() : h_(std::size_t{64} << 20, 1024) {}
  store::PartitionedContext& ctx() { return h_.ctx(); }
  std::string value_of(std::string_view key) {
    const store::ItemView v = ctx().get(key);
    return v ? std::string(v.value()) : std::string("<missing>");
  }
  void put(std::string_view key, std::string_view value, std::uint32_t flags = 0, std::uint64_t deadline = 0) {
    store::SetRequest r;
    r.flags = flags;
    r.expires_at_ms = deadline;
    ASSERT_EQ(ctx().set(key, value, r).status, Status::kOk);
  }

  testing::SessionHarness h_;
};

TEST_F(MemcacheSemantics, FailedSetUnlinksTheOldValueWhenTheCommandSaysSo) {
  put("k", "old");
  const std::string big(2000, 'v');  // over the harness's 1024-byte item limit
  EXPECT_EQ(memcache_set(ctx(), "k", big, {}, /*unlink=*/true).status, Status::kTooLarge);
  EXPECT_EQ(value_of("k"), "<missing>");
}

TEST_F(MemcacheSemantics, FailedSetKeepsTheOldValueOtherwise) {
  put("k", "old");
  const std::string big(2000, 'v');
  store::SetRequest add;
  add.mode = store::SetMode::kReplace;
  EXPECT_EQ(memcache_set(ctx(), "k", big, add, /*unlink=*/false).status, Status::kTooLarge);
  EXPECT_EQ(value_of("k"), "old");
}

TEST_F(MemcacheSemantics, OnlyAFailureForRoomUnlinks) {
  put("k", "old");
  store::SetRequest add;
  add.mode = store::SetMode::kAdd;
  EXPECT_EQ(memcache_set(ctx(), "k", "new", add, true).status, Status::kNotStored);
  EXPECT_EQ(value_of("k"), "old");
  store::SetRequest cas;
  cas.mode = store::SetMode::kCas;
  cas.cas = ctx().get("k").cas() + 1000;
  EXPECT_EQ(memcache_set(ctx(), "k", "new", cas, true).status, Status::kExists);
  EXPECT_EQ(value_of("k"), "old");
  const store::SetResult ok = memcache_set(ctx(), "k", "new", {}, true);
  EXPECT_EQ(ok.status, Status::kOk);
  EXPECT_EQ(ok.cas, ctx().get("k").cas());
  EXPECT_EQ(value_of("k"), "new");
  EXPECT_TRUE(store_failed_for_room(Status::kNoMemory));
  EXPECT_TRUE(store_failed_for_room(Status::kTooLarge));
  EXPECT_FALSE(store_failed_for_room(Status::kNotStored));
}

TEST_F(MemcacheSemantics, CounterAppliesTheDeltaAsTheStoreDoes) {
  put("n", "10");
  CounterRequest c;
  c.delta = 5;
  CounterResult r = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 15u);
  EXPECT_EQ(r.cas, ctx().get("n").cas());
  EXPECT_FALSE(r.created);
  c.decrement = true;
  c.delta = 100;
  EXPECT_EQ(memcache_counter(ctx(), "n", c).value, 0u);  // decr stops at 0
  put("n", "18446744073709551615");
  c.decrement = false;
  c.delta = 2;
  EXPECT_EQ(memcache_counter(ctx(), "n", c).value, 1u);  // incr wraps
  put("t", "text");
  EXPECT_EQ(memcache_counter(ctx(), "t", c).status, Status::kNonNumeric);
}

TEST_F(MemcacheSemantics, MissingCounterIsNotFoundWithoutCreate) {
  CounterRequest c;
  c.delta = 1;
  c.initial = 7;
  const CounterResult r = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kNotFound);
  EXPECT_FALSE(r.create_failed);
  EXPECT_EQ(value_of("n"), "<missing>");
}

TEST_F(MemcacheSemantics, CreateStoresTheInitialValueWithoutTheDelta) {
  CounterRequest c;
  c.delta = 5;
  c.create = true;
  c.initial = 42;
  c.flags = 9;
  c.expires_at_ms = ctx().now_ms() + 60000;
  const CounterResult r = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.value, 42u);
  EXPECT_TRUE(r.deadline_known);
  EXPECT_EQ(r.expires_at_ms, c.expires_at_ms);
  const store::ItemView v = ctx().get("n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "42");
  EXPECT_EQ(v.flags(), 9u);
  EXPECT_EQ(v.cas(), r.cas);
  EXPECT_NE(v.expires_at_ms(), 0u);
  // the second time the key exists: the delta applies
  const CounterResult again = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(again.value, 47u);
  EXPECT_FALSE(again.created);
}

TEST_F(MemcacheSemantics, CreateThatCannotBeStoredSaysSo) {
  // a 20-digit initial value in a store whose items hold at most 10 bytes
  testing::SessionHarness tiny(std::size_t{64} << 20, 10);
  CounterRequest c;
  c.create = true;
  c.initial = 12345678901234567890u;
  const CounterResult r = memcache_counter(tiny.ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kTooLarge);
  EXPECT_TRUE(r.create_failed);
  EXPECT_FALSE(tiny.ctx().get("n"));
}

TEST_F(MemcacheSemantics, CasArithmeticAppliesOnlyToThatVersion) {
  put("n", "10", 3, ctx().now_ms() + 60000);
  const store::ItemView before = ctx().get("n");
  const std::uint64_t cas = before.cas();
  const std::uint64_t deadline = before.expires_at_ms();
  CounterRequest c;
  c.delta = 1;
  c.check_cas = true;
  c.cas = cas + 1;
  EXPECT_EQ(memcache_counter(ctx(), "n", c).status, Status::kExists);
  EXPECT_EQ(value_of("n"), "10");
  c.cas = 0;  // no item has version 0
  EXPECT_EQ(memcache_counter(ctx(), "n", c).status, Status::kExists);
  c.cas = cas;
  const CounterResult r = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 11u);
  EXPECT_NE(r.cas, cas);
  EXPECT_TRUE(r.deadline_known);
  EXPECT_EQ(r.expires_at_ms, deadline);
  const store::ItemView v = ctx().get("n");
  EXPECT_EQ(v.value(), "11");
  EXPECT_EQ(v.flags(), 3u);  // flags and deadline kept
  EXPECT_EQ(v.expires_at_ms(), deadline);
  EXPECT_EQ(memcache_counter(ctx(), "n", c).status, Status::kExists);  // that version is gone
  put("t", "text");
  c.cas = ctx().get("t").cas();
  EXPECT_EQ(memcache_counter(ctx(), "t", c).status, Status::kNonNumeric);
}

TEST_F(MemcacheSemantics, CasArithmeticOnAMissingKeyCreatesWhenAsked) {
  CounterRequest c;
  c.check_cas = true;
  c.cas = 12345;
  EXPECT_EQ(memcache_counter(ctx(), "n", c).status, Status::kNotFound);
  c.create = true;
  c.initial = 5;
  const CounterResult r = memcache_counter(ctx(), "n", c);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_TRUE(r.created);
  EXPECT_EQ(value_of("n"), "5");
}

// The retry policy: clients racing to create the same counter all succeed; exactly one of them
// created it (its delta not applied), every other one's delta is applied to it. The threads meet
// at a barrier before each key, so that their misses and creates overlap (with a policy that gave
// up after a lost create, some of these requests fail).
TEST(MemcacheSemanticsRace, RacingCreatesAllSucceedAndNoDeltaIsLost) {
  store::StoreConfig cfg;
  cfg.memory_limit = std::size_t{64} << 20;
  cfg.max_contexts = 2;
  store::Partitions parts(cfg, 1);
  constexpr int kThreads = 2;
  constexpr int kRounds = 20000;
  std::atomic<int> created{0}, applied{0}, failed{0};
  std::atomic<int> arrived{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      store::PartitionedContext ctx(parts, 0);
      for (int i = 0; i < kRounds; ++i) {
        const std::string key = "ctr" + std::to_string(i);
        // barrier: both threads are at round i
        arrived.fetch_add(1);
        while (arrived.load() < kThreads * (i + 1)) std::this_thread::yield();
        CounterRequest c;
        c.delta = 1;
        c.create = true;
        c.initial = 1000;
        const CounterResult r = memcache_counter(ctx, key, c);
        if (r.status != Status::kOk) {
          failed.fetch_add(1);
        } else if (r.created) {
          created.fetch_add(1);
        } else {
          applied.fetch_add(1);
        }
        ctx.quiescent();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), kRounds);  // one creator per key
  EXPECT_EQ(applied.load(), (kThreads - 1) * kRounds);
  store::PartitionedContext ctx(parts, 0);
  for (int i = 0; i < kRounds; ++i) {
    const store::ItemView v = ctx.get("ctr" + std::to_string(i));
    ASSERT_TRUE(v);
    ASSERT_EQ(v.value(), std::to_string(1000 + kThreads - 1)) << i;
  }
}

}  // namespace
}  // namespace ferrite::engine
