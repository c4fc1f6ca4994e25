// The RESP requests and reply checks of the two workloads beyond GET/SET (issue 15):
//
//   multi-incr  one operation is one transaction, written as one piece:
//                 MULTI, INCR k0, INCR k1, ..., INCR k9, EXEC
//               (ten different keys). It succeeds when MULTI answers +OK, each INCR +QUEUED and
//               EXEC an array of ten integers.
//   hash        HSET key f1 v1 ... f10 v10 (a whole 10-field hash: an integer reply, 0..10 fields
//               added) and HGET key fN (the field's value, or a nil bulk if the key is missing).
//
// The parsers look at the front of the received bytes, like Codec::parse. A transaction's twelve
// replies are taken as one: it is incomplete until all twelve have arrived; any well-formed
// sequence is consumed whole, so an error reply in it (a server without MULTI answers -ERR to
// MULTI and EXEC and runs the INCRs on their own) is an error that leaves the stream in sync.
#pragma once

#include <cstdint>
#include <string_view>

#include "codec.h"
#include "core/buffer.h"

namespace ferrite::bench::resp_types {

inline constexpr std::uint32_t kIncrs = 10;   // INCRs per transaction
inline constexpr std::uint32_t kFields = 10;  // fields per hash

// The name of field j (0-based): "f1" .. "f10".
std::string_view field_name(std::uint32_t j) noexcept;

// Index of the value stored in field j of hash i, for Keyspace::value(): distinct for every
// (i, j), so a reply carrying another field's or another hash's value does not match.
inline std::uint64_t field_value_index(std::uint64_t hash, std::uint32_t field) noexcept {
  return hash * kFields + field;
}

// keys: kIncrs keys.
void encode_multi_incr(Buffer& out, const std::string_view* keys);
// values: kFields values, for fields f1 .. f10.
void encode_hset(Buffer& out, std::string_view key, const std::string_view* values);
void encode_hget(Buffer& out, std::string_view key, std::uint32_t field);

// kStored when the transaction ran as one (+OK, 10 x +QUEUED, an array of 10 integers); kError
// (message: the first error reply) when any of the twelve replies is an error; kBad when they
// are well-formed RESP but not these replies, or not RESP at all.
Reply parse_multi_incr(std::string_view in);
// kStored for an integer 0..kFields, kError for an error reply, else kBad.
Reply parse_hset(std::string_view in);
// kHit with the value, kMiss for a nil ($-1 or RESP3 _), kError, else kBad.
Reply parse_hget(std::string_view in);

// Which of these an op is (GET and SET go through the protocol's Codec).
inline bool is_resp_type_op(Op op) noexcept {
  return op == Op::kMultiIncr || op == Op::kHSet || op == Op::kHGet;
}
Reply parse(std::string_view in, Op op);

}  // namespace ferrite::bench::resp_types
