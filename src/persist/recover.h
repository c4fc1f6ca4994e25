// Recovery: a persistence folder loaded into the store at start-up. The folder is verified first
// (persist/folder.h: a torn tail of the last segment is cut with a warning, any other fault
// refuses unless the operator's override is set); then the snapshot (through the caller's hook:
// the snapshot format is not known here), then the segments in order, applied by N threads at
// once. Thread i applies only the records whose key hash % N == i, so the records of one key are
// applied in their order. A flush record means that everything before it is gone: the last flush
// that is due is found first and only what follows it is applied (the snapshot too is skipped
// then). Items whose deadline passed while the daemon was down are not loaded.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "persist/folder.h"
#include "persist/record.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::persist {

enum class ApplyResult : std::uint8_t {
  kApplied,  // the store holds what the record says (a delete or touch of a key not there counts too)
  kExpired,  // kSet/kTouch whose deadline passed: the key is removed instead
  kRefused,  // the store refused the value (no memory, too large for its limits)
};

// Maps one record onto the store through a worker's context: kSet stores the value with its
// flags, type and deadline (clock_store.from_unix_ms), kDelete deletes, kTouch sets the deadline.
// A kSet or kTouch whose deadline is at or before now_unix_ms removes the key instead (a later
// record of the key must not leave an older value behind). kFlush is the loader's (recover_folder
// cuts at the last one): here it is kApplied and does nothing.
ApplyResult apply_record(store::PartitionedContext& ctx, const store::Store& clock_store, const Record& r,
                         std::uint64_t now_unix_ms) noexcept;

// The snapshot's loader (the snapshot format's reader provides it): loads `path` into the store,
// "" or what went wrong (file and offset).
using SnapshotLoad = std::function<std::string(const std::string& path, store::Partitions& parts)>;
// Progress: segment bytes applied so far and the total (called from the calling thread).
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct RecoverOptions {
  unsigned threads = 1;            // applying threads, each attaching its own PartitionedContext
  bool truncate_torn_tail = true;  // cut a torn tail of the last segment (with a warning)
  bool load_up_to_damage = false;  // the operator's override (FolderVerifyOptions::load_up_to_damage)
  SnapshotCheck check_snapshot;    // passed to verify_folder
  SnapshotLoad load_snapshot;      // required when the manifest names a snapshot that must be loaded
  std::uint64_t now_unix_ms = 0;   // 0: the wall clock at the start
};

struct RecoverResult {
  std::string error;   // "" = loaded; else the first fault, "<file>: offset N: <reason>"
  bool empty = false;  // no MANIFEST and no segment: nothing to load
  std::uint64_t records_applied = 0;
  std::uint64_t records_expired = 0;       // kSet/kTouch whose deadline had passed
  std::uint64_t records_refused = 0;       // the store refused the value (ApplyResult::kRefused)
  std::uint64_t records_before_flush = 0;  // skipped: before the last due flush
  std::uint64_t bytes = 0;                 // segment bytes read
  bool snapshot_loaded = false;
  bool snapshot_skipped_by_flush = false;
  bool torn_tail_cut = false;
  std::uint64_t torn_bytes = 0;
  std::uint64_t lost_bytes = 0;       // under the override: bytes after the first fault
  std::vector<std::string> warnings;  // torn tail cut, override used, ...
  double seconds = 0;
};

// Loads `dir` into `parts`. The threads attach a PartitionedContext each (thread i's home is
// partition i % parts.count()), so the stores must have `options.threads` contexts free besides
// those already attached. No observer is set on these contexts: recovered records are not
// written to the AOF again.
RecoverResult recover_folder(const std::string& dir, const RecoverOptions& options, store::Partitions& parts,
                             const ProgressFn& progress = {});

}  // namespace ferrite::persist
