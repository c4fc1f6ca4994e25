// The HTTP codec: the request reader over http_parser, the response encoder, URL helpers.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "proto/http/request.h"
#include "proto/http/response.h"
#include "proto/http/url.h"

namespace ferrite::proto::http {
namespace {

// What one request looked like at its kHead and kMessage events.
struct Seen {
  std::string method, url, ttl, body;
  bool keep_alive = false, chunked = false, expects_continue = false, ttl_present = false;
  bool too_large = false, url_too_long = false;
  std::uint64_t content_length = 0;
  unsigned major = 0, minor = 0;
};

// Feeds `input` in chunks of `chunk` bytes (0: at once), offering unconsumed bytes again as a
// session's worker does, and collects every request. Returns false on kError.
bool read_all(RequestReader& r, std::string_view input, std::size_t chunk, std::vector<Seen>* out,
              std::size_t body_limit = 1 << 20) {
  std::string pending;
  if (chunk == 0) chunk = input.size();
  for (std::size_t off = 0; off < input.size(); off += chunk) {
    pending.append(input.substr(off, chunk));
    std::size_t used = 0;
    while (used < pending.size()) {
      const ParseResult p = r.parse(std::string_view(pending).substr(used));
      used += p.consumed;
      if (p.event == Event::kError) return false;
      if (p.event == Event::kNeedMore) {
        EXPECT_EQ(used, pending.size());
        break;
      }
      if (p.event == Event::kHead) {
        Seen s;
        s.method = std::string(r.method_name());
        s.url = std::string(r.url());
        s.url_too_long = r.url_too_long();
        s.ttl_present = r.ttl().present;
        s.ttl = std::string(r.ttl().value());
        s.chunked = r.chunked();
        s.content_length = r.content_length();
        s.expects_continue = r.expects_continue();
        s.major = r.version_major();
        s.minor = r.version_minor();
        r.store_body(body_limit);
        out->push_back(s);
      } else {
        out->back().body = std::string(r.body());
        out->back().keep_alive = r.keep_alive();
        out->back().too_large = r.body_too_large();
      }
    }
    pending.erase(0, used);
  }
  EXPECT_TRUE(pending.empty());
  return true;
}

TEST(HttpRequestReader, ParsesSimpleGet) {
  RequestReader r;
  std::vector<Seen> seen;
  ASSERT_TRUE(read_all(r, "GET /cache/abc HTTP/1.1\r\nHost: x\r\n\r\n", 0, &seen));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].url, "/cache/abc");
  EXPECT_TRUE(seen[0].keep_alive);
  EXPECT_EQ(seen[0].major, 1u);
  EXPECT_EQ(seen[0].minor, 1u);
  EXPECT_FALSE(seen[0].ttl_present);
  EXPECT_TRUE(r.idle());
}

TEST(HttpRequestReader, StopsAtHeadThenAtMessage) {
  RequestReader r;
  const std::string_view in = "PUT /k HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  ParseResult p = r.parse(in);
  EXPECT_EQ(p.event, Event::kHead);
  EXPECT_FALSE(r.idle());
  EXPECT_TRUE(r.has_body());
  EXPECT_EQ(r.content_length(), 3u);
  r.store_body(10);
  std::size_t used = p.consumed;
  p = r.parse(in.substr(used));
  EXPECT_EQ(p.event, Event::kMessage);
  used += p.consumed;
  EXPECT_EQ(used, in.size());
  EXPECT_EQ(r.body(), "abc");
  EXPECT_TRUE(r.idle());
}

TEST(HttpRequestReader, KeepsTtlAndExpectCaseInsensitively) {
  RequestReader r;
  std::vector<Seen> seen;
  ASSERT_TRUE(read_all(r,
                       "PUT /cache/k HTTP/1.1\r\nx-ttl:  60 \r\nEXPECT: 100-Continue\r\nContent-Length: 2\r\n"
                       "X-Other: 1\r\n\r\nhi",
                       0, &seen));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].ttl_present);
  EXPECT_EQ(seen[0].ttl, "60");
  EXPECT_TRUE(seen[0].expects_continue);
  EXPECT_EQ(seen[0].body, "hi");
}

