// Helpers for the configuration tests: the checked-in default config file, TOML text loaded into
// values, and temporary files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "server/config.h"

namespace ferrite::server::testing {

// configs/ferrite.toml in the source tree (tests/server/meson.build sets FERRITE_CONFIG_TOML).
inline std::string default_config_path() {
  const char* p = std::getenv("FERRITE_CONFIG_TOML");
  return p == nullptr ? std::string() : std::string(p);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Loads TOML text (named "test.toml" in messages) over the defaults; returns the errors.
inline std::vector<std::string> load(std::string_view text, ConfigValues* values) {
  std::vector<std::string> errors;
  values->load_toml(text, "test.toml", &errors);
  return errors;
}

// The dotted names of every `key = value` line under a [section] header in TOML text: what a
// reader of the file sees (comments and blank lines skipped).
inline std::set<std::string> keys_in_toml(std::string_view text) {
  std::set<std::string> keys;
  std::istringstream in{std::string(text)};
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const std::size_t eq = line.find(" = ");
    if (eq != std::string::npos) keys.insert(section + "." + line.substr(0, eq));
  }
  return keys;
}

// A file under the test's temporary directory, removed when destroyed.
class TempFile {
 public:
  TempFile(std::string_view name, std::string_view contents)
      : path_(::testing::TempDir() + "ferrite_" + std::to_string(getpid()) + "_" + std::string(name)) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace ferrite::server::testing
