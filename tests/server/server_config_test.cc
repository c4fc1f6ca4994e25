// ConfigValues (defaults, TOML, --set) and the resolved ServerConfig (workers and CPUs, listeners,
// cross-key checks, engine settings, digest); configs/ferrite.toml against the built-in defaults.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/config.h"
#include "server/partition_plan.h"
#include "server_test_util.h"

namespace ferrite::server {
namespace {

using testing::load;

const std::vector<unsigned> kFourCpus{0, 1, 2, 3};

std::string size_allowed(std::string_view range) {
  return "a size from " + std::string(range) + " (bytes, or a number with a unit: B, KiB, MiB, GiB, TiB)";
}

// Resolves `values` on four CPUs; returns the errors.
std::vector<std::string> resolve(const ConfigValues& values, ServerConfig* out,
                                 const std::vector<unsigned>& cpus = kFourCpus) {
  return resolve_config(values, cpus, out);
}

ConfigValues with(std::initializer_list<std::pair<std::string_view, std::string_view>> sets) {
  ConfigValues v;
  for (const auto& [k, text] : sets) EXPECT_EQ(v.set(k, text), "") << k;
  return v;
}

TEST(Config, DefaultsResolveToTheContract) {
  ServerConfig c;
  ASSERT_EQ(resolve(ConfigValues(), &c), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 4u);
  EXPECT_EQ(c.worker_cpus, kFourCpus);
  EXPECT_EQ(c.store.memory_limit, std::size_t{1} << 30);
  EXPECT_EQ(c.store.policy, store::EvictionPolicy::kClock);
  EXPECT_EQ(c.store.max_key_size, 250u);
  EXPECT_EQ(c.store.max_item_size, std::size_t{16} << 20);  // automatic: memory / 64
  EXPECT_EQ(c.store.item_size_hint, 64u);
  EXPECT_EQ(c.store.max_contexts, 4u);
  EXPECT_EQ(c.max_connections, 4096u);
  EXPECT_EQ(c.max_reply_bytes, std::size_t{4} << 20);
  EXPECT_EQ(c.max_request_bytes, (std::size_t{16} << 20) + (std::size_t{64} << 10));
  EXPECT_EQ(c.idle_timeout_ms, 0u);
  EXPECT_EQ(c.poll, PollMode::kAdaptive);
  EXPECT_EQ(c.driver, Driver::kUring);
  EXPECT_EQ(c.log_level, LogLevel::kInfo);
  EXPECT_EQ(c.mgmt_socket, "/run/ferrite/ferrited.sock");
  const char* expected[kListenerCount] = {
      "127.0.0.1:11211", "", "127.0.0.1:6379", "127.0.0.1:8080", "127.0.0.1:7070", "127.0.0.1:7070"};
  for (std::size_t i = 0; i < kListenerCount; ++i) {
    const auto l = static_cast<Listener>(i);
    EXPECT_EQ(c.listener(l).text(), expected[i]) << listener_name(l);
    EXPECT_EQ(c.listener(l).enabled(), expected[i][0] != '\0') << listener_name(l);
  }
  EXPECT_EQ(c.values, ConfigValues());
}

TEST(Config, ListenerNamesFollowTheListenSection) {
  for (std::size_t i = 0; i < kListenerCount; ++i) {
    const auto l = static_cast<Listener>(i);
    const Setting& s = setting(static_cast<Key>(static_cast<std::size_t>(Key::kListenMemcache) + i));
    EXPECT_EQ(s.short_name(), listener_name(l));
    EXPECT_EQ(listener_is_udp(l), s.short_name().ends_with("_udp"));
  }
}

TEST(Config, DefaultFileEqualsTheBuiltInDefaults) {
  const std::string path = testing::default_config_path();
  ASSERT_FALSE(path.empty()) << "FERRITE_CONFIG_TOML is not set (tests/server/meson.build sets it)";
  ConfigValues values = with({{"server.workers", "7"}});
  std::vector<std::string> errors;
  values.load_toml_file(path, &errors);
  EXPECT_EQ(errors, std::vector<std::string>{});
  EXPECT_EQ(values.get(Key::kWorkers), "0");
  EXPECT_EQ(values, ConfigValues());
}

TEST(Config, DefaultFileSetsEveryKey) {
  const std::string path = testing::default_config_path();
  ASSERT_FALSE(path.empty()) << "FERRITE_CONFIG_TOML is not set (tests/server/meson.build sets it)";
  const std::set<std::string> keys = testing::keys_in_toml(testing::read_file(path));
  for (const Setting& s : all_settings())
    EXPECT_EQ(keys.count(std::string(s.name)), 1u) << s.name << " missing";
  EXPECT_EQ(keys.size(), kKeyCount);
}

TEST(Config, DescribeConfigLoadsAsTheDefaults) {
  ConfigValues values = with({{"server.policy", "lfu"}, {"listen.http", ""}});
  EXPECT_EQ(load(describe_config(), &values), std::vector<std::string>{});
  EXPECT_EQ(values, ConfigValues());
}

TEST(Config, TomlSetsKeysInAnySpelling) {
  ConfigValues v;
  EXPECT_EQ(load("[server]\n"
                 "workers = 2\n"
                 "memory = \"2048MiB\"\n"
                 "item_size_hint = 128\n"
                 "max_item_size = 4194304\n"
                 "max_connections = \"100\"\n"
                 "idle_timeout = \"5m\"\n"
                 "policy = \"LFU\"\n"
                 "cpus = \"1, 0\"\n"
                 "[listen]\n"
                 "http = \"\"\n"
                 "resp = \"[::1]:0\"\n"
                 "[log]\n"
                 "level = \"debug\"\n",
                 &v),
            std::vector<std::string>{});
  EXPECT_EQ(v.get(Key::kWorkers), "2");
  EXPECT_EQ(v.get(Key::kMemory), "2GiB");
  EXPECT_EQ(v.get(Key::kItemSizeHint), "128");
  EXPECT_EQ(v.get(Key::kMaxItemSize), "4MiB");
  EXPECT_EQ(v.get(Key::kMaxConnections), "100");
  EXPECT_EQ(v.get(Key::kIdleTimeout), "300");
  EXPECT_EQ(v.get(Key::kPolicy), "lfu");
  EXPECT_EQ(v.get(Key::kCpus), "1,0");
  EXPECT_EQ(v.get(Key::kListenHttp), "");
  EXPECT_EQ(v.get(Key::kListenResp), "[::1]:0");
  EXPECT_EQ(v.get(Key::kLogLevel), "debug");
  EXPECT_EQ(v.get(Key::kDriver), "uring");  // untouched

  ServerConfig c;
  ASSERT_EQ(resolve(v, &c), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{1, 0}));
  EXPECT_EQ(c.store.memory_limit, std::size_t{2} << 30);
  EXPECT_EQ(c.store.policy, store::EvictionPolicy::kLfu);
  EXPECT_EQ(c.store.item_size_hint, 128u);
  EXPECT_EQ(c.max_request_bytes, (std::size_t{4} << 20) + (std::size_t{64} << 10));
  EXPECT_EQ(c.idle_timeout_ms, 300000u);
  EXPECT_EQ(c.log_level, LogLevel::kDebug);
  EXPECT_FALSE(c.listener(Listener::kHttp).enabled());
  EXPECT_EQ(c.listener(Listener::kResp).family, AF_INET6);
  EXPECT_EQ(c.listener(Listener::kResp).port, 0);
}

TEST(Config, TomlUnknownKeysSuggestTheNearest) {
  ConfigValues v;
  EXPECT_EQ(load("[server]\n"
                 "memroy = \"2GiB\"\n"
                 "[store]\n"
                 "memory = \"256MiB\"\n"
                 "max_key_size = 250\n"
                 "bananas = 1\n",
                 &v),
            (std::vector<std::string>{
                "test.toml:2: server.memroy: unknown key (did you mean \"server.memory\"?)",
                "test.toml:4: store.memory: unknown key (did you mean \"server.memory\"?)",
                "test.toml:5: store.max_key_size: unknown key (did you mean \"server.max_key_size\"?)",
                "test.toml:6: store.bananas: unknown key (see ferrited --describe-config)",
            }));
  EXPECT_EQ(load("workers = 2\n", &v),
            std::vector<std::string>{"test.toml:1: workers: unknown key (did you mean \"server.workers\"?)"});
  EXPECT_EQ(load("[serevr]\n", &v),
            std::vector<std::string>{"test.toml:1: serevr: unknown section (did you mean \"server\"?)"});
  EXPECT_EQ(
      load("\n[fruit]\n", &v),
      std::vector<std::string>{"test.toml:2: fruit: unknown section (known: server, listen, log, mgmt)"});
  EXPECT_EQ(load("[server.memory]\nx = 1\n", &v),
            std::vector<std::string>{"test.toml:1: server.memory: got a table; expected " +
                                     size_allowed("8MiB to 16TiB")});
  EXPECT_EQ(v, ConfigValues());
}

TEST(Config, TomlWrongTypesNameKeyValueAndWhatIsAllowed) {
  ConfigValues v;
  EXPECT_EQ(load("[server]\n"
                 "policy = 1\n"
                 "memory = true\n"
                 "workers = 1.5\n"
                 "cpus = [0, 1]\n"
                 "[listen]\n"
                 "memcache = 11211\n",
                 &v),
            (std::vector<std::string>{
                "test.toml:2: server.policy: got an integer (1); expected one of clock, lfu",
                "test.toml:3: server.memory: got a boolean (true); expected " + size_allowed("8MiB to 16TiB"),
                "test.toml:4: server.workers: got a float (1.5); expected an integer from 0 to 64",
                "test.toml:5: server.cpus: got an array; expected CPU ids and ranges below 1024 such as "
                "\"0-3,8\", or "
                "\"\" for the CPUs this process may run on",
                "test.toml:7: listen.memcache: got an integer (11211); expected \"host:port\" with a numeric "
                "IPv4 host "
                "or a bracketed IPv6 host (\"127.0.0.1:11211\", \"[::1]:11211\"), port 0 for any free port, "
                "or \"\" "
                "for off",
            }));
  EXPECT_EQ(v, ConfigValues());
}

TEST(Config, TomlBadValuesNameKeyValueAndWhatIsAllowed) {
  ConfigValues v;
  EXPECT_EQ(load("[server]\n"
                 "workers = 100\n"
                 "memory = -1\n"
                 "max_item_size = \"1 furlong\"\n"
                 "poll = \"sometimes\"\n"
                 "[listen]\n"
                 "resp = \"localhost:6379\"\n",
                 &v),
            (std::vector<std::string>{
                "test.toml:2: server.workers: 100 is out of range; expected an integer from 0 to 64",
                "test.toml:3: server.memory: -1 is out of range; expected " + size_allowed("8MiB to 16TiB"),
                "test.toml:4: server.max_item_size: \"1 furlong\" is not a size; expected " +
                    size_allowed("0 to 512MiB"),
                "test.toml:5: server.poll: \"sometimes\" is not allowed; expected one of adaptive, busy",
                "test.toml:7: listen.resp: \"localhost:6379\" has a host that is not a numeric IPv4 address; "
                "expected "
                "\"host:port\" with a numeric IPv4 host or a bracketed IPv6 host (\"127.0.0.1:11211\", "
                "\"[::1]:11211\"), port 0 for any free port, or \"\" for off",
            }));
}

TEST(Config, TomlWithAnyErrorChangesNothing) {
  ConfigValues v;
  EXPECT_EQ(load("[server]\nworkers = 3\npolicy = \"lru\"\n", &v).size(), 1u);
  EXPECT_EQ(v, ConfigValues());
}

TEST(Config, TomlSyntaxErrorsHaveFileLineAndColumn) {
  ConfigValues v;
  auto errors = load("[server]\nworkers = \n", &v);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("test.toml:2:")) << errors[0];
  errors = load("[server]\nworkers = 1\nworkers = 2\n", &v);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("test.toml:3:")) << errors[0];
  EXPECT_NE(errors[0].find("workers"), std::string::npos) << errors[0];
  errors = load("[server\n", &v);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_TRUE(errors[0].starts_with("test.toml:1:")) << errors[0];
  EXPECT_EQ(v, ConfigValues());
}

