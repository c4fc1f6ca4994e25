// Request-target helpers: the path of a request-target, and percent-decoding (RFC 3986 2.1).
#pragma once

#include <cstddef>
#include <string_view>

namespace ferrite::proto::http {

// The path of a request-target in origin-form ("/cache/k?x=1") or absolute-form
// ("http://host:8080/cache/k"), without its query or fragment; empty for a target without a path
// (asterisk-form "*", authority-form "host:443"). Returns false when the target is not a valid
// URL (http_parser_parse_url decides).
bool target_path(std::string_view target, std::string_view* path) noexcept;

enum class Decode : unsigned char {
  kOk,
  kInvalid,  // '%' not followed by two hex digits
  kTooLong,  // the decoded text does not fit
};

// Decodes %XX escapes of `in` into out[0..cap) and sets *len. '+' is a plus (this is a path, not
// a form). Checks every escape, so kInvalid wins over kTooLong.
Decode percent_decode(std::string_view in, char* out, std::size_t cap, std::size_t* len) noexcept;

}  // namespace ferrite::proto::http
