// ferrited's configuration: the configured value of every key (ConfigValues: built-in defaults,
// then a TOML file, then --set overrides), and the ServerConfig the daemon runs on, resolved from
// them (typed fields, workers and CPUs placed, listeners parsed, cross-key checks done).
//
// Errors are returned as text, one message per problem, each naming the key, the value given and
// what is allowed, prefixed with where it came from ("ferrite.toml:12: ", "--set "). Nothing here
// is on the request path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/net.h"
#include "engine/session.h"
#include "persist/aof.h"
#include "server/address.h"
#include "server/settings.h"
#include "store/config.h"

namespace ferrite::server {

// The value of every key, in its canonical spelling (see settings.h).
class ConfigValues {
 public:
  ConfigValues();  // every key at its default

  const std::string& get(Key key) const noexcept { return values_[static_cast<std::size_t>(key)]; }

  // Sets `name` (section.key) from text, as --set and CONFIG SET give it. Returns "" or the error
  // ("server.memroy: unknown key (did you mean \"server.memory\"?)", "server.policy: \"lru\" is not
  // allowed; expected one of clock, lfu").
  std::string set(std::string_view name, std::string_view text);

  // Applies a TOML document (`source` names it in messages, normally its path); keys it does not
  // set keep their value. Appends one message per problem to *errors: syntax errors as
  // "source:line:column: ...", bad keys and values as "source:line: key: ...". Every key is
  // checked before any is applied: with errors, nothing changes.
  void load_toml(std::string_view text, std::string_view source, std::vector<std::string>* errors);
  // The same for a file; a file that cannot be read is one error naming it.
  void load_toml_file(const std::string& path, std::vector<std::string>* errors);

  // `--set section.key=value` (one pair of surrounding double quotes around the value is dropped);
  // errors are prefixed "--set ".
  std::string apply_override(std::string_view assignment);

  bool operator==(const ConfigValues&) const = default;

 private:
  std::array<std::string, kKeyCount> values_;
};

enum class PollMode : std::uint8_t { kAdaptive, kBusy };              // kPollChoices order
enum class Driver : std::uint8_t { kUring, kDpdk };                   // kDriverChoices order
enum class LogLevel : std::uint8_t { kError, kWarn, kInfo, kDebug };  // kLogLevelChoices order
enum class PersistMode : std::uint8_t { kOff, kAof, kSnapshot, kBoth };  // kPersistModeChoices order

// memcached's verbosity (EngineSettings::verbosity) for a log level and back: error 0, warn 1,
// info 2, debug 3 (below 0 is error, above 3 is debug).
int verbosity_for(LogLevel level) noexcept;
LogLevel level_for_verbosity(int verbosity) noexcept;

// The listeners, in [listen] order (the order of the ready line).
enum class Listener : std::uint8_t { kMemcache, kMemcacheUdp, kResp, kHttp, kBinary, kBinaryUdp, kCount };
inline constexpr std::size_t kListenerCount = static_cast<std::size_t>(Listener::kCount);
std::string_view listener_name(Listener l) noexcept;  // "memcache", "memcache_udp", ... as in [listen]
bool listener_is_udp(Listener l) noexcept;            // memcache_udp, binary_udp

// What the daemon runs on: every setting typed and resolved.
struct ServerConfig {
  ConfigValues values;  // every key as configured (the digest; LiveConfig for CONFIG GET)

