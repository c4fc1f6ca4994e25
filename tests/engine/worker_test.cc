// The worker loop and the io_uring driver together, over loopback, with a line-echo protocol:
// pipelining, requests split across reads, back-pressure, connection limits, idle timeouts,
// closing after a reply, and the drain on stop; and two workers of two store partitions handing
// datagrams to each other.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "engine/session.h"
#include "udp_test_util.h"
#include "engine/handover.h"
#include "engine/worker.h"
#include "store/partitions.h"
#include "store/store.h"
#include "uring_driver.h"

namespace ferrite::engine {
namespace {

using test::loopback_udp_socket;

// A Durability whose state the test sets: written() grows with the echo's "w" lines, durable()
// up to what make_durable() said.
class FakeDurability final : public Durability {
 public:
  std::uint64_t written() const noexcept override { return written_.load(); }
  bool durable(std::uint64_t pos) const noexcept override { return durable_.load() >= pos; }
  bool wait_for_disk() const noexcept override { return always.load(); }
  bool congested() const noexcept override { return congested_.load(); }
  bool failed() const noexcept override { return failed_.load(); }
  const char* failure() const noexcept override { return "No space left on device"; }
  void set_waker(Waker* w) noexcept override { waker_.store(w); }

  void record() noexcept { written_.fetch_add(1); }  // on the worker's thread, as the persist ring's push
  void make_durable() noexcept {
    durable_.store(written_.load());
    wake();
  }
  void set_congested(bool on) noexcept {
    congested_.store(on);
    wake();
  }
  void fail() noexcept {
    failed_.store(true);
    wake();
  }
  bool has_waker() const noexcept { return waker_.load() != nullptr; }
  std::atomic<bool> always{true};

