// The HTTP session: every route and error with its exact response, keep-alive and close,
// pipelining, chunked and 100-continue uploads, and input split at every byte.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "engine/http/session.h"
#include "engine_test_util.h"
#include "hash_test_util.h"

namespace ferrite::engine {
namespace {

using testing::SessionHarness;

// Responses without their Date headers (checked on their own in DateHeaderIsImfFixdate).
std::string strip_dates(std::string s) {
  for (std::size_t at = s.find("\r\nDate: "); at != std::string::npos; at = s.find("\r\nDate: ", at)) {
    s.erase(at + 2, 6 + 29 + 2);
  }
  return s;
}

constexpr std::size_t kHttp = static_cast<std::size_t>(Proto::kHttp);

class HttpSessionTest : public ::testing::Test {
 protected:
  explicit HttpSessionTest(std::size_t memory = std::size_t{64} << 20, std::size_t max_item = 1024)
      : h_(memory, max_item), s_(make_http_session(h_.info())) {}

  // Feeds `in` (in chunks of `chunk` bytes) and returns the responses without Date headers.
  std::string run(std::string_view in, std::size_t chunk = 0) { return strip_dates(h_.feed(*s_, in, chunk)); }
  std::int64_t requests(Op op) { return h_stats().requests[kHttp][static_cast<std::size_t>(op)].get(); }
  WorkerStats& h_stats() { return h_.stats(); }

