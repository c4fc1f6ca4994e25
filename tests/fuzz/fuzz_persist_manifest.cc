// Fuzz target for the manifest parser: never crashes, and a manifest it accepts is one the writer
// would write (format_manifest of what it parsed gives back the very same bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "persist/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const ferrite::persist::ManifestLoad l = ferrite::persist::parse_manifest(in, "MANIFEST");
  if (l.error.empty()) {
    if (!ferrite::persist::check_manifest(l.manifest).empty()) std::abort();
    if (ferrite::persist::format_manifest(l.manifest) != in) std::abort();
  } else if (l.error.rfind("MANIFEST", 0) != 0) {
    std::abort();  // every error names the file
  }
  return 0;
}
