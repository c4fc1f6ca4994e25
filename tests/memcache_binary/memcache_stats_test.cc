// memcached's `stats` groups, filled through a session as a client would.
#include "engine/memcache_stats.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "engine/memcache_binary/session.h"
#include "engine_test_util.h"
#include "memcache_binary/memcache_binary_test_util.h"

namespace ferrite::testing::mcb {
namespace {

using engine::testing::SessionHarness;

struct Stats {
  bool known = false;
  std::vector<std::pair<std::string, std::string>> list;
  std::map<std::string, std::string> map;
  std::int64_t num(const std::string& name) const {
    auto it = map.find(name);
    EXPECT_NE(it, map.end()) << name;
    return it == map.end() ? -1 : std::stoll(it->second);
  }
};

class FakeConfig : public engine::testing::NamedConfig {
 public:
  using NamedConfig::get;
  using NamedConfig::set;
  std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const override {
    if (glob == "listen.memcache") return {{"listen.memcache", "\"127.0.0.1:11311\""}};
    if (glob == "listen.memcache_udp") return {{"listen.memcache_udp", "\"\""}};
    return {};
  }
  std::string set(std::string_view, std::string_view) override { return "read-only"; }
};

class MemcacheStats : public ::testing::Test {
 protected:
  Stats stats(std::string_view group) {
    Stats s;
    s.known = engine::memcache_stats(h_.exec(), group, [&s](std::string_view n, std::string_view v) {
      s.list.emplace_back(n, v);
      EXPECT_TRUE(s.map.emplace(n, v).second) << "duplicate " << n;
    });
    return s;
  }
  void send(const std::string& in) { h_.feed(*s_, in); }

  SessionHarness h_;
  std::unique_ptr<engine::Session> s_ = engine::make_memcache_binary_session(h_.info());
};

TEST_F(MemcacheStats, GeneralGroupUsesMemcachedsNamesInItsOrder) {
  const Stats s = stats("");
  ASSERT_TRUE(s.known);
  const std::vector<std::string> order = {
      "pid",
      "uptime",
      "time",
      "version",
      "pointer_size",
      "rusage_user",
      "rusage_system",
      "max_connections",
      "curr_connections",
      "total_connections",
      "rejected_connections",
      "connection_structures",
      "cmd_get",
      "cmd_set",
      "cmd_flush",
      "cmd_touch",
      "cmd_meta",
      "get_hits",
      "get_misses",
      "get_expired",
      "get_flushed",
      "delete_misses",
      "delete_hits",
      "incr_misses",
      "incr_hits",
      "decr_misses",
      "decr_hits",
      "cas_misses",
      "cas_hits",
      "cas_badval",
      "touch_hits",
      "touch_misses",
      "bytes_read",
      "bytes_written",
      "limit_maxbytes",
      "accepting_conns",
      "threads",
      "bytes",
      "curr_items",
      "total_items",
      "evictions",
      "reclaimed",
  };
  std::size_t at = 0;
  for (const auto& [name, value] : s.list) {
    if (at < order.size() && name == order[at]) ++at;
  }
  EXPECT_EQ(at, order.size()) << "out of order or missing: " << order[std::min(at, order.size() - 1)];
  EXPECT_EQ(s.list.front().first, "pid");
  EXPECT_EQ(s.map.at("version"), h_.shared().settings.memcache_version);
  EXPECT_EQ(s.map.at("ferrite_version"), h_.shared().settings.version);
  EXPECT_EQ(s.num("pointer_size"), static_cast<std::int64_t>(sizeof(void*) * 8));
  // "seconds.microseconds": digits, a dot, exactly six digits. (Not std::regex: GCC 12 reports
  // a false -Wmaybe-uninitialized inside it in the ASan build.)
  const auto is_rusage = [](const std::string& v) {
    const std::size_t dot = v.find('.');
    if (dot == std::string::npos || dot == 0 || v.size() - dot - 1 != 6) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (i != dot && (v[i] < '0' || v[i] > '9')) return false;
    return true;
  };
  EXPECT_TRUE(is_rusage(s.map.at("rusage_user"))) << s.map.at("rusage_user");
  EXPECT_TRUE(is_rusage(s.map.at("rusage_system"))) << s.map.at("rusage_system");
  EXPECT_NEAR(static_cast<double>(s.num("time")), static_cast<double>(h_.exec().unix_ms() / 1000), 2.0);
  EXPECT_LE(s.num("uptime"), 2);
  EXPECT_EQ(s.num("limit_maxbytes"), std::int64_t{64} << 20);
  EXPECT_EQ(s.num("threads"), 1);
  EXPECT_EQ(s.num("accepting_conns"), 1);
}

// The worker counters whose FERRITE_WORKER_COUNTERS row names a memcached field are in `stats`
// under that name, with their value; the others are not there under their own names.
TEST_F(MemcacheStats, WorkerCountersWithAMemcachedNameAreListed) {
  using engine::kWorkerCounters;
  for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
    (h_.stats().*kWorkerCounters[i].counter).add(static_cast<std::int64_t>(1000 + i));
  }
  const Stats s = stats("");
  std::size_t listed = 0;
  for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
    const engine::WorkerCounter& c = kWorkerCounters[i];
    SCOPED_TRACE(std::string(c.name));
    if (c.mc_slot == engine::McSlot::kNone) {
      EXPECT_EQ(s.map.count(std::string(c.name)), 0u);
      continue;
    }
    ++listed;
    EXPECT_EQ(s.num(std::string(c.mc_name)), static_cast<std::int64_t>(1000 + i));
  }
  EXPECT_EQ(listed, 3u);  // rejected_connections, bytes_read, bytes_written
}

