// ferrite-bench: drives a memcached-text, RESP or Ferrite-binary server with a configurable
// GET/SET workload (over RESP also MULTI/INCR/EXEC transactions or HSET/HGET of hashes) and
// reports throughput, hit ratio, errors and latency percentiles.
// See `ferrite-bench --help`, bench/kernel/side_by_side.sh and bench/kernel/resp_types.sh.
#include <netdb.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "core/buffer.h"
#include "load.h"
#include "options.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"
#include "report.h"

namespace ferrite::bench {
namespace {

// Splits "host:port" / "[v6]:port" / "host" and resolves it; empty on success, else the error.
std::string resolve(const std::string& server, Protocol proto, sockaddr_storage& addr, socklen_t& len) {
  std::string host = server;
  std::string port = default_port(proto);
  if (!host.empty() && host[0] == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string::npos) return "bad address '" + server + "'";
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return "bad address '" + server + "'";
      port = host.substr(close + 2);
    }
    host = host.substr(1, close - 1);
  } else if (const std::size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = proto == Protocol::kBinaryUdp ? SOCK_DGRAM : SOCK_STREAM;
  addrinfo* res = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return "cannot resolve '" + server + "': " + gai_strerror(rc);
  }
  std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  return {};
}

// One blocking TCP connect with a timeout, so that a wrong address fails at once and clearly.
std::string probe(const sockaddr_storage& addr, socklen_t len, double timeout_s) {
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string err;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS) {
      err = std::strerror(errno);
    } else {
      pollfd p{fd, POLLOUT, 0};
      const int n = poll(&p, 1, static_cast<int>(timeout_s * 1000));
      if (n <= 0) {
        err = "connect timed out";
      } else {
        int so = 0;
        socklen_t sl = sizeof so;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl);
        if (so != 0) err = std::strerror(so);
      }
    }
  }
  close(fd);
  return err;
}

