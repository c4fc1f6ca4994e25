// The table of every ferrited setting (Pelikan style): one row per key with its section.name,
// type, range or allowed values, default, whether it can change while the server runs, and its
// meaning. TOML loading, --set, --describe-config, validation messages, the built-in defaults and
// CONFIG GET/SET all come from this one table (settings.cc), so a new setting is one row.
//
// Values are kept as text in a canonical spelling ("1GiB", "127.0.0.1:11211", "0-3,8"):
// check_value() parses any accepted spelling and returns the canonical one, or a message that
// names the key, the value given and what is allowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite::server {

enum class Type : std::uint8_t {
  kInt,       // a whole number within [min, max]
  kSize,      // bytes: 65536, "64KiB", "1GiB" (core/size.h), within [min, max]
  kDuration,  // whole seconds: 300, "300s", "5m", "2h", "1d", within [min, max]
  kEnum,      // one of `choices` (case-insensitive; canonical in lower case)
  kAddress,   // "host:port" (numeric IPv4, or bracketed IPv6 "[::1]:6379"); "" = off
  kCpuList,   // CPU ids and ranges: "0-3,8"; "" = the default placement
  kPath,      // a unix socket path (at most 107 bytes); "" = off
  kText,      // free text without control bytes, at most `max` bytes
  kPrefixes,  // IPv4 prefixes "10.0.0.0/8,198.18.0.2/24" (at most `max` of them; 0 = any number); ""
};

// Every key; the order of kSettings, of --describe-config and of CONFIG GET.
enum class Key : std::uint8_t {
  kWorkers,
  kMemory,
  kPolicy,
  kMaxKeySize,
  kMaxItemSize,
  kItemSizeHint,
  kMaxConnections,
  kMaxReplyBytes,
  kIdleTimeout,
  kMaxConnBufferBytes,
  kPoll,
  kCpus,
  kPartitions,
  kDriver,
  kListenMemcache,
  kListenMemcacheUdp,
  kListenResp,
  kListenHttp,
  kListenBinary,
  kListenBinaryUdp,
  kLogLevel,
  kSlowRequest,
  kMgmtSocket,
  kUdpReplyFactor,
  kUdpAllow,
  kUdpMaxDatagram,
  kDpdkEalArgs,
  kDpdkAddress,
  kDpdkExceptionIface,
  kDpdkPorts,
  kDpdkMbufs,
  kDpdkLcores,
  kPersistMode,
  kPersistDir,
  kPersistFsync,
  kPersistRingBytes,
  kPersistSegmentBytes,
  kPersistAofRewritePercent,
  kPersistAofRewriteMinBytes,
  kPersistSnapshotInterval,
  kPersistSnapshotChanges,
  kPersistRetention,
  kPersistColdDir,
  kPersistColdInterval,
  kPersistLoadDamaged,
  kCount
};
inline constexpr std::size_t kKeyCount = static_cast<std::size_t>(Key::kCount);

// Allowed values of the enum keys, in the order of their C++ enums (config.h).
inline constexpr std::string_view kPolicyChoices[] = {"clock", "lfu"};
inline constexpr std::string_view kPollChoices[] = {"adaptive", "busy"};
inline constexpr std::string_view kDriverChoices[] = {"uring", "dpdk"};
inline constexpr std::string_view kLogLevelChoices[] = {"error", "warn", "info", "debug"};
inline constexpr std::string_view kPersistModeChoices[] = {"off", "aof", "snapshot", "both"};
inline constexpr std::string_view kNoYesChoices[] = {"no", "yes"};
inline constexpr std::string_view kFsyncChoices[] = {"always", "everysec", "no"};  // persist::FsyncPolicy

// The longest unix socket path (sockaddr_un::sun_path less its terminating NUL).
inline constexpr std::size_t kMaxSocketPath = 107;
// CPU ids must be below this (glibc's CPU_SETSIZE).
inline constexpr unsigned kMaxCpuId = 1024;
// DPDK ports of the fast path (dpdk.ports; the driver's dpdk::kMaxPorts).
inline constexpr std::size_t kMaxDpdkPorts = 8;

struct Setting {
  Key key;
  std::string_view name;  // section.key: "server.memory"
  Type type;
  std::string_view default_value;  // canonical spelling
  std::uint64_t min = 0;           // kInt, kSize, kDuration
  std::uint64_t max = 0;
  std::span<const std::string_view> choices;  // kEnum
  bool live = false;                          // may change while running (CONFIG SET, management socket)
  std::string_view help;                      // what it means, one paragraph

  std::string_view section() const noexcept { return name.substr(0, name.find('.')); }
  std::string_view short_name() const noexcept { return name.substr(name.find('.') + 1); }
};

// Every setting, in Key order.
std::span<const Setting> all_settings() noexcept;
const Setting& setting(Key key) noexcept;
// The setting called `name` (exact, lower case), or null.
const Setting* find_setting(std::string_view name) noexcept;
// The known section names ("server", "listen", "log", "mgmt", "udp", "dpdk", "persist").
std::vector<std::string_view> all_sections();

// The known name nearest to `unknown` when one is close (a typo, or the same key name under
// another section such as store.memory -> server.memory), or "" when none is.
std::string_view suggest_key(std::string_view unknown);
std::string_view suggest_section(std::string_view unknown);
// "<name>: unknown key (did you mean \"server.memory\"?)", or "(see ferrited --describe-config)".
std::string unknown_key_error(std::string_view name);

// Parses `text` as the setting's type and range. On success returns "" and stores the canonical
// spelling in *canonical; otherwise returns "<name>: <shown> <problem>; expected <allowed>", where
// `shown` is how the value is quoted to the operator (quote(text) for text, 5 for a TOML integer).
std::string check_value(const Setting& s, std::string_view text, std::string_view shown,
                        std::string* canonical);

// `text` in double quotes, with ", \ and control bytes escaped (TOML basic-string rules).
std::string quote(std::string_view text);
// A canonical value as TOML: bare for numbers, a quoted string otherwise.
std::string toml_value(const Setting& s, std::string_view canonical);
// The type and range in a few words: "size 8MiB..16TiB", "one of clock, lfu".
std::string type_summary(const Setting& s);
// What the key accepts, for "expected ..." in errors.
std::string allowed_values(const Setting& s);

// The --describe-config text: a commented TOML document of every key at its default (so it is a
// valid configuration file), with each key's type, range, whether it changes live, and meaning.
std::string describe_config();

// Typed parsers shared by check_value() and the resolved ServerConfig (config.cc).
std::optional<std::uint64_t> parse_uint(std::string_view text) noexcept;      // decimal digits only
std::optional<std::uint64_t> parse_duration(std::string_view text) noexcept;  // seconds
// CPU ids in the order written; on error returns nothing and sets *problem.
std::optional<std::vector<unsigned>> parse_cpu_list(std::string_view text, std::string* problem);
// Ascending runs become ranges: {0,1,2,3,8} -> "0-3,8". The inverse of parse_cpu_list.
std::string format_cpu_list(std::span<const unsigned> cpus);
// Index of `text` in s.choices (case-insensitive), or nothing.
std::optional<std::size_t> parse_choice(const Setting& s, std::string_view text) noexcept;

}  // namespace ferrite::server