TEST(HttpRequestReader, OtherExpectationIsNotContinue) {
  RequestReader r;
  ASSERT_EQ(r.parse("GET / HTTP/1.1\r\nExpect: something\r\n\r\n").event, Event::kHead);
  EXPECT_TRUE(r.expect().present);
  EXPECT_FALSE(r.expects_continue());
}

TEST(HttpRequestReader, EmptyHeaderValueEndsItsField) {
  RequestReader r;
  ASSERT_EQ(r.parse("GET / HTTP/1.1\r\nX-TTL:\r\nExpect: 100-continue\r\n\r\n").event, Event::kHead);
  EXPECT_TRUE(r.ttl().present);
  EXPECT_EQ(r.ttl().value(), "");
  EXPECT_TRUE(r.expects_continue());
}

TEST(HttpRequestReader, LongHeaderValueOverflows) {
  RequestReader r;
  const std::string in = "GET / HTTP/1.1\r\nX-TTL: " + std::string(100, '1') + "\r\n\r\n";
  ASSERT_EQ(r.parse(in).event, Event::kHead);
  EXPECT_TRUE(r.ttl().present);
  EXPECT_TRUE(r.ttl().overflow);
}

TEST(HttpRequestReader, SimilarHeaderNamesAreNotKept) {
  RequestReader r;
  ASSERT_EQ(r.parse("GET / HTTP/1.1\r\nX-TTL-Extra: 5\r\nX-TT: 6\r\nExpectation: x\r\n\r\n").event,
            Event::kHead);
  EXPECT_FALSE(r.ttl().present);
  EXPECT_FALSE(r.expect().present);
}

TEST(HttpRequestReader, DecodesChunkedBody) {
  RequestReader r;
  std::vector<Seen> seen;
  ASSERT_TRUE(
      read_all(r,
               "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n"
               "0\r\nX-TTL: 9\r\n\r\n",
               0, &seen));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].chunked);
  EXPECT_EQ(seen[0].body, "hello world");
  EXPECT_FALSE(seen[0].ttl_present);  // a trailer does not change the head
}

TEST(HttpRequestReader, PipelinedRequestsSplitAtEveryByte) {
  const std::string in =
      "GET /a HTTP/1.1\r\n\r\n"
      "PUT /b HTTP/1.1\r\nContent-Length: 5\r\nX-TTL: 7\r\n\r\nvalue"
      "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "DELETE /d HTTP/1.1\r\nConnection: close\r\n\r\n";
  for (const std::size_t chunk : {0, 1, 2, 7}) {
    RequestReader r;
    std::vector<Seen> seen;
    ASSERT_TRUE(read_all(r, in, static_cast<std::size_t>(chunk), &seen)) << chunk;
    ASSERT_EQ(seen.size(), 4u) << chunk;
    EXPECT_EQ(seen[0].url, "/a");
    EXPECT_EQ(seen[1].method, "PUT");
    EXPECT_EQ(seen[1].body, "value");
    EXPECT_EQ(seen[1].ttl, "7");
    EXPECT_EQ(seen[2].body, "abc");
    EXPECT_EQ(seen[3].method, "DELETE");
    EXPECT_TRUE(seen[2].keep_alive);
    EXPECT_FALSE(seen[3].keep_alive);
  }
}

TEST(HttpRequestReader, Http10KeepAliveOnlyWhenAsked) {
  RequestReader r;
  std::vector<Seen> seen;
  ASSERT_TRUE(
      read_all(r, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", 0, &seen));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].minor, 0u);
  EXPECT_TRUE(seen[0].keep_alive);
  EXPECT_FALSE(seen[1].keep_alive);
}

TEST(HttpRequestReader, BodyOverLimitIsDroppedNotStored) {
  RequestReader r;
  std::vector<Seen> seen;
  const std::string in = "PUT /k HTTP/1.1\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x') +
                         "PUT /k HTTP/1.1\r\nContent-Length: 10\r\n\r\n" + std::string(10, 'y');
  ASSERT_TRUE(read_all(r, in, 3, &seen, 50));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].too_large);
  EXPECT_EQ(seen[0].body, "");
  EXPECT_FALSE(seen[1].too_large);
  EXPECT_EQ(seen[1].body, std::string(10, 'y'));
}

