// QSBR on its own: an object tagged with a grace period is reported safe only after every
// online thread has passed a quiescent point; offline threads do not hold it back.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/qsbr.h"

namespace ferrite {
namespace {

TEST(Qsbr, SafeOnlyAfterEveryOnlineThreadPasses) {
  Qsbr q(4);
  const unsigned a = q.register_thread();
  const unsigned b = q.register_thread();
  const std::uint64_t tag = q.advance();  // something unlinked before this
  q.quiescent(a);
  EXPECT_FALSE(tag < q.safe_below()) << "b has not passed a quiescent point";
  q.quiescent(b);
  EXPECT_TRUE(tag < q.safe_below());
}

TEST(Qsbr, OfflineThreadsDoNotHoldGracePeriods) {
  Qsbr q(4);
  const unsigned a = q.register_thread();
  const unsigned b = q.register_thread();
  q.offline(b);
  const std::uint64_t tag = q.advance();
  q.quiescent(a);
  EXPECT_TRUE(tag < q.safe_below());
  q.online(b);
  const std::uint64_t tag2 = q.advance();
  q.quiescent(a);
  EXPECT_FALSE(tag2 < q.safe_below());
  q.quiescent(b);
  EXPECT_TRUE(tag2 < q.safe_below());
}

TEST(Qsbr, SlotsAreReusedAndBounded) {
  Qsbr q(2);
  const unsigned a = q.register_thread();
  q.register_thread();
  EXPECT_THROW(q.register_thread(), std::runtime_error);
  q.unregister_thread(a);
  EXPECT_EQ(q.register_thread(), a);
}

// A reader holding a pointer across its critical section must never see the object freed.
TEST(QsbrConcurrent, ReaderNeverSeesFreedObject) {
  Qsbr q(4);
  struct Obj {
    std::atomic<int> alive{1};
  };
  std::atomic<Obj*> shared{new Obj};
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::thread reader([&] {
    const unsigned id = q.register_thread();
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < 64; ++i) {
        Obj* o = shared.load(std::memory_order_acquire);
        if (o->alive.load(std::memory_order_relaxed) != 1) bad.fetch_add(1);
      }
      q.quiescent(id);
    }
    q.unregister_thread(id);
  });
  const unsigned w = q.register_thread();
  std::vector<std::pair<Obj*, std::uint64_t>> retired;
  for (int i = 0; i < 20000; ++i) {
    Obj* fresh = new Obj;
    Obj* old = shared.exchange(fresh, std::memory_order_acq_rel);
    retired.push_back({old, 0});
    const std::uint64_t tag = q.advance();
    retired.back().second = tag;
    q.quiescent(w);
    const std::uint64_t safe = q.safe_below();
    std::erase_if(retired, [&](auto& r) {
      if (r.second >= safe) return false;
      r.first->alive.store(0, std::memory_order_relaxed);
      delete r.first;
      return true;
    });
  }
  stop = true;
  reader.join();
  q.offline(w);
  for (auto& r : retired) delete r.first;
  delete shared.load();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace ferrite
