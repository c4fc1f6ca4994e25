#include "persist/snapshot_format.h"

#include <cstring>

#include "persist/crc32c.h"
#include "persist/file_name.h"

namespace ferrite::persist {
namespace {

template <typename T>
void put(char* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);  // little-endian hosts only (x86-64), as the format says
}

template <typename T>
T get(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint32_t header_crc(const char* h) noexcept { return crc32c_extend(crc32c(h, 12), h + 16, 16); }

bool all_zero(const char* p, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

}  // namespace

std::string snapshot_file_name(std::uint64_t seq) { return numbered_file_name("snap-", seq, ".fsnap"); }

std::uint64_t snapshot_seq_of(std::string_view name) noexcept { return numbered_file_seq(name, "snap-", ".fsnap"); }

void encode_snapshot_header(const SnapshotHeader& h, char out[kSnapshotHeader]) noexcept {
  std::memcpy(out, kSnapshotMagic.data(), 8);
  put<std::uint32_t>(out + 8, kSnapshotVersion);
  put<std::uint64_t>(out + 16, h.seq);
  put<std::uint64_t>(out + 24, h.created_unix_ms);
  put<std::uint32_t>(out + 12, header_crc(out));
}

const char* decode_snapshot_header(std::string_view in, SnapshotHeader* h) noexcept {
  if (in.size() < kSnapshotHeader) return "shorter than a snapshot header (32 bytes)";
  if (in.substr(0, 8) != kSnapshotMagic) return "not a Ferrite snapshot (bad magic)";
  if (get<std::uint32_t>(in.data() + 12) != header_crc(in.data())) return "snapshot header checksum mismatch";
  if (get<std::uint32_t>(in.data() + 8) != kSnapshotVersion) return "unsupported snapshot format version";
  h->seq = get<std::uint64_t>(in.data() + 16);
  h->created_unix_ms = get<std::uint64_t>(in.data() + 24);
  return "";
}

void encode_block_header(const BlockHeader& b, char out[kBlockHeader]) noexcept {
  std::memset(out, 0, kBlockHeader);
  put<std::uint8_t>(out + 4, static_cast<std::uint8_t>(b.kind));
  put<std::uint32_t>(out + 8, b.raw_len);
  put<std::uint32_t>(out + 12, b.comp_len);
  put<std::uint32_t>(out + 16, b.records);
  put<std::uint32_t>(out + 20, b.data_crc);
  put<std::uint32_t>(out, crc32c(out + 4, kBlockHeader - 4));
}

const char* decode_block_header(std::string_view in, BlockHeader* b) noexcept {
  if (in.size() < kBlockHeader) return "block header cut short";
  const char* p = in.data();
  if (get<std::uint32_t>(p) != crc32c(p + 4, kBlockHeader - 4)) return "block header checksum mismatch";
  const auto kind = get<std::uint8_t>(p + 4);
  if (kind != static_cast<std::uint8_t>(BlockKind::kBase) && kind != static_cast<std::uint8_t>(BlockKind::kTail)) {
    return "unknown block kind";
  }
  if (!all_zero(p + 5, 3) || !all_zero(p + 24, 8)) return "block header reserved bytes are not 0";
  BlockHeader r;
  r.kind = static_cast<BlockKind>(kind);
  r.raw_len = get<std::uint32_t>(p + 8);
  r.comp_len = get<std::uint32_t>(p + 12);
  r.records = get<std::uint32_t>(p + 16);
  r.data_crc = get<std::uint32_t>(p + 20);
  if (r.records == 0 || r.raw_len == 0 || r.comp_len == 0) return "empty block";
  if (r.raw_len > kMaxBlockRaw) return "block larger than the format allows";
  *b = r;
  return "";
}

void encode_snapshot_footer(const SnapshotFooter& f, char out[kSnapshotFooter]) noexcept {
  std::memcpy(out, kSnapshotEndMagic.data(), 8);
  put<std::uint32_t>(out + 12, f.chain_crc);
  put<std::uint64_t>(out + 16, f.blocks);
  put<std::uint64_t>(out + 24, f.base_records);
  put<std::uint64_t>(out + 32, f.tail_records);
  put<std::uint32_t>(out + 8, crc32c(out + 12, kSnapshotFooter - 12));
}

const char* decode_snapshot_footer(std::string_view in, SnapshotFooter* f) noexcept {
  if (in.size() < kSnapshotFooter) return "shorter than a snapshot footer (40 bytes)";
  const char* p = in.data();
  if (in.substr(0, 8) != kSnapshotEndMagic) return "no snapshot footer (a truncated or unfinished file)";
  if (get<std::uint32_t>(p + 8) != crc32c(p + 12, kSnapshotFooter - 12)) return "snapshot footer checksum mismatch";
  f->chain_crc = get<std::uint32_t>(p + 12);
  f->blocks = get<std::uint64_t>(p + 16);
  f->base_records = get<std::uint64_t>(p + 24);
  f->tail_records = get<std::uint64_t>(p + 32);
  return "";
}

}  // namespace ferrite::persist
