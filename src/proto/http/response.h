// HTTP/1.1 response encoding: the status line and the few headers Ferrite sends, appended to a
// reply buffer. The body, if any, is appended by the caller right after the head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::http {

enum class ConnectionHeader : std::uint8_t {
  kNone,       // HTTP/1.1 keep-alive: the default, nothing to say
  kClose,      // `Connection: close`: the server closes after this response
  kKeepAlive,  // `Connection: keep-alive`: an HTTP/1.0 client asked to keep the connection
};

struct ResponseHead {
  int status = 200;
  // Sent as Content-Length, except for 1xx and 204 responses (RFC 7230 3.3.2 forbids it there).
  std::uint64_t content_length = 0;
  std::string_view content_type;  // omitted when empty
  std::string_view allow;         // the Allow header of a 405; omitted when empty
  std::string_view date;          // an IMF-fixdate (format_date); omitted when empty
  std::string_view retry_after;   // the Retry-After header (seconds) of a 503; omitted when empty
  ConnectionHeader connection = ConnectionHeader::kNone;
};

// "HTTP/1.1 <status> <reason>\r\n" + headers + "\r\n".
void encode_head(const ResponseHead& head, Buffer& out);

// The interim response to `Expect: 100-continue`.
inline constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// The standard reason phrase ("Not Found"); "Unknown" for a code http_parser does not name.
std::string_view reason_phrase(int status) noexcept;

// The Date header's IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 7231 7.1.1.1), computed
// without the C library's time zone machinery (which takes a lock).
inline constexpr std::size_t kDateLength = 29;
void format_date(std::uint64_t unix_seconds, char (&out)[kDateLength]) noexcept;

}  // namespace ferrite::proto::http
