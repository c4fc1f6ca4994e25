// `ferritectl verify PATH [--truncate] [--json]`: checks a persistence folder offline (no daemon):
// the manifest, every file it names, every record of every segment (persist/folder.h). Prints
// OK with the counts, or the first fault with its file and offset.
#pragma once

#include <ostream>
#include <string>

namespace ferrite::ctl {

// Exit statuses of verify (beside options.h's).
inline constexpr int kExitVerifyDamaged = 5;  // the folder would be refused: damage, a missing file, ...
inline constexpr int kExitVerifyTorn = 6;     // only a torn tail, not cut (--truncate cuts it)

// Verifies `path`; with `truncate` cuts a torn tail of the last segment. Writes the report to
// `out` (one JSON document with `json`) and returns the exit status.
int run_verify(const std::string& path, bool truncate, bool json, std::ostream& out);

}  // namespace ferrite::ctl
