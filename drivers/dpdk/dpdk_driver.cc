#include "dpdk_driver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_arp.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <stdexcept>

namespace ferrite::dpdk {
namespace {

constexpr std::size_t kEth = sizeof(rte_ether_hdr);
constexpr std::size_t kVlan = sizeof(rte_vlan_hdr);
constexpr std::size_t kIp = sizeof(rte_ipv4_hdr);
constexpr std::size_t kUdp = sizeof(rte_udp_hdr);
constexpr std::size_t kNeighbours = 64;  // a small direct-mapped table
constexpr std::uint8_t kTtl = 64;

// Where a reply goes and how its headers look: taken from the request before its mbuf is reused.
struct Route {
  rte_ether_addr peer_mac{};
  bool vlan = false;
  std::uint16_t vlan_tci = 0;  // network order
  std::uint32_t peer_ip = 0;   // network order
  std::uint16_t peer_port = 0; // network order
  std::uint16_t our_port = 0;  // network order
  std::uint8_t port = 0;       // the index in DriverConfig::ports it leaves from
};

struct Slot {
  rte_mbuf* m = nullptr;  // the request, until it is freed or reused for a reply
  io::Endpoint peer;
  Route route;
};

struct Neighbour {
  std::uint32_t ip = 0;  // network order; 0 = empty
  rte_ether_addr mac{};
};

// The UDP checksum over the pseudo header and the datagram folds to 0xffff when it is right.
bool udp_checksum_ok(const rte_ipv4_hdr* ip, const void* udp, std::size_t len) {
  std::uint32_t sum = rte_ipv4_phdr_cksum(ip, 0);
  sum += rte_raw_cksum(udp, len);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

// A frame answered in its own mbuf goes out without the RX offload flags, but keeps the flags
// that say whose buffer it is: an mbuf with an external (or another mbuf's) buffer, as some PMDs
// deliver, must go back through the right free path (clearing them leaked the buffer and put a
// foreign one in the pool; found by fuzz_dpdk_frames).
inline void clear_offload_flags(rte_mbuf* m) noexcept {
  m->ol_flags &= RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;
}

}  // namespace

// One port's state in this worker's driver.
struct PortState {
  PortConfig cfg;
  std::uint8_t index = 0;
  rte_ether_addr mac{};
  std::uint32_t address_be = 0;
  std::vector<rte_mbuf*> tx;
  std::vector<rte_mbuf*> exc_tx;
  std::array<Neighbour, kNeighbours> neighbours{};
};

struct DpdkDriver::Impl {
  DriverConfig cfg;
  std::vector<PortState> ports;
  std::size_t next_port = 0;  // the port polled first: turns go round when a poll's room runs out
  std::vector<Slot> slots;
  std::size_t used_slots = 0;
  std::vector<rte_mbuf*> rx;
  DriverStats stats;
  bool listening = true;

  explicit Impl(const DriverConfig& c) : cfg(c) {
    if (cfg.burst == 0) cfg.burst = 32;
    if (cfg.ports.empty() || cfg.ports.size() > kMaxPorts) {
      throw std::invalid_argument("the DPDK driver needs 1 to " + std::to_string(kMaxPorts) + " ports, not " +
                                  std::to_string(cfg.ports.size()));
    }
    ports.resize(cfg.ports.size());
    for (std::size_t i = 0; i < ports.size(); ++i) {
      PortState& ps = ports[i];
      ps.cfg = cfg.ports[i];
      ps.index = static_cast<std::uint8_t>(i);
      if (rte_eth_macaddr_get(ps.cfg.port, &ps.mac) != 0) {
        throw std::runtime_error("DPDK port " + std::to_string(ps.cfg.port) + ": no MAC address");
      }
      ps.address_be = htonl(ps.cfg.address);
      ps.tx.reserve(cfg.burst * 2);
      ps.exc_tx.reserve(cfg.burst);
    }
    slots.resize(cfg.burst * ports.size());
    rx.resize(cfg.burst);
  }

  void queue_tx(PortState& ps, rte_mbuf* m) {
    ps.tx.push_back(m);
    if (ps.tx.size() == ps.tx.capacity()) flush_tx(ps);
  }

