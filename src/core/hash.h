// Key hashing: xxh3-64, inlined so the short-key path compiles to a few instructions.
#pragma once

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ferrite {

inline std::uint64_t hash_key(std::string_view key) noexcept {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace ferrite
