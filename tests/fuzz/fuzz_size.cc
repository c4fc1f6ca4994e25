// Fuzz target for parse_size: never crashes, and whatever it accepts formats back to the same
// number of bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/size.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto v = ferrite::parse_size(text)) {
    const auto again = ferrite::parse_size(ferrite::format_size(*v));
    if (!again || *again != *v) std::abort();
  }
  return 0;
}
