// The management thread's view of the workers' events: it drains every worker's event ring
// (engine/control.h) each round into a bounded history, which feeds the slow log, `/events`
// streams (ferritectl watch) and one structured log line per event.
//
// Events get a sequence number as they enter the history; a stream remembers the next number it
// wants, so a reader that falls behind the history's capacity learns how many it lost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/control.h"
#include "engine/session.h"
#include "mgmt/json.h"
#include "mgmt/log.h"

namespace ferrite::mgmt {

// Event::worker of events the management thread makes itself (config changes).
inline constexpr std::uint16_t kFromMgmt = 0xFFFF;

struct Record {
  std::uint64_t seq = 0;
  engine::Event event;
};

// Its slow log is also read and reset by RESP sessions on the workers (SLOWLOG, LATENCY, through
// engine::SlowlogAccess): the slow log alone is under a mutex, which the management thread takes
// when it adds a slow request and the workers when they read it (never on a request's path).
class EventHistory final : public engine::SlowlogAccess {
 public:
  static constexpr std::size_t kDefaultCapacity = 1024;
  static constexpr std::size_t kSlowlogCapacity = 128;

  explicit EventHistory(std::size_t capacity = kDefaultCapacity,
                        std::size_t slowlog_capacity = kSlowlogCapacity);

  // Keeps `e` (and, for a slow request, puts it in the slow log); returns its sequence number.
  std::uint64_t add(const engine::Event& e);
  // The sequence number the next event will get (a new stream starts here).
  std::uint64_t next_seq() const noexcept { return next_seq_; }
  std::size_t size() const noexcept { return events_.size(); }  // events kept
  // Appends the kept events numbered `from` and later to *out, oldest first; returns how many
  // events after `from` are no longer kept (a reader that fell behind).
  std::uint64_t since(std::uint64_t from, std::vector<Record>* out) const;

  // The last slowlog_capacity slow-request events, oldest first (the management thread's view,
  // or a test's: a worker may reset it meanwhile; others copy it with slow_records()).
  const std::deque<Record>& slowlog() const noexcept { return slowlog_; }
  // The newest `n` slow-log records, newest first (under the slow log's mutex).
  std::vector<Record> slow_records(std::size_t n) const;
  // engine::SlowlogAccess.
  void slow_latest(std::size_t n, std::vector<engine::SlowEntry>* out) const override;
  std::size_t slow_len() const override;
  void slow_reset() override { reset_slowlog(); }
  std::uint64_t slow_total() const noexcept { return slow_total_; }  // since start (or reset)
  void reset_slowlog() noexcept;

 private:
  std::size_t capacity_, slowlog_capacity_;
  std::deque<Record> events_;
  mutable std::mutex slow_mu_;  // slowlog_ and slow_total_
  std::deque<Record> slowlog_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t slow_total_ = 0;
};

// The event as a JSON object: seq, time (ISO 8601), unix_ms, event (its type name), worker (or
// "source": "mgmt"), then its typed fields:
//   slow_request          protocol, op, latency_us
//   connections_refused   refused (in the last second)
//   eviction_storm        evictions (in the last second)
//   no_memory             refused_writes (in the last second)
//   config_changed        key, value
//   signal                signal (its name without SIG), action ("ignored")
void write_event(const Record& r, JsonWriter& w);

// The log level an event is written at: warn for refusals, eviction storms and failed writes,
// info for config changes, signals and slow requests.
Level event_level(engine::EventType type) noexcept;
// The event's structured log line (component "worker", or "mgmt" for its own events).
LogLine event_log_line(const engine::Event& e);

// Splits a config_changed event's text "key=value".
std::pair<std::string, std::string> config_change_of(const engine::Event& e);
// A config_changed event for `key` now set to `value` (truncated to fit Event::text).
engine::Event make_config_event(std::uint64_t unix_ms, std::string_view key, std::string_view value);
// A signal event: the main thread took signal `name` ("HUP") and ignored it.
engine::Event make_signal_event(std::uint64_t unix_ms, std::string_view name);

// Drains every worker's ring (shared.controls) into `history` and logs each event, at most
// kLogPerSecond lines per event type per second (the rest are counted and reported as
// `suppressed=N` on the next line of that type). Also logs, at warn, events a worker dropped
// because its ring was full.
class EventDrain {
 public:
  static constexpr unsigned kLogPerSecond = 10;
  EventDrain(const engine::Shared& shared, EventHistory& history, const Logger& log);
  // Returns how many events were drained.
  std::size_t drain(std::uint64_t unix_ms);
  // Logs one event (rate-limited as above); for events the management thread adds itself.
  void log(const engine::Event& e, std::uint64_t unix_ms);
  std::int64_t dropped_total() const noexcept;  // events the workers could not push

 private:
  const engine::Shared& shared_;
  EventHistory& history_;
  const Logger& log_;
  std::vector<std::int64_t> dropped_seen_;
  struct Budget {
    std::uint64_t second = 0;
    unsigned logged = 0;
    std::uint64_t suppressed = 0;
  };
  Budget budgets_[8];
};

}  // namespace ferrite::mgmt
