// The RESP codec: the request parser (multibulk, inline, every protocol error, resuming an
// incomplete request), the reply encoder in RESP2 and RESP3, and Redis's number rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "proto/resp/resp_number.h"
#include "proto/resp/resp_parser.h"
#include "proto/resp/resp_writer.h"

namespace ferrite::proto::resp {
namespace {

constexpr std::size_t kMax = (1u << 20) + (64u << 10);

std::vector<std::string> args_of(const RequestParser& p) {
  std::vector<std::string> v;
  for (const std::string_view a : p.args()) v.emplace_back(a);
  return v;
}

std::string message_of(const RequestParser& p) {
  Buffer b;
  p.error_message(b);
  return std::string(b.view());
}

// Parses one complete request from `in`; returns its arguments.
std::vector<std::string> parse_one(std::string_view in, std::size_t* consumed = nullptr) {
  RequestParser p;
  EXPECT_EQ(p.parse(in, kMax), ParseStatus::kComplete) << in;
  if (consumed != nullptr) *consumed = p.consumed();
  return args_of(p);
}

// The error message a complete-enough input gives.
std::string parse_error(std::string_view in, std::size_t max = kMax) {
  RequestParser p;
  EXPECT_EQ(p.parse(in, max), ParseStatus::kError) << in;
  return message_of(p);
}

using Args = std::vector<std::string>;

TEST(RespParser, MultibulkRequest) {
  std::size_t n = 0;
  EXPECT_EQ(parse_one("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\nGET", &n), (Args{"SET", "k", "value"}));
  EXPECT_EQ(n, 31u);
}

TEST(RespParser, MultibulkArgumentsPointIntoTheInput) {
  const std::string in = "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";
  RequestParser p;
  ASSERT_EQ(p.parse(in, kMax), ParseStatus::kComplete);
  EXPECT_EQ(p.args()[1].data(), in.data() + 17);
}

TEST(RespParser, MultibulkBinaryAndEmptyArguments) {
  EXPECT_EQ(parse_one(std::string("*3\r\n$0\r\n\r\n$3\r\na\r\n\r\n$2\r\n\0\xff\r\n", 27)),
            (Args{"", "a\r\n", std::string("\0\xff", 2)}));
}

TEST(RespParser, EmptyMultibulkIsAnEmptyRequest) {
  for (const char* in : {"*0\r\nPING", "*-1\r\nPING", "*-7\r\nPING"}) {
    std::size_t n = 0;
    EXPECT_TRUE(parse_one(in, &n).empty()) << in;
    EXPECT_EQ(n, std::string_view(in).size() - 4) << in;
  }
}

TEST(RespParser, CountLinesLikeRedis) {
  // Only '\r' ends a count line; the byte after it is skipped unseen, as are the two after a bulk.
  EXPECT_EQ(parse_one("*1\rX$4\rXPINGxx"), Args{"PING"});
}

TEST(RespParser, IncompleteMultibulkResumes) {
  const std::string in = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
  for (std::size_t cut = 0; cut < in.size(); ++cut) {
    RequestParser p;
    // Every prefix is incomplete; offering the prefixes one after another and then the whole
    // request must end with the same arguments.
    for (std::size_t i = 1; i <= cut; ++i)
      ASSERT_EQ(p.parse(in.substr(0, i), kMax), ParseStatus::kIncomplete) << i;
    ASSERT_EQ(p.parse(in, kMax), ParseStatus::kComplete) << cut;
    EXPECT_EQ(args_of(p), (Args{"SET", "k", "value"})) << cut;
    EXPECT_EQ(p.consumed(), in.size());
  }
}

TEST(RespParser, ResumedArgumentsPointIntoTheNewInput) {
  std::string in = "*2\r\n$3\r\nGET\r\n$3\r\nke";
  RequestParser p;
  ASSERT_EQ(p.parse(in, kMax), ParseStatus::kIncomplete);
  const std::string moved = in + "y\r\n";  // the worker's buffer may move between calls
  ASSERT_EQ(p.parse(moved, kMax), ParseStatus::kComplete);
  EXPECT_EQ(p.args()[0].data(), moved.data() + 8);
  EXPECT_EQ(args_of(p), (Args{"GET", "key"}));
}

TEST(RespParser, NextRequestAfterCompleteStartsFresh) {
  RequestParser p;
  ASSERT_EQ(p.parse("*1\r\n$4\r\nPING\r\n", kMax), ParseStatus::kComplete);
  ASSERT_EQ(p.parse("ECHO hi\r\n", kMax), ParseStatus::kComplete);
  EXPECT_EQ(args_of(p), (Args{"ECHO", "hi"}));
}

TEST(RespParser, InvalidMultibulkLength) {
  for (const char* in :
       {"*abc\r\n", "*\r\n", "*+1\r\n", "*01\r\n", "*1 \r\n", "*1048577\r\n", "*9223372036854775808\r\n"}) {
    EXPECT_EQ(parse_error(in), "Protocol error: invalid multibulk length") << in;
  }
  RequestParser p;
  EXPECT_EQ(p.parse("*1048576\r\n", kMax), ParseStatus::kIncomplete);  // the limit itself is fine
}

TEST(RespParser, InvalidBulkLength) {
  for (const char* in : {"*1\r\n$-1\r\n", "*1\r\n$abc\r\n", "*1\r\n$04\r\n", "*1\r\n$ 4\r\n", "*1\r\n$\r\n",
                         "*1\r\n$-0\r\n", "*1\r\n$9223372036854775808\r\n"}) {
    EXPECT_EQ(parse_error(in), "Protocol error: invalid bulk length") << in;
  }
}

// Feeds `in` to `p` in `chunk`-byte pieces as a connection would (dropping what it consumes)
// until kRefused; returns the bytes after the refused request, or "<status>" if it ended otherwise.
std::string swallow(RequestParser& p, std::string_view in, std::size_t chunk, std::size_t max_request,
                    std::size_t max_bulk = kMax, std::size_t* most_held = nullptr) {
  std::string pending;
  std::size_t off = 0;
  for (;;) {
    const ParseStatus st = p.parse(pending, max_request, max_bulk);
    if (st == ParseStatus::kRefused) {
      std::string rest(std::string_view(pending).substr(p.consumed()));
      rest.append(in.data() + off, in.size() - off);
      return rest;
    }
    if (st == ParseStatus::kSkipping) {
      pending.erase(0, p.consumed());
      continue;
    }
    if (st != ParseStatus::kIncomplete || off == in.size()) {
      std::string status = "<";
      status.push_back(static_cast<char>('0' + static_cast<int>(st)));
      status.push_back('>');
      return status;
    }
    const std::size_t n = std::min(chunk, in.size() - off);
    pending.append(in.data() + off, n);
    off += n;
    if (most_held != nullptr) *most_held = std::max(*most_held, pending.size());
  }
}

TEST(RespParser, BulkLargerThanTheRequestLimitIsSwallowedAndRefused) {
  EXPECT_EQ(parse_error("*1\r\n$536870913\r\n"), "Protocol error: invalid bulk length");  // over Redis's 512 MB
  RequestParser p;
  EXPECT_EQ(p.parse("*1\r\n$1000\r\n", 1000), ParseStatus::kSkipping);
  EXPECT_EQ(p.consumed(), 11u);  // the header goes at once
  EXPECT_TRUE(p.skipping());
  p.reset();
  // 4 + 6 + 989 + 2 = 1001 bytes: over a 1000-byte limit, within a 1001-byte one.
  EXPECT_EQ(p.parse("*1\r\n$989\r\n", 1000), ParseStatus::kSkipping);
  p.reset();
  EXPECT_EQ(p.parse("*1\r\n$989\r\n", 1001), ParseStatus::kIncomplete);
  p.reset();
  const std::string req = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000\r\n" + std::string(2000, 'v') + "\r\n";
  EXPECT_EQ(swallow(p, req + "*1\r\n$4\r\nPING\r\n", 7, 1000), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(message_of(p), "request larger than the server's limit (proto-max-bulk-len + 64 KiB)");
  EXPECT_EQ(p.parse("*1\r\n$4\r\nPING\r\n", 1000), ParseStatus::kComplete);  // the next one is parsed
  EXPECT_EQ(args_of(p), (Args{"PING"}));
}

TEST(RespParser, BulkOverTheBulkLimitIsSwallowedAndRefused) {
  RequestParser p;
  // A value bulk over max_bulk_bytes, then more bulks after it: every one of them goes.
  const std::string req =
      "*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$101\r\n" + std::string(101, 'v') + "\r\n$2\r\nNX\r\n";
  for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{64}, req.size()}) {
    p.reset();
    std::size_t held = 0;
    EXPECT_EQ(swallow(p, req + "GET k\r\n", chunk, kMax, 100, &held), "GET k\r\n") << chunk;
    EXPECT_EQ(message_of(p), "string exceeds maximum allowed size (proto-max-bulk-len)");
    if (chunk < 64) {
      EXPECT_LT(held, 40u) << "swallowing buffers nothing: " << chunk;
    }
  }
  // Within the bulk limit: an ordinary request.
  p.reset();
  EXPECT_EQ(p.parse("*1\r\n$100\r\n" + std::string(100, 'v') + "\r\n", kMax, 100), ParseStatus::kComplete);
}

TEST(RespParser, AnnouncedSizeIsNeverReserved) {
  // 500 MiB announced, 1 KiB sent: the parser holds nothing of it and keeps asking for more.
  RequestParser p;
  std::size_t held = 0;
  const std::string start = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$524288000\r\n" + std::string(1024, 'v');
  EXPECT_EQ(swallow(p, start, 10, kMax, 1 << 20, &held), "<1>");  // still incomplete
  EXPECT_TRUE(p.skipping());
  EXPECT_LE(held, 40u);
}

TEST(RespParser, MalformedHeaderWhileSwallowingIsAProtocolError) {
  RequestParser p;
  std::string in = "*3\r\n$3\r\nSET\r\n$200\r\n" + std::string(200, 'k') + "\r\n:1\r\n";
  EXPECT_EQ(swallow(p, in, in.size(), kMax, 100), "<2>");
  EXPECT_EQ(message_of(p), "Protocol error: expected '$', got ':'");
}

TEST(RespParser, ManySmallArgumentsOverTheLimitAreRefused) {
  std::string in = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) in += "$1\r\na\r\n";
  RequestParser p;
  EXPECT_EQ(swallow(p, in + "PING\r\n", 100, 1000), "PING\r\n");
  EXPECT_EQ(message_of(p), "request larger than the server's limit (proto-max-bulk-len + 64 KiB)");
  p.reset();
  EXPECT_EQ(p.parse(in, kMax), ParseStatus::kComplete);
}

