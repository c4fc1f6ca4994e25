// The io_uring driver alone, over loopback: datagram listeners and their peers, replies of many
// datagrams and the driver's send room, and stream receives that outgrow the posted buffers.
// (The worker loop on top of it is tested in tests/engine/worker_test.cc.)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/io.h"
#include "udp_test_util.h"
#include "uring_driver.h"

namespace ferrite {
namespace {

using test::loopback_udp_socket;

// Listeners added one after another before the first poll: each one's recvmsg is armed at once
// but submitted only by the poll, so its msghdr must stay where it was (a vector of listeners
// moved them when it grew; the memory they left, reused and zeroed here as the heap may do,
// then gave an early listener a name length of 0 and every datagram it received was dropped).
void every_datagram_listener_receives_with_its_peer() {
  constexpr int kListeners = 9;
  uring::UringDriver driver;
  int fds[kListeners];
  std::uint16_t ports[kListeners];
  std::vector<std::unique_ptr<char[]>> scribbles;
  for (int i = 0; i < kListeners; ++i) {
    fds[i] = loopback_udp_socket(&ports[i]);
    driver.add_listener(fds[i], static_cast<std::uint16_t>(i), true);
    for (std::size_t bytes = 32; bytes <= 2048; bytes += 16) {  // take back what was freed, zeroed
      scribbles.emplace_back(new char[bytes]);
      std::memset(scribbles.back().get(), 0, bytes);
    }
  }
  std::uint16_t client_port = 0;
  const int client = loopback_udp_socket(&client_port);
  for (int i = 0; i < kListeners; ++i) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(ports[i]);
    const std::string msg = "to listener " + std::to_string(i);
    ASSERT_EQ(sendto(client, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(msg.size()));
  }
  std::vector<std::string> got(kListeners);
  int received = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (received < kListeners && std::chrono::steady_clock::now() < deadline) {
    io::Event ev[16];
    const std::size_t n = driver.poll(ev, 16, 1000);
    for (std::size_t e = 0; e < n; ++e) {
      ASSERT_EQ(ev[e].type, io::EventType::kDatagram);
      ASSERT_LT(ev[e].tag, kListeners);
      ASSERT_NE(ev[e].peer, nullptr);
      ASSERT_EQ(ev[e].peer->len, sizeof(sockaddr_in));
      EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&ev[e].peer->addr)->sin_port), client_port);
      got[ev[e].tag] = std::string(ev[e].data, ev[e].len);
      ++received;
    }
  }
  for (int i = 0; i < kListeners; ++i) EXPECT_EQ(got[i], "to listener " + std::to_string(i)) << "listener " << i;
  ::close(client);
}

TEST(UringDriver, EveryDatagramListenerReceivesWithItsPeer) {
  // On a thread of its own: the ring's teardown notifies its thread (task work), which would
  // interrupt a later test's blocking call on this one.
  std::thread t(every_datagram_listener_receives_with_its_peer);
  t.join();
}

