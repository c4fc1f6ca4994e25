// Listener addresses as the configuration writes them: "127.0.0.1:11211", "[::1]:6379", "" (off).
// Hosts are numeric (no name lookups at start-up); port 0 asks the kernel for a free port.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite::server {

struct ListenAddress {
  std::string host;         // numeric, without brackets: "127.0.0.1", "::1"; "" = listener off
  std::uint16_t port = 0;   // 0 = any free port
  int family = AF_UNSPEC;   // AF_INET or AF_INET6 when enabled
  sockaddr_storage addr{};  // ready for bind()
  socklen_t addr_len = 0;

  bool enabled() const noexcept { return !host.empty(); }
  // 0.0.0.0 or ::, every local address of its family (ferrited's IPv6 sockets are IPV6_V6ONLY).
  bool wildcard() const noexcept { return host == "0.0.0.0" || host == "::"; }
  const sockaddr* sockaddr_ptr() const noexcept { return reinterpret_cast<const sockaddr*>(&addr); }
  // The canonical spelling: "127.0.0.1:11211", "[::1]:6379"; "" when off.
  std::string text() const;
};

// Parses "host:port" or "" (off). Returns "" on success, else what is wrong with it in a few words
// ("has no port", "host \"x\" is not a numeric IPv4 address", ...).
std::string parse_listen_address(std::string_view text, ListenAddress* out);

// "127.0.0.1:11211" or "[::1]:6379" for an AF_INET/AF_INET6 address (e.g. from getsockname(), for
// the ready line with the port actually bound); "" for any other family.
std::string format_sockaddr(const sockaddr_storage& addr);

}  // namespace ferrite::server
