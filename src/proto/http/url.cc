#include "proto/http/url.h"

#include <http_parser.h>

namespace ferrite::proto::http {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool target_path(std::string_view target, std::string_view* path) noexcept {
  *path = {};
  if (target == "*") return true;
  http_parser_url u;
  http_parser_url_init(&u);
  // http_parser_parse_url keeps offsets in 16 bits.
  if (target.empty() || target.size() > 0xffff) return false;
  if (http_parser_parse_url(target.data(), target.size(), 0, &u) != 0) {
    // Authority-form ("host:port", CONNECT's target) has no path.
    http_parser_url_init(&u);
    return http_parser_parse_url(target.data(), target.size(), 1, &u) == 0;
  }
  if ((u.field_set & (1u << UF_PATH)) != 0) {
    *path = target.substr(u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
  }
  return true;
}

Decode percent_decode(std::string_view in, char* out, std::size_t cap, std::size_t* len) noexcept {
  std::size_t n = 0;
  bool too_long = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return Decode::kInvalid;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return Decode::kInvalid;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (n < cap) {
      out[n++] = c;
    } else {
      too_long = true;
    }
  }
  *len = n;
  return too_long ? Decode::kTooLong : Decode::kOk;
}

}  // namespace ferrite::proto::http
