// The persistence record: one mutation of the store (a value stored, a key removed, a deadline
// changed, a flush), as the append-only file and a snapshot's tail write it. Pure functions over
// buffers: no I/O, no store. docs/persistence.md gives the format byte by byte.
//
//   offset size  field
//   0      4     crc     CRC32C of bytes 4 .. 8+len (the length, the type and the body)
//   4      4     len     bytes after this 8-byte header: 1 (the type) + the body; <= kMaxBody
//   8      1     type    RecordType
//   9      ...   body    by type, all integers little-endian:
//
//   kSet     u8 item type (0 string, 1 hash), u8 0, u16 key length, u32 flags, u64 version,
//            u64 deadline (Unix ms, 0 = never), u32 value length, the key, the value
//   kDelete  u64 version (of the item removed; 0: the key, whatever its version), u16 key
//            length, the key
//   kTouch   u64 version (of the item touched), u64 deadline (Unix ms, 0 = never), u16 key
//            length, the key
//   kFlush   u64 at (Unix ms: items stored before it are gone from then on; = now for a plain
//            flush)
//
// Records are self-delimiting and checksummed one by one, so a reader can tell a record cut
// short by a crash (the last one in a file: fewer bytes than its header announces) from damage
// (a checksum that does not match, an impossible length or type, anywhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite::persist {

enum class RecordType : std::uint8_t { kSet = 1, kDelete = 2, kTouch = 3, kFlush = 4 };

inline constexpr std::size_t kRecordHeader = 8;           // crc + len
inline constexpr std::size_t kSetFixed = 1 + 1 + 1 + 2 + 4 + 8 + 8 + 4;  // type + kSet's fixed body
inline constexpr std::size_t kMaxKey = 65535;
// A value up to 512 MiB (Redis's proto-max-bulk-len ceiling) plus the largest key and fields.
inline constexpr std::uint32_t kMaxBody = (512u << 20) + 65536u + 64u;

// One decoded record; the views point into the buffer it was decoded from.
struct Record {
  RecordType type = RecordType::kSet;
  std::uint8_t item_type = 0;     // kSet: store::ItemType
  std::uint32_t flags = 0;        // kSet
  std::uint64_t version = 0;      // kSet, kDelete, kTouch
  std::uint64_t deadline_ms = 0;  // kSet, kTouch: Unix ms, 0 = never; kFlush: its `at`
  std::string_view key;           // kSet, kDelete, kTouch
  std::string_view value;         // kSet
};

// Bytes the encoding of each record takes (header included).
inline std::size_t set_record_size(std::size_t key_len, std::size_t value_len) noexcept {
  return kRecordHeader + kSetFixed + key_len + value_len;
}
inline std::size_t delete_record_size(std::size_t key_len) noexcept { return kRecordHeader + 1 + 8 + 2 + key_len; }
inline std::size_t touch_record_size(std::size_t key_len) noexcept { return kRecordHeader + 1 + 8 + 8 + 2 + key_len; }
inline constexpr std::size_t kFlushRecordSize = kRecordHeader + 1 + 8;
// The encoded size of `r` (by its type).
std::size_t record_size(const Record& r) noexcept;

// Writes `r` at `out` (record_size(r) bytes, the caller's to provide) and returns the bytes
// written. The key must be 1..kMaxKey bytes (kSet, kDelete, kTouch) and the body at most
// kMaxBody: the caller checks (the store refuses longer keys and values long before).
std::size_t encode(const Record& r, char* out) noexcept;

// The encoding of a kSet record in two steps, for a value that is copied (or written) apart from
// the rest: encode_set_head() writes everything up to the value (set_record_size(k, v) - v bytes)
// and returns the CRC so far; the caller appends the value and calls finish_set() with the CRC
// extended over the value, which patches the header.
std::size_t encode_set_head(const Record& r, char* out, std::uint32_t* crc_so_far) noexcept;
void finish_set(char* record_start, std::uint32_t crc_with_value) noexcept;

enum class DecodeStatus : std::uint8_t {
  kOk,         // *rec and *used are set
  kShort,      // fewer bytes than a whole record: at the end of the last file, a torn tail
  kBadLength,  // len is 0 or over kMaxBody, the body's own lengths do not add up, or a reserved
               // byte is not 0
  kBadCrc,     // the checksum does not match
  kBadType,    // a type this version does not know
};
const char* decode_status_name(DecodeStatus s) noexcept;

// Decodes the record at the start of `in`. A header whose len is 0 or over kMaxBody is
// kBadLength at once; otherwise kShort while the bytes are not all there (the checksum is not
// looked at), and the other answers only for a record whose bytes are all there.
DecodeStatus decode(std::string_view in, Record* rec, std::size_t* used) noexcept;

}  // namespace ferrite::persist
