// The end of a run: a readable table, or one JSON object (--json).
#pragma once

#include <cstdio>

#include "load.h"
#include "options.h"

namespace ferrite::bench {

struct Result {
  Stats preload;
  Stats run;
  double preload_s = 0;     // wall time of the preload phase
  double measured_s = 0;    // measured window: first measured send to last measured reply
  double client_cpu_s = 0;  // user + system CPU of this process during the run phase
  double run_wall_s = 0;    // wall time of the run phase (warm-up, measured window, drain)
  std::uint32_t depth = 0;  // requests in flight per connection (binary-udp: per datagram)
  bool ran = false;         // the run phase took place (not --requests 0)
};

void print_table(std::FILE* out, const Options& o, const Result& r);
void print_json(std::FILE* out, const Options& o, const Result& r);

}  // namespace ferrite::bench
