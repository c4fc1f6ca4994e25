// parse_size / format_size: the spellings operators use, and everything else refused.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/size.h"

namespace ferrite {
namespace {

TEST(ParseSize, AcceptsBytesAndBinaryUnits) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1073741824"), 1073741824u);
  EXPECT_EQ(parse_size("64KiB"), 64u << 10);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("64KB"), 64u << 10);
  EXPECT_EQ(parse_size("1MiB"), 1u << 20);
  EXPECT_EQ(parse_size("1 GiB"), std::uint64_t{1} << 30);
  EXPECT_EQ(parse_size("512M"), std::uint64_t{512} << 20);
  EXPECT_EQ(parse_size("2T"), std::uint64_t{2} << 40);
  EXPECT_EQ(parse_size("7B"), 7u);
}

TEST(ParseSize, RefusesEverythingElse) {
  for (const char* bad : {"", " ", "GiB", "-1", "1.5GiB", "1 GiB ", "1gib", "1GiBs", "1 2", "0x10", "1e9",
                          "18446744073709551616", "16777216TiB", "99999999999999999999999"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << '"' << bad << '"';
  }
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parse_size("16777215TiB"), std::uint64_t{16777215} << 40);
}

TEST(FormatSize, LargestExactUnitAndRoundTrip) {
  EXPECT_EQ(format_size(0), "0");
  EXPECT_EQ(format_size(1000), "1000");
  EXPECT_EQ(format_size(1024), "1KiB");
  EXPECT_EQ(format_size(1536 * 1024), "1536KiB");
  EXPECT_EQ(format_size(std::uint64_t{1} << 30), "1GiB");
  for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{3} << 40, UINT64_MAX}) {
    EXPECT_EQ(parse_size(format_size(v)), v);
  }
}

}  // namespace
}  // namespace ferrite
