#include "mgmt/json_reader.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace ferrite::mgmt {

namespace {
const Json kNull;
}

JsonValue::JsonValue() : v_(&kNull) {}

JsonValue::JsonValue(Json doc) : doc_(std::make_shared<const Json>(std::move(doc))), v_(doc_.get()) {}

// The accessors below read through get_ptr (noexcept: null for another type) rather than get<>,
// which may throw. An unsigned number is asked for first: get_ptr of number_integer_t answers for
// unsigned values too.
bool JsonValue::as_bool(bool fallback) const noexcept {
  const auto* b = v_->get_ptr<const Json::boolean_t*>();
  return b != nullptr ? *b : fallback;
}

double JsonValue::as_double(double fallback) const noexcept {
  if (const auto* f = v_->get_ptr<const Json::number_float_t*>()) return *f;
  if (const auto* u = v_->get_ptr<const Json::number_unsigned_t*>()) return static_cast<double>(*u);
  if (const auto* i = v_->get_ptr<const Json::number_integer_t*>()) return static_cast<double>(*i);
  return fallback;
}

std::int64_t JsonValue::as_int(std::int64_t fallback) const noexcept {
  if (const auto* u = v_->get_ptr<const Json::number_unsigned_t*>()) {
    return *u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ? static_cast<std::int64_t>(*u)
                                                                                       : fallback;
  }
  if (const auto* i = v_->get_ptr<const Json::number_integer_t*>()) return *i;
  const double d = as_double(static_cast<double>(fallback));
  if (!(d > -9.2e18 && d < 9.2e18)) return fallback;
  return static_cast<std::int64_t>(d);
}

std::uint64_t JsonValue::as_uint(std::uint64_t fallback) const noexcept {
  if (const auto* u = v_->get_ptr<const Json::number_unsigned_t*>()) return *u;
  if (const auto* i = v_->get_ptr<const Json::number_integer_t*>()) {
    return *i >= 0 ? static_cast<std::uint64_t>(*i) : fallback;
  }
  const double d = as_double(-1);
  if (!(d >= 0 && d < 1.8e19)) return fallback;
  return static_cast<std::uint64_t>(d);
}

std::string JsonValue::as_string() const {
  if (is_string()) return v_->get<std::string>();
  if (v_->is_number_unsigned()) return std::to_string(v_->get<std::uint64_t>());
  if (v_->is_number_integer()) return std::to_string(v_->get<std::int64_t>());
  if (v_->is_number_float()) {
    // The shortest form that reads back the same, as JsonWriter writes doubles; but negative
    // zero, whose shortest form "-0" reads back as the integer 0, keeps its sign as "-0.0".
    const double d = v_->get<double>();
    if (d == 0 && std::signbit(d)) return "-0.0";
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
  }
  return "";
}

JsonValue JsonValue::operator[](std::size_t i) const {
  if (!is_array() || i >= v_->size()) return JsonValue();
  return JsonValue(doc_, &(*v_)[i]);
}

JsonValue JsonValue::operator[](std::string_view key) const {
  if (!is_object()) return JsonValue();
  const auto it = v_->find(key);
  return it == v_->end() ? JsonValue() : JsonValue(doc_, &*it);
}

bool JsonValue::contains(std::string_view key) const { return is_object() && v_->contains(key); }

std::vector<JsonValue> JsonValue::items() const {
  std::vector<JsonValue> out;
  if (!is_array()) return out;
  out.reserve(v_->size());
  for (const Json& x : *v_) out.push_back(JsonValue(doc_, &x));
  return out;
}

std::vector<std::pair<std::string, JsonValue>> JsonValue::members() const {
  std::vector<std::pair<std::string, JsonValue>> out;
  if (!is_object()) return out;
  out.reserve(v_->size());
  for (auto it = v_->begin(); it != v_->end(); ++it) out.emplace_back(it.key(), JsonValue(doc_, &it.value()));
  return out;
}

std::optional<JsonValue> parse_json(std::string_view text, std::string* error) {
  try {
    return JsonValue(Json::parse(text.begin(), text.end()));
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error
    // ..."; the offset says where on our one-line documents.
    std::string what = e.what();
    if (const std::size_t colon = what.find(": "); colon != std::string::npos) what.erase(0, colon + 2);
    *error = "offset " + std::to_string(e.byte) + ": " + what;
    return std::nullopt;
  } catch (const Json::exception& e) {
    // A number out of a double's range ("[json.exception.out_of_range.406] number overflow ...").
    std::string what = e.what();
    if (const std::size_t end = what.find("] "); end != std::string::npos) what.erase(0, end + 2);
    *error = what;
    return std::nullopt;
  }
}

}  // namespace ferrite::mgmt
