// The settings table: every type's parsing and canonical spelling, the error messages, key
// suggestions and --describe-config.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

#include "server/settings.h"
#include "server_test_util.h"

namespace ferrite::server {
namespace {

// The canonical spelling of `text` for `key`, or "error: <message>".
std::string parse(Key key, std::string_view text) {
  std::string canonical;
  const std::string error = check_value(setting(key), text, quote(text), &canonical);
  return error.empty() ? canonical : "error: " + error;
}

constexpr std::string_view kAddressAllowed =
    "expected \"host:port\" with a numeric IPv4 host or a bracketed IPv6 host (\"127.0.0.1:11211\", "
    "\"[::1]:11211\"), port 0 for any free port, or \"\" for off";
constexpr std::string_view kCpusAllowed =
    "expected CPU ids and ranges below 1024 such as \"0-3,8\", or \"\" for the CPUs this process may run on";

TEST(Settings, TableRowsAreInKeyOrderWithUniqueNames) {
  std::set<std::string_view> names;
  std::size_t i = 0;
  for (const Setting& s : all_settings()) {
    EXPECT_EQ(static_cast<std::size_t>(s.key), i++) << s.name;
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_NE(s.name.find('.'), std::string_view::npos) << s.name;
    EXPECT_FALSE(s.help.empty()) << s.name;
    EXPECT_EQ(find_setting(s.name), &s);
    EXPECT_EQ(&setting(s.key), &s);
  }
  EXPECT_EQ(i, kKeyCount);
  EXPECT_EQ(find_setting("server.nope"), nullptr);
  EXPECT_EQ(all_sections(),
            (std::vector<std::string_view>{"server", "listen", "log", "mgmt", "udp", "dpdk", "persist"}));
}

TEST(Settings, EveryDefaultIsValidAndCanonical) {
  for (const Setting& s : all_settings()) {
    EXPECT_EQ(parse(s.key, s.default_value), s.default_value) << s.name;
  }
}

TEST(Settings, TheLiveKeysAreMarkedLive) {
  for (const Setting& s : all_settings()) {
    const bool live = s.key == Key::kLogLevel || s.key == Key::kMemory || s.key == Key::kPolicy ||
                      s.key == Key::kMaxConnections || s.key == Key::kMaxReplyBytes ||
                      s.key == Key::kIdleTimeout || s.key == Key::kMaxConnBufferBytes ||
                      s.key == Key::kSlowRequest || s.key == Key::kMaxItemSize || s.key == Key::kPersistFsync;
    EXPECT_EQ(s.live, live) << s.name;
  }
}

TEST(Settings, IntParsing) {
  EXPECT_EQ(parse(Key::kWorkers, "4"), "4");
  EXPECT_EQ(parse(Key::kWorkers, "0"), "0");
  EXPECT_EQ(parse(Key::kWorkers, "064"), "64");
  EXPECT_EQ(parse(Key::kWorkers, "65"),
            "error: server.workers: \"65\" is out of range; expected an integer from 0 to 64");
  EXPECT_EQ(parse(Key::kWorkers, "-1"),
            "error: server.workers: \"-1\" is out of range; expected an integer from 0 to 64");
  EXPECT_EQ(parse(Key::kWorkers, "four"),
            "error: server.workers: \"four\" is not an integer; expected an integer from 0 to 64");
  EXPECT_EQ(parse(Key::kWorkers, ""),
            "error: server.workers: \"\" is not an integer; expected an integer from 0 to 64");
  EXPECT_EQ(parse(Key::kWorkers, "4 "),
            "error: server.workers: \"4 \" is not an integer; expected an integer from 0 to 64");
  EXPECT_EQ(
      parse(Key::kWorkers, "99999999999999999999"),
      "error: server.workers: \"99999999999999999999\" is not an integer; expected an integer from 0 to 64");
  EXPECT_EQ(parse(Key::kMaxKeySize, "0"),
            "error: server.max_key_size: \"0\" is out of range; expected an integer from 1 to 65535");
  EXPECT_EQ(parse(Key::kMaxConnections, "100000"), "100000");
}

TEST(Settings, SizeParsing) {
  EXPECT_EQ(parse(Key::kMemory, "2GiB"), "2GiB");
  EXPECT_EQ(parse(Key::kMemory, "2048MiB"), "2GiB");
  EXPECT_EQ(parse(Key::kMemory, "1073741824"), "1GiB");
  EXPECT_EQ(parse(Key::kMemory, "512M"), "512MiB");
  EXPECT_EQ(parse(Key::kMemory, "1 GiB"), "1GiB");
  EXPECT_EQ(parse(Key::kMemory, "1536MiB"), "1536MiB");
  EXPECT_EQ(parse(Key::kItemSizeHint, "100"), "100");
  EXPECT_EQ(
      parse(Key::kMemory, "12XB"),
      "error: server.memory: \"12XB\" is not a size; expected a size from 8MiB to 16TiB (bytes, or a number "
      "with a unit: B, KiB, MiB, GiB, TiB)");
  EXPECT_EQ(parse(Key::kMemory, "4MiB"),
            "error: server.memory: \"4MiB\" is out of range; expected a size from 8MiB to 16TiB (bytes, or a "
            "number "
            "with a unit: B, KiB, MiB, GiB, TiB)");
  EXPECT_EQ(parse(Key::kMemory, "-1GiB"),
            "error: server.memory: \"-1GiB\" is out of range; expected a size from 8MiB to 16TiB (bytes, or "
            "a number "
            "with a unit: B, KiB, MiB, GiB, TiB)");
  EXPECT_EQ(
      parse(Key::kItemSizeHint, "8"),
      "error: server.item_size_hint: \"8\" is out of range; expected a size from 16 to 1GiB (bytes, or a "
      "number with a unit: B, KiB, MiB, GiB, TiB)");
}

TEST(Settings, DurationParsing) {
  EXPECT_EQ(parse(Key::kIdleTimeout, "0"), "0");
  EXPECT_EQ(parse(Key::kIdleTimeout, "300"), "300");
  EXPECT_EQ(parse(Key::kIdleTimeout, "30s"), "30");
  EXPECT_EQ(parse(Key::kIdleTimeout, "5m"), "300");
  EXPECT_EQ(parse(Key::kIdleTimeout, "5 m"), "300");
  EXPECT_EQ(parse(Key::kIdleTimeout, "2h"), "7200");
  EXPECT_EQ(parse(Key::kIdleTimeout, "365d"), "31536000");
  EXPECT_EQ(
      parse(Key::kIdleTimeout, "5x"),
      "error: server.idle_timeout: \"5x\" is not a duration; expected seconds from 0 to 31536000 (a number, "
      "or a number with a unit: s, m, h, d)");
  EXPECT_EQ(
      parse(Key::kIdleTimeout, "m"),
      "error: server.idle_timeout: \"m\" is not a duration; expected seconds from 0 to 31536000 (a number, "
      "or a number with a unit: s, m, h, d)");
  EXPECT_EQ(
      parse(Key::kIdleTimeout, "366d"),
      "error: server.idle_timeout: \"366d\" is out of range; expected seconds from 0 to 31536000 (a number, "
      "or a number with a unit: s, m, h, d)");
  EXPECT_EQ(
      parse(Key::kIdleTimeout, "-5"),
      "error: server.idle_timeout: \"-5\" is out of range; expected seconds from 0 to 31536000 (a number, "
      "or a number with a unit: s, m, h, d)");
  EXPECT_FALSE(parse_duration("99999999999999999999d").has_value());
}

TEST(Settings, EnumParsing) {
  EXPECT_EQ(parse(Key::kPolicy, "lfu"), "lfu");
  EXPECT_EQ(parse(Key::kPolicy, "LFU"), "lfu");
  EXPECT_EQ(parse(Key::kPoll, "busy"), "busy");
  EXPECT_EQ(parse(Key::kDriver, "dpdk"), "dpdk");
  EXPECT_EQ(parse(Key::kLogLevel, "Debug"), "debug");
  EXPECT_EQ(parse(Key::kPolicy, "lru"),
            "error: server.policy: \"lru\" is not allowed; expected one of clock, lfu");
  EXPECT_EQ(parse(Key::kLogLevel, ""),
            "error: log.level: \"\" is not allowed; expected one of error, warn, info, debug");
}

TEST(Settings, AddressParsing) {
  EXPECT_EQ(parse(Key::kListenResp, "0.0.0.0:6379"), "0.0.0.0:6379");
  EXPECT_EQ(parse(Key::kListenResp, "[::1]:6379"), "[::1]:6379");
  EXPECT_EQ(parse(Key::kListenResp, "[0:0:0:0:0:0:0:1]:80"), "[::1]:80");
  EXPECT_EQ(parse(Key::kListenResp, "[::]:0"), "[::]:0");
  EXPECT_EQ(parse(Key::kListenResp, "127.0.0.1:65535"), "127.0.0.1:65535");
  EXPECT_EQ(parse(Key::kListenResp, ""), "");
  const std::string prefix = "error: listen.resp: ";
  EXPECT_EQ(parse(Key::kListenResp, "localhost:6379"),
            prefix + "\"localhost:6379\" has a host that is not a numeric IPv4 address; " +
                std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "127.0.0.1"),
            prefix + "\"127.0.0.1\" has no port; " + std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "127.0.0.1:65536"),
            prefix + "\"127.0.0.1:65536\" has a port that is not a number from 0 to 65535; " +
                std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "127.0.0.1:"),
            prefix + "\"127.0.0.1:\" has a port that is not a number from 0 to 65535; " +
                std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "::1:6379"),
            prefix + "\"::1:6379\" has an IPv6 host without brackets; " + std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "[::1]6379"),
            prefix + "\"[::1]6379\" has no port after the IPv6 host; " + std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "[::1:6379"),
            prefix + "\"[::1:6379\" has no closing ] after the IPv6 host; " + std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, "[1.2.3.4]:80"),
            prefix + "\"[1.2.3.4]:80\" has a host that is not a numeric IPv6 address; " +
                std::string(kAddressAllowed));
  EXPECT_EQ(parse(Key::kListenResp, ":6379"),
            prefix + "\":6379\" has no host (0.0.0.0 or [::] means every address); " +
                std::string(kAddressAllowed));
}

