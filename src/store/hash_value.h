// A hash (Redis's field -> value map) encoded inside one item's value, like Redis's listpack:
//
//   varint count, then count times: varint field_len, field bytes, varint value_len, value bytes
//
// (varints: LEB128, 7 bits a byte, at most 5 bytes, each length < 2^32). Fields are unique and
// kept in insertion order (a new field goes at the end, an updated one stays where it was, as in
// a listpack). Lookups scan linearly; every write builds the whole new value (O(fields + bytes)),
// into a buffer the caller keeps between requests, so nothing is allocated per request once the
// buffers have grown. The store holds the result as one item of type ItemType::kHash: one key,
// one TTL, counted, evicted and expired as a whole.
//
// Pure functions, no I/O. Every reader checks every length against the bytes it has, so any
// bytes whatever can be decoded without reading out of bounds (validate() says whether they are
// a well-formed hash; the fuzz target tests/fuzz/fuzz_hash_value.cc drives both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite::store::hash {

// One field and its value.
struct Pair {
  std::string_view field;
  std::string_view value;
};

// Walks the pairs of an encoded hash. A malformed encoding ends the walk early (ok() false).
class Reader {
 public:
  explicit Reader(std::string_view encoded) noexcept;
  // The count the encoding announces (0 when malformed).
  std::uint32_t count() const noexcept { return count_; }
  // The next pair; false at the end or at a malformed pair.
  bool next(Pair* out) noexcept;
  // False once a malformed length was met (or the header was).
  bool ok() const noexcept { return ok_; }
  // Byte offset of the next pair in the encoding.
  std::size_t offset() const noexcept { return pos_; }
  // Reads the one pair at a pair offset previously returned by offset() (the walk ends there).
  bool pair_at(std::size_t offset, Pair* out) noexcept {
    pos_ = offset;
    seen_ = count_ - 1;
    return next(out);
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
  std::uint32_t count_ = 0;
  std::uint32_t seen_ = 0;
  bool ok_ = true;
};

// True when `encoded` is a well-formed hash: the header, exactly `count` pairs, nothing after
// them, and no field twice (checked only up to kMaxCheckedFields, to bound the work: the store
// writes only what build() produced).
bool validate(std::string_view encoded) noexcept;
inline constexpr std::uint32_t kMaxCheckedFields = 1024;

// The number of fields (0 for a malformed encoding).
std::uint32_t count(std::string_view encoded) noexcept;
// The value of `field`; false when it is absent.
bool find(std::string_view encoded, std::string_view field, std::string_view* value) noexcept;

// Reusable buffers for the writers below (kept by a session; grow once, then reused).
struct Scratch {
  std::string out;                   // the new encoding
  std::vector<std::uint8_t> marks;   // per request pair
  std::vector<std::uint32_t> index;  // open-addressing table over the request's fields
  std::vector<std::uint32_t> offsets;  // pair offsets (random access)
  std::vector<std::uint32_t> matches;  // set(): per old pair, the request pair that replaces it
};

// HSET: the pairs of `old` (empty: a new hash) with the given pairs set, into scratch.out. A
// field given twice takes its last value. Returns the number of fields that were new. `old`
// must not point into scratch.out.
std::size_t set(std::string_view old, std::span<const Pair> pairs, Scratch& scratch);
// HDEL: `old` without the given fields, into scratch.out. Returns how many were removed (0: the
// output is not written).
std::size_t del(std::string_view old, std::span<const std::string_view> fields, Scratch& scratch);

// Offsets of every pair (for Reader::pair_at) into scratch.offsets; false when malformed.
bool index_pairs(std::string_view encoded, Scratch& scratch);

// LEB128 helpers (exposed for tests).
std::size_t put_varint(std::uint32_t v, char* out) noexcept;  // at most 5 bytes
inline constexpr std::size_t kMaxVarint = 5;

}  // namespace ferrite::store::hash
