// SpscRing: bounded, FIFO, both the copying and the in-place (claim/publish, front/release)
// interfaces, and one producer thread against one consumer thread with nothing lost or reordered.
#include "core/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>

namespace ferrite {
namespace {

TEST(SpscRing, BoundedAndFifo) {
  SpscRing<int> r(3);  // rounded up to 4
  EXPECT_EQ(r.capacity(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.push(i));
  EXPECT_FALSE(r.push(99));
  EXPECT_EQ(r.claim(), nullptr);
  int v = -1;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.pop(&v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.pop(&v));
  EXPECT_EQ(r.front(), nullptr);
}

TEST(SpscRing, InPlaceSlots) {
  struct Big {
    int n = 0;
    char bytes[1000] = {};
  };
  SpscRing<Big> r(2);
  Big* a = r.claim();
  ASSERT_NE(a, nullptr);
  a->n = 7;
  EXPECT_EQ(r.front(), nullptr);  // not published yet
  r.publish();
  Big* b = r.claim();
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  b->n = 8;
  r.publish();
  EXPECT_EQ(r.claim(), nullptr);  // full
  ASSERT_NE(r.front(), nullptr);
  EXPECT_EQ(r.front()->n, 7);
  r.release();
  EXPECT_EQ(r.front()->n, 8);
  EXPECT_NE(r.claim(), nullptr);  // room again
  r.release();
  EXPECT_EQ(r.front(), nullptr);
}

TEST(SpscRing, ConsumerLooksAheadBeforeReleasing) {
  SpscRing<int> r(8);
  EXPECT_EQ(r.readable(), 0u);
  for (int i = 0; i < 3; ++i) {
    *r.claim() = 10 + i;
    r.publish();
  }
  ASSERT_EQ(r.readable(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(*r.peek(i), 10 + static_cast<int>(i));
  EXPECT_EQ(r.peek(0), r.front());
  r.release();
  ASSERT_EQ(r.readable(), 2u);
  EXPECT_EQ(*r.peek(0), 11);
  EXPECT_EQ(*r.peek(1), 12);
  for (int i = 0; i < 6; ++i) {  // round the ring: peek follows the head past the wrap
    *r.claim() = 20 + i;
    r.publish();
  }
  ASSERT_EQ(r.readable(), 8u);
  EXPECT_EQ(*r.peek(7), 25);
  r.release();
  r.release();
  EXPECT_EQ(*r.peek(0), 20);
  EXPECT_EQ(r.readable(), 6u);
}

TEST(SpscRing, ProducerAndConsumerThreads) {
  struct Slot {
    std::uint64_t seq;
    std::uint64_t check;
  };
  SpscRing<Slot> r(64);
  constexpr std::uint64_t kCount = 50'000;
  std::thread producer([&] {
    for (std::uint64_t i = 0; i < kCount;) {
      if (Slot* s = r.claim()) {
        s->seq = i;
        s->check = i * 0x9E3779B97F4A7C15ull;
        r.publish();
        ++i;
      }
    }
  });
  std::uint64_t next = 0;
  while (next < kCount) {
    if (Slot* s = r.front()) {
      ASSERT_EQ(s->seq, next);
      ASSERT_EQ(s->check, next * 0x9E3779B97F4A7C15ull);
      r.release();
      ++next;
    }
  }
  producer.join();
  EXPECT_EQ(r.front(), nullptr);
}

}  // namespace
}  // namespace ferrite