TEST(Settings, CpuListParsing) {
  EXPECT_EQ(parse(Key::kCpus, ""), "");
  EXPECT_EQ(parse(Key::kCpus, "0-3,8"), "0-3,8");
  EXPECT_EQ(parse(Key::kCpus, "0,1,2"), "0-2");
  EXPECT_EQ(parse(Key::kCpus, " 8 , 0 - 1 "), "8,0-1");
  EXPECT_EQ(parse(Key::kCpus, "3,2,1"), "3,2,1");
  EXPECT_EQ(parse(Key::kCpus, "1023"), "1023");
  const std::string prefix = "error: server.cpus: ";
  EXPECT_EQ(parse(Key::kCpus, "3-1"),
            prefix + "\"3-1\" has the range 3-1, which runs backwards; " + std::string(kCpusAllowed));
  EXPECT_EQ(parse(Key::kCpus, "0,1,0"), prefix + "\"0,1,0\" lists CPU 0 twice; " + std::string(kCpusAllowed));
  EXPECT_EQ(parse(Key::kCpus, "0-2,1"), prefix + "\"0-2,1\" lists CPU 1 twice; " + std::string(kCpusAllowed));
  EXPECT_EQ(parse(Key::kCpus, "1024"),
            prefix + "\"1024\" has CPU 1024, beyond the last possible CPU id; " + std::string(kCpusAllowed));
  EXPECT_EQ(parse(Key::kCpus, "0,,1"),
            prefix + "\"0,,1\" has \"\", which is not a CPU id; " + std::string(kCpusAllowed));
  EXPECT_EQ(parse(Key::kCpus, "a"),
            prefix + "\"a\" has \"a\", which is not a CPU id; " + std::string(kCpusAllowed));

  const std::vector<unsigned> cpus{4, 5, 6, 0, 2, 3};
  EXPECT_EQ(format_cpu_list(cpus), "4-6,0,2-3");
  std::string problem;
  EXPECT_EQ(parse_cpu_list(format_cpu_list(cpus), &problem), cpus);
}

