// Fuzzes the JSON writer, the one JSON codec the project still writes by hand (the daemon reads
// its requests as plain text lines, fuzzed by fuzz_mgmt_plane; the clients parse with
// nlohmann-json). Two checks per input:
//  - the input's bytes as a key and as a string value: the writer's document is valid JSON (read
//    back with nlohmann-json), and the string comes back as written when it was valid UTF-8, else
//    with each stray byte as the Latin-1 code point of that byte;
//  - whatever nlohmann-json accepts of the input, written back by JsonWriter, reads back equal.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mgmt/json.h"
#include "mgmt/json_reader.h"

namespace {

using ferrite::mgmt::JsonValue;
using ferrite::mgmt::JsonWriter;
using ferrite::mgmt::parse_json;

void write(const JsonValue& v, JsonWriter& w) {
  if (v.is_null()) {
    w.null();
  } else if (v.is_bool()) {
    w.value(v.as_bool());
  } else if (v.is_number()) {
    w.raw(v.as_string());
  } else if (v.is_string()) {
    w.value(v.as_string());
  } else if (v.is_array()) {
    w.begin_array();
    for (const JsonValue& x : v.items()) write(x, w);
    w.end_array();
  } else {
    w.begin_object();
    for (const auto& [k, x] : v.members()) {
      w.key(k);
      write(x, w);
    }
    w.end_object();
  }
}

std::string written(const JsonValue& v) {
  JsonWriter w;
  write(v, w);
  if (!w.complete()) std::abort();
  return w.take();
}

// Length of the valid UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates, at most
// U+10FFFF), or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

// What the writer promises a reader gets back for `s`.
std::string expected_read(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t n = utf8_length(s, i); n != 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i++]);  // U+0080..U+00FF in UTF-8
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;

  JsonWriter w;
  w.begin_object().field(in, in).end_object();
  const auto doc = parse_json(w.str(), &error);
  if (!doc || doc->size() != 1) std::abort();
  const auto [key, value] = doc->members()[0];
  const std::string want = expected_read(in);
  if (key != want || value.as_string() != want) std::abort();

  const auto v = parse_json(in, &error);
  if (!v) {
    if (error.empty()) std::abort();
    return 0;
  }
  // nlohmann-json accepts only valid UTF-8, so every string read is exact from the first trip on.
  const std::string first = written(*v);
  const auto again = parse_json(first, &error);
  if (!again || !(*again == *v) || written(*again) != first) std::abort();
  return 0;
}
