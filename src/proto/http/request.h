// HTTP/1.1 request reader: a thin wrapper over the packaged http_parser (nodejs/http-parser 2.9,
// Debian's libhttp-parser) that collects what Ferrite's HTTP API acts on, and stops at the two
// points where the session must act: when a request's head is complete (before its body, so the
// session can answer `Expect: 100-continue` or refuse an oversized body before it is sent) and
// when the whole request is.
//
// One reader per connection, reused for every request on it. http_parser is a streaming parser:
// it consumes every byte it is given and keeps the partial request's state itself; the reader
// keeps the rest (the URL, the headers below, the body so far) in per-connection buffers that
// keep their capacity between requests. Memory per connection is bounded: the URL by kMaxUrl,
// the header values the reader keeps by kMaxHeaderValue each, the head as a whole by
// http_parser's limit (80 KiB; other headers are not stored), the body by store_body()'s limit
// (a larger body is skipped as it streams, never stored).
//
//   RequestReader r;
//   ParseResult p = r.parse(bytes);   // consumed p.consumed; act on p.event; call again with the rest
//
// Headers acted on here: X-TTL and Expect (kept), Content-Length and Transfer-Encoding (framing,
// decoded by http_parser: chunked bodies arrive decoded), Connection (keep_alive()).
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::http {

inline constexpr std::size_t kMaxUrl = 4096;        // longer request-targets: url_too_long()
inline constexpr std::size_t kMaxHeaderValue = 64;  // longer kept values: HeaderValue::overflow
// After a request whose body grew the body buffer beyond this, the buffer is given back.
inline constexpr std::size_t kBodyKeepCapacity = std::size_t{64} << 10;

enum class Event : std::uint8_t {
  kNeedMore,  // every byte given was consumed and the request is not complete yet
  kHead,      // the request line and headers are complete; the body (if any) follows
  kMessage,   // the whole request is complete
  kError,     // malformed input: answer error_status() and close the connection
};

struct ParseResult {
  Event event;
  std::size_t consumed;  // bytes of the input used; the rest must be offered again
};

// A header value the reader keeps (the last occurrence wins).
struct HeaderValue {
  bool present = false;
  bool overflow = false;  // longer than kMaxHeaderValue: value() holds a prefix
  std::uint8_t len = 0;
  char data[kMaxHeaderValue] = {};
  // The value without surrounding spaces and tabs.
  std::string_view value() const noexcept;
};

class RequestReader {
 public:
  RequestReader() noexcept;
  RequestReader(const RequestReader&) = delete;  // http_parser points back at the reader
  RequestReader& operator=(const RequestReader&) = delete;

  // Parses from the front of `in` up to the next event. After kError the reader stays failed.
  ParseResult parse(std::string_view in);

  // Between requests: nothing of the next request has been seen yet.
  bool idle() const noexcept { return !in_message_; }

  // --- the request head: valid from kHead until the next request begins -----------------------
  http_method method() const noexcept { return static_cast<http_method>(parser_.method); }
  std::string_view method_name() const noexcept { return http_method_str(method()); }
  unsigned version_major() const noexcept { return parser_.http_major; }
  unsigned version_minor() const noexcept { return parser_.http_minor; }
  bool http11_or_later() const noexcept {
    return parser_.http_major > 1 || (parser_.http_major == 1 && parser_.http_minor >= 1);
  }
  // The request-target as sent; empty when it was longer than kMaxUrl.
  std::string_view url() const noexcept { return url_too_long_ ? std::string_view{} : url_.view(); }
  bool url_too_long() const noexcept { return url_too_long_; }
  // HTTP/1.1 without `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`.
  bool keep_alive() const noexcept { return http_should_keep_alive(&parser_) != 0; }
  bool chunked() const noexcept { return (parser_.flags & F_CHUNKED) != 0; }
  bool has_content_length() const noexcept { return (parser_.flags & F_CONTENTLENGTH) != 0; }
  std::uint64_t content_length() const noexcept { return has_content_length() ? declared_length_ : 0; }
  // A body follows the head: chunked, or a non-zero Content-Length.
  bool has_body() const noexcept { return chunked() || content_length() > 0; }
  const HeaderValue& ttl() const noexcept { return ttl_; }        // X-TTL
  const HeaderValue& expect() const noexcept { return expect_; }  // Expect
  // `Expect: 100-continue` (case-insensitive), the only expectation HTTP/1.1 defines.
  bool expects_continue() const noexcept;

  // --- the body --------------------------------------------------------------------------------
  // Call at kHead to keep a body of up to `limit` bytes (by default a body is skipped). A body
  // that grows beyond the limit is dropped and skipped from then on: body_too_large().
  void store_body(std::size_t limit) noexcept {
    keep_body_ = true;
    body_limit_ = limit;
  }
  // At kMessage: the whole body (decoded when chunked). Valid until the next parse() call.
  std::string_view body() const noexcept { return body_view_.data() != nullptr ? body_view_ : body_.view(); }
  bool body_too_large() const noexcept { return body_too_large_; }

  // --- after kError ----------------------------------------------------------------------------
  // 431 for an oversized head, 501 for a transfer coding other than chunked, 400 otherwise.
  int error_status() const noexcept;
  // http_parser's description of what was wrong ("invalid character in header", ...).
  const char* error_text() const noexcept;

 private:
  static int on_message_begin(http_parser* p);
  static int on_url(http_parser* p, const char* at, std::size_t n);
  static int on_header_field(http_parser* p, const char* at, std::size_t n);
  static int on_header_value(http_parser* p, const char* at, std::size_t n);
  static int on_headers_complete(http_parser* p);
  static int on_body(http_parser* p, const char* at, std::size_t n);
  static int on_message_complete(http_parser* p);
  static const http_parser_settings kSettings;

  void begin_message() noexcept;
  void add_body(const char* at, std::size_t n);

  enum class Field : std::uint8_t { kOther, kTtl, kExpect };
  static constexpr std::size_t kMaxFieldName = 16;  // longer names are none of ours

  http_parser parser_;
  Event event_ = Event::kNeedMore;
  bool in_message_ = false;
  bool failed_ = false;
  bool head_done_ = false;
  // Header callbacks: a name may arrive in pieces, then its value in pieces.
  bool in_value_ = false;
  std::uint8_t field_len_ = 0;  // kMaxFieldName + 1: too long to be ours
  char field_[kMaxFieldName] = {};
  HeaderValue* current_ = nullptr;  // the kept value being received, if any
  Buffer url_;
  bool url_too_long_ = false;
  HeaderValue ttl_;
  HeaderValue expect_;
  std::uint64_t declared_length_ = 0;
  // The body: a view into the caller's input while it arrives in one piece, else a copy.
  bool keep_body_ = false;
  bool body_too_large_ = false;
  std::size_t body_limit_ = 0;
  std::size_t body_size_ = 0;
  std::string_view body_view_;
  Buffer body_;
};

}  // namespace ferrite::proto::http
