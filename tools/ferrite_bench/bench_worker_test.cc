// ferrite-bench's load loop against scripted loopback servers: a correct one, one that never
// answers, one that answers garbage or wrong values, none at all, and a binary-protocol UDP server
// that splits its replies and loses datagrams.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "load.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"

namespace ferrite::bench {
namespace {

namespace bin = proto::binary;

// A loopback TCP server on a thread: each connection's bytes go to `respond`, which returns
// what to send back (it may keep state per connection in the string it is handed).
class ScriptedServer {
 public:
  using Respond = std::function<std::string(std::string& pending)>;

  explicit ScriptedServer(Respond respond) : respond_(std::move(respond)) {
    lfd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(lfd_, 128), 0);
    socklen_t len = sizeof addr_;
    getsockname(lfd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, _] : conns_) close(fd);
    close(lfd_);
  }

  void fill(LoadConfig& cfg) const {
    std::memcpy(&cfg.addr, &addr_, sizeof addr_);
    cfg.addr_len = sizeof addr_;
  }

 private:
  void serve() {
    while (!stop_) {
      std::vector<pollfd> fds{{lfd_, POLLIN, 0}};
      for (auto& [fd, _] : conns_) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 10) <= 0) continue;
      if (fds[0].revents & POLLIN) conns_[accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC)] = {};
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[65536];
        const ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          close(fds[i].fd);
          conns_.erase(fds[i].fd);
          continue;
        }
        std::string& pending = conns_[fds[i].fd];
        pending.append(buf, static_cast<std::size_t>(n));
        const std::string out = respond_(pending);
        if (!out.empty()) send(fds[i].fd, out.data(), out.size(), MSG_NOSIGNAL);
      }
    }
  }

  Respond respond_;
  int lfd_ = -1;
  sockaddr_in addr_{};
  std::map<int, std::string> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A tiny memcached: get/set only, in memory.
std::string mini_memcached(std::map<std::string, std::string>& kv, std::string& in) {
  std::string out;
  for (;;) {
    const std::size_t eol = in.find("\r\n");
    if (eol == std::string::npos) break;
    const std::string line = in.substr(0, eol);
    if (line.starts_with("get ")) {
      const std::string key = line.substr(4);
      if (auto it = kv.find(key); it != kv.end()) {
        out += "VALUE " + key + " 0 " + std::to_string(it->second.size()) + "\r\n" + it->second + "\r\n";
      }
      out += "END\r\n";
      in.erase(0, eol + 2);
    } else if (line.starts_with("set ")) {
      const std::size_t sp1 = line.find(' ', 4);
      const std::size_t bytes = std::stoul(line.substr(line.rfind(' ') + 1));
      if (in.size() < eol + 2 + bytes + 2) break;
      kv[line.substr(4, sp1 - 4)] = in.substr(eol + 2, bytes);
      out += "STORED\r\n";
      in.erase(0, eol + 2 + bytes + 2);
    } else {
      out += "ERROR\r\n";
      in.erase(0, eol + 2);
    }
  }
  return out;
}

LoadConfig small_config() {
  LoadConfig cfg;
  cfg.connections = 4;
  cfg.threads = 1;
  cfg.pipeline = 4;
  cfg.keys = 200;
  cfg.key_size = 8;
  cfg.value_size = 20;
  cfg.timeout_s = 2;  // generous: a loaded test machine must not turn slow replies into errors
  return cfg;
}

Schedule requests_schedule(std::uint64_t quota, double limit_s) {
  Schedule s;
  s.start_ns = now_ns();
  s.measure_ns = s.start_ns;
  s.quota = quota;
  s.deadline_ns = s.start_ns + static_cast<std::uint64_t>(limit_s * 1e9);
  return s;
}

TEST(Worker, PreloadThenMixAgainstACorrectServerCountsEverything) {
  std::map<std::string, std::string> kv;
  ScriptedServer server([&](std::string& in) { return mini_memcached(kv, in); });
  LoadConfig cfg = small_config();
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  w.preload(0, cfg.keys, now_ns() + 5000000000ull);
  EXPECT_EQ(w.preload_stats().sets, cfg.keys);
  EXPECT_EQ(w.preload_stats().errors(), 0u);
  w.run(requests_schedule(5000, 10));
  const Stats& s = w.run_stats();
  EXPECT_EQ(s.ops, 5000u);
  EXPECT_EQ(s.gets + s.sets, 5000u);
  EXPECT_EQ(s.hits, s.gets);  // every key was preloaded
  EXPECT_EQ(s.errors(), 0u) << s.first_error;
  EXPECT_EQ(s.latency.count(), 5000u);
  EXPECT_GT(s.sets, 0u);
  EXPECT_FALSE(s.aborted);
}