TEST(RespParser, ExpectedDollar) {
  EXPECT_EQ(parse_error("*1\r\nx\r\n"), "Protocol error: expected '$', got 'x'");
  EXPECT_EQ(parse_error("*2\r\n$1\r\na\r\n:1\r\n"), "Protocol error: expected '$', got ':'");
  // Like Redis, the header is judged once its line is complete.
  RequestParser p;
  EXPECT_EQ(p.parse("*1\r\nx", kMax), ParseStatus::kIncomplete);
}

TEST(RespParser, TooBigCountStrings) {
  // Built by appending: g++ 12 warns falsely (-Wrestrict) about operator+ here.
  std::string count = "*";
  count.append(kInlineMaxSize + 1, '1');
  EXPECT_EQ(parse_error(count), "Protocol error: too big mbulk count string");
  std::string bulk = "*1\r\n$";
  bulk.append(kInlineMaxSize + 1, '1');
  EXPECT_EQ(parse_error(bulk), "Protocol error: too big bulk count string");
  RequestParser p;
  std::string under = "*";
  under.append(kInlineMaxSize - 1, '1');
  EXPECT_EQ(p.parse(under, kMax), ParseStatus::kIncomplete);
}

TEST(RespParser, InlineWords) {
  EXPECT_EQ(parse_one("SET key value\r\n"), (Args{"SET", "key", "value"}));
  EXPECT_EQ(parse_one("  GET\t key  \r\n"), (Args{"GET", "key"}));
  EXPECT_EQ(parse_one("PING\n"), Args{"PING"});
  EXPECT_EQ(parse_one("PING\r\r\n"), Args{"PING"});
  EXPECT_EQ(parse_one("ECHO \va\r\n"), (Args{"ECHO", "a"}));      // leading \v is a space
  EXPECT_EQ(parse_one("ECHO a\vb\r\n"), (Args{"ECHO", "a\vb"}));  // but not inside a word
}