  // [server]
  unsigned workers = 1;               // resolved: never 0
  std::vector<unsigned> worker_cpus;  // worker i pins itself to worker_cpus[i]; size() == workers
  unsigned partitions = 0;            // server.partitions as given (0 = one per NUMA node)
  // memory_limit, policy, max_key_size, max_item_size, item_size_hint from [server];
  // max_contexts = workers; the rest at StoreConfig's defaults.
  store::StoreConfig store;
  std::size_t max_connections = 4096;
  std::size_t max_reply_bytes = std::size_t{4} << 20;
  std::size_t max_request_bytes = (std::size_t{1} << 20) + (std::size_t{64} << 10);  // max_item_size + 64KiB
  std::uint64_t idle_timeout_ms = 0;                                                 // 0 = never
  std::size_t max_conn_buffer_bytes = std::size_t{32} << 20;                         // resolved: never 0
  PollMode poll = PollMode::kAdaptive;
  Driver driver = Driver::kUring;
  // [listen], indexed by Listener; a disabled listener has enabled() == false.
  std::array<ListenAddress, kListenerCount> listen;
  // [log], [mgmt]
  LogLevel log_level = LogLevel::kInfo;
  std::string mgmt_socket;  // "" = off
  // [udp]
  std::size_t udp_reply_factor = 3;
  std::vector<Ipv4Prefix> udp_allow;
  std::size_t udp_max_datagram = 1400;
  std::uint64_t slow_request_us = 10'000;  // [log]
  // [dpdk]: used when driver == kDpdk (worker_cpus then follow dpdk.lcores when it is set).
  struct Dpdk {
    std::string eal_args;
    struct Port {
      std::uint16_t id = 0;
      Ipv4Prefix address;           // required with the dpdk driver
      std::string exception_iface;  // "" = none
    };
    std::vector<Port> ports;        // dpdk.ports, with their addresses and exception interfaces
    unsigned mbufs = 16383;
  } dpdk;
  // [persist] (docs/persistence.md)
  struct Persist {
    PersistMode mode = PersistMode::kOff;
    std::string dir = "./ferrite-data";
    persist::FsyncPolicy fsync = persist::FsyncPolicy::kEverysec;
    std::size_t ring_bytes = std::size_t{8} << 20;
    std::uint64_t segment_bytes = std::uint64_t{64} << 20;
    unsigned aof_rewrite_percent = 100;
    std::uint64_t aof_rewrite_min_bytes = std::uint64_t{64} << 20;
    std::uint64_t snapshot_interval_s = 3600;
    std::uint64_t snapshot_changes = 0;
    unsigned retention = 7;
    std::string cold_dir;
    std::uint64_t cold_interval_s = 86400;
    bool load_damaged = false;  // persist.load_damaged: recovery loads up to the first fault
    bool aof() const noexcept { return mode == PersistMode::kAof || mode == PersistMode::kBoth; }
    bool snapshots() const noexcept { return mode == PersistMode::kSnapshot || mode == PersistMode::kBoth; }
  } persist;

  const ListenAddress& listener(Listener l) const noexcept { return listen[static_cast<std::size_t>(l)]; }

  // Copies what the engine reads into `settings`: version, workers, max_connections,
  // max_reply_bytes, max_request_bytes, idle_timeout_ms, verbosity (from log.level), the UDP
  // reflection bound and its allow-list.
  void apply_to(engine::EngineSettings& settings) const;

  // A stable hash of the effective configuration (every key in canonical spelling, with workers
  // and CPUs as resolved): 16 hex digits. The same for the same settings however they were
  // written or ordered.
  std::string digest() const;
};

// The CPUs this process may run on (sched_getaffinity), ascending; all online CPUs if that fails.
std::vector<unsigned> available_cpus();

// server.max_conn_buffer_bytes as configured (0 = automatic) resolved against server.memory.
std::size_t conn_buffer_bytes_for(std::uint64_t configured, std::uint64_t memory_limit) noexcept;

// What one request may buffer beyond its value: max_request_bytes = max_item_size + this.
inline constexpr std::uint64_t kRequestHeadroom = std::uint64_t{64} << 10;
// server.max_item_size as configured (0 = automatic: memory / 64 within 1..512 MiB, and no more
// than the connection-buffer budget can receive) resolved.
std::size_t max_item_size_for(std::uint64_t configured, std::uint64_t memory_limit,
                              std::uint64_t conn_buffer_bytes) noexcept;
// "" when a request of max_item_size plus its headers fits in the connection-buffer budget (else
// it would wait for budget that never comes and be refused); else the rest of an error message.
std::string item_fits_conn_buffers(std::uint64_t max_item_size, std::uint64_t conn_buffer_bytes);

// Builds *out from `values`, placing workers on `cpus` (normally available_cpus()). Returns the
// errors of checks that involve several keys or the machine: max_item_size against memory,
// workers against server.cpus, CPUs this process may not use, two listeners on one port. With
// errors, *out is unspecified.
std::vector<std::string> resolve_config(const ConfigValues& values, std::span<const unsigned> cpus,
                                        ServerConfig* out);

// Defaults, then the TOML file at `path` ("" = none), then each "section.key=value" in order,
// then resolve_config() on `cpus`. Returns every error (empty on success).
std::vector<std::string> load_server_config(const std::string& path, std::span<const std::string> overrides,
                                            std::span<const unsigned> cpus, ServerConfig* out);

// ferrited's version (meson's project version).
std::string_view server_version() noexcept;

}  // namespace ferrite::server
