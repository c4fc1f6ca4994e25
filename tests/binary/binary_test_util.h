// Client-side helpers for the binary protocol tests: encode requests to bytes, decode a reply
// stream into owned replies.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"

namespace ferrite::binary_test {

namespace wire = proto::binary;

// A decoded reply that owns its key and value.
struct Got {
  wire::Opcode opcode = wire::Opcode::kNoop;
  std::uint8_t flags = 0;
  wire::Status status = wire::Status::kOk;
  std::uint32_t ttl = 0, request_id = 0, client_flags = 0;
  std::uint64_t cas = 0;
  std::string key, value;
  std::uint64_t counter() const {
    std::uint64_t v = 0;
    EXPECT_TRUE(wire::decode_counter(value, &v)) << "value of " << value.size() << " bytes";
    return v;
  }
};

inline std::string bytes(const wire::Request& r) {
  Buffer b;
  EXPECT_TRUE(wire::encode_request(b, r));
  return std::string(b.view());
}

inline wire::Request req(wire::Opcode op, std::uint32_t id, std::string_view key = {},
                         std::string_view value = {}) {
  wire::Request r;
  r.opcode = op;
  r.request_id = id;
  r.key = key;
  r.value = value;
  return r;
}

inline std::string arith_value(std::uint64_t delta) {
  char v[16];
  return std::string(v, wire::encode_arith({delta, false, 0}, v));
}
inline std::string arith_value(std::uint64_t delta, std::uint64_t initial) {
  char v[16];
  return std::string(v, wire::encode_arith({delta, true, initial}, v));
}

// Decodes every reply of `stream`; fails the test if anything is left over or malformed.
inline std::vector<Got> decode_all(std::string_view stream) {
  std::vector<Got> out;
  while (!stream.empty()) {
    wire::Reply r;
    const wire::DecodeResult d = wire::decode_reply(stream, &r);
    EXPECT_EQ(d.status, wire::DecodeStatus::kOk) << "after " << out.size() << " replies";
    if (!d.ok()) break;
    out.push_back(Got{r.opcode, r.flags, r.status, r.ttl, r.request_id, r.client_flags, r.cas,
                      std::string(r.key), std::string(r.value)});
    stream.remove_prefix(d.size);
  }
  return out;
}

// prefix + decimal n (not "k" + std::to_string(n): g++ 12 warns about that at -O3).
inline std::string numbered(std::string_view prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

inline std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string h;
  for (unsigned char c : s) {
    h.push_back(digits[c >> 4]);
    h.push_back(digits[c & 15]);
  }
  return h;
}

}  // namespace ferrite::binary_test
