// A small streaming JSON writer for the management socket's replies (RFC 8259).
//
//   JsonWriter w;
//   w.begin_object();
//   w.key("workers").value(2);
//   w.key("keys").begin_array().value("a").value("b").end_array();
//   w.end_object();
//   w.str();  // {"workers":2,"keys":["a","b"]}
//
// Commas are placed by the writer. Strings are escaped: ", \ and control bytes; valid UTF-8
// passes through, and a byte that is not part of a valid UTF-8 sequence (keys are arbitrary
// bytes) is written as \u00XX, the Latin-1 code point of that byte, so the document is always
// valid JSON. Numbers: integers exactly; doubles in their shortest form, NaN and infinities as
// null. Misuse (a value where a key is due, unbalanced ends) is a programming error: asserted.
//
// Hand-written, while the clients read with nlohmann-json (mgmt/json_reader.h), because the bytes
// it writes are part of the protocol: a key that is not UTF-8 comes out with each stray byte as
// \u00XX, which ferritectl, the tests and operators' scripts rely on; nlohmann-json's dump() throws
// on such bytes (or, told to replace them, writes U+FFFD, losing the byte). It also builds no tree:
// it appends to one string, and keeps the daemon free of the library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace ferrite::mgmt {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  template <typename T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) JsonWriter& value(T v) {
    if constexpr (std::is_signed_v<T>) {
      return signed_value(static_cast<std::int64_t>(v));
    } else {
      return unsigned_value(static_cast<std::uint64_t>(v));
    }
  }
  JsonWriter& value(double v);
  JsonWriter& null();
  // A document written by another JsonWriter (or any valid JSON text), as one value.
  JsonWriter& raw(std::string_view json);

  // key(k).value(v) in one call.
  template <typename T>
  JsonWriter& field(std::string_view k, const T& v) {
    key(k);
    return value(v);
  }

  // True once every object and array opened has been closed and one value was written.
  bool complete() const noexcept { return stack_.empty() && !out_.empty(); }
  const std::string& str() const noexcept { return out_; }
  std::string take() noexcept { return std::move(out_); }

 private:
  JsonWriter& signed_value(std::int64_t v);
  JsonWriter& unsigned_value(std::uint64_t v);

  enum class Frame : std::uint8_t { kObjectKey, kObjectValue, kArray };
  void before_value();

  std::string out_;
  std::vector<Frame> stack_;
  std::vector<bool> first_;  // per open container: no element written yet
};

// Appends `s` as a JSON string literal (with the quotes) to *out.
void append_json_string(std::string_view s, std::string* out);

}  // namespace ferrite::mgmt
