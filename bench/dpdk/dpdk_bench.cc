// ferrite-dpdk-bench: the real worker loop (DPDK driver + the binary protocol's UDP handler +
// the store) on one lcore, fed by an in-process generator on another through a ring-backed port
// (net_ring): Ethernet/IPv4/UDP frames carrying one binary-protocol request each, 95:5 GET:SET
// over 1M keys of 16 bytes with 32-byte values (all present: loaded first through the same loop).
// The same loop then runs with the key-value work replaced by an echo of the request datagram:
// the packet-I/O ceiling of this set-up.
//
//   ferrite-dpdk-bench [--seconds=N] [--keys=N] [--burst=N] [--eal="EAL args"]
//
// Measured in batches: the generator prepares 4096 frames, puts them on the RX ring at once and
// takes the TSC time until the worker has turned all of them into replies (it only reads the TX
// ring's count meanwhile, so the time is the worker core's). Prints Mops/s per worker core and
// cycles per request from the median batch (and the best one), ending with
//   kv_mops_per_core=X echo_mops_per_core=Y
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/buffer.h"
#include "core/rng.h"
#include "dpdk_driver.h"
#include "engine/binary/binary.h"
#include "engine/session.h"
#include "engine/worker.h"
#include "frames.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::dpdk {
namespace {

namespace wire = proto::binary;

constexpr std::uint16_t kPort = 7000;
constexpr std::size_t kKeyLen = 16;
constexpr std::size_t kValueLen = 32;
constexpr unsigned kBurst = 32;
constexpr unsigned kBatch = 4096;  // requests put on the RX ring at once

struct Options {
  double seconds = 3;
  std::uint64_t keys = 1'000'000;
  unsigned burst = 32;  // the driver's RX burst (frames per worker loop iteration, at most)
  std::string eal;
};

// The echo: the request datagram back as the reply (the packet path without the key-value work).
class Echo final : public engine::DatagramHandler {
 public:
  void on_datagram(std::string_view in, engine::DatagramOut& out, engine::Exec& /*ex*/) override {
    out.buf.append(in);
    out.end_datagram();
  }
};
std::unique_ptr<engine::DatagramHandler> make_echo() { return std::make_unique<Echo>(); }

void format_key(std::uint64_t id, char* out) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  out[0] = 'k';
  for (int i = 15; i >= 1; --i) {
    out[i] = kHex[id & 0xF];
    id >>= 4;
  }
}

// A request frame template with its key at `key_at`.
struct Template {
  std::string frame;
  std::size_t key_at = 0;
};

Template make_template(const test::Mac& server_mac, wire::Opcode op) {
  Buffer dgram;
  wire::begin_request_datagram(dgram, 0);
  const std::string key(kKeyLen, 'k');
  const std::string value(kValueLen, 'v');
  wire::Request r;
  r.opcode = op;
  r.key = key;
  if (op == wire::Opcode::kSet) r.value = value;
  wire::encode_request(dgram, r);
  const std::string payload(dgram.view());
  Template t;
  t.frame = test::ethernet(server_mac, test::kClientMac, 0x0800) +
            test::ipv4(test::kClientIp, test::kServerIp, 17,
                       test::udp(test::kClientIp, test::kServerIp, 40000, kPort, payload, false));
  t.key_at = t.frame.size() - payload.size() + payload.find(key);
  return t;
}

struct Run {
  Options opt;
  rte_mempool* pool = nullptr;
  rte_ring* rx = nullptr;  // frames to the worker
  rte_ring* tx = nullptr;  // frames from the worker
  std::uint16_t port = 0;
  engine::Shared* shared = nullptr;
  engine::WorkerStats* stats = nullptr;
  bool echo = false;
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
};

int worker_main(void* arg) {
  Run& r = *static_cast<Run*>(arg);
  DriverConfig dc;
  dc.ports = {PortConfig{.port = r.port, .address = test::kServerIp}};
  dc.pool = r.pool;
  dc.udp_ports = {{kPort, 0}};
  dc.burst = r.opt.burst;
  DpdkDriver driver(dc);
  engine::WorkerOptions opts;
  opts.polling = engine::Polling::kBusy;
  opts.services = {engine::Service::kBinaryUdp};
  engine::Services services;
  services.datagram(engine::Service::kBinaryUdp) = r.echo ? make_echo : engine::make_binary_udp_handler;
  engine::Worker w(*r.shared, opts, services, driver, *r.stats);
  r.ready = true;
  w.run(r.stop, 100);
  return 0;
}

struct Result {
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;
  std::uint64_t gets = 0;
  std::vector<double> batch_cycles;  // worker cycles per request, one entry per batch
  double median() const {
    std::vector<double> v = batch_cycles;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  }
  double best() const { return *std::min_element(batch_cycles.begin(), batch_cycles.end()); }
};

