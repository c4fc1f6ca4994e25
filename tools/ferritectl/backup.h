// `ferritectl backup PATH [--dir DIR]` and `ferritectl restore ARCHIVE --dir DIR [--force]`
// (persist/backup.h): the copy is made by ferritectl itself, on the daemon's host. backup works
// on a live daemon's folder (main.cc asks the daemon its persist.dir over the management socket
// unless --dir is given); restore works offline, on a folder no daemon is using.
#pragma once

#include <ostream>
#include <string>

namespace ferrite::ctl {

// Exit status of a backup or restore that failed (the message names the file and the reason);
// an archive that fails its checks exits with verify's kExitVerifyDamaged (5).
inline constexpr int kExitBackupFailed = 7;
// restore: the target folder holds a persistence folder and --force was not given.
inline constexpr int kExitRestoreOccupied = 8;

// Backs the persistence folder `dir` up into `dest`; the report (one JSON document with `json`)
// goes to `out`, an error to `err`. Returns the exit status.
int run_backup(const std::string& dir, const std::string& dest, bool json, std::ostream& out, std::ostream& err);

// Restores `archive` into `dir` (force: the old files are moved aside into dir/.replaced-<time>/).
int run_restore(const std::string& archive, const std::string& dir, bool force, bool json, std::ostream& out,
                std::ostream& err);

}  // namespace ferrite::ctl