TEST(RespParser, InlinePlainWordsPointIntoTheInput) {
  const std::string in = "GET key\r\n";
  RequestParser p;
  ASSERT_EQ(p.parse(in, kMax), ParseStatus::kComplete);
  EXPECT_EQ(p.args()[1].data(), in.data() + 4);
}

TEST(RespParser, InlineEmptyLineIsAnEmptyRequest) {
  std::size_t n = 0;
  EXPECT_TRUE(parse_one("\r\nPING\r\n", &n).empty());
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(parse_one("   \t\r\n", &n).empty());
}

TEST(RespParser, InlineQuotes) {
  EXPECT_EQ(parse_one("ECHO \"a b\"\r\n"), (Args{"ECHO", "a b"}));
  EXPECT_EQ(parse_one("ECHO 'a b'\r\n"), (Args{"ECHO", "a b"}));
  EXPECT_EQ(parse_one("ECHO \"\"\r\n"), (Args{"ECHO", ""}));
  EXPECT_EQ(parse_one("ECHO a\"b c\"\r\n"), (Args{"ECHO", "ab c"}));
  EXPECT_EQ(parse_one("ECHO \"\\x41\\x4a\"\r\n"), (Args{"ECHO", "AJ"}));
  EXPECT_EQ(parse_one("ECHO \"\\x4g\"\r\n"), (Args{"ECHO", "x4g"}));
  EXPECT_EQ(parse_one("ECHO \"\\q\\n\\t\\r\\b\\a\\\"\"\r\n"), (Args{"ECHO", "q\n\t\r\b\a\""}));
  EXPECT_EQ(parse_one("ECHO 'a\\'b' 'c\\d'\r\n"), (Args{"ECHO", "a'b", "c\\d"}));
  EXPECT_EQ(parse_one("ECHO \"a\"\tb\r\n"), (Args{"ECHO", "a", "b"}));
}

