// ferrite-bench's parts: the histogram's error bound, the Zipf sampler's distribution, keys and
// values, and the reply parsers of each protocol at every split point.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "codec.h"
#include "histogram.h"
#include "keyspace.h"
#include "proto/binary/codec.h"

namespace ferrite::bench {
namespace {

TEST(Histogram, BucketsTileTheRangeWithSmallRelativeWidth) {
  std::uint64_t expect_low = 0;
  for (std::size_t i = 0; i < Histogram::kBuckets; ++i) {
    const std::uint64_t lo = Histogram::bucket_low(i);
    const std::uint64_t hi = Histogram::bucket_high(i);
    if (lo > Histogram::kMaxValue) break;
    ASSERT_EQ(lo, expect_low) << i;
    ASSERT_LE(lo, hi);
    ASSERT_EQ(Histogram::index_of(lo), i);
    ASSERT_EQ(Histogram::index_of(hi), i);
    if (lo > 0) {
      EXPECT_LE(static_cast<double>(hi - lo) / static_cast<double>(lo), 1.0 / 128) << i;
    }
    expect_low = hi + 1;
  }
  EXPECT_GT(expect_low, Histogram::kMaxValue);
}

TEST(Histogram, PercentilesWithinOnePercent) {
  Histogram h;
  std::vector<std::uint64_t> values;
  Rng rng(7);
  for (int i = 0; i < 100000; ++i) {
    // Log-uniform over 100 ns .. 10 s.
    const auto v = static_cast<std::uint64_t>(std::exp(std::log(100.0) + rng.next_double() * std::log(1e8)));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  for (const double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto exact = values[static_cast<std::size_t>(std::ceil(q * values.size())) - 1];
    const auto got = h.percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(static_cast<double>(got - exact) / static_cast<double>(exact), 0.01) << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.percentile(1.0), values.back());
  EXPECT_EQ(h.count(), values.size());
}

TEST(Histogram, MergeAddsCountsAndKeepsExtremes) {
  Histogram a;
  Histogram b;
  for (std::uint64_t v = 1; v <= 1000; ++v) a.record(v * 1000);
  for (std::uint64_t v = 1001; v <= 2000; ++v) b.record(v * 1000);
  a.merge(b);
  EXPECT_EQ(a.count(), 2000u);
  EXPECT_EQ(a.min(), 1000u);
  EXPECT_EQ(a.max(), 2000000u);
  const double p50 = static_cast<double>(a.percentile(0.5));
  EXPECT_NEAR(p50, 1000000.0, 1000000.0 / 128);
}

TEST(Keyspace, KeysAreFixedWidthAndDistinct) {
  Keyspace ks(1000, 8, 40);
  char a[8];
  char b[8];
  EXPECT_EQ(ks.key(0, a), "k0000000");
  EXPECT_EQ(ks.key(999, b), "k0000999");
  EXPECT_TRUE(Keyspace::check(1000, 4).empty());  // "k999" fits
  EXPECT_FALSE(Keyspace::check(1000, 3).empty());
  EXPECT_FALSE(Keyspace::check(1001, 4).empty());  // "k1000" does not
  EXPECT_FALSE(Keyspace::check(0, 16).empty());
}

TEST(Keyspace, ValuesMatchOnlyTheirKey) {
  Keyspace ks(100, 8, 37);
  char v[64];
  for (std::uint64_t i = 0; i < 100; ++i) {
    const std::string_view s = ks.value(i, v);
    ASSERT_EQ(s.size(), 37u);
    EXPECT_TRUE(ks.value_matches(i, s));
    EXPECT_FALSE(ks.value_matches(i + 1, s));
    EXPECT_FALSE(ks.value_matches(i, s.substr(0, 36)));
    std::string changed(s);
    changed[36] ^= 1;
    EXPECT_FALSE(ks.value_matches(i, changed));
  }
}

TEST(Zipf, FrequenciesFollowThePowerLaw) {
  for (const double theta : {0.5, 0.99, 1.0, 1.2}) {
    const std::uint64_t n = 1000;
    ZipfSampler z(n, theta);
    Rng rng(42);
    std::vector<std::uint64_t> counts(n + 1);
    const int draws = 2000000;
    for (int i = 0; i < draws; ++i) {
      const std::uint64_t k = z.sample(rng);
      ASSERT_GE(k, 1u);
      ASSERT_LE(k, n);
      ++counts[k];
    }
    double norm = 0;
    for (std::uint64_t k = 1; k <= n; ++k) norm += std::pow(static_cast<double>(k), -theta);
    for (const std::uint64_t k : {1u, 2u, 10u, 100u}) {
      const double expect = draws * std::pow(static_cast<double>(k), -theta) / norm;
      // Five standard deviations of a binomial count.
      EXPECT_NEAR(static_cast<double>(counts[k]), expect, 5 * std::sqrt(expect) + 1)
          << "theta " << theta << " k " << k;
    }
  }
}

TEST(KeyChooser, UniformCoversTheRange) {
  KeyChooser c(10, false, 0);
  Rng rng(3);
  std::vector<int> seen(10);
  for (int i = 0; i < 10000; ++i) {
    const auto k = c.next(rng);
    ASSERT_LT(k, 10u);
    ++seen[k];
  }
  for (const int s : seen) EXPECT_NEAR(s, 1000, 200);
}

// Every prefix of a complete reply is incomplete; the whole parses to `status`.
void expect_parses(const Codec& codec, std::string_view reply, Op op, std::string_view key,
                   ReplyStatus status, std::string_view value = {}, std::uint32_t id = 0) {
  for (std::size_t i = 0; i < reply.size(); ++i) {
    const Reply r = codec.parse(reply.substr(0, i), op, key, id);
    ASSERT_EQ(r.status, ReplyStatus::kIncomplete) << "prefix " << i << " of " << reply;
  }
  const std::string more = std::string(reply) + "trailing";
  const Reply r = codec.parse(more, op, key, id);
  ASSERT_EQ(r.status, status) << reply;
  EXPECT_EQ(r.consumed, reply.size());
  EXPECT_EQ(r.value, value);
}

TEST(MemcacheCodec, EncodesRequests) {
  auto codec = make_memcache_codec();
  Buffer b;
  codec->encode_get(b, "k1", 0);
  codec->encode_set(b, "k2", "hello", 1);
  EXPECT_EQ(b.view(), "get k1\r\nset k2 0 0 5\r\nhello\r\n");
}

TEST(MemcacheCodec, ParsesRepliesSplitAnywhere) {
  auto codec = make_memcache_codec();
  expect_parses(*codec, "VALUE k1 0 5\r\nhello\r\nEND\r\n", Op::kGet, "k1", ReplyStatus::kHit, "hello");
  expect_parses(*codec, "VALUE k1 7 5 99\r\nhel\r\n\r\nEND\r\n", Op::kGet, "k1", ReplyStatus::kHit,
                "hel\r\n");
  expect_parses(*codec, "END\r\n", Op::kGet, "k1", ReplyStatus::kMiss);
  expect_parses(*codec, "STORED\r\n", Op::kSet, "k1", ReplyStatus::kStored);
  expect_parses(*codec, "SERVER_ERROR out of memory storing object\r\n", Op::kSet, "k1", ReplyStatus::kError);
  expect_parses(*codec, "ERROR\r\n", Op::kGet, "k1", ReplyStatus::kError);
}

TEST(MemcacheCodec, RejectsGarbledReplies) {
  auto codec = make_memcache_codec();
  EXPECT_EQ(codec->parse("VALUE k2 0 5\r\nhello\r\nEND\r\n", Op::kGet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("VALUE k1 0 5\r\nhelloXXEND\r\n", Op::kGet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("VALUE k1 0 x\r\n", Op::kGet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("VALUE k1 0\r\n", Op::kGet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("STORED\r\n", Op::kGet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("END\r\n", Op::kSet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("STORED\n", Op::kSet, "k1", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse(std::string(kMaxLine, 'x'), Op::kSet, "k1", 0).status, ReplyStatus::kBad);
}

TEST(RespCodec, EncodesRequests) {
  auto codec = make_resp_codec();
  Buffer b;
  codec->encode_get(b, "k1", 0);
  codec->encode_set(b, "k2", "hello", 1);
  EXPECT_EQ(b.view(), "*2\r\n$3\r\nGET\r\n$2\r\nk1\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$5\r\nhello\r\n");
}

TEST(RespCodec, ParsesRepliesSplitAnywhere) {
  auto codec = make_resp_codec();
  expect_parses(*codec, "$5\r\nhello\r\n", Op::kGet, "k", ReplyStatus::kHit, "hello");
  expect_parses(*codec, "$0\r\n\r\n", Op::kGet, "k", ReplyStatus::kHit, "");
  expect_parses(*codec, "$-1\r\n", Op::kGet, "k", ReplyStatus::kMiss);
  expect_parses(*codec, "_\r\n", Op::kGet, "k", ReplyStatus::kMiss);
  expect_parses(*codec, "+OK\r\n", Op::kSet, "k", ReplyStatus::kStored);
  expect_parses(*codec, "-OOM command not allowed\r\n", Op::kSet, "k", ReplyStatus::kError);
}

TEST(RespCodec, RejectsGarbledReplies) {
  auto codec = make_resp_codec();
  EXPECT_EQ(codec->parse("+OK\r\n", Op::kGet, "k", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("$5\r\nhello\r\n", Op::kSet, "k", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("$5\r\nhelloXX", Op::kGet, "k", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse(":1\r\n", Op::kGet, "k", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("$-2\r\n", Op::kGet, "k", 0).status, ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("\r\n", Op::kGet, "k", 0).status, ReplyStatus::kBad);
}

namespace bin = proto::binary;

std::string binary_reply(bin::Opcode op, bin::Status status, std::uint32_t id, std::string_view value = {}) {
  Buffer b;
  bin::encode_reply(b, bin::Reply{.opcode = op, .status = status, .request_id = id, .value = value});
  return std::string(b.view());
}

TEST(BinaryCodec, EncodesRequestsTheServerCanDecode) {
  auto codec = make_binary_codec();
  Buffer b;
  codec->encode_get(b, "k1", 7);
  codec->encode_set(b, "k2", "hello", 8);
  EXPECT_EQ(b.size(), codec->request_size(Op::kGet, 2, 5) + codec->request_size(Op::kSet, 2, 5));
  bin::Request r;
  const bin::DecodeResult d = bin::decode_request(b.view(), &r);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(r.opcode, bin::Opcode::kGet);
  EXPECT_EQ(r.request_id, 7u);
  EXPECT_EQ(r.key, "k1");
  ASSERT_TRUE(bin::decode_request(b.view().substr(d.size), &r).ok());
  EXPECT_EQ(r.opcode, bin::Opcode::kSet);
  EXPECT_EQ(r.request_id, 8u);
  EXPECT_EQ(r.key, "k2");
  EXPECT_EQ(r.value, "hello");
}

TEST(BinaryCodec, ParsesRepliesSplitAnywhere) {
  auto codec = make_binary_codec();
  expect_parses(*codec, binary_reply(bin::Opcode::kGet, bin::Status::kOk, 5, "hello"), Op::kGet, "k",
                ReplyStatus::kHit, "hello", 5);
  expect_parses(*codec, binary_reply(bin::Opcode::kGet, bin::Status::kNotFound, 6), Op::kGet, "k",
                ReplyStatus::kMiss, {}, 6);
  expect_parses(*codec, binary_reply(bin::Opcode::kSet, bin::Status::kOk, 7), Op::kSet, "k",
                ReplyStatus::kStored, {}, 7);
  expect_parses(*codec, binary_reply(bin::Opcode::kSet, bin::Status::kNoMemory, 8), Op::kSet, "k",
                ReplyStatus::kError, {}, 8);
}

TEST(BinaryCodec, RejectsRepliesToOtherRequests) {
  auto codec = make_binary_codec();
  EXPECT_EQ(codec->parse(binary_reply(bin::Opcode::kGet, bin::Status::kOk, 5, "v"), Op::kGet, "k", 6).status,
            ReplyStatus::kBad);
  EXPECT_EQ(codec->parse(binary_reply(bin::Opcode::kSet, bin::Status::kOk, 5), Op::kGet, "k", 5).status,
            ReplyStatus::kBad);
  EXPECT_EQ(codec->parse(binary_reply(bin::Opcode::kSet, bin::Status::kOk, 5, "v"), Op::kSet, "k", 5).status,
            ReplyStatus::kBad);
  EXPECT_EQ(codec->parse("VALUE k 0 1\r\n", Op::kGet, "k", 0).status, ReplyStatus::kBad);
  const Reply r = codec->parse(binary_reply(bin::Opcode::kSet, bin::Status::kTooLarge, 9), Op::kSet, "k", 9);
  EXPECT_EQ(r.status, ReplyStatus::kError);
  EXPECT_EQ(r.message, "TOO_LARGE");
}

}  // namespace
}  // namespace ferrite::bench