TEST_F(MemcacheStats, CountsItemsHitsAndCommands) {
  send(mb_set("a", "1") + mb_set("b", "22") + mb_set("c", "333") + mb_set("a", "x", 0, 0, 0, Opcode::kAdd) +
       get("a") + get("b") + get("nope") + request(Opcode::kDelete, {}, "c", {}) +
       request(Opcode::kDelete, {}, "c", {}) + request(Opcode::kTouch, be32(100), "a", {}) +
       request(Opcode::kTouch, be32(100), "gone", {}) + request(Opcode::kGat, be32(100), "b", {}) +
       mb_set("b", "y", 0, 0, 12345) + request(Opcode::kFlush, be32(1000), {}, {}));
  const Stats s = stats("");
  EXPECT_EQ(s.num("curr_items"), 2);
  EXPECT_EQ(s.num("total_items"), 3);
  EXPECT_GT(s.num("bytes"), 0);
  EXPECT_EQ(s.num("cmd_get"), 4);  // 3 gets + 1 gat
  EXPECT_EQ(s.num("get_hits"), 3);
  EXPECT_EQ(s.num("get_misses"), 1);
  EXPECT_EQ(s.num("cmd_set"), 5);  // 3 sets, 1 add, 1 cas
  EXPECT_EQ(s.num("cmd_touch"), 3);
  EXPECT_EQ(s.num("touch_hits"), 2);
  EXPECT_EQ(s.num("touch_misses"), 1);
  EXPECT_EQ(s.num("delete_hits"), 1);
  EXPECT_EQ(s.num("delete_misses"), 1);
  EXPECT_EQ(s.num("cas_badval"), 1);
  EXPECT_EQ(s.num("cas_hits"), 0);
  EXPECT_EQ(s.num("cmd_flush"), 1);
  EXPECT_EQ(s.num("cmd_meta"), 0);
}

