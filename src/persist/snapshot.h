// Fork-less snapshots (docs/persistence.md, "Snapshots"): a fuzzy base written while the
// workers keep serving, plus a redo tail of the mutations made meanwhile; base + tail replayed
// = the store at the moment the tail was closed. Written on a thread of its own (ordinary
// blocking I/O there), loaded by N threads, verified without a store.
//
//   // the snapshot thread (one free store context per partition):
//   SnapshotTail tail(parts.at(0), parts.count());   // its observer(p) fed by every context
//   SnapshotResult r = write_snapshot(parts, &tail, dir, seq);
//   // start-up:
//   LoadResult l = load_snapshot(dir + "/" + snapshot_file_name(seq), parts, {.threads = 4});
//
// The file format is in persist/snapshot_format.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "persist/record.h"
#include "persist/snapshot_tail.h"
#include "store/partitions.h"

namespace ferrite::persist {

struct SnapshotOptions {
  int level = 1;                                // zstd level of base blocks (1..19; negative: faster)
  int tail_level = 1;                           // of tail blocks: the tail must keep up with the writers
  std::size_t block_bytes = std::size_t{1} << 20;  // raw bytes a block is filled to (4 KiB..64 MiB)
  bool sync = true;                             // fsync the file and the folder
  // Called on the snapshot thread once the walk is over, just before the tail is closed (the
  // snapshot's moment): tests stop their writers there; a caller may note its own position.
  void (*on_walked)(void* arg) = nullptr;
  void* on_walked_arg = nullptr;
};

struct SnapshotResult {
  std::string error;  // "" when the snapshot is written; else what failed (the file is removed)
  std::string path;   // dir/snap-<seq>.fsnap
  std::uint64_t created_unix_ms = 0;
  std::uint64_t items = 0;         // base records
  std::uint64_t tail_records = 0;  // mutations captured while the base was written
  std::uint64_t blocks = 0;
  std::uint64_t raw_bytes = 0;   // records before compression
  std::uint64_t file_bytes = 0;  // the file's size
  double seconds = 0;
};

// Writes dir/snap-<seq>.fsnap (as .tmp, fsync, rename, fsync of the folder) on the calling
// thread, which attaches one context to every partition for the walk. `tail`: the tail the
// workers' observers feed (it is opened before the walk and closed after it), or nullptr when
// the caller keeps the mutations itself (an AOF whose position was taken before the call): the
// file is then a fuzzy base alone.
SnapshotResult write_snapshot(store::Partitions& parts, SnapshotTail* tail, const std::string& dir,
                              std::uint64_t seq, const SnapshotOptions& options = {});

struct LoadOptions {
  unsigned threads = 1;         // base blocks are loaded in parallel; the tail in order after them
  std::uint64_t now_unix_ms = 0;  // items whose deadline is at or before it are skipped (0: now)
};

struct LoadResult {
  std::string error;  // "" when loaded; else the file, the offset and the reason (the store then
                      // holds part of the snapshot and must not serve: start over or refuse)
  std::uint64_t error_offset = 0;
  std::uint64_t seq = 0;
  std::uint64_t created_unix_ms = 0;
  std::uint64_t loaded = 0;    // base items stored
  std::uint64_t expired = 0;   // base items skipped, their deadline passed
  std::uint64_t refused = 0;   // sets the store refused (no memory, too large for its limits)
  std::uint64_t tail_applied = 0;
  std::uint64_t tail_skipped = 0;  // stale (another version) or expired
  std::uint64_t evicted = 0;  // items the store evicted while loading (full or too small): lost
  double seconds = 0;
};

// Verifies and loads a snapshot into `parts` (fresh, or holding what the snapshot replaces):
// the calling thread plus threads-1 others each attach one context to every partition.
LoadResult load_snapshot(const std::string& path, store::Partitions& parts, const LoadOptions& options = {});

struct VerifyResult {
  bool ok = false;
  std::uint64_t offset = 0;  // the first bad byte's offset (a block's start when inside one)
  std::string reason;        // "" when ok
  std::uint64_t seq = 0;
  std::uint64_t created_unix_ms = 0;
  std::uint64_t blocks = 0;
  std::uint64_t base_records = 0;
  std::uint64_t tail_records = 0;
};

// Checks a whole snapshot without a store: header, every block (checksums, decompression,
// every record), footer. The hook `ferritectl verify` calls for snap-*.fsnap files.
VerifyResult verify_snapshot(const std::string& path);
// The same as the folder verifier's snapshot hook wants it: "" when good, else the file, the
// offset and the reason (persist/folder.h's SnapshotCheck).
std::string check_snapshot_file(const std::string& path);
// load_snapshot() as recovery's snapshot hook wants it (persist/recover.h's SnapshotLoad): ""
// or the error; one loading thread per core (at most 8); evictions while loading are an error
// (items lost).
std::string load_snapshot_file(const std::string& path, store::Partitions& parts);
// The same over bytes in memory (the fuzz target).
VerifyResult verify_snapshot_bytes(std::string_view file);

// --- applying records to a store ------------------------------------------------------------

enum class ApplyOutcome : std::uint8_t {
  kApplied,
  kExpired,  // a set or touch whose deadline passed: the key is removed instead
  kStale,    // a delete or touch of another version than the key now holds (tail order)
  kRefused,  // the store refused the set (no memory, too large for its limits)
};

// Applies one decoded record to a store, as it is (no version check): kSet stores (or removes
// the key when the deadline is at or before now_unix_ms), kDelete removes, kTouch changes the
// deadline, kFlush flushes every partition: persist/recover.h's apply_record, but for the flush
// (which the append-only file's recovery leaves to its loader).
ApplyOutcome apply_snapshot_record(store::PartitionedContext& ctx, const store::Partitions& parts, const Record& r,
                          std::uint64_t now_unix_ms) noexcept;

// Applies a snapshot's tail in capture order, after its base: remembers the version each key
// was last stored with, so that a delete or touch reported after a later store of the key (the
// store reports removals and touches after unlocking) applies only to the version it names.
class TailApplier {
 public:
  TailApplier(store::PartitionedContext& ctx, const store::Partitions& parts, std::uint64_t now_unix_ms)
      : ctx_(ctx), parts_(parts), now_unix_ms_(now_unix_ms) {}
  ApplyOutcome apply(const Record& r);

 private:
  store::PartitionedContext& ctx_;
  const store::Partitions& parts_;
  std::uint64_t now_unix_ms_;
  std::unordered_map<std::string, std::uint64_t> version_;  // key -> version stored (0: none)
  bool flushed_ = false;  // a flush was applied: a key not in version_ holds nothing
};

}  // namespace ferrite::persist
