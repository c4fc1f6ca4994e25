// Byte sizes as operators write them: "1073741824", "64KiB", "1 GiB", "512M" (binary units;
// K/M/G/T alone mean KiB/MiB/GiB/TiB, as memcached's -m does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferrite {

// The size in bytes, or nothing for anything else: empty, no digits, an unknown unit, trailing
// text, or more than 2^64-1 bytes.
std::optional<std::uint64_t> parse_size(std::string_view text) noexcept;

// The shortest exact spelling in the largest binary unit that divides it ("1GiB", "1536KiB").
std::string format_size(std::uint64_t bytes);

}  // namespace ferrite
