// A snapshot taken while two writers mutate the store (sets, hashes, deletes, touches, counters
// on keys both writers share): base + tail loaded into a fresh store equals the source at the
// snapshot's moment, every key's value, flags, type and deadline.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "persist/snapshot.h"
#include "snapshot_test_util.h"
#include "store/hash_value.h"

namespace ferrite::persist {
namespace {

using testing::diff;
using testing::key_n;
using testing::dump;
using testing::TempDir;
using testing::test_config;

bool sanitized() {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
  return true;
#else
  return false;
#endif
#else
  return false;
#endif
}

struct Writers {
  store::Partitions* parts = nullptr;
  SnapshotTail* tail = nullptr;
  int keys = 0;
  std::atomic<bool> run{true};
  std::atomic<std::uint64_t> ops{0};
  std::atomic<std::uint64_t> ops_at_walk_end{0};
  std::vector<std::thread> threads;

  void start(int n) {
    for (int t = 0; t < n; ++t) threads.emplace_back([this, t] { loop(t); });
  }
  void stop() {
    run.store(false);
    for (auto& th : threads) th.join();
    threads.clear();
  }

  void loop(int t) {
    store::PartitionedContext ctx(*parts, 0);
    for (unsigned p = 0; p < ctx.count(); ++p) ctx.at(p).set_observer(tail->observer(p));
    std::mt19937_64 rng(1000 + static_cast<std::uint64_t>(t));
    store::hash::Scratch scratch;
    std::uint64_t n = 0;
    while (run.load(std::memory_order_relaxed)) {
      ctx.set_now(parts->now_ms());
      for (int i = 0; i < 64; ++i) {
        const std::string key = key_n("k", rng() % static_cast<std::uint64_t>(keys));
        const std::uint64_t deadline = rng() % 3 == 0 ? parts->now_ms() + 3'600'000 + rng() % 100'000 : 0;
        switch (rng() % 8) {
          case 0:
          case 1:
          case 2: {
            store::SetRequest req;
            req.flags = static_cast<std::uint32_t>(rng() % 4);
            req.expires_at_ms = deadline;
            std::string value(rng() % 120, static_cast<char>('a' + t));
            value += std::to_string(n);
            ctx.set(key, value, req);
            break;
          }
          case 3: {
            const std::string f = key_n("f", static_cast<unsigned long long>(rng() % 4)), v = std::to_string(n);
            const store::hash::Pair pair{f, v};
            store::hash::set({}, {&pair, 1}, scratch);
            store::SetRequest req;
            req.type = store::ItemType::kHash;
            ctx.set(key, scratch.out, req);
            break;
          }
          case 4: ctx.del(key); break;
          case 5: ctx.touch(key, deadline); break;
          case 6: {
            bool overflow = false;
            ctx.incr_signed(key, 1, &overflow);
            break;
          }
          default: {
            store::SetRequest req;
            req.mode = store::SetMode::kAppend;
            ctx.set(key, "+", req);
            break;
          }
        }
        ++n;
      }
      ops.fetch_add(64, std::memory_order_relaxed);
      ctx.tick();
      ctx.quiescent();
      // A steady load rather than a flood: the box's two cores also run the snapshot thread.
      ctx.offline();
      std::this_thread::sleep_for(std::chrono::microseconds(500));
      ctx.online();
    }
    ctx.offline();
  }
};

void snapshot_under_writers(unsigned partitions) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  store::Partitions src(test_config(), partitions);
  const int items = sanitized() ? 20'000 : 200'000;
  {
    store::PartitionedContext ctx(src, 0);
    ctx.set_now(src.now_ms());
    for (int i = 0; i < items; ++i) {
      ctx.set(key_n("k", static_cast<unsigned long long>(i)), std::string(40 + i % 60, 'p'));
      if (i % 256 == 0) ctx.quiescent();
    }
    ctx.quiescent();
    ctx.offline();
  }
  SnapshotTail tail(src.at(0), partitions, std::size_t{32} << 20);
  Writers w;
  w.parts = &src;
  w.tail = &tail;
  w.keys = items;
  w.start(2);
  // The writers keep going through the walk and stop at its end, before the tail closes: the
  // store then holds the snapshot's moment.
  SnapshotOptions opt;
  opt.block_bytes = 256 << 10;
  opt.on_walked = [](void* a) {
    auto* wr = static_cast<Writers*>(a);
    wr->ops_at_walk_end.store(wr->ops.load());
    wr->stop();
  };
  opt.on_walked_arg = &w;
  // Let the writers get going before the walk starts.
  for (int i = 0; i < 2000 && w.ops.load() < 10'000; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::uint64_t ops_before = w.ops.load();
  const SnapshotResult r = write_snapshot(src, &tail, dir.path(), 1, opt);
  ASSERT_EQ(r.error, "");
  EXPECT_GT(w.ops_at_walk_end.load(), ops_before) << "no write overlapped the walk";
  EXPECT_GT(r.tail_records, 0u);
  std::printf("snapshot under 2 writers: %llu items, %llu tail records, %.3f s, %llu ops during the walk\n",
              static_cast<unsigned long long>(r.items), static_cast<unsigned long long>(r.tail_records),
              r.seconds, static_cast<unsigned long long>(w.ops_at_walk_end.load() - ops_before));

  const testing::Dump want = dump(src);
  // A roomy table: filled in a snapshot's order (the source's bucket order), a table of the
  // default size here evicted 1 to 4 items of 195,000 because both their buckets were full (the
  // source, filled in key order, none); the loader counts them (l.evicted), this test wants 0.
  store::StoreConfig big_table = test_config();
  big_table.table_slots = std::size_t{8} << 20;
  store::Partitions dst(big_table, partitions);
  const LoadResult l = load_snapshot(r.path, dst, {.threads = 2});
  ASSERT_EQ(l.error, "");
  EXPECT_EQ(l.refused, 0u);
  EXPECT_EQ(l.evicted, 0u);
  // The source evicted nothing, and neither may the copy.
  EXPECT_EQ(src.stats().evictions, 0u);
  EXPECT_EQ(dst.stats().evictions, 0u) << dst.stats().table_full_evictions << " because both buckets were full";
  const testing::Dump got = dump(dst);
  EXPECT_EQ(got.size(), want.size());
  EXPECT_EQ(diff(want, got), "");
}

TEST(SnapshotConcurrent, BaseAndTailEqualTheStoreAtTheEnd) { snapshot_under_writers(1); }

TEST(SnapshotConcurrent, TwoPartitions) { snapshot_under_writers(2); }

}  // namespace
}  // namespace ferrite::persist
