// memcached's meta commands (mg/ms/md/ma/me/mn, doc/protocol.txt "Meta Commands"): the flag
// tokens after the key, and the base64 keys of the 'b' flag.
//
// Flags are single characters, some with a token after them ("T30", "Oopaque"). Parsing follows
// memcached 1.6's _meta_flag_preparse: every flag may appear once ("CLIENT_ERROR duplicate flag",
// also for bytes >= 127); an unknown flag fails at once ("CLIENT_ERROR invalid flag"); a bad
// token ("T", "Tabc") is remembered and parsing goes on, so the last such error is the one
// reported. Which flags a command uses, and how it reports errors, is the command's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::memcache {

struct MetaFlags {
  // Flags that take no token.
  bool b = false;           // the key is base64
  bool c = false;           // return the CAS
  bool f = false;           // return the client flags
  bool h = false;           // return whether the item was hit before
  bool k = false;           // return the key
  bool l = false;           // return the seconds since the last access
  bool q = false;           // quiet: suppress the nominal reply
  bool s = false;           // return the value's size
  bool t = false;           // return the remaining TTL
  bool u = false;           // do not bump the item in the LRU
  bool v = false;           // return the value
  bool invalidate = false;  // I
  // Flags with a token (has_* says whether it was given).
  bool has_N = false, has_T = false, has_R = false, has_F = false, has_C = false;
  bool has_J = false, has_D = false, has_M = false, has_O = false;
  std::int32_t vivify_ttl = 0;     // N
  std::int32_t ttl = 0;            // T
  std::int32_t recache_ttl = 0;    // R
  std::uint32_t client_flags = 0;  // F
  std::uint64_t cas = 0;           // C
  std::uint64_t initial = 0;       // J
  std::uint64_t delta = 1;         // D
  char mode = 0;                   // M
  std::string_view opaque;         // O, the whole token ("O123")
  // Token order of N and T (for ma, where the later of the two sets a new item's TTL).
  std::uint8_t pos_N = 0, pos_T = 0;
};

// Parses `flags[0..n)` into `out`. Returns nullptr, or the error line (without "\r\n").
// With the 'b' flag, `*key` is base64-decoded into `key_buf` (at least
// base64_decoded_max(key->size()) bytes) and `*key` points there afterwards.
const char* parse_meta_flags(const std::string_view* flags, std::size_t n, std::string_view* key,
                             char* key_buf, MetaFlags* out) noexcept;

// Standard base64 (RFC 4648, with padding). decode returns false on a length that is not a
// multiple of 4, a character outside the alphabet, misplaced padding, or an empty result.
inline constexpr std::size_t base64_decoded_max(std::size_t n) noexcept { return n / 4 * 3; }
inline constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }
bool base64_decode(std::string_view in, char* out, std::size_t* out_len) noexcept;
std::size_t base64_encode(std::string_view in, char* out) noexcept;

// " k<key>", or " k<base64 key> b" when the request's key was base64 (memcached's META_KEY).
void append_meta_key(Buffer& out, std::string_view key, bool binary);

}  // namespace ferrite::proto::memcache
