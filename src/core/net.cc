#include "core/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>

#include "core/text.h"

namespace ferrite {
namespace {

// The IPv4 address of `e` in host order, when it has one.
bool ipv4_of(const io::Endpoint& e, std::uint32_t* out) noexcept {
  if (e.len >= sizeof(sockaddr_in) && e.addr.ss_family == AF_INET) {
    *out = ntohl(reinterpret_cast<const sockaddr_in*>(&e.addr)->sin_addr.s_addr);
    return true;
  }
  if (e.len >= sizeof(sockaddr_in6) && e.addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&e.addr);
    if (!IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) return false;
    const std::uint8_t* b = a->sin6_addr.s6_addr + 12;
    *out = std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
    return true;
  }
  return false;
}

// "<before>\"<text>\"<after>" (appended step by step: GCC 12 warns falsely on operator+ chains).
std::string quoted(const char* before, std::string_view text, const char* after) {
  std::string s(before);
  s += '"';
  s.append(text);
  s += '"';
  s += after;
  return s;
}

}  // namespace

std::string Ipv4Prefix::text() const {
  char buf[INET_ADDRSTRLEN] = "";
  in_addr a{};
  a.s_addr = htonl(net);
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  char out[INET_ADDRSTRLEN + 4];
  std::snprintf(out, sizeof(out), "%s/%u", buf, static_cast<unsigned>(len));
  return out;
}

std::string parse_ipv4_prefix(std::string_view text, Ipv4Prefix* out) {
  std::string_view addr = text;
  Ipv4Prefix p;
  p.len = 32;
  if (const std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
    const std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string_view::npos) {
      return quoted("bad prefix length in ", text, "");
    }
    const int n = len.size() == 1 ? len[0] - '0' : (len[0] - '0') * 10 + (len[1] - '0');
    if (n > 32) return quoted("bad prefix length in ", text, "");
    p.len = static_cast<std::uint8_t>(n);
  }
  in_addr a{};
  if (addr.size() >= INET_ADDRSTRLEN || inet_pton(AF_INET, std::string(addr).c_str(), &a) != 1) {
    return quoted("", text, " is not an IPv4 address");
  }
  p.net = ntohl(a.s_addr);
  *out = p;
  return "";
}

std::string parse_ipv4_prefixes(std::string_view text, std::vector<Ipv4Prefix>* out) {
  std::vector<Ipv4Prefix> list;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = trim_blanks(text.substr(0, comma));
    Ipv4Prefix p;
    std::string problem = parse_ipv4_prefix(item, &p);
    if (!problem.empty()) return problem;
    list.push_back(p);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
    if (text.empty()) return "a trailing comma";
  }
  *out = std::move(list);
  return "";
}

bool endpoint_in(const io::Endpoint& e, const std::vector<Ipv4Prefix>& prefixes) noexcept {
  std::uint32_t a = 0;
  if (prefixes.empty() || !ipv4_of(e, &a)) return false;
  for (const Ipv4Prefix& p : prefixes) {
    if (p.contains(a)) return true;
  }
  return false;
}

bool is_loopback(const io::Endpoint& e) noexcept {
  std::uint32_t a = 0;
  if (ipv4_of(e, &a)) return (a >> 24) == 127;
  if (e.len >= sizeof(sockaddr_in6) && e.addr.ss_family == AF_INET6) {
    return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<const sockaddr_in6*>(&e.addr)->sin6_addr);
  }
  return false;
}

std::size_t format_endpoint(const io::Endpoint& e, char* out, std::size_t cap) noexcept {
  char host[INET6_ADDRSTRLEN] = "?";
  int n = 0;
  if (e.len != 0 && e.addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&e.addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    n = std::snprintf(out, cap, "%s:%u", host, static_cast<unsigned>(ntohs(a->sin_port)));
  } else if (e.len != 0 && e.addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&e.addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    n = std::snprintf(out, cap, "[%s]:%u", host, static_cast<unsigned>(ntohs(a->sin6_port)));
  } else {
    n = std::snprintf(out, cap, "unknown");
  }
  if (n < 0 || cap == 0) return 0;
  return static_cast<std::size_t>(n) < cap ? static_cast<std::size_t>(n) : cap - 1;
}

}  // namespace ferrite
