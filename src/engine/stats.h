// Per-worker request counters and latency histograms, by protocol and operation.
//
// Each worker owns one WorkerStats and is its only writer (relaxed Counters, see core/counter.h);
// stats commands, /metrics and the management plane sum every worker's copy when asked.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/counter.h"
#include "core/io.h"

namespace ferrite::engine {

enum class Proto : std::uint8_t {
  kMemcacheText,    // memcached text (classic commands), TCP
  kMemcacheMeta,    // memcached meta commands (mg/ms/md/ma/mn/me), TCP
  kMemcacheBinary,  // memcached binary protocol, TCP
  kMemcacheUdp,     // memcached text/meta inside the 8-byte UDP frame
  kResp,            // RESP2/RESP3
  kHttp,            // HTTP/1.1
  kBinary,          // Ferrite binary protocol over TCP
  kBinaryUdp,       // Ferrite binary protocol over UDP
  kCount
};
inline constexpr std::size_t kProtoCount = static_cast<std::size_t>(Proto::kCount);
// Label values for metrics: memcache_text, memcache_meta, memcache_binary, memcache_udp, resp,
// http, binary, binary_udp.
std::string_view proto_name(Proto p) noexcept;

// Operations, shared by every protocol (each maps its commands onto these for metrics).
#define FERRITE_OPS(X)                                    \
  X(get)      /* get/gets/mg/GET/MGET (one per key)  */   \
  X(set)      /* set/ms/SET/MSET (one per key)       */   \
  X(add)                                                  \
  X(replace)                                              \
  X(append)                                               \
  X(prepend)                                              \
  X(cas)                                                  \
  X(delete)                                               \
  X(incr)                                                 \
  X(decr)                                                 \
  X(touch)                                                \
  X(gat)                                                  \
  X(flush)                                                \
  X(stats)    /* stats, INFO, STATS, /metrics */          \
  X(noop)     /* mn, noop, PING, ECHO, version */         \
  X(other)    /* every other command that was served */   \
  X(error)    /* requests answered with a protocol error */

enum class Op : std::uint8_t {
#define FERRITE_OP_ENUM(name) k_##name,
  FERRITE_OPS(FERRITE_OP_ENUM)
#undef FERRITE_OP_ENUM
  kCount
};
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::kCount);
std::string_view op_name(Op op) noexcept;

