// An append-only file segment: a 32-byte header, then records (persist/record.h) back to back.
// A persistence folder holds numbered segments, `aof-0000000001.seg`, `aof-0000000002.seg`, ...
// in the order a manifest names them.
//
//   offset size  field
//   0      8     magic    "FRTAOF1\n"
//   8      4     version  1
//   12     4     crc      CRC32C of bytes 0..11 and 16..31 (the header without this field)
//   16     8     seq      the segment's number (also in its name)
//   24     8     created  Unix ms
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite::persist {

inline constexpr std::size_t kSegmentHeader = 32;
inline constexpr std::string_view kSegmentMagic{"FRTAOF1\n", 8};
inline constexpr std::uint32_t kSegmentVersion = 1;

struct SegmentHeader {
  std::uint64_t seq = 0;
  std::uint64_t created_unix_ms = 0;
};

// "aof-0000000042.seg" (ten digits; longer numbers take more).
std::string segment_file_name(std::uint64_t seq);
// The number in a segment's file name, or 0 when `name` is not one.
std::uint64_t segment_seq_of(std::string_view name) noexcept;

void encode_segment_header(const SegmentHeader& h, char out[kSegmentHeader]) noexcept;
// "" when the header is good, else what is wrong with it (a static string).
const char* decode_segment_header(std::string_view in, SegmentHeader* h) noexcept;

}  // namespace ferrite::persist
