#include "options.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <map>

#include "keyspace.h"
#include "resp_types.h"

namespace ferrite::bench {

namespace {

bool parse_double(std::string_view s, double& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Checks the options that depend on each other; empty if all is well.
std::string check(Options& o) {
  if (o.distribution == "uniform") {
    o.zipf = false;
  } else if (o.distribution == "zipf") {
    o.zipf = true;
  } else if (o.distribution.starts_with("zipf:")) {
    o.zipf = true;
    if (!parse_double(std::string_view(o.distribution).substr(5), o.theta) || !(o.theta > 0) ||
        o.theta > 10) {
      return "--distribution: bad zipf exponent in '" + o.distribution +
             "' (want zipf:THETA, 0 < THETA <= 10)";
    }
  } else {
    return "--distribution: '" + o.distribution + "' is not uniform, zipf or zipf:THETA";
  }
  if (o.workload_name == "getset") {
    o.workload = Workload::kGetSet;
  } else if (o.workload_name == "multi-incr") {
    o.workload = Workload::kMultiIncr;
  } else {
    o.workload = Workload::kHash;
  }
  if (o.workload != Workload::kGetSet && o.protocol != Protocol::kResp) {
    return "--workload " + o.workload_name + " needs --protocol resp";
  }
  if (o.workload == Workload::kMultiIncr) {
    if (o.ratio_given) return "--ratio does not apply to --workload multi-incr (every operation is a transaction)";
    if (o.keys < resp_types::kIncrs) return "--workload multi-incr needs --keys 10 or more (10 different keys a transaction)";
    o.ratio = "1:0";
  }
  const std::size_t colon = o.ratio.find(':');
  std::uint64_t s = 0;
  std::uint64_t g = 0;
  if (colon == std::string::npos || !parse_u64(std::string_view(o.ratio).substr(0, colon), s) ||
      !parse_u64(std::string_view(o.ratio).substr(colon + 1), g) || s + g == 0) {
    return "--ratio: '" + o.ratio + "' is not SET:GET (two counts, not both 0, e.g. 1:10)";
  }
  o.set_fraction = static_cast<double>(s) / static_cast<double>(s + g);
  if (std::string err = Keyspace::check(o.keys, o.key_size); !err.empty()) return err;
  if (o.keys > (std::uint64_t{1} << 40)) return "--keys: at most 2^40";
  if (o.connections == 0) return "--connections must be at least 1";
  if (o.threads == 0) return "--threads must be at least 1";
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.pipeline == 0 || o.pipeline > 4096) return "--pipeline must be 1..4096";
  if (o.preload_pipeline == 0 || o.preload_pipeline > 4096) return "--preload-pipeline must be 1..4096";
  if (o.value_size > (64u << 20)) return "--value-size: at most 64 MiB";
  if (o.udp_datagram < 64 || o.udp_datagram > 65507) return "--udp-datagram must be 64..65507";
  if (!(o.duration >= 0)) return "--duration must be >= 0";
  if (!(o.warmup_time >= 0)) return "--warmup-time must be >= 0";
  if (!(o.rate >= 0)) return "--rate must be >= 0";
  if (!(o.timeout > 0)) return "--timeout must be > 0";
  if (!(o.time_limit > 0)) return "--time-limit must be > 0";
  if (o.requests_given && !o.duration_given) o.duration = 0;
  if (!o.requests_given && o.duration == 0) return "--duration 0 needs --requests";
  if (o.requests_given && o.requests == 0 && !o.preload) return "--requests 0 only makes sense with --warmup";
  if (o.server.empty()) o.server = std::string("127.0.0.1:") + default_port(o.protocol);
  return {};
}

}  // namespace

const char* default_port(Protocol p) {
  switch (p) {
    case Protocol::kMemcache:
      return "11211";
    case Protocol::kResp:
      return "6379";
    case Protocol::kBinary:
    case Protocol::kBinaryUdp:
      return "7070";
  }
  return "11211";
}

int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{
      "ferrite-bench: a load generator for memcached-text, RESP and Ferrite-binary servers.\n"
      "Closed loop by default (each connection keeps --pipeline requests in flight); with --rate,\n"
      "open loop: requests are sent on a fixed schedule and latency counts from the scheduled\n"
      "time, so a server that falls behind is charged for the queueing it causes."};
  app.footer(
      "Output: ops/s, GET hit ratio, errors by kind and latency percentiles (log-linear histogram, <1% error),\n"
      "as a table or, with --json, one JSON object. Exit status: 0 done, 1 cannot start (address, connect),\n"
      "2 usage error, 3 the run saw errors or was cut short (the report is printed all the same).");
  app.option_defaults()->always_capture_default();
  const std::map<std::string, Protocol> protocols{
      {"memcache", Protocol::kMemcache},
      {"resp", Protocol::kResp},
      {"binary", Protocol::kBinary},
      {"binary-udp", Protocol::kBinaryUdp},
  };
  app.add_option("--server", o.server,
                 "host:port ([v6]:port); port defaults to the protocol's (11211, 6379, 7070)");
  app.add_option("--protocol", o.protocol_name, "memcache | resp | binary | binary-udp")
      ->check(CLI::IsMember({"memcache", "resp", "binary", "binary-udp"}));
  app.add_option("--connections,-c", o.connections, "connections in all");
  app.add_option("--threads,-t", o.threads, "client threads (each an epoll loop owning connections)");
  app.add_option("--pipeline,-P", o.pipeline, "requests in flight per connection");
  app.add_option("--keys", o.keys, "distinct keys");
  app.add_option("--key-size", o.key_size, "key length in bytes");
  app.add_option("--value-size,-d", o.value_size, "value length in bytes");
  app.add_option("--distribution", o.distribution,
                 "key popularity: uniform | zipf | zipf:THETA (default theta 0.99)");
  app.add_option("--workload", o.workload_name,
                 "getset: GET and SET (any protocol); with --protocol resp also multi-incr: MULTI, INCR of 10 "
                 "different keys, EXEC, written as one piece (one operation = one transaction), and hash: HSET "
                 "of a whole 10-field hash and HGET of one field, mixed by --ratio (HSET:HGET); their keys "
                 "start with c and h, getset's with k")
      ->check(CLI::IsMember({"getset", "multi-incr", "hash"}));
  app.add_option("--ratio", o.ratio, "SET:GET mix, e.g. 1:10, 0:1 (GETs only), 1:0 (SETs only); hash: HSET:HGET")
      ->each([&](const std::string&) { o.ratio_given = true; });
  app.add_option("--duration", o.duration, "seconds of measured traffic")->each([&](const std::string&) {
    o.duration_given = true;
  });
  app.add_option("--requests,-n", o.requests,
                 "measured requests in all (stops at this count, or at --duration if given too)")
      ->each([&](const std::string&) { o.requests_given = true; });
  app.add_flag("--warmup", o.preload,
               "first SET every key once (not measured); hash: HSET every hash whole; multi-incr: SET every "
               "counter to 0");
  app.add_option("--warmup-time", o.warmup_time, "seconds of unmeasured traffic before measuring");
  app.add_option("--preload-pipeline", o.preload_pipeline,
                 "requests in flight per connection during --warmup");
  app.add_option("--rate", o.rate, "offered load in ops/s over all connections (open loop); 0 = closed loop");
  app.add_option(
      "--timeout", o.timeout,
      "seconds without a reply before a connection is reset, or a UDP datagram taken as lost (its requests "
      "count as errors)");
  app.add_option("--time-limit", o.time_limit, "hard bound in seconds on each phase (preload, run)");
  app.add_option(
      "--udp-datagram", o.udp_datagram,
      "binary-udp: request datagram bound in bytes; --pipeline requests go in one datagram if they fit");
  app.add_option("--seed", o.seed, "random seed");
  app.add_flag("--json", o.json, "print one JSON object instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the error and a hint
    return rc == 0 ? 0 : 2;
  }
  o.protocol = protocols.at(o.protocol_name);
  if (std::string err = check(o); !err.empty()) {
    std::fprintf(stderr, "ferrite-bench: %s\n", err.c_str());
    return 2;
  }
  return -1;
}

}  // namespace ferrite::bench
