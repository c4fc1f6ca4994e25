// Parsing of a management request line's words, shared by the commands.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mgmt/json.h"

namespace ferrite::mgmt {

// Words separated by spaces and tabs.
inline std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// `s` in double quotes, escaped as a JSON string (so an error message never carries raw bytes).
inline std::string quoted(std::string_view s) {
  std::string out;
  append_json_string(s, &out);
  return out;
}

// A whole number in [min, max]; returns "" or "NAME must be a whole number from min to max; got
// \"x\"".
inline std::string parse_count(std::string_view text, std::string_view name, std::uint64_t min,
                               std::uint64_t max, std::uint64_t* out) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size() || v < min || v > max) {
    return std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
           std::to_string(max) + "; got " + quoted(text);
  }
  *out = v;
  return "";
}

}  // namespace ferrite::mgmt
