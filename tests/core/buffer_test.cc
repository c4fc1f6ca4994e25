// core/buffer.h: growth, consume, shrinking (including to nothing), integer formatting.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "core/buffer.h"

namespace ferrite {
namespace {

TEST(Buffer, AppendsConsumesAndKeepsCapacity) {
  Buffer b;
  b.append("hello ");
  b.append_uint(42);
  b.push_back(' ');
  b.append_int(-7);
  EXPECT_EQ(b.view(), "hello 42 -7");
  const std::size_t cap = b.capacity();
  b.consume(6);
  EXPECT_EQ(b.view(), "42 -7");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), cap);
}

TEST(Buffer, FormatsExtremeIntegers) {
  Buffer b;
  b.append_uint(std::numeric_limits<std::uint64_t>::max());
  b.push_back(' ');
  b.append_int(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(b.view(), "18446744073709551615 -9223372036854775808");
}

TEST(Buffer, BigEndianIntegers) {
  Buffer b;
  b.append_be16(0x0102);
  b.append_be32(0x03040506);
  b.append_be64(0x0708090a0b0c0d0eULL);
  EXPECT_EQ(b.view(), std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e", 14));
}

TEST(Buffer, ShrinksAndStaysUsable) {
  Buffer b;
  b.append(std::string(1 << 20, 'x'));
  b.clear();
  b.shrink_to(4096);
  EXPECT_EQ(b.capacity(), 4096u);
  b.shrink_to(0);  // frees it: the buffer must still work afterwards (a use-after-free once)
  EXPECT_EQ(b.capacity(), 0u);
  b.append("again");
  EXPECT_EQ(b.view(), "again");
  b.clear();
  b.shrink_to(0);
  b.shrink_to(0);
}

TEST(Buffer, ShrinkKeepsContentThatFits) {
  Buffer b;
  b.append(std::string(100000, 'y'));
  b.shrink_to(1024);  // more content than that: unchanged
  EXPECT_EQ(b.size(), 100000u);
  b.consume(99990);
  b.shrink_to(1024);
  EXPECT_EQ(b.capacity(), 1024u);
  EXPECT_EQ(b.view(), "yyyyyyyyyy");
}

// Large buffers are mappings of their own, grown in place and given back to the system when
// shrunk or freed; buffer_bytes() follows every capacity change of this thread's buffers.
TEST(Buffer, LargeBuffersAreMappedAndCounted) {
  const std::int64_t at_start = buffer_bytes();
  {
    Buffer b;
    std::string want;
    for (int i = 0; i < 200; ++i) {
      const std::string piece(5000 + i, static_cast<char>('a' + i % 26));
      b.append(piece);
      want += piece;
    }
    EXPECT_EQ(b.view(), want);  // kept across heap -> mapping -> bigger mapping
    EXPECT_GE(b.capacity(), want.size());
    EXPECT_EQ(b.capacity() % 4096, 0u);
    EXPECT_EQ(buffer_bytes() - at_start, static_cast<std::int64_t>(b.capacity()));
    b.consume(want.size() - 100);
    b.shrink_to(b.size());  // mapping -> heap block
    EXPECT_EQ(b.capacity(), 100u);
    EXPECT_EQ(b.view(), want.substr(want.size() - 100));
    EXPECT_EQ(buffer_bytes() - at_start, 100);
    b.reserve(1 << 20);
    Buffer moved(std::move(b));
    EXPECT_EQ(moved.view(), want.substr(want.size() - 100));
    EXPECT_EQ(buffer_bytes() - at_start, static_cast<std::int64_t>(moved.capacity()));
  }
  EXPECT_EQ(buffer_bytes(), at_start);  // destroyed: all of it back
}

}  // namespace
}  // namespace ferrite