 private:
  void wake() noexcept {
    if (Waker* w = waker_.load()) w->wake();
  }
  std::atomic<std::uint64_t> written_{0}, durable_{0};
  std::atomic<bool> congested_{false}, failed_{false};
  std::atomic<Waker*> waker_{nullptr};
};

// "text\n" -> "text\n"; "big N\n" -> N bytes of 'x' then "\n"; "quit\n" -> "bye\n" and close.
// With a FakeDurability, "w..." is a write (recorded, or "refused" while writes are refused);
// while loading every line is answered "loading".
class LineEcho final : public Session {
 public:
  explicit LineEcho(const ConnInfo& info) : Session(info) {}
  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override {
    std::size_t used = 0;
    while (used < in.size() && out.size() < ex.settings().max_reply_bytes) {
      const std::size_t nl = in.find('\n', used);
      if (nl == std::string_view::npos) break;
      const std::string_view line = in.substr(used, nl - used);
      used = nl + 1;
      ex.count(Proto::kMemcacheText, Op::k_other, cycles());
      ex.note_key(line);
      const bool write = line.starts_with('w');
      if (ex.gated && ex.gate(true, write) != Refusal::kNone) {
        out.append(ex.gate(true, write) == Refusal::kLoading ? "loading\n" : "refused\n");
        continue;
      }
      if (write && ex.durability != nullptr) static_cast<FakeDurability*>(ex.durability)->record();
      if (line == "quit") {
        out.append("bye\n");
        close_after_reply();
        break;
      }
      if (line.substr(0, 4) == "big ") {
        const std::size_t n = std::stoul(std::string(line.substr(4)));
        std::memset(out.prepare(n), 'x', n);
        out.advance(n);
        out.push_back('\n');
        continue;
      }
      out.append(line);
      out.push_back('\n');
    }
    return used;
  }
  Proto proto() const noexcept override { return Proto::kMemcacheText; }
  std::string_view out_of_memory_reply() const noexcept override { return "echo: out of memory\n"; }
};

// UDP: echoes the datagram; one starting with 'w' is a write (recorded on the FakeDurability).
class DatagramEcho final : public DatagramHandler {
 public:
  void on_datagram(std::string_view in, DatagramOut& out, Exec& ex) override {
    if (in.starts_with('w') && ex.durability != nullptr) static_cast<FakeDurability*>(ex.durability)->record();
    out.buf.append(in);
    out.end_datagram();
  }
};
std::unique_ptr<DatagramHandler> make_datagram_echo() { return std::make_unique<DatagramEcho>(); }

// prefix + n + "\n" (not with operator+: GCC 12 reports a false -Wrestrict for that at -O2).
std::string numbered(std::string_view prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  s += '\n';
  return s;
}

// The echo's service: its session made once the first bytes came (as memcached's port picks text
// or binary by them), with its own refusal.
StreamService echo_service() {
  return {[](const ConnInfo& info, std::string_view first) -> std::unique_ptr<Session> {
            if (first.empty()) return nullptr;  // only ever called with the first bytes
            return std::make_unique<LineEcho>(info);
          },
          true, "echo: too many connections\n"};
}

class WorkerFixture : public ::testing::Test {
 protected:
  void start(std::size_t max_connections = 1000, std::uint64_t idle_ms = 0, std::size_t max_reply = 1 << 20) {
    store::StoreConfig sc;
    sc.memory_limit = 32 << 20;
    sc.max_contexts = 2;
    store_ = std::make_unique<store::Partitions>(sc, 1);
    shared_.store = store_.get();
    shared_.settings.max_connections = max_connections;
    shared_.settings.idle_timeout_ms = idle_ms;
    shared_.settings.max_reply_bytes = max_reply;
    shared_.settings.max_request_bytes = 64 << 10;
    shared_.worker_stats.push_back(&stats_);
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(listen_fd_, 128), 0);
    socklen_t len = sizeof(a);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    std::atomic<bool> ready{false};
    thread_ = std::thread([this, &ready] {
      uring::DriverConfig dc;
      dc.recv_buffers = 64;
      dc.recv_buffer_size = 4096;  // small, so requests straddle buffers
      dc.datagram_buffers = 4;
      dc.datagram_buffer_size = 2048;
      dc.datagram_send_slots = 4;
      dc.datagram_send_size = 2048;
      uring::UringDriver driver(dc);
      driver.add_listener(listen_fd_, 0, false);
      if (udp_fd_ >= 0) driver.add_listener(udp_fd_, 1, true);
      WorkerOptions opts;
      opts.services = {Service::kMemcache, Service::kMemcacheUdp};
      opts.control = &control_;
      opts.durability = durability_;
      Services services;
      services.stream(Service::kMemcache) = echo_service();
      services.datagram(Service::kMemcacheUdp) = make_datagram_echo;
      Worker w(shared_, opts, services, driver, stats_);
      ready = true;
      w.run(stop_, 500);
    });
    while (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int connect_client() {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return fd;
  }
  static void send_all(int fd, std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Reads until `want` bytes arrived, EOF, or 5 s.
  static std::string read_n(int fd, std::size_t want) {
    std::string got;
    char buf[65536];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  static bool closed_by_peer(int fd) {
    char c;
    return ::recv(fd, &c, 1, 0) == 0;
  }

  // Posts a request to the worker and waits (bounded) for the answer.
  bool ask(ControlRequest& req) {
    if (!control_.inbox.push(&req)) return false;
    for (int i = 0; i < 5000 && !req.done.load(std::memory_order_acquire); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return req.done.load(std::memory_order_acquire);
  }

  // Nothing arrives on `fd` for `ms` milliseconds.
  static bool quiet_for(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) == 0;
  }

  int udp_fd_ = -1;                     // a UDP listener (tag 1) when set before start()
  std::uint16_t udp_port_ = 0;
  FakeDurability fake_;                 // outlives the worker (joined in TearDown)
  Durability* durability_ = nullptr;  // set before start() (&fake_ or null)
  WorkerControl control_;
  std::unique_ptr<store::Partitions> store_;
  Shared shared_;
  WorkerStats stats_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
};

TEST_F(WorkerFixture, AnswersPipelinedRequestsInOrder) {
  start();
  const int fd = connect_client();
  std::string req, want;
  for (int i = 0; i < 2000; ++i) {
    req += numbered("line", i);
  }
  want = req;
  send_all(fd, req);
  EXPECT_EQ(read_n(fd, want.size()), want);
  ::close(fd);
}

TEST_F(WorkerFixture, JoinsRequestsSplitAcrossReads) {
  start();
  const int fd = connect_client();
  send_all(fd, "hel");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  send_all(fd, "lo\nwor");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  send_all(fd, "ld\n");
  EXPECT_EQ(read_n(fd, 12), "hello\nworld\n");
  ::close(fd);
}

TEST_F(WorkerFixture, ClosesAfterTheReplyWhenTheSessionAsks) {
  start();
  const int fd = connect_client();
  send_all(fd, "a\nquit\nnever\n");
  EXPECT_EQ(read_n(fd, 100), "a\nbye\n");
  ::close(fd);
}

TEST_F(WorkerFixture, StopsReadingWhileRepliesAreUnsentAndLosesNothing) {
  start(1000, 0, 256 << 10);
  const int fd = connect_client();
  // 64 requests for 256 KiB each: 16 MiB of replies that the client does not read yet.
  std::string req;
  for (int i = 0; i < 64; ++i) req += "big 262144\n";
  send_all(fd, req);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string got = read_n(fd, 64 * 262145);
  ASSERT_EQ(got.size(), 64u * 262145u);
  for (int i = 0; i < 64; ++i) ASSERT_EQ(got[static_cast<std::size_t>(i) * 262145 + 262144], '\n');
  EXPECT_EQ(stats_.requests[0][static_cast<std::size_t>(Op::k_other)].get(), 64);
  ::close(fd);
}

TEST_F(WorkerFixture, ClosesAConnectionWhoseRequestOutgrowsTheLimit) {
  start();
  const int fd = connect_client();
  send_all(fd, std::string(100 << 10, 'y'));  // no newline: one request over 64 KiB
  EXPECT_TRUE(closed_by_peer(fd));
  ::close(fd);
}

TEST_F(WorkerFixture, RefusesConnectionsOverTheLimitCleanly) {
  start(2);
  const int a = connect_client(), b = connect_client();
  send_all(a, "x\n");
  send_all(b, "y\n");
  EXPECT_EQ(read_n(a, 2), "x\n");
  EXPECT_EQ(read_n(b, 2), "y\n");
  const int c = connect_client();
  EXPECT_EQ(read_n(c, 100), "echo: too many connections\n");
  EXPECT_EQ(stats_.connections_refused.get(), 1);
  ::close(c);
  ::close(a);
  // Once one leaves, a new one gets in.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int d = connect_client();
  send_all(d, "z\n");
  EXPECT_EQ(read_n(d, 2), "z\n");
  ::close(b);
  ::close(d);
}

// server.max_connections changes live (LiveConfig stores into the running worker's settings):
// lowered under the connections already open, it closes none of them and refuses new ones.
TEST_F(WorkerFixture, ConnectionLimitLoweredLiveRefusesNewOnesOnly) {
  start();
  const int a = connect_client(), b = connect_client();
  send_all(a, "x\n");
  send_all(b, "y\n");
  EXPECT_EQ(read_n(a, 2), "x\n");
  EXPECT_EQ(read_n(b, 2), "y\n");
  shared_.settings.max_connections.store(1);
  const int c = connect_client();
  EXPECT_EQ(read_n(c, 100), "echo: too many connections\n");
  EXPECT_EQ(stats_.connections_refused.get(), 1);
  ::close(c);
  send_all(a, "still\n");
  send_all(b, "here\n");
  EXPECT_EQ(read_n(a, 6), "still\n");
  EXPECT_EQ(read_n(b, 5), "here\n");
  shared_.settings.max_connections.store(1000);
  const int d = connect_client();
  send_all(d, "z\n");
  EXPECT_EQ(read_n(d, 2), "z\n");
  ::close(a);
  ::close(b);
  ::close(d);
}

// server.idle_timeout changes live, for a connection opened while it was 0 too.
TEST_F(WorkerFixture, IdleTimeoutSetLiveClosesOpenConnections) {
  start();
  const int fd = connect_client();
  send_all(fd, "x\n");
  EXPECT_EQ(read_n(fd, 2), "x\n");
  shared_.settings.idle_timeout_ms.store(100);
  EXPECT_TRUE(closed_by_peer(fd));
  EXPECT_EQ(stats_.idle_closed.get(), 1);
  ::close(fd);
}

TEST_F(WorkerFixture, ClosesIdleConnections) {
  start(1000, 100);
  const int fd = connect_client();
  send_all(fd, "x\n");
  EXPECT_EQ(read_n(fd, 2), "x\n");
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(closed_by_peer(fd));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_EQ(stats_.idle_closed.get(), 1);
  ::close(fd);
}

// server.idle_timeout counts from the last complete request: a client trickling bytes that never
// make a request is closed, as memcached closes one that sends no command.
TEST_F(WorkerFixture, IdleTimeoutClosesAClientTricklingBytes) {
  start(1000, 300);
  const int fd = connect_client();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {  // a byte every 50 ms: 2 s at most
    if (::send(fd, "y", 1, MSG_NOSIGNAL) != 1) {
      closed = true;
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) == 1) closed = closed_by_peer(fd);
  }
  EXPECT_TRUE(closed);
  EXPECT_EQ(stats_.idle_closed.get(), 1);
  ::close(fd);
}

// A connection whose unsent replies reached max_reply_bytes has its input held back: a stall,
// counted even though it never held enough input for the reads to pause.
TEST_F(WorkerFixture, CountsAStallWhenRepliesReachTheCap) {
  start(1000, 0, 256 << 10);
  const int fd = connect_client();
  int small = 64 << 10;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  send_all(fd, "big 262144\nbig 262144\nbig 262144\nbig 262144\nbig 262144\nbig 262144\n");
  for (int i = 0; i < 2000 && stats_.backpressure_stalls.get() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(stats_.backpressure_stalls.get(), 1);
  EXPECT_EQ(read_n(fd, 6 * 262145).size(), 6u * 262145u);
  ::close(fd);
}

// The connection-buffer budget: a request that cannot fit waits for it, and once it has waited 2 s
// with the budget still spent it gets the out-of-memory error and its connection is closed; what
// it held goes back.
TEST_F(WorkerFixture, ARequestTheBudgetCannotHoldIsRefusedAfterWaiting) {
  shared_.settings.conn_buffers.set_limit(16 << 10, 1);
  start();
  const int fd = connect_client();
  send_all(fd, std::string(60 << 10, 'z'));  // no newline: one incomplete 60 KiB request
  EXPECT_EQ(read_n(fd, 100), "echo: out of memory\n");
  EXPECT_TRUE(closed_by_peer(fd));
  EXPECT_GE(stats_.conn_buffer_waits.get(), 1);
  EXPECT_EQ(stats_.conn_buffer_refusals.get(), 1);
  ::close(fd);
  for (int i = 0; i < 1000 && stats_.connections_current.get() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(stats_.conn_buffer_bytes.get(), 0);
  // Small requests go on: a connection's base needs no budget.
  const int other = connect_client();
  send_all(other, "still\n");
  EXPECT_EQ(read_n(other, 6), "still\n");
  ::close(other);
}

// What connections hold beyond their base is charged while they hold it and given back when they
// close: a large reply grows the buffers (the one sent is kept at 256 KiB), the close frees them.
TEST_F(WorkerFixture, ChargesLargeBuffersAndGivesThemBackOnClose) {
  start(1000, 0, 4 << 20);
  const int fd = connect_client();
  send_all(fd, "big 3000000\n");
  EXPECT_EQ(read_n(fd, 3000001).size(), 3000001u);
  EXPECT_GT(stats_.conn_buffer_bytes.get(), 0);
  EXPECT_LE(stats_.conn_buffer_bytes.get(), 256 << 10);
  ::close(fd);
  for (int i = 0; i < 2000 && stats_.connections_current.get() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(stats_.connections_current.get(), 0);
  EXPECT_EQ(stats_.conn_buffer_bytes.get(), 0);
}

TEST_F(WorkerFixture, StopSendsWhatIsOwedThenCloses) {
  start();
  const int fd = connect_client();
  send_all(fd, "one\ntwo\n");
  EXPECT_EQ(read_n(fd, 8), "one\ntwo\n");
  stop_ = true;
  thread_.join();
  EXPECT_TRUE(closed_by_peer(fd));
  EXPECT_EQ(stats_.connections_current.get(), 0);
  ::close(fd);
}

TEST_F(WorkerFixture, HandlesManyConnectionsAtOnce) {
  start();
  constexpr int kConns = 200;
  int fds[kConns];
  for (int& fd : fds) fd = connect_client();
  for (int i = 0; i < kConns; ++i) send_all(fds[i], numbered("c", i));
  for (int i = 0; i < kConns; ++i) {
    const std::string want = numbered("c", i);
    EXPECT_EQ(read_n(fds[i], want.size()), want);
  }
  for (int fd : fds) ::close(fd);
}

TEST_F(WorkerFixture, AnswersControlRequestsBetweenIterations) {
  start();
  const int fd = connect_client();
  std::string req;
  for (int i = 0; i < 4000; ++i) req += (i % 4 == 0) ? numbered("cold", i) : std::string("hot\n");
  send_all(fd, req);
  ASSERT_EQ(read_n(fd, req.size()).size(), req.size());

  ControlRequest clients;
  clients.kind = ControlRequest::Kind::kClients;
  ASSERT_TRUE(ask(clients));
  ASSERT_EQ(clients.clients.size(), 1u);
  EXPECT_EQ(clients.clients[0].bytes_in, req.size());
  EXPECT_EQ(clients.clients[0].protocol, "memcache_text");
  EXPECT_EQ(clients.clients[0].peer.rfind("127.0.0.1:", 0), 0u);

  ControlRequest hot;
  hot.kind = ControlRequest::Kind::kHotKeys;
  ASSERT_TRUE(ask(hot));
  ASSERT_FALSE(hot.hot.empty());
  const auto top = std::max_element(hot.hot.begin(), hot.hot.end(),
                                    [](const auto& a, const auto& b) { return a.count < b.count; });
  EXPECT_EQ(top->key, "hot");
  EXPECT_NEAR(static_cast<double>(top->count), 3000.0, 400.0);
  ::close(fd);
}

TEST_F(WorkerFixture, PushesSlowRequestEvents) {
  shared_.settings.slow_request_ns = 1;  // every request is slow
  start();
  const int fd = connect_client();
  send_all(fd, "a\nb\n");
  ASSERT_EQ(read_n(fd, 4), "a\nb\n");
  Event e;
  int got = 0;
  for (int i = 0; i < 1000 && got < 2; ++i) {
    while (control_.events.pop(&e)) {
      if (e.type == EventType::kSlowRequest) ++got;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(got, 2);
  ::close(fd);
}

// fsync = always: the replies of a batch that wrote wait for durable(), then go out in order,
// with what the connection asked after them; a connection that only reads is not held.
TEST_F(WorkerFixture, ParksRepliesUntilTheirWritesAreDurable) {
  FakeDurability& d = fake_;
  durability_ = &d;
  start();
  const int a = connect_client(), b = connect_client();
  send_all(a, "w1\nr1\n");
  EXPECT_TRUE(quiet_for(a, 150));
  send_all(a, "r2\n");  // after the parked batch: behind it
  send_all(b, "hello\n");
  EXPECT_EQ(read_n(b, 6), "hello\n");
  EXPECT_TRUE(quiet_for(a, 100));
  d.make_durable();
  EXPECT_EQ(read_n(a, 9), "w1\nr1\nr2\n");
  EXPECT_EQ(stats_.replies_parked.get(), 1);
  EXPECT_TRUE(d.has_waker());
  ::close(a);
  ::close(b);
}

// Group commit: many connections park on one durable position; one make_durable() frees them all.
TEST_F(WorkerFixture, OneDurablePositionReleasesEveryParkedConnection) {
  FakeDurability& d = fake_;
  durability_ = &d;
  start();
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) {
    fds.push_back(connect_client());
    send_all(fds.back(), numbered("w", i));
  }
  for (const int fd : fds) EXPECT_TRUE(quiet_for(fd, 5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(stats_.replies_parked.get(), 20);
  d.make_durable();
  for (int i = 0; i < 20; ++i) EXPECT_EQ(read_n(fds[static_cast<std::size_t>(i)], numbered("w", i).size()), numbered("w", i));
  for (const int fd : fds) ::close(fd);
}

// fsync = everysec (no wait_for_disk): writes are answered at once.
TEST_F(WorkerFixture, RepliesAreNotParkedWithoutWaitForDisk) {
  FakeDurability& d = fake_;
  d.always = false;
  durability_ = &d;
  start();
  const int fd = connect_client();
  send_all(fd, "w1\nr\n");
  EXPECT_EQ(read_n(fd, 5), "w1\nr\n");
  EXPECT_EQ(stats_.replies_parked.get(), 0);
  ::close(fd);
}

// A full persistence ring holds the connections' requests (buffered) until it has room.
TEST_F(WorkerFixture, CongestionHoldsRequestsUntilItClears) {
  FakeDurability& d = fake_;
  d.always = false;  // nothing parked: only the hold is seen
  durability_ = &d;
  start();
  d.always = true;
  d.set_congested(true);
  const int fd = connect_client();
  send_all(fd, "a\nb\n");
  EXPECT_TRUE(quiet_for(fd, 150));
  EXPECT_EQ(stats_.disk_stalls.get(), 1);
  EXPECT_EQ(stats_.requests[0][static_cast<std::size_t>(Op::k_other)].get(), 0);
  d.set_congested(false);
  EXPECT_EQ(read_n(fd, 4), "a\nb\n");
  ::close(fd);
}

// The append-only file fails: connections whose replies wait for it are closed without them
// (never sent as successes); writes after it are refused, reads still answered.
TEST_F(WorkerFixture, AFailedFileClosesParkedConnectionsAndRefusesWrites) {
  FakeDurability& d = fake_;
  durability_ = &d;
  start();
  const int parked = connect_client();
  send_all(parked, "w1\n");
  EXPECT_TRUE(quiet_for(parked, 100));
  d.fail();
  EXPECT_EQ(read_n(parked, 3), "");  // closed, nothing sent
  EXPECT_EQ(stats_.parked_closed.get(), 1);
  const int fd = connect_client();
  send_all(fd, "w2\nr\n");
  EXPECT_EQ(read_n(fd, 10), "refused\nr\n");
  ::close(parked);
  ::close(fd);
}

// While the daemon loads, the sessions see it (Exec::gated) on every feed; it ends live.
// fsync = always: a UDP request that wrote has no connection to park its reply on; the reply is
// not sent (counted), and a read's reply is.
TEST_F(WorkerFixture, DatagramRepliesToWritesNotOnDiskAreNotSent) {
  durability_ = &fake_;
  udp_fd_ = loopback_udp_socket(&udp_port_);
  start();
  std::uint16_t client_port = 0;
  const int client = loopback_udp_socket(&client_port);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(udp_port_);
  const auto send_to = [&](std::string_view d) {
    sendto(client, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  };
  send_to("w1");
  EXPECT_TRUE(quiet_for(client, 150));
  EXPECT_EQ(stats_.datagram_replies_unparked.get(), 1);
  send_to("r1");
  ASSERT_FALSE(quiet_for(client, 2000));
  char buf[64];
  const ssize_t n = recv(client, buf, sizeof(buf), 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n > 0 ? n : 0)), "r1");
  ::close(client);
}

TEST_F(WorkerFixture, SessionsSeeTheLoadingFlag) {
  shared_.loading = true;
  start();
  const int fd = connect_client();
  send_all(fd, "a\n");
  EXPECT_EQ(read_n(fd, 8), "loading\n");
  shared_.loading = false;
  send_all(fd, "b\n");
  EXPECT_EQ(read_n(fd, 2), "b\n");
  ::close(fd);
}

TEST_F(WorkerFixture, FlushRequestEmptiesTheStore) {
  start();
  // The store is shared: write through a context of our own, detached before the worker asks.
  {
    auto ctx = store_->at(0).attach();
    ctx->set_now(store_->now_ms());
    for (int i = 0; i < 100; ++i) ASSERT_EQ(ctx->set(numbered("k", i), "v").status, store::Status::kOk);
    ctx->quiescent();
  }
  ASSERT_EQ(store_->stats().items, 100);
  ControlRequest flush;
  flush.kind = ControlRequest::Kind::kFlush;
  ASSERT_TRUE(ask(flush));
  EXPECT_EQ(store_->stats().items, 0);
}

// A datagram protocol whose key is the whole datagram; the reply says which worker ran it.
class WhoServes final : public DatagramHandler {
 public:
  void on_datagram(std::string_view in, DatagramOut& out, Exec& ex) override {
    out.buf.append("w");
    out.buf.append(std::to_string(ex.worker_id));
    out.buf.append(":");
    out.buf.append(in);
    out.end_datagram();
    ex.ctx.set(in, "seen");  // the key's partition, wherever it runs
  }
  bool first_key(std::string_view in, store::KeyRef* out) const noexcept override {
    if (in.empty()) return false;
    *out = store::make_key(in);
    return true;
  }
};
std::unique_ptr<DatagramHandler> make_who_serves() { return std::make_unique<WhoServes>(); }

// Two workers, one per partition, each with its own UDP socket; every datagram is sent to worker
// 0's. Returns, per key, the worker that answered and the port the answer came from.
struct HandoverRun {
  std::vector<std::pair<int, std::uint16_t>> answers;  // by key index: (worker, from port); -1: none
  std::uint16_t ports[2] = {0, 0};
  std::int64_t handed_over[2] = {0, 0};
  std::int64_t items = 0;
};

HandoverRun run_two_partitions(Polling polling, const std::vector<std::string>& keys, store::Partitions& parts) {
  HandoverRun r;
  Shared shared;
  shared.store = &parts;
  WorkerStats stats[2];
  shared.worker_stats = {&stats[0], &stats[1]};
  shared.settings.workers = 2;
  Handover handover({0, 1}, 2);
  int fds[2];
  for (int w = 0; w < 2; ++w) fds[w] = loopback_udp_socket(&r.ports[w]);
  std::atomic<bool> stop{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (unsigned w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      uring::UringDriver driver;
      driver.add_listener(fds[w], 0, true);
      WorkerOptions opts;
      opts.id = w;
      opts.polling = polling;
      opts.services = {Service::kBinaryUdp};
      opts.partition = w;
      opts.handover = &handover;
      Services services;
      services.datagram(Service::kBinaryUdp) = make_who_serves;
      Worker worker(shared, opts, services, driver, stats[w]);
      ready.fetch_add(1);
      worker.run(stop, 100);
    });
  }
  while (ready.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::uint16_t client_port = 0;
  const int client = loopback_udp_socket(&client_port);
  timeval tv{2, 0};
  setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(r.ports[0]);
  r.answers.assign(keys.size(), {-1, 0});
  for (std::size_t i = 0; i < keys.size(); ++i) {
    // One at a time: a loopback socket buffer never overflows, and each answer is matched.
    sendto(client, keys[i].data(), keys[i].size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    char buf[2048];
    sockaddr_in from{};
    socklen_t len = sizeof(from);
    // EINTR: an io_uring ring torn down on this thread (an earlier test's driver) notifies it
    // through task work, which interrupts a blocking call.
    ssize_t n = 0;
    do {
      n = recvfrom(client, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) continue;
    const std::string reply(buf, static_cast<std::size_t>(n));
    const std::size_t colon = reply.find(':');
    if (colon == std::string::npos || reply.substr(colon + 1) != keys[i]) continue;
    r.answers[i] = {std::stoi(reply.substr(1, colon - 1)), ntohs(from.sin_port)};
  }
  ::close(client);
  stop = true;
  for (auto& t : threads) t.join();
  for (int w = 0; w < 2; ++w) r.handed_over[w] = stats[w].datagrams_handed_over.get();
  r.items = parts.stats().items;
  return r;
}

std::vector<std::string> handover_keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    std::string k("key:");
    k += std::to_string(i);
    keys.push_back(k);
  }
  return keys;
}

store::StoreConfig two_worker_store() {
  store::StoreConfig sc;
  sc.memory_limit = 32 << 20;
  sc.max_contexts = 2;
  return sc;
}

TEST(WorkerHandover, BusyWorkersHandEachDatagramToItsKeysPartition) {
  store::Partitions parts(two_worker_store(), 2);
  const std::vector<std::string> keys = handover_keys();
  const HandoverRun r = run_two_partitions(Polling::kBusy, keys, parts);
  std::int64_t remote = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const unsigned p = parts.partition_of(keys[i]);
    remote += p == 1 ? 1 : 0;
    // Served by the worker of the key's partition, answered from that worker's own socket.
    EXPECT_EQ(r.answers[i].first, static_cast<int>(p)) << keys[i];
    EXPECT_EQ(r.answers[i].second, r.ports[p]) << keys[i];
  }
  EXPECT_GT(remote, 50);
  EXPECT_EQ(r.handed_over[0], remote);
  EXPECT_EQ(r.handed_over[1], 0);
  EXPECT_EQ(r.items, static_cast<std::int64_t>(keys.size()));
}

TEST(WorkerHandover, AdaptiveWorkersServeWhereTheDatagramLanded) {
  // A sleeping worker would leave a handed-over datagram waiting: only busy workers hand over.
  store::Partitions parts(two_worker_store(), 2);
  const std::vector<std::string> keys = handover_keys();
  const HandoverRun r = run_two_partitions(Polling::kAdaptive, keys, parts);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(r.answers[i].first, 0) << keys[i];
    EXPECT_EQ(r.answers[i].second, r.ports[0]) << keys[i];
  }
  EXPECT_EQ(r.handed_over[0], 0);
  EXPECT_EQ(r.items, static_cast<std::int64_t>(keys.size()));
}

TEST(WorkerHandover, EveryWorkerHandsToOneWorkerOfEachOtherPartition) {
  // Workers 0, 2, 4 in partition 0; 1, 3 in partition 1.
  Handover h({0, 1, 0, 1, 0}, 2);
  EXPECT_EQ(h.target(0, 1), 1u);
  EXPECT_EQ(h.target(2, 1), 3u);
  EXPECT_EQ(h.target(4, 1), 1u);  // round robin over partition 1's two workers
  EXPECT_EQ(h.target(1, 0), 0u);
  EXPECT_EQ(h.target(3, 0), 2u);
  EXPECT_EQ(h.out(0, 0), nullptr);
  ASSERT_NE(h.out(0, 1), nullptr);
  EXPECT_EQ(h.in(1).size(), 2u);  // from workers 0 and 4
  EXPECT_EQ(h.in(3).size(), 1u);
  EXPECT_EQ(h.in(0).size(), 1u);
  EXPECT_EQ(h.in(2).size(), 1u);
  EXPECT_EQ(h.in(4).size(), 0u);
  EXPECT_THROW(Handover({0, 0}, 2), std::invalid_argument);  // partition 1 has no worker
}

}  // namespace
}  // namespace ferrite::engine