// One reply of a thousand datagrams goes out whole from one iteration (256 fixed send slots cut
// such a reply at 256 while its header announced all of them); what the driver cannot take whole
// it says beforehand (datagram_room), and its room comes back as the sends complete.
void a_reply_of_a_thousand_datagrams_goes_out_whole() {
  constexpr int kDatagrams = 1000;
  std::uint16_t port = 0, client_port = 0;
  const int fd = loopback_udp_socket(&port);
  const int client = loopback_udp_socket(&client_port);
  const int rcvbuf = 16 << 20;
  setsockopt(client, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
  io::Endpoint to;
  auto* sin = reinterpret_cast<sockaddr_in*>(&to.addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin->sin_port = htons(client_port);
  to.len = sizeof(sockaddr_in);
  {
    uring::UringDriver driver;
    driver.add_listener(fd, 0, true);
    std::string d(1400, 'd');
    ASSERT_TRUE(driver.datagram_room(kDatagrams, kDatagrams * d.size()));
    for (int i = 0; i < kDatagrams; ++i) {
      std::memcpy(d.data(), &i, sizeof(i));
      ASSERT_TRUE(driver.send_datagram(0, to, d.data(), d.size())) << "datagram " << i;
    }
    io::Event ev[16];
    driver.poll(ev, 16, 0);  // submits them
    std::vector<bool> seen(kDatagrams, false);
    int got = 0;
    char buf[2048];
    timeval tv{5, 0};
    setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (got < kDatagrams) {
      const ssize_t n = recv(client, buf, sizeof(buf), 0);
      ASSERT_EQ(n, 1400) << "after " << got << " datagrams";
      int i = 0;
      std::memcpy(&i, buf, sizeof(i));
      ASSERT_TRUE(i >= 0 && i < kDatagrams && !seen[i]);
      seen[i] = true;
      ++got;
    }
  }
  {
    uring::DriverConfig dc;
    dc.datagram_send_slots = 4;
    dc.datagram_send_bytes = 8192;
    dc.datagram_send_size = 2048;
    const int fd2 = loopback_udp_socket(&port);
    uring::UringDriver driver(dc);
    driver.add_listener(fd2, 0, true);
    const std::string d(1000, 'd');
    EXPECT_FALSE(driver.datagram_room(5, 5000));  // five datagrams: one slot short
    EXPECT_FALSE(driver.datagram_room(4, 7000));  // the bytes do not fit
    EXPECT_TRUE(driver.datagram_room(4, 4000));
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(driver.send_datagram(0, to, d.data(), d.size()));
    EXPECT_FALSE(driver.send_datagram(0, to, d.data(), d.size()));
    EXPECT_FALSE(driver.datagram_room(1, 1000));
    // The completions give the room back (a few polls: submitted by the first).
    io::Event ev[16];
    for (int i = 0; i < 50 && !driver.datagram_room(4, 4000); ++i) driver.poll(ev, 16, 1000);
    EXPECT_TRUE(driver.datagram_room(4, 4000));
    for (int i = 0; i < 4; ++i) EXPECT_TRUE(driver.send_datagram(0, to, d.data(), d.size()));
    driver.poll(ev, 16, 0);
  }
  ::close(client);
}

TEST(UringDriver, AReplyOfAThousandDatagramsGoesOutWhole) {
  std::thread t(a_reply_of_a_thousand_datagrams_goes_out_whole);  // a thread of its own, as above
  t.join();
}

// "<connection:round>", the head of each message below. (Built by appending: g++ 12 at -O3 sees a
// false -Wrestrict in the inlined chain `"<" + std::to_string(i) + ...` in this file.)
std::string round_tag(int conn, int round) {
  std::string tag = "<";
  tag += std::to_string(conn);
  tag += ':';
  tag += std::to_string(round);
  tag += '>';
  return tag;
}

// More connections send at once than there are receive buffers posted: the kernel runs out
// (ENOBUFS ends those connections' multishot recv), the driver posts more buffers and re-arms,
// and every byte arrives, in order, on its own connection. Buffers given back are reused: the
// posted set grows to what a poll needs, not to every buffer.
void many_senders_outgrow_the_posted_buffers() {
  constexpr int kConns = 300;
  constexpr int kRounds = 4;
  uring::UringDriver driver;
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(lfd, kConns), 0);
  socklen_t alen = sizeof(a);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &alen);
  driver.add_listener(lfd, 0, false);
  const std::size_t first_posted = driver.stream_buffers_posted();
  std::vector<int> clients;
  std::vector<std::string> got;  // by ConnId
  std::size_t accepted = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto pump = [&](std::size_t want_bytes) {
    io::Event ev[64];
    auto total = [&] {
      std::size_t t = 0;
      for (const std::string& s : got) t += s.size();
      return t;
    };
    while ((accepted < kConns || total() < want_bytes) && std::chrono::steady_clock::now() < deadline) {
      const std::size_t n = driver.poll(ev, 64, 1000);
      for (std::size_t e = 0; e < n; ++e) {
        if (ev[e].conn >= got.size()) got.resize(ev[e].conn + 1);
        if (ev[e].type == io::EventType::kAccepted) ++accepted;
        if (ev[e].type == io::EventType::kData) got[ev[e].conn].append(ev[e].data, ev[e].len);
      }
    }
  };
  for (int i = 0; i < kConns; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    clients.push_back(c);
  }
  pump(0);
  ASSERT_EQ(accepted, static_cast<std::size_t>(kConns));
  // Each round: every connection sends before the driver polls again, so one poll finds far
  // more receives waiting than the 64 buffers posted at first.
  const std::string block(1000, 'b');
  for (int r = 0; r < kRounds; ++r) {
    for (int i = 0; i < kConns; ++i) {
      const std::string msg = round_tag(i, r) + block;
      ASSERT_EQ(::send(clients[i], msg.data(), msg.size(), MSG_NOSIGNAL), static_cast<ssize_t>(msg.size()));
    }
    std::size_t want = 0;
    for (int s = 0; s <= r; ++s) {
      for (int i = 0; i < kConns; ++i) want += round_tag(i, s).size() + block.size();
    }
    pump(want);
  }
  // Each connection's bytes, in the order it sent them, whatever connection ids they got.
  std::vector<std::string> seen;
  for (const std::string& s : got) {
    if (!s.empty()) seen.push_back(s);
  }
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(kConns));
  std::vector<bool> found(kConns, false);
  for (const std::string& s : seen) {
    ASSERT_EQ(s[0], '<');
    const int i = std::stoi(s.substr(1));
    ASSERT_GE(i, 0);
    ASSERT_LT(i, kConns);
    std::string expect;
    for (int r = 0; r < kRounds; ++r) expect += round_tag(i, r) + block;
    EXPECT_EQ(s, expect) << "connection " << i;
    found[i] = true;
  }
  EXPECT_EQ(std::count(found.begin(), found.end(), true), kConns);
  EXPECT_EQ(first_posted, 64u);
  EXPECT_GT(driver.stream_buffers_posted(), first_posted) << "the polls needed more buffers";
  for (const int c : clients) ::close(c);
}

TEST(UringDriver, ManySendersOutgrowThePostedBuffersAndLoseNothing) {
  std::thread t(many_senders_outgrow_the_posted_buffers);  // see above: a thread of its own
  t.join();
}

// wake() from another thread ends a wait at once (the persistence thread wakes a worker whose
// replies wait for the disk); a wake before the wait makes the next poll return too.
TEST(UringDriver, WakeFromAnotherThreadEndsAWait) {
  uring::UringDriver driver;
  io::Event events[8];
  driver.wake();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(driver.poll(events, 8, 5'000'000), 0u);  // a wake is no event
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    driver.wake();
  });
  t0 = std::chrono::steady_clock::now();
  std::size_t polls = 0;
  // Up to a few polls: one may return for the first wake's read being armed again.
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(10) && polls < 4) {
    driver.poll(events, 8, 5'000'000);
    ++polls;
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << "the wake did not end the wait";
  waker.join();
}

}  // namespace
}  // namespace ferrite