  void flush_tx(PortState& ps) {
    if (ps.tx.empty()) return;
    const std::uint16_t n = static_cast<std::uint16_t>(ps.tx.size());
    const std::uint16_t sent = rte_eth_tx_burst(ps.cfg.port, ps.cfg.queue, ps.tx.data(), n);
    stats.tx_packets += sent;
    if (sent < n) {
      stats.tx_dropped += n - sent;
      rte_pktmbuf_free_bulk(ps.tx.data() + sent, n - sent);
    }
    ps.tx.clear();
  }

  void flush_exception(PortState& ps) {
    if (ps.exc_tx.empty()) return;
    const std::uint16_t n = static_cast<std::uint16_t>(ps.exc_tx.size());
    const std::uint16_t sent = rte_eth_tx_burst(ps.cfg.exception_port, ps.cfg.exception_queue, ps.exc_tx.data(), n);
    stats.exception_out += sent;
    if (sent < n) {
      stats.exception_dropped += n - sent;
      rte_pktmbuf_free_bulk(ps.exc_tx.data() + sent, n - sent);
    }
    ps.exc_tx.clear();
  }

  void to_exception(PortState& ps, rte_mbuf* m) {
    if (!ps.cfg.has_exception) {
      ++stats.exception_dropped;
      rte_pktmbuf_free(m);
      return;
    }
    ps.exc_tx.push_back(m);
    if (ps.exc_tx.size() == ps.exc_tx.capacity()) flush_exception(ps);
  }

  void drop_malformed(rte_mbuf* m) {
    ++stats.malformed;
    rte_pktmbuf_free(m);
  }

  static void learn(PortState& ps, std::uint32_t ip_be, const rte_ether_addr& m) {
    if (ip_be == 0) return;
    Neighbour& n = ps.neighbours[ntohl(ip_be) % kNeighbours];
    n.ip = ip_be;
    n.mac = m;
  }

  static const Neighbour* neighbour(const PortState& ps, std::uint32_t ip_be) {
    const Neighbour& n = ps.neighbours[ntohl(ip_be) % kNeighbours];
    return n.ip == ip_be ? &n : nullptr;
  }

  // The slot whose peer `to` is (a reply to this poll's request), or null: found from the
  // address, not by a search (a poll holds up to burst x ports slots, and every reply asks).
  Slot* slot_of(const io::Endpoint& to) noexcept {
    const auto at = reinterpret_cast<std::uintptr_t>(&to);
    const auto first = reinterpret_cast<std::uintptr_t>(&slots[0].peer);
    if (at < first) return nullptr;
    const std::size_t i = (at - first) / sizeof(Slot);
    return i < used_slots && &slots[i].peer == &to ? &slots[i] : nullptr;
  }

