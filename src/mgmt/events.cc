#include "mgmt/events.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace ferrite::mgmt {

using engine::Event;
using engine::EventType;

EventHistory::EventHistory(std::size_t capacity, std::size_t slowlog_capacity)
    : capacity_(capacity == 0 ? 1 : capacity),
      slowlog_capacity_(slowlog_capacity == 0 ? 1 : slowlog_capacity) {}

std::uint64_t EventHistory::add(const Event& e) {
  const Record r{next_seq_++, e};
  events_.push_back(r);
  if (events_.size() > capacity_) events_.pop_front();
  if (e.type == EventType::kSlowRequest) {
    const std::lock_guard<std::mutex> lock(slow_mu_);
    ++slow_total_;
    slowlog_.push_back(r);
    if (slowlog_.size() > slowlog_capacity_) slowlog_.pop_front();
  }
  return r.seq;
}

std::uint64_t EventHistory::since(std::uint64_t from, std::vector<Record>* out) const {
  if (events_.empty() || from >= next_seq_) return 0;
  const std::uint64_t oldest = events_.front().seq;
  std::uint64_t lost = 0;
  if (from < oldest) {
    lost = oldest - from;
    from = oldest;
  }
  for (std::size_t i = static_cast<std::size_t>(from - oldest); i < events_.size(); ++i)
    out->push_back(events_[i]);
  return lost;
}

void EventHistory::reset_slowlog() noexcept {
  const std::lock_guard<std::mutex> lock(slow_mu_);
  slowlog_.clear();
  slow_total_ = 0;
}

std::vector<Record> EventHistory::slow_records(std::size_t n) const {
  const std::lock_guard<std::mutex> lock(slow_mu_);
  std::vector<Record> out;
  for (auto it = slowlog_.rbegin(); it != slowlog_.rend() && out.size() < n; ++it) out.push_back(*it);
  return out;
}

void EventHistory::slow_latest(std::size_t n, std::vector<engine::SlowEntry>* out) const {
  for (const Record& r : slow_records(n)) {
    engine::SlowEntry e;
    e.id = r.seq;
    e.unix_ms = r.event.unix_ms;
    e.latency_ns = static_cast<std::uint64_t>(r.event.a);
    e.proto = static_cast<engine::Proto>(r.event.b >> 8);
    e.op = static_cast<engine::Op>(r.event.b & 0xFF);
    e.worker = r.event.worker;
    out->push_back(e);
  }
}

std::size_t EventHistory::slow_len() const {
  const std::lock_guard<std::mutex> lock(slow_mu_);
  return slowlog_.size();
}

