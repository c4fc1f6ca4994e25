// The counter commands: /stats, /metrics and /latency. They read the workers' per-core counters
// and the store's stats directly (relaxed loads; no worker is asked anything).
#include <charconv>
#include <cmath>
#include <memory>
#include <string>

#include "core/buffer.h"
#include "core/clock.h"
#include "engine/metrics.h"
#include "mgmt/persist_metrics.h"
#include "mgmt/args.h"
#include "mgmt/plane.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::mgmt {
namespace {

using engine::kLatencyBoundsNs;
using engine::kLatencyBuckets;
using engine::kOpCount;
using engine::kProtoCount;
using engine::StatsTotals;

std::string_view proto_label(std::size_t p) noexcept {
  return engine::proto_name(static_cast<engine::Proto>(p));
}
std::string_view op_label(std::size_t o) noexcept { return engine::op_name(static_cast<engine::Op>(o)); }

double seconds_of_cycles(std::int64_t c) noexcept {
  return c <= 0 ? 0.0 : static_cast<double>(engine::cycles_to_ns(static_cast<std::uint64_t>(c))) / 1e9;
}

void per_protocol(JsonWriter& w, std::string_view name, const std::int64_t (&v)[kProtoCount]) {
  w.key(name).begin_object();
  for (std::size_t p = 0; p < kProtoCount; ++p) w.field(proto_label(p), v[p]);
  w.end_object();
}

// One StatsTotals as the fields of the object being written (named as /metrics names them,
// without the ferrite_ prefix).
void write_totals(const StatsTotals& t, JsonWriter& w) {
  std::int64_t all = 0;
  w.key("requests_total").begin_object();
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    bool any = false;
    for (std::size_t o = 0; o < kOpCount; ++o) {
      if (t.requests[p][o] == 0) continue;
      if (!any) w.key(proto_label(p)).begin_object();
      any = true;
      w.field(op_label(o), t.requests[p][o]);
      all += t.requests[p][o];
    }
    if (any) w.end_object();
  }
  w.end_object();
  w.field("requests", all);
  per_protocol(w, "hits_total", t.hits);
  per_protocol(w, "misses_total", t.misses);
  per_protocol(w, "protocol_errors_total", t.protocol_errors);
  for (const engine::WorkerCounter& c : engine::kWorkerCounters) {
    if (c.show == engine::Show::kWorkerSeconds) {
      w.field(c.stats_name, seconds_of_cycles(t.*c.total));
    } else {
      w.field(c.stats_name, t.*c.total);
    }
  }
  w.field("conn_buffer_limit_bytes", t.conn_buffer_limit);
  if (t.has_packets) {
    w.key("dpdk_packets_total").begin_object();
    for (std::size_t i = 0; i < io::kPacketCounterCount; ++i) w.field(io::kPacketCounterNames[i], t.packets[i]);
    w.end_object();
  }
  // Histograms: bucket counts (not cumulative) against latency_bounds_seconds, plus +Inf.
  w.key("request_duration_seconds").begin_object();
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    bool any = false;
    for (std::size_t o = 0; o < kOpCount; ++o) {
      std::int64_t count = 0;
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) count += t.latency_buckets[p][o][b];
      if (count == 0) continue;
      if (!any) w.key(proto_label(p)).begin_object();
      any = true;
      w.key(op_label(o)).begin_object();
      w.field("count", count);
      w.field("sum", static_cast<double>(t.latency_sum_ns[p][o]) / 1e9);
      w.key("buckets").begin_array();
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) w.value(t.latency_buckets[p][o][b]);
      w.end_array();
      w.end_object();
    }
    if (any) w.end_object();
  }
  w.end_object();
}

void worker_totals(const engine::WorkerStats* ws, StatsTotals& t) {
  engine::Shared one;
  one.worker_stats.push_back(ws);
  engine::sum_stats(one, t);
}

