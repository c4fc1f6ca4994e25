// Helpers for the persistence tests: a temporary folder removed with its content, and whole-file
// reads and writes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "persist/record.h"
#include "persist/segment.h"

namespace ferrite::persist::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "ferrite_persist_XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `pred` every millisecond for up to `ms` milliseconds; its last value.
template <typename Pred>
bool eventually(Pred pred, int ms = 5000) {
  for (int i = 0; i < ms; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

inline Record set_rec(std::string_view key, std::string_view value, std::uint64_t deadline_ms = 0,
                      std::uint32_t flags = 0) {
  Record r;
  r.type = RecordType::kSet;
  r.key = key;
  r.value = value;
  r.deadline_ms = deadline_ms;
  r.flags = flags;
  r.version = 1;
  return r;
}
inline Record del_rec(std::string_view key) {
  Record r;
  r.type = RecordType::kDelete;
  r.key = key;
  return r;
}
inline Record touch_rec(std::string_view key, std::uint64_t deadline_ms) {
  Record r;
  r.type = RecordType::kTouch;
  r.key = key;
  r.deadline_ms = deadline_ms;
  return r;
}
inline Record flush_rec(std::uint64_t at_ms) {
  Record r;
  r.type = RecordType::kFlush;
  r.deadline_ms = at_ms;
  return r;
}

inline std::string encoded(const Record& r) {
  std::string out(record_size(r), '\0');
  encode(r, out.data());
  return out;
}

// A whole segment: its header and `records`.
inline std::string segment_bytes(std::uint64_t seq, const std::vector<Record>& records) {
  std::string out(kSegmentHeader, '\0');
  encode_segment_header({seq, 1'800'000'000'000}, out.data());
  for (const Record& r : records) out += encoded(r);
  return out;
}

}  // namespace ferrite::persist::testing
