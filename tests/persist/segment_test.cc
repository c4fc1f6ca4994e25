#include "persist/segment.h"

#include <gtest/gtest.h>

#include <string>

namespace ferrite::persist {
namespace {

TEST(Segment, NamesRoundTripAndOnlyTheCanonicalOnesCount) {
  EXPECT_EQ(segment_file_name(42), "aof-0000000042.seg");
  EXPECT_EQ(segment_seq_of("aof-0000000042.seg"), 42u);
  EXPECT_EQ(segment_seq_of(segment_file_name(12345678901ull)), 12345678901ull);
  EXPECT_EQ(segment_seq_of("aof-42.seg"), 0u);
  EXPECT_EQ(segment_seq_of("aof-00000000042.seg"), 0u);  // a second spelling of 42
  EXPECT_EQ(segment_seq_of("aof-000000004x.seg"), 0u);
  EXPECT_EQ(segment_seq_of("aof-0000000042.tmp"), 0u);
  EXPECT_EQ(segment_seq_of("manifest"), 0u);
}

TEST(Segment, HeaderRoundTripsAndEveryBitFlipIsRefused) {
  char h[kSegmentHeader];
  encode_segment_header({7, 1'800'000'000'000}, h);
  SegmentHeader back;
  ASSERT_STREQ(decode_segment_header(std::string_view(h, sizeof h), &back), "");
  EXPECT_EQ(back.seq, 7u);
  EXPECT_EQ(back.created_unix_ms, 1'800'000'000'000u);
  for (std::size_t bit = 0; bit < kSegmentHeader * 8; ++bit) {
    h[bit / 8] = static_cast<char>(h[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_STRNE(decode_segment_header(std::string_view(h, sizeof h), &back), "") << bit;
    h[bit / 8] = static_cast<char>(h[bit / 8] ^ (1 << (bit % 8)));
  }
  EXPECT_STRNE(decode_segment_header(std::string_view(h, 31), &back), "");
}

}  // namespace
}  // namespace ferrite::persist
