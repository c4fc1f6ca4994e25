#include "engine/http/session.h"

#include <cstdint>
#include <string_view>

#include "core/buffer.h"
#include "core/clock.h"
#include "engine/metrics.h"
#include "proto/http/request.h"
#include "proto/http/response.h"
#include "proto/http/url.h"
#include "store/store.h"

namespace ferrite::engine {
namespace {

namespace http = proto::http;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kOctetStream = "application/octet-stream";
// GET/HEAD of a key holding a hash (409 Conflict): the encoding is never sent as the body.
constexpr std::string_view kWrongTypeBody = "WRONGTYPE the key holds a hash, not a value: read it over RESP (HGETALL)\n";
constexpr std::string_view kCacheAllow = "GET, HEAD, PUT, DELETE";
constexpr std::string_view kReadAllow = "GET, HEAD";
constexpr std::string_view kCachePrefix = "/cache/";
// X-TTL beyond this (about 31,700 years) is refused rather than risk overflowing the deadline.
constexpr std::uint64_t kMaxTtlSeconds = 1'000'000'000'000;

// X-TTL: absent, or a whole number of seconds (0 = no expiry). False when it is anything else.
bool parse_ttl(const http::HeaderValue& h, std::uint64_t* seconds) noexcept {
  *seconds = 0;
  if (!h.present) return true;
  const std::string_view v = h.value();
  if (h.overflow || v.empty()) return false;
  std::uint64_t n = 0;
  for (const char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
    if (n > kMaxTtlSeconds) return false;
  }
  *seconds = n;
  return true;
}

class HttpSession final : public Session {
 public:
  explicit HttpSession(const ConnInfo& info) : Session(info) {}

  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override;
  Proto proto() const noexcept override { return Proto::kHttp; }
  std::string_view out_of_memory_reply() const noexcept override {
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n"
           "Connection: close\r\n\r\nout of memory\n";
  }

 private:
  enum class Route : std::uint8_t { kCache, kHealth, kMetrics };

  // What the head of the current request asks for, decided before its body arrives.
  struct Plan {
    Route route = Route::kCache;
    Op op = Op::k_error;
    std::uint64_t deadline = 0;  // PUT: store clock, 0 = never
    // An error answer instead of running the request.
    int status = 0;
    std::string_view text;   // the error's body
    std::string_view allow;  // 405
    bool close = false;      // the error ends the connection
    bool answered = false;   // the refusal went out when the head arrived
  };

  void on_head(Buffer& out, Exec& ex);
  void on_message(Buffer& out, Exec& ex);
  void on_malformed(Buffer& out, Exec& ex);
  void make_plan(Exec& ex);
  void refuse(int status, std::string_view text, bool close = false) noexcept {
    plan_.op = Op::k_error;
    plan_.status = status;
    plan_.text = text;
    plan_.close = close;
  }
  void answer_refusal(Buffer& out, Exec& ex, bool close);
  void run_cache(Buffer& out, Exec& ex, bool close);

  // Appends a response: head, then `body` + `body2` unless the request was a HEAD.
  struct Reply {
    int status = 200;
    std::string_view type;
    std::string_view body, body2;
    std::string_view allow;
    std::string_view retry_after;
  };
  // While Exec::gated: answers a /cache request 503 (loading) or 507 (a write while the
  // append-only file fails) instead of running it; true when it did.
  bool refused(Buffer& out, Exec& ex, bool close);
  void respond(Buffer& out, Exec& ex, const Reply& r, bool head_only, bool close);
  std::string_view date(const Exec& ex) noexcept;

