#include "core/size.h"

#include <array>
#include <utility>

namespace ferrite {

namespace {
constexpr std::array<std::pair<std::string_view, unsigned>, 13> kUnits{{
    {"", 0}, {"B", 0},
    {"K", 10}, {"KB", 10}, {"KiB", 10},
    {"M", 20}, {"MB", 20}, {"MiB", 20},
    {"G", 30}, {"GB", 30}, {"GiB", 30},
    {"T", 40}, {"TiB", 40},
}};
}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view s) noexcept {
  std::size_t i = 0;
  std::uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (i == 0) return std::nullopt;
  while (i < s.size() && s[i] == ' ') ++i;
  const std::string_view unit = s.substr(i);
  for (const auto& [name, shift] : kUnits) {
    if (unit != name) continue;
    if (shift != 0 && v > (UINT64_MAX >> shift)) return std::nullopt;
    return v << shift;
  }
  return std::nullopt;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::pair<const char*, unsigned> kNames[] = {{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}};
  for (const auto& [name, shift] : kNames) {
    if (bytes != 0 && bytes % (std::uint64_t{1} << shift) == 0) return std::to_string(bytes >> shift) + name;
  }
  return std::to_string(bytes);
}

}  // namespace ferrite
