// The daemon's snapshots: see persist/snapshotter.h and docs/persistence.md ("Snapshots in the
// daemon"). Everything here runs on the snapshot thread or an asking thread (a worker running
// SAVE, the management thread): ordinary blocking I/O and locks are fine.
#include "persist/snapshotter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include "persist/backup.h"
#include "persist/manifest.h"
#include "persist/segment.h"
#include "persist/snapshot_format.h"

namespace ferrite::persist {

namespace {

std::uint64_t mono_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

std::uint64_t file_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Removes a file the manifest no longer names; a failure is only worth a warning (the file is
// left behind, never loaded: the manifest does not name it).
std::string remove_file(const std::string& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return "";
  return path + ": " + std::strerror(errno);
}

}  // namespace

Snapshotter::Snapshotter(const SnapshotterOptions& options, store::Partitions& parts, AofWriter* aof,
                         SnapshotTail* tail)
    : options_(options), parts_(parts), aof_(aof), tail_(tail) {
  status_.snapshots = options_.scheduled;
  status_.aof = aof_ != nullptr;
  status_.last_save_unix_ms = wall_ms();  // as Redis's LASTSAVE before any save: the start
}

Snapshotter::~Snapshotter() { stop(false); }

void Snapshotter::say(const char* level, const std::string& line) const {
  if (options_.log) options_.log(level, line);
}

std::uint64_t Snapshotter::aof_bytes() const {
  const ManifestLoad m = load_manifest(options_.dir);
  std::uint64_t total = 0;
  for (const std::uint64_t s : m.manifest.segments) total += file_bytes(path_in(options_.dir, segment_file_name(s)));
  return total;
}

std::string Snapshotter::start() {
  if (aof_ == nullptr && tail_ == nullptr) return "snapshots: neither an append-only file nor a tail to take them with";
  if (::mkdir(options_.dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return options_.dir + ": cannot create the persistence folder: " + std::strerror(errno);
  }
  const ManifestLoad m = load_manifest(options_.dir);
  if (!m.error.empty()) return m.error;
  if (!m.manifest.snapshot.empty()) {
    const std::uint64_t seq = snapshot_seq_of(m.manifest.snapshot);
    if (seq >= next_seq_) next_seq_ = seq + 1;
    status_.last_bytes = file_bytes(path_in(options_.dir, m.manifest.snapshot));
  }
  base_aof_bytes_ = aof_ != nullptr ? aof_bytes() : 0;
  if (!options_.cold_dir.empty()) {
    // The newest archive already there (a restart does not export again before its time).
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(options_.cold_dir, ec)) {
      if (e.path().filename().string().rfind("ferrite-", 0) != 0) continue;
      struct stat st {};
      if (::stat(e.path().c_str(), &st) != 0) continue;
      const auto ms = static_cast<std::uint64_t>(st.st_mtim.tv_sec) * 1000 +
                      static_cast<std::uint64_t>(st.st_mtim.tv_nsec) / 1'000'000;
      if (ms > status_.last_export_unix_ms) status_.last_export_unix_ms = ms;
    }
  }
  mutations_at_save_ = mutations();
  last_attempt_ms_ = mono_ms();
  thread_ = std::thread([this] { run(); });
  started_thread_ = true;
  return "";
}

void Snapshotter::stop(bool final_snapshot) {
  const bool final = final_snapshot && started_thread_ && options_.scheduled;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_ = true;
    final_pending_ = final;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (final) {
    const std::string err = take("shutdown");
    if (!err.empty()) say("warn", "the final snapshot failed: " + err + " (the next start loads the folder as it is)");
  }
  // Anyone still waiting in save() hears that no snapshot will come.
  std::lock_guard<std::mutex> lock(mutex_);
  final_pending_ = false;
  thread_done_ = true;
  cv_.notify_all();
}

std::string Snapshotter::start_save() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return "the daemon is shutting down";
  if (running_ || requested_) return "Background save already in progress";
  requested_ = true;
  status_.in_progress = true;  // from the answer on: INFO's rdb_bgsave_in_progress
  cv_.notify_all();
  return "";
}

std::string Snapshotter::start_rewrite(bool* scheduled) {
  *scheduled = false;
  if (aof_ == nullptr) return "there is no append-only file to rewrite (persist.mode is \"snapshot\")";
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return "the daemon is shutting down";
  if (running_ || requested_) {
    rewrite_pending_ = true;  // after the one under way (Redis: "scheduled")
    status_.rewrite_scheduled = true;
    *scheduled = true;
    return "";
  }
  requested_ = true;
  status_.in_progress = true;
  cv_.notify_all();
  return "";
}

std::string Snapshotter::save() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return "the daemon is shutting down";
  // The next attempt to begin is ours (one under way began before this call).
  const std::uint64_t mine = started_ + 1;
  requested_ = true;
  status_.in_progress = true;
  cv_.notify_all();
  // Until ours ended, or the thread is gone without taking it (stop() takes a final one only
  // when scheduled, and that one counts: it began after this call).
  cv_.wait(lock, [&] { return finished_ >= mine || (thread_done_ && !running_ && !final_pending_); });
  if (finished_ < mine) return "the daemon is shutting down";
  return last_attempt_error_;
}