// One NOOP datagram and its answer, so that a UDP run against nothing fails at once.
std::string probe_udp(const sockaddr_storage& addr, socklen_t len, double timeout_s) {
  namespace bin = proto::binary;
  const int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string err;
  Buffer out;
  bin::begin_request_datagram(out, 0xFFFF);
  bin::encode_request(out, bin::Request{.opcode = bin::Opcode::kNoop, .request_id = 1});
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 ||
      send(fd, out.data(), out.size(), 0) < 0) {
    err = std::strerror(errno);
  } else {
    pollfd p{fd, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(timeout_s * 1000));
    char buf[2048];
    const ssize_t got = n > 0 ? recv(fd, buf, sizeof buf, 0) : -1;
    bin::Frame f;
    bin::Reply r;
    if (n <= 0) {
      err = "no reply to a NOOP datagram within --timeout";
    } else if (got < 0) {
      err = std::strerror(errno);
    } else if (!bin::decode_frame({buf, static_cast<std::size_t>(got)}, &f) || f.datagram_id != 0xFFFF ||
               !bin::decode_reply(
                    std::string_view(buf, static_cast<std::size_t>(got)).substr(bin::kFrameSize), &r)
                    .ok() ||
               r.opcode != bin::Opcode::kNoop || r.request_id != 1) {
      err = "the reply to a NOOP datagram is not a binary-protocol NOOP reply";
    }
  }
  close(fd);
  return err;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int run(const Options& o) {
  LoadConfig cfg;
  if (std::string err = resolve(o.server, o.protocol, cfg.addr, cfg.addr_len); !err.empty()) {
    std::fprintf(stderr, "ferrite-bench: %s\n", err.c_str());
    return 1;
  }
  std::unique_ptr<Codec> codec;
  switch (o.protocol) {
    case Protocol::kMemcache:
      codec = make_memcache_codec();
      break;
    case Protocol::kResp:
      codec = make_resp_codec();
      break;
    case Protocol::kBinary:
    case Protocol::kBinaryUdp:
      codec = make_binary_codec();
      break;
  }
  cfg.udp = o.protocol == Protocol::kBinaryUdp;
  cfg.udp_max_datagram = o.udp_datagram;
  const std::string err =
      cfg.udp ? probe_udp(cfg.addr, cfg.addr_len, o.timeout) : probe(cfg.addr, cfg.addr_len, o.timeout);
  if (!err.empty()) {
    std::fprintf(stderr, "ferrite-bench: cannot connect to %s: %s\n", o.server.c_str(), err.c_str());
    return 1;
  }
  cfg.connections = o.connections;
  cfg.threads = o.threads;
  cfg.pipeline = o.pipeline;
  cfg.preload_pipeline = o.preload_pipeline;
  cfg.keys = o.keys;
  cfg.key_size = o.key_size;
  cfg.value_size = o.value_size;
  cfg.zipf = o.zipf;
  cfg.theta = o.theta;
  cfg.set_fraction = o.set_fraction;
  cfg.workload = o.workload;
  cfg.rate = o.rate;
  cfg.timeout_s = o.timeout;
  cfg.seed = o.seed;

  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t t = 0; t < o.threads; ++t) workers.push_back(std::make_unique<Worker>(cfg, *codec, t));
  const auto run_all = [&](auto&& body) {
    std::vector<std::thread> threads;
    for (std::uint32_t t = 0; t < o.threads; ++t) threads.emplace_back([&, t] { body(t, *workers[t]); });
    for (auto& th : threads) th.join();
  };
  const auto sec = [](double s) { return static_cast<std::uint64_t>(s * 1e9); };

  Result r;
  r.depth = workers.front()->run_depth();
  if (cfg.udp && r.depth < o.pipeline) {
    std::fprintf(stderr,
                 "ferrite-bench: %u requests per datagram (--pipeline %u do not fit in --udp-datagram %zu)\n",
                 r.depth, o.pipeline, o.udp_datagram);
  }
  if (o.preload) {
    const std::uint64_t t0 = now_ns();
    const std::uint64_t deadline = t0 + sec(o.time_limit);
    run_all([&](std::uint32_t t, Worker& w) {
      w.preload(o.keys * t / o.threads, o.keys * (t + 1) / o.threads, deadline);
    });
    r.preload_s = static_cast<double>(now_ns() - t0) / 1e9;
    for (auto& w : workers) r.preload.add(w->preload_stats());
  }

  if (!(o.requests_given && o.requests == 0)) {
    r.ran = true;
    Schedule s;
    s.start_ns = now_ns() + 1000000;  // 1 ms for the threads to start
    s.measure_ns = s.start_ns + sec(o.warmup_time);
    s.end_ns = o.duration > 0 ? s.measure_ns + sec(o.duration) : 0;
    const std::uint64_t bound = o.duration > 0 ? sec(o.warmup_time + o.duration + 2 * o.timeout + 1) : 0;
    s.deadline_ns = s.start_ns + (bound != 0 && bound < sec(o.time_limit) ? bound : sec(o.time_limit));
    const double cpu0 = cpu_seconds();
    const std::uint64_t wall0 = now_ns();
    run_all([&](std::uint32_t t, Worker& w) {
      Schedule mine = s;
      if (o.requests_given) mine.quota = o.requests / o.threads + (t < o.requests % o.threads ? 1 : 0);
      w.run(mine);
    });
    r.run_wall_s = static_cast<double>(now_ns() - wall0) / 1e9;
    r.client_cpu_s = cpu_seconds() - cpu0;
    for (auto& w : workers) r.run.add(w->run_stats());
    if (r.run.last_ns > s.measure_ns) r.measured_s = static_cast<double>(r.run.last_ns - s.measure_ns) / 1e9;
  }

  if (o.json) {
    print_json(stdout, o, r);
  } else {
    print_table(stdout, o, r);
  }
  std::fflush(stdout);
  const bool bad = r.run.aborted || r.preload.aborted || r.run.errors() != 0 || r.preload.errors() != 0;
  return bad ? 3 : 0;
}

}  // namespace
}  // namespace ferrite::bench

int main(int argc, char** argv) {
  ferrite::bench::Options o;
  if (const int rc = ferrite::bench::parse_options(argc, argv, o); rc >= 0) return rc;
  return ferrite::bench::run(o);
}