TEST(Config, UnreadableFileIsNamed) {
  ConfigValues v;
  std::vector<std::string> errors;
  v.load_toml_file("/nonexistent/ferrite.toml", &errors);
  EXPECT_EQ(errors,
            std::vector<std::string>{
                "/nonexistent/ferrite.toml: cannot read the configuration file: No such file or directory"});
}

TEST(Config, OverridesParseTheKeysType) {
  ConfigValues v;
  EXPECT_EQ(v.apply_override("server.memory=2GiB"), "");
  EXPECT_EQ(v.apply_override("listen.http="), "");
  EXPECT_EQ(v.apply_override("server.policy=\"lfu\""), "");
  EXPECT_EQ(v.apply_override("SERVER.Workers=2"), "");
  EXPECT_EQ(v.apply_override("mgmt.socket=/tmp/a=b.sock"), "");
  EXPECT_EQ(v.get(Key::kMemory), "2GiB");
  EXPECT_EQ(v.get(Key::kListenHttp), "");
  EXPECT_EQ(v.get(Key::kPolicy), "lfu");
  EXPECT_EQ(v.get(Key::kWorkers), "2");
  EXPECT_EQ(v.get(Key::kMgmtSocket), "/tmp/a=b.sock");

  EXPECT_EQ(v.apply_override("server.memory"),
            "--set \"server.memory\": expected section.key=value, such as server.workers=2");
  EXPECT_EQ(v.apply_override("server.memroy=1GiB"),
            "--set server.memroy: unknown key (did you mean \"server.memory\"?)");
  EXPECT_EQ(v.apply_override("server.policy=lru"),
            "--set server.policy: \"lru\" is not allowed; expected one of clock, lfu");
  EXPECT_EQ(v.apply_override("server.workers=-3"),
            "--set server.workers: \"-3\" is out of range; expected an integer from 0 to 64");
  EXPECT_EQ(v.get(Key::kPolicy), "lfu");
  EXPECT_EQ(v.set("server.max_key_size", "1000"), "");
  EXPECT_EQ(v.get(Key::kMaxKeySize), "1000");
}