TEST(RespParser, UnbalancedQuotes) {
  for (const char* in : {"GET \"a\r\n", "GET 'a\r\n", "GET \"a\"b\r\n", "GET 'a'b\r\n", "ECHO 'a\\'\r\n",
                         "ECHO \"a\\\"\r\n"}) {
    EXPECT_EQ(parse_error(in), "Protocol error: unbalanced quotes in request") << in;
  }
}

TEST(RespParser, TooBigInline) {
  EXPECT_EQ(parse_error(std::string(kInlineMaxSize + 1, 'a')), "Protocol error: too big inline request");
  RequestParser p;
  EXPECT_EQ(p.parse(std::string(kInlineMaxSize, 'a'), kMax), ParseStatus::kIncomplete);
  // A long line that has its end is accepted, as by Redis.
  EXPECT_EQ(parse_one("ECHO " + std::string(100000, 'a') + "\r\n").size(), 2u);
}

TEST(RespParser, IncompleteInlineResumes) {
  const std::string in = "SET \"k 1\" v\r\n";
  for (std::size_t cut = 1; cut < in.size(); ++cut) {
    RequestParser p;
    ASSERT_EQ(p.parse(in.substr(0, cut), kMax), ParseStatus::kIncomplete);
    ASSERT_EQ(p.parse(in, kMax), ParseStatus::kComplete);
    EXPECT_EQ(args_of(p), (Args{"SET", "k 1", "v"}));
  }
}

