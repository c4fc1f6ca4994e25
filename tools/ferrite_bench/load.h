// The load: per-thread event loops (epoll), each owning its connections, and the counters they
// keep. main() builds one Worker per client thread, runs the preload phase (optional) and then
// the measured phase on all of them, and merges their Stats.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codec.h"
#include "histogram.h"
#include "keyspace.h"

namespace ferrite::bench {

struct LoadConfig {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::uint32_t connections = 50;
  std::uint32_t threads = 2;
  std::uint32_t pipeline = 1;           // requests in flight per connection (cap, in --rate mode too)
  std::uint32_t preload_pipeline = 32;  // requests in flight per connection while preloading
  std::uint64_t keys = 100000;
  std::uint32_t key_size = 16;
  std::uint32_t value_size = 32;
  bool zipf = false;
  double theta = 0.99;
  double set_fraction = 1.0 / 11.0;  // of the writes (SET, HSET); multi-incr: every op is one
  Workload workload = Workload::kGetSet;  // kMultiIncr, kHash: RESP only (resp_types.h)
  double rate = 0;       // offered ops/s over all connections; 0 = closed loop
  double timeout_s = 5;  // a connection whose oldest request waits this long is reset
  std::uint64_t seed = 1;
  bool udp = false;                     // binary-udp: one datagram of requests in flight per socket
  std::size_t udp_max_datagram = 1400;  // request datagram size bound, frame included
};

// What one thread saw in one phase; merged across threads by add().
struct Stats {
  Histogram latency;       // measured requests: reply time minus send time (closed loop) or
                           // scheduled time (--rate), ns
  Histogram send_lag;      // --rate: actual send time minus scheduled time, ns
  std::uint64_t ops = 0;   // measured requests answered with a valid reply
  std::uint64_t gets = 0;  // ... of which reads: GETs (hash workload: HGETs)
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t sets = 0;       // ... and writes: SETs (HSETs; multi-incr: transactions)
  std::uint64_t sent_gets = 0;  // every read put on the wire in this phase (measured or not)
  std::uint64_t sent_sets = 0;  // every write (SET, HSET, MULTI..EXEC transaction)
  std::uint64_t err_reply = 0;    // error replies (SERVER_ERROR, -ERR, ...)
  std::uint64_t err_bad = 0;      // garbled or unexpected replies (the connection is reset)
  std::uint64_t err_value = 0;    // GET hits whose value is not the one stored for the key
  std::uint64_t err_timeout = 0;  // requests lost to a per-connection timeout
  std::uint64_t err_conn = 0;     // requests lost when a connection failed or was reset
  std::uint64_t connects = 0;     // connections established
  std::uint64_t connect_failures = 0;
  std::uint64_t udp_ignored = 0;  // reply datagrams for no request in flight (late, duplicate)
  std::uint64_t last_ns = 0;      // last measured completion time
  std::string first_error;        // text of the first error seen, for the report
  bool aborted = false;           // the phase hit the time limit or lost the server

  std::uint64_t errors() const { return err_reply + err_bad + err_value + err_timeout + err_conn; }
  void add(const Stats& o);
};

// When the measured phase runs; all times are CLOCK_MONOTONIC ns.
struct Schedule {
  std::uint64_t start_ns = 0;     // traffic starts (warm-up time begins)
  std::uint64_t measure_ns = 0;   // requests sent (or scheduled) from here on are measured
  std::uint64_t end_ns = 0;       // no request is sent (or scheduled) from here on; 0 = none
  std::uint64_t quota = 0;        // this thread's measured requests; 0 = unlimited (use end_ns)
  std::uint64_t deadline_ns = 0;  // hard stop: whatever is in flight then counts as timed out
};

std::uint64_t now_ns() noexcept;

class Worker {
 public:
  // Owns connections with global indexes first, first + T, first + 2T, ... below connections.
  Worker(const LoadConfig& cfg, const Codec& codec, std::uint32_t thread_index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // SETs every key in [lo, hi) once, preload_pipeline deep per connection.
  void preload(std::uint64_t lo, std::uint64_t hi, std::uint64_t deadline_ns);
  void run(const Schedule& s);

  // Requests in flight per connection while running (with UDP: per datagram, which may be fewer
  // than --pipeline when that many do not fit in --udp-datagram bytes).
  std::uint32_t run_depth() const { return depth_run_; }
  const Stats& preload_stats() const { return preload_stats_; }
  const Stats& run_stats() const { return run_stats_; }

 private:
  struct Conn;
  enum class Phase : std::uint8_t { kPreload, kRun };

  void loop(Phase phase);
  void start_connect(Conn& c, std::uint64_t now);
  void finish_connect(Conn& c, std::uint64_t now);
  void fail(Conn& c, std::uint64_t now, std::uint64_t Stats::*first, std::uint64_t Stats::*rest,
            std::string_view why);
  void on_readable(Conn& c, std::uint64_t now);
  void on_datagrams(Conn& c, std::uint64_t now);
  // Completes c's oldest requests with the replies at the front of `data`; returns the bytes
  // used. Stops at an incomplete reply, or at a garbled one (then sets *bad to what was wrong).
  std::size_t complete(Conn& c, std::string_view data, std::uint64_t now, std::string* bad);
  void drop_inflight(Conn& c, std::uint64_t Stats::*counter);
  void flush(Conn& c, std::uint64_t now);
  void issue(Conn& c, std::uint64_t now);
  void push(Conn& c, Op op, std::uint64_t key, std::uint64_t t, bool measured);
  Op pick_op() noexcept { return rng_.next() < set_threshold_ ? op_write_ : op_read_; }
  void set_events(Conn& c, bool want_out);
  void housekeeping(std::uint64_t now);
  void note_error(std::string_view why);
  bool issuing_done(std::uint64_t now) const;

  const LoadConfig& cfg_;
  const Codec& codec_;
  Keyspace keyspace_;
  KeyChooser chooser_;
  Rng rng_;
  int epfd_ = -1;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<char> key_buf_;
  std::vector<char> value_buf_;
  std::vector<char> keys_buf_;    // multi-incr: the transaction's kIncrs keys
  std::vector<char> values_buf_;  // hash: the kFields values of an HSET
  Op op_read_ = Op::kGet;         // what the workload reads and writes with
  Op op_write_ = Op::kSet;
  Op op_preload_ = Op::kSet;
  std::uint64_t set_threshold_ = 0;  // rng.next() below this: SET
  std::uint32_t depth_run_ = 1;      // requests in flight per connection (UDP: per datagram)
  std::uint32_t depth_preload_ = 1;
  std::vector<char> datagram_buf_;  // UDP receive buffer

  // Per-phase state.
  Phase phase_ = Phase::kRun;
  Stats* stats_ = nullptr;
  Stats preload_stats_;
  Stats run_stats_;
  Schedule sched_;
  std::uint64_t preload_next_ = 0;
  std::uint64_t preload_end_ = 0;
  std::uint64_t preload_deadline_ = 0;
  std::uint64_t issued_measured_ = 0;
  std::uint64_t inflight_ = 0;
  double interval_ns_ = 0;           // --rate: time between two requests on one connection
  std::uint64_t no_conn_since_ = 0;  // when the last connection went down; 0 = some are up
  std::uint64_t last_housekeeping_ = 0;
};

}  // namespace ferrite::bench
