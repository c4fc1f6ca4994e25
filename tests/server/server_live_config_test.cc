// LiveConfig, the server's engine::ConfigAccess: CONFIG GET by glob, CONFIG SET of live keys
// (log.level, server.max_connections, server.max_reply_bytes and server.idle_timeout into the
// engine's settings; server.memory and server.policy into the store).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/live_config.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::server {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::vector<std::string> names(const Pairs& pairs) {
  std::vector<std::string> out;
  for (const auto& p : pairs) out.push_back(p.first);
  return out;
}

ServerConfig resolved(std::initializer_list<std::pair<std::string_view, std::string_view>> sets) {
  ConfigValues v;
  for (const auto& [k, text] : sets) EXPECT_EQ(v.set(k, text), "") << k;
  ServerConfig c;
  const std::vector<unsigned> cpus{0, 1};
  EXPECT_EQ(resolve_config(v, cpus, &c), std::vector<std::string>{});
  return c;
}

ServerConfig sample() { return resolved({{"server.memory", "2048MiB"}, {"listen.http", ""}}); }

// A server's live parts: engine settings and a small store, set up from `config` as main() does.
struct Server {
  explicit Server(const ServerConfig& c) {
    c.apply_to(settings);
    store = std::make_unique<store::Partitions>(c.store, 1);
  }
  engine::EngineSettings settings;
  std::unique_ptr<store::Partitions> store;
};

TEST(LiveConfig, GetsKeysByGlobInTableOrder) {
  const LiveConfig config(sample(), nullptr, nullptr);
  EXPECT_EQ(config.get("server.memory"), (Pairs{{"server.memory", "2GiB"}}));
  EXPECT_EQ(config.get("SERVER.MEMORY"), (Pairs{{"server.memory", "2GiB"}}));
  EXPECT_EQ(config.get("listen.http"), (Pairs{{"listen.http", ""}}));
  EXPECT_EQ(names(config.get("listen.*udp")),
            (std::vector<std::string>{"listen.memcache_udp", "listen.binary_udp"}));
  EXPECT_EQ(names(config.get("*.level")), (std::vector<std::string>{"log.level"}));
  EXPECT_EQ(names(config.get("server.max_[ik]*")),
            (std::vector<std::string>{"server.max_key_size", "server.max_item_size"}));
  EXPECT_EQ(config.get("server.*").size(), 14u);
  EXPECT_EQ(config.get("nothing*"), Pairs{});

  const Pairs all = config.get("*");
  ASSERT_EQ(all.size(), kKeyCount);
  for (std::size_t i = 0; i < kKeyCount; ++i) {
    EXPECT_EQ(all[i].first, all_settings()[i].name);
    EXPECT_EQ(all[i].second, sample().values.get(static_cast<Key>(i)));
  }
}

TEST(LiveConfig, SetsLogLevelAndTheEngineSeesIt) {
  Server server(resolved({{"server.memory", "16MiB"}}));
  LiveConfig config(resolved({{"server.memory", "16MiB"}}), &server.settings, server.store.get());
  EXPECT_EQ(server.settings.verbosity.load(), verbosity_for(LogLevel::kInfo));
  EXPECT_EQ(config.set("log.level", "debug"), "");
  EXPECT_EQ(server.settings.verbosity.load(), 3);
  EXPECT_EQ(config.get("log.level"), (Pairs{{"log.level", "debug"}}));
  EXPECT_EQ(config.set("LOG.LEVEL", "Error"), "");
  EXPECT_EQ(server.settings.verbosity.load(), 0);
  EXPECT_EQ(config.current().log_level, LogLevel::kError);
  EXPECT_EQ(config.current().values.get(Key::kLogLevel), "error");
}