// Latency buckets (upper bounds, in nanoseconds), a 1-2-5 series from 1 us to 1 s, plus +Inf.
inline constexpr std::array<std::uint64_t, 19> kLatencyBoundsNs = {
    1'000,      2'000,      5'000,      10'000,      20'000,      50'000,     100'000,
    200'000,    500'000,    1'000'000,  2'000'000,   5'000'000,   10'000'000, 20'000'000,
    50'000'000, 100'000'000, 200'000'000, 500'000'000, 1'000'000'000};
inline constexpr std::size_t kLatencyBuckets = kLatencyBoundsNs.size() + 1;

struct Histogram {
  Counter buckets[kLatencyBuckets];  // not cumulative; the last is +Inf
  Counter sum_ns;
  void record(std::uint64_t ns) noexcept {
    std::size_t i = 0;
    while (i < kLatencyBoundsNs.size() && ns > kLatencyBoundsNs[i]) ++i;
    buckets[i].add();
    sum_ns.add(static_cast<std::int64_t>(ns));
  }
};

// The scalar worker counters, declared once. A new counter is one line here: the WorkerStats
// field, the StatsTotals total, the summing (sum_stats), /metrics, the management plane's /stats
// (ferritectl stats) and, where memcached has the figure, memcached's `stats` all come from it.
//
//   X(name, metric, type, show, mc_slot, mc_name, help)
//     name      the WorkerStats and StatsTotals field
//     metric    the /metrics family is "ferrite_" metric; /stats names the field metric
//     type      kCounter or kGauge (the family's Prometheus TYPE)
//     show      where it is shown (Show below)
//     mc_slot   kNone, or where memcached's `stats` lists it (McSlot below), as mc_name
//     help      the family's HELP text (plain ASCII, no backslash or newline)
//
// The order is the order of /metrics and of /stats.
#define FERRITE_WORKER_COUNTERS(X)                                                                           \
  X(connections_current, "connections", kGauge, kEverywhere, kNone, "", "Open client connections.")          \
  X(connections_accepted, "connections_total", kCounter, kEverywhere, kNone, "",                             \
    "Client connections accepted.")                                                                          \
  X(connections_closed, "connections_closed_total", kCounter, kStatsOnly, kNone, "",                         \
    "Client connections closed.")                                                                            \
  X(connections_refused, "connections_rejected_total", kCounter, kEverywhere, kConnections,                  \
    "rejected_connections", "Connections refused because server.max_connections were open.")                 \
  X(idle_closed, "connections_idle_closed_total", kCounter, kEverywhere, kNone, "",                          \
    "Connections closed by the idle timeout.")                                                               \
  X(backpressure_stalls, "backpressure_stalls_total", kCounter, kEverywhere, kNone, "",                      \
    "Times a connection's input was held back: its unsent replies at their cap, or the buffer budget "       \
    "spent.")                                                                                                \
  X(conn_buffer_bytes, "conn_buffer_bytes", kGauge, kEverywhere, kNone, "",                                  \
    "Bytes client connections hold in buffers beyond their base, charged to server.max_conn_buffer_bytes.")  \
  X(conn_buffer_waits, "conn_buffer_waits_total", kCounter, kEverywhere, kNone, "",                          \
    "Times a connection stopped reading because the connection-buffer budget was spent.")                    \
  X(conn_buffer_refusals, "conn_buffer_refusals_total", kCounter, kEverywhere, kNone, "",                    \
    "Requests refused with an out-of-memory error (and their connection closed) after waiting for the "      \
    "connection-buffer budget.")                                                                             \
  X(bytes_read, "network_read_bytes_total", kCounter, kEverywhere, kTraffic, "bytes_read",                   \
    "Bytes received from clients (TCP and UDP).")                                                            \
  X(bytes_written, "network_written_bytes_total", kCounter, kEverywhere, kTraffic, "bytes_written",          \
    "Bytes sent to clients (TCP and UDP).")                                                                  \
  X(datagrams_in, "datagrams_received_total", kCounter, kEverywhere, kNone, "",                              \
    "UDP request datagrams received.")                                                                       \
  X(datagrams_out, "datagrams_sent_total", kCounter, kEverywhere, kNone, "", "UDP reply datagrams sent.")    \
  X(datagrams_dropped, "datagrams_dropped_total", kCounter, kEverywhere, kNone, "",                          \
    "UDP datagrams dropped: malformed, or a reply over the reflection bound.")                               \
  X(udp_reflection_drops, "udp_reflection_drops_total", kCounter, kEverywhere, kNone, "",                    \
    "UDP requests answered with nothing: their replies would exceed udp.reply_factor times the request "     \
    "(a sender not on loopback nor in udp.allow).")                                                          \
  X(datagrams_handed_over, "datagrams_handed_over_total", kCounter, kPartitioned, kNone, "",                 \
    "UDP datagrams passed to a worker of the partition that owns their key.")                                \
  X(handover_full, "handover_full_total", kCounter, kPartitioned, kNone, "",                                 \
    "UDP datagrams served where they landed: the ring to their key's partition was full, or the "            \
    "datagram larger than a ring slot (2 KiB).")                                                             \
  X(replies_parked, "replies_parked_total", kCounter, kEverywhere, kNone, "",                                \
    "Batches of replies held until the writes they acknowledge were on disk (persist fsync = always).")      \
  X(parked_closed, "parked_connections_closed_total", kCounter, kEverywhere, kNone, "",                      \
    "Connections closed because the append-only file failed while their replies waited for it.")             \
  X(disk_stalls, "disk_congestion_stalls_total", kCounter, kEverywhere, kNone, "",                           \
    "Times a connection's requests were held back because the persistence ring was full (fsync = always).")  \
  X(datagram_replies_unparked, "datagram_replies_not_durable_total", kCounter, kEverywhere, kNone, "",       \
    "UDP replies not sent because the writes they acknowledge were not on disk yet (fsync = always).")       \
  X(loop_iterations, "loop_iterations_total", kCounter, kStatsOnly, kNone, "",                               \
    "Turns of the workers' event loops.")                                                                    \
  X(busy_iterations, "busy_iterations_total", kCounter, kStatsOnly, kNone, "",                               \
    "Turns of the workers' event loops that handled at least one event.")                                    \
  X(cycles_busy, "worker_busy_seconds_total", kCounter, kWorkerSeconds, kNone, "",                           \
    "Time each worker spent handling events.")                                                               \
  X(cycles_total, "worker_seconds_total", kCounter, kWorkerSeconds, kNone, "",                               \
    "Time each worker spent in its event loop, busy or idle.")

// A worker counter's Prometheus TYPE.
enum class MetricType : std::uint8_t { kCounter, kGauge };
std::string_view metric_type_name(MetricType t) noexcept;  // "counter", "gauge"

// Where a worker counter is shown.
enum class Show : std::uint8_t {
  kEverywhere,     // /metrics (summed over the workers) and /stats
  kStatsOnly,      // /stats only
  kPartitioned,    // /stats; /metrics only when the store has more than one partition
  kWorkerSeconds,  // TSC cycles: /metrics one series per worker (label worker), in seconds;
                   // /stats the sum (and each worker's), in seconds
};

// Where memcached's `stats` lists a worker counter (memcached's own order).
enum class McSlot : std::uint8_t {
  kNone,         // not shown
  kConnections,  // after total_connections
  kTraffic,      // after store_no_memory (memcached's bytes_read, bytes_written)
};

struct WorkerStats {
  Counter requests[kProtoCount][kOpCount];
  Histogram latency[kProtoCount][kOpCount];
  // get-type requests that found / did not find the key, per protocol (memcached's get_hits).
  Counter hits[kProtoCount];
  Counter misses[kProtoCount];
  Counter protocol_errors[kProtoCount];  // malformed input answered with an error or a close
#define FERRITE_DECLARE_COUNTER(name, ...) Counter name;
  FERRITE_WORKER_COUNTERS(FERRITE_DECLARE_COUNTER)
#undef FERRITE_DECLARE_COUNTER
  // The fast-path driver's packet counts (copied from it on the store's tick), when it has one.
  std::atomic<bool> has_packets{false};
  Counter packets[io::kPacketCounterCount];
};

// Every worker's counters summed (engine::sum_stats; for stats / INFO / metrics, not on the
// request path).
struct StatsTotals {
  std::int64_t requests[kProtoCount][kOpCount] = {};
  std::int64_t hits[kProtoCount] = {};
  std::int64_t misses[kProtoCount] = {};
  std::int64_t protocol_errors[kProtoCount] = {};
  std::int64_t latency_buckets[kProtoCount][kOpCount][kLatencyBuckets] = {};
  std::int64_t latency_sum_ns[kProtoCount][kOpCount] = {};
#define FERRITE_DECLARE_TOTAL(name, ...) std::int64_t name = 0;
  FERRITE_WORKER_COUNTERS(FERRITE_DECLARE_TOTAL)
#undef FERRITE_DECLARE_TOTAL
  std::int64_t conn_buffer_limit = 0;  // server.max_conn_buffer_bytes (a setting, not a counter)
  bool has_packets = false;            // a worker has a packet-level (DPDK) driver
  std::int64_t packets[io::kPacketCounterCount] = {};

  std::int64_t requests_for(Op op) const noexcept;  // across protocols
  std::int64_t total_hits() const noexcept;
  std::int64_t total_misses() const noexcept;
};

// One row of FERRITE_WORKER_COUNTERS, for the code that walks the table.
struct WorkerCounter {
  std::string_view name;
  std::string_view metric;       // "ferrite_" + the /stats name
  std::string_view stats_name;   // the /stats field
  MetricType type;
  Show show;
  McSlot mc_slot;
  std::string_view mc_name;
  std::string_view help;
  Counter WorkerStats::*counter;
  std::int64_t StatsTotals::*total;
};

inline constexpr WorkerCounter kWorkerCounters[] = {
#define FERRITE_COUNTER_ROW(name, metric, type, show, mc_slot, mc_name, help)                                \
  {#name, "ferrite_" metric, metric, MetricType::type, Show::show, McSlot::mc_slot, mc_name, help,           \
   &WorkerStats::name, &StatsTotals::name},
    FERRITE_WORKER_COUNTERS(FERRITE_COUNTER_ROW)
#undef FERRITE_COUNTER_ROW
};

}  // namespace ferrite::engine