TEST(Config, LoadAppliesFileThenOverridesInOrder) {
  const testing::TempFile file("load.toml", "[server]\nworkers = 3\nmemory = \"512MiB\"\n");
  const std::vector<std::string> overrides{"server.memory=256MiB", "server.memory=128MiB",
                                           "listen.binary_udp="};
  ServerConfig c;
  ASSERT_EQ(load_server_config(file.path(), overrides, kFourCpus, &c), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.store.memory_limit, std::size_t{128} << 20);
  EXPECT_FALSE(c.listener(Listener::kBinaryUdp).enabled());

  ASSERT_EQ(load_server_config("", {}, kFourCpus, &c), std::vector<std::string>{});
  EXPECT_EQ(c.values, ConfigValues());

  // Every error at once: the file's and each override's.
  const testing::TempFile bad("bad.toml", "[server]\npolicy = \"lru\"\n");
  const std::vector<std::string> bad_overrides{"server.bogus=1", "log.level=loud"};
  EXPECT_EQ(load_server_config(bad.path(), bad_overrides, kFourCpus, &c),
            (std::vector<std::string>{
                bad.path() + ":2: server.policy: \"lru\" is not allowed; expected one of clock, lfu",
                "--set server.bogus: unknown key (see ferrited --describe-config)",
                "--set log.level: \"loud\" is not allowed; expected one of error, warn, info, debug",
            }));
}

