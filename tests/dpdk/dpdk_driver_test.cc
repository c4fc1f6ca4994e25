// The DPDK driver at packet level: crafted frames go into a ring-backed port (net_ring), what the
// driver sends comes out of the port's TX ring and of a second ring port standing in for the
// exception interface. Runs the EAL without hugepages or PCI.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dpdk_driver.h"
#include "core/buffer.h"
#include "core/net.h"
#include "engine/binary/binary.h"
#include "engine/memcache/memcache.h"
#include "engine/session.h"
#include "engine/worker.h"
#include "frames.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::dpdk {
namespace {

using test::from_mbuf;
using test::get16;
using test::get32;
using test::kClientIp;
using test::kServerIp;
using test::sum16;
using test::to_mbuf;

constexpr std::uint16_t kFastPort = 11211;
constexpr std::uint16_t kOtherPort = 53;

// A port made of two rings: frames put into `in` are received, frames sent land in `out`.
struct RingPort {
  rte_ring* in = nullptr;
  rte_ring* out = nullptr;
  std::uint16_t id = 0;

  explicit RingPort(const std::string& name, rte_mempool* pool) {
    in = rte_ring_create((name + "i").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    out = rte_ring_create((name + "o").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    const int port = rte_eth_from_rings(name.c_str(), &in, 1, &out, 1, SOCKET_ID_ANY);
    if (port < 0) throw std::runtime_error("rte_eth_from_rings failed");
    id = static_cast<std::uint16_t>(port);
    setup_port(id, 1, pool, 128, 128);
  }
  // DPDK has room for 32 ports: each test gives its own back.
  ~RingPort() {
    take();
    void* obj = nullptr;
    while (rte_ring_dequeue(in, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    rte_eth_dev_stop(id);
    rte_eth_dev_close(id);
    rte_ring_free(in);
    rte_ring_free(out);
  }
  RingPort(const RingPort&) = delete;
  RingPort& operator=(const RingPort&) = delete;
  void put(rte_mbuf* m) { ASSERT_EQ(rte_ring_enqueue(in, m), 0); }
  // Every frame sent so far.
  std::vector<std::string> take() {
    std::vector<std::string> frames;
    void* obj = nullptr;
    while (rte_ring_dequeue(out, &obj) == 0) {
      auto* m = static_cast<rte_mbuf*>(obj);
      frames.push_back(from_mbuf(m));
      rte_pktmbuf_free(m);
    }
    return frames;
  }
};

// A peer by IPv4 address and UDP port (host order), without link details.
io::Endpoint ipv4_peer(std::uint32_t ip, std::uint16_t port) {
  io::Endpoint e;
  auto* sin = reinterpret_cast<sockaddr_in*>(&e.addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(ip);
  sin->sin_port = htons(port);
  e.len = sizeof(sockaddr_in);
  return e;
}

rte_mempool* pool() {
  static rte_mempool* p = [] {
    const std::string prefix = "--file-prefix=ferrite-dpdk-test-" + std::to_string(getpid());
    init_eal("--no-huge --no-pci -m 256 --no-shconf -l 0 --log-level=error " + prefix);
    return create_pool("test_pool", 4095, SOCKET_ID_ANY);
  }();
  return p;
}

class DpdkDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    ++n;
    port_ = std::make_unique<RingPort>("p" + std::to_string(n), pool());
    exc_ = std::make_unique<RingPort>("x" + std::to_string(n), pool());
    rte_eth_macaddr_get(port_->id, &server_mac_);
    std::memcpy(mac_.data(), server_mac_.addr_bytes, 6);
    cfg_.ports = {PortConfig{.port = port_->id, .address = kServerIp, .has_exception = true, .exception_port = exc_->id}};
    cfg_.pool = pool();
    cfg_.udp_ports = {{kFastPort, 0}};
  }

  // Feeds one frame and polls once; returns the events.
  std::vector<io::Event> feed(DpdkDriver& d, std::string_view frame, bool at_end = false) {
    rte_mbuf* m = to_mbuf(pool(), frame, at_end);
    EXPECT_NE(m, nullptr);
    port_->put(m);
    io::Event ev[32];
    const std::size_t n = d.poll(ev, 32, 0);
    return std::vector<io::Event>(ev, ev + n);
  }

  // A frame that must be dropped: nothing sent either way, no event, counted as malformed.
  void expect_dropped(std::string_view frame) {
    DpdkDriver d(cfg_);
    EXPECT_TRUE(feed(d, frame, true).empty());
    d.flush();
    EXPECT_TRUE(port_->take().empty());
    EXPECT_TRUE(exc_->take().empty());
    EXPECT_EQ(d.stats().malformed, 1u);
  }
  void expect_exception(std::string_view frame) {
    DpdkDriver d(cfg_);
    EXPECT_TRUE(feed(d, frame, true).empty());
    EXPECT_TRUE(port_->take().empty());
    const auto got = exc_->take();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], frame);
    EXPECT_EQ(d.stats().malformed, 0u);
  }

  std::unique_ptr<RingPort> port_, exc_;
  rte_ether_addr server_mac_{};
  test::Mac mac_{};
  DriverConfig cfg_;
};

TEST(DpdkArgs, SplitLikeAShell) {
  EXPECT_EQ(split_args("  -l 0-1  --vdev 'net_tap0,iface=fe 0' a\\ b \"c d\"e"),
            (std::vector<std::string>{"-l", "0-1", "--vdev", "net_tap0,iface=fe 0", "a b", "c de"}));
  EXPECT_TRUE(split_args("").empty());
  EXPECT_THROW(split_args("--vdev 'net_tap0"), std::invalid_argument);
}

TEST_F(DpdkDriverTest, AnswersArpForOurAddress) {
  DpdkDriver d(cfg_);
  EXPECT_TRUE(feed(d, test::arp_request(kServerIp)).empty());
  const auto out = port_->take();
  ASSERT_EQ(out.size(), 1u);
  const std::string& r = out[0];
  ASSERT_GE(r.size(), 42u);
  EXPECT_EQ(r.substr(0, 6), std::string(reinterpret_cast<const char*>(test::kClientMac.data()), 6));
  EXPECT_EQ(r.substr(6, 6), std::string(reinterpret_cast<const char*>(mac_.data()), 6));
  EXPECT_EQ(get16(r, 12), 0x0806);
  EXPECT_EQ(get16(r, 20), 2);  // reply
  EXPECT_EQ(r.substr(22, 6), std::string(reinterpret_cast<const char*>(mac_.data()), 6));
  EXPECT_EQ(get32(r, 28), kServerIp);
  EXPECT_EQ(get32(r, 38), kClientIp);
  EXPECT_EQ(d.stats().arp_replies, 1u);
  EXPECT_TRUE(exc_->take().empty());

  // The sender was learnt: a datagram to it can be sent without a request to answer.
  io::Endpoint to = ipv4_peer(kClientIp, 4000);
  auto* sin = reinterpret_cast<sockaddr_in*>(&to.addr);
  EXPECT_TRUE(d.send_datagram(0, to, "hi", 2));
  d.flush();
  const auto sent = port_->take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(get16(sent[0], 34), kFastPort);
  EXPECT_EQ(get16(sent[0], 36), 4000);
  EXPECT_EQ(sent[0].substr(42), "hi");
  sin->sin_addr.s_addr = htonl(0x0a000001);  // unknown neighbour
  EXPECT_FALSE(d.send_datagram(0, to, "hi", 2));
}

TEST_F(DpdkDriverTest, ArpForOthersAndArpRepliesGoToTheKernel) {
  expect_exception(test::arp_request(0xc6120063));
  std::string reply = test::arp_request(kServerIp, mac_);
  reply[21] = 2;  // opcode: reply
  expect_exception(reply);
}

TEST_F(DpdkDriverTest, AnswersIcmpEcho) {
  for (const int vlan : {-1, 42}) {
    DpdkDriver d(cfg_);
    const std::string req = test::icmp_echo(mac_, "ping payload", vlan);
    EXPECT_TRUE(feed(d, req).empty());
    const auto out = port_->take();
    ASSERT_EQ(out.size(), 1u);
    const std::string& r = out[0];
    const std::size_t l2 = vlan >= 0 ? 18 : 14;
    ASSERT_EQ(r.size(), req.size());
    if (vlan >= 0) {
      EXPECT_EQ(get16(r, 14), 42);
    }
    EXPECT_EQ(sum16(std::string_view(r).substr(l2, 20)), 0xffff);  // IPv4 checksum valid
    EXPECT_EQ(get32(r, l2 + 12), kServerIp);
    EXPECT_EQ(get32(r, l2 + 16), kClientIp);
    EXPECT_EQ(r[l2 + 20], 0);  // echo reply
    EXPECT_EQ(sum16(std::string_view(r).substr(l2 + 20)), 0xffff);
    EXPECT_EQ(r.substr(l2 + 28), "ping payload");
    EXPECT_EQ(d.stats().icmp_replies, 1u);
  }
}

TEST_F(DpdkDriverTest, DropsBadChecksums) {
  std::string f = test::udp_frame(mac_, 4000, kFastPort, "get a\r\n");
  f[24] ^= 0x01;  // IPv4 header checksum
  expect_dropped(f);
  f = test::udp_frame(mac_, 4000, kFastPort, "get a\r\n");
  f[40] ^= 0x01;  // UDP checksum
  expect_dropped(f);
  f = test::icmp_echo(mac_, "x");
  f[f.size() - 1] ^= 0x01;  // ICMP checksum
  expect_dropped(f);
}

TEST_F(DpdkDriverTest, DropsLengthsLargerThanThePacket) {
  std::string f = test::udp_frame(mac_, 4000, kFastPort, "get a\r\n");
  std::string big_ip = f;
  test::put16(big_ip, 16, static_cast<std::uint16_t>(get16(big_ip, 16) + 1));  // IPv4 total length
  test::put16(big_ip, 24, 0);
  test::put16(big_ip, 24, static_cast<std::uint16_t>(~sum16(std::string_view(big_ip).substr(14, 20))));
  expect_dropped(big_ip);
  std::string big_udp = f;
  test::put16(big_udp, 38, static_cast<std::uint16_t>(get16(big_udp, 38) + 1));  // UDP length
  expect_dropped(big_udp);
  std::string bad_ihl = f;
  bad_ihl[14] = 0x44;  // header length 16 < 20
  expect_dropped(bad_ihl);
}

TEST_F(DpdkDriverTest, DropsDatagramsFromAddressesNoReplyMayGoTo) {
  const test::Mac m = mac_;
  for (const std::uint32_t src : {0u, 0xe0000001u, 0xffffffffu}) {
    expect_dropped(test::ethernet(m, test::kClientMac, 0x0800) +
                   test::ipv4(src, kServerIp, 17, test::udp(src, kServerIp, 4000, kFastPort, "get a\r\n")));
  }
}

TEST_F(DpdkDriverTest, TruncatedFramesNeverBecomeEvents) {
  // Every prefix of valid frames, each at the very end of its mbuf: dropped or sent to the
  // kernel, never an event reaching past the frame, never a reply.
  const std::string frames[] = {
      test::udp_frame(mac_, 4000, kFastPort, "get a\r\n"),
      test::udp_frame(mac_, 4000, kFastPort, "get a\r\n", 7),
      test::icmp_echo(mac_, "abc"),
      test::arp_request(kServerIp),
  };
  for (const std::string& full : frames) {
    for (std::size_t len = 0; len < full.size(); ++len) {
      DpdkDriver d(cfg_);
      const auto ev = feed(d, std::string_view(full).substr(0, len), true);
      EXPECT_TRUE(ev.empty()) << len;
      EXPECT_TRUE(port_->take().empty()) << len;
      exc_->take();
      EXPECT_EQ(d.stats().malformed + d.stats().exception_out, 1u) << len;
    }
  }
}

TEST_F(DpdkDriverTest, EverythingNotOursGoesToTheKernel) {
  expect_exception(test::udp_frame(mac_, 4000, kOtherPort, "dns?"));  // another UDP port
  const test::Mac m = mac_;
  expect_exception(test::ethernet(m, test::kClientMac, 0x0800) +
                   test::ipv4(kClientIp, kServerIp, 6, std::string(20, '\0')));  // TCP
  expect_exception(test::ethernet(m, test::kClientMac, 0x86dd) + std::string(60, '\0'));  // IPv6
  std::string frag = test::udp_frame(mac_, 4000, kFastPort, "get a\r\n");
  frag[20] = 0x20;  // more fragments
  test::put16(frag, 24, 0);
  test::put16(frag, 24, static_cast<std::uint16_t>(~sum16(std::string_view(frag).substr(14, 20))));
  expect_exception(frag);
  std::string other_host = test::ethernet(m, test::kClientMac, 0x0800) +
                           test::ipv4(kClientIp, 0xc6120009, 17, test::udp(kClientIp, 0xc6120009, 1, kFastPort, "x"));
  expect_exception(other_host);
}

TEST_F(DpdkDriverTest, WithoutAnExceptionPathUnownedPacketsAreDropped) {
  cfg_.ports[0].has_exception = false;
  DpdkDriver d(cfg_);
  EXPECT_TRUE(feed(d, test::udp_frame(mac_, 4000, kOtherPort, "dns?")).empty());
  EXPECT_TRUE(exc_->take().empty());
  EXPECT_EQ(d.stats().exception_dropped, 1u);
}

TEST_F(DpdkDriverTest, KernelPacketsGoOutOfThePort) {
  DpdkDriver d(cfg_);
  const std::string f = test::udp_frame(test::kClientMac, 11211, 4000, "from the kernel");
  exc_->put(to_mbuf(pool(), f));
  io::Event ev[4];
  EXPECT_EQ(d.poll(ev, 4, 0), 0u);
  const auto out = port_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], f);
  EXPECT_EQ(d.stats().exception_in, 1u);
}

