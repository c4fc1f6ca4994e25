// The daemon's snapshots (docs/persistence.md, "Snapshots in the daemon"): one thread that takes
// them when asked (SAVE, BGSAVE, BGREWRITEAOF, ferritectl save), on schedule (persist.
// snapshot_interval / snapshot_changes with mode snapshot or both; the append-only file's growth
// with aof or both), and once more at a graceful shutdown, then makes each one the folder's base.
//
// With the append-only file (mode aof or both) a snapshot is the AOF's rewrite, never a fork:
// the writer starts a new segment, a fuzzy base is written while the workers serve, the manifest
// names the base and the segments from the new one on (AofWriter::set_base), and the files it
// no longer names are removed. Loading base + segments gives every key its last state.
//
// Without it (mode snapshot) the workers' observers feed a SnapshotTail; the file is base + tail,
// the store at the moment the tail closed, and the manifest names it alone.
//
//   persist::Snapshotter snap(options, parts, aof, tail);   // aof or tail may be null, not both
//   snap.start();                 // after recovery: the folder's state, then the thread
//   ... snap.save(); snap.start_save(); snap.status() ...   // any thread (core/persist_control.h)
//   snap.stop(/*final_snapshot=*/true);                      // after the workers stopped
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/persist_control.h"
#include "persist/aof.h"
#include "persist/snapshot.h"
#include "persist/snapshot_tail.h"
#include "store/partitions.h"

namespace ferrite::persist {

struct SnapshotterOptions {
  std::string dir;               // the persistence folder
  bool scheduled = false;        // mode snapshot or both: the schedule below and a final snapshot
  std::uint64_t interval_ms = 0;   // persist.snapshot_interval (0: not on a timer)
  std::uint64_t changes = 0;       // persist.snapshot_changes (0: not by changes)
  unsigned rewrite_percent = 100;  // persist.aof_rewrite_percent (0: no automatic rewrite)
  std::uint64_t rewrite_min_bytes = std::uint64_t{64} << 20;  // persist.aof_rewrite_min_bytes
  std::uint64_t retry_ms = 5000;   // after a failed scheduled attempt, the next one waits this long
  // The export to cold storage: every cold_interval_ms, an archive of the folder (backup_folder:
  // the last base and the segments after it) in cold_dir/ferrite-<UTC time>/; the `retention`
  // newest ferrite-* archives there are kept, older ones removed. Empty cold_dir: none.
  std::string cold_dir;
  std::uint64_t cold_interval_ms = 86'400'000;
  unsigned retention = 7;
  std::uint64_t cold_retry_ms = 300'000;  // after a failed export
  std::uint64_t poll_ms = 100;     // how often the thread looks at its schedule
  SnapshotOptions snapshot;
  // Mutations made so far (the store's counters; changes_since_save is its growth). May be empty.
  std::function<std::uint64_t()> mutations;
  // One line of the daemon's log ("info", "warn"). May be empty.
  std::function<void(const char* level, const std::string& line)> log;
};

class Snapshotter final : public PersistControl {
 public:
  // `aof`: the append-only file (mode aof or both), else null; `tail`: the workers' tail
  // (mode snapshot), else null. The store needs one context free for the snapshot's walk.
  Snapshotter(const SnapshotterOptions& options, store::Partitions& parts, AofWriter* aof, SnapshotTail* tail);
  ~Snapshotter() override;
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  // Reads the folder's manifest (the next snapshot number, the AOF's size at its base), then
  // starts the thread. "" or what failed. The append-only file must be started already.
  std::string start();
  // Ends the thread (a snapshot under way is finished first), then, when `final_snapshot` and
  // the options say so (scheduled), takes one last snapshot on the calling thread: call it once
  // the workers stopped, before the append-only file stops. Idempotent.
  void stop(bool final_snapshot);

  // PersistControl.
  std::string start_save() override;
  std::string start_rewrite(bool* scheduled) override;
  std::string save() override;
  SaveStatus status() const override;

  // The append-only file's segments' bytes, as the rewrite schedule reads them (stat of each).
  std::uint64_t aof_bytes() const;

 private:
  // One snapshot, start to end (the thread, or stop()'s final one): "" or what failed.
  std::string take(const char* why);
  std::string take_with_aof(std::uint64_t seq, SnapshotResult* r);
  std::string take_with_tail(std::uint64_t seq, SnapshotResult* r);
  void run();
  // The export: due when the newest archive in cold_dir is cold_interval old (or there is none);
  // export_cold() writes one and applies the retention. On the thread, the lock not held.
  bool export_due(std::uint64_t now_unix_ms) const;
  void export_cold();
  bool due(std::uint64_t now_ms, const char** why);
  void say(const char* level, const std::string& line) const;
  std::uint64_t mutations() const { return options_.mutations ? options_.mutations() : 0; }

  SnapshotterOptions options_;
  store::Partitions& parts_;
  AofWriter* aof_;
  SnapshotTail* tail_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;        // the thread waits on it; save() waits on it too
  bool stopping_ = false;
  bool requested_ = false;            // BGSAVE/SAVE asked for one
  bool rewrite_pending_ = false;      // BGREWRITEAOF asked while one ran
  bool running_ = false;              // a snapshot is being taken
  std::uint64_t started_ = 0;         // attempts begun
  std::uint64_t finished_ = 0;        // attempts ended
  std::string last_attempt_error_;    // the last attempt's result
  SaveStatus status_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t base_aof_bytes_ = 0;  // the AOF's bytes just after the last rewrite (or at start)
  std::uint64_t last_attempt_ms_ = 0;  // monotonic: when the last scheduled or asked attempt began
  std::uint64_t retry_after_ms_ = 0;  // monotonic: no scheduled attempt before it (after a failure)
  std::uint64_t mutations_at_save_ = 0;  // mutations() when the last successful snapshot began
  std::thread thread_;
  bool started_thread_ = false;
  bool stopped_ = false;
  bool thread_done_ = false;    // the thread ended (it takes no more asked-for snapshots)
  bool final_pending_ = false;  // stop() is about to take the final snapshot
  std::uint64_t next_export_try_unix_ms_ = 0;  // after a failed export
};

}  // namespace ferrite::persist