TEST(Config, MaxItemSizeIsAtMostAQuarterOfMemory) {
  ServerConfig c;
  EXPECT_EQ(resolve(with({{"server.memory", "8MiB"}, {"server.max_item_size", "2MiB"}}), &c),
            std::vector<std::string>{});
  EXPECT_EQ(resolve(with({{"server.memory", "8MiB"}, {"server.max_item_size", "3MiB"}}), &c),
            std::vector<std::string>{"server.max_item_size: \"3MiB\" is more than a quarter of server.memory "
                                     "(\"8MiB\"); expected at most 2MiB"});
}

TEST(Config, PersistModesSayWhetherTheyKeepAnAppendOnlyFileAndSnapshots) {
  const struct {
    const char* mode;
    bool aof, snapshots;
  } cases[] = {{"off", false, false}, {"aof", true, false}, {"snapshot", false, true}, {"both", true, true}};
  for (const auto& k : cases) {
    ServerConfig c;
    EXPECT_EQ(resolve(with({{"persist.mode", k.mode}}), &c), std::vector<std::string>{}) << k.mode;
    EXPECT_EQ(c.persist.aof(), k.aof) << k.mode;
    EXPECT_EQ(c.persist.snapshots(), k.snapshots) << k.mode;
  }
  ServerConfig c;
  const auto errors = resolve(with({{"persist.mode", "snapshot"}, {"persist.dir", ""}}), &c);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "persist.dir: \"\" with persist.mode = \"snapshot\"; expected the persistence folder");
}

