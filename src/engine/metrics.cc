#include "engine/metrics.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "core/clock.h"
#include "store/store.h"

namespace ferrite::engine {
namespace {

using Label = PromWriter::Label;

std::string_view proto_label(std::size_t p) noexcept { return proto_name(static_cast<Proto>(p)); }
std::string_view op_label(std::size_t o) noexcept { return op_name(static_cast<Op>(o)); }

double seconds_of_cycles(std::int64_t c) noexcept {
  return c <= 0 ? 0.0 : static_cast<double>(cycles_to_ns(static_cast<std::uint64_t>(c))) / 1e9;
}

void requests(PromWriter& w, const StatsTotals& t) {
  w.family("ferrite_requests_total", "counter",
           "Requests served, by protocol and operation (requests answered with an error: op=\"error\").");
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    for (std::size_t o = 0; o < kOpCount; ++o) {
      if (t.requests[p][o] == 0) continue;
      w.sample("ferrite_requests_total", {{"protocol", proto_label(p)}, {"op", op_label(o)}},
               t.requests[p][o]);
    }
  }

  w.family("ferrite_request_duration_seconds", "histogram",
           "Time from a request's arrival in the worker to its reply being queued.");
  char le[kLatencyBuckets][32];
  std::size_t le_len[kLatencyBuckets];
  for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
    if (b + 1 == kLatencyBuckets) {
      le_len[b] = 4;
      std::memcpy(le[b], "+Inf", 4);
      continue;
    }
    const auto r = std::to_chars(le[b], le[b] + sizeof le[b], static_cast<double>(kLatencyBoundsNs[b]) / 1e9);
    le_len[b] = static_cast<std::size_t>(r.ptr - le[b]);
  }
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    for (std::size_t o = 0; o < kOpCount; ++o) {
      std::int64_t count = 0;
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) count += t.latency_buckets[p][o][b];
      if (count == 0) continue;
      const Label proto{"protocol", proto_label(p)}, op{"op", op_label(o)};
      std::int64_t cumulative = 0;
      for (std::size_t b = 0; b < kLatencyBuckets; ++b) {
        cumulative += t.latency_buckets[p][o][b];
        w.sample("ferrite_request_duration_seconds_bucket", {proto, op, {"le", {le[b], le_len[b]}}},
                 cumulative);
      }
      w.sample("ferrite_request_duration_seconds_sum", {proto, op},
               static_cast<double>(t.latency_sum_ns[p][o]) / 1e9);
      w.sample("ferrite_request_duration_seconds_count", {proto, op}, count);
    }
  }
}

void per_protocol(PromWriter& w, std::string_view name, std::string_view help,
                  const std::int64_t (&v)[kProtoCount]) {
  w.family(name, "counter", help);
  for (std::size_t p = 0; p < kProtoCount; ++p) w.sample(name, {{"protocol", proto_label(p)}}, v[p]);
}

// One worker counter as Show says (Show::kStatsOnly: not here).
void worker_counter(PromWriter& w, const Shared& shared, const StatsTotals& t, const WorkerCounter& c,
                    bool partitioned) {
  switch (c.show) {
    case Show::kStatsOnly: return;
    case Show::kPartitioned:
      if (!partitioned) return;
      break;
    case Show::kEverywhere: break;
    case Show::kWorkerSeconds: {
      w.family(c.metric, metric_type_name(c.type), c.help);
      char id[16];
      for (std::size_t i = 0; i < shared.worker_stats.size(); ++i) {
        if (shared.worker_stats[i] == nullptr) continue;
        const auto r = std::to_chars(id, id + sizeof id, i);
        w.sample(c.metric, {{"worker", {id, static_cast<std::size_t>(r.ptr - id)}}},
                 seconds_of_cycles((shared.worker_stats[i]->*c.counter).get()));
      }
      return;
    }
  }
  w.scalar(c.metric, metric_type_name(c.type), c.help, t.*c.total);
}

}  // namespace