TEST_F(DpdkDriverTest, DatagramEventAndReplyInTheRequestMbuf) {
  DpdkDriver d(cfg_);
  const auto ev = feed(d, test::udp_frame(mac_, 4000, kFastPort, "hello", 5));
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type, io::EventType::kDatagram);
  EXPECT_EQ(ev[0].tag, 0);
  EXPECT_EQ(std::string_view(ev[0].data, ev[0].len), "hello");
  ASSERT_NE(ev[0].peer, nullptr);
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&ev[0].peer->addr);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), kClientIp);
  EXPECT_EQ(ntohs(sin->sin_port), 4000);
  const unsigned free_before = rte_mempool_avail_count(pool());
  EXPECT_TRUE(d.send_datagram(0, *ev[0].peer, "world!", 6));
  EXPECT_EQ(rte_mempool_avail_count(pool()), free_before);  // no new mbuf: the request's was reused
  EXPECT_TRUE(d.send_datagram(0, *ev[0].peer, "second", 6));  // a second reply needs a new one
  io::Event more[4];
  EXPECT_EQ(d.poll(more, 4, 0), 0u);
  const auto out = port_->take();
  ASSERT_EQ(out.size(), 2u);
  const std::string& r = out[0];
  EXPECT_EQ(r.substr(0, 6), std::string(reinterpret_cast<const char*>(test::kClientMac.data()), 6));
  EXPECT_EQ(get16(r, 12), 0x8100);
  EXPECT_EQ(get16(r, 14), 5);
  EXPECT_EQ(sum16(std::string_view(r).substr(18, 20)), 0xffff);
  EXPECT_EQ(get32(r, 18 + 12), kServerIp);
  EXPECT_EQ(get32(r, 18 + 16), kClientIp);
  EXPECT_EQ(get16(r, 38), kFastPort);
  EXPECT_EQ(get16(r, 40), 4000);
  EXPECT_EQ(get16(r, 42), 14);
  EXPECT_EQ(r.substr(46), "world!");
  EXPECT_EQ(out[1].substr(46), "second");
}