TEST(Config, WorkersDefaultToTheAvailableCpus) {
  ServerConfig c;
  ASSERT_EQ(resolve(ConfigValues(), &c, {2, 5, 7}), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 3u);
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{2, 5, 7}));

  std::vector<unsigned> many;
  for (unsigned i = 0; i < 100; ++i) many.push_back(i);
  ASSERT_EQ(resolve(ConfigValues(), &c, many), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 64u);
  EXPECT_EQ(c.store.max_contexts, 64u);

  // More workers than CPUs share them in turn.
  ASSERT_EQ(resolve(with({{"server.workers", "5"}}), &c, {0, 1}), std::vector<std::string>{});
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{0, 1, 0, 1, 0}));
}

TEST(Config, CpusListPlacesWorkers) {
  ServerConfig c;
  ASSERT_EQ(resolve(with({{"server.cpus", "3,1"}}), &c), std::vector<std::string>{});
  EXPECT_EQ(c.workers, 2u);
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{3, 1}));

  ASSERT_EQ(resolve(with({{"server.cpus", "0-3"}, {"server.workers", "2"}}), &c), std::vector<std::string>{});
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{0, 1}));

  EXPECT_EQ(
      resolve(with({{"server.cpus", "0-1"}, {"server.workers", "3"}}), &c),
      std::vector<std::string>{"server.workers: 3 is more than the 2 CPUs listed in server.cpus (\"0-1\"); "
                               "expected at most 2, or 0 for one worker per listed CPU"});
  EXPECT_EQ(
      resolve(with({{"server.cpus", "0-5"}}), &c, {0, 1, 4}),
      std::vector<std::string>{"server.cpus: \"0-5\" names CPUs 2-3,5, which this process may not run on; "
                               "expected CPUs among 0-1,4"});
  EXPECT_EQ(
      resolve(with({{"server.cpus", "9"}}), &c, {0, 1}),
      std::vector<std::string>{
          "server.cpus: \"9\" names CPU 9, which this process may not run on; expected CPUs among 0-1"});
}

TEST(Config, ListenersMayNotShareAPort) {
  ServerConfig c;
  EXPECT_EQ(resolve(with({{"listen.resp", "127.0.0.1:11211"}}), &c),
            std::vector<std::string>{
                "listen.resp: \"127.0.0.1:11211\" overlaps listen.memcache (\"127.0.0.1:11211\") "
                "on TCP port 11211; expected a port of its own"});
  EXPECT_EQ(resolve(with({{"listen.memcache", "0.0.0.0:7070"}}), &c),
            std::vector<std::string>{
                "listen.binary: \"127.0.0.1:7070\" overlaps listen.memcache (\"0.0.0.0:7070\") "
                "on TCP port 7070; expected a port of its own"});
  EXPECT_EQ(resolve(with({{"listen.memcache_udp", "127.0.0.1:7070"}}), &c),
            std::vector<std::string>{"listen.binary_udp: \"127.0.0.1:7070\" overlaps listen.memcache_udp "
                                     "(\"127.0.0.1:7070\") on UDP port 7070; expected a port of its own"});
  // TCP and UDP, different addresses, different families, and port 0 do not clash.
  EXPECT_EQ(resolve(with({{"listen.memcache_udp", "127.0.0.1:11211"},
                          {"listen.resp", "127.0.0.2:11211"},
                          {"listen.http", "[::]:11211"},
                          {"listen.binary", "127.0.0.1:0"},
                          {"listen.binary_udp", "127.0.0.1:0"}}),
                    &c),
            std::vector<std::string>{});
  EXPECT_EQ(resolve(with({{"listen.http", "[::1]:0"}, {"listen.resp", "[::1]:0"}}), &c),
            std::vector<std::string>{});
}

TEST(Config, ListenAddressesAreReadyForBind) {
  ListenAddress a;
  ASSERT_EQ(parse_listen_address("127.0.0.1:11211", &a), "");
  EXPECT_EQ(a.family, AF_INET);
  EXPECT_EQ(a.addr_len, sizeof(sockaddr_in));
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(a.sockaddr_ptr());
  EXPECT_EQ(v4->sin_family, AF_INET);
  EXPECT_EQ(ntohs(v4->sin_port), 11211);
  EXPECT_EQ(ntohl(v4->sin_addr.s_addr), 0x7f000001u);
  EXPECT_EQ(format_sockaddr(a.addr), "127.0.0.1:11211");
  EXPECT_FALSE(a.wildcard());

  ASSERT_EQ(parse_listen_address("[::]:6379", &a), "");
  EXPECT_EQ(a.family, AF_INET6);
  EXPECT_EQ(a.host, "::");
  EXPECT_EQ(a.addr_len, sizeof(sockaddr_in6));
  EXPECT_TRUE(a.wildcard());
  EXPECT_EQ(format_sockaddr(a.addr), "[::]:6379");
  EXPECT_EQ(a.text(), "[::]:6379");

  ASSERT_EQ(parse_listen_address("", &a), "");
  EXPECT_FALSE(a.enabled());
  EXPECT_EQ(a.text(), "");
  EXPECT_EQ(format_sockaddr(sockaddr_storage{}), "");
}