// Takes the worker's replies, checks the GET replies' status, frees them.
void take_replies(Run& r, unsigned want, Result& res) {
  void* done[kBurst];
  for (unsigned got = 0; got < want;) {
    const unsigned n = rte_ring_dequeue_burst(r.tx, done, kBurst, nullptr);
    for (unsigned i = 0; i < n; ++i) {
      auto* m = static_cast<rte_mbuf*>(done[i]);
      // Ethernet + IPv4 + UDP (42) + datagram frame (8) + reply header: opcode at +2, status at +6.
      const auto* p = rte_pktmbuf_mtod(m, const std::uint8_t*);
      if (rte_pktmbuf_data_len(m) >= 50 + wire::kHeaderSize && p[50] == wire::kReplyMagic &&
          p[50 + 2] == static_cast<std::uint8_t>(wire::Opcode::kGet)) {
        ++res.gets;
        if (p[50 + 6] == 0 && p[50 + 7] == 0) ++res.hits;
      }
    }
    if (n > 0) rte_pktmbuf_free_bulk(reinterpret_cast<rte_mbuf**>(done), n);
    got += n;
  }
}

// Fills `bufs` with requests: SET of keys first, next_key.. (load), or the 95:5 GET:SET mix.
bool fill(Run& r, rte_mbuf** bufs, unsigned n, const Template& get, const Template& set, bool load,
          std::uint64_t& next_key, Rng& rng) {
  if (rte_pktmbuf_alloc_bulk(r.pool, bufs, n) != 0) return false;
  for (unsigned i = 0; i < n; ++i) {
    const Template* t = &set;
    std::uint64_t key = 0;
    if (load) {
      key = next_key++ % r.opt.keys;
    } else {
      const std::uint64_t x = rng.next();
      t = (x % 100) < 5 ? &set : &get;
      key = (x >> 8) % r.opt.keys;
    }
    char* p = rte_pktmbuf_append(bufs[i], static_cast<std::uint16_t>(t->frame.size()));
    std::memcpy(p, t->frame.data(), t->frame.size());
    format_key(key, p + t->key_at);
  }
  return true;
}

// Loads every key (streaming), then measures batches: kBatch prepared frames are put on the RX
// ring at once and the worker's time to turn all of them into replies is taken from the TSC. The
// generator only watches the TX ring's count meanwhile, so the figure is the worker core's own
// (the median batch filters out the batches during which the scheduler took the core away).
Result generate(Run& r, const Template& get, const Template& set, bool load, double seconds) {
  Rng rng(42);
  std::uint64_t next_key = 0;
  Result res;
  std::vector<rte_mbuf*> bufs(kBatch);
  if (load) {
    std::uint64_t sent = 0;
    while (sent < r.opt.keys) {
      const unsigned n = static_cast<unsigned>(std::min<std::uint64_t>(kBatch, r.opt.keys - sent));
      while (!fill(r, bufs.data(), n, get, set, true, next_key, rng)) rte_pause();
      if (rte_ring_enqueue_bulk(r.rx, reinterpret_cast<void**>(bufs.data()), n, nullptr) != n) {
        throw std::runtime_error("the RX ring is too small");
      }
      take_replies(r, n, res);
      sent += n;
    }
    res = Result{};
  }
  const std::uint64_t hz = rte_get_tsc_hz();
  const std::uint64_t end = rte_rdtsc() + static_cast<std::uint64_t>(seconds * static_cast<double>(hz));
  while (rte_rdtsc() < end) {
    while (!fill(r, bufs.data(), kBatch, get, set, false, next_key, rng)) rte_pause();
    const std::uint64_t t0 = rte_rdtsc();
    if (rte_ring_enqueue_bulk(r.rx, reinterpret_cast<void**>(bufs.data()), kBatch, nullptr) != kBatch) {
      throw std::runtime_error("the RX ring is too small");
    }
    while (rte_ring_count(r.tx) < kBatch) rte_pause();
    const std::uint64_t t1 = rte_rdtsc();
    res.batch_cycles.push_back(static_cast<double>(t1 - t0) / kBatch);
    take_replies(r, kBatch, res);
    res.requests += kBatch;
  }
  r.stop = true;
  return res;
}

