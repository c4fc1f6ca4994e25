// ferrite-bench's load loop against scripted loopback servers: a correct one, one that never
// answers, one that answers garbage or wrong values, none at all, a binary-protocol UDP server
// that splits its replies and loses datagrams, and small RESP servers with and without
// transactions and hashes for the multi-incr and hash workloads (with a count of the client's
// allocations while it runs).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <set>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "codec.h"
#include "load.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"
#include "resp_types.h"

// Counts operator new calls made by a thread while its t_count_news is set (the load loop must
// not allocate per request).
namespace {
thread_local bool t_count_news = false;
std::atomic<std::uint64_t> g_news{0};
}  // namespace

__attribute__((noinline)) void* operator new(std::size_t n) {
  if (t_count_news) g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
// Not inlined: GCC would otherwise see free() on a pointer from operator new and warn.
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace ferrite::bench {
namespace {

namespace bin = proto::binary;

// 127.0.0.1:port (port in host order; 0 lets bind choose).
sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

// A socket of `type` (SOCK_STREAM, SOCK_DGRAM) bound to a free loopback port; *addr is where.
int bind_loopback(int type, sockaddr_in* addr) {
  const int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  const sockaddr_in a = loopback(0);
  EXPECT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof *addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(addr), &len);
  return fd;
}

// Points the load at `addr`.
void aim(LoadConfig& cfg, const sockaddr_in& addr) {
  std::memcpy(&cfg.addr, &addr, sizeof addr);
  cfg.addr_len = sizeof addr;
}

// A loopback TCP server on a thread: each connection's bytes go to `respond`, which returns
// what to send back (it may keep state per connection in the string it is handed).
class ScriptedServer {
 public:
  using Respond = std::function<std::string(std::string& pending)>;

  explicit ScriptedServer(Respond respond) : respond_(std::move(respond)) {
    lfd_ = bind_loopback(SOCK_STREAM, &addr_);
    EXPECT_EQ(listen(lfd_, 128), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, _] : conns_) close(fd);
    close(lfd_);
  }

  void fill(LoadConfig& cfg) const { aim(cfg, addr_); }

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

// From now: `run_ns` of traffic, all of it measured; the drain ends at `deadline_ns` after the start.
Schedule timed_schedule(std::uint64_t run_ns, std::uint64_t deadline_ns) {
  Schedule s;
  s.start_ns = now_ns();
  s.measure_ns = s.start_ns;
  s.end_ns = s.start_ns + run_ns;
  s.deadline_ns = s.start_ns + deadline_ns;
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
  w.run(timed_schedule(500000000, 2500000000));  // 0.5 s at 2000/s: 1000 requests
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
  // 0.5 s of traffic; the deadline far away: the timeout must end the drain.
  const Schedule sched = timed_schedule(500000000, 10000000000);
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
  aim(cfg, loopback(1));  // nothing listens on port 1
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
    fd_ = bind_loopback(SOCK_DGRAM, &addr_);
    thread_ = std::thread([this] { serve(); });
  }
  ~UdpServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  void fill(LoadConfig& cfg) const { aim(cfg, addr_); }

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

// A tiny Redis: GET, SET, INCR, and (when `full`) MULTI/EXEC, HSET and HGET, over RESP arrays of bulk
// strings. Without `full` it answers those four as ferrited did before issue 15: unknown command.
// Its EXEC refuses a transaction whose INCRs do not name ten different keys.
struct MiniRedis {
  bool full = true;
  bool swap_fields = false;  // HGET answers field f1's value whatever field was asked for
  std::map<std::string, std::string> strings;
  std::map<std::string, std::map<std::string, std::string>> hashes;
  std::atomic<std::uint64_t> transactions{0};

  struct Conn {
    bool in_multi = false;
    std::vector<std::string> queued;  // the keys of the INCRs queued
  };
  std::map<const std::string*, Conn> conns;

  // One command off the front of `in`, or false while it is incomplete.
  static bool take(std::string& in, std::vector<std::string>& args) {
    args.clear();
    std::size_t at = 0;
    const auto line = [&](std::string& out) {
      const std::size_t eol = in.find("\r\n", at);
      if (eol == std::string::npos) return false;
      out = in.substr(at, eol - at);
      at = eol + 2;
      return true;
    };
    std::string l;
    if (!line(l)) return false;
    const int n = std::stoi(l.substr(1));
    for (int i = 0; i < n; ++i) {
      if (!line(l)) return false;
      const std::size_t len = std::stoul(l.substr(1));
      if (in.size() < at + len + 2) return false;
      args.push_back(in.substr(at, len));
      at += len + 2;
    }
    in.erase(0, at);
    return true;
  }

  std::string incr(const std::string& key) {
    std::string& v = strings[key];
    v = std::to_string((v.empty() ? 0 : std::stoll(v)) + 1);
    return ":" + v + "\r\n";
  }

  std::string respond(std::string& in) {
    std::string out;
    std::vector<std::string> a;
    Conn& c = conns[&in];
    while (take(in, a)) {
      const std::string& cmd = a[0];
      if (!full && (cmd == "MULTI" || cmd == "EXEC" || cmd == "HSET" || cmd == "HGET")) {
        out += "-ERR unknown command '" + cmd + "', with args beginning with: \r\n";
      } else if (cmd == "MULTI") {
        c.in_multi = true;
        c.queued.clear();
        out += "+OK\r\n";
      } else if (cmd == "INCR" && c.in_multi) {
        c.queued.push_back(a[1]);
        out += "+QUEUED\r\n";
      } else if (cmd == "INCR") {
        out += incr(a[1]);
      } else if (cmd == "EXEC") {
        c.in_multi = false;
        if (std::set<std::string>(c.queued.begin(), c.queued.end()).size() != resp_types::kIncrs) {
          out += "-ERR the test server wants 10 different keys\r\n";
          continue;
        }
        out += "*" + std::to_string(c.queued.size()) + "\r\n";
        for (const auto& k : c.queued) out += incr(k);
        ++transactions;
      } else if (cmd == "SET") {
        strings[a[1]] = a[2];
        out += "+OK\r\n";
      } else if (cmd == "GET") {
        const auto it = strings.find(a[1]);
        out += it == strings.end() ? std::string("$-1\r\n")
                                   : "$" + std::to_string(it->second.size()) + "\r\n" + it->second + "\r\n";
      } else if (cmd == "HSET") {
        auto& h = hashes[a[1]];
        int added = 0;
        for (std::size_t i = 2; i + 1 < a.size(); i += 2) added += h.insert_or_assign(a[i], a[i + 1]).second ? 1 : 0;
        out += ":" + std::to_string(added) + "\r\n";
      } else if (cmd == "HGET") {
        const auto h = hashes.find(a[1]);
        const auto f = h == hashes.end() ? decltype(h->second.end()){} : h->second.find(swap_fields ? "f1" : a[2]);
        if (h == hashes.end() || f == h->second.end()) {
          out += "$-1\r\n";
        } else {
          out += "$" + std::to_string(f->second.size()) + "\r\n" + f->second + "\r\n";
        }
      } else {
        out += "-ERR unknown command\r\n";
      }
    }
    return out;
  }
};

LoadConfig resp_config(Workload w) {
  LoadConfig cfg = small_config();
  cfg.workload = w;
  cfg.set_fraction = w == Workload::kHash ? 0.25 : 1.0;
  return cfg;
}

// A RESP worker on `server` with `cfg` (aimed at the server here; it must outlive the worker),
// preloaded (5 s at most).
struct PreloadedRespWorker {
  PreloadedRespWorker(const ScriptedServer& server, LoadConfig& cfg) : w(aimed(server, cfg), *codec, 0) {
    w.preload(0, cfg.keys, now_ns() + 5000000000ull);
  }
  static const LoadConfig& aimed(const ScriptedServer& server, LoadConfig& cfg) {
    server.fill(cfg);
    return cfg;
  }
  std::unique_ptr<Codec> codec = make_resp_codec();
  Worker w;
};

TEST(Worker, MultiIncrRunsTransactionsOfTenDifferentKeys) {
  MiniRedis redis;
  ScriptedServer server([&](std::string& in) { return redis.respond(in); });
  LoadConfig cfg = resp_config(Workload::kMultiIncr);
  PreloadedRespWorker rw(server, cfg);
  Worker& w = rw.w;
  EXPECT_EQ(w.preload_stats().sets, cfg.keys);
  EXPECT_EQ(w.preload_stats().errors(), 0u) << w.preload_stats().first_error;
  w.run(requests_schedule(2000, 10));
  const Stats& s = w.run_stats();
  EXPECT_EQ(s.errors(), 0u) << s.first_error;
  EXPECT_EQ(s.ops, 2000u);
  EXPECT_EQ(s.sets, 2000u);  // transactions
  EXPECT_EQ(s.gets, 0u);
  EXPECT_EQ(redis.transactions, 2000u);
  // The preload set every counter (c-prefixed) to 0; each transaction added 10 in all.
  std::uint64_t sum = 0;
  for (const auto& [k, v] : redis.strings) {
    ASSERT_EQ(k[0], 'c') << k;
    sum += std::stoull(v);
  }
  EXPECT_EQ(redis.strings.size(), cfg.keys);
  EXPECT_EQ(sum, 2000u * resp_types::kIncrs);
}

TEST(Worker, HashWorkloadPreloadsWholeHashesAndChecksEachFieldsValue) {
  MiniRedis redis;
  ScriptedServer server([&](std::string& in) { return redis.respond(in); });
  LoadConfig cfg = resp_config(Workload::kHash);
  PreloadedRespWorker rw(server, cfg);
  Worker& w = rw.w;
  EXPECT_EQ(w.preload_stats().sets, cfg.keys);
  EXPECT_EQ(w.preload_stats().errors(), 0u) << w.preload_stats().first_error;
  ASSERT_EQ(redis.hashes.size(), cfg.keys);
  for (const auto& [k, h] : redis.hashes) {
    ASSERT_EQ(k[0], 'h') << k;
    ASSERT_EQ(h.size(), resp_types::kFields) << k;
  }
  w.run(requests_schedule(4000, 10));
  const Stats& s = w.run_stats();
  EXPECT_EQ(s.errors(), 0u) << s.first_error;
  EXPECT_EQ(s.ops, 4000u);
  EXPECT_EQ(s.hits, s.gets);
  EXPECT_GT(s.sets, 600u);  // a quarter HSETs
  EXPECT_GT(s.gets, 2400u);
}

TEST(Worker, HashWorkloadCountsAnotherFieldsValueAsWrong) {
  MiniRedis redis;
  redis.swap_fields = true;
  ScriptedServer server([&](std::string& in) { return redis.respond(in); });
  LoadConfig cfg = resp_config(Workload::kHash);
  cfg.set_fraction = 0;
  PreloadedRespWorker rw(server, cfg);
  Worker& w = rw.w;
  w.run(requests_schedule(2000, 10));
  const Stats& s = w.run_stats();
  // One field in ten is f1, whose value is the right one.
  EXPECT_GT(s.err_value, 1500u);
  EXPECT_EQ(s.err_value + s.hits, 2000u);
  EXPECT_NE(s.first_error.find("HGET h"), std::string::npos) << s.first_error;
}

TEST(Worker, AServerWithoutTransactionsOrHashesAnswersErrorsAndKeepsTheConnections) {
  MiniRedis redis;
  redis.full = false;
  ScriptedServer server([&](std::string& in) { return redis.respond(in); });
  for (const Workload wl : {Workload::kMultiIncr, Workload::kHash}) {
    LoadConfig cfg = resp_config(wl);
    PreloadedRespWorker rw(server, cfg);
    Worker& w = rw.w;
    w.run(requests_schedule(500, 10));
    const Stats& s = w.run_stats();
    EXPECT_EQ(s.ops, 0u);
    EXPECT_EQ(s.err_reply, 500u);
    EXPECT_EQ(s.err_bad + s.err_conn + s.err_timeout, 0u) << s.first_error;
    EXPECT_EQ(w.preload_stats().connects + s.connects, cfg.connections);  // none was reset
    EXPECT_NE(s.first_error.find(wl == Workload::kHash ? "unknown command 'H" : "unknown command 'MULTI'"),
              std::string::npos)
        << s.first_error;
  }
}

// No allocation per request: a second run of 20000 operations allocates (almost) nothing.
TEST(Worker, TheLoadLoopDoesNotAllocatePerRequest) {
  MiniRedis redis;
  ScriptedServer server([&](std::string& in) { return redis.respond(in); });
  for (const Workload wl : {Workload::kGetSet, Workload::kMultiIncr, Workload::kHash}) {
    LoadConfig cfg = resp_config(wl);
    if (wl == Workload::kGetSet) cfg.set_fraction = 0.25;
    PreloadedRespWorker rw(server, cfg);
    Worker& w = rw.w;
    w.run(requests_schedule(2000, 10));  // buffers grow to their working size
    ASSERT_EQ(w.run_stats().errors(), 0u) << w.run_stats().first_error;
    const std::uint64_t before = w.run_stats().ops;  // a worker's run stats add up over its runs
    g_news = 0;
    t_count_news = true;
    w.run(requests_schedule(20000, 20));
    t_count_news = false;
    EXPECT_EQ(w.run_stats().ops - before, 20000u) << w.run_stats().first_error;
    std::printf("workload %d: %llu allocations in 20000 operations\n", static_cast<int>(wl),
                static_cast<unsigned long long>(g_news.load()));
    EXPECT_LT(g_news.load(), 20u) << "workload " << static_cast<int>(wl);
  }
}

}  // namespace
}  // namespace ferrite::bench