TEST(Config, AppliesToEngineSettings) {
  ServerConfig c;
  ASSERT_EQ(resolve(with({{"server.max_connections", "10"},
                          {"server.max_reply_bytes", "64KiB"},
                          {"server.idle_timeout", "2m"},
                          {"server.max_item_size", "2MiB"},
                          {"log.level", "warn"}}),
                    &c),
            std::vector<std::string>{});
  engine::EngineSettings s;
  c.apply_to(s);
  EXPECT_EQ(s.version, server_version());
  EXPECT_EQ(s.workers, 4u);
  EXPECT_EQ(s.max_connections, 10u);
  EXPECT_EQ(s.max_reply_bytes, 64u << 10);
  EXPECT_EQ(s.max_request_bytes, (2u << 20) + (64u << 10));
  EXPECT_EQ(s.idle_timeout_ms, 120000u);
  EXPECT_EQ(s.verbosity.load(), 1);
}

TEST(Config, LogLevelsMapToVerbosity) {
  EXPECT_EQ(verbosity_for(LogLevel::kError), 0);
  EXPECT_EQ(verbosity_for(LogLevel::kDebug), 3);
  EXPECT_EQ(level_for_verbosity(-4), LogLevel::kError);
  EXPECT_EQ(level_for_verbosity(1), LogLevel::kWarn);
  EXPECT_EQ(level_for_verbosity(2), LogLevel::kInfo);
  EXPECT_EQ(level_for_verbosity(9), LogLevel::kDebug);
}

TEST(Config, DigestIsStableAndFollowsTheEffectiveConfig) {
  ServerConfig a, b;
  ASSERT_EQ(resolve(ConfigValues(), &a), std::vector<std::string>{});
  ASSERT_EQ(
      resolve(with({{"server.memory", "1024MiB"}, {"server.workers", "4"}, {"server.cpus", "0-3"}}), &b),
      std::vector<std::string>{});
  EXPECT_EQ(a.digest().size(), 16u);
  EXPECT_EQ(a.digest().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a.digest(), b.digest());  // the same effective settings, however written
  EXPECT_EQ(a.digest(), a.digest());

  ASSERT_EQ(resolve(with({{"server.policy", "lfu"}}), &b), std::vector<std::string>{});
  EXPECT_NE(a.digest(), b.digest());
  ASSERT_EQ(resolve(ConfigValues(), &b, {0, 1}), std::vector<std::string>{});
  EXPECT_NE(a.digest(), b.digest());  // two workers, not four
}

TEST(Config, AvailableCpusAreAscendingAndNotEmpty) {
  const std::vector<unsigned> cpus = available_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_TRUE(std::is_sorted(cpus.begin(), cpus.end()));
}

}  // namespace
}  // namespace ferrite::server