  http::RequestReader reader_;
  Plan plan_;
  Buffer key_;                     // the decoded key of a /cache request
  Buffer metrics_;                 // the /metrics body, built before its head
  std::uint64_t head_cycles_ = 0;  // when the current request's head was complete
  std::uint64_t feed_cycles_ = 0;  // when the current feed() began
  std::uint64_t date_second_ = ~std::uint64_t{0};
  char date_[http::kDateLength] = {};
};

std::size_t HttpSession::feed(std::string_view in, Buffer& out, Exec& ex) {
  feed_cycles_ = cycles();
  std::size_t off = 0;
  while (off < in.size() && !closing()) {
    // Back-pressure between requests only: a request under way produces no output until done.
    if (reader_.idle() && out.size() >= ex.reply_limit()) break;
    const http::ParseResult r = reader_.parse(in.substr(off));
    off += r.consumed;
    switch (r.event) {
      case http::Event::kNeedMore:
        break;
      case http::Event::kHead:
        on_head(out, ex);
        break;
      case http::Event::kMessage:
        on_message(out, ex);
        break;
      case http::Event::kError:
        on_malformed(out, ex);
        return in.size();
    }
  }
  return off;
}

void HttpSession::on_head(Buffer& out, Exec& ex) {
  head_cycles_ = cycles();
  plan_ = {};
  make_plan(ex);
  const bool awaits_continue = reader_.has_body() && reader_.expects_continue() && reader_.http11_or_later();
  if (plan_.status != 0) {
    // The client holds the body back until told to go on: refuse now instead, and close, since
    // whether it then sends the body anyway is up to it (RFC 7231 5.1.1). Otherwise the body
    // (if any) is skipped and the refusal answers the whole request -- except a body declared
    // too large: answered at once, rather than making the client send (and us skip) gigabytes
    // before it hears why. The body that may still come is skipped as it streams, and the
    // connection goes on after it.
    if (awaits_continue) {
      answer_refusal(out, ex, true);
    } else if (plan_.status == 413) {
      answer_refusal(out, ex, false);
      plan_.answered = true;
    }
    return;
  }
  if (reader_.method() == HTTP_PUT) {
    reader_.store_body(ex.store().max_item_size());
    if (awaits_continue) out.append(http::kContinue);
  }
}

void HttpSession::make_plan(Exec& ex) {
  if (reader_.version_major() != 1) return refuse(505, "only HTTP/1.0 and HTTP/1.1 are supported\n", true);
  if (reader_.url_too_long()) return refuse(414, "request-target too long\n");
  if (reader_.expect().present && !reader_.expects_continue()) {
    return refuse(417, "only Expect: 100-continue is supported\n");
  }
  std::string_view path;
  if (!http::target_path(reader_.url(), &path)) return refuse(400, "invalid request-target\n");
  const http_method m = reader_.method();
  const bool read = m == HTTP_GET || m == HTTP_HEAD;
  if (path == "/health" || path == "/metrics") {
    const bool health = path == "/health";
    plan_.route = health ? Route::kHealth : Route::kMetrics;
    if (!read) {
      refuse(405, "method not allowed\n");
      plan_.allow = kReadAllow;
      return;
    }
    plan_.op = health ? Op::k_noop : Op::k_stats;
    return;
  }
  if (!path.starts_with(kCachePrefix)) return refuse(404, "not found\n");
  plan_.route = Route::kCache;
  if (!read && m != HTTP_PUT && m != HTTP_DELETE) {
    refuse(405, "method not allowed\n");
    plan_.allow = kCacheAllow;
    return;
  }
  const std::size_t max_key = ex.store().config().max_key_size;
  key_.clear();
  std::size_t len = 0;
  switch (http::percent_decode(path.substr(kCachePrefix.size()), key_.prepare(max_key), max_key, &len)) {
    case http::Decode::kOk:
      break;
    case http::Decode::kInvalid:
      return refuse(400, "invalid percent-encoding in key\n");
    case http::Decode::kTooLong:
      return refuse(414, "key longer than the maximum key size\n");
  }
  key_.advance(len);
  if (len == 0) return refuse(400, "empty key\n");
  if (m == HTTP_PUT) {
    std::uint64_t ttl = 0;
    if (!parse_ttl(reader_.ttl(), &ttl)) {
      return refuse(400, "X-TTL must be a whole number of seconds (0: no expiry)\n");
    }
    if (reader_.content_length() > ex.store().max_item_size()) {
      return refuse(413, "value larger than the maximum item size\n");
    }
    plan_.deadline = ttl == 0 ? 0 : ex.now_ms() + ttl * 1000;
    plan_.op = Op::k_set;
  } else {
    plan_.op = m == HTTP_DELETE ? Op::k_delete : Op::k_get;
  }
}

void HttpSession::on_message(Buffer& out, Exec& ex) {
  const bool close = !reader_.keep_alive() || plan_.close;
  if (plan_.answered) {
    if (close) close_after_reply();
    return;
  }
  if (plan_.status == 0 && reader_.body_too_large()) refuse(413, "value larger than the maximum item size\n");
  if (plan_.status != 0) return answer_refusal(out, ex, close);
  const bool head_only = reader_.method() == HTTP_HEAD;
  const std::uint64_t start = head_cycles_ > feed_cycles_ ? head_cycles_ : feed_cycles_;
  switch (plan_.route) {
    case Route::kHealth:
      respond(out, ex, {.status = 200, .type = kTextPlain, .body = "ok\n"}, head_only, close);
      break;
    case Route::kMetrics:
      metrics_.clear();
      write_metrics(ex.shared, metrics_);
      respond(out, ex, {.status = 200, .type = kMetricsContentType, .body = metrics_.view()}, head_only,
              close);
      break;
    case Route::kCache:
      if (FERRITE_UNLIKELY(ex.gated) && refused(out, ex, close)) {
        ex.count(Proto::kHttp, Op::k_error, start);
        return;
      }
      run_cache(out, ex, close);
      break;
  }
  ex.count(Proto::kHttp, plan_.op, start);
}

void HttpSession::run_cache(Buffer& out, Exec& ex, bool close) {
  const store::KeyRef key = store::make_key(key_.view());
  ex.note_key(key.key);
  switch (reader_.method()) {
    case HTTP_GET:
    case HTTP_HEAD:
      if (const store::ItemView v = ex.ctx.get(key); v && !v.is_string()) {
        // A hash (written over RESP): 409, the key's state conflicts with a read of a value; its
        // encoding is never the body.
        ex.hit(Proto::kHttp);
        respond(out, ex, {.status = 409, .type = kTextPlain, .body = kWrongTypeBody}, reader_.method() == HTTP_HEAD,
                close);
      } else if (v) {
        ex.hit(Proto::kHttp);
        respond(out, ex, {.status = 200, .type = kOctetStream, .body = v.value()},
                reader_.method() == HTTP_HEAD, close);
      } else {
        ex.miss(Proto::kHttp);
        respond(out, ex, {.status = 404, .type = kTextPlain, .body = "key not found\n"},
                reader_.method() == HTTP_HEAD, close);
      }
      return;
    case HTTP_DELETE:
      if (ex.ctx.del(key_.view()) == store::Status::kOk) {
        respond(out, ex, {.status = 204}, false, close);
      } else {
        respond(out, ex, {.status = 404, .type = kTextPlain, .body = "key not found\n"}, false, close);
      }
      return;
    default:
      break;  // PUT: the only other method make_plan() lets through
  }
  // RFC 9110 9.3.4: 201 for a new resource, 204 when one was replaced (the store says which).
  store::SetRequest req;
  req.expires_at_ms = plan_.deadline;
  req.may_wait = true;  // the body is the request's
  const store::SetResult r = ex.ctx.set(key, reader_.body(), req);
  switch (r.status) {
    case store::Status::kOk:
      respond(out, ex, {.status = r.replaced ? 204 : 201}, false, close);
      return;
    case store::Status::kNoMemory:
      respond(out, ex, {.status = 507, .type = kTextPlain, .body = "out of memory: no room for the value\n"},
              false, close);
      return;
    case store::Status::kTooLarge:
      respond(out, ex,
              {.status = 413, .type = kTextPlain, .body = "value larger than the maximum item size\n"}, false,
              close);
      return;
    default:  // kKeyTooLong / kEmptyKey were refused by make_plan(); nothing else comes from kSet
      respond(out, ex, {.status = 500, .type = kTextPlain, .body = "unexpected store status\n"}, false,
              close);
      return;
  }
}

bool HttpSession::refused(Buffer& out, Exec& ex, bool close) {
  const bool write = reader_.method() == HTTP_PUT || reader_.method() == HTTP_DELETE;
  switch (ex.gate(true, write)) {
    case Refusal::kNone:
      return false;
    case Refusal::kLoading:
      respond(out, ex,
              {.status = 503, .type = kTextPlain, .body = "loading the dataset, try again\n", .retry_after = "1"},
              reader_.method() == HTTP_HEAD, close);
      return true;
    case Refusal::kWriteFailed:
      respond(out, ex,
              {.status = 507,
               .type = kTextPlain,
               .body = "write refused: persistence failed: ",
               .body2 = ex.write_failure()},
              false, close);
      return true;
  }
  return false;
}

void HttpSession::answer_refusal(Buffer& out, Exec& ex, bool close) {
  const std::uint64_t start = head_cycles_ > feed_cycles_ ? head_cycles_ : feed_cycles_;
  if (plan_.close) ex.protocol_error(Proto::kHttp);
  respond(out, ex, {.status = plan_.status, .type = kTextPlain, .body = plan_.text, .allow = plan_.allow},
          reader_.method() == HTTP_HEAD, close || plan_.close);
  ex.count(Proto::kHttp, Op::k_error, start);
}

void HttpSession::on_malformed(Buffer& out, Exec& ex) {
  ex.protocol_error(Proto::kHttp);
  respond(out, ex,
          {.status = reader_.error_status(), .type = kTextPlain, .body = reader_.error_text(), .body2 = "\n"},
          false, true);
  ex.count(Proto::kHttp, Op::k_error, feed_cycles_);
}

void HttpSession::respond(Buffer& out, Exec& ex, const Reply& r, bool head_only, bool close) {
  http::ResponseHead h;
  h.status = r.status;
  h.content_length = r.body.size() + r.body2.size();
  h.content_type = r.type;
  h.allow = r.allow;
  h.retry_after = r.retry_after;
  h.date = date(ex);
  if (close) {
    h.connection = http::ConnectionHeader::kClose;
    close_after_reply();
  } else if (!reader_.http11_or_later()) {
    h.connection = http::ConnectionHeader::kKeepAlive;  // an HTTP/1.0 client that asked for it
  }
  http::encode_head(h, out);
  if (head_only) return;
  out.append(r.body);
  out.append(r.body2);
}

std::string_view HttpSession::date(const Exec& ex) noexcept {
  const std::uint64_t second = ex.unix_ms() / 1000;
  if (second != date_second_) {
    date_second_ = second;
    http::format_date(second, date_);
  }
  return {date_, sizeof date_};
}

}  // namespace

std::unique_ptr<Session> make_http_session(const ConnInfo& info) {
  return std::make_unique<HttpSession>(info);
}

StreamService http_service() {
  return {[](const ConnInfo& info, std::string_view) { return make_http_session(info); }, false,
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
          "Connection: close\r\n\r\ntoo many open connections\r\n\r\n"};
}

}  // namespace ferrite::engine
