// The DPDK data plane: one RX/TX queue pair per worker on each DPDK port, polled from the worker
// loop (run to completion, no kernel on the request path). Each port is its own interface: its
// own MAC, address and exception path.
//
// poll() does an RX burst and handles every frame itself:
// - Ethernet (optionally one 802.1Q tag, kept on the reply): unicast frames to other MACs and our
//   own frames seen again are dropped;
// - ARP: requests for our address are answered in place; senders are learnt in a small
//   neighbour table; every other ARP packet goes to the exception path;
// - IPv4: header length, total length and checksum validated (the port's offload flags are
//   trusted when it sets them); bad packets are dropped and counted;
// - ICMP echo requests to our address are answered in place;
// - UDP to one of the fast-path ports becomes a kDatagram event (data points into the mbuf);
//   send_datagram() to that event's peer builds the reply in the request's mbuf when it fits
//   (else in a new one) and queues it for the next TX burst.
// Everything else (TCP, other UDP ports, fragments, IPv6, other addresses, unknown types) is sent
// to the exception port (a net_tap interface carrying the same address, so the kernel serves it),
// and what the kernel sends on that interface goes out of the port.
//
// Reflection safety is the worker's (one bound for every driver: engine::EngineSettings). The
// driver drops what no reply may go to: sources that are 0.0.0.0, loopback, multicast or broadcast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/io.h"

struct rte_mempool;

namespace ferrite::dpdk {

// Splits `args` like a POSIX shell does words: blanks separate, '...' and "..." quote, a
// backslash escapes the next character. Throws std::invalid_argument on an unterminated quote.
std::vector<std::string> split_args(std::string_view args);

// Initialises the EAL once per process with `args` (argv[0] is supplied). Throws
// std::runtime_error with DPDK's reason when it fails; later calls do nothing.
void init_eal(std::string_view args);

// A mempool of `mbufs` packet buffers on NUMA `socket` (or SOCKET_ID_ANY = -1). Throws.
rte_mempool* create_pool(const std::string& name, unsigned mbufs, int socket);

// Configures and starts `port` with `queues` RX/TX queue pairs (RSS over IPv4/UDP/TCP when there
// are several and the port can), every RX queue filling from `pool`. Throws.
void setup_port(std::uint16_t port, std::uint16_t queues, rte_mempool* pool, std::uint16_t rx_desc = 1024,
                std::uint16_t tx_desc = 1024);
// The same with RX queue q filling from pools[q] (a pool on the NUMA socket of q's worker).
void setup_port(std::uint16_t port, const std::vector<rte_mempool*>& pools, std::uint16_t rx_desc = 1024,
                std::uint16_t tx_desc = 1024);

// How the driver reached a peer, kept in io::Endpoint::link, so that another worker's driver of
// the same ports can answer it (a datagram handed to the worker of its key's partition): the
// peer's MAC, the VLAN (tci in network order), our UDP port (network order) and which of the
// driver's ports (every worker's driver has the same ports, in the same order). All zero (a
// socket driver's endpoint): not valid.
struct PeerLink {
  bool valid = false;
  bool vlan = false;
  std::uint8_t port = 0;
  std::uint8_t mac[6] = {};
  std::uint16_t vlan_tci = 0;
  std::uint16_t our_port = 0;
};
static_assert(std::is_trivially_copyable_v<PeerLink> && sizeof(PeerLink) <= sizeof(io::Endpoint::link));
inline PeerLink peer_link(const io::Endpoint& e) noexcept {
  PeerLink l;
  std::memcpy(&l, e.link.data(), sizeof l);
  return l;
}
inline void set_peer_link(io::Endpoint& e, const PeerLink& l) noexcept {
  std::memcpy(e.link.data(), &l, sizeof l);
}

struct UdpPort {
  std::uint16_t port = 0;  // host byte order
  std::uint16_t tag = 0;   // the worker's listener tag for it
};

// One port the driver polls: its RX/TX queue pair for this worker, the address it serves there,
// and the exception path for what arrives on it (a net_tap and this worker's queue on it).
struct PortConfig {
  std::uint16_t port = 0;
  std::uint16_t queue = 0;
  std::uint32_t address = 0;        // ours on this port, host byte order
  bool has_exception = false;
  std::uint16_t exception_port = 0;
  std::uint16_t exception_queue = 0;
};

struct DriverConfig {
  // At most kMaxPorts. A frame is answered out of the port it came in on; the kernel's frames
  // from a port's exception interface go out of that port.
  std::vector<PortConfig> ports;
  rte_mempool* pool = nullptr;      // for replies that do not fit in the request's mbuf
  std::vector<UdpPort> udp_ports;   // the fast path (the same on every port)
  unsigned burst = 32;              // frames per RX burst, per port
};
constexpr std::size_t kMaxPorts = 8;

// What the driver counted (read by tests and the stats of the worker owning it).
struct DriverStats {
  std::uint64_t rx_packets = 0;
  std::uint64_t tx_packets = 0;
  std::uint64_t tx_dropped = 0;        // the TX queue was full
  std::uint64_t arp_replies = 0;
  std::uint64_t icmp_replies = 0;
  std::uint64_t datagrams = 0;         // fast-path UDP handed to the worker
  std::uint64_t malformed = 0;         // truncated, bad lengths or checksums: dropped
  std::uint64_t exception_out = 0;     // sent to the kernel
  std::uint64_t exception_in = 0;      // from the kernel, out of the port
  std::uint64_t exception_dropped = 0; // no exception path, or its queue was full
  std::uint64_t no_mbufs = 0;
  std::uint64_t not_ours = 0;          // unicast to another MAC, or our own frame seen again
};

class DpdkDriver final : public io::Driver {
 public:
  explicit DpdkDriver(const DriverConfig& config);
  ~DpdkDriver() override;
  DpdkDriver(const DpdkDriver&) = delete;
  DpdkDriver& operator=(const DpdkDriver&) = delete;

  std::size_t poll(io::Event* events, std::size_t max, int wait_us) override;
  bool send_datagram(std::uint16_t tag, const io::Endpoint& to, const char* data, std::size_t len) override;
  // As many free mbufs in the reply pool as datagrams (a reply is sent whole or not at all).
  bool datagram_room(std::size_t count, std::size_t bytes) const noexcept override;
  // Connections are the kernel's (through the exception path): these have nothing to act on.
  void send(io::ConnId conn, const char* data, std::size_t len) override;
  void pause(io::ConnId conn) override;
  void resume(io::ConnId conn) override;
  void close(io::ConnId conn) override;
  void stop_listening() override;
  io::Endpoint local_address(io::ConnId conn) const override;
  bool packet_counts(io::PacketCounts* out) const override;

  // Sends what is queued now (poll() does this first).
  void flush();
  const DriverStats& stats() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferrite::dpdk
