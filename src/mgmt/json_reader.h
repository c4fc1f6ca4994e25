// Reading the management socket's JSON, for its clients: ferritectl reads the replies with it, the
// tests check them. Parsing is nlohmann-json's (strict RFC 8259: no comments, no trailing commas;
// \u escapes, surrogate pairs included, become UTF-8); this file adds only a read-only,
// never-throwing view over the parsed tree, so that a reply from an older or newer ferrited (a
// field missing, or of another type) renders as "-" instead of ending the client.
//
// The daemon never includes this file (nor nlohmann-json): it writes JSON with mgmt/json.h and
// reads its requests as plain text lines.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferrite::mgmt {

// Members keep the order the daemon wrote them in (ferritectl prints tables in that order).
using Json = nlohmann::ordered_json;

// One value of a parsed document. Copies are cheap and share the document, which lives as long as
// any value of it does.
class JsonValue {
 public:
  JsonValue();  // null
  explicit JsonValue(Json doc);

  bool is_null() const noexcept { return v_->is_null(); }
  bool is_bool() const noexcept { return v_->is_boolean(); }
  bool is_number() const noexcept { return v_->is_number(); }
  bool is_string() const noexcept { return v_->is_string(); }
  bool is_array() const noexcept { return v_->is_array(); }
  bool is_object() const noexcept { return v_->is_object(); }

  // Conversions; a value of another type gives the fallback.
  bool as_bool(bool fallback = false) const noexcept;
  double as_double(double fallback = 0) const noexcept;
  std::int64_t as_int(std::int64_t fallback = 0) const noexcept;  // rounds a fraction toward zero
  std::uint64_t as_uint(std::uint64_t fallback = 0) const noexcept;
  // A string's value; a number's text as the daemon wrote it (integers exactly, doubles in their
  // shortest form); "" for other types.
  std::string as_string() const;

  // Arrays and objects. Lookups of a missing key or index give a null value.
  std::size_t size() const noexcept { return is_array() || is_object() ? v_->size() : 0; }
  JsonValue operator[](std::size_t i) const;
  JsonValue operator[](std::string_view key) const;
  bool contains(std::string_view key) const;
  std::vector<JsonValue> items() const;
  std::vector<std::pair<std::string, JsonValue>> members() const;

  const Json& json() const noexcept { return *v_; }
  bool operator==(const JsonValue& o) const { return *v_ == *o.v_; }

 private:
  JsonValue(std::shared_ptr<const Json> doc, const Json* v) : doc_(std::move(doc)), v_(v) {}

  std::shared_ptr<const Json> doc_;  // keeps the tree alive
  const Json* v_;
};

// Parses one document (surrounding whitespace allowed). On failure returns nothing and sets
// *error to what was wrong and where ("offset 12: syntax error while parsing object separator -
// ...").
std::optional<JsonValue> parse_json(std::string_view text, std::string* error);

}  // namespace ferrite::mgmt