SaveStatus Snapshotter::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SaveStatus s = status_;
  const std::uint64_t now = mutations();
  s.changes_since_save = now > mutations_at_save_ ? now - mutations_at_save_ : 0;
  return s;
}

bool Snapshotter::due(std::uint64_t now_ms, const char** why) {
  if (requested_) {
    *why = "asked";
    return true;
  }
  if (rewrite_pending_) {
    *why = "BGREWRITEAOF";
    return true;
  }
  if (now_ms < retry_after_ms_) return false;
  if (options_.scheduled) {
    const std::uint64_t m = mutations();
    const std::uint64_t changed = m > mutations_at_save_ ? m - mutations_at_save_ : 0;
    if (options_.interval_ms > 0 && changed > 0 && now_ms - last_attempt_ms_ >= options_.interval_ms) {
      *why = "persist.snapshot_interval";
      return true;
    }
    if (options_.changes > 0 && changed >= options_.changes) {
      *why = "persist.snapshot_changes";
      return true;
    }
  }
  if (aof_ != nullptr && options_.rewrite_percent > 0) {
    const std::uint64_t bytes = aof_bytes();
    const std::uint64_t base = base_aof_bytes_;
    if (bytes >= options_.rewrite_min_bytes &&
        (base == 0 || (bytes - std::min(bytes, base)) * 100 >= base * options_.rewrite_percent)) {
      *why = "persist.aof_rewrite_percent";
      return true;
    }
  }
  return false;
}

bool Snapshotter::export_due(std::uint64_t now_unix_ms) const {
  if (options_.cold_dir.empty() || now_unix_ms < next_export_try_unix_ms_) return false;
  if (status_.last_export_unix_ms != 0 && now_unix_ms - status_.last_export_unix_ms < options_.cold_interval_ms) {
    return false;
  }
  // Nothing to export before the folder has a manifest (a first snapshot, or the AOF started).
  return ::access(path_in(options_.dir, kManifestName).c_str(), F_OK) == 0;
}

void Snapshotter::export_cold() {
  namespace fs = std::filesystem;
  const std::uint64_t now = wall_ms();
  char stamp[32];
  const std::time_t t = static_cast<std::time_t>(now / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  const std::string dest = options_.cold_dir + "/ferrite-" + stamp;
  std::error_code ec;
  fs::create_directories(options_.cold_dir, ec);
  std::string err = ec ? options_.cold_dir + ": cannot create the folder: " + ec.message() : "";
  BackupResult br;
  if (err.empty()) err = backup_folder(options_.dir, dest, &br);
  std::vector<std::string> removed;
  if (err.empty()) {
    // Retention: the newest `retention` archives stay (their names sort by time).
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(options_.cold_dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("ferrite-", 0) == 0 && e.is_directory(ec)) names.push_back(name);
    }
    std::sort(names.begin(), names.end(), std::greater<>());
    for (std::size_t i = std::max<std::size_t>(1, options_.retention); i < names.size(); ++i) {
      fs::remove_all(options_.cold_dir + "/" + names[i], ec);
      if (ec) {
        say("warn", "cold storage: cannot remove the old archive " + options_.cold_dir + "/" + names[i] + ": " +
                        ec.message());
      } else {
        removed.push_back(names[i]);
      }
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  status_.last_export_error = err;
  if (err.empty()) {
    ++status_.exports;
    status_.last_export_unix_ms = now;
    next_export_try_unix_ms_ = 0;
    say("info", "exported the persistence folder to " + dest + " (" + std::to_string(br.files) + " files, " +
                    std::to_string(br.bytes) + " bytes)" +
                    (removed.empty() ? "" : "; removed " + std::to_string(removed.size()) + " older archive(s)"));
  } else {
    ++status_.export_failures;
    next_export_try_unix_ms_ = now + options_.cold_retry_ms;
    say("warn", "cold storage export failed: " + err);
  }
}

void Snapshotter::run() {
  pthread_setname_np(pthread_self(), "ferrite-snap");
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    const char* why = nullptr;
    while (!stopping_ && !due(mono_ms(), &why)) {
      if (export_due(wall_ms())) {
        lock.unlock();
        export_cold();
        lock.lock();
        continue;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms));
    }
    if (stopping_) {
      // An asked-for snapshot is still taken (SAVE waits for it); a schedule is not.
      if (!requested_) break;
      why = "asked";
    }
    const bool asked = requested_;
    lock.unlock();
    const std::string err = take(why);
    lock.lock();
    if (!err.empty() && !asked) retry_after_ms_ = mono_ms() + options_.retry_ms;
  }
  thread_done_ = true;
  cv_.notify_all();
}

