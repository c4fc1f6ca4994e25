// A small JSON reader (RFC 8259 grammar, strict: no comments, no trailing commas) for the
// management socket's clients: ferritectl reads the replies with it, the tests check them.
// Values are a plain tree; numbers keep their text so that 64-bit integers stay exact. The bytes
// of strings are taken as they are (\u escapes, surrogate pairs included, become UTF-8).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferrite::mgmt {

class JsonValue {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;
  static JsonValue make_bool(bool b);
  static JsonValue make_number(std::string text);
  static JsonValue make_string(std::string s);
  static JsonValue make_array();
  static JsonValue make_object();

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::kNull; }
  bool is_bool() const noexcept { return type_ == Type::kBool; }
  bool is_number() const noexcept { return type_ == Type::kNumber; }
  bool is_string() const noexcept { return type_ == Type::kString; }
  bool is_array() const noexcept { return type_ == Type::kArray; }
  bool is_object() const noexcept { return type_ == Type::kObject; }

  // Conversions; a value of another type gives the fallback.
  bool as_bool(bool fallback = false) const noexcept { return is_bool() ? bool_ : fallback; }
  double as_double(double fallback = 0) const noexcept;
  std::int64_t as_int(std::int64_t fallback = 0) const noexcept;  // rounds a fraction toward zero
  std::uint64_t as_uint(std::uint64_t fallback = 0) const noexcept;
  const std::string& as_string() const noexcept { return text_; }  // a string's value, a number's text

  // Arrays and objects. Lookups of a missing key or index give a null value.
  std::size_t size() const noexcept { return is_object() ? members_.size() : items_.size(); }
  const JsonValue& operator[](std::size_t i) const noexcept;
  const JsonValue& operator[](std::string_view key) const noexcept;
  const JsonValue* find(std::string_view key) const noexcept;
  const std::vector<JsonValue>& items() const noexcept { return items_; }
  const std::vector<std::pair<std::string, JsonValue>>& members() const noexcept { return members_; }
  std::vector<JsonValue>& items() noexcept { return items_; }
  std::vector<std::pair<std::string, JsonValue>>& members() noexcept { return members_; }

  bool operator==(const JsonValue& o) const;

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

// Parses one document (surrounding whitespace allowed). On failure returns nothing and sets
// *error to what was wrong and where ("offset 12: expected ':' after an object key"). Nesting is
// limited to 128 levels.
std::optional<JsonValue> parse_json(std::string_view text, std::string* error);

}  // namespace ferrite::mgmt