  void handle(PortState& ps, rte_mbuf* m, io::Event* events, std::size_t& nev);
  void handle_arp(PortState& ps, rte_mbuf* m, std::uint8_t* p, std::size_t l2, std::size_t len);
  void handle_ipv4(PortState& ps, rte_mbuf* m, std::uint8_t* p, std::size_t l2, std::size_t len, io::Event* events,
                   std::size_t& nev);
  bool build(rte_mbuf* m, const Route& r, const char* data, std::size_t len);
};

void DpdkDriver::Impl::handle(PortState& ps, rte_mbuf* m, io::Event* events, std::size_t& nev) {
  ++stats.rx_packets;
  if (m->nb_segs != 1) {  // a chained (jumbo) frame is the kernel's
    to_exception(ps, m);
    return;
  }
  auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
  const std::size_t len = rte_pktmbuf_data_len(m);
  if (len < kEth) {
    drop_malformed(m);
    return;
  }
  // Frames for another station (af_packet and promiscuous ports show them) and our own frames
  // seen again (af_packet shows what we sent) are not ours. Compared with memcmp: a frame need not
  // start 2-byte aligned (rte_ether_hdr assumes it is).
  const std::uint8_t* dst = p + offsetof(rte_ether_hdr, dst_addr);
  if (std::memcmp(p + offsetof(rte_ether_hdr, src_addr), &ps.mac, RTE_ETHER_ADDR_LEN) == 0 ||
      ((dst[0] & 1) == 0 && std::memcmp(dst, &ps.mac, RTE_ETHER_ADDR_LEN) != 0)) {
    ++stats.not_ours;
    rte_pktmbuf_free(m);
    return;
  }
  std::uint16_t type = 0;
  std::memcpy(&type, p + offsetof(rte_ether_hdr, ether_type), sizeof(type));
  std::size_t l2 = kEth;
  if (type == htons(RTE_ETHER_TYPE_VLAN)) {
    if (len < kEth + kVlan) {
      drop_malformed(m);
      return;
    }
    type = reinterpret_cast<const rte_vlan_hdr*>(p + kEth)->eth_proto;
    l2 += kVlan;
  }
  if (type == htons(RTE_ETHER_TYPE_ARP)) {
    handle_arp(ps, m, p, l2, len);
  } else if (type == htons(RTE_ETHER_TYPE_IPV4)) {
    handle_ipv4(ps, m, p, l2, len, events, nev);
  } else {
    to_exception(ps, m);  // IPv6, LLDP, ...
  }
}

void DpdkDriver::Impl::handle_arp(PortState& ps, rte_mbuf* m, std::uint8_t* p, std::size_t l2, std::size_t len) {
  if (len < l2 + sizeof(rte_arp_hdr)) {
    drop_malformed(m);
    return;
  }
  auto* arp = reinterpret_cast<rte_arp_hdr*>(p + l2);
  if (arp->arp_hardware != htons(RTE_ARP_HRD_ETHER) || arp->arp_protocol != htons(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4) {
    to_exception(ps, m);
    return;
  }
  rte_arp_ipv4& d = arp->arp_data;
  learn(ps, d.arp_sip, d.arp_sha);
  if (arp->arp_opcode != htons(RTE_ARP_OP_REQUEST) || d.arp_tip != ps.address_be) {
    to_exception(ps, m);  // replies (the kernel learns its neighbours from them), other targets
    return;
  }
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = d.arp_sha;
  eth->src_addr = ps.mac;
  arp->arp_opcode = htons(RTE_ARP_OP_REPLY);
  d.arp_tha = d.arp_sha;
  d.arp_tip = d.arp_sip;
  d.arp_sha = ps.mac;
  d.arp_sip = ps.address_be;
  clear_offload_flags(m);
  ++stats.arp_replies;
  queue_tx(ps, m);
}

void DpdkDriver::Impl::handle_ipv4(PortState& ps, rte_mbuf* m, std::uint8_t* p, std::size_t l2, std::size_t len,
                                   io::Event* events, std::size_t& nev) {
  if (len < l2 + kIp) {
    drop_malformed(m);
    return;
  }
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
  const std::size_t hl = static_cast<std::size_t>(ip->version_ihl & 0x0f) * 4;
  const std::size_t total = ntohs(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || hl < kIp || total < hl || l2 + total > len) {
    drop_malformed(m);
    return;
  }
  const std::uint64_t ipflags = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ipflags == RTE_MBUF_F_RX_IP_CKSUM_BAD || (ipflags != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, hl) != 0xffff)) {
    drop_malformed(m);
    return;
  }
  const std::uint16_t frag = ntohs(ip->fragment_offset);
  if (ip->dst_addr != ps.address_be || (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
    to_exception(ps, m);  // broadcast, multicast, other hosts; fragments are reassembled by the kernel
    return;
  }
  std::uint8_t* l4 = p + l2 + hl;
  const std::size_t l4len = total - hl;
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);

