// Helpers the text files of a persistence folder share (MANIFEST, an archive's CHECKSUMS): their
// number fields, parsed strictly (one spelling per value, so a file that parses formats back to
// the same bytes), and writing a whole buffer to a file descriptor.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string_view>

namespace ferrite::persist {

// A canonical decimal u64: digits only, no leading zero (but "0"), no overflow.
inline bool parse_decimal_u64(std::string_view s, std::uint64_t* out) noexcept {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Exactly 8 lowercase hex digits.
inline bool parse_hex32(std::string_view s, std::uint32_t* out) noexcept {
  if (s.size() != 8) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

// Writes all of `data` to `fd` (retrying short writes and EINTR); false with errno set on failure.
inline bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace ferrite::persist
