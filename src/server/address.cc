#include "server/address.h"

#include <arpa/inet.h>

#include "server/settings.h"

namespace ferrite::server {

namespace {

// "host:port", or "[host]:port" for IPv6. Appends rather than chaining operator+ (g++ 12 at -O3
// reports a false -Wrestrict on the chained temporaries).
std::string join_host_port(int family, std::string_view host, std::uint16_t port) {
  std::string out;
  if (family == AF_INET6) out += '[';
  out += host;
  if (family == AF_INET6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string host_port(int family, const void* in_addr, std::uint16_t port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(family, in_addr, buf, sizeof buf) == nullptr) return "";
  return join_host_port(family, buf, port);
}

}  // namespace

std::string ListenAddress::text() const { return enabled() ? join_host_port(family, host, port) : ""; }

std::string parse_listen_address(std::string_view text, ListenAddress* out) {
  *out = ListenAddress{};
  if (text.empty()) return "";
  std::string_view host;
  std::string_view rest;
  const bool v6 = text.front() == '[';
  if (v6) {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "has no closing ] after the IPv6 host";
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return "has no port after the IPv6 host";
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return "has no port";
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) return "has an IPv6 host without brackets";
  }
  const std::string_view port_text = rest.substr(1);
  const auto port = parse_uint(port_text);
  if (!port || *port > 65535 || port_text.size() > 5)
    return "has a port that is not a number from 0 to 65535";
  if (host.empty()) return "has no host (0.0.0.0 or [::] means every address)";

  const std::string host_str(host);
  sockaddr_storage ss{};
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET6, host_str.c_str(), &sa->sin6_addr) != 1) {
      return "has a host that is not a numeric IPv6 address";
    }
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(static_cast<std::uint16_t>(*port));
    out->addr_len = sizeof(sockaddr_in6);
    out->family = AF_INET6;
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf);
    out->host = buf;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET, host_str.c_str(), &sa->sin_addr) != 1) {
      return "has a host that is not a numeric IPv4 address";
    }
    sa->sin_family = AF_INET;
    sa->sin_port = htons(static_cast<std::uint16_t>(*port));
    out->addr_len = sizeof(sockaddr_in);
    out->family = AF_INET;
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
    out->host = buf;
  }
  out->addr = ss;
  out->port = static_cast<std::uint16_t>(*port);
  return "";
}

std::string format_sockaddr(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    const auto* sa = reinterpret_cast<const sockaddr_in*>(&addr);
    return host_port(AF_INET, &sa->sin_addr, ntohs(sa->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    const auto* sa = reinterpret_cast<const sockaddr_in6*>(&addr);
    return host_port(AF_INET6, &sa->sin6_addr, ntohs(sa->sin6_port));
  }
  return "";
}

}  // namespace ferrite::server