TEST_F(MemcacheStats, IncrAndDecrHitsAreSplitByRequests) {
  // incr only: all of the store's arithmetic hits and misses are incr's
  send(mb_set("n", "5") + arith(Opcode::kIncrement, "n", 1, 0, 0) + arith(Opcode::kIncrement, "n", 1, 0, 0) +
       arith(Opcode::kIncrement, "m", 1, 0, mb::kNoCreate));
  Stats s = stats("");
  EXPECT_EQ(s.num("incr_hits"), 2);
  EXPECT_EQ(s.num("incr_misses"), 1);
  EXPECT_EQ(s.num("decr_hits"), 0);
  EXPECT_EQ(s.num("decr_misses"), 0);
  // one decr hit after three incr requests: 3 hits split 3:1
  send(arith(Opcode::kDecrement, "n", 1, 0, 0));
  s = stats("");
  EXPECT_EQ(s.num("incr_hits") + s.num("decr_hits"), 3);
  EXPECT_EQ(s.num("decr_hits"), 1);
  EXPECT_EQ(s.num("incr_misses") + s.num("decr_misses"), 1);
}

TEST_F(MemcacheStats, SettingsTakePortsFromTheConfiguration) {
  Stats s = stats("settings");
  ASSERT_TRUE(s.known);
  EXPECT_EQ(s.num("tcpport"), 0);
  EXPECT_EQ(s.num("udpport"), 0);
  EXPECT_EQ(s.num("maxbytes"), std::int64_t{64} << 20);
  EXPECT_EQ(s.num("item_size_max"), std::int64_t{1} << 20);
  EXPECT_EQ(s.num("maxconns"), 4096);
  EXPECT_EQ(s.map.at("evictions"), "on");
  EXPECT_EQ(s.map.at("cas_enabled"), "yes");
  EXPECT_EQ(s.list.front().first, "maxbytes");
  FakeConfig config;
  h_.shared().config = &config;
  h_.shared().settings.verbosity.store(2);
  s = stats("settings");
  EXPECT_EQ(s.num("tcpport"), 11311);
  EXPECT_EQ(s.num("udpport"), 0);
  EXPECT_EQ(s.map.at("inter"), "127.0.0.1");
  EXPECT_EQ(s.num("verbosity"), 2);
  h_.shared().config = nullptr;
}

TEST_F(MemcacheStats, ItemsAndSlabsDescribeTheStoreAsOneClass) {
  Stats s = stats("items");
  EXPECT_TRUE(s.known);
  EXPECT_TRUE(s.list.empty());
  send(mb_set("a", "1") + mb_set("b", "2"));
  s = stats("items");
  EXPECT_EQ(s.num("items:1:number"), 2);
  EXPECT_EQ(s.num("items:1:evicted"), 0);
  s = stats("slabs");
  ASSERT_TRUE(s.known);
  EXPECT_EQ(s.num("1:used_chunks"), 2);
  EXPECT_EQ(s.num("1:cmd_set"), 2);
  EXPECT_EQ(s.num("active_slabs"), 1);
  EXPECT_GT(s.num("total_malloced"), 0);
}

TEST_F(MemcacheStats, SizesConnsAndUnknownGroups) {
  Stats s = stats("sizes");
  EXPECT_TRUE(s.known);
  ASSERT_EQ(s.list.size(), 1u);
  EXPECT_EQ(s.map.at("sizes_status"), "disabled");
  s = stats("conns");
  EXPECT_TRUE(s.known);
  EXPECT_TRUE(s.list.empty());
  EXPECT_FALSE(stats("bogus").known);
  EXPECT_FALSE(stats("reset").known);
  EXPECT_FALSE(stats("settingsx").known);
}

TEST_F(MemcacheStats, ConnectionCountersComeFromTheSharedState) {
  h_.shared().connections.store(3);
  h_.shared().total_connections.store(10);
  h_.stats().connections_refused.add(2);
  h_.stats().bytes_read.add(100);
  h_.stats().bytes_written.add(250);
  const Stats s = stats("");
  EXPECT_EQ(s.num("curr_connections"), 3);
  EXPECT_EQ(s.num("total_connections"), 10);
  EXPECT_EQ(s.num("rejected_connections"), 2);
  EXPECT_EQ(s.num("bytes_read"), 100);
  EXPECT_EQ(s.num("bytes_written"), 250);
  h_.shared().settings.max_connections = 3;
  EXPECT_EQ(stats("").num("accepting_conns"), 0);
}

}  // namespace
}  // namespace ferrite::testing::mcb
