#include "persist/segment.h"

#include <cstring>

#include "persist/crc32c.h"
#include "persist/file_name.h"

namespace ferrite::persist {
namespace {

std::uint32_t header_crc(const char* h) noexcept {
  return crc32c_extend(crc32c(h, 12), h + 16, 16);
}

}  // namespace

std::string segment_file_name(std::uint64_t seq) { return numbered_file_name("aof-", seq, ".seg"); }

std::uint64_t segment_seq_of(std::string_view name) noexcept { return numbered_file_seq(name, "aof-", ".seg"); }

void encode_segment_header(const SegmentHeader& h, char out[kSegmentHeader]) noexcept {
  std::memcpy(out, kSegmentMagic.data(), 8);
  std::memcpy(out + 8, &kSegmentVersion, 4);
  std::memcpy(out + 16, &h.seq, 8);
  std::memcpy(out + 24, &h.created_unix_ms, 8);
  const std::uint32_t crc = header_crc(out);
  std::memcpy(out + 12, &crc, 4);
}

const char* decode_segment_header(std::string_view in, SegmentHeader* h) noexcept {
  if (in.size() < kSegmentHeader) return "shorter than a segment header (32 bytes)";
  if (in.substr(0, 8) != kSegmentMagic) return "not a Ferrite AOF segment (bad magic)";
  std::uint32_t version = 0, crc = 0;
  std::memcpy(&version, in.data() + 8, 4);
  std::memcpy(&crc, in.data() + 12, 4);
  if (crc != header_crc(in.data())) return "segment header checksum mismatch";
  if (version != kSegmentVersion) return "unsupported segment format version";
  std::memcpy(&h->seq, in.data() + 16, 8);
  std::memcpy(&h->created_unix_ms, in.data() + 24, 8);
  return "";
}

}  // namespace ferrite::persist
