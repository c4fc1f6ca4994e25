#include "report.h"

#include <string>

#include "resp_types.h"

namespace ferrite::bench {

namespace {

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

double per_s(std::uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }

double hit_ratio(const Stats& s) {
  const std::uint64_t g = s.hits + s.misses;
  return g ? static_cast<double>(s.hits) / static_cast<double>(g) : 0.0;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void json_errors(std::FILE* out, const Stats& s) {
  std::fprintf(
      out,
      "{\"total\":%llu,\"error_reply\":%llu,\"bad_reply\":%llu,\"wrong_value\":%llu,\"timeout\":%llu,"
      "\"connection\":%llu,\"connect_failures\":%llu,\"first\":%s}",
      static_cast<unsigned long long>(s.errors()), static_cast<unsigned long long>(s.err_reply),
      static_cast<unsigned long long>(s.err_bad), static_cast<unsigned long long>(s.err_value),
      static_cast<unsigned long long>(s.err_timeout), static_cast<unsigned long long>(s.err_conn),
      static_cast<unsigned long long>(s.connect_failures), json_string(s.first_error).c_str());
}

void json_latency(std::FILE* out, const Histogram& h) {
  std::fprintf(
      out, "{\"count\":%llu,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
      static_cast<unsigned long long>(h.count()), us(h.percentile(0.50)), us(h.percentile(0.90)),
      us(h.percentile(0.99)), us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0);
}

}  // namespace

void print_table(std::FILE* out, const Options& o, const Result& r) {
  const Stats& s = r.run;
  std::fprintf(out, "ferrite-bench  %s %s, %u connections on %u threads, pipeline %u\n",
               o.protocol_name.c_str(), o.server.c_str(), o.connections, o.threads, r.depth);
  switch (o.workload) {
    case Workload::kGetSet:
      std::fprintf(out, "workload       %llu keys of %u B, values %u B, %s, set:get %s, ",
                   static_cast<unsigned long long>(o.keys), o.key_size, o.value_size, o.distribution.c_str(),
                   o.ratio.c_str());
      break;
    case Workload::kMultiIncr:
      std::fprintf(out,
                   "workload       multi-incr: MULTI + INCR of 10 keys + EXEC a request, %llu counters of %u B, %s, ",
                   static_cast<unsigned long long>(o.keys), o.key_size, o.distribution.c_str());
      break;
    case Workload::kHash:
      std::fprintf(out, "workload       hash: %llu hashes of %u B keys, 10 fields of %u B values, %s, hset:hget %s, ",
                   static_cast<unsigned long long>(o.keys), o.key_size, o.value_size, o.distribution.c_str(),
                   o.ratio.c_str());
      break;
  }
  if (o.rate > 0) {
    std::fprintf(out, "open loop at %.0f ops/s\n", o.rate);
  } else {
    std::fprintf(out, "closed loop\n");
  }
  if (o.preload) {
    const Stats& p = r.preload;
    std::fprintf(out, "preload        %llu %s in %.2f s (%.0f/s), %llu errors\n",
                 static_cast<unsigned long long>(p.sets), o.workload == Workload::kHash ? "hsets" : "sets",
                 r.preload_s, per_s(p.sets, r.preload_s), static_cast<unsigned long long>(p.errors()));
  }
  if (!r.ran) return;
  std::fprintf(out, "measured       %llu requests in %.2f s (after %.1f s warm-up)%s\n",
               static_cast<unsigned long long>(s.ops), r.measured_s, o.warmup_time,
               s.aborted ? "  ABORTED" : "");
  switch (o.workload) {
    case Workload::kGetSet:
      std::fprintf(out, "throughput     %.0f ops/s (%llu gets, %llu sets)\n", per_s(s.ops, r.measured_s),
                   static_cast<unsigned long long>(s.gets), static_cast<unsigned long long>(s.sets));
      break;
    case Workload::kMultiIncr:
      std::fprintf(out, "throughput     %.0f transactions/s (%llu transactions, %.0f INCRs/s)\n",
                   per_s(s.ops, r.measured_s), static_cast<unsigned long long>(s.sets),
                   per_s(s.ops * resp_types::kIncrs, r.measured_s));
      break;
    case Workload::kHash:
      std::fprintf(out, "throughput     %.0f ops/s (%llu hgets, %llu hsets)\n", per_s(s.ops, r.measured_s),
                   static_cast<unsigned long long>(s.gets), static_cast<unsigned long long>(s.sets));
      break;
  }
  if (o.workload != Workload::kMultiIncr) {
    std::fprintf(out, "hit ratio      %.4f (%llu hits, %llu misses)\n", hit_ratio(s),
                 static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses));
  }
  std::fprintf(out,
               "errors         %llu (error replies %llu, bad replies %llu, wrong values %llu, timeouts %llu, "
               "connection %llu; connect failures %llu)\n",
               static_cast<unsigned long long>(s.errors()), static_cast<unsigned long long>(s.err_reply),
               static_cast<unsigned long long>(s.err_bad), static_cast<unsigned long long>(s.err_value),
               static_cast<unsigned long long>(s.err_timeout), static_cast<unsigned long long>(s.err_conn),
               static_cast<unsigned long long>(s.connect_failures));
  if (!s.first_error.empty() || !r.preload.first_error.empty()) {
    std::fprintf(out, "first error    %s\n",
                 (s.first_error.empty() ? r.preload.first_error : s.first_error).c_str());
  }
  const Histogram& h = s.latency;
  std::fprintf(out, "latency (us)   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
               us(h.percentile(0.50)), us(h.percentile(0.90)), us(h.percentile(0.99)),
               us(h.percentile(0.999)), us(h.max()), h.mean() / 1000.0);
  if (o.rate > 0) {
    const Histogram& l = s.send_lag;
    std::fprintf(out, "send lag (us)  p50 %.1f  p99 %.1f  max %.1f  (time sent minus time scheduled)\n",
                 us(l.percentile(0.50)), us(l.percentile(0.99)), us(l.max()));
  }
  if (s.udp_ignored != 0) {
    std::fprintf(out, "udp            %llu reply datagrams ignored (late or duplicate)\n",
                 static_cast<unsigned long long>(s.udp_ignored));
  }
  std::fprintf(out, "client cpu     %.2f s over %.2f s (%.0f%% of one core)\n", r.client_cpu_s, r.run_wall_s,
               r.run_wall_s > 0 ? 100.0 * r.client_cpu_s / r.run_wall_s : 0.0);
}

void print_json(std::FILE* out, const Options& o, const Result& r) {
  const Stats& s = r.run;
  std::fprintf(
      out,
      "{\"server\":%s,\"protocol\":\"%s\",\"workload\":\"%s\",\"connections\":%u,\"threads\":%u,\"pipeline\":%u,"
      "\"keys\":%llu,\"key_size\":%u,\"value_size\":%u,\"distribution\":%s,\"ratio\":%s,\"rate\":%.1f,",
      json_string(o.server).c_str(), o.protocol_name.c_str(), o.workload_name.c_str(), o.connections, o.threads, r.depth,
      static_cast<unsigned long long>(o.keys), o.key_size, o.value_size, json_string(o.distribution).c_str(),
      json_string(o.ratio).c_str(), o.rate);
  std::fprintf(out, "\"preload\":{\"sets\":%llu,\"seconds\":%.3f,\"sent_sets\":%llu,\"errors\":",
               static_cast<unsigned long long>(r.preload.sets), r.preload_s,
               static_cast<unsigned long long>(r.preload.sent_sets));
  json_errors(out, r.preload);
  std::fprintf(
      out,
      "},\"warmup_s\":%.3f,\"measured_s\":%.3f,\"ops\":%llu,\"ops_per_sec\":%.1f,\"gets\":%llu,\"sets\":%llu,"
      "\"hits\":%llu,\"misses\":%llu,\"hit_ratio\":%.6f,\"sent\":{\"get\":%llu,\"set\":%llu},\"errors\":",
      o.warmup_time, r.measured_s, static_cast<unsigned long long>(s.ops), per_s(s.ops, r.measured_s),
      static_cast<unsigned long long>(s.gets), static_cast<unsigned long long>(s.sets),
      static_cast<unsigned long long>(s.hits), static_cast<unsigned long long>(s.misses), hit_ratio(s),
      static_cast<unsigned long long>(s.sent_gets), static_cast<unsigned long long>(s.sent_sets));
  json_errors(out, s);
  std::fprintf(out, ",\"latency_us\":");
  json_latency(out, s.latency);
  if (o.rate > 0) {
    std::fprintf(out, ",\"send_lag_us\":");
    json_latency(out, s.send_lag);
  }
  std::fprintf(out, ",\"udp_ignored\":%llu,\"client_cpu_s\":%.3f,\"run_wall_s\":%.3f,\"aborted\":%s}\n",
               static_cast<unsigned long long>(s.udp_ignored), r.client_cpu_s, r.run_wall_s,
               (s.aborted || r.preload.aborted) ? "true" : "false");
}

}  // namespace ferrite::bench
