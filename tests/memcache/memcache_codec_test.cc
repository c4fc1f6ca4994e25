// The memcache codec: line framing, tokens, numbers, meta flags, base64, reply encoders, UDP frame.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "proto/memcache/meta.h"
#include "proto/memcache/reply.h"
#include "proto/memcache/text.h"

namespace ferrite::proto::memcache {
namespace {

using namespace std::string_literals;

TEST(MemcacheLine, FramesOneLine) {
  std::size_t scan = 0;
  Line l;
  ASSERT_EQ(next_line("get a\r\nget b\r\n", &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "get a");
  EXPECT_EQ(l.consumed, 7u);
  ASSERT_EQ(next_line("get a\n", &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "get a");
  EXPECT_EQ(l.consumed, 6u);
  ASSERT_EQ(next_line("\r\n", &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "\r");  // memcached strips '\r' only from lines longer than one byte
  ASSERT_EQ(next_line("a\r\r\n", &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "a\r");
  const std::string with_nul = "get a\0b\r\n"s;
  ASSERT_EQ(next_line(with_nul, &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "get a");
  EXPECT_EQ(l.consumed, 9u);
}

TEST(MemcacheLine, WaitsAndResumesTheScan) {
  std::size_t scan = 0;
  Line l;
  EXPECT_EQ(next_line("get abc", &scan, &l), LineStatus::kNeedMore);
  EXPECT_EQ(scan, 7u);
  ASSERT_EQ(next_line("get abc\r\n", &scan, &l), LineStatus::kComplete);
  EXPECT_EQ(l.text, "get abc");
  EXPECT_EQ(scan, 0u);
}

TEST(MemcacheLine, TooLongWithoutNewline) {
  std::size_t scan = 0;
  Line l;
  EXPECT_EQ(next_line(std::string(2048, 'x'), &scan, &l), LineStatus::kNeedMore);
  scan = 0;
  EXPECT_EQ(next_line(std::string(2049, 'x'), &scan, &l), LineStatus::kTooLong);
  scan = 0;
  EXPECT_EQ(next_line("get " + std::string(5000, 'k'), &scan, &l), LineStatus::kNeedMore);
  scan = 0;
  EXPECT_EQ(next_line("gets " + std::string(5000, 'k'), &scan, &l), LineStatus::kNeedMore);
  scan = 0;
  EXPECT_EQ(next_line(std::string(100, ' ') + "get " + std::string(5000, 'k'), &scan, &l),
            LineStatus::kNeedMore);
  scan = 0;
  EXPECT_EQ(next_line(std::string(101, ' ') + "get " + std::string(5000, 'k'), &scan, &l),
            LineStatus::kTooLong);
  scan = 0;
  EXPECT_EQ(next_line("gat 0 " + std::string(5000, 'k'), &scan, &l), LineStatus::kTooLong);
  scan = 0;
  EXPECT_EQ(next_line("getx" + std::string(5000, 'k'), &scan, &l), LineStatus::kTooLong);
}

TEST(MemcacheTokens, SplitsOnSpacesOnly) {
  Tokens t;
  tokenize("  set a\tb  0 0 1 ", &t);
  ASSERT_EQ(t.count, 5u);
  EXPECT_EQ(t.tok[0], "set");
  EXPECT_EQ(t.tok[1], "a\tb");
  EXPECT_EQ(t.last(), "1");
  EXPECT_EQ(t.ntokens(), 6u);
  EXPECT_FALSE(t.has_rest);
  tokenize("", &t);
  EXPECT_EQ(t.count, 0u);
  EXPECT_EQ(t.ntokens(), 1u);
  EXPECT_EQ(t.last(), "");
}

TEST(MemcacheTokens, StopsAfterTwentyThree) {
  std::string line = "get";
  for (int i = 1; i <= 30; ++i) line += " k" + std::to_string(i);
  Tokens t;
  tokenize(line, &t);
  EXPECT_EQ(t.count, 23u);
  EXPECT_EQ(t.ntokens(), 24u);
  EXPECT_EQ(t.last(), "k22");
  ASSERT_TRUE(t.has_rest);
  EXPECT_EQ(t.rest.substr(0, 4), "k23 ");
  // Exactly 23 tokens: no rest, even with a trailing space.
  line = "get";
  for (int i = 1; i <= 22; ++i) line += " k" + std::to_string(i);
  tokenize(line + " ", &t);
  EXPECT_EQ(t.count, 23u);
  EXPECT_FALSE(t.has_rest);
  tokenize(line + "  ", &t);
  EXPECT_TRUE(t.has_rest);
}

TEST(MemcacheTokens, KeyIteratorReadsEveryKey) {
  KeyIterator it("  a bb   ccc ");
  std::string_view k;
  ASSERT_TRUE(it.next(&k));
  EXPECT_EQ(k, "a");
  ASSERT_TRUE(it.next(&k));
  EXPECT_EQ(k, "bb");
  ASSERT_TRUE(it.next(&k));
  EXPECT_EQ(k, "ccc");
  EXPECT_FALSE(it.next(&k));
  EXPECT_FALSE(it.next(&k));
}

// peek_command: the stream's look ahead for prefetching pipelined keys.
TEST(MemcachePeek, FramesCommandsWithTheirDataBlocks) {
  const std::string pipeline =
      "get foo\r\n"
      "set k1 0 0 5\r\nhello\r\n"
      "gets a b c\r\n"
      "gat 100 tk\r\n"
      "mg mk v\r\n"
      "ms msk 3 T0\r\nabc\r\n"
      "cas ck 0 0 2 77 noreply\r\nxy\r\n"
      "version\r\n"
      "delete dk\n";
  const std::vector<std::pair<std::string, std::size_t>> want = {
      {"foo", 9}, {"k1", 21}, {"a", 12}, {"tk", 12}, {"mk", 9}, {"msk", 18}, {"ck", 29}, {"", 9}, {"dk", 10}};
  std::size_t at = 0;
  for (const auto& [key, len] : want) {
    std::string_view got;
    EXPECT_EQ(peek_command(std::string_view(pipeline).substr(at), &got), len) << key;
    EXPECT_EQ(std::string(got), key);
    at += len;
  }
  EXPECT_EQ(at, pipeline.size());
}

TEST(MemcachePeek, WaitsForWholeLinesAndDataBlocks) {
  std::string_view key = "x";
  EXPECT_EQ(peek_command("get fo", &key), 0u);
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(peek_command("set k 0 0 5\r\nhel", &key), 0u);
  EXPECT_TRUE(key.empty());
  EXPECT_EQ(peek_command("set k 0 0 5\r\nhello\r", &key), 0u);
  // What it cannot read it frames as a line and leaves to the executor.
  EXPECT_EQ(peek_command("set k 0 0 -1\r\n", &key), 14u);
  EXPECT_EQ(peek_command("set k 0 0\r\n", &key), 11u);
  EXPECT_EQ(peek_command("\r\n", &key), 2u);
  EXPECT_TRUE(key.empty());
}

TEST(MemcacheNumbers, SignedLikeStrtolTruncatedTo32Bits) {
  std::int32_t v = 0;
  EXPECT_TRUE(parse_i32("0", &v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(parse_i32("-1", &v));
  EXPECT_EQ(v, -1);
  EXPECT_TRUE(parse_i32("+7", &v));
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(parse_i32("\t12", &v));
  EXPECT_EQ(v, 12);
  EXPECT_TRUE(parse_i32("12\tx", &v));  // strtol stops at whitespace
  EXPECT_EQ(v, 12);
  EXPECT_TRUE(parse_i32("4294967297", &v));
  EXPECT_EQ(v, 1);
  EXPECT_TRUE(parse_i32("2147483648", &v));
  EXPECT_EQ(v, INT32_MIN);
  EXPECT_TRUE(parse_i32("9223372036854775807", &v));
  EXPECT_FALSE(parse_i32("9223372036854775808", &v));  // ERANGE
  EXPECT_TRUE(parse_i32("-9223372036854775808", &v));
  EXPECT_FALSE(parse_i32("-9223372036854775809", &v));
  for (const char* bad : {"", "-", "+", "abc", "5x", "0x10", " "}) EXPECT_FALSE(parse_i32(bad, &v)) << bad;
}

TEST(MemcacheNumbers, UnsignedRefusesNegatives) {
  std::uint32_t u = 0;
  EXPECT_TRUE(parse_u32("4294967295", &u));
  EXPECT_EQ(u, 4294967295u);
  EXPECT_TRUE(parse_u32("4294967296", &u));
  EXPECT_EQ(u, 0u);
  EXPECT_TRUE(parse_u32("-0", &u));
  EXPECT_EQ(u, 0u);
  EXPECT_FALSE(parse_u32("-1", &u));
  std::uint64_t w = 0;
  EXPECT_TRUE(parse_u64("18446744073709551615", &w));
  EXPECT_EQ(w, UINT64_MAX);
  EXPECT_FALSE(parse_u64("18446744073709551616", &w));
  EXPECT_FALSE(parse_u64("-5", &w));
  EXPECT_FALSE(parse_u64("1.5", &w));
  EXPECT_TRUE(parse_u64("01", &w));
  EXPECT_EQ(w, 1u);
}

TEST(MemcacheCommands, ClassifiesNames) {
  EXPECT_EQ(classify("get"), Command::kGet);
  EXPECT_EQ(classify("bget"), Command::kGet);
  EXPECT_EQ(classify("gats"), Command::kGats);
  EXPECT_EQ(classify("flush_all"), Command::kFlushAll);
  EXPECT_EQ(classify("mg"), Command::kMetaGet);
  EXPECT_EQ(classify("me"), Command::kMetaDebug);
  EXPECT_EQ(classify("mz"), Command::kUnknown);
  EXPECT_EQ(classify("GET"), Command::kUnknown);
  EXPECT_TRUE(is_meta(Command::kMetaNoop));
  EXPECT_FALSE(is_meta(Command::kStats));
}

const char* parse(std::initializer_list<std::string_view> flags, MetaFlags* f, std::string_view* key) {
  static char buf[kMaxKeyLength];
  std::string_view v[kMaxTokens];
  std::size_t n = 0;
  for (const auto s : flags) v[n++] = s;
  return parse_meta_flags(v, n, key, buf, f);
}

TEST(MemcacheMetaFlags, ParsesTokens) {
  MetaFlags f;
  std::string_view key = "foo";
  ASSERT_EQ(
      parse({"v", "k", "T30", "N-1", "F7", "C99", "MA", "J5", "D6", "Oabc", "q", "I", "P", "Lx"}, &f, &key),
      nullptr);
  EXPECT_TRUE(f.v && f.k && f.q && f.invalidate);
  EXPECT_TRUE(f.has_T && f.has_N && f.has_F && f.has_C && f.has_M && f.has_J && f.has_D && f.has_O);
  EXPECT_EQ(f.ttl, 30);
  EXPECT_EQ(f.vivify_ttl, -1);
  EXPECT_EQ(f.client_flags, 7u);
  EXPECT_EQ(f.cas, 99u);
  EXPECT_EQ(f.mode, 'A');
  EXPECT_EQ(f.initial, 5u);
  EXPECT_EQ(f.delta, 6u);
  EXPECT_EQ(f.opaque, "Oabc");
  EXPECT_LT(f.pos_T, f.pos_N);
  EXPECT_EQ(key, "foo");
}

TEST(MemcacheMetaFlags, ReportsMemcachedsErrors) {
  std::string_view key = "foo";
  MetaFlags f;
  EXPECT_STREQ(parse({"v", "v"}, &f, &key), "CLIENT_ERROR duplicate flag");
  f = {};
  EXPECT_STREQ(parse({"\x80"}, &f, &key), "CLIENT_ERROR duplicate flag");
  f = {};
  EXPECT_STREQ(parse({"x"}, &f, &key), "CLIENT_ERROR invalid flag");
  f = {};
  EXPECT_STREQ(parse({"T"}, &f, &key), "CLIENT_ERROR bad token in command line format");
  f = {};
  EXPECT_STREQ(parse({"Tx", "5"}, &f, &key), "CLIENT_ERROR invalid flag");  // an unknown flag wins at once
  f = {};
  EXPECT_STREQ(parse({"Tx", "D-1"}, &f, &key), "CLIENT_ERROR invalid numeric delta value");  // the last error
  f = {};
  EXPECT_STREQ(parse({"F-1"}, &f, &key), "CLIENT_ERROR bad command line format");
  f = {};
  EXPECT_STREQ(parse({"MEE"}, &f, &key), "CLIENT_ERROR incorrect length for M token");
  f = {};
  EXPECT_STREQ(parse({"Jx"}, &f, &key), "CLIENT_ERROR invalid numeric initial value");
  f = {};
  EXPECT_STREQ(parse({"Cx"}, &f, &key), "CLIENT_ERROR bad token in command line format");
  f = {};
  EXPECT_STREQ(parse({"b"}, &f, &key), "CLIENT_ERROR error decoding key");
}

TEST(MemcacheMetaFlags, DecodesBase64Keys) {
  std::string_view key = "Zm9vYmFy";
  MetaFlags f;
  ASSERT_EQ(parse({"b", "k"}, &f, &key), nullptr);
  EXPECT_EQ(key, "foobar");
  EXPECT_TRUE(f.b);
}

TEST(MemcacheBase64, RoundTripsEveryLength) {
  std::string bin;
  for (int i = 0; i < 40; ++i) {
    char enc[64];
    const std::size_t n = base64_encode(bin, enc);
    EXPECT_EQ(n, base64_encoded_size(bin.size()));
    char dec[64];
    std::size_t m = 0;
    if (bin.empty()) {
      EXPECT_FALSE(base64_decode(std::string_view(enc, n), dec, &m));
    } else {
      ASSERT_TRUE(base64_decode(std::string_view(enc, n), dec, &m)) << std::string_view(enc, n);
      EXPECT_EQ(std::string_view(dec, m), bin);
    }
    bin.push_back(static_cast<char>(i * 37 + 200));
  }
}

TEST(MemcacheBase64, RejectsMalformedInput) {
  char out[16];
  std::size_t n = 0;
  EXPECT_EQ(base64_encode("foo", out), 4u);
  EXPECT_EQ(std::string_view(out, 4), "Zm9v");
  ASSERT_TRUE(base64_decode("Zm9=", out, &n));  // stray low bits are ignored, as memcached does
  EXPECT_EQ(std::string_view(out, n), "fo");
  for (const char* bad : {"", "Zm9", "Z===", "====", "Zg=a", "Zm9v=", "Zm*v", "Zg==Zg=="}) {
    EXPECT_FALSE(base64_decode(bad, out, &n)) << bad;
  }
}

TEST(MemcacheReply, EncodesValuesAndStats) {
  Buffer b;
  append_value(b, "k", 5, "abc", false, 0);
  append_value(b, "k", 0, "", true, 42);
  append_stat(b, "pid", "1");
  append_line(b, "END");
  EXPECT_EQ(b.view(), "VALUE k 5 3\r\nabc\r\nVALUE k 0 0 42\r\n\r\nSTAT pid 1\r\nEND\r\n");
}

TEST(MemcacheReply, EncodesMetaTokens) {
  Buffer b;
  append_meta_value_code(b, 12);
  append_meta_uint(b, 'c', 99);
  append_meta_int(b, 't', -1);
  append_meta_key(b, "foo", false);
  append_meta_key(b, "foo", true);
  EXPECT_EQ(b.view(), "VA 12 c99 t-1 kfoo kZm9v b");
}

TEST(MemcacheReply, UdpHeaderRoundTrips) {
  Buffer b;
  append_udp_header(b, {0x1234, 2, 3, 0});
  ASSERT_EQ(b.size(), kUdpHeaderSize);
  EXPECT_EQ(b.view(), "\x12\x34\0\x02\0\x03\0\0"s);
  UdpHeader h;
  ASSERT_TRUE(parse_udp_header(b.view(), &h));
  EXPECT_EQ(h.request_id, 0x1234);
  EXPECT_EQ(h.sequence, 2);
  EXPECT_EQ(h.total, 3);
  EXPECT_EQ(h.reserved, 0);
  EXPECT_FALSE(parse_udp_header(b.view().substr(0, 7), &h));
}

}  // namespace
}  // namespace ferrite::proto::memcache