std::pair<std::string, std::string> config_change_of(const Event& e) {
  const std::string_view text(e.text, strnlen(e.text, sizeof e.text));
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

Event make_config_event(std::uint64_t unix_ms, std::string_view key, std::string_view value) {
  Event e;
  e.unix_ms = unix_ms;
  e.type = EventType::kConfigChanged;
  e.worker = kFromMgmt;
  std::string text(key);
  text += '=';
  text += value;
  const std::size_t n = std::min(text.size(), sizeof e.text - 1);
  std::memcpy(e.text, text.data(), n);
  e.text[n] = '\0';
  return e;
}

Event make_signal_event(std::uint64_t unix_ms, std::string_view name) {
  Event e;
  e.unix_ms = unix_ms;
  e.type = EventType::kSignal;
  e.worker = kFromMgmt;
  const std::size_t n = std::min(name.size(), sizeof e.text - 1);
  std::memcpy(e.text, name.data(), n);
  e.text[n] = '\0';
  return e;
}

namespace {

engine::Proto proto_of(const Event& e) noexcept {
  const auto p = static_cast<std::size_t>(e.b >> 8);
  return p < engine::kProtoCount ? static_cast<engine::Proto>(p) : engine::Proto::kCount;
}
engine::Op op_of(const Event& e) noexcept {
  const auto o = static_cast<std::size_t>(e.b & 0xFF);
  return o < engine::kOpCount ? static_cast<engine::Op>(o) : engine::Op::kCount;
}

}  // namespace

void write_event(const Record& r, JsonWriter& w) {
  const Event& e = r.event;
  w.begin_object();
  w.field("seq", r.seq);
  w.field("time", format_utc_ms(e.unix_ms));
  w.field("unix_ms", e.unix_ms);
  w.field("event", engine::event_type_name(e.type));
  if (e.worker == kFromMgmt) {
    w.field("source", "mgmt");
  } else {
    w.field("worker", static_cast<unsigned>(e.worker));
  }
  switch (e.type) {
    case EventType::kSlowRequest:
      w.field("protocol", engine::proto_name(proto_of(e)));
      w.field("op", engine::op_name(op_of(e)));
      w.field("latency_us", static_cast<double>(e.a) / 1e3);
      break;
    case EventType::kConnectionsRefused:
      w.field("refused", e.a);
      break;
    case EventType::kEvictionStorm:
      w.field("evictions", e.a);
      break;
    case EventType::kNoMemory:
      w.field("refused_writes", e.a);
      break;
    case EventType::kConfigChanged: {
      const auto [key, value] = config_change_of(e);
      w.field("key", key);
      w.field("value", value);
      break;
    }
    case EventType::kSignal:
      w.field("signal", std::string_view(e.text, strnlen(e.text, sizeof e.text)));
      w.field("action", "ignored");
      break;
  }
  w.end_object();
}

Level event_level(EventType type) noexcept {
  switch (type) {
    case EventType::kSlowRequest:
    case EventType::kConfigChanged:
    case EventType::kSignal:
      return Level::kInfo;
    case EventType::kConnectionsRefused:
    case EventType::kEvictionStorm:
    case EventType::kNoMemory:
      return Level::kWarn;
  }
  return Level::kInfo;
}

LogLine event_log_line(const Event& e) {
  LogLine line(event_level(e.type), e.worker == kFromMgmt ? "mgmt" : "worker", e.unix_ms);
  line.kv("event", engine::event_type_name(e.type));
  if (e.worker != kFromMgmt) line.kv("worker", static_cast<unsigned>(e.worker));
  switch (e.type) {
    case EventType::kSlowRequest:
      line.kv("protocol", engine::proto_name(proto_of(e)));
      line.kv("op", engine::op_name(op_of(e)));
      line.kv("latency_us", static_cast<double>(e.a) / 1e3);
      break;
    case EventType::kConnectionsRefused:
      line.kv("refused", e.a);
      break;
    case EventType::kEvictionStorm:
      line.kv("evictions", e.a);
      break;
    case EventType::kNoMemory:
      line.kv("refused_writes", e.a);
      break;
    case EventType::kConfigChanged: {
      const auto [key, value] = config_change_of(e);
      line.kv("key", key);
      line.kv("value", value);
      break;
    }
    case EventType::kSignal:
      line.kv("signal", std::string_view(e.text, strnlen(e.text, sizeof e.text)));
      line.kv("action", "ignored");
      break;
  }
  return line;
}

EventDrain::EventDrain(const engine::Shared& shared, EventHistory& history, const Logger& log)
    : shared_(shared), history_(history), log_(log), dropped_seen_(shared.controls.size(), 0) {}

void EventDrain::log(const Event& e, std::uint64_t unix_ms) {
  if (!log_.enabled(event_level(e.type))) return;
  Budget& b = budgets_[std::min<std::size_t>(static_cast<std::size_t>(e.type), std::size(budgets_) - 1)];
  const std::uint64_t second = unix_ms / 1000;
  if (second != b.second) {
    b.second = second;
    b.logged = 0;
  }
  if (b.logged >= kLogPerSecond) {
    ++b.suppressed;
    return;
  }
  ++b.logged;
  LogLine line = event_log_line(e);
  if (b.suppressed != 0) {
    line.kv("suppressed", b.suppressed);
    b.suppressed = 0;
  }
  log_.write(line);
}

std::size_t EventDrain::drain(std::uint64_t unix_ms) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < shared_.controls.size(); ++i) {
    engine::WorkerControl* c = shared_.controls[i];
    if (c == nullptr) continue;
    Event e;
    // Bounded: at most one ring's worth per round, so a flood cannot hold the thread here.
    for (std::size_t k = c->events.capacity(); k > 0 && c->events.pop(&e); --k) {
      history_.add(e);
      log(e, unix_ms);
      ++n;
    }
    if (i >= dropped_seen_.size()) dropped_seen_.resize(i + 1, 0);
    const std::int64_t dropped = c->events_dropped.get();
    if (dropped != dropped_seen_[i]) {
      log_.write(LogLine(Level::kWarn, "mgmt", unix_ms)
                     .kv("event", "events_dropped")
                     .kv("worker", static_cast<std::uint64_t>(i))
                     .kv("dropped", dropped - dropped_seen_[i]));
      dropped_seen_[i] = dropped;
    }
  }
  return n;
}

std::int64_t EventDrain::dropped_total() const noexcept {
  std::int64_t n = 0;
  for (const engine::WorkerControl* c : shared_.controls)
    if (c != nullptr) n += c->events_dropped.get();
  return n;
}

}  // namespace ferrite::mgmt
