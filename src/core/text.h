// Small helpers for the comma-separated lists of configuration values.
#pragma once

#include <string_view>
#include <vector>

namespace ferrite {

// `t` without blanks (spaces, tabs) at either end.
inline std::string_view trim_blanks(std::string_view t) noexcept {
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return t;
}

// The items of a comma-separated list, each trimmed of blanks; empty items are kept ("a,,b"
// has three). A text of blanks only has none.
inline std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> out;
  if (trim_blanks(text).empty()) return out;
  for (;;) {
    const std::size_t comma = text.find(',');
    out.push_back(trim_blanks(text.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace ferrite
