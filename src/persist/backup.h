// Backup and restore of a persistence folder (docs/persistence.md, "Backup and restore").
// Ordinary blocking file I/O, for ferritectl and ferrited's start-up: never from a worker.
//
// backup_folder() makes an archive of a live folder (one a running daemon keeps writing):
//   1. reads dir/MANIFEST and hard-links every file it names (the base snapshot, the segments)
//      into a staging folder inside `dir` (dir/.backup-<pid>-<n>/): a rewrite may remove a file
//      from the folder at any moment, the link keeps its bytes. Where link() is refused (a file
//      system without hard links), or the staging folder cannot be made (a folder the caller may
//      read but not write), the file is held open instead, which keeps its bytes as well.
//      A file gone before it was linked, or a manifest changed meanwhile by anything but a new
//      segment after its last one (a rotation), starts over (kBackupAttempts times at most);
//   2. copies them into `dest`: the last segment, still appended to, up to its size at that
//      moment, cut after its last whole record (a torn tail is expected there);
//   3. writes dest/MANIFEST naming exactly what was copied, then dest/CHECKSUMS, fsyncs the
//      files and the folder, and verifies the archive (verify_folder, the snapshot included).
// The archive is a persistence folder itself: its content is the source's at one moment (a
// prefix of the mutation stream in the store's order).
//
// dest/CHECKSUMS (text, one line per file, in the manifest's style):
//
//   ferrite-checksums 1
//   file MANIFEST 71 5b1e0c2a
//   file aof-0000000004.seg 1048576 0d9e8f7a
//   crc32c 1a2b3c4d
//
// `file NAME SIZE CRC32C` (a plain file name, the size in bytes in decimal, the CRC32C of the
// whole file in 8 lowercase hex digits), names in strictly increasing byte order; the last line
// is the CRC32C of every byte before it.
//
// restore_folder() checks an archive (CHECKSUMS, then verify_folder with the snapshot's check)
// and puts its files into a node's folder so that an interruption never leaves a folder that
// loads half of it: the files are copied into dir/.restore-<pid>-<ms>/ and fsync'd, the old
// files (with `force`) moved into dir/.replaced-<unix s>/ MANIFEST first, then the new files
// renamed in, the MANIFEST last (a folder with segments and no MANIFEST is refused at start).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "persist/manifest.h"

namespace ferrite::persist {

inline constexpr std::string_view kChecksumsName = "CHECKSUMS";
inline constexpr unsigned kBackupAttempts = 50;

struct ChecksumEntry {
  std::string name;
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
};

// CHECKSUMS' text for `entries` (sorted by name here).
std::string format_checksums(std::vector<ChecksumEntry> entries);
// Parses CHECKSUMS; "" or the error, naming `file` and the line. Pure (the fuzz target's entry).
std::string parse_checksums(std::string_view text, std::string_view file, std::vector<ChecksumEntry>* out);

struct BackupResult {
  Manifest manifest;              // what the archive's MANIFEST names
  std::uint64_t files = 0;        // data files copied (snapshot and segments)
  std::uint64_t bytes = 0;        // their bytes in the archive
  std::uint64_t records = 0;      // segment records in the archive
  std::uint64_t tail_cut = 0;     // bytes of the last segment after its last whole record, left out
  unsigned attempts = 0;          // 1 when the manifest did not change while the files were linked
  bool linked = true;             // every file was hard-linked (false: some were held open)
  double seconds = 0;
};

// Makes `dest` (absent, or an empty folder: anything else is refused) an archive of the
// persistence folder `dir`. "" or what failed, naming the file and errno's text; on failure the
// files written into `dest` are removed again (and `dest` when this call made it).
std::string backup_folder(const std::string& dir, const std::string& dest, BackupResult* out = nullptr);

struct ArchiveCheck {
  Manifest manifest;
  std::vector<ChecksumEntry> files;  // CHECKSUMS' entries (MANIFEST included)
  std::uint64_t records = 0;
  std::uint64_t bytes = 0;  // every file's bytes
};

// Checks an archive without changing it: CHECKSUMS (every file's size and CRC32C, every file the
// MANIFEST names listed, nothing else listed) and verify_folder with check_snapshot_file. "" or
// the first fault, naming the file.
std::string check_archive(const std::string& archive, ArchiveCheck* out = nullptr);

struct RestoreResult {
  bool archive_refused = false;  // the archive failed its checks (nothing was changed)
  bool target_occupied = false;  // `dir` holds persistence files and `force` was not given
  ArchiveCheck archive;
  std::string replaced;  // with force: the folder the old files were moved to ("" = none)
  std::uint64_t replaced_files = 0;
};

// Restores `archive` into the persistence folder `dir` (made when absent). Refuses a `dir` that
// holds persistence files (MANIFEST, MANIFEST.tmp, aof-*.seg, snap-*.fsnap, the snapshot its
// MANIFEST names) unless `force`: then they are moved into dir/.replaced-<unix s>/, not deleted.
// Offline only: no daemon may be using `dir`. "" or what failed, naming the file.
std::string restore_folder(const std::string& archive, const std::string& dir, bool force,
                           RestoreResult* out = nullptr);

// The persistence files in `dir` (names, MANIFEST last when present); empty when none or `dir`
// is absent. "" or what failed in *error.
std::vector<std::string> persistence_files(const std::string& dir, std::string* error);

}  // namespace ferrite::persist