  SessionHarness h_;
  std::unique_ptr<Session> s_;
};

constexpr std::string_view kNotFound =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\nkey not "
    "found\n";
constexpr std::string_view kCreated = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kNoContent = "HTTP/1.1 204 No Content\r\n\r\n";

std::string ok_value(std::string_view v) {
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(v.size()) + "\r\n\r\n" + std::string(v);
}

std::string error(int status, std::string_view reason, std::string_view text, std::string_view extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(text.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(text);
}

TEST_F(HttpSessionTest, GetMissIs404) {
  EXPECT_EQ(run("GET /cache/nope HTTP/1.1\r\nHost: x\r\n\r\n"), kNotFound);
  EXPECT_EQ(h_stats().misses[kHttp].get(), 1);
  EXPECT_EQ(requests(Op::k_get), 1);
  EXPECT_FALSE(s_->closing());
}

TEST_F(HttpSessionTest, PutCreatesThenOverwritesThenGetReturnsValue) {
  EXPECT_EQ(run("PUT /cache/k HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"), kCreated);
  EXPECT_EQ(run("PUT /cache/k HTTP/1.1\r\nContent-Length: 3\r\n\r\nbye"), kNoContent);
  EXPECT_EQ(run("GET /cache/k HTTP/1.1\r\n\r\n"), ok_value("bye"));
  EXPECT_EQ(h_stats().hits[kHttp].get(), 1);
  EXPECT_EQ(requests(Op::k_set), 2);
  EXPECT_EQ(requests(Op::k_get), 1);
  const store::ItemView v = h_.ctx().get("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "bye");
  EXPECT_EQ(v.expires_at_ms(), 0u);
}

TEST_F(HttpSessionTest, PutWithoutBodyStoresEmptyValue) {
  EXPECT_EQ(run("PUT /cache/e HTTP/1.1\r\n\r\n"), kCreated);
  EXPECT_EQ(run("GET /cache/e HTTP/1.1\r\n\r\n"), ok_value(""));
}

TEST_F(HttpSessionTest, HeadGivesLengthWithoutBody) {
  run("PUT /cache/k HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(run("HEAD /cache/k HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(
      run("HEAD /cache/other HTTP/1.1\r\n\r\n"),
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n");
  EXPECT_EQ(requests(Op::k_get), 2);
  EXPECT_EQ(h_stats().hits[kHttp].get(), 1);
  EXPECT_EQ(h_stats().misses[kHttp].get(), 1);
}

TEST_F(HttpSessionTest, DeleteIs204ThenMissIs404) {
  run("PUT /cache/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nv");
  EXPECT_EQ(run("DELETE /cache/k HTTP/1.1\r\n\r\n"), kNoContent);
  EXPECT_EQ(run("DELETE /cache/k HTTP/1.1\r\n\r\n"), kNotFound);
  EXPECT_EQ(requests(Op::k_delete), 2);
  EXPECT_FALSE(h_.ctx().get("k"));
}

TEST_F(HttpSessionTest, Health) {
  EXPECT_EQ(run("GET /health HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n");
  EXPECT_EQ(run("HEAD /health HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(requests(Op::k_noop), 2);
}

TEST_F(HttpSessionTest, MetricsIsPrometheusText) {
  run("PUT /cache/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nv");
  const std::string r = run("GET /metrics HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(r.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
      << r;
  const std::size_t body = r.find("\r\n\r\n") + 4;
  const std::size_t len_at = r.find("Content-Length: ") + 16;
  EXPECT_EQ(std::stoul(r.substr(len_at)), r.size() - body);
  EXPECT_NE(r.find("\nferrite_requests_total{protocol=\"http\",op=\"set\"} 1\n"), std::string::npos) << r;
  EXPECT_NE(r.find("\nferrite_items 1\n"), std::string::npos) << r;
  EXPECT_EQ(requests(Op::k_stats), 1);
}

TEST_F(HttpSessionTest, UnknownPathIs404) {
  EXPECT_EQ(run("GET / HTTP/1.1\r\n\r\n"), error(404, "Not Found", "not found\n"));
  EXPECT_EQ(run("GET /cache HTTP/1.1\r\n\r\n"), error(404, "Not Found", "not found\n"));
  EXPECT_EQ(run("GET /healthz HTTP/1.1\r\n\r\n"), error(404, "Not Found", "not found\n"));
  EXPECT_EQ(
      run("PUT /other/k HTTP/1.1\r\nContent-Length: 2\r\n\r\nxxGET /health HTTP/1.1\r\n\r\n"),
      error(404, "Not Found", "not found\n") +
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n");
  EXPECT_EQ(requests(Op::k_error), 4);
  EXPECT_EQ(h_stats().protocol_errors[kHttp].get(), 0);
  EXPECT_FALSE(s_->closing());
}

TEST_F(HttpSessionTest, OtherMethodsAre405WithAllow) {
  EXPECT_EQ(run("POST /cache/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"),
            error(405, "Method Not Allowed", "method not allowed\n", "Allow: GET, HEAD, PUT, DELETE\r\n"));
  EXPECT_EQ(run("PUT /health HTTP/1.1\r\n\r\n"),
            error(405, "Method Not Allowed", "method not allowed\n", "Allow: GET, HEAD\r\n"));
  EXPECT_EQ(run("DELETE /metrics HTTP/1.1\r\n\r\n"),
            error(405, "Method Not Allowed", "method not allowed\n", "Allow: GET, HEAD\r\n"));
  EXPECT_EQ(run("OPTIONS * HTTP/1.1\r\n\r\n"), error(404, "Not Found", "not found\n"));
  EXPECT_EQ(
      run("CONNECT example.com:443 HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n"),
      error(404, "Not Found", "not found\n") +
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n");
  EXPECT_FALSE(h_.ctx().get("k"));
}

TEST_F(HttpSessionTest, KeyIsPercentDecoded) {
  EXPECT_EQ(run("PUT /cache/a%20b%2Fc%3f HTTP/1.1\r\nContent-Length: 1\r\n\r\n1"), kCreated);
  const store::ItemView v = h_.ctx().get("a b/c?");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "1");
  EXPECT_EQ(run("GET /cache/a%20b%2fc%3F HTTP/1.1\r\n\r\n"), ok_value("1"));
  // A literal slash is part of the key; the query string is not.
  EXPECT_EQ(run("PUT /cache/x/y?ignored=1 HTTP/1.1\r\nContent-Length: 1\r\n\r\n2"), kCreated);
  EXPECT_TRUE(h_.ctx().get("x/y"));
  // Absolute-form request-targets (as sent to proxies) work too.
  EXPECT_EQ(run("GET http://localhost:8080/cache/x/y HTTP/1.1\r\n\r\n"), ok_value("2"));
}

TEST_F(HttpSessionTest, BadKeysAreRefused) {
  EXPECT_EQ(run("GET /cache/a%zz HTTP/1.1\r\n\r\n"),
            error(400, "Bad Request", "invalid percent-encoding in key\n"));
  EXPECT_EQ(run("GET /cache/a% HTTP/1.1\r\n\r\n"),
            error(400, "Bad Request", "invalid percent-encoding in key\n"));
  EXPECT_EQ(run("PUT /cache/ HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"),
            error(400, "Bad Request", "empty key\n"));
  const std::string k250(250, 'k');
  EXPECT_EQ(run("PUT /cache/" + k250 + " HTTP/1.1\r\nContent-Length: 1\r\n\r\nx"), kCreated);
  EXPECT_EQ(run("GET /cache/" + k250 + "k HTTP/1.1\r\n\r\n"),
            error(414, "URI Too Long", "key longer than the maximum key size\n"));
  std::string encoded;  // 250 bytes sent as 750 characters: fits
  for (int i = 0; i < 250; ++i) encoded += "%41";
  EXPECT_EQ(run("GET /cache/" + encoded + " HTTP/1.1\r\n\r\n"), kNotFound);
  EXPECT_EQ(
      run("GET /" + std::string(5000, 'a') + " HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n", 1000),
      error(414, "URI Too Long", "request-target too long\n") +
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n");
  EXPECT_FALSE(s_->closing());
}

TEST_F(HttpSessionTest, TtlExpires) {
  EXPECT_EQ(run("PUT /cache/t HTTP/1.1\r\nX-TTL: 10\r\nContent-Length: 1\r\n\r\nv"), kCreated);
  EXPECT_EQ(run("PUT /cache/forever HTTP/1.1\r\nX-TTL: 0\r\nContent-Length: 1\r\n\r\nv"), kCreated);
  h_.advance_ms(9'999);
  EXPECT_EQ(run("GET /cache/t HTTP/1.1\r\n\r\n"), ok_value("v"));
  h_.advance_ms(2);
  EXPECT_EQ(run("GET /cache/t HTTP/1.1\r\n\r\n"), kNotFound);
  h_.advance_ms(1'000'000);
  EXPECT_EQ(run("GET /cache/forever HTTP/1.1\r\n\r\n"), ok_value("v"));
}

TEST_F(HttpSessionTest, BadTtlIs400) {
  const std::string bad =
      error(400, "Bad Request", "X-TTL must be a whole number of seconds (0: no expiry)\n");
  for (const std::string_view ttl : {"-1", "abc", "1.5", "", "+5", "99999999999999999999999"}) {
    EXPECT_EQ(run("PUT /cache/t HTTP/1.1\r\nX-TTL: " + std::string(ttl) + "\r\nContent-Length: 1\r\n\r\nv"),
              bad)
        << ttl;
  }
  EXPECT_FALSE(h_.ctx().get("t"));
  EXPECT_FALSE(s_->closing());
}

TEST_F(HttpSessionTest, ConnectionCloseIsHonoured) {
  EXPECT_EQ(run("GET /health HTTP/1.1\r\nConnection: close\r\n\r\nGET /health HTTP/1.1\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_TRUE(s_->closing());
}

TEST_F(HttpSessionTest, Http10ClosesUnlessKeepAlive) {
  EXPECT_EQ(run("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: keep-alive\r\n\r\nok\n");
  EXPECT_FALSE(s_->closing());
  EXPECT_EQ(run("GET /health HTTP/1.0\r\n\r\n"),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n"
            "Connection: close\r\n\r\nok\n");
  EXPECT_TRUE(s_->closing());
}

TEST_F(HttpSessionTest, PipelinedRequestsAnsweredInOrder) {
  const std::string in =
      "PUT /cache/a HTTP/1.1\r\nContent-Length: 1\r\n\r\n1"
      "PUT /cache/b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n22\r\n0\r\n\r\n"
      "GET /cache/a HTTP/1.1\r\n\r\n"
      "GET /cache/missing HTTP/1.1\r\n\r\n"
      "DELETE /cache/a HTTP/1.1\r\n\r\n"
      "GET /cache/b HTTP/1.1\r\n\r\n";
  const std::string want = std::string(kCreated) + std::string(kCreated) + ok_value("1") +
                           std::string(kNotFound) + std::string(kNoContent) + ok_value("22");
  EXPECT_EQ(run(in), want);
}

TEST_F(HttpSessionTest, ChunkedPutStoresDecodedBody) {
  EXPECT_EQ(run("PUT /cache/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n1;ext=x\r\n \r\n5\r\nworld\r\n0\r\nTrailer: t\r\n\r\n"),
            kCreated);
  EXPECT_EQ(run("GET /cache/c HTTP/1.1\r\n\r\n"), ok_value("hello world"));
}

TEST_F(HttpSessionTest, ExpectContinueBeforeBody) {
  EXPECT_EQ(run("PUT /cache/e HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"),
            "HTTP/1.1 100 Continue\r\n\r\n");
  EXPECT_EQ(run("data"), kCreated);
  EXPECT_EQ(run("GET /cache/e HTTP/1.1\r\n\r\n"), ok_value("data"));
  // No body, no 100; HTTP/1.0 clients never get one.
  EXPECT_EQ(run("PUT /cache/f HTTP/1.1\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n"), kCreated);
  EXPECT_EQ(run("PUT /cache/g HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 1\r\nExpect: "
                "100-continue\r\n\r\nx"),
            "HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

TEST_F(HttpSessionTest, ExpectContinueRefusedBeforeBody) {
  EXPECT_EQ(
      run("PUT /cache/big HTTP/1.1\r\nContent-Length: 1025\r\nExpect: 100-continue\r\n\r\n"),
      error(413, "Payload Too Large", "value larger than the maximum item size\n", "Connection: close\r\n"));
  EXPECT_TRUE(s_->closing());
  EXPECT_EQ(requests(Op::k_error), 1);
}

TEST_F(HttpSessionTest, UnknownExpectationIs417) {
  EXPECT_EQ(run("PUT /cache/k HTTP/1.1\r\nExpect: fast\r\nContent-Length: 1\r\n\r\nx"),
            error(417, "Expectation Failed", "only Expect: 100-continue is supported\n"));
  EXPECT_FALSE(h_.ctx().get("k"));
}

TEST_F(HttpSessionTest, DeclaredOversizedBodyIs413AtOnceThenSkipped) {
  // Answered as soon as the head says how large the body is (the client may be about to send
  // gigabytes); the body that does come is skipped as it streams, never buffered, and the
  // connection goes on after it.
  const std::string head = "PUT /cache/big HTTP/1.1\r\nContent-Length: 100000\r\n\r\n";
  EXPECT_EQ(strip_dates(h_.feed(*s_, head + std::string(4096, 'x'))),
            error(413, "Payload Too Large", "value larger than the maximum item size\n"));
  EXPECT_FALSE(s_->closing());
  std::string rest(100000 - 4096, 'x');
  for (std::size_t off = 0; off < rest.size(); off += 4096) {
    EXPECT_EQ(h_.feed(*s_, std::string_view(rest).substr(off, 4096)), "");
    EXPECT_TRUE(h_.pending().empty());
  }
  EXPECT_FALSE(s_->closing());
  EXPECT_FALSE(h_.ctx().get("big"));
  EXPECT_EQ(run("GET /cache/big HTTP/1.1\r\n\r\n"), kNotFound);
  // A body that never comes does not hold the answer back.
  EXPECT_EQ(strip_dates(h_.feed(*s_, "PUT /cache/huge HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n")),
            error(413, "Payload Too Large", "value larger than the maximum item size\n"));
}

TEST_F(HttpSessionTest, ChunkedOversizedBodyIs413AndSkippedAsItStreams) {
  // A chunked body is only found too large as it arrives: skipped, then refused, and the
  // connection goes on.
  std::string chunked = "PUT /cache/big HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(run(chunked, 100), error(413, "Payload Too Large", "value larger than the maximum item size\n"));
  EXPECT_FALSE(s_->closing());
  EXPECT_FALSE(h_.ctx().get("big"));
  EXPECT_EQ(run("GET /cache/big HTTP/1.1\r\n\r\n"), kNotFound);
  // The limit itself is fine.
  EXPECT_EQ(run("PUT /cache/max HTTP/1.1\r\nContent-Length: 1024\r\n\r\n" + std::string(1024, 'm')),
            kCreated);
}

TEST_F(HttpSessionTest, MalformedRequestIs400AndCloses) {
  EXPECT_EQ(run("GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n"),
            error(400, "Bad Request", "invalid character in header\n", "Connection: close\r\n"));
  EXPECT_TRUE(s_->closing());
  EXPECT_EQ(h_stats().protocol_errors[kHttp].get(), 1);
  EXPECT_EQ(requests(Op::k_error), 1);
}

TEST_F(HttpSessionTest, GarbageIs400AndCloses) {
  const std::string r = run("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");  // a TLS ClientHello
  EXPECT_TRUE(r.starts_with("HTTP/1.1 400 Bad Request\r\n")) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(s_->closing());
}

TEST_F(HttpSessionTest, UnsupportedTransferCodingIs501AndCloses) {
  const std::string r = run("PUT /cache/k HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 501 Not Implemented\r\n")) << r;
  EXPECT_TRUE(s_->closing());
}

TEST_F(HttpSessionTest, OtherHttpVersionIs505AndCloses) {
  EXPECT_EQ(run("GET /health HTTP/2.0\r\n\r\n"),
            error(505, "HTTP Version Not Supported", "only HTTP/1.0 and HTTP/1.1 are supported\n",
                  "Connection: close\r\n"));
  EXPECT_TRUE(s_->closing());
  EXPECT_EQ(h_stats().protocol_errors[kHttp].get(), 1);
}

TEST_F(HttpSessionTest, SplitAtEveryByteGivesTheSameReplies) {
  const std::string script =
      "PUT /cache/a%2Fb HTTP/1.1\r\nX-TTL: 100\r\nContent-Length: 11\r\n\r\nhello world"
      "PUT /cache/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: "
      "100-continue\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /cache/a%2Fb HTTP/1.1\r\nHost: localhost\r\n\r\n"
      "HEAD /cache/c HTTP/1.1\r\n\r\n"
      "GET /cache/zz HTTP/1.1\r\n\r\n"
      "POST /cache/c HTTP/1.1\r\nContent-Length: 2\r\n\r\nxx"
      "GET /cache/a%zz HTTP/1.1\r\n\r\n"
      "DELETE /cache/c HTTP/1.1\r\n\r\n"
      "GET /health HTTP/1.1\r\n\r\n"
      "GET /cache/c HTTP/1.1\r\nConnection: close\r\n\r\n";
  const std::string whole = run(script);
  EXPECT_TRUE(s_->closing());
  SessionHarness h2(std::size_t{64} << 20, 1024);
  auto s2 = make_http_session(h2.info());
  EXPECT_EQ(strip_dates(h2.feed(*s2, script, 1)), whole);
  EXPECT_TRUE(s2->closing());
  EXPECT_NE(whole.find(ok_value("hello world")), std::string::npos) << whole;
  EXPECT_NE(whole.find("HTTP/1.1 100 Continue\r\n\r\n"), std::string::npos) << whole;
}

TEST_F(HttpSessionTest, StopsBetweenRequestsWhenOutputIsFull) {
  const std::string one = "GET /health HTTP/1.1\r\n\r\n";
  const std::size_t reply = h_.feed(*s_, one).size();
  h_.shared().settings.max_reply_bytes = reply + 1;  // room for a second reply to begin, not a third
  const std::string in = one + one + one + one;
  Buffer out;
  const std::size_t n = s_->feed(in, out, h_.exec());
  EXPECT_EQ(n, 2 * one.size());
  EXPECT_EQ(out.size(), 2 * reply);
  out.clear();
  EXPECT_EQ(s_->feed(std::string_view(in).substr(n), out, h_.exec()), 2 * one.size());
  EXPECT_EQ(out.size(), 2 * reply);
  EXPECT_EQ(requests(Op::k_noop), 5);
}

TEST_F(HttpSessionTest, DateHeaderIsImfFixdate) {
  const std::string r = h_.feed(*s_, "GET /health HTTP/1.1\r\n\r\n");
  const std::size_t at = r.find("\r\nDate: ");
  ASSERT_NE(at, std::string::npos) << r;
  const std::string date = r.substr(at + 8, 29);
  EXPECT_EQ(date.substr(3, 2), ", ");
  EXPECT_EQ(date.substr(25), " GMT");
  EXPECT_EQ(r.substr(at + 8 + 29, 2), "\r\n");
}

TEST(HttpSessionNoMemory, StoreRefusalIs507) {
  // Two workers' contexts, one of which never passes a quiescent point: every value the other
  // overwrites stays allocated (the stalled worker might still be reading it), so the store's
  // arena runs out after a few dozen overwrites of a 2 MiB value.
  store::StoreConfig cfg;
  cfg.memory_limit = std::size_t{8} << 20;
  cfg.max_item_size = std::size_t{2} << 20;
  cfg.max_contexts = 2;
  store::Store st(cfg);
  store::Partitions parts(st);
  auto ctx = std::make_unique<store::PartitionedContext>(parts, 0);
  auto stalled = st.attach();
  ctx->set_now(st.now_ms());
  WorkerStats stats;
  Shared shared;
  shared.store = &parts;
  shared.worker_stats.push_back(&stats);
  Exec ex{shared, *ctx, stats, 0};
  ConnInfo info;
  auto s = make_http_session(info);
  const std::string value(cfg.max_item_size, 'v');
  const std::string req =
      "PUT /cache/big HTTP/1.1\r\nContent-Length: " + std::to_string(value.size()) + "\r\n\r\n" + value;
  const std::string refused = error(507, "Insufficient Storage", "out of memory: no room for the value\n");
  int puts = 0;
  std::string r;
  for (; puts < 64 && r != refused; ++puts) {
    Buffer out;
    EXPECT_EQ(s->feed(req, out, ex), req.size());
    r = strip_dates(std::string(out.view()));
    if (r != refused) {
      EXPECT_EQ(r, puts == 0 ? kCreated : kNoContent);
    }
    ctx->tick();
    ctx->quiescent();
  }
  EXPECT_EQ(r, refused);
  EXPECT_FALSE(s->closing());
  EXPECT_EQ(stats.requests[kHttp][static_cast<std::size_t>(Op::k_set)].get(), puts);
  // The value stored last is still there.
  const store::ItemView v = ctx->get("big");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().size(), value.size());
}

TEST_F(HttpSessionTest, GetOfAHashKeyIs409NeverItsEncoding) {
  ferrite::testing::put_hash(h_.ctx(), "h", {{"f", "v"}});
  const std::string body = "WRONGTYPE the key holds a hash, not a value: read it over RESP (HGETALL)\n";
  EXPECT_EQ(run("GET /cache/h HTTP/1.1\r\n\r\n"), error(409, "Conflict", body));
  const std::string head = run("HEAD /cache/h HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.substr(0, 22), "HTTP/1.1 409 Conflict\r");
  EXPECT_EQ(head.find("WRONGTYPE"), std::string::npos);  // no body for HEAD
  EXPECT_FALSE(s_->closing());
  ferrite::testing::expect_hash(h_.ctx(), "h", "f", "v");
  // PUT overwrites it with a value; DELETE works on any type.
  EXPECT_EQ(run("PUT /cache/h HTTP/1.1\r\nContent-Length: 3\r\n\r\nnew"), kNoContent);
  EXPECT_EQ(run("GET /cache/h HTTP/1.1\r\n\r\n"), ok_value("new"));
  ferrite::testing::put_hash(h_.ctx(), "h2", {{"f", "v"}});
  EXPECT_EQ(run("DELETE /cache/h2 HTTP/1.1\r\n\r\n"), kNoContent);
}


// While loading, /cache requests get 503 with Retry-After and /health still answers; with the
// append-only file failed, PUT and DELETE get 507 with the reason and GET is served.
TEST_F(HttpSessionTest, LoadingIs503AndAFailedFileRefusesWritesWith507) {
  EXPECT_EQ(run("PUT /cache/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nv"), kCreated);
  h_.set_loading(true);
  EXPECT_EQ(run("GET /cache/k HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\n\r\n"),
            error(503, "Service Unavailable", "loading the dataset, try again\n", "Retry-After: 1\r\n") +
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 3\r\n\r\nok\n");
  h_.set_loading(false);
  h_.fail_writes(true);
  EXPECT_EQ(run("PUT /cache/k HTTP/1.1\r\nContent-Length: 1\r\n\r\nw"),
            error(507, "Insufficient Storage", "write refused: persistence failed: No space left on device"));
  EXPECT_EQ(run("GET /cache/k HTTP/1.1\r\n\r\n"), ok_value("v"));
}

}  // namespace
}  // namespace ferrite::engine
