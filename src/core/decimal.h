// Decimal text of 64-bit integers, the one copy every layer uses: the store's counters
// (incr/decr, INCRBY), the memcached sessions (counters they create or compare-and-swap), the
// RESP codec (string2ll) and the output buffer. Pure functions: no allocation, no locale.
//
// Each protocol keeps its own accepted syntax where it differs (memcached's strtoull-like
// numbers in proto/memcache/text.cc, a counter's value in store::parse_counter); what is here is
// only what is the same everywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite {

// The most characters format_u64 (20 digits) and format_i64 ('-' and 19 digits) write.
inline constexpr std::size_t kU64Chars = 20;
inline constexpr std::size_t kI64Chars = 20;

// The decimal digits of `v` (no sign, no leading zeros, "0" for 0) into `buf`, which has room
// for kU64Chars; returns their number. Inline: replies format numbers on the hot path.
inline std::size_t format_u64(std::uint64_t v, char* buf) noexcept {
  char tmp[kU64Chars];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (std::size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

// `v` in decimal, with a '-' when negative, into `buf` (room for kI64Chars); returns the length.
inline std::size_t format_i64(std::int64_t v, char* buf) noexcept {
  if (v >= 0) return format_u64(static_cast<std::uint64_t>(v), buf);
  buf[0] = '-';
  return 1 + format_u64(~static_cast<std::uint64_t>(v) + 1, buf + 1);
}

// A number's decimal text held in place: `DecimalText(42).view()` is "42".
class DecimalText {
 public:
  explicit DecimalText(std::uint64_t v) noexcept : len_(format_u64(v, buf_)) {}
  std::string_view view() const noexcept { return {buf_, len_}; }

 private:
  char buf_[kU64Chars];
  std::size_t len_;
};

// Redis's string2ll, the strict signed rule: an optional '-', then digits without a leading
// zero ("0" itself is fine, "-0" is not), no '+', no spaces, at most 20 characters, within
// int64. Leaves *out alone when the text is not such a number.
bool parse_i64_strict(std::string_view s, std::int64_t* out) noexcept;

}  // namespace ferrite