// Two ports, each its own interface: its own MAC, address and exception path. Everything is
// answered out of the port it came in on, from that port's MAC and address.
TEST_F(DpdkDriverTest, SeveralPortsEachAnswerForTheirOwnAddress) {
  static int n = 0;
  ++n;
  RingPort port2("q" + std::to_string(n), pool());
  RingPort exc2("y" + std::to_string(n), pool());
  constexpr std::uint32_t kServerIp2 = 0xc6130002;  // 198.19.0.2
  constexpr std::uint32_t kClientIp2 = 0xc6130001;
  // (Ring ports all have the MAC 00:00:00:00:00:00 and cannot change it: the ports are told apart
  // here by their addresses.)
  rte_ether_addr mac2_addr{};
  rte_eth_macaddr_get(port2.id, &mac2_addr);
  test::Mac mac2{};
  std::memcpy(mac2.data(), mac2_addr.addr_bytes, 6);
  cfg_.ports.push_back(PortConfig{.port = port2.id, .address = kServerIp2, .has_exception = true, .exception_port = exc2.id});
  DpdkDriver d(cfg_);
  auto poll = [&d] {
    io::Event ev[32];
    const std::size_t got = d.poll(ev, 32, 0);
    return std::vector<io::Event>(ev, ev + got);
  };
  const std::string_view mac2_bytes(reinterpret_cast<const char*>(mac2.data()), 6);

  // ARP on the second port: answered there for its own address, from its own MAC; a request
  // there for the first port's address is not that port's to answer (it goes to its kernel).
  std::string arp = test::arp_request(kServerIp2);
  test::put32(arp, 28, kClientIp2);
  port2.put(to_mbuf(pool(), arp));
  port2.put(to_mbuf(pool(), test::arp_request(kServerIp)));
  EXPECT_TRUE(poll().empty());
  auto out = port2.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].substr(6, 6), mac2_bytes);
  EXPECT_EQ(get32(out[0], 28), kServerIp2);
  EXPECT_EQ(get32(out[0], 38), kClientIp2);
  EXPECT_TRUE(port_->take().empty());
  EXPECT_EQ(exc2.take().size(), 1u);
  EXPECT_TRUE(exc_->take().empty());

  // A datagram on each port in one poll: two events, each answered out of its own port.
  const std::string to2 = test::ethernet(mac2, test::kClientMac, 0x0800) +
                          test::ipv4(kClientIp2, kServerIp2, 17, test::udp(kClientIp2, kServerIp2, 4002, kFastPort, "two"));
  port2.put(to_mbuf(pool(), to2));
  port_->put(to_mbuf(pool(), test::udp_frame(mac_, 4001, kFastPort, "one")));
  const auto ev = poll();
  ASSERT_EQ(ev.size(), 2u);
  for (const io::Event& e : ev) {
    const std::string_view payload(e.data, e.len);
    ASSERT_TRUE(payload == "one" || payload == "two");
    EXPECT_EQ(peer_link(*e.peer).port, payload == "one" ? 0 : 1);
    EXPECT_TRUE(d.send_datagram(0, *e.peer, payload == "one" ? "re:one" : "re:two", 6));
  }
  d.flush();
  out = port2.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].substr(6, 6), mac2_bytes);
  EXPECT_EQ(get32(out[0], 14 + 12), kServerIp2);
  EXPECT_EQ(get32(out[0], 14 + 16), kClientIp2);
  EXPECT_EQ(get16(out[0], 36), 4002);
  EXPECT_EQ(out[0].substr(42), "re:two");
  out = port_->take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(get32(out[0], 14 + 12), kServerIp);
  EXPECT_EQ(out[0].substr(42), "re:one");

  // A peer another worker's driver received on the second port (a handed-over datagram): its
  // link names the port, so the reply leaves from it.
  io::Endpoint handed = ipv4_peer(kClientIp2, 4003);
  PeerLink link;
  link.valid = true;
  link.port = 1;
  std::memcpy(link.mac, test::kClientMac.data(), 6);
  link.our_port = htons(kFastPort);
  set_peer_link(handed, link);
  EXPECT_TRUE(d.send_datagram(0, handed, "handed", 6));
  link.port = 2;  // no such port
  set_peer_link(handed, link);
  EXPECT_FALSE(d.send_datagram(0, handed, "nowhere", 7));
  d.flush();
  out = port2.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(get32(out[0], 14 + 12), kServerIp2);
  EXPECT_EQ(out[0].substr(42), "handed");
  EXPECT_TRUE(port_->take().empty());

  // The kernel's frames from the second port's exception interface leave from the second port.
  const std::string k = test::udp_frame(test::kClientMac, 11211, 4000, "from the kernel");
  exc2.put(to_mbuf(pool(), k));
  EXPECT_TRUE(poll().empty());
  out = port2.take();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], k);
  EXPECT_TRUE(port_->take().empty());
}

