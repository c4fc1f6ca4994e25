#include "proto/resp/resp_number.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ferrite::proto::resp {

namespace {
bool is_c_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
}  // namespace

bool parse_long_double(std::string_view s, long double* out) noexcept {
  char buf[kLongDoubleChars];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  errno = 0;
  char* end = nullptr;
  const long double v = std::strtold(buf, &end);
  const bool range = errno == ERANGE;
  // The whole string must be the number: a NUL inside it ends strtold's text early.
  if (is_c_space(buf[0]) || static_cast<std::size_t>(end - buf) != s.size() || errno == EINVAL ||
      std::isnan(v)) {
    return false;
  }
  if (range && (std::isinf(v) || v == 0.0L)) return false;
  *out = v;
  return true;
}

std::size_t format_long_double(long double v, char* buf) noexcept {
  const int n = std::snprintf(buf, kLongDoubleChars, "%.17Lf", v);
  if (n < 0 || static_cast<std::size_t>(n) + 1 > kLongDoubleChars) return 0;
  auto len = static_cast<std::size_t>(n);
  if (std::memchr(buf, '.', len) != nullptr) {
    while (len > 0 && buf[len - 1] == '0') --len;
    if (len > 0 && buf[len - 1] == '.') --len;
  }
  if (len == 2 && buf[0] == '-' && buf[1] == '0') {
    buf[0] = '0';
    len = 1;
  }
  return len;
}

std::size_t format_double(double v, char* buf) noexcept {
  if (std::isnan(v)) {
    std::memcpy(buf, "nan", 3);
    return 3;
  }
  if (std::isinf(v)) {
    if (v > 0) {
      std::memcpy(buf, "inf", 3);
      return 3;
    }
    std::memcpy(buf, "-inf", 4);
    return 4;
  }
  const auto r = std::to_chars(buf, buf + 32, v, std::chars_format::general, 17);
  return static_cast<std::size_t>(r.ptr - buf);
}

namespace {
char fold(char c, bool nocase) noexcept {
  return nocase && c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Matches one pattern element at p (not '*') against c; advances p past it. Returns false on a
// mismatch. A malformed class ("[abc" without ']') matches as far as it goes, like Redis.
bool match_one(std::string_view pat, std::size_t& p, char c, bool nocase) noexcept {
  const char pc = pat[p];
  if (pc == '?') {
    ++p;
    return true;
  }
  if (pc == '[') {
    ++p;
    const bool negate = p < pat.size() && pat[p] == '^';
    if (negate) ++p;
    bool hit = false;
    while (p < pat.size() && pat[p] != ']') {
      if (pat[p] == '\\' && p + 1 < pat.size()) {
        ++p;
        if (fold(pat[p], nocase) == fold(c, nocase)) hit = true;
        ++p;
      } else if (p + 2 < pat.size() && pat[p + 1] == '-') {
        char lo = fold(pat[p], nocase), hi = fold(pat[p + 2], nocase);
        if (lo > hi) std::swap(lo, hi);
        const char fc = fold(c, nocase);
        if (fc >= lo && fc <= hi) hit = true;
        p += 3;
      } else {
        if (fold(pat[p], nocase) == fold(c, nocase)) hit = true;
        ++p;
      }
    }
    if (p < pat.size()) ++p;  // the ']'
    return negate ? !hit : hit;
  }
  if (pc == '\\' && p + 1 < pat.size()) {
    p += 2;
    return fold(pat[p - 1], nocase) == fold(c, nocase);
  }
  ++p;
  return fold(pc, nocase) == fold(c, nocase);
}
}  // namespace

bool glob_match(std::string_view pat, std::string_view str, bool nocase) noexcept {
  // Redis's loop runs only while both have characters left: an empty string matches only the
  // empty pattern (not even "*"; KEYS and SCAN treat "*" as "everything" before matching).
  if (str.empty()) return pat.empty();
  std::size_t p = 0, s = 0;
  std::size_t star_p = std::string_view::npos, star_s = 0;
  while (s < str.size()) {
    if (p < pat.size() && pat[p] == '*') {
      while (p < pat.size() && pat[p] == '*') ++p;
      if (p == pat.size()) return true;
      star_p = p;
      star_s = s;
      continue;
    }
    if (p < pat.size()) {
      std::size_t q = p;
      if (match_one(pat, q, str[s], nocase)) {
        p = q;
        ++s;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    s = ++star_s;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace ferrite::proto::resp
