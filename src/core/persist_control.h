// The daemon's snapshots as the protocols and the management plane ask for them (RESP SAVE,
// BGSAVE, BGREWRITEAOF, LASTSAVE, INFO persistence; ferritectl save), without knowing how they
// are taken: src/persist's Snapshotter implements it. Not on the hot path: calls may take a lock,
// and save() blocks its caller until the snapshot is written.
#pragma once

#include <cstdint>
#include <string>

namespace ferrite {

struct SaveStatus {
  bool snapshots = false;           // persist.mode is snapshot or both: scheduled snapshots, one at shutdown
  bool aof = false;                 // persist.mode is aof or both: a snapshot is the AOF's rewrite
  bool in_progress = false;         // a snapshot (or rewrite) is being written now
  bool rewrite_scheduled = false;   // BGREWRITEAOF asked while a snapshot ran: it follows it
  std::uint64_t last_save_unix_ms = 0;    // the last successful one's moment (the daemon's start before any)
  bool last_ok = true;                    // the last attempt succeeded (or none was made)
  std::string last_error;                 // why the last attempt failed ("" when it did not)
  std::uint64_t last_duration_ms = 0;     // of the last successful one
  std::uint64_t last_bytes = 0;           // its file's size
  std::uint64_t last_items = 0;           // base records it holds
  std::uint64_t current_started_unix_ms = 0;  // the one under way (0: none)
  std::uint64_t saves = 0;                // snapshots written since start
  std::uint64_t failures = 0;             // attempts that failed since start
  std::uint64_t changes_since_save = 0;   // mutations since the last successful one began
  // The export to persist.cold_dir (none when it is empty).
  std::uint64_t exports = 0;               // archives written since start
  std::uint64_t export_failures = 0;
  std::uint64_t last_export_unix_ms = 0;   // the newest archive there (0: none)
  std::string last_export_error;           // "" when the last attempt succeeded (or none was made)
};

class PersistControl {
 public:
  virtual ~PersistControl() = default;
  // Starts a snapshot in the background (BGSAVE; with the append-only file it is also its rewrite).
  // "" when one was started; else why not ("a snapshot is already in progress", "persistence is
  // off").
  virtual std::string start_save() = 0;
  // BGREWRITEAOF: starts the rewrite, or schedules it after the snapshot under way (*scheduled).
  // "" or why not (no append-only file).
  virtual std::string start_rewrite(bool* scheduled) = 0;
  // SAVE: takes a snapshot begun after this call (waiting for one under way to end first) and
  // returns once it is written: "" or what failed. Blocks the calling thread.
  virtual std::string save() = 0;
  virtual SaveStatus status() const = 0;
};

}  // namespace ferrite