namespace ferrite::server {
namespace {

TEST(Config, UdpAndDpdkSectionsResolve) {
  ServerConfig c;
  ASSERT_EQ(resolve(with({{"udp.reply_factor", "5"},
                          {"udp.allow", "10.0.0.0/8, 198.18.0.1"},
                          {"server.driver", "dpdk"},
                          {"dpdk.eal_args", "--no-huge --vdev=net_af_packet0,iface=app0"},
                          {"dpdk.address", "198.18.0.2/24"},
                          {"dpdk.exception_iface", "fe0"},
                          {"dpdk.ports", "1"},
                          {"dpdk.mbufs", "4095"},
                          {"dpdk.lcores", "1"}}),
                    &c, {0, 1}),
            std::vector<std::string>{});
  EXPECT_EQ(c.udp_reply_factor, 5u);
  ASSERT_EQ(c.udp_allow.size(), 2u);
  EXPECT_EQ(c.udp_allow[0].text(), "10.0.0.0/8");
  EXPECT_EQ(c.udp_allow[1].text(), "198.18.0.1/32");
  EXPECT_EQ(c.values.get(Key::kUdpAllow), "10.0.0.0/8,198.18.0.1/32");  // canonical spelling
  EXPECT_EQ(c.driver, Driver::kDpdk);
  ASSERT_EQ(c.dpdk.ports.size(), 1u);
  EXPECT_EQ(c.dpdk.ports[0].address.text(), "198.18.0.2/24");
  EXPECT_EQ(c.dpdk.ports[0].exception_iface, "fe0");
  EXPECT_EQ(c.dpdk.ports[0].id, 1);
  EXPECT_EQ(c.dpdk.mbufs, 4095u);
  // dpdk.lcores places the workers when the driver is dpdk.
  EXPECT_EQ(c.workers, 1u);
  EXPECT_EQ(c.worker_cpus, (std::vector<unsigned>{1}));

  engine::EngineSettings s;
  c.apply_to(s);
  EXPECT_EQ(s.udp_reply_factor, 5u);
  EXPECT_EQ(s.udp_allow, c.udp_allow);
}

TEST(Config, DpdkNeedsAnAddressAndValidValues) {
  ServerConfig c;
  EXPECT_EQ(resolve(with({{"server.driver", "dpdk"}}), &c),
            std::vector<std::string>{"dpdk.address: \"\" is not set; expected the appliance's IPv4 address with its "
                                     "prefix length, such as \"198.18.0.2/24\", when server.driver is \"dpdk\""});
  ConfigValues v;
  EXPECT_EQ(v.set("dpdk.address", "198.18.0.2/33"),
            "dpdk.address: \"198.18.0.2/33\" is not valid: bad prefix length in \"198.18.0.2/33\"; expected up to 8 "
            "IPv4 addresses with their prefix lengths, separated by commas, such as \"198.18.0.2/24\" or "
            "\"198.18.0.2/24,198.19.0.2/24\", or \"\"");
  EXPECT_NE(v.set("dpdk.address", "10.0.0.1/8,10.0.0.2/8,10.0.0.3/8,10.0.0.4/8,10.0.0.5/8,10.0.0.6/8,10.0.0.7/8,"
                                   "10.0.0.8/8,10.0.0.9/8"),
            "");  // one address per port, at most 8 ports
  EXPECT_NE(v.set("udp.allow", "10.0.0.0/8,"), "");
  EXPECT_NE(v.set("udp.allow", "fe80::1"), "");
  EXPECT_EQ(v.set("udp.allow", ""), "");
  EXPECT_NE(v.set("dpdk.eal_args", "--vdev\nnet_tap0"), "");
  EXPECT_NE(v.set("udp.reply_factor", "-1"), "");
}

TEST(Config, DpdkPortsEachWithItsAddressAndExceptionInterface) {
  ServerConfig c;
  ASSERT_EQ(resolve(with({{"server.driver", "dpdk"},
                          {"dpdk.ports", "0, 2"},
                          {"dpdk.address", "198.18.0.2/24,198.19.0.2/24"},
                          {"dpdk.exception_iface", "fe0,fe1"}}),
                    &c),
            std::vector<std::string>{});
  ASSERT_EQ(c.dpdk.ports.size(), 2u);
  EXPECT_EQ(c.dpdk.ports[0].id, 0);
  EXPECT_EQ(c.dpdk.ports[1].id, 2);
  EXPECT_EQ(c.dpdk.ports[1].address.text(), "198.19.0.2/24");
  EXPECT_EQ(c.dpdk.ports[0].exception_iface, "fe0");
  EXPECT_EQ(c.dpdk.ports[1].exception_iface, "fe1");

  // No exception path on any port.
  ASSERT_EQ(resolve(with({{"server.driver", "dpdk"}, {"dpdk.ports", "0,1"}, {"dpdk.address", "10.0.0.2/8,10.1.0.2/16"}}),
                    &c),
            std::vector<std::string>{});
  EXPECT_EQ(c.dpdk.ports[1].exception_iface, "");

  auto first_error = [](std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
    ServerConfig cfg;
    const std::vector<std::string> e = resolve(with(kv), &cfg);
    return e.empty() ? std::string() : e.front();
  };
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.ports", "0,1"}, {"dpdk.address", "198.18.0.2/24"}}),
            "dpdk.address: \"198.18.0.2/24\" has 1 addresses for 2 ports; expected one per port of dpdk.ports");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"},
                         {"dpdk.ports", "0,1"},
                         {"dpdk.address", "198.18.0.2/24,198.19.0.2/24"},
                         {"dpdk.exception_iface", "fe0"}}),
            "dpdk.exception_iface: \"fe0\" names 1 interfaces for 2 ports; expected one per port of dpdk.ports, or "
            "\"\" for none");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.ports", "0,0"}, {"dpdk.address", "10.0.0.2/8,10.0.0.3/8"}}),
            "dpdk.ports: port 0 is named twice");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.ports", "0,x"}, {"dpdk.address", "10.0.0.2/8,10.0.0.3/8"}}),
            "dpdk.ports: \"x\" is not a DPDK port id; expected 0 to 1023");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.ports", ""}, {"dpdk.address", "10.0.0.2/8"}}),
            "dpdk.ports: \"\" names 0 ports; expected 1 to 8 DPDK port ids such as \"0\" or \"0,1\"");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.ports", "0,1,2,3,4,5,6,7,8"}, {"dpdk.address", "10.0.0.2/8"}}),
            "dpdk.ports: \"0,1,2,3,4,5,6,7,8\" names 9 ports; expected 1 to 8 DPDK port ids such as \"0\" or \"0,1\"");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.address", "10.0.0.2/8"}, {"dpdk.exception_iface", "a-name-longer-than-15"}}),
            "dpdk.exception_iface: \"a-name-longer-than-15\" is not an interface name; expected 1 to 15 bytes "
            "without blanks, '/' or '='");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"}, {"dpdk.address", "10.0.0.2/8"}, {"dpdk.exception_iface", "fe=0"}}),
            "dpdk.exception_iface: \"fe=0\" is not an interface name; expected 1 to 15 bytes without blanks, '/' or "
            "'='");
  EXPECT_EQ(first_error({{"server.driver", "dpdk"},
                         {"dpdk.ports", "0,1"},
                         {"dpdk.address", "10.0.0.2/8,10.0.0.3/8"},
                         {"dpdk.exception_iface", "fe0,fe0"}}),
            "dpdk.exception_iface: \"fe0\" is named twice");
}

