// Reply encoders of memcached's text and meta protocols, and the 8-byte frame header of
// memcached's UDP protocol (doc/protocol.txt "UDP protocol"):
//
//   offset size  field (16-bit, big-endian)
//   0      2     request id (echoed in every reply datagram)
//   2      2     sequence number (0..n-1)
//   4      2     total number of datagrams in the message
//   6      2     reserved, 0
//
// A request must fit in one datagram (total 1); a reply may span several.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::memcache {

// "<text>\r\n"
inline void append_line(Buffer& out, std::string_view text) {
  char* p = out.prepare(text.size() + 2);
  if (!text.empty()) std::memcpy(p, text.data(), text.size());
  p[text.size()] = '\r';
  p[text.size() + 1] = '\n';
  out.advance(text.size() + 2);
}
inline void append_crlf(Buffer& out) { out.append("\r\n", 2); }

// "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n"
void append_value(Buffer& out, std::string_view key, std::uint32_t flags, std::string_view data,
                  bool with_cas, std::uint64_t cas);
// Decimal digits of v.
constexpr std::size_t decimal_digits(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}
// The bytes append_value writes for these arguments.
constexpr std::size_t value_reply_bytes(std::string_view key, std::uint32_t flags, std::string_view data,
                                        bool with_cas, std::uint64_t cas) noexcept {
  return 6 + key.size() + 1 + decimal_digits(flags) + 1 + decimal_digits(data.size()) +
         (with_cas ? 1 + decimal_digits(cas) : 0) + 2 + data.size() + 2;
}
// "STAT <name> <value>\r\n"
void append_stat(Buffer& out, std::string_view name, std::string_view value);

// "VA <bytes>" (the meta reply line's start when a value follows).
void append_meta_value_code(Buffer& out, std::size_t bytes);
// " <letter><number>" (meta return flags such as " c123", " t-1").
void append_meta_uint(Buffer& out, char letter, std::uint64_t v);
void append_meta_int(Buffer& out, char letter, std::int64_t v);

inline constexpr std::size_t kUdpHeaderSize = 8;

struct UdpHeader {
  std::uint16_t request_id = 0;
  std::uint16_t sequence = 0;
  std::uint16_t total = 0;
  std::uint16_t reserved = 0;
};

// Reads the header at the front of `datagram` (false if it is shorter than the header).
bool parse_udp_header(std::string_view datagram, UdpHeader* h) noexcept;
void append_udp_header(Buffer& out, const UdpHeader& h);

}  // namespace ferrite::proto::memcache
