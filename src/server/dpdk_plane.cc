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

namespace ferrite::server {
namespace {

// The name ferrited gives the exception path's net_tap device.
constexpr const char* kTapName = "net_tap_ferrite";

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
  DpdkPlaneSpec spec;
  std::uint16_t port = 0;
  bool has_tap = false;
  std::uint16_t tap = 0;
  rte_ether_addr mac{};
  std::vector<rte_mempool*> pools;  // by worker (shared between the workers of a NUMA node)
  std::vector<bool> started;        // ports to stop: [0] the port, [1] the tap
};

DpdkPlane::DpdkPlane(const DpdkPlaneSpec& spec) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.spec = spec;
  std::string args = spec.eal_args;
  if (!spec.exception_iface.empty()) {
    args += std::string(" --vdev=") + kTapName + ",iface=" + spec.exception_iface;
  }
  try {
    dpdk::split_args(args);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("dpdk.eal_args: ") + e.what());
  }
  dpdk::init_eal(args);

  d.port = spec.port;
  if (!rte_eth_dev_is_valid_port(d.port)) {
    throw std::runtime_error("dpdk.port: " + std::to_string(d.port) + " is not a DPDK port (the EAL found " +
                             std::to_string(rte_eth_dev_count_avail()) +
                             "; give one with dpdk.eal_args, such as --vdev=net_af_packet0,iface=eth1)");
  }
  if (!spec.exception_iface.empty()) {
    if (rte_eth_dev_get_port_by_name(kTapName, &d.tap) != 0) {
      throw std::runtime_error(std::string("dpdk.exception_iface: the EAL did not create ") + kTapName +
                               " (is the net_tap driver installed?)");
    }
    if (d.tap == d.port) throw std::runtime_error("dpdk.port: " + std::to_string(d.port) + " is the exception path's TAP");
    d.has_tap = true;
  }
  if (rte_eth_macaddr_get(d.port, &d.mac) != 0) {
    throw std::runtime_error("dpdk.port " + std::to_string(d.port) + ": no MAC address");
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
  dpdk::setup_port(d.port, d.pools);
  if (d.has_tap) {
    // The kernel interface shares the port's MAC: the peers resolve our address to it (the fast
    // path answers ARP), and the kernel's frames then carry it too.
    dpdk::setup_port(d.tap, d.pools);
    const int rc = rte_eth_dev_default_mac_addr_set(d.tap, &d.mac);
    if (rc != 0) throw std::runtime_error(std::string("dpdk.exception_iface: setting its MAC: ") + rte_strerror(-rc));
    configure_kernel_iface(spec.exception_iface, spec.address);
  }
}

DpdkPlane::~DpdkPlane() {
  Impl& d = *impl_;
  rte_eth_dev_stop(d.port);
  if (d.has_tap) {
    rte_eth_dev_stop(d.tap);
    rte_eth_dev_close(d.tap);  // removes the kernel interface
  }
}

std::unique_ptr<io::Driver> DpdkPlane::make_driver(unsigned id) {
  Impl& d = *impl_;
  if (rte_lcore_id() == LCORE_ID_ANY && rte_thread_register() != 0) {
    throw std::runtime_error(std::string("registering the worker with DPDK: ") + rte_strerror(rte_errno));
  }
  dpdk::DriverConfig c;
  c.port = d.port;
  c.queue = static_cast<std::uint16_t>(id);
  c.pool = d.pools[id];
  c.address = d.spec.address.net;
  for (const DpdkPlaneSpec::Udp& u : d.spec.udp) c.udp_ports.push_back(dpdk::UdpPort{u.port, u.tag});
  c.has_exception = d.has_tap;
  c.exception_port = d.tap;
  c.exception_queue = static_cast<std::uint16_t>(id);
  return std::make_unique<dpdk::DpdkDriver>(c);
}

std::string DpdkPlane::describe() const {
  const Impl& d = *impl_;
  rte_eth_dev_info info{};
  rte_eth_dev_info_get(d.port, &info);
  std::string s = "DPDK port " + std::to_string(d.port) + " (" + (info.driver_name ? info.driver_name : "?") + ", " +
                  mac_text(d.mac) + ") address " + d.spec.address.text() + ", " + std::to_string(d.spec.workers) +
                  " queue pair(s)";
  s += d.has_tap ? ", exception path " + d.spec.exception_iface : ", no exception path";
  return s;
}

}  // namespace ferrite::server
