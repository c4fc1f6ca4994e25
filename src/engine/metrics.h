// The Prometheus exposition of Ferrite's counters (text format 0.0.4), served at GET /metrics.
//
// Families (every one with HELP and TYPE; `promtool check metrics` passes on the output):
//
//   ferrite_build_info{version}                          gauge, always 1
//   ferrite_uptime_seconds                               gauge
//   ferrite_requests_total{protocol,op}                  counter; only series that are non-zero
//   ferrite_request_duration_seconds{protocol,op}        histogram (le in seconds, from
//                                                        kLatencyBoundsNs); only non-empty series
//   ferrite_hits_total{protocol}, ferrite_misses_total{protocol}
//                                                        counters of get-type requests that found /
//                                                        did not find their key; every protocol
//   ferrite_protocol_errors_total{protocol}              counter, every protocol
//   ferrite_items, ferrite_memory_used_bytes, ferrite_memory_limit_bytes   gauges (the store)
//   ferrite_evictions_total, ferrite_expirations_total (lazy + active), ferrite_no_memory_total
//                                                        counters (the store)
//   ferrite_conn_buffer_limit_bytes                      gauge (a setting)
//   ferrite_store_partitions                             gauge, with more than one partition
//   the worker counters of FERRITE_WORKER_COUNTERS (engine/stats.h), in its order, as its Show
//   column says: one family each, summed over the workers (ferrite_connections,
//   ferrite_connections_total, ..., ferrite_udp_reflection_drops_total; the handover counters
//   with more than one partition; the loop counters not at all), and
//   ferrite_worker_busy_seconds_total{worker} and ferrite_worker_seconds_total{worker}
//                                                        counters per worker: time handling
//                                                        events / time in the loop; the busy ratio
//                                                        over a window is rate(busy) /
//                                                        rate(worker_seconds)
//   ferrite_dpdk_packets_total{event}                    counter, with the DPDK driver
//
// Families labelled by protocol alone list all eight protocols (zeros included) so that rate()
// sees every series from the start; the protocol x op families would be 136 series (2,720 lines
// for the histogram), so they list only the pairs that have been used.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>

#include "core/buffer.h"
#include "engine/session.h"

namespace ferrite::engine {

// Appends the whole exposition to `out`. Not on the hot path: it sums every worker's counters
// and the store's, and may allocate.
void write_metrics(const Shared& shared, Buffer& out);

// The Content-Type of the exposition.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// The Prometheus text format writer: families (HELP and TYPE lines) and their samples. The one
// writer for /metrics and for the management plane's own families (mgmt/plane_stats.cc).
class PromWriter {
 public:
  using Label = std::pair<std::string_view, std::string_view>;

  explicit PromWriter(Buffer& out) : out_(out) {}

  // `help` is plain ASCII without backslashes or newlines: nothing to escape.
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, std::int64_t v);
  // Shortest round-trip decimal; NaN as "NaN", infinities as "+Inf" and "-Inf".
  void sample(std::string_view name, std::initializer_list<Label> labels, double v);
  // A family of one unlabelled sample.
  void scalar(std::string_view name, std::string_view type, std::string_view help, std::int64_t v) {
    family(name, type, help);
    sample(name, {}, v);
  }

 private:
  void start(std::string_view name, std::initializer_list<Label> labels);
  void escape(std::string_view v);

  Buffer& out_;
};

}  // namespace ferrite::engine
