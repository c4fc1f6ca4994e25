// ferritectl's human-readable output: the daemon's JSON replies as aligned tables and lines.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mgmt/json_reader.h"

namespace ferrite::ctl {

using mgmt::JsonValue;

// Columns padded to their widest cell; a column whose header starts with '>' is right-aligned
// (the '>' is not printed).
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void row(std::vector<std::string> cells);
  std::string str() const;
  bool empty() const noexcept { return rows_.empty(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

std::string human_bytes(double bytes);       // "512 B", "6.4 MiB"
std::string human_duration(double seconds);  // "850ms", "42s", "3m07s", "2h05m", "3d04h"
std::string fixed(double v, int decimals);   // "12.35"
std::string percent(double ratio);           // 0.953 -> "95.3%"
// A key for a terminal: printable ASCII and UTF-8 as they are, other bytes as \xNN.
std::string printable(std::string_view s);

// The `data` of the daemon's reply to `command` (ferritectl's words: {"keys", "hot", "5"}).
std::string render(const std::vector<std::string>& command, const JsonValue& data);
// One line for an event of /events.
std::string render_event(const JsonValue& event);
// The top screen from a /stats reply's data.
std::string render_top(const JsonValue& stats, std::string_view socket);

}  // namespace ferrite::ctl
