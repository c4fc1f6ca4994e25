// IPv4 prefixes ("198.18.0.0/24"): the DPDK driver's own address, and the senders exempt from the
// UDP reflection bound. Parsed once at start-up; contains() is a mask and a compare.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/io.h"

namespace ferrite {

// An IPv4 address and prefix length, in host byte order.
struct Ipv4Prefix {
  std::uint32_t net = 0;
  std::uint8_t len = 32;

  std::uint32_t mask() const noexcept { return len == 0 ? 0 : ~std::uint32_t{0} << (32 - len); }
  bool contains(std::uint32_t addr) const noexcept { return (addr & mask()) == (net & mask()); }
  // "198.18.0.2/24" (the address as written: not masked).
  std::string text() const;
  bool operator==(const Ipv4Prefix&) const = default;
};

// "198.18.0.2/24", or "10.0.0.1" meaning /32. Returns "" and sets *out, or says what is wrong
// ("\"10.0.0/8\" is not an IPv4 address", "bad prefix length in ...").
std::string parse_ipv4_prefix(std::string_view text, Ipv4Prefix* out);
// Comma-separated prefixes (blanks around commas allowed; "" is an empty list).
std::string parse_ipv4_prefixes(std::string_view text, std::vector<Ipv4Prefix>* out);

// True when `e` is an IPv4 address inside one of `prefixes` (or an IPv4-mapped IPv6 one).
bool endpoint_in(const io::Endpoint& e, const std::vector<Ipv4Prefix>& prefixes) noexcept;
// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104.
bool is_loopback(const io::Endpoint& e) noexcept;

// "127.0.0.1:54321", "[::1]:54321", or "unknown" (no address, or another family). Writes at most
// `cap` bytes, NUL included; returns the length written (cut to fit).
std::size_t format_endpoint(const io::Endpoint& e, char* out, std::size_t cap) noexcept;

}  // namespace ferrite