  if (ip->next_proto_id == IPPROTO_ICMP) {
    auto* icmp = reinterpret_cast<rte_icmp_hdr*>(l4);
    if (l4len < sizeof(rte_icmp_hdr)) {
      drop_malformed(m);
      return;
    }
    if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0) {
      to_exception(ps, m);
      return;
    }
    if (rte_raw_cksum(icmp, l4len) != 0xffff) {
      drop_malformed(m);
      return;
    }
    icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
    icmp->icmp_cksum = 0;
    icmp->icmp_cksum = static_cast<std::uint16_t>(~rte_raw_cksum(icmp, l4len));
    const std::uint32_t src = ip->src_addr;
    ip->src_addr = ip->dst_addr;
    ip->dst_addr = src;
    ip->time_to_live = kTtl;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = static_cast<std::uint16_t>(~rte_raw_cksum(ip, hl));
    std::swap(eth->src_addr, eth->dst_addr);
    eth->src_addr = ps.mac;
    rte_pktmbuf_data_len(m) = static_cast<std::uint16_t>(l2 + total);  // drop the Ethernet padding
    m->pkt_len = rte_pktmbuf_data_len(m);
    clear_offload_flags(m);
    ++stats.icmp_replies;
    queue_tx(ps, m);
    return;
  }
  if (ip->next_proto_id != IPPROTO_UDP) {
    to_exception(ps, m);  // TCP and the rest: the kernel's
    return;
  }
  if (l4len < kUdp) {
    drop_malformed(m);
    return;
  }
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(l4);
  const std::size_t ulen = ntohs(udp->dgram_len);
  if (ulen != l4len) {
    drop_malformed(m);
    return;
  }
  const UdpPort* up = nullptr;
  for (const UdpPort& u : cfg.udp_ports) {
    if (htons(u.port) == udp->dst_port) up = &u;
  }
  if (up == nullptr) {
    to_exception(ps, m);
    return;
  }
  const std::uint64_t l4flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4flags == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
      (udp->dgram_cksum != 0 && l4flags != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !udp_checksum_ok(ip, udp, ulen))) {
    drop_malformed(m);
    return;
  }
  const std::uint32_t src_host = ntohl(ip->src_addr);
  // No reply to "nobody", loopback (a martian on a wire), multicast or broadcast.
  if (src_host == 0 || (src_host >> 24) == 127 || src_host >= 0xe0000000u) {
    drop_malformed(m);
    return;
  }
  if (!listening || ulen == kUdp) {
    rte_pktmbuf_free(m);
    return;
  }
  learn(ps, ip->src_addr, eth->src_addr);
  Slot& s = slots[used_slots++];
  s.m = m;
  s.route.peer_mac = eth->src_addr;
  s.route.vlan = l2 != kEth;
  s.route.vlan_tci = s.route.vlan ? reinterpret_cast<const rte_vlan_hdr*>(p + kEth)->vlan_tci : 0;
  s.route.peer_ip = ip->src_addr;
  s.route.peer_port = udp->src_port;
  s.route.our_port = udp->dst_port;
  s.route.port = ps.index;
  auto* sin = reinterpret_cast<sockaddr_in*>(&s.peer.addr);
  sin->sin_family = AF_INET;
  sin->sin_port = udp->src_port;
  sin->sin_addr.s_addr = ip->src_addr;
  s.peer.len = sizeof(sockaddr_in);
  PeerLink link;
  link.valid = true;
  link.vlan = s.route.vlan;
  std::memcpy(link.mac, s.route.peer_mac.addr_bytes, sizeof(link.mac));
  link.vlan_tci = s.route.vlan_tci;
  link.our_port = s.route.our_port;
  link.port = ps.index;
  set_peer_link(s.peer, link);
  ++stats.datagrams;
  io::Event& ev = events[nev++];
  ev = io::Event{io::EventType::kDatagram};
  ev.tag = up->tag;
  ev.data = reinterpret_cast<const char*>(l4 + kUdp);
  ev.len = static_cast<std::uint32_t>(ulen - kUdp);
  ev.peer = &s.peer;
}