// CPUs 0-3 on node 0, 4-7 on node 1 (a fake two-socket machine).
int two_nodes(int cpu) { return cpu < 4 ? 0 : 1; }

TEST(PartitionPlan, OnePartitionPerNodeOfThePinnedWorkers) {
  const PartitionPlan p = plan_partitions(4, 0, {5, 0, 6, 1}, &two_nodes);
  EXPECT_EQ(p.count, 2u);
  EXPECT_EQ(p.node, (std::vector<int>{1, 0}));  // in the order the workers name them
  EXPECT_EQ(p.of_worker, (std::vector<unsigned>{0, 1, 0, 1}));
  const PartitionPlan one = plan_partitions(3, 0, {0, 1, 2}, &two_nodes);
  EXPECT_EQ(one.count, 1u);
  EXPECT_EQ(one.of_worker, (std::vector<unsigned>{0, 0, 0}));
  EXPECT_EQ(one.node, (std::vector<int>{0}));
}

TEST(PartitionPlan, UnpinnedWorkersShareOnePartition) {
  const PartitionPlan p = plan_partitions(4, 0, {}, &two_nodes);
  EXPECT_EQ(p.count, 1u);
  EXPECT_EQ(p.node, (std::vector<int>{-1}));
  EXPECT_EQ(p.of_worker, (std::vector<unsigned>(4, 0)));
}

TEST(PartitionPlan, AForcedCountDealsTheWorkersRoundRobin) {
  const PartitionPlan p = plan_partitions(5, 2, {0, 4, 1, 5, 2}, &two_nodes);
  EXPECT_EQ(p.count, 2u);
  EXPECT_EQ(p.of_worker, (std::vector<unsigned>{0, 1, 0, 1, 0}));
  EXPECT_EQ(p.node, (std::vector<int>{0, 1}));  // each on its first worker's node
  const PartitionPlan unpinned = plan_partitions(2, 2, {}, &two_nodes);
  EXPECT_EQ(unpinned.node, (std::vector<int>{-1, -1}));
}

TEST(ServerConfig, PartitionsAtMostWorkers) {
  ConfigValues v;
  ASSERT_EQ(v.set("server.workers", "2"), "");
  ASSERT_EQ(v.set("server.partitions", "3"), "");
  ServerConfig c;
  const std::vector<std::string> errors = resolve(v, &c);
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].find("server.partitions"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace ferrite::server
