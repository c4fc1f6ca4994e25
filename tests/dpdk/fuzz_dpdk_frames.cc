// libFuzzer target: arbitrary Ethernet frames through the DPDK driver's poll(), with the frame in
// an external buffer of exactly its size (malloc'd, so ASan sees any read past it). A frame whose
// first byte is even is addressed to the port's MAC (so the fuzzer need not find it); the fast
// path's datagrams are answered, every frame sent to the port or the exception path is drained.
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dpdk_driver.h"

namespace {

using ferrite::dpdk::DpdkDriver;
using ferrite::dpdk::DriverConfig;

struct Port {
  rte_ring* in = nullptr;
  rte_ring* out = nullptr;
  std::uint16_t id = 0;
  void drain() {
    void* obj = nullptr;
    while (rte_ring_dequeue(out, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
};

Port make_port(const std::string& name, rte_mempool* pool) {
  Port p;
  p.in = rte_ring_create((name + "i").c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  p.out = rte_ring_create((name + "o").c_str(), 256, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
  const int id = rte_eth_from_rings(name.c_str(), &p.in, 1, &p.out, 1, SOCKET_ID_ANY);
  if (id < 0) throw std::runtime_error("rte_eth_from_rings failed");
  p.id = static_cast<std::uint16_t>(id);
  ferrite::dpdk::setup_port(p.id, 1, pool, 128, 128);
  return p;
}

struct Setup {
  rte_mempool* pool = nullptr;
  Port port, exc;
  rte_ether_addr mac{};
  DpdkDriver* driver = nullptr;
  rte_mbuf_ext_shared_info shinfo{};

  Setup() {
    ferrite::dpdk::init_eal("--no-huge --no-pci -m 128 --no-shconf -l 0 --log-level=error --file-prefix=ferrite-fuzz-" +
                            std::to_string(getpid()));
    pool = ferrite::dpdk::create_pool("fuzz_pool", 1023, SOCKET_ID_ANY);
    port = make_port("fz0", pool);
    exc = make_port("fz1", pool);
    rte_eth_macaddr_get(port.id, &mac);
    DriverConfig c;
    c.ports = {ferrite::dpdk::PortConfig{.port = port.id,
                                          .address = 0xc6120002,  // 198.18.0.2
                                          .has_exception = true,
                                          .exception_port = exc.id}};
    c.pool = pool;
    c.udp_ports = {{7070, 0}, {11211, 1}};
    driver = new DpdkDriver(c);  // lives as long as the process
    shinfo.free_cb = [](void* addr, void*) { std::free(addr); };
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Setup s;
  if (size == 0 || size > 4096) return 0;
  auto* buf = static_cast<std::uint8_t*>(std::malloc(size));
  std::memcpy(buf, data, size);
  if (size >= 6 && (data[0] & 1) == 0) std::memcpy(buf, &s.mac, 6);
  rte_mbuf* m = rte_pktmbuf_alloc(s.pool);
  if (m == nullptr) {
    std::free(buf);
    return 0;
  }
  rte_mbuf_ext_refcnt_set(&s.shinfo, 1);
  rte_pktmbuf_attach_extbuf(m, buf, 0, static_cast<std::uint16_t>(size), &s.shinfo);
  m->data_off = 0;
  m->data_len = static_cast<std::uint16_t>(size);
  m->pkt_len = static_cast<std::uint32_t>(size);
  if (rte_ring_enqueue(s.port.in, m) != 0) {
    rte_pktmbuf_free(m);
    return 0;
  }
  ferrite::io::Event events[32];
  const std::size_t n = s.driver->poll(events, 32, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const ferrite::io::Event& ev = events[i];
    // A datagram lies inside the frame.
    const auto* p = reinterpret_cast<const std::uint8_t*>(ev.data);
    if (p < buf || p + ev.len > buf + size) std::abort();
    static const char reply[] = "reply";
    s.driver->send_datagram(ev.tag, *ev.peer, ev.data, ev.len);   // the request, echoed in place
    s.driver->send_datagram(ev.tag, *ev.peer, reply, sizeof(reply) - 1);
  }
  s.driver->flush();
  s.driver->poll(events, 32, 0);  // frees requests no reply reused
  s.driver->flush();
  s.port.drain();
  s.exc.drain();
  return 0;
}