TEST(LiveConfig, SetsTheSlowRequestThreshold) {
  Server server(resolved({{"server.memory", "16MiB"}}));
  LiveConfig config(resolved({{"server.memory", "16MiB"}}), &server.settings, server.store.get());
  EXPECT_EQ(server.settings.slow_request_ns.load(), 10'000'000u);
  EXPECT_EQ(config.set("log.slow_request_us", "250"), "");
  EXPECT_EQ(server.settings.slow_request_ns.load(), 250'000u);
  EXPECT_EQ(config.current().slow_request_us, 250u);
  EXPECT_NE(config.set("log.slow_request_us", "-1"), "");
  EXPECT_EQ(server.settings.slow_request_ns.load(), 250'000u);
  EXPECT_EQ(config.set("log.slow_request_us", "0"), "");
  EXPECT_EQ(server.settings.slow_request_ns.load(), 0u);
  EXPECT_NE(config.set("udp.max_datagram", "512"), "");  // needs a restart
}

TEST(LiveConfig, TargetsCanBeSetAfterConstruction) {
  const ServerConfig c = resolved({{"server.memory", "64MiB"}});
  LiveConfig config(c, nullptr, nullptr);
  Server server(c);
  config.set_targets(&server.settings, server.store.get());
  EXPECT_EQ(config.set("server.memory", "48MiB"), "");
  EXPECT_EQ(server.store->memory_limit(), std::size_t{48} << 20);
  EXPECT_EQ(config.set("log.level", "warn"), "");
  EXPECT_EQ(server.settings.verbosity.load(), 1);
}

TEST(LiveConfig, ReadsLogLevelBackFromVerbosity) {
  const ServerConfig c = resolved({});
  engine::EngineSettings settings;
  c.apply_to(settings);
  const LiveConfig config(c, &settings, nullptr);
  settings.verbosity.store(1);  // memcached's `verbosity 1`
  EXPECT_EQ(config.get("log.level"), (Pairs{{"log.level", "warn"}}));
  EXPECT_EQ(config.current().log_level, LogLevel::kWarn);
  settings.verbosity.store(7);
  EXPECT_EQ(config.get("log.level"), (Pairs{{"log.level", "debug"}}));
}

TEST(LiveConfig, LowersAndRaisesTheStoresMemoryLimit) {
  const ServerConfig c = resolved({{"server.memory", "64MiB"}});
  Server server(c);
  LiveConfig config(c, &server.settings, server.store.get());
  EXPECT_EQ(config.set("server.memory", "32MiB"), "");
  EXPECT_EQ(server.store->memory_limit(), std::size_t{32} << 20);
  EXPECT_EQ(config.get("server.memory"), (Pairs{{"server.memory", "32MiB"}}));
  EXPECT_EQ(config.current().store.memory_limit, std::size_t{32} << 20);
  EXPECT_EQ(config.set("server.memory", "67108864"), "");
  EXPECT_EQ(server.store->memory_limit(), std::size_t{64} << 20);
  EXPECT_EQ(config.get("server.memory"), (Pairs{{"server.memory", "64MiB"}}));

  // The store refuses to grow past its start-up size; the message says why.
  EXPECT_EQ(config.set("server.memory", "128MiB"),
            "server.memory: \"128MiB\": " + server.store->set_memory_limit(std::size_t{128} << 20));
  EXPECT_EQ(config.set("server.memory", "3MiB"),
            "server.memory: \"3MiB\" is out of range; expected a size from 8MiB to 16TiB (bytes, or a number "
            "with a "
            "unit: B, KiB, MiB, GiB, TiB)");
  EXPECT_EQ(server.store->memory_limit(), std::size_t{64} << 20);
  EXPECT_EQ(config.get("server.memory"), (Pairs{{"server.memory", "64MiB"}}));
}

TEST(LiveConfig, MemoryStaysAtLeastFourItems) {
  const ServerConfig c = resolved({{"server.memory", "64MiB"}, {"server.max_item_size", "4MiB"}});
  LiveConfig config(c, nullptr, nullptr);
  EXPECT_EQ(config.set("server.memory", "16MiB"), "");
  EXPECT_EQ(config.set("server.memory", "12MiB"),
            "server.memory: \"12MiB\" is less than 4 times server.max_item_size (4MiB); expected at "
            "least 16MiB");
  EXPECT_EQ(config.get("server.memory"), (Pairs{{"server.memory", "16MiB"}}));
}

TEST(LiveConfig, SwitchesTheStoresPolicy) {
  const ServerConfig c = resolved({{"server.memory", "16MiB"}});
  Server server(c);
  LiveConfig config(c, &server.settings, server.store.get());
  EXPECT_EQ(server.store->policy(), store::EvictionPolicy::kClock);
  EXPECT_EQ(config.set("server.policy", "LFU"), "");
  EXPECT_EQ(server.store->policy(), store::EvictionPolicy::kLfu);
  EXPECT_EQ(config.get("server.policy"), (Pairs{{"server.policy", "lfu"}}));
  EXPECT_EQ(config.current().store.policy, store::EvictionPolicy::kLfu);
  EXPECT_EQ(config.digest(), resolved({{"server.memory", "16MiB"}, {"server.policy", "lfu"}}).digest());

  EXPECT_EQ(config.set("server.policy", "lru"),
            "server.policy: \"lru\" is not allowed; expected one of clock, lfu");
  EXPECT_EQ(server.store->policy(), store::EvictionPolicy::kLfu);
  EXPECT_EQ(config.set("server.policy", "clock"), "");
  EXPECT_EQ(server.store->policy(), store::EvictionPolicy::kClock);
  EXPECT_EQ(config.get("server.policy"), (Pairs{{"server.policy", "clock"}}));
}

// server.max_conn_buffer_bytes: 0 is server.memory / 8 (at least 32MiB); a live change moves
// the budget's limit, and its pool with it.
TEST(LiveConfig, SetsTheConnectionBufferBudget) {
  const ServerConfig c = resolved({{"server.memory", "1GiB"}});
  EXPECT_EQ(c.max_conn_buffer_bytes, std::size_t{128} << 20);
  EXPECT_EQ(resolved({{"server.memory", "16MiB"}}).max_conn_buffer_bytes, std::size_t{32} << 20);
  Server server(resolved({{"server.memory", "16MiB"}}));
  LiveConfig config(c, &server.settings, nullptr);
  // A budget that could not receive one request of server.max_item_size (16MiB here) is refused.
  EXPECT_EQ(
      config.set("server.max_conn_buffer_bytes", "16MiB"),
      "server.max_conn_buffer_bytes: \"16MiB\" is too small: server.max_item_size (16MiB) plus 64KiB of "
      "request headers is more than server.max_conn_buffer_bytes (16MiB): a value that size could never be "
      "received; expected at most 16320KiB or a larger server.max_conn_buffer_bytes");
  EXPECT_EQ(server.settings.conn_buffers.limit(), std::size_t{32} << 20);
  EXPECT_EQ(config.set("server.max_conn_buffer_bytes", "20MiB"), "");
  EXPECT_EQ(server.settings.conn_buffers.limit(), std::size_t{20} << 20);
  EXPECT_EQ(server.settings.conn_buffers.room(0), std::int64_t{20} << 20);
  EXPECT_EQ(config.get("server.max_conn_buffer_bytes"), (Pairs{{"server.max_conn_buffer_bytes", "20MiB"}}));
  EXPECT_EQ(config.set("server.max_conn_buffer_bytes", "0"), "");
  EXPECT_EQ(server.settings.conn_buffers.limit(), std::size_t{128} << 20);
  EXPECT_EQ(config.current().max_conn_buffer_bytes, std::size_t{128} << 20);
}

// server.max_item_size: 0 is server.memory / 64 within 1MiB..512MiB (and what the budget can
// receive); a live change moves the store's limit and the engine's request bound together.
TEST(LiveConfig, SetsTheItemSizeLimitLive) {
  EXPECT_EQ(resolved({{"server.memory", "1GiB"}}).store.max_item_size, std::size_t{16} << 20);
  EXPECT_EQ(resolved({{"server.memory", "64MiB"}}).store.max_item_size, std::size_t{1} << 20);
  EXPECT_EQ(resolved({{"server.memory", "64GiB"}}).store.max_item_size, std::size_t{512} << 20);
  EXPECT_EQ(resolved({{"server.memory", "1GiB"}}).max_request_bytes, (std::size_t{16} << 20) + (64 << 10));
  // A small explicit budget makes the automatic limit fit it.
  EXPECT_EQ(
      resolved({{"server.memory", "1GiB"}, {"server.max_conn_buffer_bytes", "8MiB"}}).store.max_item_size,
      (std::size_t{8} << 20) - (64 << 10));
  const ServerConfig c = resolved({{"server.memory", "256MiB"}});
  Server server(c);
  LiveConfig config(c, &server.settings, server.store.get());
  EXPECT_EQ(server.store->max_item_size(), std::size_t{4} << 20);
  EXPECT_EQ(config.set("server.max_item_size", "20MiB"), "");
  EXPECT_EQ(server.store->max_item_size(), std::size_t{20} << 20);
  EXPECT_EQ(server.store->at(0).max_item_size(), std::size_t{20} << 20);
  EXPECT_EQ(server.settings.max_request_bytes.load(), (std::size_t{20} << 20) + (64 << 10));
  EXPECT_EQ(config.get("server.max_item_size"), (Pairs{{"server.max_item_size", "20MiB"}}));
  EXPECT_EQ(
      config.set("server.max_item_size", "65MiB"),
      "server.max_item_size: \"65MiB\" is more than a quarter of server.memory (256MiB); expected at most "
      "64MiB");
  // The budget (32MiB here) cannot receive a 40MiB value.
  EXPECT_EQ(
      config.set("server.max_item_size", "40MiB").rfind("server.max_item_size: \"40MiB\" plus 64KiB", 0), 0u);
  EXPECT_NE(config.set("server.max_item_size", "1GiB"), "");
  EXPECT_EQ(server.store->max_item_size(), std::size_t{20} << 20);  // nothing changed
  EXPECT_EQ(config.set("server.max_item_size", "0"), "");           // automatic again
  EXPECT_EQ(server.store->max_item_size(), std::size_t{4} << 20);
  EXPECT_EQ(server.settings.max_request_bytes.load(), (std::size_t{4} << 20) + (64 << 10));
  // The store refuses a value over the limit now in force.
  auto ctx = server.store->at(0).attach();
  EXPECT_EQ(ctx->set(store::make_key("k"), std::string((4 << 20) + 1, 'v'), {}).status,
            store::Status::kTooLarge);
  EXPECT_EQ(ctx->set(store::make_key("k"), std::string(4 << 20, 'v'), {}).status, store::Status::kOk);
}

TEST(LiveConfig, SetsConnectionLimitsAndTheEngineSeesThem) {
  const ServerConfig c = resolved({{"server.memory", "16MiB"}});
  Server server(c);
  LiveConfig config(c, &server.settings, server.store.get());
  EXPECT_EQ(server.settings.max_connections.load(), 4096u);
  EXPECT_EQ(server.settings.max_reply_bytes.load(), std::size_t{4} << 20);
  EXPECT_EQ(server.settings.idle_timeout_ms.load(), 0u);

  EXPECT_EQ(config.set("server.max_connections", "2"), "");
  EXPECT_EQ(server.settings.max_connections.load(), 2u);
  EXPECT_EQ(config.get("server.max_connections"), (Pairs{{"server.max_connections", "2"}}));
  EXPECT_EQ(config.current().max_connections, 2u);

  EXPECT_EQ(config.set("server.max_reply_bytes", "64KiB"), "");
  EXPECT_EQ(server.settings.max_reply_bytes.load(), std::size_t{64} << 10);
  EXPECT_EQ(config.get("server.max_reply_bytes"), (Pairs{{"server.max_reply_bytes", "64KiB"}}));
  EXPECT_EQ(config.current().max_reply_bytes, std::size_t{64} << 10);

  EXPECT_EQ(config.set("server.idle_timeout", "2m"), "");
  EXPECT_EQ(server.settings.idle_timeout_ms.load(), 120'000u);
  EXPECT_EQ(config.get("server.idle_timeout"), (Pairs{{"server.idle_timeout", "120"}}));
  EXPECT_EQ(config.current().idle_timeout_ms, 120'000u);
  EXPECT_EQ(config.set("server.idle_timeout", "5"), "");  // seconds, as CONFIG SET timeout sends
  EXPECT_EQ(server.settings.idle_timeout_ms.load(), 5'000u);
  EXPECT_EQ(config.get("server.idle_timeout"), (Pairs{{"server.idle_timeout", "5"}}));
  EXPECT_EQ(config.digest(), resolved({{"server.memory", "16MiB"},
                                       {"server.max_connections", "2"},
                                       {"server.max_reply_bytes", "64KiB"},
                                       {"server.idle_timeout", "5"}})
                                 .digest());

  // Out of range: nothing changes.
  EXPECT_NE(config.set("server.max_connections", "0"), "");
  EXPECT_NE(config.set("server.max_reply_bytes", "1KiB"), "");
  EXPECT_NE(config.set("server.idle_timeout", "-1"), "");
  EXPECT_EQ(server.settings.max_connections.load(), 2u);
  EXPECT_EQ(server.settings.max_reply_bytes.load(), std::size_t{64} << 10);
  EXPECT_EQ(server.settings.idle_timeout_ms.load(), 5'000u);

  EXPECT_EQ(config.set("server.idle_timeout", "0"), "");
  EXPECT_EQ(server.settings.idle_timeout_ms.load(), 0u);
}

TEST(LiveConfig, EveryLiveKeyIsApplied) {
  LiveConfig config(resolved({}), nullptr, nullptr);
  for (const Setting& s : all_settings()) {
    if (s.live) {
      EXPECT_EQ(config.set(s.name, s.default_value), "") << s.name;
    }
  }
}

// The settings the engine names by id (RESP CONFIG, memcached's stats settings) are the table's
// keys of these names: read and changed as by name, errors included.
TEST(LiveConfig, EngineIdsNameTheirKeys) {
  const std::pair<engine::ServerSetting, std::string_view> ids[] = {
      {engine::ServerSetting::kMemory, "server.memory"},
      {engine::ServerSetting::kPolicy, "server.policy"},
      {engine::ServerSetting::kMaxItemSize, "server.max_item_size"},
      {engine::ServerSetting::kMaxConnections, "server.max_connections"},
      {engine::ServerSetting::kIdleTimeout, "server.idle_timeout"},
      {engine::ServerSetting::kListenMemcache, "listen.memcache"},
      {engine::ServerSetting::kListenMemcacheUdp, "listen.memcache_udp"},
      {engine::ServerSetting::kListenResp, "listen.resp"},
  };
  Server server(resolved({{"server.memory", "16MiB"}}));
  LiveConfig config(sample(), &server.settings, server.store.get());
  for (const auto& [id, name] : ids) {
    const Pairs by_name = config.get(name);
    ASSERT_EQ(by_name.size(), 1u) << name;
    EXPECT_EQ(config.get(id), by_name.front().second) << name;
    EXPECT_EQ(config.set(id, "nonsense"), config.set(name, "nonsense")) << name;
  }
  EXPECT_EQ(config.set(engine::ServerSetting::kMaxConnections, "77"), "");
  EXPECT_EQ(server.settings.max_connections.load(), 77u);
  EXPECT_EQ(config.get(engine::ServerSetting::kMaxConnections), "77");
  EXPECT_EQ(config.set(engine::ServerSetting::kPolicy, "lfu"), "");
  EXPECT_EQ(config.get("server.policy"), (Pairs{{"server.policy", "lfu"}}));
}

TEST(LiveConfig, RefusesKeysThatNeedARestart) {
  Server server(resolved({{"server.memory", "16MiB"}}));
  LiveConfig config(sample(), &server.settings, server.store.get());
  EXPECT_EQ(config.set("server.workers", "1"),
            "server.workers: cannot change while ferrited runs (set it in the configuration file, or with "
            "--set, and "
            "restart)");
  EXPECT_EQ(
      config.set("listen.resp", "127.0.0.1:6380"),
      "listen.resp: cannot change while ferrited runs (set it in the configuration file, or with --set, and "
      "restart)");
  EXPECT_EQ(config.current().values, sample().values);
  EXPECT_EQ(config.digest(), sample().digest());
}

TEST(LiveConfig, UnknownKeysAndBadValuesSayWhatIsWrong) {
  LiveConfig config(resolved({}), nullptr, nullptr);
  EXPECT_EQ(config.set("log.levle", "debug"), "log.levle: unknown key (did you mean \"log.level\"?)");
  EXPECT_EQ(config.set("maxmemory", "1gb"), "maxmemory: unknown key (see ferrited --describe-config)");
  EXPECT_EQ(config.set("log.level", "loud"),
            "log.level: \"loud\" is not allowed; expected one of error, warn, info, debug");
  EXPECT_EQ(config.current().values, ConfigValues());
}

TEST(LiveConfig, DigestFollowsLiveChanges) {
  LiveConfig config(resolved({}), nullptr, nullptr);
  const std::string before = config.digest();
  EXPECT_EQ(before, resolved({}).digest());
  EXPECT_EQ(config.set("log.level", "debug"), "");
  EXPECT_NE(config.digest(), before);
  EXPECT_EQ(config.digest(), resolved({{"log.level", "debug"}}).digest());
}

}  // namespace
}  // namespace ferrite::server

namespace ferrite::server {
namespace {

// persist.fsync changes the append-only file's policy live (Redis's CONFIG SET appendfsync); the
// other [persist] keys need a restart.
TEST(LiveConfig, PersistFsyncReachesTheAppendOnlyFile) {
  ServerConfig c = resolved({{"persist.mode", "aof"}, {"persist.fsync", "no"}});
  EXPECT_TRUE(c.persist.aof());
  EXPECT_EQ(c.persist.fsync, persist::FsyncPolicy::kNo);
  store::Store clock(c.store);
  persist::AofOptions o;
  o.dir = "unused";  // never started
  o.fsync = c.persist.fsync;
  persist::AofWriter aof(o, clock);
  LiveConfig config(c, nullptr, nullptr);
  config.set_aof(&aof);
  EXPECT_EQ(config.set("persist.fsync", "ALWAYS"), "");
  EXPECT_EQ(aof.fsync(), persist::FsyncPolicy::kAlways);
  EXPECT_TRUE(aof.durability(0).wait_for_disk());
  EXPECT_EQ(config.get("persist.fsync"), (Pairs{{"persist.fsync", "always"}}));
  EXPECT_EQ(config.current().persist.fsync, persist::FsyncPolicy::kAlways);
  EXPECT_NE(config.set("persist.fsync", "sometimes").find("expected one of always, everysec, no"), std::string::npos);
  EXPECT_NE(config.set("persist.ring_bytes", "16MiB").find("cannot change while ferrited runs"), std::string::npos);
}

}  // namespace
}  // namespace ferrite::server
