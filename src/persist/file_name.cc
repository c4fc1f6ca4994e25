#include "persist/file_name.h"

#include <cstdio>

namespace ferrite::persist {

std::string numbered_file_name(std::string_view prefix, std::uint64_t seq, std::string_view suffix) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%010llu", static_cast<unsigned long long>(seq));
  std::string name(prefix);
  name += digits;
  name += suffix;
  return name;
}

std::uint64_t numbered_file_seq(std::string_view name, std::string_view prefix, std::string_view suffix) noexcept {
  if (name.size() < prefix.size() + 10 + suffix.size() || !name.starts_with(prefix) || !name.ends_with(suffix)) {
    return 0;
  }
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 19) return 0;  // 19 digits always fit in 64 bits
  std::uint64_t v = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return numbered_file_name(prefix, v, suffix) == name ? v : 0;
}

}  // namespace ferrite::persist
