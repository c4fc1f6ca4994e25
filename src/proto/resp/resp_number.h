// Numbers and patterns as Redis reads and writes them: string2ll, string2ld, the long double
// text of INCRBYFLOAT, the %.17g text of RESP3 doubles, and glob-style pattern matching.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/decimal.h"

namespace ferrite::proto::resp {

// Redis's string2ll: an optional '-', then digits without a leading zero (except "0" itself), no
// spaces, no '+', at most 20 characters, within int64.
// The rule is the same everywhere Ferrite reads a signed integer strictly: core/decimal.h.
inline bool parse_i64(std::string_view s, std::int64_t* out) noexcept { return parse_i64_strict(s, out); }

// Room for any long double in INCRBYFLOAT's fixed notation (MAX_LONG_DOUBLE_CHARS).
inline constexpr std::size_t kLongDoubleChars = 5 * 1024;

// Redis's string2ld (strtold in the C locale): no leading space, nothing after the number, not
// NaN, no overflow to +-HUGE_VAL or underflow to zero. "inf" and hex floats are accepted, as
// Redis does.
bool parse_long_double(std::string_view s, long double* out) noexcept;

// INCRBYFLOAT's text (ld2string, human mode): "%.17Lf" without trailing zeros or a trailing
// point, and "-0" as "0". `buf` must hold kLongDoubleChars bytes; returns the length (0 if the
// number does not fit, which a finite long double always does).
std::size_t format_long_double(long double v, char* buf) noexcept;

// A double as Redis's addReplyDouble writes it: "%.17g", and "inf", "-inf", "nan". `buf` must
// hold 32 bytes; returns the length.
std::size_t format_double(double v, char* buf) noexcept;

// Glob-style matching as Redis's stringmatchlen: '*', '?', '[abc]', '[^a-z]', '\' escapes.
bool glob_match(std::string_view pattern, std::string_view str, bool nocase) noexcept;

}  // namespace ferrite::proto::resp
