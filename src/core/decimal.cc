#include "core/decimal.h"

#include <limits>

namespace ferrite {

bool parse_i64_strict(std::string_view s, std::int64_t* out) noexcept {
  // LONG_STR_SIZE (21) or more characters is never a valid number.
  if (s.empty() || s.size() >= 21) return false;
  if (s.size() == 1 && s[0] == '0') {
    *out = 0;
    return true;
  }
  std::size_t i = 0;
  const bool negative = s[0] == '-';
  if (negative && ++i == s.size()) return false;
  if (s[i] < '1' || s[i] > '9') return false;  // no leading zero, no "-0", no '+', no space
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (negative) {
    if (v > std::uint64_t{1} << 63) return false;
    *out = static_cast<std::int64_t>(~v + 1);
  } else {
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
    *out = static_cast<std::int64_t>(v);
  }
  return true;
}

}  // namespace ferrite
