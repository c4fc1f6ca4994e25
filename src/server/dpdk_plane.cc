#include "server/dpdk_plane.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dpdk_driver.h"
#include "server/partition_plan.h"
#include "server/settings.h"

namespace ferrite::server {
namespace {

static_assert(dpdk::kMaxPorts == kMaxDpdkPorts);

// The name ferrited gives port i's exception path, a net_tap device.
std::string tap_name(std::size_t i) { return "net_tap_ferrite" + std::to_string(i); }

std::string mac_text(const rte_ether_addr& m) {
  char buf[RTE_ETHER_ADDR_FMT_SIZE];
  rte_ether_format_addr(buf, sizeof(buf), &m);
  return buf;
}

// Gives the kernel interface `iface` the address and brings it up (ioctl: no netlink needed).
void configure_kernel_iface(const std::string& iface, const Ipv4Prefix& address) {
  const std::string what = "dpdk.exception_iface \"" + iface + "\": ";
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(what + "socket: " + std::strerror(errno));
  auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(what + step + ": " + std::strerror(err));
  };
  ifreq ifr{};
  std::snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface.c_str());
  auto* sin = reinterpret_cast<sockaddr_in*>(&ifr.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(address.net);
  if (ioctl(fd, SIOCSIFADDR, &ifr) != 0) fail("setting its address");
  sin->sin_addr.s_addr = htonl(address.mask());
  if (ioctl(fd, SIOCSIFNETMASK, &ifr) != 0) fail("setting its netmask");
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) fail("reading its flags");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0) fail("bringing it up");
  ::close(fd);
}

}  // namespace

struct DpdkPlane::Impl {
  struct Port {
    std::uint16_t id = 0;
    bool has_tap = false;
    std::uint16_t tap = 0;
    rte_ether_addr mac{};
  };
  DpdkPlaneSpec spec;
  std::vector<Port> ports;          // as spec.ports
  std::vector<rte_mempool*> pools;  // by worker (shared between the workers of a NUMA node)
  std::vector<std::uint16_t> started;  // ports to stop, in the order they were started
  std::vector<std::uint16_t> taps;     // the taps among them, closed too (removes their interfaces)
};

