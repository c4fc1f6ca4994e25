// Fuzzes the JSON reader: it never crashes or reads past the input; whatever it accepts, written
// back by JsonWriter, reads back equal.
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

void write(const JsonValue& v, JsonWriter& w) {
  switch (v.type()) {
    case JsonValue::Type::kNull:
      w.null();
      break;
    case JsonValue::Type::kBool:
      w.value(v.as_bool());
      break;
    case JsonValue::Type::kNumber:
      w.raw(v.as_string());
      break;
    case JsonValue::Type::kString:
      w.value(v.as_string());
      break;
    case JsonValue::Type::kArray:
      w.begin_array();
      for (const JsonValue& x : v.items()) write(x, w);
      w.end_array();
      break;
    case JsonValue::Type::kObject:
      w.begin_object();
      for (const auto& [k, x] : v.members()) {
        w.key(k);
        write(x, w);
      }
      w.end_object();
      break;
  }
}

std::string written(const JsonValue& v) {
  JsonWriter w;
  write(v, w);
  if (!w.complete()) std::abort();
  return w.take();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto v = ferrite::mgmt::parse_json(in, &error);
  if (!v) {
    if (error.empty()) std::abort();
    return 0;
  }
  // Bytes that are not UTF-8 are written as \u00XX and read back as U+00XX, so the first round
  // trip may change strings; from then on every string is valid UTF-8 and the trip is exact.
  const std::string first = written(*v);
  const auto again = ferrite::mgmt::parse_json(first, &error);
  if (!again) std::abort();
  const std::string second = written(*again);
  const auto third = ferrite::mgmt::parse_json(second, &error);
  if (!third || !(*third == *again) || written(*third) != second) std::abort();
  return 0;
}
