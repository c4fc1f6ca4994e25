// Loading the persistence folder at start (docs/persistence.md, "Recovery" and "In the worker"):
// the workers already answer every keyed request with their protocol's "loading" answer; this
// thread loads the folder with one applying thread per worker, logs its progress every 10%,
// publishes it (INFO persistence's loading_progress), then starts the append-only file and lets
// the workers serve. A folder recovery refuses (damage, a missing file, a manifest out of order)
// fails the daemon with the file and offset, unless persist.load_damaged = yes.
#include <sys/stat.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>

#include "persist/recover.h"
#include "persist/snapshot.h"
#include "server/daemon.h"

namespace ferrite::server {

void Daemon::recover_main() {
  const std::string& dir = spec_.persist_dir;
  log("info", "loading the persistence folder " + dir + " with " + std::to_string(spec_.workers) + " threads");
  persist::RecoverOptions ro;
  ro.threads = spec_.workers == 0 ? 1 : spec_.workers;
  ro.truncate_torn_tail = true;
  ro.load_up_to_damage = spec_.load_damaged;
  ro.check_snapshot = persist::check_snapshot_file;
  // The base snapshot loads before the segments (its own threads; its progress is not in the
  // segments' bytes): a line before and after it.
  ro.load_snapshot = [this](const std::string& path, store::Partitions& parts) {
    struct stat st {};
    const long long bytes = ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
    log("info", "loading the base snapshot " + path + " (" + std::to_string(bytes) + " bytes)");
    const auto t0 = std::chrono::steady_clock::now();
    std::string err = persist::load_snapshot_file(path, parts);
    if (err.empty()) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      char line[160];
      std::snprintf(line, sizeof line, "loaded the base snapshot in %.3f s (%.1f MB/s of file)", s,
                    s > 0 && bytes > 0 ? static_cast<double>(bytes) / s / 1e6 : 0.0);
      log("info", line);
    }
    return err;
  };
  int logged = 0;  // the last tenth logged
  const persist::ProgressFn progress = [&](std::uint64_t done, std::uint64_t total) {
    const std::uint64_t permille = total == 0 ? 1000 : done >= total ? 1000 : done * 1000 / total;
    shared_.loading_permille.store(static_cast<std::uint32_t>(permille), std::memory_order_relaxed);
    const int tenth = static_cast<int>(permille / 100);
    if (tenth > logged) {
      logged = tenth;
      char line[96];
      std::snprintf(line, sizeof line, "loading: %d%% (%" PRIu64 " of %" PRIu64 " bytes)", tenth * 10, done, total);
      log("info", line);
    }
  };
  const persist::RecoverResult r = persist::recover_folder(dir, ro, *store_, progress);
  for (const std::string& w : r.warnings) {
    std::string line = "loading " + dir;
    line += ": ";
    line += w;
    log("warn", line);
  }
  if (!r.error.empty()) {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (failure_.empty()) {
      failure_ = "refusing to start: the persistence folder " + dir + " is damaged: " + r.error +
                 " (check it with `ferritectl verify " + dir +
                 "`; persist.load_damaged = yes loads what comes before the fault)";
    }
    failed_.store(true);
    return;
  }
  char summary[192];
  std::snprintf(summary, sizeof summary,
                "loaded %" PRIu64 " records (%" PRIu64 " bytes) in %.3f s: %" PRIu64 " expired, %" PRIu64
                " refused by the store, %" PRIu64 " before the last flush",
                r.records_applied, r.bytes, r.seconds, r.records_expired, r.records_refused,
                r.records_before_flush);
  log("info", std::string(summary) + (r.snapshot_loaded ? ", after its base snapshot" : ""));
  // The append-only file goes on in a new segment, after the ones just loaded.
  if (aof_) {
    if (std::string err = aof_->start(); !err.empty()) {
      std::lock_guard<std::mutex> lock(failure_mutex_);
      if (failure_.empty()) failure_ = err;
      failed_.store(true);
      return;
    }
  }
  if (std::string err = start_snapshotter(); !err.empty()) {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (failure_.empty()) failure_ = err;
    failed_.store(true);
    return;
  }
  shared_.loading_permille.store(1000, std::memory_order_relaxed);
  shared_.loading.store(false);
}

}  // namespace ferrite::server
