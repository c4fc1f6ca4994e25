// Client side of the memcached binary protocol for tests: request builders and a response
// splitter that checks every packet's framing.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "proto/memcache_binary/codec.h"

namespace ferrite::testing::mcb {

namespace mb = proto::memcache_binary;
using mb::Opcode;
using mb::Status;

inline std::uint8_t op(Opcode o) { return static_cast<std::uint8_t>(o); }

inline std::string request(Opcode o, std::string_view extras, std::string_view key, std::string_view value,
                           std::uint32_t opaque = 0xdeadbeef, std::uint64_t cas = 0) {
  Buffer b;
  mb::append_request(b, op(o), extras, key, value, opaque, cas);
  return std::string(b.view());
}

inline std::string be32(std::uint32_t v) {
  Buffer b;
  b.append_be32(v);
  return std::string(b.view());
}
inline std::string be64(std::uint64_t v) {
  Buffer b;
  b.append_be64(v);
  return std::string(b.view());
}

inline std::string store_extras(std::uint32_t flags, std::uint32_t exptime) {
  return be32(flags) + be32(exptime);
}
inline std::string arith_extras(std::uint64_t delta, std::uint64_t initial, std::uint32_t exptime) {
  return be64(delta) + be64(initial) + be32(exptime);
}

inline std::string mb_set(std::string_view key, std::string_view value, std::uint32_t flags = 0,
                          std::uint32_t exptime = 0, std::uint64_t cas = 0, Opcode o = Opcode::kSet) {
  return request(o, store_extras(flags, exptime), key, value, 0xdeadbeef, cas);
}
inline std::string get(std::string_view key, Opcode o = Opcode::kGet) { return request(o, {}, key, {}); }
inline std::string noop() { return request(Opcode::kNoop, {}, {}, {}); }
inline std::string arith(Opcode o, std::string_view key, std::uint64_t delta, std::uint64_t initial,
                         std::uint32_t exptime, std::uint64_t cas = 0) {
  return request(o, arith_extras(delta, initial, exptime), key, {}, 0xdeadbeef, cas);
}

struct Response {
  std::uint8_t magic = 0, opcode = 0, data_type = 0;
  Status status = Status::kSuccess;
  std::uint32_t opaque = 0;
  std::uint64_t cas = 0;
  std::string extras, key, value;

  std::uint32_t flags() const { return extras.size() == 4 ? mb::load_be32(extras.data()) : 0xffffffffu; }
  std::uint64_t counter() const {
    return value.size() == 8 ? mb::load_be64(value.data()) : ~std::uint64_t{0};
  }
};

// Splits a reply stream into packets; fails the test on a truncated or malformed one.
inline std::vector<Response> parse(std::string_view s) {
  std::vector<Response> out;
  while (!s.empty()) {
    if (s.size() < mb::kHeaderSize) {
      ADD_FAILURE() << "truncated header: " << s.size() << " bytes left";
      break;
    }
    const mb::Header h = mb::parse_header(s);
    if (s.size() < h.packet_len() || std::size_t{h.key_len} + h.extras_len > h.body_len) {
      ADD_FAILURE() << "truncated or inconsistent packet";
      break;
    }
    Response r;
    r.magic = h.magic;
    r.opcode = h.opcode;
    r.data_type = h.data_type;
    r.status = static_cast<Status>(h.vbucket);
    r.opaque = h.opaque;
    r.cas = h.cas;
    const std::string_view body = s.substr(mb::kHeaderSize, h.body_len);
    r.extras = body.substr(0, h.extras_len);
    r.key = body.substr(h.extras_len, h.key_len);
    r.value = body.substr(std::size_t{h.extras_len} + h.key_len);
    EXPECT_EQ(r.magic, mb::kResponseMagic);
    EXPECT_EQ(r.data_type, 0);
    out.push_back(std::move(r));
    s.remove_prefix(h.packet_len());
  }
  return out;
}

}  // namespace ferrite::testing::mcb
