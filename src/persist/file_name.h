// The names of numbered files in a persistence folder: `<prefix><number><suffix>`, the number in
// ten digits or more (aof-0000000001.seg, snap-0000000003.fsnap).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite::persist {

std::string numbered_file_name(std::string_view prefix, std::uint64_t seq, std::string_view suffix);
// The number in `name`, or 0 when it is not such a name. Only the canonical spelling counts (no
// second name for the same number).
std::uint64_t numbered_file_seq(std::string_view name, std::string_view prefix, std::string_view suffix) noexcept;

}  // namespace ferrite::persist
