// Reading and verifying a persistence folder: the MANIFEST (persist/manifest.h), the snapshot it
// names and its AOF segments (persist/segment.h). Start-up and ferritectl only (ordinary,
// blocking file I/O): never from a worker.
//
// A segment is scanned record by record. It ends in one of three ways:
//   clean    the last record ends at the end of the file;
//   torn     the bytes after the last whole record are the beginning of one record (fewer bytes
//            than its header announces, and no whole record after them): what a crash in the
//            middle of a write leaves. Only the last segment may end so; it is cut (ftruncate +
//            fsync, as `redis-check-aof --fix`) when asked;
//   damaged  a bad header, a checksum that does not match, an impossible length or type, or a
//            torn record anywhere but at the end of the last segment.
// A folder is refused (with the file, the offset and the reason) on a bad manifest, a named file
// missing, a segment file the manifest does not name (newer than its first segment, or any when
// it names none: written but never recorded) that holds records (one of at most a header is
// ignored: made, not yet named, when the daemon stopped), or damage. The operator's override
// (`load_up_to_damage`) turns a refusal into a warning: everything before the first fault is
// usable, and the result says what is lost after it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "persist/manifest.h"
#include "persist/record.h"

namespace ferrite::persist {

enum class SegmentEnd : std::uint8_t { kClean, kTorn, kDamaged };
const char* segment_end_name(SegmentEnd e) noexcept;

// A flush record: items stored before it are gone.
struct FlushMark {
  std::uint64_t end = 0;      // offset just after the flush record
  std::uint64_t at_ms = 0;    // its `at` (Unix ms)
  std::uint64_t records = 0;  // good records of the segment up to it, itself included
};

struct SegmentScan {
  std::uint64_t seq = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t records = 0;  // whole, good records
  std::uint64_t good_end =
      0;  // offset after the last good record (kSegmentHeader at least, when the header is good)
  SegmentEnd end = SegmentEnd::kClean;
  std::string reason;  // kTorn/kDamaged: what is wrong at good_end
  std::vector<FlushMark> flushes;
};

// Called for each good record with its offset in the segment (the record's views point into the
// scanned bytes). May be empty.
using RecordFn = std::function<void(const Record& r, std::uint64_t offset)>;

// Scans a whole segment's bytes. `expected_seq` is the number in its name (the header must say
// the same). Pure: no I/O (the fuzz target's entry).
SegmentScan scan_segment_bytes(std::string_view data, std::uint64_t expected_seq, const RecordFn& fn = {});

// A file's bytes, read-only (mmap'd; an empty file maps nothing). error "" = ok.
class MappedFile {
 public:
  MappedFile() = default;
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  const std::string& error() const noexcept { return error_; }
  std::string_view bytes() const noexcept { return {data_, size_}; }

 private:
  void reset() noexcept;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  std::string error_;
};

// The check of the manifest's snapshot file, which the snapshot format's reader provides (the
// caller sets it; persist/folder does not know the format): "" when the file is good, else what
// is wrong, with the offset.
using SnapshotCheck = std::function<std::string(const std::string& path)>;

struct FolderVerifyOptions {
  // Cut a torn tail of the last segment (ftruncate + fsync).
  bool truncate_torn_tail = false;
  // The operator's override: accept a folder with faults; only what comes before the first
  // fault is usable (`FolderVerifyResult::segments`), the rest is reported as lost.
  bool load_up_to_damage = false;
  SnapshotCheck check_snapshot;  // empty: the snapshot's presence is checked, not its content
};

struct FolderVerifyResult {
  bool ok = false;         // usable (perhaps with warnings, perhaps under the override)
  std::string error;       // the first fault: "<file>: offset N: <reason>" ("" when none)
  std::string error_file;  // the file of the first fault
  std::uint64_t error_offset = 0;
  bool manifest_absent = false;  // no MANIFEST (and no segment file): an empty folder
  Manifest manifest;
  bool snapshot_usable = false;   // named, present (and accepted by check_snapshot if set)
  bool snapshot_checked = false;  // check_snapshot ran and accepted the snapshot
  // The usable segments, in the manifest's order: each is usable from its header to its
  // good_end (the end of its last good record). Under the override the list stops at the first
  // fault (the faulty segment included, up to the fault, when it could be scanned).
  std::vector<SegmentScan> segments;
  std::uint64_t records = 0;  // usable records
  std::uint64_t bytes = 0;    // usable segment bytes (headers included)
  // A torn tail of the last segment: where it starts and how many bytes it has.
  bool torn_tail = false;
  std::string torn_file;
  std::uint64_t torn_offset = 0, torn_bytes = 0;
  bool torn_cut = false;              // truncate_torn_tail cut it
  std::uint64_t lost_bytes = 0;       // under the override: segment bytes after the first fault
  std::vector<std::string> warnings;  // what was accepted but is worth saying
  std::vector<std::string> ignored;   // leftover segment files older than the manifest's first
};

FolderVerifyResult verify_folder(const std::string& dir, const FolderVerifyOptions& options = {});

}  // namespace ferrite::persist