TEST(RespParser, ResetForgetsAPartialRequest) {
  RequestParser p;
  ASSERT_EQ(p.parse("*2\r\n$3\r\nGET", kMax), ParseStatus::kIncomplete);
  p.reset();
  ASSERT_EQ(p.parse("PING\r\n", kMax), ParseStatus::kComplete);
  EXPECT_EQ(args_of(p), Args{"PING"});
}

std::string encode(int version, void (*f)(Writer&)) {
  Buffer b;
  Writer w(b, version);
  f(w);
  return std::string(b.view());
}

// peek_request: the session's look ahead for prefetching pipelined keys.
TEST(RespPeek, PlainRequestsAgreeWithTheParser) {
  static constexpr char kPipeline[] =
      "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n"
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
      "*1\r\n$4\r\nPING\r\n"
      "*2\r\n$3\r\nGET\r\n$12\r\nbin\r\nary\0key\r\n";
  const std::string pipeline(kPipeline, sizeof kPipeline - 1);  // with its NUL
  const std::vector<std::string> keys = {"foo", "k", "", std::string("bin\r\nary\0key", 12)};
  std::size_t at = 0;
  for (const std::string& want : keys) {
    std::string_view key;
    const std::size_t len = peek_request(std::string_view(pipeline).substr(at), &key);
    ASSERT_GT(len, 0u) << at;
    EXPECT_EQ(std::string(key), want);
    std::size_t consumed = 0;
    const Args args = parse_one(std::string_view(pipeline).substr(at), &consumed);
    EXPECT_EQ(len, consumed);
    EXPECT_EQ(args.size() >= 2 ? args[1] : std::string(), want);
    at += len;
  }
  EXPECT_EQ(at, pipeline.size());
}

TEST(RespPeek, AnythingUnusualIsLeftToTheParser) {
  const std::string get = "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n";
  std::string_view key = "x";
  for (std::size_t n = 0; n < get.size(); ++n) {  // every incomplete prefix
    EXPECT_EQ(peek_request(std::string_view(get).substr(0, n), &key), 0u) << n;
    EXPECT_TRUE(key.empty());
  }
  for (const char* in : {
           "GET foo\r\n",                             // inline
           "*0\r\n",                                  // no arguments
           "*-1\r\n",                                 // negative count
           "*02\r\n$3\r\nGET\r\n$1\r\nk\r\n",          // leading zero in the count
           "*2\r\n$03\r\nGET\r\n$1\r\nk\r\n",          // leading zero in a length
           "*2\r\n$+3\r\nGET\r\n$1\r\nk\r\n",          // a sign
           "*2\r\n$3\r\nGETX\r\n$1\r\nk\r\n",          // data longer than announced
           "*2\r\n$3\r\nGET\r\n:1\r\nk\r\n",           // not a bulk
           "*2\n$3\r\nGET\r\n$1\r\nk\r\n",              // LF alone
           "*1048577\r\n",                            // over the multibulk limit
           "*2\r\n$1000000000\r\n",                 // a length of ten digits
       }) {
    EXPECT_EQ(peek_request(in, &key), 0u) << in;
  }
}

