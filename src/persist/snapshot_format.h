// The snapshot file, version 1 (docs/persistence.md, "Snapshots"): a header, independent
// zstd-compressed blocks of records (persist/record.h), and a footer that seals the whole file.
// Pure functions over buffers: no I/O, no store.
//
//   file    header (32) | block* | footer (40)
//
//   header  offset size  field
//           0      8     magic    "FRTSNP1\n"
//           8      4     version  1
//           12     4     crc      CRC32C of bytes 0..11 and 16..31
//           16     8     seq      the snapshot's number (also in its name)
//           24     8     created  Unix ms
//
//   block   offset size  field
//           0      4     hcrc     CRC32C of bytes 4..31 of this block header
//           4      1     kind     1 base (kSet records), 2 tail (u64 sequence + record, any type)
//           5      3     reserved 0
//           8      4     raw      bytes of the decompressed content
//           12     4     comp     bytes of the zstd frame that follows the header
//           16     4     records  records in the block (> 0)
//           20     4     dcrc     CRC32C of the comp bytes
//           24     8     reserved 0
//           32     comp  data     one zstd frame
//
//   footer  offset size  field
//           0      8     magic    "FRTSNPE\n"
//           8      4     fcrc     CRC32C of bytes 12..39
//           12     4     chain    CRC32C of every block header (32 bytes each), in file order
//           16     8     blocks
//           24     8     base     records in base blocks
//           32     8     tail     records in tail blocks
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferrite::persist {

inline constexpr std::size_t kSnapshotHeader = 32;
inline constexpr std::size_t kBlockHeader = 32;
inline constexpr std::size_t kSnapshotFooter = 40;
inline constexpr std::string_view kSnapshotMagic{"FRTSNP1\n", 8};
inline constexpr std::string_view kSnapshotEndMagic{"FRTSNPE\n", 8};
inline constexpr std::uint32_t kSnapshotVersion = 1;
// A tail entry: the record's capture sequence, then the record.
inline constexpr std::size_t kTailSeq = 8;
// The largest decompressed block a reader accepts: the largest record (a 512 MiB value) plus
// the 1 MiB a block is filled to before it is cut.
inline constexpr std::uint32_t kMaxBlockRaw = (513u << 20) + (1u << 20);

enum class BlockKind : std::uint8_t { kBase = 1, kTail = 2 };

struct SnapshotHeader {
  std::uint64_t seq = 0;
  std::uint64_t created_unix_ms = 0;
};

struct BlockHeader {
  BlockKind kind = BlockKind::kBase;
  std::uint32_t raw_len = 0;
  std::uint32_t comp_len = 0;
  std::uint32_t records = 0;
  std::uint32_t data_crc = 0;
};

struct SnapshotFooter {
  std::uint32_t chain_crc = 0;
  std::uint64_t blocks = 0;
  std::uint64_t base_records = 0;
  std::uint64_t tail_records = 0;
};

// "snap-0000000042.fsnap" (ten digits; longer numbers take more).
std::string snapshot_file_name(std::uint64_t seq);
// The number in a snapshot's file name, or 0 when `name` is not one (only the canonical
// spelling counts).
std::uint64_t snapshot_seq_of(std::string_view name) noexcept;

void encode_snapshot_header(const SnapshotHeader& h, char out[kSnapshotHeader]) noexcept;
void encode_block_header(const BlockHeader& b, char out[kBlockHeader]) noexcept;
void encode_snapshot_footer(const SnapshotFooter& f, char out[kSnapshotFooter]) noexcept;

// Each returns "" when the bytes are good, else what is wrong with them (a static string).
const char* decode_snapshot_header(std::string_view in, SnapshotHeader* h) noexcept;
const char* decode_block_header(std::string_view in, BlockHeader* b) noexcept;
const char* decode_snapshot_footer(std::string_view in, SnapshotFooter* f) noexcept;

}  // namespace ferrite::persist
