#include "persist/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace ferrite::persist {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 and the usual check value.
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string inc(32, '\0');
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(inc), 0x46DD794Eu);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, HardwareAndTableAgreeAtEveryLengthAndAlignment) {
  std::mt19937_64 rng(7);
  std::string buf(300, '\0');
  for (auto& c : buf) c = static_cast<char>(rng());
  for (std::size_t off = 0; off < 9; ++off) {
    for (std::size_t n = 0; off + n <= buf.size(); n += 1 + n / 7) {
      const char* p = buf.data() + off;
      ASSERT_EQ(crc32c(p, n), crc32c_extend_portable(0, p, n)) << off << " " << n;
    }
  }
}

TEST(Crc32c, ExtendIsConcatenation) {
  const std::string a = "the quick brown fox ", b = "jumps over the lazy dog";
  EXPECT_EQ(crc32c_extend(crc32c(a), b.data(), b.size()), crc32c(a + b));
  EXPECT_EQ(crc32c_extend_portable(crc32c_extend_portable(0, a.data(), a.size()), b.data(), b.size()), crc32c(a + b));
}

TEST(Crc32c, EverySingleBitFlipChangesIt) {
  std::string s(1000, '\0');
  std::mt19937 rng(3);
  for (auto& c : s) c = static_cast<char>(rng());
  const std::uint32_t good = crc32c(s);
  for (std::size_t bit = 0; bit < s.size() * 8; ++bit) {
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_NE(crc32c(s), good) << bit;
    s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8)));
  }
}

}  // namespace
}  // namespace ferrite::persist
