// Transactions on the store (PartitionedContext::lock_keys / unlock_keys): the calls inside a
// transaction work on the keys it locked, nobody sees half of one (plain reads, batched reads),
// and transactions race each other, shard growth and eviction without deadlock. WATCH's
// live_version. The concurrent tests bound their run in time and fail (abort) on a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "store/partitions.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

using testing::key_n;
using Clock = std::chrono::steady_clock;

StoreConfig config(std::size_t mib, unsigned contexts) {
  StoreConfig c;
  c.memory_limit = mib << 20;
  c.max_contexts = contexts;
  return c;
}

long long number(const ItemView& v) { return v ? std::stoll(std::string(v.value())) : -1000000; }

// Fails the whole test binary if `done` is not set within `limit` (a deadlock would hang).
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit)
      : thread_([this, limit] {
          const auto end = Clock::now() + limit;
          while (!done_.load() && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(10));
          if (!done_.load()) {
            std::fprintf(stderr, "store_tx_test: no progress within the time bound (deadlock?)\n");
            std::abort();
          }
        }) {}
  ~Watchdog() {
    done_.store(true);
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

TEST(StoreTx, CallsInsideATransactionSeeAndChangeTheLockedKeys) {
  Partitions parts(config(64, 1), 2);
  PartitionedContext c(parts, 0);
  c.set_now(parts.now_ms());
  ASSERT_EQ(c.set("a", "10").status, Status::kOk);
  const KeyRef keys[] = {make_key("a"), make_key("b"), make_key("a"), make_key("c")};
  c.lock_keys(keys);
  EXPECT_TRUE(c.holding());
  EXPECT_EQ(number(c.get(keys[0])), 10);
  EXPECT_EQ(c.incr("a", 5).status, Status::kOk);
  EXPECT_EQ(c.set("b", "x").status, Status::kOk);
  EXPECT_EQ(c.set("b", "y").status, Status::kOk);
  EXPECT_EQ(c.del("c"), Status::kNotFound);
  EXPECT_FALSE(c.get("c"));  // a miss in buckets this context holds is trusted
  bool overflow = false;
  EXPECT_EQ(c.incr_signed("c", 2, &overflow).value, 2u);
  EXPECT_EQ(c.del("c"), Status::kOk);
  EXPECT_EQ(c.set("c", "z", {SetMode::kAdd}).status, Status::kOk);
  EXPECT_EQ(c.del("c"), Status::kOk);
  ItemView batch[2];
  const KeyRef two[] = {make_key("a"), make_key("b")};
  c.get_batch(two, batch);  // inside the transaction: no waiting on itself
  EXPECT_EQ(batch[0].value(), "15");
  EXPECT_EQ(batch[1].value(), "y");
  c.unlock_keys();
  EXPECT_FALSE(c.holding());
  EXPECT_EQ(number(c.get("a")), 15);
  EXPECT_EQ(c.get("b").value(), "y");
  EXPECT_FALSE(c.get("c"));
  // A key not locked is still served (not isolated).
  const KeyRef one[] = {make_key("a")};
  c.lock_keys(one);
  EXPECT_EQ(c.set("elsewhere", "1").status, Status::kOk);
  c.unlock_keys();
  EXPECT_EQ(c.get("elsewhere").value(), "1");
  c.quiescent();
}

TEST(StoreTx, LiveVersionFollowsWritesDeletesExpiryAndFlush) {
  Partitions parts(config(64, 1), 1);
  PartitionedContext c(parts, 0);
  const std::uint64_t t0 = parts.now_ms();
  c.set_now(t0);
  const KeyRef k = make_key("w");
  EXPECT_EQ(c.live_version(k), 0u);
  const SetResult r = c.set(k, "1");
  EXPECT_EQ(c.live_version(k), r.cas);
  EXPECT_NE(r.cas, 0u);
  const SetResult r2 = c.set(k, "1");  // the same value is still a change
  EXPECT_NE(c.live_version(k), r.cas);
  EXPECT_EQ(c.live_version(k), r2.cas);
  EXPECT_EQ(c.del("w"), Status::kOk);
  EXPECT_EQ(c.live_version(k), 0u);
  SetRequest ttl;
  ttl.expires_at_ms = t0 + 100;
  ASSERT_EQ(c.set(k, "v", ttl).status, Status::kOk);
  EXPECT_NE(c.live_version(k), 0u);
  c.set_now(t0 + 100);
  EXPECT_EQ(c.live_version(k), 0u);  // expired
  ASSERT_EQ(c.set(k, "v").status, Status::kOk);
  EXPECT_NE(c.live_version(k), 0u);
  c.flush();
  EXPECT_EQ(c.live_version(k), 0u);
  c.quiescent();
}

// Pairs of keys whose sum is constant; transactions move amounts between them (and through a
// third key of each pair written twice, whose intermediate value nobody may see), while readers
// check the sums with batched reads and the intermediate value with plain reads.
struct Pairs {
  static constexpr int kPairs = 4;
  static constexpr long long kTotal = 1000;
  static std::string a(int i) { return key_n("tx:a:", i); }
  static std::string b(int i) { return key_n("tx:b:", i); }
  static std::string mid(int i) { return key_n("tx:mid:", i); }
};

void run_transfers(Partitions& parts, unsigned writers, unsigned readers, std::chrono::milliseconds length,
                   bool churn) {
  {
    PartitionedContext c(parts, 0);
    c.set_now(parts.now_ms());
    for (int i = 0; i < Pairs::kPairs; ++i) {
      ASSERT_EQ(c.set(Pairs::a(i), std::to_string(Pairs::kTotal)).status, Status::kOk);
      ASSERT_EQ(c.set(Pairs::b(i), "0").status, Status::kOk);
      ASSERT_EQ(c.set(Pairs::mid(i), "final").status, Status::kOk);
    }
    c.quiescent();
    c.offline();
  }
  Watchdog dog(std::chrono::seconds(60));
  std::atomic<bool> stop{false};
  std::atomic<long long> transfers{0}, checks{0}, broken{0}, intermediate{0}, failed{0}, evicted{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      PartitionedContext c(parts, w % parts.count());
      Rng rng(w + 1);
      std::string filler(1000, 'f');
      for (long long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        c.set_now(parts.now_ms());
        const int i = static_cast<int>(rng.next() % Pairs::kPairs);
        const int j = static_cast<int>(rng.next() % Pairs::kPairs);
        // Two pairs at once (sometimes the same one), keys in a random order: lock order is the
        // store's business, not the caller's.
        const std::string ka = Pairs::a(i), kb = Pairs::b(j), km = Pairs::mid(i), kb2 = Pairs::b(i), ka2 = Pairs::a(j);
        KeyRef keys[] = {make_key(kb), make_key(ka), make_key(km), make_key(kb2), make_key(ka2)};
        if (rng.next() & 1) std::swap(keys[0], keys[4]);
        c.lock_keys(keys);
        // Move from a(i) to b(i), and from a(j) to b(j).
        for (const int p : {i, j}) {
          long long va = number(c.get(Pairs::a(p)));
          long long vb = number(c.get(Pairs::b(p)));
          if (churn && (va < -100000 || vb < -100000)) {  // evicted (a cache may): the pair starts over
            va = Pairs::kTotal;
            vb = 0;
            evicted.fetch_add(1);
          }
          const long long amount = static_cast<long long>(rng.next() % 7) - 3;
          if (c.set(Pairs::a(p), std::to_string(va - amount)).status != Status::kOk ||
              c.set(Pairs::b(p), std::to_string(vb + amount)).status != Status::kOk) {
            failed.fetch_add(1);
          }
        }
        if (c.set(km, "intermediate").status != Status::kOk || c.set(km, "final").status != Status::kOk) {
          failed.fetch_add(1);
        }
        c.unlock_keys();
        transfers.fetch_add(1, std::memory_order_relaxed);
        if (churn) {  // new keys: the table grows, and the small limit evicts
          for (int k = 0; k < 32; ++k) c.set(key_n(key_n("churn:", w) + ":", n * 32 + k), filler);
        }
        if ((n & 7) == 0) {
          c.tick();
          c.quiescent();
        }
      }
      c.quiescent();
      c.offline();
    });
  }
  for (unsigned r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      PartitionedContext c(parts, r % parts.count());
      KeyRef pair[2];
      ItemView got[2];
      for (long long n = 0; !stop.load(std::memory_order_relaxed); ++n) {
        c.set_now(parts.now_ms());
        const int i = static_cast<int>(n % Pairs::kPairs);
        const std::string ka = Pairs::a(i), kb = Pairs::b(i);
        pair[0] = make_key(ka);
        pair[1] = make_key(kb);
        c.get_batch(pair, got);
        // Under churn a key may be evicted, which is no transaction's doing: only pairs whole
        // are checked then.
        if (!churn || (got[0] && got[1])) {
          const long long sum = number(got[0]) + number(got[1]);
          if (sum != Pairs::kTotal) broken.fetch_add(1);
        }
        const ItemView m = c.get(Pairs::mid(i));
        if (churn ? (m && m.value() != "final") : (!m || m.value() != "final")) intermediate.fetch_add(1);
        checks.fetch_add(1, std::memory_order_relaxed);
        if ((n & 15) == 0) c.quiescent();
      }
      c.quiescent();
      c.offline();
    });
  }
  std::this_thread::sleep_for(length);
  // Under churn, run until the limit made the store evict (slower under a sanitizer), 20 s at most.
  for (const auto end = Clock::now() + std::chrono::seconds(20); churn && parts.stats().evictions == 0 && Clock::now() < end;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  EXPECT_EQ(broken.load(), 0) << "batched reads saw half a transaction";
  EXPECT_EQ(intermediate.load(), 0) << "plain reads saw a transaction's intermediate value";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(transfers.load(), 10);
  EXPECT_GT(checks.load(), 10);
  if (!churn) {
    PartitionedContext c(parts, 0);
    c.set_now(parts.now_ms());
    for (int i = 0; i < Pairs::kPairs; ++i) {
      EXPECT_EQ(number(c.get(Pairs::a(i))) + number(c.get(Pairs::b(i))), Pairs::kTotal) << i;
    }
    c.quiescent();
  }
}

