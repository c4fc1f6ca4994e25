// Helpers the text files of a persistence folder share (MANIFEST, an archive's CHECKSUMS): their
// number fields, parsed strictly (one spelling per value, so a file that parses formats back to
// the same bytes), and writing a whole buffer to a file descriptor.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "persist/crc32c.h"

namespace ferrite::persist {

// A canonical decimal u64: digits only, no leading zero (but "0"), no overflow.
inline bool parse_decimal_u64(std::string_view s, std::uint64_t* out) noexcept {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Exactly 8 lowercase hex digits.
inline bool parse_hex32(std::string_view s, std::uint32_t* out) noexcept {
  if (s.size() != 8) return false;
  std::uint32_t v = 0;
  for (char c : s) {
    std::uint32_t d = 0;
    if (c >= '0' && c <= '9') {
      d = static_cast<std::uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<std::uint32_t>(c - 'a' + 10);
    } else {
      return false;
    }
    v = (v << 4) | d;
  }
  *out = v;
  return true;
}

// Writes all of `data` to `fd` (retrying short writes and EINTR); false with errno set on failure.
inline bool write_all(int fd, std::string_view data) noexcept {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// The frame of a persistence text file (MANIFEST, an archive's CHECKSUMS): lines ended by '\n', the
// first a header, the last "crc32c <8 hex digits>" over every byte before it. Reads the lines
// before the crc32c line, checking the frame; the caller checks each line's meaning:
//   SealedLines in(text, path);
//   for (std::string_view line; in.next(&line);) { ... return in.fail("why"); }
//   if (!in.error().empty()) return in.error();
class SealedLines {
 public:
  SealedLines(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  // The next line (the header first), or false at the end of the file or at a frame error
  // (error() then says which: a line cut short, a missing or wrong crc32c, bytes after it).
  bool next(std::string_view* line) {
    while (pos_ < text_.size()) {
      ++line_no_;
      if (sealed_) return stop("bytes after the crc32c line");
      const std::size_t nl = text_.find('\n', pos_);
      if (nl == std::string_view::npos) return stop("line not ended by a newline (file cut short?)");
      const std::string_view l = text_.substr(pos_, nl - pos_);
      const std::size_t start = pos_;
      pos_ = nl + 1;
      if (line_no_ == 1 || !l.starts_with("crc32c ")) {
        *line = l;
        return true;
      }
      std::uint32_t want = 0;
      if (!parse_hex32(l.substr(7), &want)) return stop("bad crc32c (8 lowercase hex digits)");
      const std::uint32_t got = crc32c(text_.substr(0, start));
      if (got != want) {
        char buf[80];
        std::snprintf(buf, sizeof buf, "checksum mismatch (file says %08x, content is %08x)", want, got);
        return stop(buf);
      }
      sealed_ = true;
    }
    ++line_no_;  // what is missing is missing at the line after the last one
    if (line_no_ == 1) return stop("empty file");
    if (!sealed_) return stop("crc32c line missing (file cut short?)");
    return false;
  }

  const std::string& error() const noexcept { return error_; }
  std::size_t line_no() const noexcept { return line_no_; }
  // "<file> line <n>: <why>" for the line last read (after the end: the line after the last).
  std::string fail(std::string_view why) const {
    return std::string(file_) + " line " + std::to_string(line_no_) + ": " + std::string(why);
  }

 private:
  bool stop(std::string_view why) {
    error_ = fail(why);
    return false;
  }

  std::string_view text_;
  std::string_view file_;
  std::size_t pos_ = 0;
  std::size_t line_no_ = 0;
  bool sealed_ = false;
  std::string error_;
};

}  // namespace ferrite::persist