TEST(RespWriter, ScalarsAreTheSameInBothVersions) {
  for (const int v : {2, 3}) {
    EXPECT_EQ(encode(v, [](Writer& w) { w.simple("OK"); }), "+OK\r\n");
    EXPECT_EQ(encode(v, [](Writer& w) { w.integer(-42); }), ":-42\r\n");
    EXPECT_EQ(encode(v, [](Writer& w) { w.integer(std::numeric_limits<std::int64_t>::min()); }),
              ":-9223372036854775808\r\n");
    EXPECT_EQ(encode(v, [](Writer& w) { w.bulk("a\r\nb"); }), "$4\r\na\r\nb\r\n");
    EXPECT_EQ(encode(v, [](Writer& w) { w.bulk(""); }), "$0\r\n\r\n");
    EXPECT_EQ(encode(v, [](Writer& w) { w.array(3); }), "*3\r\n");
  }
}

TEST(RespWriter, ErrorsAreMadeSafe) {
  EXPECT_EQ(encode(2, [](Writer& w) { w.error("ERR bad 'a\r\nb'"); }), "-ERR bad 'a  b'\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.error(std::string_view("ERR a\0b", 7)); }), "-ERR a\r\n");
}

TEST(RespWriter, Resp2Shapes) {
  EXPECT_EQ(encode(2, [](Writer& w) { w.null(); }), "$-1\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.null_array(); }), "*-1\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.map(2); }), "*4\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.set(2); }), "*2\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.dbl(1.5); }), "$3\r\n1.5\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.boolean(true); }), ":1\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.boolean(false); }), ":0\r\n");
  EXPECT_EQ(encode(2, [](Writer& w) { w.verbatim("txt", "a\r\nb"); }), "$4\r\na\r\nb\r\n");
}

TEST(RespWriter, Resp3Shapes) {
  EXPECT_EQ(encode(3, [](Writer& w) { w.null(); }), "_\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.null_array(); }), "_\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.map(2); }), "%2\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.set(2); }), "~2\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.dbl(1.5); }), ",1.5\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.dbl(0.1); }), ",0.10000000000000001\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.dbl(-INFINITY); }), ",-inf\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.dbl(NAN); }), ",nan\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.boolean(true); }), "#t\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.boolean(false); }), "#f\r\n");
  EXPECT_EQ(encode(3, [](Writer& w) { w.verbatim("txt", "a\r\nb"); }), "=8\r\ntxt:a\r\nb\r\n");
}

TEST(RespNumber, ParseI64FollowsString2ll) {
  std::int64_t v = 0;
  EXPECT_TRUE(parse_i64("0", &v) && v == 0);
  EXPECT_TRUE(parse_i64("-12", &v) && v == -12);
  EXPECT_TRUE(parse_i64("9223372036854775807", &v) && v == std::numeric_limits<std::int64_t>::max());
  EXPECT_TRUE(parse_i64("-9223372036854775808", &v) && v == std::numeric_limits<std::int64_t>::min());
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "1a", "9223372036854775808",
                          "-9223372036854775809", "100000000000000000000"}) {
    EXPECT_FALSE(parse_i64(bad, &v)) << bad;
  }
}

TEST(RespNumber, ParseLongDoubleFollowsString2ld) {
  long double v = 0;
  EXPECT_TRUE(parse_long_double("10.5", &v) && v == 10.5L);
  EXPECT_TRUE(parse_long_double("0x10", &v) && v == 16.0L);
  EXPECT_TRUE(parse_long_double("inf", &v) && std::isinf(v));
  EXPECT_TRUE(parse_long_double("5.", &v) && v == 5.0L);
  EXPECT_TRUE(parse_long_double("1e400", &v) && v > 1e300L);  // long double has the range
  for (const char* bad : {"", " 1", "1 ", "abc", "nan", "1e5000", "1e-5000", "1,5"}) {
    EXPECT_FALSE(parse_long_double(bad, &v)) << bad;
  }
  EXPECT_FALSE(parse_long_double(std::string_view("1\0", 2), &v));
  EXPECT_FALSE(parse_long_double(std::string_view("\0\0", 2), &v));
}

std::string ld(long double v) {
  char buf[kLongDoubleChars];
  return std::string(buf, format_long_double(v, buf));
}

