#include "engine/session.h"

#include <ctime>

#include "core/clock.h"

namespace ferrite::engine {

std::string_view proto_name(Proto p) noexcept {
  switch (p) {
    case Proto::kMemcacheText: return "memcache_text";
    case Proto::kMemcacheMeta: return "memcache_meta";
    case Proto::kMemcacheBinary: return "memcache_binary";
    case Proto::kMemcacheUdp: return "memcache_udp";
    case Proto::kResp: return "resp";
    case Proto::kHttp: return "http";
    case Proto::kBinary: return "binary";
    case Proto::kBinaryUdp: return "binary_udp";
    case Proto::kCount: break;
  }
  return "unknown";
}

std::string_view op_name(Op op) noexcept {
  switch (op) {
#define FERRITE_OP_NAME(name) \
  case Op::k_##name:          \
    return #name;
    FERRITE_OPS(FERRITE_OP_NAME)
#undef FERRITE_OP_NAME
    case Op::kCount: break;
  }
  return "unknown";
}

namespace {
// TSC ticks per nanosecond, measured once against the monotonic clock.
double cycles_per_ns() noexcept {
  static const double kRatio = [] {
    // Each TSC read right after its clock read, so that both ends pair the same instants.
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const std::uint64_t c0 = cycles();
    std::uint64_t c1 = 0;
    do {
      clock_gettime(CLOCK_MONOTONIC, &t1);
      c1 = cycles();
    } while ((t1.tv_sec - t0.tv_sec) * 1'000'000'000LL + (t1.tv_nsec - t0.tv_nsec) < 2'000'000);
    const double ns = static_cast<double>((t1.tv_sec - t0.tv_sec) * 1'000'000'000LL + (t1.tv_nsec - t0.tv_nsec));
    const double r = static_cast<double>(c1 - c0) / ns;
    return r > 0 ? r : 1.0;
  }();
  return kRatio;
}
}  // namespace

std::uint64_t cycles_to_ns(std::uint64_t c) noexcept {
  return static_cast<std::uint64_t>(static_cast<double>(c) / cycles_per_ns());
}

std::uint64_t ns_to_cycles(std::uint64_t ns) noexcept {
  return static_cast<std::uint64_t>(static_cast<double>(ns) * cycles_per_ns());
}

std::size_t prefetch_pipeline(std::string_view in, PeekFn peek, Exec& ex) noexcept {
  constexpr std::size_t kWindow = 16;
  store::KeyRef keys[kWindow];
  std::size_t n = 0, pos = 0;
  while (n < kWindow) {
    std::string_view key;
    const std::size_t len = peek(in.substr(pos), &key);
    if (len == 0) break;
    pos += len;
    if (!key.empty()) keys[n++] = store::make_key(key);
  }
  if (n > 1) {  // one request alone gains nothing: its misses have nothing to overlap with
    for (std::size_t i = 0; i < n; ++i) ex.ctx.prefetch(keys[i]);
    for (std::size_t i = 0; i < n; ++i) ex.ctx.prefetch_item(keys[i]);
  }
  return pos;
}

void Exec::count(Proto p, Op op, std::uint64_t start_cycles) noexcept {
  const auto pi = static_cast<std::size_t>(p), oi = static_cast<std::size_t>(op);
  ++requests_done;
  stats.requests[pi][oi].add();
  const std::uint64_t now = cycles();
  const std::uint64_t ns = now > start_cycles ? cycles_to_ns(now - start_cycles) : 0;
  stats.latency[pi][oi].record(ns);
  const std::uint64_t slow = shared.settings.slow_request_ns.load(std::memory_order_relaxed);
  if (slow != 0 && ns >= slow && control != nullptr) {
    Event e;
    e.unix_ms = unix_ms();
    e.type = EventType::kSlowRequest;
    e.worker = static_cast<std::uint16_t>(worker_id);
    e.a = static_cast<std::int64_t>(ns);
    e.b = static_cast<std::int64_t>(pi << 8 | oi);
    if (!control->events.push(e)) control->events_dropped.add();
  }
}

std::string_view event_type_name(EventType t) noexcept {
  switch (t) {
    case EventType::kSlowRequest: return "slow_request";
    case EventType::kConnectionsRefused: return "connections_refused";
    case EventType::kEvictionStorm: return "eviction_storm";
    case EventType::kConfigChanged: return "config_changed";
    case EventType::kNoMemory: return "no_memory";
    case EventType::kSignal: return "signal";
  }
  return "unknown";
}

std::uint64_t memcache_deadline(std::int64_t exptime, const Exec& ex) noexcept {
  constexpr std::int64_t kRelativeMax = 60 * 60 * 24 * 30;  // memcached's REALTIME_MAXDELTA
  if (exptime == 0) return 0;
  if (exptime < 0) return 1;  // the store clock's first moment: always in the past
  if (exptime <= kRelativeMax) return ex.now_ms() + static_cast<std::uint64_t>(exptime) * 1000;
  const std::uint64_t unix = static_cast<std::uint64_t>(exptime) * 1000;
  const std::uint64_t d = ex.store().from_unix_ms(unix);
  return d == 0 ? 1 : d;
}

std::string_view metric_type_name(MetricType t) noexcept {
  return t == MetricType::kGauge ? "gauge" : "counter";
}

std::int64_t StatsTotals::requests_for(Op op) const noexcept {
  std::int64_t n = 0;
  for (std::size_t p = 0; p < kProtoCount; ++p) n += requests[p][static_cast<std::size_t>(op)];
  return n;
}
std::int64_t StatsTotals::total_hits() const noexcept {
  std::int64_t n = 0;
  for (auto h : hits) n += h;
  return n;
}
std::int64_t StatsTotals::total_misses() const noexcept {
  std::int64_t n = 0;
  for (auto m : misses) n += m;
  return n;
}

void sum_stats(const Shared& shared, StatsTotals& t) noexcept {
  t = StatsTotals{};
  t.conn_buffer_limit = static_cast<std::int64_t>(shared.settings.conn_buffers.limit());
  for (const WorkerStats* w : shared.worker_stats) {
    if (w == nullptr) continue;
    for (std::size_t p = 0; p < kProtoCount; ++p) {
      for (std::size_t o = 0; o < kOpCount; ++o) {
        t.requests[p][o] += w->requests[p][o].get();
        for (std::size_t b = 0; b < kLatencyBuckets; ++b) t.latency_buckets[p][o][b] += w->latency[p][o].buckets[b].get();
        t.latency_sum_ns[p][o] += w->latency[p][o].sum_ns.get();
      }
      t.hits[p] += w->hits[p].get();
      t.misses[p] += w->misses[p].get();
      t.protocol_errors[p] += w->protocol_errors[p].get();
    }
    for (const WorkerCounter& c : kWorkerCounters) t.*c.total += (w->*c.counter).get();
    if (w->has_packets.load(std::memory_order_relaxed)) {
      t.has_packets = true;
      for (std::size_t i = 0; i < io::kPacketCounterCount; ++i) t.packets[i] += w->packets[i].get();
    }
  }
}

}  // namespace ferrite::engine