void write_store(const store::StoreStats& s, JsonWriter& w) {
  w.begin_object();
  w.field("items", s.items);
  w.field("memory_used_bytes", s.bytes_used);
  w.field("memory_limit_bytes", s.memory_limit);
  w.field("item_bytes", s.item_bytes);
  w.field("retired_bytes", s.retired_bytes);
  w.field("table_bytes", s.table_bytes);
  w.field("table_resident_bytes", s.table_resident_bytes);
  w.field("wheel_bytes", s.wheel_bytes);
  w.field("table_slots", s.table_slots);
  w.field("table_slots_now", s.table_slots_now);
  // The *_delta counters are the parts of items / item_bytes / wheel_bytes above.
#define FERRITE_STORE_FIELD(name, help) \
  if (!std::string_view(#name).ends_with("_delta")) w.field(#name, s.name);
  FERRITE_STORE_COUNTERS(FERRITE_STORE_FIELD)
#undef FERRITE_STORE_FIELD
  w.end_object();
}

void optional_ratio(JsonWriter& w, std::string_view name, const std::optional<double>& v) {
  if (v) {
    w.field(name, *v);
  } else {
    w.key(name).null();
  }
}

}  // namespace

double quantile_ns(std::span<const std::int64_t> buckets, double q) noexcept {
  std::int64_t count = 0;
  for (const std::int64_t b : buckets) count += b > 0 ? b : 0;
  if (count == 0 || buckets.empty()) return 0.0;
  if (q <= 0) q = 1e-9;
  if (q > 1) q = 1;
  const double rank = q * static_cast<double>(count);
  double before = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    const double n = static_cast<double>(buckets[i] > 0 ? buckets[i] : 0);
    if (n == 0) continue;
    const double lower =
        i == 0 ? 0.0 : static_cast<double>(kLatencyBoundsNs[std::min(i, kLatencyBoundsNs.size()) - 1]);
    if (i >= kLatencyBoundsNs.size()) return lower;  // +Inf: the last finite bound
    const double upper = static_cast<double>(kLatencyBoundsNs[i]);
    if (before + n >= rank) return lower + (upper - lower) * ((rank - before) / n);
    before += n;
  }
  return static_cast<double>(kLatencyBoundsNs.back());
}

std::string Plane::stats(JsonWriter& w) {
  auto totals = std::make_unique<StatsTotals>();
  engine::sum_stats(shared_, *totals);
  const Rates r = rates_.rates();
  const std::uint64_t now = unix_ms();
  w.begin_object();
  w.field("uptime_seconds",
          now > shared_.start_unix_ms ? static_cast<double>(now - shared_.start_unix_ms) / 1e3 : 0.0);
  w.key("rates").begin_object();
  w.field("window_seconds", r.window_seconds);
  w.field("ops_per_second", r.ops_per_second);
  optional_ratio(w, "hit_ratio_1m", r.hit_ratio_1m);
  w.field("evictions_per_second", r.evictions_per_second);
  w.field("evictions_per_second_1m", r.evictions_per_second_1m);
  w.field("read_bytes_per_second", r.read_bytes_per_second);
  w.field("written_bytes_per_second", r.written_bytes_per_second);
  w.end_object();
  if (shared_.store != nullptr) {
    w.key("store");
    write_store(shared_.store->stats(), w);
    if (shared_.store->count() > 1) {
      // Each partition (NUMA node) on its own: the sums above hide an unbalanced one.
      w.key("partitions").begin_array();
      for (unsigned p = 0; p < shared_.store->count(); ++p) write_store(shared_.store->at(p).stats(), w);
      w.end_array();
    }
  }
  w.key("total").begin_object();
  write_totals(*totals, w);
  w.end_object();
  w.key("workers").begin_array();
  for (std::size_t i = 0; i < shared_.worker_stats.size(); ++i) {
    if (shared_.worker_stats[i] == nullptr) continue;
    worker_totals(shared_.worker_stats[i], *totals);
    w.begin_object();
    w.field("worker", static_cast<std::uint64_t>(i));
    w.field("ops_per_second", i < r.worker_ops_per_second.size() ? r.worker_ops_per_second[i] : 0.0);
    w.field("busy_ratio", i < r.worker_busy_ratio.size() ? r.worker_busy_ratio[i] : 0.0);
    w.field("busy_ratio_1m", i < r.worker_busy_ratio_1m.size() ? r.worker_busy_ratio_1m[i] : 0.0);
    const engine::WorkerControl* c = i < shared_.controls.size() ? shared_.controls[i] : nullptr;
    w.field("events_dropped_total", c != nullptr ? c->events_dropped.get() : 0);
    write_totals(*totals, w);
    w.end_object();
  }
  w.end_array();
  w.field("events_dropped_total", drain_.dropped_total());
  w.key("latency_bounds_seconds").begin_array();
  for (const std::uint64_t b : kLatencyBoundsNs) w.value(static_cast<double>(b) / 1e9);
  w.end_array();
  w.end_object();
  return "";
}