TEST(Settings, PathParsing) {
  EXPECT_EQ(parse(Key::kMgmtSocket, "/tmp/f.sock"), "/tmp/f.sock");
  EXPECT_EQ(parse(Key::kMgmtSocket, ""), "");
  EXPECT_EQ(parse(Key::kMgmtSocket, std::string(107, 'x')), std::string(107, 'x'));
  EXPECT_EQ(parse(Key::kMgmtSocket, std::string(108, 'x')),
            "error: mgmt.socket: \"" + std::string(108, 'x') +
                "\" is 108 bytes long; expected a path of at most 107 bytes, or \"\" for off");
  EXPECT_EQ(parse(Key::kMgmtSocket, std::string_view("a\0b", 3)),
            "error: mgmt.socket: \"a\\u0000b\" holds a NUL byte; expected a path of at most 107 bytes, or "
            "\"\" for off");
}

TEST(Settings, SuggestsTheNearestKey) {
  EXPECT_EQ(suggest_key("server.memroy"), "server.memory");
  EXPECT_EQ(suggest_key("server.wrokers"), "server.workers");
  EXPECT_EQ(suggest_key("listen.htpp"), "listen.http");
  EXPECT_EQ(suggest_key("log.levle"), "log.level");
  EXPECT_EQ(suggest_key("server.max_item_sise"), "server.max_item_size");
  EXPECT_EQ(suggest_key("store.memory"), "server.memory");
  EXPECT_EQ(suggest_key("store.max_key_size"), "server.max_key_size");
  EXPECT_EQ(suggest_key("workers"), "server.workers");
  EXPECT_EQ(suggest_key("SERVER.POLICY"), "server.policy");
  EXPECT_EQ(suggest_key("server.zzz"), "");
  EXPECT_EQ(suggest_key("server.bogus"), "");  // 3 edits from server.cpus: too far for a 5-letter word
  EXPECT_EQ(suggest_key("bananas"), "");
  EXPECT_EQ(suggest_section("serevr"), "server");
  EXPECT_EQ(suggest_section("lsiten"), "listen");
  EXPECT_EQ(suggest_section("storage"), "");
  EXPECT_EQ(unknown_key_error("server.memroy"),
            "server.memroy: unknown key (did you mean \"server.memory\"?)");
  EXPECT_EQ(unknown_key_error("bananas"), "bananas: unknown key (see ferrited --describe-config)");
}