void write_metrics(const Shared& shared, Buffer& out) {
  auto totals = std::make_unique<StatsTotals>();  // ~25 KiB: not for the stack
  sum_stats(shared, *totals);
  const StatsTotals& t = *totals;
  PromWriter w(out);

  w.family("ferrite_build_info", "gauge", "Always 1; the labels describe the running build.");
  w.sample("ferrite_build_info", {{"version", shared.settings.version}}, std::int64_t{1});
  const std::uint64_t now = unix_ms();
  w.family("ferrite_uptime_seconds", "gauge", "Seconds since the server started.");
  w.sample("ferrite_uptime_seconds", {},
           now > shared.start_unix_ms ? static_cast<double>(now - shared.start_unix_ms) / 1e3 : 0.0);

  requests(w, t);
  per_protocol(w, "ferrite_hits_total", "Get-type requests that found their key, by protocol.", t.hits);
  per_protocol(w, "ferrite_misses_total", "Get-type requests that did not find their key, by protocol.",
               t.misses);
  per_protocol(w, "ferrite_protocol_errors_total",
               "Malformed requests answered with an error or a close, by protocol.", t.protocol_errors);

  if (shared.store != nullptr) {
    const store::StoreStats s = shared.store->stats();
    w.scalar("ferrite_items", "gauge", "Live items in the store.", s.items);
    w.scalar("ferrite_memory_used_bytes", "gauge",
           "Memory accounted against the limit: live items by usable size, the table and the timing wheels.",
           s.bytes_used);
    w.scalar("ferrite_memory_limit_bytes", "gauge", "The store's memory limit.", s.memory_limit);
    w.scalar("ferrite_evictions_total", "counter", "Live items removed to make room.", s.evictions);
    w.scalar("ferrite_expirations_total", "counter",
           "Expired items removed, by a request that found them or by the timing wheel.",
           s.expired_lazy + s.expired_active);
    w.scalar("ferrite_no_memory_total", "counter", "Stores refused because bounded eviction found no room.",
           s.no_memory);
  }

  w.scalar("ferrite_conn_buffer_limit_bytes", "gauge",
           "The connection-buffer budget (server.max_conn_buffer_bytes).", t.conn_buffer_limit);
  const bool partitioned = shared.store != nullptr && shared.store->count() > 1;
  if (partitioned) {
    w.scalar("ferrite_store_partitions", "gauge",
             "Store partitions (one per NUMA node, or server.partitions).", shared.store->count());
  }
  for (const WorkerCounter& c : kWorkerCounters) worker_counter(w, shared, t, c, partitioned);

  if (t.has_packets) {
    w.family("ferrite_dpdk_packets_total", "counter",
             "Frames the DPDK fast path handled, by what happened to them (rx, tx, arp_replies, icmp_replies, "
             "to_kernel and from_kernel through the exception path, and the drops).");
    for (std::size_t i = 0; i < io::kPacketCounterCount; ++i) {
      w.sample("ferrite_dpdk_packets_total", {{"event", io::kPacketCounterNames[i]}}, t.packets[i]);
    }
  }
}

void PromWriter::family(std::string_view name, std::string_view type, std::string_view help) {
  out_.append("# HELP ");
  out_.append(name);
  out_.push_back(' ');
  out_.append(help);
  out_.append("\n# TYPE ");
  out_.append(name);
  out_.push_back(' ');
  out_.append(type);
  out_.push_back('\n');
}

void PromWriter::sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t v) {
  start(name, labels);
  out_.append_int(v);
  out_.push_back('\n');
}

void PromWriter::sample(std::string_view name, std::initializer_list<Label> labels, double v) {
  start(name, labels);
  if (std::isnan(v)) {
    out_.append("NaN");
  } else if (std::isinf(v)) {
    out_.append(v > 0 ? "+Inf" : "-Inf");
  } else {
    char tmp[32];
    const auto r = std::to_chars(tmp, tmp + sizeof tmp, v);
    out_.append(tmp, static_cast<std::size_t>(r.ptr - tmp));
  }
  out_.push_back('\n');
}

void PromWriter::start(std::string_view name, std::initializer_list<Label> labels) {
  out_.append(name);
  if (labels.size() != 0) {
    out_.push_back('{');
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (!first) out_.push_back(',');
      first = false;
      out_.append(k);
      out_.append("=\"");
      escape(v);
      out_.push_back('"');
    }
    out_.push_back('}');
  }
  out_.push_back(' ');
}

void PromWriter::escape(std::string_view v) {
  for (const char c : v) {
    if (c == '\\') {
      out_.append("\\\\");
    } else if (c == '"') {
      out_.append("\\\"");
    } else if (c == '\n') {
      out_.append("\\n");
    } else {
      out_.push_back(c);
    }
  }
}

}  // namespace ferrite::engine
