// Hand-made Ethernet frames for the DPDK driver's tests and benchmark (byte offsets written out,
// independent of the driver's own header code), and mbufs holding them.
#pragma once

#include <rte_mbuf.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ferrite::dpdk::test {

using Mac = std::array<std::uint8_t, 6>;

inline constexpr Mac kClientMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
inline constexpr std::uint32_t kClientIp = 0xc6120001;  // 198.18.0.1
inline constexpr std::uint32_t kServerIp = 0xc6120002;  // 198.18.0.2

inline void put16(std::string& s, std::size_t at, std::uint16_t v) {
  s[at] = static_cast<char>(v >> 8);
  s[at + 1] = static_cast<char>(v & 0xff);
}
inline void put32(std::string& s, std::size_t at, std::uint32_t v) {
  put16(s, at, static_cast<std::uint16_t>(v >> 16));
  put16(s, at + 2, static_cast<std::uint16_t>(v & 0xffff));
}
inline std::uint16_t get16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(s[at]) << 8) | static_cast<std::uint8_t>(s[at + 1]));
}
inline std::uint32_t get32(std::string_view s, std::size_t at) {
  return (static_cast<std::uint32_t>(get16(s, at)) << 16) | get16(s, at + 2);
}

// The Internet checksum's folded one's-complement sum (0xffff over a valid header).
inline std::uint16_t sum16(std::string_view s, std::uint32_t start = 0) {
  std::uint32_t sum = start;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) sum += get16(s, i);
  if (s.size() % 2 != 0) sum += static_cast<std::uint32_t>(static_cast<std::uint8_t>(s.back())) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

// Ethernet header (with an 802.1Q tag when vlan >= 0).
inline std::string ethernet(const Mac& dst, const Mac& src, std::uint16_t type, int vlan = -1) {
  std::string f(vlan >= 0 ? 18 : 14, '\0');
  std::memcpy(f.data(), dst.data(), 6);
  std::memcpy(f.data() + 6, src.data(), 6);
  if (vlan >= 0) {
    put16(f, 12, 0x8100);
    put16(f, 14, static_cast<std::uint16_t>(vlan));
    put16(f, 16, type);
  } else {
    put16(f, 12, type);
  }
  return f;
}

// An IPv4 header (20 bytes, checksum filled in) followed by `l4`.
inline std::string ipv4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto, std::string_view l4) {
  std::string h(20, '\0');
  h[0] = 0x45;
  put16(h, 2, static_cast<std::uint16_t>(20 + l4.size()));
  h[8] = 64;
  h[9] = static_cast<char>(proto);
  put32(h, 12, src);
  put32(h, 16, dst);
  put16(h, 10, static_cast<std::uint16_t>(~sum16(h)));
  h.append(l4);
  return h;
}

inline std::string udp(std::uint32_t src, std::uint32_t dst, std::uint16_t sport, std::uint16_t dport,
                       std::string_view payload, bool checksum = true) {
  std::string u(8, '\0');
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, static_cast<std::uint16_t>(8 + payload.size()));
  u.append(payload);
  if (checksum) {
    std::string pseudo(12, '\0');
    put32(pseudo, 0, src);
    put32(pseudo, 4, dst);
    pseudo[9] = 17;
    put16(pseudo, 10, static_cast<std::uint16_t>(u.size()));
    std::uint16_t c = static_cast<std::uint16_t>(~sum16(u, sum16(pseudo)));
    if (c == 0) c = 0xffff;
    put16(u, 6, c);
  }
  return u;
}

inline std::string udp_frame(const Mac& server_mac, std::uint16_t sport, std::uint16_t dport, std::string_view payload,
                             int vlan = -1) {
  return ethernet(server_mac, kClientMac, 0x0800, vlan) +
         ipv4(kClientIp, kServerIp, 17, udp(kClientIp, kServerIp, sport, dport, payload));
}

inline std::string arp_request(std::uint32_t target, const Mac& dst = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
  std::string a(28, '\0');
  put16(a, 0, 1);
  put16(a, 2, 0x0800);
  a[4] = 6;
  a[5] = 4;
  put16(a, 6, 1);
  std::memcpy(a.data() + 8, kClientMac.data(), 6);
  put32(a, 14, kClientIp);
  put32(a, 24, target);
  return ethernet(dst, kClientMac, 0x0806) + a;
}

inline std::string icmp_echo(const Mac& server_mac, std::string_view data, int vlan = -1) {
  std::string i(8, '\0');
  i[0] = 8;
  put16(i, 4, 0x1234);
  put16(i, 6, 7);
  i.append(data);
  put16(i, 2, static_cast<std::uint16_t>(~sum16(i)));
  return ethernet(server_mac, kClientMac, 0x0800, vlan) + ipv4(kClientIp, kServerIp, 1, i);
}

// An mbuf holding `frame`; with `at_end`, placed at the very end of its buffer, so that a read
// past the frame leaves the buffer.
inline rte_mbuf* to_mbuf(rte_mempool* pool, std::string_view frame, bool at_end = false) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) return nullptr;
  if (at_end) m->data_off = static_cast<std::uint16_t>(m->buf_len - frame.size());
  char* p = rte_pktmbuf_append(m, static_cast<std::uint16_t>(frame.size()));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(p, frame.data(), frame.size());
  return m;
}

inline std::string from_mbuf(const rte_mbuf* m) {
  return std::string(rte_pktmbuf_mtod(m, const char*), rte_pktmbuf_data_len(m));
}

}  // namespace ferrite::dpdk::test
