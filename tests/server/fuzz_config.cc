// Fuzz target for the configuration parsers. The first byte picks a mode:
//   even: the rest is a value for key (byte / 2) % kKeyCount, as --set or CONFIG SET give it;
//         whatever is accepted must be canonical (accepted again, unchanged) and resolve.
//   odd:  the rest is a TOML document; errors leave the values untouched, and whatever loads
//         resolves and digests without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"
#include "server/settings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ferrite::server;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const std::vector<unsigned> kCpus{0, 1, 2, 3};
  ConfigValues values;
  if ((data[0] & 1) == 0) {
    const Setting& s = all_settings()[(data[0] / 2) % kKeyCount];
    std::string canonical;
    if (!check_value(s, text, quote(text), &canonical).empty()) return 0;
    std::string again;
    if (!check_value(s, canonical, quote(canonical), &again).empty() || again != canonical) std::abort();
    if (!values.set(s.name, text).empty() || values.get(s.key) != canonical) std::abort();
  } else {
    std::vector<std::string> errors;
    values.load_toml(text, "fuzz.toml", &errors);
    if (!errors.empty()) {
      if (!(values == ConfigValues())) std::abort();
      return 0;
    }
  }
  ServerConfig config;
  if (resolve_config(values, kCpus, &config).empty()) {
    if (config.workers == 0 || config.worker_cpus.size() != config.workers) std::abort();
    if (config.digest().size() != 16) std::abort();
  }
  return 0;
}