TEST(Worker, OpenLoopSendsAtTheOfferedRate) {
  std::map<std::string, std::string> kv;
  ScriptedServer server([&](std::string& in) { return mini_memcached(kv, in); });
  LoadConfig cfg = small_config();
  cfg.rate = 2000;
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  Schedule s;
  s.start_ns = now_ns();
  s.measure_ns = s.start_ns;
  s.end_ns = s.start_ns + 500000000;  // 0.5 s at 2000/s: 1000 requests
  s.deadline_ns = s.end_ns + 2000000000;
  w.run(s);
  EXPECT_NEAR(static_cast<double>(w.run_stats().ops), 1000.0, 2.0);
  EXPECT_EQ(w.run_stats().errors(), 0u) << w.run_stats().first_error;
  EXPECT_EQ(w.run_stats().send_lag.count(), w.run_stats().ops);
}

TEST(Worker, SilentServerTimesOutSoonAfterTheEnd) {
  ScriptedServer server([](std::string& in) {
    in.clear();
    return std::string();
  });
  LoadConfig cfg = small_config();
  cfg.timeout_s = 0.3;
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  Schedule sched;
  sched.start_ns = now_ns();
  sched.measure_ns = sched.start_ns;
  sched.end_ns = sched.start_ns + 500000000;         // 0.5 s of traffic
  sched.deadline_ns = sched.start_ns + 10000000000;  // far away: the timeout must end the drain
  w.run(sched);
  const double took = static_cast<double>(now_ns() - sched.start_ns) / 1e9;
  const Stats& s = w.run_stats();
  EXPECT_EQ(s.ops, 0u);
  EXPECT_GT(s.err_timeout, 0u);
  EXPECT_LT(took, 1.5);
  EXPECT_FALSE(s.aborted);
  EXPECT_NE(s.first_error.find("timeout"), std::string::npos) << s.first_error;
}

TEST(Worker, TimeLimitBoundsARequestCountThatCannotBeReached) {
  ScriptedServer server([](std::string& in) {
    in.clear();
    return std::string();
  });
  LoadConfig cfg = small_config();
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  const std::uint64_t t0 = now_ns();
  w.run(requests_schedule(100000, 1));
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 1.5);
  EXPECT_TRUE(w.run_stats().aborted);
  EXPECT_EQ(w.run_stats().ops, 0u);
}

TEST(Worker, GarbledRepliesAreErrorsAndTheConnectionIsReset) {
  std::atomic<int> replies{0};
  ScriptedServer server([&](std::string& in) {
    std::string out;
    std::size_t eol;
    while ((eol = in.find("\r\n")) != std::string::npos) {
      in.erase(0, eol + 2);
      out += (++replies % 10 == 0) ? "WHAT\r\n" : "END\r\n";
    }
    return out;
  });
  LoadConfig cfg = small_config();
  cfg.set_fraction = 0;  // GETs only, each a single line
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  w.run(requests_schedule(500, 10));
  const Stats& s = w.run_stats();
  EXPECT_GT(s.err_bad, 0u);
  EXPECT_GT(s.connects, cfg.connections);  // reconnected after resets
  EXPECT_EQ(s.hits, 0u);
  EXPECT_GT(s.misses, 0u);
  EXPECT_NE(s.first_error.find("WHAT"), std::string::npos) << s.first_error;
}

TEST(Worker, WrongValuesAreCounted) {
  ScriptedServer server([](std::string& in) {
    std::string out;
    std::size_t eol;
    while ((eol = in.find("\r\n")) != std::string::npos) {
      const std::string key = in.substr(4, eol - 4);
      in.erase(0, eol + 2);
      out += "VALUE " + key + " 0 20\r\nxxxxxxxxxxxxxxxxxxxx\r\nEND\r\n";
    }
    return out;
  });
  LoadConfig cfg = small_config();
  cfg.set_fraction = 0;
  server.fill(cfg);
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  w.run(requests_schedule(200, 10));
  EXPECT_EQ(w.run_stats().err_value, 200u);
  EXPECT_EQ(w.run_stats().ops, 0u);
}

TEST(Worker, NoServerGivesUpAfterTheTimeout) {
  LoadConfig cfg = small_config();
  cfg.timeout_s = 0.3;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(1);  // nothing listens on port 1
  std::memcpy(&cfg.addr, &a, sizeof a);
  cfg.addr_len = sizeof a;
  auto codec = make_memcache_codec();
  Worker w(cfg, *codec, 0);
  const std::uint64_t t0 = now_ns();
  w.run(requests_schedule(100, 5));
  EXPECT_TRUE(w.run_stats().aborted);
  EXPECT_GT(w.run_stats().connect_failures, 0u);
  EXPECT_LT(static_cast<double>(now_ns() - t0) / 1e9, 2.0);
}

