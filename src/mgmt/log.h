// Structured, levelled log lines for the threads that may format text (the management thread and
// the daemon's main thread; never a worker). One line per record, logfmt style:
//
//   2024-05-01T12:00:00.123Z warn worker event=eviction_storm worker=1 evictions=25000
//
// timestamp (UTC, ms), level, component, then key=value pairs; a value with a space, a quote, an
// equals sign or a control byte is quoted with \" \\ \n \t escapes. The level threshold follows
// the live log.level (EngineSettings::verbosity: error 0, warn 1, info 2, debug 3).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace ferrite::mgmt {

enum class Level : std::uint8_t { kError, kWarn, kInfo, kDebug };
std::string_view level_name(Level level) noexcept;

class LogLine {
 public:
  LogLine(Level level, std::string_view component, std::uint64_t unix_ms);
  LogLine& kv(std::string_view key, std::string_view value);
  LogLine& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  LogLine& kv(std::string_view key, std::int64_t value);
  LogLine& kv(std::string_view key, std::uint64_t value);
  LogLine& kv(std::string_view key, int value) { return kv(key, static_cast<std::int64_t>(value)); }
  LogLine& kv(std::string_view key, unsigned value) { return kv(key, static_cast<std::uint64_t>(value)); }
  LogLine& kv(std::string_view key, double value);

  Level level() const noexcept { return level_; }
  // The line, ending in '\n'.
  std::string str() const { return text_ + '\n'; }

 private:
  Level level_;
  std::string text_;
};

class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;
  // Lines at or above the level `verbosity` names go to `sink` (default: stderr, one write each).
  explicit Logger(const std::atomic<int>* verbosity, Sink sink = {});

  bool enabled(Level level) const noexcept;
  void write(const LogLine& line) const;

 private:
  const std::atomic<int>* verbosity_;
  Sink sink_;
};

// "2024-05-01T12:00:00.123Z"
std::string format_utc_ms(std::uint64_t unix_ms);

}  // namespace ferrite::mgmt