TEST(RespNumber, FormatLongDoubleLikeIncrbyfloat) {
  EXPECT_EQ(ld(3.0L), "3");
  EXPECT_EQ(ld(10.6L), "10.6");
  EXPECT_EQ(ld(-0.0L), "0");
  EXPECT_EQ(ld(1.5e-5L), "0.000015");
  EXPECT_EQ(ld(1e20L), "100000000000000000000");
  EXPECT_EQ(ld(1.23456789012345678901L), "1.23456789012345679");
  EXPECT_EQ(ld(-2.5L), "-2.5");
}

TEST(RespNumber, FormatDoubleIsPercent17g) {
  char buf[32];
  EXPECT_EQ(std::string(buf, format_double(1.5, buf)), "1.5");
  EXPECT_EQ(std::string(buf, format_double(1e300, buf)), "1.0000000000000001e+300");
  EXPECT_EQ(std::string(buf, format_double(INFINITY, buf)), "inf");
}

TEST(RespNumber, GlobMatch) {
  EXPECT_TRUE(glob_match("*", "anything", false));
  EXPECT_TRUE(glob_match("max*", "maxmemory-policy", false));
  EXPECT_TRUE(glob_match("MAX*", "maxmemory", true));
  EXPECT_FALSE(glob_match("MAX*", "maxmemory", false));
  EXPECT_TRUE(glob_match("g?t", "get", false));
  EXPECT_TRUE(glob_match("*ex*", "pexpireat", false));
  EXPECT_TRUE(glob_match("[a-c]x", "bx", false));
  EXPECT_FALSE(glob_match("[^a-c]x", "bx", false));
  EXPECT_TRUE(glob_match("a\\*", "a*", false));
  EXPECT_FALSE(glob_match("a\\*", "ab", false));
  EXPECT_FALSE(glob_match("g*t", "gets", false));
  EXPECT_TRUE(glob_match("", "", false));
  EXPECT_FALSE(glob_match("", "a", false));
}

// Redis's stringmatchlen in its corners (tests/resp/fuzz_glob.cc compares with a port of it).
TEST(RespNumber, GlobMatchCornersAsRedis) {
  EXPECT_FALSE(glob_match("*", "", false));  // Redis: an empty string matches only ""
  EXPECT_FALSE(glob_match("?", "", false));
  EXPECT_TRUE(glob_match("a*", "a", false));
  EXPECT_TRUE(glob_match("a**", "a", false));
  EXPECT_TRUE(glob_match("[z-a]", "m", false));     // a reversed range is swapped
  EXPECT_FALSE(glob_match("[a-]", "-", false));     // a range up to ']' (then an open class)
  EXPECT_TRUE(glob_match("[a-]", "_", false));
  EXPECT_TRUE(glob_match("[\\]", "]", false));      // an escaped ']' inside an open class
  EXPECT_TRUE(glob_match("[\\]]", "]", false));
  EXPECT_TRUE(glob_match("[abc", "c", false));      // an open class ends with the pattern
  EXPECT_FALSE(glob_match("[abc", "cd", false));
  EXPECT_TRUE(glob_match("[^]", "x", false));
  EXPECT_TRUE(glob_match("a\\", "a\\", false));     // a trailing backslash is itself
  EXPECT_TRUE(glob_match("\\?", "?", false));
  EXPECT_FALSE(glob_match("\\?", "x", false));
}

// Many stars against a long string that almost matches: Redis bounds this with its nesting limit
// and skip rule; here one backtrack point keeps it at pattern x string steps.
TEST(RespNumber, GlobMatchIsNotExponential) {
  std::string pattern;
  for (int i = 0; i < 200; ++i) pattern += "a*";
  pattern += "b";
  const std::string str(20000, 'a');
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(glob_match(pattern, str, false));
  EXPECT_TRUE(glob_match(pattern, str + "b", false));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace ferrite::proto::resp