bool DpdkDriver::Impl::build(rte_mbuf* m, const Route& r, const char* data, std::size_t len) {
  const std::size_t l2 = r.vlan ? kEth + kVlan : kEth;
  const std::size_t frame = l2 + kIp + kUdp + len;
  rte_pktmbuf_reset_headroom(m);
  if (frame > rte_pktmbuf_tailroom(m) + rte_pktmbuf_data_len(m) || frame > UINT16_MAX) return false;
  const PortState& ps = ports[r.port];
  auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
  auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
  eth->dst_addr = r.peer_mac;
  eth->src_addr = ps.mac;
  if (r.vlan) {
    eth->ether_type = htons(RTE_ETHER_TYPE_VLAN);
    auto* vh = reinterpret_cast<rte_vlan_hdr*>(p + kEth);
    vh->vlan_tci = r.vlan_tci;
    vh->eth_proto = htons(RTE_ETHER_TYPE_IPV4);
  } else {
    eth->ether_type = htons(RTE_ETHER_TYPE_IPV4);
  }
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->type_of_service = 0;
  ip->total_length = htons(static_cast<std::uint16_t>(kIp + kUdp + len));
  ip->packet_id = 0;
  ip->fragment_offset = htons(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = kTtl;
  ip->next_proto_id = IPPROTO_UDP;
  ip->hdr_checksum = 0;
  ip->src_addr = ps.address_be;
  ip->dst_addr = r.peer_ip;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* udp = reinterpret_cast<rte_udp_hdr*>(p + l2 + kIp);
  udp->src_port = r.our_port;
  udp->dst_port = r.peer_port;
  udp->dgram_len = htons(static_cast<std::uint16_t>(kUdp + len));
  udp->dgram_cksum = 0;  // optional over IPv4; the Ethernet CRC covers the link
  std::memmove(p + l2 + kIp + kUdp, data, len);  // `data` may be the request's own payload
  rte_pktmbuf_data_len(m) = static_cast<std::uint16_t>(frame);
  m->pkt_len = static_cast<std::uint32_t>(frame);
  clear_offload_flags(m);
  m->nb_segs = 1;
  m->next = nullptr;
  return true;
}

DpdkDriver::DpdkDriver(const DriverConfig& config) : impl_(std::make_unique<Impl>(config)) {}

DpdkDriver::~DpdkDriver() {
  Impl& d = *impl_;
  for (std::size_t i = 0; i < d.used_slots; ++i) rte_pktmbuf_free(d.slots[i].m);
  for (PortState& ps : d.ports) {
    if (!ps.tx.empty()) rte_pktmbuf_free_bulk(ps.tx.data(), static_cast<unsigned>(ps.tx.size()));
    if (!ps.exc_tx.empty()) rte_pktmbuf_free_bulk(ps.exc_tx.data(), static_cast<unsigned>(ps.exc_tx.size()));
  }
}

void DpdkDriver::flush() {
  for (PortState& ps : impl_->ports) {
    impl_->flush_tx(ps);
    impl_->flush_exception(ps);
  }
}

const DriverStats& DpdkDriver::stats() const noexcept { return impl_->stats; }

bool DpdkDriver::packet_counts(io::PacketCounts* out) const {
  const DriverStats& s = impl_->stats;
  using C = io::PacketCounter;
  auto at = [out](C c) -> std::uint64_t& { return (*out)[static_cast<std::size_t>(c)]; };
  at(C::kRx) = s.rx_packets;
  at(C::kTx) = s.tx_packets;
  at(C::kTxDropped) = s.tx_dropped;
  at(C::kArpReplies) = s.arp_replies;
  at(C::kIcmpReplies) = s.icmp_replies;
  at(C::kToKernel) = s.exception_out;
  at(C::kFromKernel) = s.exception_in;
  at(C::kExceptionDropped) = s.exception_dropped;
  at(C::kMalformed) = s.malformed;
  at(C::kNotOurs) = s.not_ours;
  at(C::kNoBuffers) = s.no_mbufs;
  return true;
}

std::size_t DpdkDriver::poll(io::Event* events, std::size_t max, int /*wait_us*/) {
  // Busy polling: a DPDK queue has nothing to sleep on, so `wait_us` is not honoured.
  Impl& d = *impl_;
  for (std::size_t i = 0; i < d.used_slots; ++i) {
    rte_pktmbuf_free(d.slots[i].m);  // requests whose mbuf no reply reused (free(nullptr) is a no-op)
    d.slots[i].m = nullptr;
  }
  d.used_slots = 0;
  for (PortState& ps : d.ports) {
    d.flush_tx(ps);
    // The kernel's packets from the port's exception interface go out of the port.
    if (ps.cfg.has_exception) {
      d.flush_exception(ps);
      const std::uint16_t n = rte_eth_rx_burst(ps.cfg.exception_port, ps.cfg.exception_queue, d.rx.data(),
                                               static_cast<std::uint16_t>(d.cfg.burst));
      d.stats.exception_in += n;
      for (std::uint16_t i = 0; i < n; ++i) d.queue_tx(ps, d.rx[i]);
    }
  }

  // One RX burst per port, while the caller's events have room (each datagram is one event).
  std::size_t nev = 0;
  const std::size_t count = d.ports.size();
  for (std::size_t k = 0; k < count && nev < max; ++k) {
    PortState& ps = d.ports[(d.next_port + k) % count];
    const std::size_t want = std::min<std::size_t>(max - nev, d.cfg.burst);
    const std::uint16_t n = rte_eth_rx_burst(ps.cfg.port, ps.cfg.queue, d.rx.data(), static_cast<std::uint16_t>(want));
    // Every frame of the burst was written by another core (the NIC, or the peer of a ring
    // port): start all their misses at once, the headers' line and the next one (where a
    // request's header and first key lie), rather than one frame ahead.
    for (std::uint16_t i = 0; i < n; ++i) {
      const char* p = rte_pktmbuf_mtod(d.rx[i], const char*);
      rte_prefetch0(p);
      if (rte_pktmbuf_data_len(d.rx[i]) > RTE_CACHE_LINE_SIZE) rte_prefetch0(p + RTE_CACHE_LINE_SIZE);
    }
    for (std::uint16_t i = 0; i < n; ++i) d.handle(ps, d.rx[i], events, nev);
  }
  if (count > 1) d.next_port = (d.next_port + 1) % count;
  for (PortState& ps : d.ports) {
    // ARP and ICMP replies and the exception path go now; datagram replies at the next poll.
    if (nev == 0) d.flush_tx(ps);
    d.flush_exception(ps);
  }
  return nev;
}

bool DpdkDriver::datagram_room(std::size_t count, std::size_t /*bytes*/) const noexcept {
  // The first reply may go in its request's mbuf; the others each take one from the pool.
  return impl_->cfg.pool == nullptr || count <= 1 || rte_mempool_avail_count(impl_->cfg.pool) >= count - 1;
}

bool DpdkDriver::send_datagram(std::uint16_t /*tag*/, const io::Endpoint& to, const char* data, std::size_t len) {
  Impl& d = *impl_;
  // A reply to this poll's request: its peer is one of our slots.
  Slot* s = d.slot_of(to);
  Route route;
  if (s != nullptr) {
    route = s->route;
  } else {
    if (to.len < sizeof(sockaddr_in) || to.addr.ss_family != AF_INET || d.cfg.udp_ports.empty()) return false;
    const PeerLink link = peer_link(to);
    if (link.valid && link.port >= d.ports.size()) return false;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(&to.addr);
    route.peer_ip = sin->sin_addr.s_addr;
    route.peer_port = sin->sin_port;
    if (link.valid) {
      // A peer another worker's driver received from (a datagram handed over to this worker):
      // answered the way it came.
      std::memcpy(route.peer_mac.addr_bytes, link.mac, sizeof(link.mac));
      route.vlan = link.vlan;
      route.vlan_tci = link.vlan_tci;
      route.our_port = link.our_port;
      route.port = link.port;
    } else {
      // Any other IPv4 peer a port has a neighbour entry for.
      const Neighbour* nb = nullptr;
      for (const PortState& ps : d.ports) {
        nb = Impl::neighbour(ps, sin->sin_addr.s_addr);
        if (nb != nullptr) {
          route.port = ps.index;
          break;
        }
      }
      if (nb == nullptr) return false;
      route.peer_mac = nb->mac;
      route.our_port = htons(d.cfg.udp_ports.front().port);
    }
  }
  rte_mbuf* m = s != nullptr ? s->m : nullptr;
  if (m != nullptr && rte_mbuf_refcnt_read(m) == 1 && RTE_MBUF_DIRECT(m) && d.build(m, route, data, len)) {
    s->m = nullptr;  // the request's mbuf carries the reply now
    d.queue_tx(d.ports[route.port], m);
    return true;
  }
  m = rte_pktmbuf_alloc(d.cfg.pool);
  if (m == nullptr) {
    ++d.stats.no_mbufs;
    return false;
  }
  if (!d.build(m, route, data, len)) {
    rte_pktmbuf_free(m);
    return false;
  }
  d.queue_tx(d.ports[route.port], m);
  return true;
}

// The DPDK driver never reports connections (TCP is the kernel's, through the exception path),
// so the worker never calls these with one of its ids.
void DpdkDriver::send(io::ConnId /*conn*/, const char* /*data*/, std::size_t /*len*/) {}
void DpdkDriver::pause(io::ConnId /*conn*/) {}
void DpdkDriver::resume(io::ConnId /*conn*/) {}
void DpdkDriver::close(io::ConnId /*conn*/) {}

void DpdkDriver::stop_listening() { impl_->listening = false; }

io::Endpoint DpdkDriver::local_address(io::ConnId /*conn*/) const {
  io::Endpoint e;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = impl_->ports.front().address_be;  // the first port's
  e.len = sizeof(sockaddr_in);
  return e;
}

}  // namespace ferrite::dpdk
