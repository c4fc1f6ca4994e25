// Fuzz target for an archive's CHECKSUMS parser (persist/backup.h): never crashes, every error
// names the file, and a file it accepts is one the writer would write (format_checksums of what
// it parsed gives back the very same bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "persist/backup.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<ferrite::persist::ChecksumEntry> entries;
  const std::string error = ferrite::persist::parse_checksums(in, "CHECKSUMS", &entries);
  if (error.empty()) {
    if (ferrite::persist::format_checksums(entries) != in) std::abort();
  } else if (error.rfind("CHECKSUMS", 0) != 0 || !entries.empty()) {
    std::abort();
  }
  return 0;
}
