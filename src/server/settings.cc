#include "server/settings.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>

#include "store/config.h"

namespace ferrite::server {

namespace {

constexpr std::uint64_t kKiB = std::uint64_t{1} << 10;
constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;
constexpr std::uint64_t kYear = 365 * 86400;

constexpr bool kLive = true;      // may change while ferrited runs
constexpr bool kRestart = false;  // needs a restart

// Row builders (numbers, enums, text), so that each row reads: key, name, default, range, liveness,
// meaning.
constexpr Setting number(Key key, std::string_view name, Type type, std::string_view def, std::uint64_t min,
                         std::uint64_t max, bool live, std::string_view help) {
  return {key, name, type, def, min, max, {}, live, help};
}
constexpr Setting choice(Key key, std::string_view name, std::string_view def,
                         std::span<const std::string_view> choices, bool live, std::string_view help) {
  return {key, name, Type::kEnum, def, 0, 0, choices, live, help};
}
constexpr Setting text(Key key, std::string_view name, Type type, std::string_view def,
                       std::string_view help) {
  return {key, name, type, def, 0, 0, {}, kRestart, help};
}
// kText (at most `max` bytes) and kPrefixes (at most `max` prefixes).
constexpr Setting bounded(Key key, std::string_view name, Type type, std::string_view def, std::uint64_t max,
                          std::string_view help) {
  return {key, name, type, def, 0, max, {}, kRestart, help};
}

constexpr std::array<Setting, kKeyCount> kSettings{{
    // [server]
    number(Key::kWorkers, "server.workers", Type::kInt, "0", 0, 64, kRestart,
           "Worker threads, each pinned to one CPU and serving every listener. 0 = one per CPU listed in "
           "server.cpus, or else one per CPU this process may run on (at most 64)."),
    number(Key::kMemory, "server.memory", Type::kSize, "1GiB", 8 * kMiB, 16 * kTiB, kLive,
           "The store's memory limit. Everything counts against it: items (by their allocator usable size), "
           "the hash table and the TTL wheels. While ferrited runs it can be lowered (the store evicts down "
           "to it) and raised back up to its start-up value."),
    choice(Key::kPolicy, "server.policy", "clock", kPolicyChoices, kLive,
           "Eviction when memory is full: clock (second chance: a hit sets a reference bit, the hand clears "
           "it or evicts) or lfu (a logarithmic frequency counter, decayed by the hand). Changed while "
           "ferrited runs, items keep their access byte, read in the new policy's terms: clock -> lfu makes "
           "a set bit a counter of 1 and a clear one 0 (on probation); lfu -> clock makes any counter above "
           "0 a set bit (one second chance)."),
    number(Key::kMaxKeySize, "server.max_key_size", Type::kInt, "250", 1, 65535, kRestart,
           "Longest key accepted, in bytes (memcached's limit is 250)."),
    number(Key::kMaxItemSize, "server.max_item_size", Type::kSize, "0", 0, 512 * kMiB, kLive,
           "Longest value accepted on every protocol (memcached's item size limit, Redis's "
           "proto-max-bulk-len), at most 512MiB and a quarter of server.memory. A request may buffer this "
           "much plus 64KiB of headers, which must fit in server.max_conn_buffer_bytes. 0 = server.memory / "
           "64, at least 1MiB and at most 512MiB (16MiB with the default 1GiB), less if the connection-"
           "buffer budget is smaller. A live change applies to the requests that start after it."),
    number(Key::kItemSizeHint, "server.item_size_hint", Type::kSize, "64", 16, kGiB, kRestart,
           "The typical item size (key, value and about 16 bytes of metadata): the hash table grows with "
           "the items up to room for server.memory / item_size_hint of them (that much is set aside at "
           "start)."),
    number(Key::kMaxConnections, "server.max_connections", Type::kInt, "4096", 1, std::uint64_t{1} << 20,
           kLive,
           "Open client connections across all workers; beyond it new connections are refused. Lowered "
           "while ferrited runs, it refuses new connections and closes none of those open."),
    number(Key::kMaxReplyBytes, "server.max_reply_bytes", Type::kSize, "4MiB", 16 * kKiB, kGiB, kLive,
           "Unsent reply bytes per connection before the server stops reading its requests (back-pressure "
           "on clients that pipeline without reading). A live change applies to the open connections too."),
    number(Key::kIdleTimeout, "server.idle_timeout", Type::kDuration, "0", 0, kYear, kLive,
           "Close a client connection after this long without a complete request (a client trickling bytes "
           "counts as idle too). 0 = never. A live change applies to the connections already open too "
           "(their idle time counts from their last request)."),
    number(Key::kMaxConnBufferBytes, "server.max_conn_buffer_bytes", Type::kSize, "0", 0, kTiB, kLive,
           "Memory all client connections together may hold in buffers (partial requests, unsent replies) "
           "beyond 32KiB each, outside server.memory. Once it is spent, connections holding more stop "
           "reading and get little output until some is given back; a request that waited 2 seconds for it "
           "gets its protocol's out-of-memory error and its connection is closed. 0 = server.memory / 8, at "
           "least 32MiB."),
    choice(Key::kPoll, "server.poll", "adaptive", kPollChoices, kRestart,
           "What an idle worker does: adaptive (spin briefly, then sleep until I/O arrives) or busy (spin "
           "always: the lowest latency, one whole CPU per worker)."),
    text(Key::kCpus, "server.cpus", Type::kCpuList, "",
         "The CPUs workers are pinned to, in order (worker i on the i-th CPU listed), such as \"0-3,8\". "
         "Empty = the CPUs this process may run on, in order."),
    number(Key::kPartitions, "server.partitions", Type::kInt, "0", 0, store::kMaxPartitions, kRestart,
           "Store partitions: one table per NUMA node for the workers on that node, every key owned by one "
           "partition (by its hash), the memory split evenly. A UDP datagram that reaches a worker of "
           "another partition than its key's is handed to a worker of the right one (busy polling only); "
           "TCP requests read the other node's table directly. 0 = one per NUMA node that has pinned "
           "workers (one when the workers are not pinned); a number forces that many, the workers dealt "
           "round robin (to try the handover on one node). At most server.workers."),
    choice(Key::kDriver, "server.driver", "uring", kDriverChoices, kRestart,
           "Network I/O: uring (kernel sockets through io_uring; runs anywhere) or dpdk (kernel bypass; "
           "needs a DPDK build and a port for it)."),
    // [listen]
    text(Key::kListenMemcache, "listen.memcache", Type::kAddress, "127.0.0.1:11211",
         "memcached text, meta and binary protocols over TCP."),
    text(Key::kListenMemcacheUdp, "listen.memcache_udp", Type::kAddress, "",
         "memcached text and meta over UDP (with memcached's 8-byte frame header). Off by default: UDP "
         "replies can be aimed at a spoofed source."),
    text(Key::kListenResp, "listen.resp", Type::kAddress, "127.0.0.1:6379",
         "Redis protocol (RESP2 and RESP3) over TCP."),
    text(Key::kListenHttp, "listen.http", Type::kAddress, "127.0.0.1:8080",
         "HTTP/1.1: GET, PUT and DELETE /cache/{key}, /metrics, /health."),
    text(Key::kListenBinary, "listen.binary", Type::kAddress, "127.0.0.1:7070",
         "Ferrite's binary protocol over TCP."),
    text(Key::kListenBinaryUdp, "listen.binary_udp", Type::kAddress, "127.0.0.1:7070",
         "Ferrite's binary protocol over UDP (several requests per datagram)."),
    // [log]
    choice(Key::kLogLevel, "log.level", "info", kLogLevelChoices, kLive,
           "The least severe messages written to stderr: error, warn, info or debug. memcached's verbosity "
           "command sets the same thing (0 = error, 1 = warn, 2 = info, 3 = debug)."),
    number(Key::kSlowRequest, "log.slow_request_us", Type::kInt, "10000", 0, 60'000'000, kLive,
           "A request that takes longer than this many microseconds to execute (not counting its wait in the "
           "queue) becomes a slow-request event (ferritectl slowlog, ferritectl watch). 0 = none."),
    // [mgmt]
    text(Key::kMgmtSocket, "mgmt.socket", Type::kPath, "/run/ferrite/ferrited.sock",
         "The management socket (a unix domain socket) that ferritectl talks to. Empty = off."),
    // [udp]
    number(Key::kUdpReplyFactor, "udp.reply_factor", Type::kInt, "3", 0, 1000, kRestart,
           "Reflection safety for every UDP listener (kernel and DPDK): the replies to one request datagram "
           "may add up to at most this many times its size, or they are dropped and counted. A forged source "
           "address then cannot turn Ferrite into an amplifier. 0 = no bound. Loopback senders are exempt."),
    text(Key::kUdpAllow, "udp.allow", Type::kPrefixes, "",
         "IPv4 prefixes whose senders are exempt from udp.reply_factor, such as \"10.0.0.0/8,198.18.0.0/24\" "
         "(clients on a network where source addresses cannot be forged)."),
    number(Key::kUdpMaxDatagram, "udp.max_datagram", Type::kInt, "1400", 512, 65507, kRestart,
           "Payload bytes of one reply datagram: longer replies are split (memcached UDP's frame header, the "
           "binary protocol's sequence numbers). 1400 keeps a reply in one Ethernet frame."),
    // [dpdk]
    bounded(Key::kDpdkEalArgs, "dpdk.eal_args", Type::kText, "", 4096,
         "With server.driver = \"dpdk\": the DPDK EAL arguments, split like a shell splits words, such as "
         "\"--no-huge --no-pci -m 512 --vdev=net_af_packet0,iface=veth0\". ferrited adds the exception "
         "path's net_tap device itself."),
    bounded(Key::kDpdkAddress, "dpdk.address", Type::kPrefixes, "", kMaxDpdkPorts,
         "The appliance's IPv4 address with its prefix length on each DPDK port, in dpdk.ports' order, such "
         "as \"198.18.0.2/24\" or \"198.18.0.2/24,198.19.0.2/24\" (required with the dpdk driver). The fast "
         "path answers ARP and ping for it; the port's exception interface carries it for the kernel."),
    bounded(Key::kDpdkExceptionIface, "dpdk.exception_iface", Type::kText, "", kMaxDpdkPorts * 16,
         "The kernel interface (a TAP that ferrited creates) of each DPDK port, in dpdk.ports' order and "
         "separated by commas, for every packet the fast path does not own: TCP, other UDP ports, IPv6, "
         "fragments. It gets the port's address and MAC, so the kernel-path listeners serve the same "
         "address. Empty = no exception path (those packets are dropped)."),
    bounded(Key::kDpdkPorts, "dpdk.ports", Type::kText, "0", 64,
           "The DPDK port ids of the fast path, separated by commas (0 = the first port the EAL arguments "
           "give; at most 8). Each is its own interface with its own address: every worker polls one RX/TX "
           "queue pair on each, with RSS across the workers' queues, and answers out of the port a request "
           "came in on."),
    number(Key::kDpdkMbufs, "dpdk.mbufs", Type::kInt, "16383", 1023, 16777215, kRestart,
           "Packet buffers in each NUMA socket's mempool (2 KiB each)."),
    text(Key::kDpdkLcores, "dpdk.lcores", Type::kCpuList, "",
         "The lcore-to-worker map: worker i runs on the i-th CPU listed (registered with DPDK as an "
         "lcore, pinned, busy polling). Empty = server.cpus."),
    // [persist] (docs/persistence.md)
    choice(Key::kPersistMode, "persist.mode", "off", kPersistModeChoices, kRestart,
           "Persistence: off (a restart starts empty), aof (every mutation appended to the append-only "
           "file in persist.dir), snapshot (snapshots only: on persist.snapshot_interval / snapshot_changes, when asked, and at "
           "shutdown) or both (the append-only file, and snapshots on that schedule as its rewrites)."),
    bounded(Key::kPersistDir, "persist.dir", Type::kText, "./ferrite-data", 4096,
            "The persistence folder: the manifest, the append-only file's segments and the snapshots. "
            "Created when missing."),
    choice(Key::kPersistFsync, "persist.fsync", "everysec", kFsyncChoices, kLive,
           "When the append-only file is flushed to disk: always (each reply to a write waits until its "
           "record is on disk; one fdatasync serves every worker's writes of a batch), everysec (at most "
           "once a second: a crash loses up to about a second of writes) or no (the kernel decides). "
           "Redis's appendfsync. A live change applies from the writer's next batch."),
    number(Key::kPersistRingBytes, "persist.ring_bytes", Type::kSize, "8MiB", 64 * kKiB, 4 * kGiB, kRestart,
           "Each worker's ring of append-only records waiting for the writer thread (rounded up to a power "
           "of two). Full under everysec/no, records are dropped and counted (the file is then incomplete "
           "until the next rewrite or snapshot); under always the worker stops executing writes until it "
           "drains."),
    number(Key::kPersistSegmentBytes, "persist.segment_bytes", Type::kSize, "64MiB", kMiB, kTiB, kRestart,
           "The append-only file starts a new segment (and names it in the manifest) once the current one "
           "holds this much."),
    number(Key::kPersistAofRewritePercent, "persist.aof_rewrite_percent", Type::kInt, "100", 0, 100000,
           kRestart,
           "Rewrite the append-only file (a new snapshot and a new segment) once its segments have grown "
           "by this percentage since the last rewrite (Redis's auto-aof-rewrite-percentage). 0 = never "
           "on its own (BGREWRITEAOF still does)."),
    number(Key::kPersistAofRewriteMinBytes, "persist.aof_rewrite_min_bytes", Type::kSize, "64MiB", 0, kTiB,
           kRestart,
           "No automatic rewrite while the append-only file is smaller than this (Redis's "
           "auto-aof-rewrite-min-size)."),
    number(Key::kPersistSnapshotInterval, "persist.snapshot_interval", Type::kDuration, "3600", 0, kYear,
           kRestart,
           "With mode snapshot or both: take a snapshot this often, if anything changed since the last "
           "(0 = not on a timer)."),
    number(Key::kPersistSnapshotChanges, "persist.snapshot_changes", Type::kInt, "0", 0,
           std::uint64_t{1} << 40, kRestart,
           "With mode snapshot or both: also take one once this many mutations happened since the last "
           "(0 = not by changes; Redis's save <seconds> <changes>)."),
    number(Key::kPersistRetention, "persist.retention", Type::kInt, "7", 1, 100000, kRestart,
           "Archives kept in persist.cold_dir (the newest ones); older exports are removed."),
    bounded(Key::kPersistColdDir, "persist.cold_dir", Type::kText, "", 4096,
            "A mounted path the persistence folder is exported to (cold storage): every persist.cold_interval, "
            "an archive of the last snapshot and the segments after it, as ferritectl backup writes, in "
            "ferrite-<UTC time>/. Empty = no export."),
    number(Key::kPersistColdInterval, "persist.cold_interval", Type::kDuration, "86400", 60, kYear, kRestart,
           "How often the folder is exported to persist.cold_dir."),
    choice(Key::kPersistLoadDamaged, "persist.load_damaged", "no", kNoYesChoices, kRestart,
           "The operator's override at start: yes loads a damaged persistence folder up to its first "
           "fault (with a warning naming the file and offset, and what is lost after it); no (the "
           "default) refuses to start and names them."),
}};

constexpr bool table_in_key_order() {
  for (std::size_t i = 0; i < kSettings.size(); ++i) {
    if (static_cast<std::size_t>(kSettings[i].key) != i) return false;
  }
  return true;
}
static_assert(table_in_key_order(), "kSettings rows must be in Key order");

char lower(char c) noexcept { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The candidate nearest to `unknown`, if close enough to be a typo of it: within a third of the
// length of `word` (the part that is probably misspelt), 1 to 3 edits.
std::string_view nearest(std::string_view unknown, std::string_view word,
                         std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_distance = SIZE_MAX;
  for (const std::string_view c : candidates) {
    const std::size_t d = edit_distance(unknown, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  return best_distance <= limit ? best : std::string_view{};
}

// Appends `text` to `out` wrapped at `width` columns, each line starting with `prefix`.
void wrap(std::string_view text, std::string_view prefix, std::size_t width, std::string* out) {
  std::string line(prefix);
  while (!text.empty()) {
    const std::size_t space = text.find(' ');
    const std::string_view word = text.substr(0, space);
    text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    if (line.size() > prefix.size() && line.size() + 1 + word.size() > width) {
      *out += line + "\n";
      line = prefix;
    }
    if (line.size() > prefix.size()) line += ' ';
    line += word;
  }
  *out += line + "\n";
}

}  // namespace

std::span<const Setting> all_settings() noexcept { return kSettings; }

const Setting& setting(Key key) noexcept { return kSettings[static_cast<std::size_t>(key)]; }

const Setting* find_setting(std::string_view name) noexcept {
  for (const Setting& s : kSettings) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

std::vector<std::string_view> all_sections() {
  std::vector<std::string_view> out;
  for (const Setting& s : kSettings) {
    if (std::find(out.begin(), out.end(), s.section()) == out.end()) out.push_back(s.section());
  }
  return out;
}

std::string_view suggest_key(std::string_view unknown) {
  // The same key name under the wrong section (store.memory, or a bare "workers").
  const std::string_view short_name = unknown.substr(unknown.find('.') + 1);
  for (const Setting& s : kSettings) {
    if (iequals(s.short_name(), short_name)) return s.name;
  }
  std::vector<std::string_view> names;
  names.reserve(kSettings.size());
  for (const Setting& s : kSettings) names.push_back(s.name);
  return nearest(unknown, short_name, names);
}

std::string unknown_key_error(std::string_view name) {
  const std::string_view near = suggest_key(name);
  return std::string(name) + ": unknown key " +
         (near.empty() ? std::string("(see ferrited --describe-config)")
                       : "(did you mean " + quote(near) + "?)");
}

std::string_view suggest_section(std::string_view unknown) {
  return nearest(unknown, unknown, all_sections());
}

std::optional<std::size_t> parse_choice(const Setting& s, std::string_view text) noexcept {
  for (std::size_t i = 0; i < s.choices.size(); ++i) {
    if (iequals(s.choices[i], text)) return i;
  }
  return std::nullopt;
}

std::string describe_config() {
  std::string out =
      "# ferrited settings: every key with its default, type and meaning. This text is itself a valid\n"
      "# configuration (ferrited --config FILE); ferrited --set section.key=value overrides one key.\n"
      "#\n"
      "# Sizes are bytes or a number with a binary unit: B, KiB, MiB, GiB, TiB (K, M, G, T alike).\n"
      "# Durations are seconds or a number with a unit: s, m, h, d. Listener addresses are\n"
      "# \"host:port\" with a numeric host (\"[::1]:6379\" for IPv6); \"\" turns a listener off and\n"
      "# port 0 takes any free port. Keys marked \"changes live\" can be set while ferrited runs\n"
      "# (CONFIG SET, the management socket); the others need a restart.\n";
  std::string_view section;
  for (const Setting& s : kSettings) {
    if (s.section() != section) {
      section = s.section();
      out += "\n[" + std::string(section) + "]\n";
    }
    out += "\n# " + std::string(s.short_name()) + ": " + type_summary(s) + "; " +
           (s.live ? "changes live" : "restart to change") + "\n";
    wrap(s.help, "#   ", 100, &out);
    out += std::string(s.short_name()) + " = " + toml_value(s, s.default_value) + "\n";
  }
  return out;
}

}  // namespace ferrite::server