TEST_F(DpdkDriverTest, PortCountIsBounded) {
  DriverConfig none = cfg_;
  none.ports.clear();
  EXPECT_THROW(DpdkDriver{none}, std::invalid_argument);
  DriverConfig many = cfg_;
  many.ports.assign(kMaxPorts + 1, cfg_.ports[0]);
  EXPECT_THROW(DpdkDriver{many}, std::invalid_argument);
}

TEST_F(DpdkDriverTest, NoReplyToSourcesThatCannotBeReal) {
  // Loopback, "nobody", multicast and broadcast sources: dropped before any protocol sees them
  // (the reflection bound itself is the worker's).
  DpdkDriver d(cfg_);
  for (const std::uint32_t src : {0x7f000001u, 0u, 0xe0000001u, 0xffffffffu}) {
    const std::string f = test::ethernet(mac_, test::kClientMac, 0x0800) +
                          test::ipv4(src, kServerIp, 17, test::udp(src, kServerIp, 4000, kFastPort, "get k\r\n"));
    EXPECT_TRUE(feed(d, f).empty());
  }
  EXPECT_EQ(d.stats().malformed, 4u);
  EXPECT_EQ(d.stats().datagrams, 0u);
  EXPECT_TRUE(exc_->take().empty());
}

TEST_F(DpdkDriverTest, StopListeningDropsFastPathDatagrams) {
  DpdkDriver d(cfg_);
  d.stop_listening();
  EXPECT_TRUE(feed(d, test::udp_frame(mac_, 4000, kFastPort, "get a\r\n")).empty());
  EXPECT_TRUE(exc_->take().empty());
}

