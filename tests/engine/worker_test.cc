// The worker loop and the io_uring driver together, over loopback, with a line-echo protocol:
// pipelining, requests split across reads, back-pressure, connection limits, idle timeouts,
// closing after a reply, and the drain on stop.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "core/clock.h"
#include "engine/session.h"
#include "engine/worker.h"
#include "store/store.h"
#include "uring_driver.h"

namespace ferrite::engine {
namespace {

// "text\n" -> "text\n"; "big N\n" -> N bytes of 'x' then "\n"; "quit\n" -> "bye\n" and close.
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
};

// prefix + n + "\n" (not with operator+: GCC 12 reports a false -Wrestrict for that at -O2).
std::string numbered(std::string_view prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  s += '\n';
  return s;
}

std::unique_ptr<Session> make_echo(const ConnInfo& info) { return std::make_unique<LineEcho>(info); }

class WorkerFixture : public ::testing::Test {
 protected:
  void start(std::size_t max_connections = 1000, std::uint64_t idle_ms = 0, std::size_t max_reply = 1 << 20) {
    store::StoreConfig sc;
    sc.memory_limit = 32 << 20;
    sc.max_contexts = 2;
    store_ = std::make_unique<store::Store>(sc);
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
      WorkerOptions opts;
      opts.services = {Service::kMemcache};
      opts.control = &control_;
      Services services;
      services.memcache_text = make_echo;
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

  WorkerControl control_;
  std::unique_ptr<store::Store> store_;
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
  EXPECT_EQ(read_n(c, 100), "ERROR Too many open connections\r\n");
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
  EXPECT_EQ(read_n(c, 100), "ERROR Too many open connections\r\n");
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

TEST_F(WorkerFixture, FlushRequestEmptiesTheStore) {
  start();
  // The store is shared: write through a context of our own, detached before the worker asks.
  {
    auto ctx = store_->attach();
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

}  // namespace
}  // namespace ferrite::engine