std::string Plane::metrics(JsonWriter& w) {
  Buffer out;
  engine::write_metrics(shared_, out);
  const Rates r = rates_.rates();
  engine::PromWriter p(out);
  p.family("ferrite_worker_busy_ratio", "gauge",
           "Share of the last second each worker spent handling events (0 to 1), sampled by the management "
           "thread.");
  char id[16];
  for (std::size_t i = 0; i < shared_.worker_stats.size(); ++i) {
    const auto n = std::to_chars(id, id + sizeof id, i);
    p.sample("ferrite_worker_busy_ratio", {{"worker", {id, static_cast<std::size_t>(n.ptr - id)}}},
             i < r.worker_busy_ratio.size() ? r.worker_busy_ratio[i] : 0.0);
  }
  p.family("ferrite_hit_ratio_1m", "gauge",
           "Get-type requests that found their key over the last minute (0 to 1; NaN before any).");
  p.sample("ferrite_hit_ratio_1m", {}, r.hit_ratio_1m ? *r.hit_ratio_1m : std::nan(""));
  p.family("ferrite_evictions_per_second_1m", "gauge", "Evictions per second over the last minute.");
  p.sample("ferrite_evictions_per_second_1m", {}, r.evictions_per_second_1m);
  p.scalar("ferrite_mgmt_events_dropped_total", "counter",
           "Worker events dropped because the worker's event ring was full.",
           drain_.dropped_total());
  if (options_.aof != nullptr) write_aof_metrics(options_.aof->stats(), p);
  if (shared_.persist != nullptr) {
    write_snapshot_metrics(shared_.persist->status(), shared_.loading.load(std::memory_order_relaxed),
                           shared_.loading_permille.load(std::memory_order_relaxed), p);
  }
  w.begin_object();
  w.field("content_type", engine::kMetricsContentType);
  w.field("text", out.view());
  w.end_object();
  return "";
}

std::string Plane::latency(Args args, JsonWriter& w) {
  std::size_t only = kProtoCount;
  if (!args.empty()) {
    for (std::size_t p = 0; p < kProtoCount; ++p) {
      if (proto_label(p) == args[0]) only = p;
    }
    if (only == kProtoCount) {
      std::string names;
      for (std::size_t p = 0; p < kProtoCount; ++p) {
        if (p != 0) names += ", ";
        names += proto_label(p);
      }
      return "/latency: unknown protocol " + quoted(args[0]) + "; expected one of " + names;
    }
  }
  auto t = std::make_unique<StatsTotals>();
  engine::sum_stats(shared_, *t);
  w.begin_object();
  w.field("unit", "us");
  w.key("series").begin_array();
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    if (only != kProtoCount && p != only) continue;
    for (std::size_t o = 0; o < kOpCount; ++o) {
      const std::span<const std::int64_t> b(t->latency_buckets[p][o], kLatencyBuckets);
      std::int64_t count = 0;
      for (const std::int64_t n : b) count += n;
      if (count == 0) continue;
      w.begin_object();
      w.field("protocol", proto_label(p));
      w.field("op", op_label(o));
      w.field("count", count);
      w.field("mean_us", static_cast<double>(t->latency_sum_ns[p][o]) / static_cast<double>(count) / 1e3);
      w.field("p50_us", quantile_ns(b, 0.5) / 1e3);
      w.field("p99_us", quantile_ns(b, 0.99) / 1e3);
      w.field("p999_us", quantile_ns(b, 0.999) / 1e3);
      w.field("over_1s", b[kLatencyBuckets - 1]);
      w.end_object();
    }
  }
  w.end_array();
  w.end_object();
  return "";
}

}  // namespace ferrite::mgmt
