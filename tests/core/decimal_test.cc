// core/decimal.h: the decimal text of 64-bit integers, and Redis's strict signed rule.
#include "core/decimal.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace ferrite {
namespace {

std::string u64_text(std::uint64_t v) {
  char buf[kU64Chars];
  return {buf, format_u64(v, buf)};
}

std::string i64_text(std::int64_t v) {
  char buf[kI64Chars];
  return {buf, format_i64(v, buf)};
}

TEST(Decimal, FormatsUnsigned) {
  EXPECT_EQ(u64_text(0), "0");
  EXPECT_EQ(u64_text(7), "7");
  EXPECT_EQ(u64_text(10), "10");
  EXPECT_EQ(u64_text(1234567890), "1234567890");
  EXPECT_EQ(u64_text(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(u64_text(std::numeric_limits<std::uint64_t>::max()).size(), kU64Chars);
  EXPECT_EQ(DecimalText(42).view(), "42");
  EXPECT_EQ(DecimalText(0).view(), "0");
}

TEST(Decimal, FormatsSigned) {
  EXPECT_EQ(i64_text(0), "0");
  EXPECT_EQ(i64_text(-1), "-1");
  EXPECT_EQ(i64_text(42), "42");
  EXPECT_EQ(i64_text(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(i64_text(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(i64_text(std::numeric_limits<std::int64_t>::min()).size(), kI64Chars);
}

TEST(Decimal, FormatThenParseRoundTrips) {
  for (const std::int64_t v : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{99},
                               std::int64_t{-100}, std::numeric_limits<std::int64_t>::max(),
                               std::numeric_limits<std::int64_t>::min()}) {
    std::int64_t back = 12345;
    ASSERT_TRUE(parse_i64_strict(i64_text(v), &back)) << v;
    EXPECT_EQ(back, v);
  }
}

TEST(Decimal, StrictParseAcceptsRedisIntegers) {
  std::int64_t v = 0;
  EXPECT_TRUE(parse_i64_strict("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(parse_i64_strict("-5", &v));
  EXPECT_EQ(v, -5);
  EXPECT_TRUE(parse_i64_strict("9223372036854775807", &v));
  EXPECT_EQ(v, std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(parse_i64_strict("-9223372036854775808", &v));
  EXPECT_EQ(v, std::numeric_limits<std::int64_t>::min());
}

TEST(Decimal, StrictParseRefusesWhatRedisRefuses) {
  // Each would be "value is not an integer or out of range" in Redis; *out stays as it was.
  for (const char* s : {"", "-", "+1", " 1", "1 ", "01", "00", "-0", "-01", "1a", "a", "1.0", "0x10",
                        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
                        "99999999999999999999", "123456789012345678901"}) {
    std::int64_t v = 77;
    EXPECT_FALSE(parse_i64_strict(s, &v)) << '"' << s << '"';
    EXPECT_EQ(v, 77) << '"' << s << '"';
  }
  std::int64_t v = 77;
  EXPECT_FALSE(parse_i64_strict(std::string_view("1\0", 2), &v));
}

}  // namespace
}  // namespace ferrite
