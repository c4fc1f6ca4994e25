// ferrite-bench's parts: the histogram's error bound, the Zipf sampler's distribution, keys and
// values, the reply parsers of each protocol at every split point, and the RESP type workloads'
// requests and reply checks (MULTI/INCR/EXEC transactions, HSET/HGET).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "codec.h"
#include "histogram.h"
#include "keyspace.h"
#include "options.h"
#include "proto/binary/codec.h"
#include "resp_types.h"

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

TEST(Keyspace, PrefixNamesTheWorkloadsKeys) {
  Keyspace counters(1000, 8, 1, 'c');
  Keyspace hashes(1000, 8, 1, 'h');
  char a[8];
  EXPECT_EQ(counters.key(42, a), "c0000042");
  EXPECT_EQ(hashes.key(999, a), "h0000999");
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

namespace rt = resp_types;

// As expect_parses, for the RESP type workloads' parsers.
void expect_parses_op(std::string_view reply, Op op, ReplyStatus status, std::string_view value = {},
                      std::string_view message = {}) {
  for (std::size_t i = 0; i < reply.size(); ++i) {
    const Reply r = rt::parse(reply.substr(0, i), op);
    ASSERT_EQ(r.status, ReplyStatus::kIncomplete) << "prefix " << i << " of " << reply;
  }
  const std::string more = std::string(reply) + "*1\r\n$4\r\nnext\r\n";
  const Reply r = rt::parse(more, op);
  ASSERT_EQ(r.status, status) << reply;
  EXPECT_EQ(r.consumed, reply.size());
  EXPECT_EQ(r.value, value);
  EXPECT_EQ(r.message, message);
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST(RespTypes, EncodesATransactionAsOneWrite) {
  Buffer b;
  const std::string_view keys[rt::kIncrs] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"};
  rt::encode_multi_incr(b, keys);
  std::string want = "*1\r\n$5\r\nMULTI\r\n";
  for (int i = 0; i < 10; ++i) want += std::string("*2\r\n$4\r\nINCR\r\n$2\r\nc") + std::to_string(i) + "\r\n";
  want += "*1\r\n$4\r\nEXEC\r\n";
  EXPECT_EQ(b.view(), want);
}

TEST(RespTypes, EncodesHsetOfTenFieldsAndHget) {
  Buffer b;
  const std::string_view values[rt::kFields] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "jj"};
  rt::encode_hset(b, "h1", values);
  std::string want = "*22\r\n$4\r\nHSET\r\n$2\r\nh1\r\n";
  for (int j = 0; j < 10; ++j) {
    const std::string f = std::string("f") + std::to_string(j + 1);
    want += std::string("$") + std::to_string(f.size()) + "\r\n" + f + std::string("\r\n$") + std::to_string(values[j].size()) + "\r\n" +
            std::string(values[j]) + "\r\n";
  }
  EXPECT_EQ(b.view(), want);
  b.clear();
  rt::encode_hget(b, "h1", 9);
  EXPECT_EQ(b.view(), "*3\r\n$4\r\nHGET\r\n$2\r\nh1\r\n$3\r\nf10\r\n");
  EXPECT_EQ(rt::field_name(0), "f1");
}

TEST(RespTypes, FieldValuesAreDistinctPerHashAndField) {
  Keyspace ks(1000, 8, 20, 'h');
  char v[40];
  for (std::uint64_t i = 0; i < 50; ++i) {
    for (std::uint32_t j = 0; j < rt::kFields; ++j) {
      const std::string_view s = ks.value(rt::field_value_index(i, j), v);
      EXPECT_TRUE(ks.value_matches(rt::field_value_index(i, j), s));
      EXPECT_FALSE(ks.value_matches(rt::field_value_index(i, (j + 1) % rt::kFields), s)) << i << " " << j;
      EXPECT_FALSE(ks.value_matches(rt::field_value_index(i + 1, j), s)) << i << " " << j;
    }
  }
}

// What redis-server answers to MULTI, 10 INCRs and EXEC.
std::string redis_transaction_reply() {
  std::string r = std::string("+OK\r\n") + repeat("+QUEUED\r\n", 10) + "*10\r\n";
  for (int i = 1; i <= 10; ++i) r += std::string(":") + std::to_string(i * 1000) + "\r\n";
  return r;
}

TEST(RespTypes, ParsesATransactionSplitAnywhere) {
  expect_parses_op(redis_transaction_reply(), Op::kMultiIncr, ReplyStatus::kStored);
  // RESP3 clients see the same replies: an array is an array, integers are integers.
  expect_parses_op(std::string("+OK\r\n") + repeat("+QUEUED\r\n", 10) + std::string("*10\r\n") + repeat(":-3\r\n", 10), Op::kMultiIncr,
                   ReplyStatus::kStored);
}

TEST(RespTypes, TransactionErrorsAreErrorsThatKeepTheStreamInSync) {
  // A server without transactions (ferrited before issue 15): MULTI and EXEC are unknown, the INCRs
  // run on their own. The first error is the message.
  const std::string multi_error = "-ERR unknown command 'MULTI', with args beginning with: ";
  expect_parses_op(multi_error + std::string("\r\n") + repeat(":1\r\n", 10) + "-ERR unknown command 'EXEC', with args beginning with: \r\n",
                   Op::kMultiIncr, ReplyStatus::kError, {}, multi_error);
  // A queued command refused (e.g. out of memory): EXECABORT.
  const std::string oom = "-OOM command not allowed when used memory > 'maxmemory'.";
  expect_parses_op(std::string("+OK\r\n") + repeat("+QUEUED\r\n", 9) + oom + "\r\n" +
                       "-EXECABORT Transaction discarded because of previous errors.\r\n",
                   Op::kMultiIncr, ReplyStatus::kError, {}, oom);
  // An INCR that fails inside EXEC (the key holds something else than an integer).
  const std::string not_int = "-ERR value is not an integer or out of range";
  expect_parses_op(std::string("+OK\r\n") + repeat("+QUEUED\r\n", 10) + std::string("*10\r\n") + repeat(":5\r\n", 3) + not_int + "\r\n" +
                       repeat(":5\r\n", 6),
                   Op::kMultiIncr, ReplyStatus::kError, {}, not_int);
  // WRONGTYPE in EXEC's array, then a null EXEC (an aborted WATCH): errors all the same.
  expect_parses_op(std::string("+OK\r\n") + repeat("+QUEUED\r\n", 10) + "*-1\r\n", Op::kMultiIncr, ReplyStatus::kError, {},
                   "EXEC answered a null array (the transaction was aborted)");
}

TEST(RespTypes, RejectsTransactionRepliesOfAnotherShape) {
  const std::string head = std::string("+OK\r\n") + repeat("+QUEUED\r\n", 10);
  const auto status = [](const std::string& in) { return rt::parse_multi_incr(in).status; };
  EXPECT_EQ(status(head + std::string("*9\r\n") + repeat(":1\r\n", 9)), ReplyStatus::kBad);
  EXPECT_EQ(status(head + std::string("*11\r\n") + repeat(":1\r\n", 11)), ReplyStatus::kBad);
  EXPECT_EQ(status(head + std::string("*10\r\n") + repeat(":1\r\n", 9) + "$1\r\n1\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status(head + std::string("*10\r\n") + repeat(":1\r\n", 9) + ":x\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status(head + "+OK\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status(std::string("+OK\r\n") + repeat("+QUEUED\r\n", 9) + std::string("+OK\r\n*10\r\n") + repeat(":1\r\n", 10)),
            ReplyStatus::kBad);
  EXPECT_EQ(status(std::string(":1\r\n") + repeat("+QUEUED\r\n", 10) + std::string("*10\r\n") + repeat(":1\r\n", 10)), ReplyStatus::kBad);
  // Not RESP at all, or not trustworthy RESP.
  EXPECT_EQ(status("STORED\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status("+OK\n"), ReplyStatus::kBad);
  EXPECT_EQ(status("\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status(std::string(kMaxLine, '+')), ReplyStatus::kBad);
  EXPECT_EQ(status(head + std::string("*10\r\n") + repeat("*1\r\n", 10)), ReplyStatus::kBad);  // nested too deep
  EXPECT_EQ(status(head + "*99999999999\r\n"), ReplyStatus::kBad);
  EXPECT_EQ(status(head + "*10\r\n$3\r\nabcXX"), ReplyStatus::kBad);
  // A bad reply consumes nothing (the connection is reset).
  EXPECT_EQ(rt::parse_multi_incr("STORED\r\n").consumed, 0u);
}

TEST(RespTypes, ParsesHsetAndHgetRepliesSplitAnywhere) {
  expect_parses_op(":10\r\n", Op::kHSet, ReplyStatus::kStored);
  expect_parses_op(":0\r\n", Op::kHSet, ReplyStatus::kStored);
  const std::string wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value";
  expect_parses_op(wrongtype + "\r\n", Op::kHSet, ReplyStatus::kError, {}, wrongtype);
  expect_parses_op("$5\r\nhel\r\n\r\n", Op::kHGet, ReplyStatus::kHit, "hel\r\n");
  expect_parses_op("$0\r\n\r\n", Op::kHGet, ReplyStatus::kHit, "");
  expect_parses_op("$-1\r\n", Op::kHGet, ReplyStatus::kMiss);
  expect_parses_op("_\r\n", Op::kHGet, ReplyStatus::kMiss);
  expect_parses_op(wrongtype + "\r\n", Op::kHGet, ReplyStatus::kError, {}, wrongtype);
}

TEST(RespTypes, RejectsHsetAndHgetRepliesOfAnotherShape) {
  EXPECT_EQ(rt::parse_hset(":11\r\n").status, ReplyStatus::kBad);  // more fields than were sent
  EXPECT_EQ(rt::parse_hset(":-1\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hset("+OK\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hset("$1\r\n1\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget(":1\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget("*1\r\n$1\r\nx\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget("$5\r\nhelloXX").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget("$-2\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget("_x\r\n").status, ReplyStatus::kBad);
  EXPECT_EQ(rt::parse_hget("END\r\n").status, ReplyStatus::kBad);
}

// parse_options on a command line; returns its status (-1: go on).
int parse(std::vector<std::string> args, Options& o) {
  args.insert(args.begin(), "ferrite-bench");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), o);
}

TEST(Options, RespTypeWorkloadsAreRespOnly) {
  Options o;
  EXPECT_EQ(parse({"--protocol", "resp", "--workload", "multi-incr"}, o), -1);
  EXPECT_EQ(o.workload, Workload::kMultiIncr);
  EXPECT_EQ(o.set_fraction, 1.0);  // every operation is a transaction
  Options h;
  EXPECT_EQ(parse({"--protocol", "resp", "--workload", "hash", "--ratio", "1:3"}, h), -1);
  EXPECT_EQ(h.workload, Workload::kHash);
  EXPECT_EQ(h.set_fraction, 0.25);
  Options g;
  EXPECT_EQ(parse({"--protocol", "memcache"}, g), -1);
  EXPECT_EQ(g.workload, Workload::kGetSet);
  Options bad;
  EXPECT_EQ(parse({"--protocol", "memcache", "--workload", "hash"}, bad), 2);
  EXPECT_EQ(parse({"--protocol", "binary", "--workload", "multi-incr"}, bad), 2);
  EXPECT_EQ(parse({"--protocol", "resp", "--workload", "lists"}, bad), 2);
  EXPECT_EQ(parse({"--protocol", "resp", "--workload", "multi-incr", "--ratio", "1:1"}, bad), 2);
  EXPECT_EQ(parse({"--protocol", "resp", "--workload", "multi-incr", "--keys", "9"}, bad), 2);
}

}  // namespace
}  // namespace ferrite::bench
