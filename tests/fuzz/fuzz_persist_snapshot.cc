// Fuzz target for the snapshot reader (verify_snapshot_bytes: header, block headers, their
// chain, footer, zstd frames, every record): never crashes, hangs or reads out of bounds, and
// what it accepts is whole (the footer's counts add up).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "persist/snapshot.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const ferrite::persist::VerifyResult v = ferrite::persist::verify_snapshot_bytes(in);
  if (v.ok != v.reason.empty()) std::abort();
  if (!v.ok && v.offset > size) std::abort();
  return 0;
}