TEST(Settings, QuoteEscapesLikeToml) {
  EXPECT_EQ(quote("plain"), "\"plain\"");
  EXPECT_EQ(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quote("tab\there\x7f"), "\"tab\\u0009here\\u007F\"");
}

TEST(Settings, TomlValuesAreBareForNumbers) {
  EXPECT_EQ(toml_value(setting(Key::kWorkers), "0"), "0");
  EXPECT_EQ(toml_value(setting(Key::kItemSizeHint), "64"), "64");
  EXPECT_EQ(toml_value(setting(Key::kMemory), "1GiB"), "\"1GiB\"");
  EXPECT_EQ(toml_value(setting(Key::kIdleTimeout), "300"), "300");
  EXPECT_EQ(toml_value(setting(Key::kPolicy), "clock"), "\"clock\"");
  EXPECT_EQ(toml_value(setting(Key::kListenMemcacheUdp), ""), "\"\"");
}

TEST(Settings, DescribeConfigListsEveryKeyWithTypeDefaultAndMeaning) {
  const std::string text = describe_config();
  std::set<std::string> expected;
  for (const Setting& s : all_settings()) {
    expected.insert(std::string(s.name));
    const std::string line = std::string(s.short_name()) + " = " + toml_value(s, s.default_value) + "\n";
    EXPECT_NE(text.find(line), std::string::npos) << line;
    const std::string header = "# " + std::string(s.short_name()) + ": " + type_summary(s) + "; " +
                               (s.live ? "changes live" : "restart to change") + "\n";
    EXPECT_NE(text.find(header), std::string::npos) << header;
    // The first words of the help text follow the header.
    const std::string help_start = header + "#   " + std::string(s.help.substr(0, s.help.find(' ')));
    EXPECT_NE(text.find(help_start), std::string::npos) << help_start;
  }
  EXPECT_EQ(testing::keys_in_toml(text), expected);
  EXPECT_NE(text.find("# workers: integer 0..64; restart to change\n"), std::string::npos);
  EXPECT_NE(text.find("# memory: size 8MiB..16TiB; changes live\n"), std::string::npos);
  EXPECT_NE(text.find("# level: one of error, warn, info, debug; changes live\n"), std::string::npos);
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 100u) << line;
}

}  // namespace
}  // namespace ferrite::server