std::string Snapshotter::take(const char* why) {
  std::uint64_t seq = 0;
  std::uint64_t before = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = true;
    requested_ = false;
    rewrite_pending_ = false;
    status_.rewrite_scheduled = false;
    status_.in_progress = true;
    status_.current_started_unix_ms = wall_ms();
    ++started_;
    seq = next_seq_++;
    last_attempt_ms_ = mono_ms();
    before = mutations();
  }
  say("info", std::string("snapshot ") + std::to_string(seq) + " started (" + why + ")");
  SnapshotResult r;
  std::string err = aof_ != nullptr ? take_with_aof(seq, &r) : take_with_tail(seq, &r);
  std::lock_guard<std::mutex> lock(mutex_);
  running_ = false;
  status_.in_progress = requested_;
  status_.current_started_unix_ms = 0;
  ++finished_;
  last_attempt_error_ = err;
  status_.last_ok = err.empty();
  status_.last_error = err;
  if (err.empty()) {
    ++status_.saves;
    status_.last_save_unix_ms = r.created_unix_ms;
    status_.last_duration_ms = static_cast<std::uint64_t>(r.seconds * 1000.0);
    status_.last_bytes = r.file_bytes;
    status_.last_items = r.items;
    mutations_at_save_ = before;
    char line[256];
    std::snprintf(line, sizeof line,
                  "snapshot %" PRIu64 " written: %" PRIu64 " items, %" PRIu64 " tail records, %" PRIu64
                  " bytes in %.3f s",
                  seq, r.items, r.tail_records, r.file_bytes, r.seconds);
    say("info", line);
  } else {
    ++status_.failures;
    say("warn", "snapshot " + std::to_string(seq) + " failed: " + err);
  }
  cv_.notify_all();
  return err;
}

// The rewrite: a new segment first, so that every mutation the base may miss is in a segment the
// new manifest keeps; then the fuzzy base; then the manifest names both, and what it dropped goes.
std::string Snapshotter::take_with_aof(std::uint64_t seq, SnapshotResult* r) {
  std::uint64_t first = 0;
  if (std::string err = aof_->start_new_segment(&first); !err.empty()) return err;
  *r = write_snapshot(parts_, nullptr, options_.dir, seq, options_.snapshot);
  if (!r->error.empty()) return r->error;
  const ManifestLoad old = load_manifest(options_.dir);
  const std::string name = snapshot_file_name(seq);
  if (std::string err = aof_->set_base(name, first); !err.empty()) {
    remove_file(r->path);
    return err;
  }
  base_aof_bytes_ = aof_bytes();
  if (!old.error.empty()) {
    say("warn", "the previous manifest could not be read to remove the files it named: " + old.error);
    return "";
  }
  for (const std::uint64_t s : old.manifest.segments) {
    if (s >= first) continue;
    if (std::string e = remove_file(path_in(options_.dir, segment_file_name(s))); !e.empty()) say("warn", e);
  }
  if (!old.manifest.snapshot.empty() && old.manifest.snapshot != name) {
    if (std::string e = remove_file(path_in(options_.dir, old.manifest.snapshot)); !e.empty()) say("warn", e);
  }
  return "";
}

// Without an append-only file: base + tail, then a manifest naming that file alone.
std::string Snapshotter::take_with_tail(std::uint64_t seq, SnapshotResult* r) {
  *r = write_snapshot(parts_, tail_, options_.dir, seq, options_.snapshot);
  if (!r->error.empty()) return r->error;
  const ManifestLoad old = load_manifest(options_.dir);
  if (!old.error.empty() && !old.absent) {
    remove_file(r->path);
    return old.error;
  }
  Manifest m;
  m.generation = old.absent ? 1 : old.manifest.generation + 1;
  m.snapshot = snapshot_file_name(seq);
  if (std::string err = store_manifest(options_.dir, m); !err.empty()) {
    remove_file(r->path);
    return err;
  }
  if (!old.absent) {
    if (!old.manifest.snapshot.empty() && old.manifest.snapshot != m.snapshot) {
      if (std::string e = remove_file(path_in(options_.dir, old.manifest.snapshot)); !e.empty()) say("warn", e);
    }
    // A folder written with the append-only file before (mode aof, now snapshot): its
    // segments are in the snapshot now.
    for (const std::uint64_t s : old.manifest.segments) {
      if (std::string e = remove_file(path_in(options_.dir, segment_file_name(s))); !e.empty()) say("warn", e);
    }
  }
  return "";
}

}  // namespace ferrite::persist
