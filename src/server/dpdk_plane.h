// The DPDK side of ferrited (server.driver = "dpdk"): the EAL, one mempool per NUMA socket that
// has workers, the fast-path ports (dpdk.ports), each with one RX/TX queue pair per worker (RSS
// across them), and each port's exception path: a net_tap device whose kernel interface (its
// dpdk.exception_iface) gets the port's MAC and its dpdk.address, so that the kernel serves TCP
// and everything else on the same address. Each port is its own interface, with its own address.
//
// Set up once, before the kernel listeners are bound (they may bind dpdk.address, which exists
// only once the exception interface carries it). Each worker then makes its driver on its own
// thread (registered with DPDK as an lcore, so the mempool caches are per worker).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/net.h"

namespace ferrite::server {

struct DpdkPlaneSpec {
  std::string eal_args;
  struct Port {
    std::uint16_t id = 0;
    Ipv4Prefix address;
    std::string exception_iface;  // "" = no exception path
  };
  std::vector<Port> ports;       // at least one, at most dpdk::kMaxPorts
  unsigned mbufs = 16383;
  unsigned workers = 1;
  std::vector<int> worker_cpus;  // worker i's CPU (for its NUMA socket's mempool); may be empty
  struct Udp {
    std::uint16_t port = 0;  // host order
    std::uint16_t tag = 0;   // the worker's listener tag
  };
  std::vector<Udp> udp;      // the fast-path ports
};

class DpdkPlane {
 public:
  // Throws std::runtime_error (std::invalid_argument for bad dpdk.* values) naming the problem.
  explicit DpdkPlane(const DpdkPlaneSpec& spec);
  ~DpdkPlane();
  DpdkPlane(const DpdkPlane&) = delete;
  DpdkPlane& operator=(const DpdkPlane&) = delete;

  // Worker `id`'s driver; call on the worker's thread. Throws.
  std::unique_ptr<io::Driver> make_driver(unsigned id);
  // "DPDK port 0 (net_af_packet, 02:..:..) address ..., 2 queue pair(s), exception path fe0", one
  // clause per port: for the log.
  std::string describe() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferrite::server
