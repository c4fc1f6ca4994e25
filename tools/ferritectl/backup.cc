#include "backup.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "options.h"
#include "persist/backup.h"
#include "verify.h"

namespace ferrite::ctl {
namespace {

void dump(const nlohmann::ordered_json& j, std::ostream& out) {
  out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

nlohmann::ordered_json snapshot_json(const persist::Manifest& m) {
  return m.snapshot.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(m.snapshot);
}

}  // namespace

int run_backup(const std::string& dir, const std::string& dest, bool json, std::ostream& out, std::ostream& err) {
  persist::BackupResult r;
  const std::string error = persist::backup_folder(dir, dest, &r);
  if (json) {
    nlohmann::ordered_json j;
    j["ok"] = error.empty();
    j["source"] = dir;
    j["archive"] = dest;
    if (error.empty()) {
      j["generation"] = r.manifest.generation;
      j["snapshot"] = snapshot_json(r.manifest);
      j["segments"] = r.manifest.segments.size();
      j["files"] = r.files;
      j["records"] = r.records;
      j["bytes"] = r.bytes;
      j["tail_cut_bytes"] = r.tail_cut;
      j["attempts"] = r.attempts;
      j["linked"] = r.linked;
      j["seconds"] = r.seconds;
      j["error"] = nullptr;
    } else {
      j["error"] = error;
    }
    dump(j, out);
  } else if (error.empty()) {
    out << "OK " << dest << ": backup of " << dir << ": generation " << r.manifest.generation;
    if (!r.manifest.snapshot.empty()) out << ", snapshot " << r.manifest.snapshot;
    out << ", " << r.manifest.segments.size() << " segments, " << r.records << " records, " << r.bytes
        << " bytes";
    if (r.tail_cut != 0) out << " (a record being written left out: " << r.tail_cut << " bytes)";
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.3f", r.seconds);
    out << ", " << secs << " s\n";
  }
  if (!error.empty()) {
    err << "ferritectl: backup failed: " << error << "\n";
    return kExitBackupFailed;
  }
  return kExitOk;
}

int run_restore(const std::string& archive, const std::string& dir, bool force, bool json, std::ostream& out,
                std::ostream& err) {
  persist::RestoreResult r;
  const std::string error = persist::restore_folder(archive, dir, force, &r);
  const int status = error.empty()         ? kExitOk
                     : r.archive_refused   ? kExitVerifyDamaged
                     : r.target_occupied   ? kExitRestoreOccupied
                                           : kExitBackupFailed;
  if (json) {
    nlohmann::ordered_json j;
    j["ok"] = error.empty();
    j["archive"] = archive;
    j["dir"] = dir;
    if (error.empty()) {
      j["generation"] = r.archive.manifest.generation;
      j["snapshot"] = snapshot_json(r.archive.manifest);
      j["segments"] = r.archive.manifest.segments.size();
      j["records"] = r.archive.records;
      j["bytes"] = r.archive.bytes;
      j["replaced"] = r.replaced.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.replaced);
      j["error"] = nullptr;
    } else {
      j["error"] = error;
    }
    dump(j, out);
  } else if (error.empty()) {
    out << "OK " << dir << ": restored from " << archive << ": generation " << r.archive.manifest.generation;
    if (!r.archive.manifest.snapshot.empty()) out << ", snapshot " << r.archive.manifest.snapshot;
    out << ", " << r.archive.manifest.segments.size() << " segments, " << r.archive.records << " records, "
        << r.archive.bytes << " bytes\n";
    if (!r.replaced.empty())
      out << "the old files (" << r.replaced_files << ") were moved to " << r.replaced << "\n";
  }
  if (!error.empty()) {
    err << "ferritectl: restore failed: " << error << "\n";
    if (r.target_occupied) err << "(--force moves the old files aside and restores)\n";
  }
  return status;
}

}  // namespace ferrite::ctl
