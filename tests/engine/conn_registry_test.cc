// The connection registry behind memcached's `stats conns`: what the owning workers write is what
// any other thread lists, and a reader never sees a slot half rewritten.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/conn_registry.h"
#include "engine/control.h"

namespace ferrite::engine {
namespace {

ConnAddress v4(const char* ip, std::uint16_t port) {
  sockaddr_storage ss{};
  auto* in = reinterpret_cast<sockaddr_in*>(&ss);
  in->sin_family = AF_INET;
  in->sin_port = htons(port);
  inet_pton(AF_INET, ip, &in->sin_addr);
  return ConnAddress::from(ss, sizeof(sockaddr_in));
}

std::string text(const ConnAddress& a, bool datagram) {
  char buf[80];
  return std::string(buf, format_conn_address(a, datagram, buf, sizeof(buf)));
}

std::map<std::uint64_t, ConnRecord> listed(const ConnRegistry& r) {
  std::map<std::uint64_t, ConnRecord> out;
  r.for_each([&](const ConnRecord& c) { out[c.id] = c; });
  return out;
}

TEST(ConnRegistry, ListsListenersAndOpenConnectionsOfEveryWorker) {
  ConnRegistry r(2);
  r.add_listener(1, v4("127.0.0.1", 11211), false, 0);
  r.add_listener(2, v4("127.0.0.1", 11211), true, 0);
  r.open(0, 0, 10, v4("10.0.0.1", 40000), v4("127.0.0.1", 11211), 5);
  r.open(1, 300, 11, v4("10.0.0.2", 40001), v4("127.0.0.1", 11211), 6);  // a second chunk of worker 1
  r.open(1, 0, 12, v4("10.0.0.3", 40002), v4("127.0.0.1", 11211), 7);
  r.note(1, 0, ConnState::kNread, 9);
  r.close(0, 0);

  const auto all = listed(r);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.at(1).state, ConnState::kListening);
  EXPECT_EQ(text(all.at(1).local, false), "tcp:127.0.0.1:11211");
  EXPECT_EQ(all.at(2).state, ConnState::kDatagram);
  EXPECT_EQ(text(all.at(2).local, true), "udp:127.0.0.1:11211");
  EXPECT_EQ(all.count(10), 0u) << "closed";
  EXPECT_EQ(text(all.at(11).peer, false), "tcp:10.0.0.2:40001");
  EXPECT_EQ(all.at(11).state, ConnState::kWaiting);
  EXPECT_EQ(all.at(11).last_cmd_s, 6u);
  EXPECT_EQ(all.at(12).state, ConnState::kNread);
  EXPECT_EQ(all.at(12).last_cmd_s, 9u);
  EXPECT_EQ(r.unlisted(), 0);

  // A slot reused by a new connection shows the new one only.
  r.open(0, 0, 13, v4("10.0.0.4", 40003), v4("127.0.0.1", 11211), 10);
  const auto again = listed(r);
  EXPECT_EQ(again.count(10), 0u);
  EXPECT_EQ(text(again.at(13).peer, false), "tcp:10.0.0.4:40003");
}

TEST(ConnRegistry, FormatsAddressesAsMemcachedDoes) {
  sockaddr_storage ss{};
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(11211);
  inet_pton(AF_INET6, "::1", &in6->sin6_addr);
  const ConnAddress a = ConnAddress::from(ss, sizeof(sockaddr_in6));
  EXPECT_EQ(text(a, false), "tcp6:[::1]:11211");
  EXPECT_EQ(text(a, true), "udp6:[::1]:11211");
  EXPECT_EQ(text(ConnAddress{}, false), "tcp:unknown");
  char small[8];
  EXPECT_EQ(format_conn_address(v4("127.0.0.1", 11211), false, small, sizeof(small)), 7u) << "cut to fit";
}

TEST(ConnRegistry, SlotsBeyondTheLastChunkAreCountedNotListed) {
  ConnRegistry r(1);
  r.open(0, static_cast<std::uint32_t>(ConnRegistry::kChunkSlots * ConnRegistry::kMaxChunks), 5, v4("10.0.0.1", 1),
         v4("127.0.0.1", 2), 0);
  r.open(3, 0, 6, v4("10.0.0.1", 1), v4("127.0.0.1", 2), 0);  // no such worker
  EXPECT_EQ(r.unlisted(), 2);
  EXPECT_TRUE(listed(r).empty());
}

// One thread opens and closes connections as fast as it can (each id's peer port derived from
// the id), another lists them meanwhile: every record listed is whole. Run by the TSan build too.
TEST(ConnRegistryConcurrency, AReaderNeverSeesASlotHalfRewritten) {
  ConnRegistry r(1);
  constexpr std::uint32_t kSlots = 600;  // three chunks, allocated while the reader reads
  std::atomic<bool> stop{false};
  std::thread owner([&] {
    std::uint64_t id = 1;
    for (int round = 0; round < 200 && !stop.load(); ++round) {
      for (std::uint32_t s = 0; s < kSlots; ++s, ++id) {
        r.open(0, s, id, v4("10.0.0.1", static_cast<std::uint16_t>(id % 65536)),
               v4("127.0.0.1", static_cast<std::uint16_t>((id * 7) % 65536)), static_cast<std::uint32_t>(id));
      }
      for (std::uint32_t s = 0; s < kSlots; s += 2) r.close(0, s);
    }
    stop = true;
  });
  std::size_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!stop.load() && std::chrono::steady_clock::now() < deadline) {
    r.for_each([&](const ConnRecord& c) {
      ++seen;
      ASSERT_EQ(c.peer.port, c.id % 65536) << c.id;
      ASSERT_EQ(c.local.port, (c.id * 7) % 65536) << c.id;
    });
  }
  stop = true;
  owner.join();
  EXPECT_GT(seen, 0u);
}

// CLIENT LIST's age and CLIENT KILL's routing: the open time and the owning worker.
TEST(ConnRegistry, KeepsTheOpenTimeAndNamesTheWorker) {
  ConnRegistry r(2);
  r.open(1, 3, 77, v4("10.0.0.1", 5000), v4("127.0.0.1", 6379), 40);
  r.note(1, 3, ConnState::kWaiting, 45);
  const auto m = listed(r);
  ASSERT_EQ(m.count(77), 1u);
  EXPECT_EQ(m.at(77).opened_s, 40u);
  EXPECT_EQ(m.at(77).last_cmd_s, 45u);
  EXPECT_EQ(m.at(77).worker, 1u);
}

// Ids posted from any thread reach the owning worker once each; a full box refuses.
TEST(KillBox, PostedIdsAreTakenOnce) {
  KillBox box;
  std::vector<std::uint64_t> got;
  box.take([&](std::uint64_t id) { got.push_back(id); });
  EXPECT_TRUE(got.empty());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&box, t] {
      for (int i = 0; i < 8; ++i) EXPECT_TRUE(box.post(static_cast<std::uint64_t>(t * 100 + i + 1)));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(box.post(999));  // 32 cells, all taken
  box.take([&](std::uint64_t id) { got.push_back(id); });
  EXPECT_EQ(got.size(), 32u);
  EXPECT_EQ(std::set<std::uint64_t>(got.begin(), got.end()).size(), 32u);
  got.clear();
  box.take([&](std::uint64_t id) { got.push_back(id); });
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(box.post(5));
}

}  // namespace
}  // namespace ferrite::engine