TEST(StoreTxConcurrent, ATransactionBacksOffABucketHeldByAnotherAndGetsItOnceFree) {
  // Context 0 holds "k" in a transaction; context 1's transaction on "k" and "other" must not
  // spin for as long as that lasts: it lets its locks go and yields (tx_lock_backoffs), again and
  // again, and completes once context 0 unlocks.
  Partitions parts(config(64, 2), 2);
  PartitionedContext holder(parts, 0);
  holder.set_now(parts.now_ms());
  const KeyRef k[] = {make_key("k")};
  holder.lock_keys(k);
  std::atomic<bool> done{false};
  Watchdog dog(std::chrono::seconds(20));
  std::thread other([&] {
    PartitionedContext c(parts, 1);
    c.set_now(parts.now_ms());
    const KeyRef both[] = {make_key("other"), make_key("k")};
    c.lock_keys(both);
    EXPECT_EQ(c.set("k", "from-1").status, Status::kOk);
    c.unlock_keys();
    done.store(true);
    c.quiescent();
  });
  const auto until = Clock::now() + std::chrono::seconds(10);
  while (parts.stats().tx_lock_backoffs < 3 && Clock::now() < until) std::this_thread::yield();
  EXPECT_GE(parts.stats().tx_lock_backoffs, 3);
  EXPECT_FALSE(done.load());
  // While it backs off it holds nothing for long: a write to "other" (a key of its set, whose
  // buckets it may have taken before finding "k" busy) goes through even from inside this
  // transaction (which, without the back-off, would wait for it forever: a deadlock).
  EXPECT_EQ(holder.set("k", "from-0").status, Status::kOk);
  EXPECT_EQ(holder.set("other", "x").status, Status::kOk);
  holder.unlock_keys();
  other.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(holder.get("k").value(), "from-1");
  holder.quiescent();
}

TEST(StoreTxConcurrent, NobodySeesHalfATransaction) {
  Partitions parts(config(256, 7), 2);
  run_transfers(parts, 3, 3, std::chrono::milliseconds(testing::kSanitized ? 1500 : 1000), false);
}

TEST(StoreTxConcurrent, TransactionsRaceGrowthAndEvictionUnderASmallLimit) {
  // 64 MiB over 2 partitions, 5 contexts: the churn keys (1 KB values) fill it, the shards grow
  // from their first 16 buckets and the hand evicts, all while transactions hold their locks.
  Partitions parts(config(64, 5), 2);
  run_transfers(parts, 2, 2, std::chrono::milliseconds(testing::kSanitized ? 2500 : 1500), true);
  const StoreStats st = parts.stats();
  EXPECT_GT(st.table_growths, 0);
  EXPECT_GT(st.evictions, 0);
}

}  // namespace
}  // namespace ferrite::store
