// ferrite-bench's command line: what to run, parsed and checked into Options.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "codec.h"

namespace ferrite::bench {

enum class Protocol : std::uint8_t { kMemcache, kResp, kBinary, kBinaryUdp };

struct Options {
  std::string server;  // "host:port", "[v6]:port"; port defaults by protocol
  Protocol protocol = Protocol::kMemcache;
  std::string protocol_name = "memcache";
  std::uint32_t connections = 50;
  std::uint32_t threads = 2;
  std::uint32_t pipeline = 1;
  std::uint32_t preload_pipeline = 32;
  std::uint64_t keys = 100000;
  std::uint32_t key_size = 16;
  std::uint32_t value_size = 32;
  std::string distribution = "uniform";
  bool zipf = false;
  double theta = 0.99;
  std::string workload_name = "getset";
  Workload workload = Workload::kGetSet;
  std::string ratio = "1:10";
  bool ratio_given = false;
  double set_fraction = 1.0 / 11.0;
  double duration = 10;  // seconds of measured traffic; 0 with --requests = no time bound
  bool duration_given = false;
  std::uint64_t requests = 0;
  bool requests_given = false;
  bool preload = false;    // --warmup: SET every key once before measuring
  double warmup_time = 0;  // --warmup-time: unmeasured traffic before measuring
  double rate = 0;         // --rate: offered ops/s (open loop); 0 = closed loop
  double timeout = 5;
  double time_limit = 600;  // hard bound on each phase
  std::uint64_t seed = 1;
  std::size_t udp_datagram = 1400;  // binary-udp: request datagram size bound
  bool json = false;
};

// Parses argv into o. Returns -1 to go on, else the exit status (0 after --help, 2 on a usage
// error, with the message printed).
int parse_options(int argc, char** argv, Options& o);

// Default port of a protocol's listener (ferrited's defaults).
const char* default_port(Protocol p);

}  // namespace ferrite::bench
