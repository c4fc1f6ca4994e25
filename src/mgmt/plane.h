// The management plane's commands: one request line in, one JSON document out. Transport-free
// (mgmt/server.h serves it on the unix socket), so tests drive it with a fake engine::Shared.
//
// A request is a path and space-separated arguments: `/keys/hot 10`, `/config set server.memory
// 64MiB`. Every reply is one object:
//
//   {"ok":true,"path":"/info","data":{...}}
//   {"ok":false,"path":"/confg","error":"unknown command \"/confg\" (did you mean /config?) ..."}
//
// The plane reads counters directly (per-core Counters, the store's stats) and reaches into the
// workers only through their inboxes (mgmt/worker_link.h), waiting a bounded time. Everything
// here runs on the management thread: no locks, and no worker ever waits for it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/session.h"
#include "mgmt/events.h"
#include "mgmt/json.h"
#include "mgmt/log.h"
#include "mgmt/rates.h"
#include "mgmt/worker_link.h"
#include "persist/aof.h"

namespace ferrite::mgmt {

struct PlaneOptions {
  std::string driver = "uring";                     // /info
  std::string socket_path;                          // /info
  std::string listeners;                            // /info: "memcache=127.0.0.1:11211 resp=..."
  std::function<std::string()> config_digest;       // /info; may be empty
  std::chrono::milliseconds worker_timeout{1000};   // per request to the workers
  std::chrono::milliseconds flush_timeout{60000};   // /flush: the flush and the sweep of the table
  std::chrono::milliseconds big_keys_budget{5000};  // /keys/big: the whole scan
  // /keys/big: buckets per worker request. The worker covers 64 a loop turn, so a request is
  // 256 turns: well within worker_timeout even on a worker whose turns take a millisecond.
  std::size_t big_keys_buckets = 1 << 14;
  std::size_t history = EventHistory::kDefaultCapacity;
  const persist::AofWriter* aof = nullptr;  // /metrics: the append-only file's figures; may be null
};

struct Reply {
  std::string json;               // one document, without the newline
  bool stream = false;            // /events: the connection now streams events...
  std::uint64_t stream_from = 0;  // ...numbered from this one
};

struct CommandInfo {
  std::string_view path;
  std::string_view usage;  // the arguments
  std::string_view help;
  std::size_t min_args, max_args;
};
// Every command, in /help order.
std::span<const CommandInfo> all_commands() noexcept;

// Latency quantile (0 < q <= 1) from histogram buckets (engine::kLatencyBoundsNs, not
// cumulative), in ns: linear within the bucket holding the rank; the +Inf bucket reports its lower
// bound (1 s). 0 for an empty histogram.
double quantile_ns(std::span<const std::int64_t> buckets, double q) noexcept;

// "gcc 12.2.0, release" and the like.
std::string_view build_description() noexcept;

class Plane {
 public:
  Plane(engine::Shared& shared, PlaneOptions options, const Logger& log);
  ~Plane();
  Plane(const Plane&) = delete;
  Plane& operator=(const Plane&) = delete;

  // One request line (its newline removed). A blank line gets no reply (json empty).
  Reply handle(std::string_view line);
  // Drains the workers' events, samples the counters once a second, frees answered requests.
  // Call every round of the management loop (about every 100 ms).
  void tick(std::uint64_t mono_ms, std::uint64_t unix_ms);

  const EventHistory& history() const noexcept { return history_; }
  // Keeps an event another thread made (already logged there) for /events streams.
  void record(const engine::Event& e) { history_.add(e); }
  const RateWindow& rates() const noexcept { return rates_; }

 private:
  using Args = std::span<const std::string_view>;
  std::string dispatch(std::size_t command, Args args, JsonWriter& w);

  std::string help(Args args, JsonWriter& w);
  std::string info(JsonWriter& w);
  std::string stats(JsonWriter& w);
  std::string metrics(JsonWriter& w);
  std::string config(Args args, JsonWriter& w);
  std::string hot_keys(Args args, JsonWriter& w);
  std::string big_keys(Args args, JsonWriter& w);
  std::string clients(Args args, JsonWriter& w);
  std::string latency(Args args, JsonWriter& w);
  std::string slowlog(Args args, JsonWriter& w);
  std::string flush(JsonWriter& w);
  std::string shutdown(JsonWriter& w);
  std::string save(JsonWriter& w);
  std::string persistence(JsonWriter& w);

  engine::Shared& shared_;
  PlaneOptions options_;
  const Logger& log_;
  EventHistory history_;
  EventDrain drain_;
  RateWindow rates_;
  WorkerLink link_;
  std::uint64_t next_sample_ms_ = 0;
};

}  // namespace ferrite::mgmt