// A loopback UDP server speaking the binary protocol over a map; replies are cut into datagrams
// of at most 200 bytes and sent in reverse order (so the client must reassemble), and every
// `drop_every`-th request datagram is ignored (0 = none).
class UdpServer {
 public:
  explicit UdpServer(int drop_every) : drop_every_(drop_every) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof addr_;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
    thread_ = std::thread([this] { serve(); });
  }
  ~UdpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  void fill(LoadConfig& cfg) const {
    std::memcpy(&cfg.addr, &addr_, sizeof addr_);
    cfg.addr_len = sizeof addr_;
  }

 private:
  void serve() {
    std::map<std::string, std::string> kv;
    std::vector<char> buf(65536);
    int seen = 0;
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      sockaddr_in from{};
      socklen_t flen = sizeof from;
      const ssize_t n = recvfrom(fd_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &flen);
      bin::Frame f;
      if (n <= 0 || !bin::decode_frame({buf.data(), static_cast<std::size_t>(n)}, &f)) continue;
      if (drop_every_ != 0 && ++seen % drop_every_ == 0) continue;
      std::string_view in(buf.data() + bin::kFrameSize, static_cast<std::size_t>(n) - bin::kFrameSize);
      Buffer stream;
      std::vector<std::uint32_t> reply_ends;
      bin::Request r;
      for (bin::DecodeResult d; (d = bin::decode_request(in, &r)).ok(); in.remove_prefix(d.size)) {
        bin::Reply rep{.opcode = r.opcode, .request_id = r.request_id};
        if (r.opcode == bin::Opcode::kSet) {
          kv[std::string(r.key)] = std::string(r.value);
        } else if (auto it = kv.find(std::string(r.key)); it != kv.end()) {
          rep.value = it->second;
        } else {
          rep.status = bin::Status::kNotFound;
        }
        bin::encode_reply(stream, rep);
        reply_ends.push_back(static_cast<std::uint32_t>(stream.size()));
      }
      Buffer out;
      std::vector<std::uint32_t> ends;
      const std::size_t count = bin::split_replies(stream.view(), reply_ends, 200, f.datagram_id, out, ends);
      for (std::size_t i = count; i-- > 0;) {
        const std::uint32_t b = i == 0 ? 0 : ends[i - 1];
        sendto(fd_, out.data() + b, ends[i] - b, 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    }
  }

  int drop_every_;
  int fd_ = -1;
  sockaddr_in addr_{};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(Worker, BinaryUdpReassemblesSplitRepliesAndCountsEverything) {
  UdpServer server(0);
  LoadConfig cfg = small_config();
  cfg.udp = true;
  cfg.pipeline = 8;  // 8 requests per datagram; 8 GET hits of 20-byte values need 3 reply datagrams
  server.fill(cfg);
  auto codec = make_binary_codec();
  Worker w(cfg, *codec, 0);
  EXPECT_EQ(w.run_depth(), 8u);
  w.preload(0, cfg.keys, now_ns() + 5000000000ull);
  EXPECT_EQ(w.preload_stats().sets, cfg.keys);
  EXPECT_EQ(w.preload_stats().errors(), 0u) << w.preload_stats().first_error;
  w.run(requests_schedule(4000, 10));
  const Stats& s = w.run_stats();
  EXPECT_EQ(s.ops, 4000u);
  EXPECT_EQ(s.hits, s.gets);
  EXPECT_EQ(s.errors(), 0u) << s.first_error;
}

TEST(Worker, BinaryUdpLostDatagramsTimeOutAndTheRunGoesOn) {
  UdpServer server(5);
  LoadConfig cfg = small_config();
  cfg.udp = true;
  cfg.timeout_s = 0.05;
  server.fill(cfg);
  auto codec = make_binary_codec();
  Worker w(cfg, *codec, 0);
  w.run(requests_schedule(2000, 10));
  const Stats& s = w.run_stats();
  EXPECT_GT(s.err_timeout, 0u);
  EXPECT_EQ(s.err_timeout % cfg.pipeline, 0u);  // whole datagrams are lost
  EXPECT_EQ(s.ops + s.err_timeout, 2000u);
  EXPECT_EQ(s.err_bad + s.err_conn + s.err_value + s.err_reply, 0u) << s.first_error;
}

TEST(Worker, BinaryUdpPacksOnlyWhatFitsInADatagram) {
  LoadConfig cfg = small_config();
  cfg.udp = true;
  cfg.pipeline = 64;
  cfg.udp_max_datagram = 400;  // (400 - 8) / (32 + 8 + 20) = 6 SETs
  auto codec = make_binary_codec();
  Worker w(cfg, *codec, 0);
  EXPECT_EQ(w.run_depth(), 6u);
}

}  // namespace
}  // namespace ferrite::bench
