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
//   ferrite_connections                                  gauge (open, all workers)
//   ferrite_connections_total, ferrite_connections_rejected_total,
//   ferrite_connections_idle_closed_total, ferrite_backpressure_stalls_total
//   ferrite_network_read_bytes_total, ferrite_network_written_bytes_total
//   ferrite_datagrams_received_total, ferrite_datagrams_sent_total,
//   ferrite_datagrams_dropped_total, ferrite_udp_reflection_drops_total
//   ferrite_worker_busy_seconds_total{worker}, ferrite_worker_seconds_total{worker}
//                                                        counters: time handling events / time in
//                                                        the loop; the busy ratio over a window is
//                                                        rate(busy) / rate(worker_seconds)
//
// Families labelled by protocol alone list all eight protocols (zeros included) so that rate()
// sees every series from the start; the protocol x op families would be 136 series (2,720 lines
// for the histogram), so they list only the pairs that have been used.
#pragma once

#include "core/buffer.h"
#include "engine/session.h"

namespace ferrite::engine {

// Appends the whole exposition to `out`. Not on the hot path: it sums every worker's counters
// and the store's, and may allocate.
void write_metrics(const Shared& shared, Buffer& out);

// The Content-Type of the exposition.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ferrite::engine