DpdkPlane::DpdkPlane(const DpdkPlaneSpec& spec) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.spec = spec;
  if (spec.ports.empty() || spec.ports.size() > dpdk::kMaxPorts) {
    throw std::invalid_argument("dpdk.ports: " + std::to_string(spec.ports.size()) + " ports; expected 1 to " +
                                std::to_string(dpdk::kMaxPorts));
  }
  std::string args = spec.eal_args;
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    if (!spec.ports[i].exception_iface.empty()) {
      args += " --vdev=" + tap_name(i) + ",iface=" + spec.ports[i].exception_iface;
    }
  }
  try {
    dpdk::split_args(args);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("dpdk.eal_args: ") + e.what());
  }
  dpdk::init_eal(args);

  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const DpdkPlaneSpec::Port& ps = spec.ports[i];
    Impl::Port p;
    p.id = ps.id;
    if (!rte_eth_dev_is_valid_port(p.id)) {
      throw std::runtime_error("dpdk.ports: " + std::to_string(p.id) + " is not a DPDK port (the EAL found " +
                               std::to_string(rte_eth_dev_count_avail()) +
                               "; give one with dpdk.eal_args, such as --vdev=net_af_packet0,iface=eth1)");
    }
    if (!ps.exception_iface.empty()) {
      if (rte_eth_dev_get_port_by_name(tap_name(i).c_str(), &p.tap) != 0) {
        throw std::runtime_error("dpdk.exception_iface: the EAL did not create " + tap_name(i) +
                                 " (is the net_tap driver installed?)");
      }
      p.has_tap = true;
    }
    if (rte_eth_macaddr_get(p.id, &p.mac) != 0) {
      throw std::runtime_error("dpdk.ports: port " + std::to_string(p.id) + " has no MAC address");
    }
    d.ports.push_back(p);
  }
  for (const Impl::Port& p : d.ports) {
    for (const Impl::Port& q : d.ports) {
      if (q.has_tap && q.tap == p.id) {
        throw std::runtime_error("dpdk.ports: " + std::to_string(p.id) + " is an exception path's TAP");
      }
    }
  }

  // One mempool per NUMA node that has workers.
  std::vector<std::pair<int, rte_mempool*>> by_node;
  for (unsigned w = 0; w < spec.workers; ++w) {
    const int node = spec.worker_cpus.empty() ? 0 : numa_node_of(spec.worker_cpus[w % spec.worker_cpus.size()]);
    rte_mempool* pool = nullptr;
    for (const auto& [n, p] : by_node)
      if (n == node) pool = p;
    if (pool == nullptr) {
      // DPDK numbers sockets as the kernel numbers nodes; without hugepages any socket will do.
      const int socket = rte_socket_count() > 1 ? node : SOCKET_ID_ANY;
      pool = dpdk::create_pool("ferrite_node" + std::to_string(node), spec.mbufs, socket);
      by_node.emplace_back(node, pool);
    }
    d.pools.push_back(pool);
  }
  for (std::size_t i = 0; i < d.ports.size(); ++i) {
    Impl::Port& p = d.ports[i];
    dpdk::setup_port(p.id, d.pools);
    d.started.push_back(p.id);
    if (p.has_tap) {
      // The kernel interface shares the port's MAC: the peers resolve the port's address to it (the
      // fast path answers ARP), and the kernel's frames then carry it too.
      dpdk::setup_port(p.tap, d.pools);
      d.started.push_back(p.tap);
      d.taps.push_back(p.tap);
      const int rc = rte_eth_dev_default_mac_addr_set(p.tap, &p.mac);
      if (rc != 0) {
        throw std::runtime_error("dpdk.exception_iface \"" + spec.ports[i].exception_iface +
                                 "\": setting its MAC: " + rte_strerror(-rc));
      }
      configure_kernel_iface(spec.ports[i].exception_iface, spec.ports[i].address);
    }
  }
}

DpdkPlane::~DpdkPlane() {
  Impl& d = *impl_;
  for (const std::uint16_t id : d.started) rte_eth_dev_stop(id);
  for (const std::uint16_t tap : d.taps) rte_eth_dev_close(tap);  // removes the kernel interface
}

std::unique_ptr<io::Driver> DpdkPlane::make_driver(unsigned id) {
  Impl& d = *impl_;
  if (rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() != 0) {
    throw std::runtime_error(std::string("registering the worker with DPDK: ") + rte_strerror(rte_errno));
  }
  dpdk::DriverConfig c;
  for (std::size_t i = 0; i < d.ports.size(); ++i) {
    dpdk::PortConfig pc;
    pc.port = d.ports[i].id;
    pc.queue = static_cast<std::uint16_t>(id);
    pc.address = d.spec.ports[i].address.net;
    pc.has_exception = d.ports[i].has_tap;
    pc.exception_port = d.ports[i].tap;
    pc.exception_queue = static_cast<std::uint16_t>(id);
    c.ports.push_back(pc);
  }
  c.pool = d.pools[id];
  for (const DpdkPlaneSpec::Udp& u : d.spec.udp) c.udp_ports.push_back(dpdk::UdpPort{u.port, u.tag});
  return std::make_unique<dpdk::DpdkDriver>(c);
}

std::string DpdkPlane::describe() const {
  const Impl& d = *impl_;
  std::string s;
  for (std::size_t i = 0; i < d.ports.size(); ++i) {
    const Impl::Port& p = d.ports[i];
    rte_eth_dev_info info{};
    rte_eth_dev_info_get(p.id, &info);
    if (!s.empty()) s += "; ";
    s += "DPDK port " + std::to_string(p.id) + " (" + (info.driver_name ? info.driver_name : "?") + ", " +
         mac_text(p.mac) + ") address " + d.spec.ports[i].address.text() + ", " + std::to_string(d.spec.workers) +
         " queue pair(s)";
    s += p.has_tap ? ", exception path " + d.spec.ports[i].exception_iface : ", no exception path";
  }
  return s;
}

}  // namespace ferrite::server
