// Fuzz target for the persistence record decoder: never crashes or reads out of bounds, and a
// record it accepts encodes back to the very same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "persist/record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty()) {
    ferrite::persist::Record r;
    std::size_t used = 0;
    if (ferrite::persist::decode(in, &r, &used) != ferrite::persist::DecodeStatus::kOk) break;
    std::string again(ferrite::persist::record_size(r), '\0');
    if (ferrite::persist::encode(r, again.data()) != used || again != in.substr(0, used)) std::abort();
    in.remove_prefix(used);
  }
  return 0;
}
