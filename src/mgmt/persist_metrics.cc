#include "mgmt/persist_metrics.h"

#include <charconv>
#include <cstdint>
#include <cstring>

namespace ferrite::mgmt {

namespace {

std::int64_t i64(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v); }

}  // namespace

void write_aof_metrics(const persist::AofStats& s, engine::PromWriter& w) {
  w.scalar("ferrite_aof_bytes_written_total", "counter",
           "Bytes written to the append-only file's segments (records and segment headers).", i64(s.bytes_written));
  w.scalar("ferrite_aof_records_total", "counter", "Records written to the append-only file.", i64(s.records));
  w.scalar("ferrite_aof_ring_drops_total", "counter",
           "Records dropped because a worker's ring was full (fsync everysec or no): the file is incomplete.",
           i64(s.ring_drops));
  w.scalar("ferrite_aof_ring_tombstones_total", "counter",
           "Stores and touches written as a delete of their key because a worker's ring was full (fsync "
           "everysec or no): after a restart those keys are missing, never older values.",
           i64(s.ring_tombstones));
  w.scalar("ferrite_aof_slow_path_total", "counter",
           "Records handed to the writer on the heap: larger than a quarter of the ring, or a full ring under "
           "fsync always.",
           i64(s.slow_path));
  w.scalar("ferrite_aof_failures_total", "counter",
           "Failed writes, fsyncs and segment creations of the append-only file (each retried).", i64(s.failures));
  w.scalar("ferrite_aof_failing", "gauge", "1 while the last write or fsync failed and none succeeded since.",
           s.failed ? 1 : 0);
  w.scalar("ferrite_aof_incomplete", "gauge",
           "1 once a record was dropped or an fsync failed under everysec: the next rewrite or snapshot repairs it.",
           s.incomplete ? 1 : 0);
  w.scalar("ferrite_aof_segment", "gauge", "The number of the segment being written.", i64(s.segment));
  w.scalar("ferrite_aof_segment_bytes", "gauge", "The size of the segment being written.", i64(s.segment_bytes));
  w.scalar("ferrite_aof_rotations_total", "counter", "Segments started after the first.", i64(s.rotations));

  w.family("ferrite_aof_fsync_duration_seconds", "histogram", "Time each fdatasync of the append-only file took.");
  std::int64_t cumulative = 0;
  for (std::size_t b = 0; b < persist::kFsyncBuckets; ++b) {
    cumulative += i64(s.fsync_buckets[b]);
    char le[32];
    std::size_t len = 4;
    if (b + 1 == persist::kFsyncBuckets) {
      std::memcpy(le, "+Inf", 4);
    } else {
      const auto r = std::to_chars(le, le + sizeof le, static_cast<double>(persist::kFsyncBucketsUs[b]) / 1e6);
      len = static_cast<std::size_t>(r.ptr - le);
    }
    w.sample("ferrite_aof_fsync_duration_seconds_bucket", {{"le", {le, len}}}, cumulative);
  }
  w.sample("ferrite_aof_fsync_duration_seconds_sum", {}, static_cast<double>(s.fsync_us_sum) / 1e6);
  w.sample("ferrite_aof_fsync_duration_seconds_count", {}, i64(s.fsyncs));
}

void write_snapshot_metrics(const SaveStatus& s, bool loading, std::uint32_t loading_permille,
                            engine::PromWriter& w) {
  w.scalar("ferrite_loading", "gauge", "1 while the persistence folder is loaded at start.", loading ? 1 : 0);
  w.family("ferrite_loading_progress_ratio", "gauge", "How much of the folder's segments the load applied (0 to 1).");
  w.sample("ferrite_loading_progress_ratio", {}, static_cast<double>(loading_permille) / 1000.0);
  w.scalar("ferrite_snapshots_total", "counter", "Snapshots (and append-only file rewrites) written since start.",
           i64(s.saves));
  w.scalar("ferrite_snapshot_failures_total", "counter", "Snapshot attempts that failed since start.",
           i64(s.failures));
  w.scalar("ferrite_snapshot_in_progress", "gauge", "1 while a snapshot is being written.", s.in_progress ? 1 : 0);
  w.scalar("ferrite_snapshot_last_ok", "gauge", "1 when the last snapshot attempt succeeded (or none was made).",
           s.last_ok ? 1 : 0);
  w.family("ferrite_snapshot_last_timestamp_seconds", "gauge",
           "Unix time of the last successful snapshot (the daemon's start before any).");
  w.sample("ferrite_snapshot_last_timestamp_seconds", {}, static_cast<double>(s.last_save_unix_ms) / 1000.0);
  w.family("ferrite_snapshot_last_duration_seconds", "gauge", "How long the last successful snapshot took.");
  w.sample("ferrite_snapshot_last_duration_seconds", {}, static_cast<double>(s.last_duration_ms) / 1000.0);
  w.scalar("ferrite_snapshot_last_bytes", "gauge", "The last successful snapshot's file size.", i64(s.last_bytes));
  w.scalar("ferrite_snapshot_last_items", "gauge", "Items in the last successful snapshot's base.", i64(s.last_items));
  w.scalar("ferrite_snapshot_changes_since", "gauge", "Mutations since the last successful snapshot began.",
           i64(s.changes_since_save));
  w.scalar("ferrite_cold_exports_total", "counter", "Archives exported to persist.cold_dir since start.",
           i64(s.exports));
  w.scalar("ferrite_cold_export_failures_total", "counter", "Exports to persist.cold_dir that failed since start.",
           i64(s.export_failures));
  w.family("ferrite_cold_export_last_timestamp_seconds", "gauge",
           "Unix time of the newest archive in persist.cold_dir (0: none).");
  w.sample("ferrite_cold_export_last_timestamp_seconds", {}, static_cast<double>(s.last_export_unix_ms) / 1000.0);
}

}  // namespace ferrite::mgmt
