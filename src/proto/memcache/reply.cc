#include "proto/memcache/reply.h"

namespace ferrite::proto::memcache {

void append_value(Buffer& out, std::string_view key, std::uint32_t flags, std::string_view data,
                  bool with_cas, std::uint64_t cas) {
  out.reserve(out.size() + key.size() + data.size() + 64);
  out.append("VALUE ", 6);
  out.append(key);
  out.push_back(' ');
  out.append_uint(flags);
  out.push_back(' ');
  out.append_uint(data.size());
  if (with_cas) {
    out.push_back(' ');
    out.append_uint(cas);
  }
  out.append("\r\n", 2);
  out.append(data);
  out.append("\r\n", 2);
}

void append_stat(Buffer& out, std::string_view name, std::string_view value) {
  out.append("STAT ", 5);
  out.append(name);
  out.push_back(' ');
  out.append(value);
  out.append("\r\n", 2);
}

void append_meta_value_code(Buffer& out, std::size_t bytes) {
  out.append("VA ", 3);
  out.append_uint(bytes);
}

void append_meta_uint(Buffer& out, char letter, std::uint64_t v) {
  out.push_back(' ');
  out.push_back(letter);
  out.append_uint(v);
}

void append_meta_int(Buffer& out, char letter, std::int64_t v) {
  out.push_back(' ');
  out.push_back(letter);
  out.append_int(v);
}

bool parse_udp_header(std::string_view d, UdpHeader* h) noexcept {
  if (d.size() < kUdpHeaderSize) return false;
  const auto u16 = [&](std::size_t i) {
    return static_cast<std::uint16_t>(static_cast<unsigned char>(d[i]) << 8 |
                                      static_cast<unsigned char>(d[i + 1]));
  };
  h->request_id = u16(0);
  h->sequence = u16(2);
  h->total = u16(4);
  h->reserved = u16(6);
  return true;
}

void append_udp_header(Buffer& out, const UdpHeader& h) {
  out.append_be16(h.request_id);
  out.append_be16(h.sequence);
  out.append_be16(h.total);
  out.append_be16(h.reserved);
}

}  // namespace ferrite::proto::memcache
