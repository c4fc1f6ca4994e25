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

struct WorkerStats {
  Counter requests[kProtoCount][kOpCount];
  Histogram latency[kProtoCount][kOpCount];
  // get-type requests that found / did not find the key, per protocol (memcached's get_hits).
  Counter hits[kProtoCount];
  Counter misses[kProtoCount];
  Counter protocol_errors[kProtoCount];  // malformed input answered with an error or a close
  Counter connections_accepted;
  Counter connections_closed;
  Counter connections_refused;   // over server.max_connections
  Counter connections_current;   // this worker's open connections
  Counter idle_closed;           // closed by the idle timeout
  Counter backpressure_stalls;   // input held back: unsent replies at their cap (or the budget's)
  Counter conn_buffer_bytes;     // bytes this worker's connections hold beyond their base (a gauge)
  Counter conn_buffer_waits;     // reads paused because the connection-buffer budget was spent
  Counter conn_buffer_refusals;  // requests refused (and their connection closed): the budget stayed spent
  Counter bytes_read;
  Counter bytes_written;
  Counter datagrams_in;
  Counter datagrams_out;
  Counter datagrams_dropped;     // malformed, or the reply would exceed the reflection bound
  Counter udp_reflection_drops;  // request datagrams whose replies were dropped for that bound
  Counter datagrams_handed_over; // passed to a worker of their key's partition (counted in here)
  Counter handover_full;         // served here instead: the ring was full or the datagram too big
  Counter loop_iterations;
  Counter busy_iterations;       // iterations that handled at least one event
  Counter cycles_busy;           // TSC cycles spent handling events (for the busy ratio)
  Counter cycles_total;
  // The fast-path driver's packet counts (copied from it on the store's tick), when it has one.
  std::atomic<bool> has_packets{false};
  Counter packets[io::kPacketCounterCount];
};

}  // namespace ferrite::engine
