#include "mgmt/log.h"

#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <utility>

namespace ferrite::mgmt {
namespace {

bool needs_quotes(std::string_view v) noexcept {
  if (v.empty()) return true;
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7F) return true;
  }
  return false;
}

void append_value(std::string_view v, std::string* out) {
  if (!needs_quotes(v)) {
    out->append(v);
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out->append("\\x");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

void write_stderr(std::string_view line) {
  // One write(2) per line, so lines from several threads never interleave.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) return;
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string_view level_name(Level level) noexcept {
  switch (level) {
    case Level::kError:
      return "error";
    case Level::kWarn:
      return "warn";
    case Level::kInfo:
      return "info";
    case Level::kDebug:
      return "debug";
  }
  return "info";
}

std::string format_utc_ms(std::uint64_t unix_ms) {
  const auto secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03uZ", static_cast<unsigned>(unix_ms % 1000));
  return buf;
}

LogLine::LogLine(Level level, std::string_view component, std::uint64_t unix_ms) : level_(level) {
  text_ = format_utc_ms(unix_ms);
  text_ += ' ';
  text_ += level_name(level);
  text_ += ' ';
  text_ += component;
}

LogLine& LogLine::kv(std::string_view key, std::string_view value) {
  text_ += ' ';
  text_ += key;
  text_ += '=';
  append_value(value, &text_);
  return *this;
}

LogLine& LogLine::kv(std::string_view key, std::int64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return kv(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

LogLine& LogLine::kv(std::string_view key, std::uint64_t value) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return kv(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

LogLine& LogLine::kv(std::string_view key, double value) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, 6);
  return kv(key, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

Logger::Logger(const std::atomic<int>* verbosity, Sink sink)
    : verbosity_(verbosity), sink_(std::move(sink)) {}

bool Logger::enabled(Level level) const noexcept {
  const int v = verbosity_ == nullptr ? 2 : verbosity_->load(std::memory_order_relaxed);
  return static_cast<int>(level) <= v;
}

void Logger::write(const LogLine& line) const {
  if (!enabled(line.level())) return;
  const std::string s = line.str();
  if (sink_) {
    sink_(s);
  } else {
    write_stderr(s);
  }
}

}  // namespace ferrite::mgmt