// The real worker loop behind the driver, on its own thread, serving memcached UDP on tag 0
// and the binary protocol over UDP on tag 1.
class DpdkWorkerTest : public DpdkDriverTest {
 protected:
  static constexpr std::uint16_t kBinaryPort = 7000;

  void start_worker() {
    store::StoreConfig sc;
    sc.memory_limit = 32 << 20;
    sc.max_contexts = 2;
    store_ = std::make_unique<store::Partitions>(sc, 1);
    shared_.store = store_.get();
    shared_.worker_stats = {&stats_};
    cfg_.udp_ports = {{kFastPort, 0}, {kBinaryPort, 1}};
    thread_ = std::thread([this] {
      DpdkDriver d(cfg_);
      engine::WorkerOptions opts;
      opts.polling = engine::Polling::kBusy;
      opts.control = &control_;
      opts.services = {engine::Service::kMemcacheUdp, engine::Service::kBinaryUdp};
      engine::Services services;
      services.datagram(engine::Service::kMemcacheUdp) = engine::make_memcache_udp_handler;
      services.datagram(engine::Service::kBinaryUdp) = engine::make_binary_udp_handler;
      engine::Worker w(shared_, opts, services, d, stats_);
      ready_ = true;
      w.run(stop_, 100);
    });
    while (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Sends one datagram to `port`; returns the reply frames once `want` arrived (or after 2 s).
  std::vector<std::string> ask(std::uint16_t port, std::string_view payload, std::size_t want = 1) {
    port_->put(to_mbuf(pool(), test::udp_frame(mac_, 4000, port, payload)));
    std::vector<std::string> got;
    for (int i = 0; i < 2000 && got.size() < want; ++i) {
      for (std::string& f : port_->take()) got.push_back(std::move(f));
      if (got.size() < want) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return got;
  }
  std::vector<std::string> ask_memcache(std::uint16_t id, std::string_view text, std::size_t want = 1) {
    std::string payload(8, '\0');
    test::put16(payload, 0, id);
    test::put16(payload, 4, 1);
    payload.append(text);
    return ask(kFastPort, payload, want);
  }

  std::unique_ptr<store::Partitions> store_;
  engine::Shared shared_;
  engine::WorkerStats stats_;
  engine::WorkerControl control_;  // its hot-key sketch, read once the worker stopped
  std::atomic<bool> stop_{false}, ready_{false};
  std::thread thread_;
};

TEST_F(DpdkWorkerTest, ServesMemcacheUdp) {
  start_worker();
  auto r = ask_memcache(1, "set k 0 0 5\r\nhello\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(get16(r[0], 34), kFastPort);
  EXPECT_EQ(get16(r[0], 36), 4000);
  EXPECT_EQ(get16(r[0], 42), 1);  // request id echoed
  EXPECT_EQ(r[0].substr(50), "STORED\r\n");
  r = ask_memcache(2, "get k\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].substr(50), "VALUE k 0 5\r\nhello\r\nEND\r\n");
  // Garbage on the fast-path port is the handler's business: dropped, the loop keeps going.
  EXPECT_TRUE(ask(kFastPort, "xx", 0).empty());
  r = ask_memcache(3, "get nope\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].substr(50), "END\r\n");
  stop_ = true;
  thread_.join();
  EXPECT_EQ(stats_.datagrams_in.get(), 4);
}

TEST_F(DpdkWorkerTest, ServesSeveralBinaryRequestsPerDatagram) {
  start_worker();
  namespace wire = proto::binary;
  Buffer dgram;
  wire::begin_request_datagram(dgram, 77);
  wire::Request set;
  set.opcode = wire::Opcode::kSet;
  set.key = "key";
  set.value = "value";
  wire::encode_request(dgram, set);
  wire::Request get;
  get.opcode = wire::Opcode::kGet;
  get.key = "key";
  wire::encode_request(dgram, get);
  const auto r = ask(kBinaryPort, dgram.view());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(get16(r[0], 34), kBinaryPort);
  wire::Reassembler ra;
  ra.start(77);
  ASSERT_EQ(ra.add(std::string_view(r[0]).substr(42)), wire::Reassembler::Result::kComplete);
  std::string_view stream = ra.stream();
  wire::Reply rep;
  wire::DecodeResult d = wire::decode_reply(stream, &rep);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(rep.opcode, wire::Opcode::kSet);
  EXPECT_EQ(rep.status, wire::Status::kOk);
  stream.remove_prefix(d.size);
  d = wire::decode_reply(stream, &rep);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(rep.opcode, wire::Opcode::kGet);
  EXPECT_EQ(rep.status, wire::Status::kOk);
  EXPECT_EQ(rep.value, "value");
  EXPECT_EQ(stream.size(), d.size);
}

// The fast path feeds the hot-key sketch (ferritectl keys hot) like every other listener: the
// binary protocol's GETs and memcached's multi-get keys.
TEST_F(DpdkWorkerTest, KeysOfTheFastPathFeedTheHotKeySketch) {
  start_worker();
  namespace wire = proto::binary;
  for (std::uint16_t i = 0; i < 200; ++i) {
    Buffer dgram;
    wire::begin_request_datagram(dgram, i);
    wire::Request get;
    get.opcode = wire::Opcode::kGet;
    get.key = "hot:dpdk:binary";
    wire::encode_request(dgram, get);
    ASSERT_EQ(ask(kBinaryPort, dgram.view()).size(), 1u) << i;
    ASSERT_EQ(ask_memcache(i, "get cool hot:dpdk:memcache\r\n").size(), 1u) << i;
  }
  stop_ = true;
  thread_.join();
  std::vector<engine::HotKeys::Entry> hot;
  control_.hot.snapshot(&hot);
  std::uint64_t binary = 0, memcache = 0;
  for (const auto& e : hot) {
    if (e.key == "hot:dpdk:binary") binary = e.count;
    if (e.key == "hot:dpdk:memcache") memcache = e.count;
  }
  // 200 requests each, one in 8 sampled: about 200 each (scaled back); 0 if not fed.
  EXPECT_GT(binary, 80u);
  EXPECT_GT(memcache, 80u);
}

TEST_F(DpdkWorkerTest, LargeRepliesAreSplitWithinTheReflectionBound) {
  start_worker();
  const std::string value(1800, 'v');
  auto r = ask_memcache(1, "set big 0 0 1800\r\n" + value + "\r\n");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].substr(50), "STORED\r\n");
  // 1.8 KB for a 45-byte request: more than 3 times its size, so nothing goes back.
  EXPECT_TRUE(ask_memcache(2, "get big\r\n", 1).empty());
  // The same reply to a request a third of its size is sent, cut into two datagrams.
  const std::string pad(600, 'p');
  r = ask_memcache(3, "set pad 0 0 600\r\n" + pad + "\r\nget big\r\n", 2);
  ASSERT_EQ(r.size(), 2u);
  std::string whole;
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(get16(r[i], 42), 3);   // request id
    EXPECT_EQ(get16(r[i], 44), i);   // sequence
    EXPECT_EQ(get16(r[i], 46), 2);   // datagrams in the reply
    EXPECT_EQ(get16(r[i], 16), r[i].size() - 14);  // IPv4 total length matches the frame
    whole += r[i].substr(50);
  }
  EXPECT_EQ(whole, "STORED\r\nVALUE big 0 1800\r\n" + value + "\r\nEND\r\n");
}

TEST_F(DpdkWorkerTest, SendersInTheAllowListAreNotBounded) {
  ASSERT_EQ(parse_ipv4_prefixes("10.0.0.0/8, 198.18.0.0/24", &shared_.settings.udp_allow), "");
  start_worker();
  const std::string value(1800, 'v');
  auto r = ask_memcache(1, "set big 0 0 1800\r\n" + value + "\r\n");
  ASSERT_EQ(r.size(), 1u);
  r = ask_memcache(2, "get big\r\n", 2);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(stats_.udp_reflection_drops.get(), 0);
}

}  // namespace
}  // namespace ferrite::dpdk