Result run_once(Run& r, const Template& get, const Template& set, bool echo, bool load) {
  r.echo = echo;
  r.stop = false;
  r.ready = false;
  const unsigned worker_lcore = rte_get_next_lcore(rte_lcore_id(), 1, 0);
  if (worker_lcore >= RTE_MAX_LCORE) throw std::runtime_error("two lcores needed (EAL -l 0,1)");
  if (rte_eal_remote_launch(worker_main, &r, worker_lcore) != 0) throw std::runtime_error("cannot launch the worker");
  while (!r.ready) rte_pause();
  Result res = generate(r, get, set, load, r.opt.seconds);
  rte_eal_wait_lcore(worker_lcore);
  void* obj = nullptr;
  while (rte_ring_dequeue(r.tx, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  while (rte_ring_dequeue(r.rx, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  return res;
}

// Mops/s per worker core from the median batch's cycles per request.
double mops(const Result& res) { return static_cast<double>(rte_get_tsc_hz()) / res.median() / 1e6; }

void report(const char* name, const Result& res, bool kv) {
  std::printf("%-5s %8.3f Mops/s per worker core  %6.0f cycles/request (median of %zu batches of %u; best %.0f)  %llu requests",
              name, mops(res), res.median(), res.batch_cycles.size(), kBatch, res.best(),
              static_cast<unsigned long long>(res.requests));
  if (kv && res.gets > 0) {
    std::printf(", GET hits %.1f%%", 100.0 * static_cast<double>(res.hits) / static_cast<double>(res.gets));
  }
  std::printf("\n");
}

int run(int argc, char** argv) {
  Options opt;
  opt.eal = "--no-huge --no-pci -m 512 --no-shconf -l 0,1 --log-level=error --file-prefix=ferrite-bench-" +
            std::to_string(getpid());
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--seconds=", 0) == 0) {
      opt.seconds = std::atof(a.c_str() + 10);
    } else if (a.rfind("--keys=", 0) == 0) {
      opt.keys = std::strtoull(a.c_str() + 7, nullptr, 10);
    } else if (a.rfind("--burst=", 0) == 0) {
      opt.burst = static_cast<unsigned>(std::strtoul(a.c_str() + 8, nullptr, 10));
    } else if (a.rfind("--eal=", 0) == 0) {
      opt.eal = a.substr(6);
    } else {
      std::fprintf(stderr, "usage: %s [--seconds=N] [--keys=N] [--burst=N] [--eal=\"EAL args\"]\n", argv[0]);
      return 2;
    }
  }
  if (opt.seconds <= 0 || opt.keys == 0 || opt.burst == 0 || opt.burst > 256) {
    std::fprintf(stderr, "--seconds and --keys must be positive, --burst 1..256\n");
    return 2;
  }
  init_eal(opt.eal);

  Run r;
  r.opt = opt;
  r.pool = create_pool("bench_pool", 16383, static_cast<int>(rte_socket_id()));
  r.rx = rte_ring_create("bench_rx", 8192, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  r.tx = rte_ring_create("bench_tx", 8192, static_cast<int>(rte_socket_id()), RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (r.rx == nullptr || r.tx == nullptr) throw std::runtime_error("cannot create the rings");
  const int port = rte_eth_from_rings("bench_port", &r.rx, 1, &r.tx, 1, static_cast<unsigned>(rte_socket_id()));
  if (port < 0) throw std::runtime_error("cannot create the ring port");
  r.port = static_cast<std::uint16_t>(port);
  setup_port(r.port, 1, r.pool, 1024, 1024);
  rte_ether_addr mac{};
  rte_eth_macaddr_get(r.port, &mac);
  test::Mac server_mac{};
  std::memcpy(server_mac.data(), mac.addr_bytes, 6);
  const Template get = make_template(server_mac, wire::Opcode::kGet);
  const Template set = make_template(server_mac, wire::Opcode::kSet);

  store::StoreConfig sc;
  sc.memory_limit = std::size_t{512} << 20;
  sc.max_contexts = 2;
  store::Partitions st(sc, 1);
  engine::Shared shared;
  shared.store = &st;
  engine::WorkerStats stats;
  shared.worker_stats.push_back(&stats);
  shared.settings.udp_reply_factor = 0;  // the generator is trusted (and replies are small anyway)
  r.shared = &shared;
  r.stats = &stats;

  std::printf("ferrite-dpdk-bench: worker on lcore %u, generator on lcore %u, %llu keys (16 B), 32 B values, "
              "95:5 GET:SET, one request per datagram, batches of %u, RX burst %u, TSC %.2f GHz\n",
              rte_get_next_lcore(rte_lcore_id(), 1, 0), rte_lcore_id(), static_cast<unsigned long long>(opt.keys),
              kBatch, opt.burst, static_cast<double>(rte_get_tsc_hz()) / 1e9);
  const Result kv = run_once(r, get, set, false, true);
  report("kv", kv, true);
  const Result echo = run_once(r, get, set, true, false);
  report("echo", echo, false);
  const double x = mops(kv);
  const double y = mops(echo);
  std::printf("kv/echo = %.2f\n", x / y);
  std::printf("kv_mops_per_core=%.3f echo_mops_per_core=%.3f\n", x, y);
  std::fflush(stdout);
  rte_eal_mp_wait_lcore();
  return 0;
}

}  // namespace
}  // namespace ferrite::dpdk

int main(int argc, char** argv) {
  try {
    return ferrite::dpdk::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferrite-dpdk-bench: %s\n", e.what());
    return 1;
  }
}