TEST(HttpRequestReader, BodyIsSkippedUnlessAsked) {
  RequestReader r;
  ParseResult p = r.parse("POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
  ASSERT_EQ(p.event, Event::kHead);
  p = r.parse(std::string_view("POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody").substr(p.consumed));
  ASSERT_EQ(p.event, Event::kMessage);
  EXPECT_EQ(r.body(), "");
}

TEST(HttpRequestReader, LongUrlIsFlaggedNotStored) {
  RequestReader r;
  const std::string in = "GET /" + std::string(kMaxUrl, 'a') + " HTTP/1.1\r\n\r\n";
  std::vector<Seen> seen;
  ASSERT_TRUE(read_all(r, in, 100, &seen));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(seen[0].url_too_long);
  EXPECT_EQ(seen[0].url, "");
}

TEST(HttpRequestReader, MalformedInputIsAnError) {
  for (const std::string_view in : {
           std::string_view("GARBAGE\r\n\r\n"),
           std::string_view("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
           std::string_view("PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
           std::string_view("PUT / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
           std::string_view("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
       }) {
    RequestReader r;
    ParseResult p{Event::kNeedMore, 0};
    std::size_t used = 0;
    while (used < in.size()) {
      p = r.parse(in.substr(used));
      used += p.consumed;
      if (p.event == Event::kError || p.event == Event::kNeedMore) break;
    }
    EXPECT_EQ(p.event, Event::kError) << in;
    EXPECT_EQ(r.error_status(), 400) << in;
    EXPECT_NE(std::string_view(r.error_text()), "") << in;
    EXPECT_EQ(r.parse("GET / HTTP/1.1\r\n\r\n").event, Event::kError);  // stays failed
  }
}

TEST(HttpRequestReader, OverflowingChunkSizeIsAnInvalidChunkSize) {
  // 17 hex digits: over 2^64 - 1. http_parser calls it a bad Content-Length; the reader must not.
  RequestReader r;
  ParseResult p = r.parse("PUT /cache/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
  ASSERT_EQ(p.event, Event::kHead);
  p = r.parse("fffffffffffffffff\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(p.event, Event::kError);
  EXPECT_EQ(r.error_status(), 400);
  EXPECT_STREQ(r.error_text(), "invalid chunk size: too large");
  // A bad Content-Length keeps http_parser's own words.
  RequestReader cl;
  EXPECT_EQ(cl.parse("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n").event,
            Event::kError);
  EXPECT_STREQ(cl.error_text(), "invalid character in content-length header");
}

TEST(HttpRequestReader, UnknownTransferCodingIs501) {
  RequestReader r;
  ParseResult p = r.parse("PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx");
  if (p.event == Event::kHead) p = r.parse("xx");
  EXPECT_EQ(p.event, Event::kError);
  EXPECT_EQ(r.error_status(), 501);
}

TEST(HttpRequestReader, OversizedHeadIs431) {
  RequestReader r;
  const std::string in = "GET / HTTP/1.1\r\nX-Big: " + std::string(100 << 10, 'a') + "\r\n\r\n";
  EXPECT_EQ(r.parse(in).event, Event::kError);
  EXPECT_EQ(r.error_status(), 431);
}

TEST(HttpRequestReader, UpgradeIsDeclinedAndBodyStillRead) {
  RequestReader r;
  std::vector<Seen> seen;
  ASSERT_TRUE(read_all(r,
                       "PUT /k HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                       "Content-Length: 2\r\n\r\nxyGET /next HTTP/1.1\r\n\r\n",
                       0, &seen));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].body, "xy");
  EXPECT_EQ(seen[1].url, "/next");
}

TEST(HttpRequestReader, BodyBufferIsReusedAcrossRequests) {
  RequestReader r;
  std::vector<Seen> seen;
  const std::string one = "PUT /k HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'z');
  ASSERT_TRUE(read_all(r, one + one + one, 10, &seen));
  ASSERT_EQ(seen.size(), 3u);
  for (const Seen& s : seen) EXPECT_EQ(s.body, std::string(1000, 'z'));
}

TEST(HttpResponse, EncodesHeadWithLengthTypeAndConnection) {
  Buffer out;
  encode_head({.status = 200, .content_length = 5, .content_type = "text/plain", .date = "D"}, out);
  EXPECT_EQ(out.view(),
            "HTTP/1.1 200 OK\r\nDate: D\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n");
  out.clear();
  encode_head({.status = 405, .allow = "GET, HEAD", .connection = ConnectionHeader::kClose}, out);
  EXPECT_EQ(out.view(),
            "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nAllow: GET, HEAD\r\nConnection: "
            "close\r\n\r\n");
  out.clear();
  encode_head({.status = 204, .content_length = 9, .connection = ConnectionHeader::kKeepAlive}, out);
  EXPECT_EQ(out.view(), "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpResponse, ReasonPhrases) {
  EXPECT_EQ(reason_phrase(201), "Created");
  EXPECT_EQ(reason_phrase(413), "Payload Too Large");
  EXPECT_EQ(reason_phrase(507), "Insufficient Storage");
  EXPECT_EQ(reason_phrase(599), "Unknown");
  EXPECT_EQ(kContinue, "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(HttpResponse, FormatsImfFixdate) {
  char d[kDateLength];
  format_date(0, d);
  EXPECT_EQ(std::string_view(d, kDateLength), "Thu, 01 Jan 1970 00:00:00 GMT");
  format_date(784111777, d);  // RFC 7231's example
  EXPECT_EQ(std::string_view(d, kDateLength), "Sun, 06 Nov 1994 08:49:37 GMT");
  format_date(951782400, d);  // a leap day in a year divisible by 400
  EXPECT_EQ(std::string_view(d, kDateLength), "Tue, 29 Feb 2000 00:00:00 GMT");
  format_date(4102444799, d);
  EXPECT_EQ(std::string_view(d, kDateLength), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpUrl, TargetPath) {
  std::string_view p;
  ASSERT_TRUE(target_path("/cache/k?x=1", &p));
  EXPECT_EQ(p, "/cache/k");
  ASSERT_TRUE(target_path("http://host:8080/cache/a%20b#frag", &p));
  EXPECT_EQ(p, "/cache/a%20b");
  ASSERT_TRUE(target_path("*", &p));
  EXPECT_EQ(p, "");
  ASSERT_TRUE(target_path("host:443", &p));
  EXPECT_EQ(p, "");
  EXPECT_FALSE(target_path("", &p));
  EXPECT_FALSE(target_path("http://", &p));
}

TEST(HttpUrl, PercentDecode) {
  char buf[16];
  std::size_t n = 0;
  ASSERT_EQ(percent_decode("a%20b%2Fc%2f+", buf, sizeof buf, &n), Decode::kOk);
  EXPECT_EQ(std::string_view(buf, n), "a b/c/+");
  ASSERT_EQ(percent_decode("%00%ff", buf, sizeof buf, &n), Decode::kOk);
  EXPECT_EQ(std::string_view(buf, n), std::string_view("\0\xff", 2));
  EXPECT_EQ(percent_decode("%", buf, sizeof buf, &n), Decode::kInvalid);
  EXPECT_EQ(percent_decode("a%2", buf, sizeof buf, &n), Decode::kInvalid);
  EXPECT_EQ(percent_decode("%zz", buf, sizeof buf, &n), Decode::kInvalid);
  EXPECT_EQ(percent_decode("%g0", buf, sizeof buf, &n), Decode::kInvalid);
  EXPECT_EQ(percent_decode(std::string(16, 'a'), buf, sizeof buf, &n), Decode::kOk);
  EXPECT_EQ(percent_decode(std::string(17, 'a'), buf, sizeof buf, &n), Decode::kTooLong);
  EXPECT_EQ(percent_decode(std::string(17, 'a') + "%", buf, sizeof buf, &n), Decode::kInvalid);
  EXPECT_EQ(percent_decode(std::string(16, 'a') + "%41", buf, sizeof buf, &n), Decode::kTooLong);
}

}  // namespace
}  // namespace ferrite::proto::http
