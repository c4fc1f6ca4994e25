// Partitions: every key in exactly one partition, found from any worker's context; stats, memory
// limits, flush, scan and the clock across partitions; the partition function's balance and its
// independence from the table's bucket bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/partitions.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

StoreConfig small(std::size_t mib = 64, unsigned contexts = 2) {
  StoreConfig c;
  c.memory_limit = mib << 20;
  c.max_contexts = contexts;
  return c;
}

using testing::key_n;
std::string key(int i) { return key_n("key:", i); }

TEST(PartitionFunction, BalancedForEveryCount) {
  for (unsigned count = 2; count <= 5; ++count) {
    std::vector<int> per(count, 0);
    constexpr int kKeys = 100'000;
    for (int i = 0; i < kKeys; ++i) ++per[partition_of_hash(make_key(key(i)).hash, count)];
    for (unsigned p = 0; p < count; ++p) {
      EXPECT_NEAR(per[p], kKeys / static_cast<int>(count), kKeys / 50) << "count " << count << " partition " << p;
    }
  }
  EXPECT_EQ(partition_of_hash(12345, 1), 0u);
}

TEST(PartitionFunction, EachPartitionUsesTheWholeTable) {
  // The keys of one partition must still spread over all of that partition's buckets: the
  // partition is not a range of the bits the table indexes buckets with.
  Table t(1 << 16);
  std::vector<int> hits(t.buckets(), 0);
  int in_partition = 0;
  for (int i = 0; i < 400'000; ++i) {
    const std::uint64_t h = make_key(key(i)).hash;
    if (partition_of_hash(h, 2) != 1) continue;
    ++in_partition;
    const Location loc = t.locate(h);  // a new table: every shard at its first size
    ++hits[std::size_t{loc.shard} * Table::size_of(loc.state) + loc.b1];
  }
  const auto empty = std::count(hits.begin(), hits.end(), 0);
  // ~30 keys per bucket on average: an unbiased spread leaves no bucket empty.
  EXPECT_GT(in_partition, 190'000);
  EXPECT_EQ(empty, 0);
}

TEST(Partitions, EveryKeyLivesInExactlyOnePartitionAndEveryWorkerFindsIt) {
  Partitions parts(small(64, 2), 2);
  ASSERT_EQ(parts.count(), 2u);
  PartitionedContext a(parts, 0), b(parts, 1);
  a.set_now(parts.now_ms());
  b.set_now(parts.now_ms());
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(a.set(key(i), key_n("v", i)).status, Status::kOk);
  int in[2] = {0, 0};
  for (int i = 0; i < 2000; ++i) {
    const ItemView v = b.get(key(i));
    ASSERT_TRUE(v) << key(i);
    EXPECT_EQ(v.value(), key_n("v", i));
    const unsigned p = parts.partition_of(key(i));
    ++in[p];
    // The owning partition has it; the other one does not.
    EXPECT_TRUE(b.at(p).get(key(i)));
    EXPECT_FALSE(b.at(1 - p).get(key(i)));
  }
  EXPECT_GT(in[0], 800);
  EXPECT_GT(in[1], 800);
  EXPECT_EQ(parts.at(0).stats().items + parts.at(1).stats().items, 2000);
  EXPECT_EQ(parts.stats().items, 2000);
  EXPECT_EQ(parts.stats().sets, 2000);
  a.quiescent();
  b.quiescent();
}

TEST(Partitions, EveryKeyedOperationGoesToTheKeysPartition) {
  Partitions parts(small(64, 1), 3);
  PartitionedContext c(parts, 2);
  c.set_now(parts.now_ms());
  for (int i = 0; i < 300; ++i) {
    const std::string k = key(i);
    ASSERT_EQ(c.set(k, "10").status, Status::kOk);
    EXPECT_EQ(c.incr(k, 5).value, 15u);
    bool overflow = false;
    EXPECT_EQ(c.incr_signed(k, -3, &overflow).value, 12u);
    EXPECT_EQ(c.touch(k, c.now_ms() + 60'000), Status::kOk);
    const ItemView g = c.gat(k, 0);
    ASSERT_TRUE(g);
    EXPECT_EQ(g.value(), "12");
    EXPECT_EQ(c.at(parts.partition_of(k)).get(k).value(), "12");
  }
  for (int i = 0; i < 300; i += 2) EXPECT_EQ(c.del(key(i)), Status::kOk);
  EXPECT_EQ(parts.stats().items, 150);
  c.quiescent();
}

TEST(Partitions, GetBatchAnswersInOrderAcrossPartitionsAndLargeBatches) {
  Partitions parts(small(64, 1), 2);
  PartitionedContext c(parts, 0);
  c.set_now(parts.now_ms());
  for (int i = 0; i < 300; i += 3) ASSERT_EQ(c.set(key(i), key(i)).status, Status::kOk);
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back(key(i));
  std::vector<KeyRef> keys;
  for (const auto& n : names) keys.push_back(make_key(n));
  std::vector<ItemView> out(keys.size());
  c.get_batch(keys, out.data());  // 300 keys: several batches per partition
  for (int i = 0; i < 300; ++i) {
    if (i % 3 == 0) {
      ASSERT_TRUE(out[static_cast<std::size_t>(i)]) << i;
      EXPECT_EQ(out[static_cast<std::size_t>(i)].key(), key(i));
    } else {
      EXPECT_FALSE(out[static_cast<std::size_t>(i)]) << i;
    }
  }
  c.quiescent();
}

TEST(Partitions, MemoryIsSplitEvenlyAndChangedAllOrNothing) {
  Partitions parts(small(64, 1), 2);
  EXPECT_EQ(parts.memory_limit(), std::size_t{64} << 20);
  EXPECT_EQ(parts.at(0).memory_limit(), std::size_t{32} << 20);
  EXPECT_EQ(parts.config().memory_limit, std::size_t{64} << 20);
  EXPECT_EQ(parts.stats().memory_limit, std::int64_t{64} << 20);
  EXPECT_EQ(parts.set_memory_limit(std::size_t{40} << 20), "");
  EXPECT_EQ(parts.at(1).memory_limit(), std::size_t{20} << 20);
  const std::string err = parts.set_memory_limit(std::size_t{100} << 20);  // above the start-up limit
  EXPECT_NE(err.find("partitions"), std::string::npos) << err;
  EXPECT_EQ(parts.at(0).memory_limit(), std::size_t{20} << 20);
  EXPECT_EQ(parts.at(1).memory_limit(), std::size_t{20} << 20);
  parts.set_policy(EvictionPolicy::kLfu);
  EXPECT_EQ(parts.at(1).policy(), EvictionPolicy::kLfu);
  EXPECT_EQ(parts.policy(), EvictionPolicy::kLfu);
}

TEST(Partitions, RefusesUnusableCounts) {
  EXPECT_THROW(Partitions(small(64, 1), 0), std::invalid_argument);
  EXPECT_THROW(Partitions(small(64, 1), kMaxPartitions + 1), std::invalid_argument);
  try {
    Partitions p(small(8, 1), 2);
    FAIL() << "8 MiB cannot be split in two";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("per partition"), std::string::npos) << e.what();
  }
}

TEST(Partitions, FlushAndSweepReachEveryPartition) {
  Partitions parts(small(64, 1), 2);
  PartitionedContext c(parts, 0);
  c.set_now(parts.now_ms());
  for (int i = 0; i < 500; ++i) c.set(key(i), "v");
  c.flush(0);
  c.sweep_flushed();
  EXPECT_EQ(parts.stats().items, 0);
  for (int i = 0; i < 500; ++i) EXPECT_FALSE(c.get(key(i)));
  c.quiescent();
}

TEST(Partitions, SweepFlushedSomeFinishesEveryPartition) {
  Partitions parts(small(64, 1), 2);
  PartitionedContext c(parts, 0);
  c.set_now(parts.now_ms());
  for (int i = 0; i < 5000; ++i) c.set(key(i), "v");
  c.flush(0);
  int calls = 0;
  while (!c.sweep_flushed_some(16) && calls < 1'000'000) ++calls;
  EXPECT_GT(calls, 1);
  EXPECT_EQ(parts.stats().items, 0);
  c.quiescent();
}

TEST(Partitions, ScanVisitsEveryItemOnce) {
  Partitions parts(small(64, 1), 3);
  PartitionedContext c(parts, 1);
  c.set_now(parts.now_ms());
  for (int i = 0; i < 1000; ++i) c.set(key(i), "v");
  std::multiset<std::string> seen;
  std::uint64_t cursor = 0;
  int calls = 0;
  do {
    c.scan(&cursor, 4096, [](void* arg, const ItemView& it) {
      static_cast<std::multiset<std::string>*>(arg)->insert(std::string(it.key()));
    }, &seen);
    ASSERT_LT(++calls, 10'000);
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 1000u);
  c.quiescent();
}

TEST(Partitions, OneClockForEveryPartition) {
  Partitions parts(small(64, 1), 2);
  EXPECT_EQ(parts.at(0).to_unix_ms(1000), parts.at(1).to_unix_ms(1000));
  PartitionedContext c(parts, 0);
  const std::uint64_t now = parts.now_ms();
  c.set_now(now);
  // A deadline computed once holds for keys of both partitions.
  SetRequest r;
  r.expires_at_ms = now + 100;
  for (int i = 0; i < 50; ++i) c.set(key(i), "v", r);
  c.set_now(now + 99);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(c.get(key(i))) << i;
  c.set_now(now + 100);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(c.get(key(i))) << i;
  c.quiescent();
}

TEST(Partitions, WrapsOneExistingStore) {
  Store st(small(16, 1));
  Partitions parts(st);
  EXPECT_EQ(parts.count(), 1u);
  PartitionedContext c(parts, 0);
  c.set_now(parts.now_ms());
  c.set("k", "v");
  EXPECT_EQ(st.stats().items, 1);
  EXPECT_EQ(&parts.at(0), &st);
  c.quiescent();
}

TEST(PartitionsConcurrent, WorkersOfBothPartitionsWriteAndReadEveryKey) {
  // Two threads, each homed on its own partition, increment shared counters spread over both
  // partitions: no increment is lost whichever partition a counter lives in.
  // Three allocating threads (this one sets the counters up): three contexts' worth of arena.
  Partitions parts(small(64, 3), 2);
  constexpr int kCounters = 64;
  const int rounds = static_cast<int>(testing::scaled(2000, 50));
  {
    PartitionedContext c(parts, 0);
    c.set_now(parts.now_ms());
    for (int i = 0; i < kCounters; ++i) ASSERT_EQ(c.set(key(i), "0").status, Status::kOk);
    c.quiescent();
  }
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      PartitionedContext c(parts, w);
      for (int r = 0; r < rounds; ++r) {
        c.set_now(parts.now_ms());
        for (int i = 0; i < kCounters; ++i) EXPECT_EQ(c.incr(key(i), 1).status, Status::kOk);
        c.tick();
        c.quiescent();
      }
      c.offline();
    });
  }
  for (auto& t : threads) t.join();
  PartitionedContext c(parts, 1);
  c.set_now(parts.now_ms());
  for (int i = 0; i < kCounters; ++i) {
    const ItemView v = c.get(key(i));
    ASSERT_TRUE(v);
    EXPECT_EQ(v.value(), std::to_string(2 * rounds)) << key(i);
  }
  c.quiescent();
}

}  // namespace
}  // namespace ferrite::store
