// The manifest of a persistence folder: the file `MANIFEST` names the base snapshot (optional)
// and the AOF segments after it, in order. Text, one item per line, so an operator can read it:
//
//   ferrite-manifest 1
//   generation 7
//   snapshot snap-0000000003.fsnap
//   segment 4
//   segment 5
//   crc32c 1a2b3c4d
//
// The first line names the format and its version; `generation` (once, required) grows with
// every manifest written; `snapshot` (at most once, before the segments) is a plain file name in
// the folder; `segment N` (N >= 1, strictly increasing: none out of order, none twice) names
// `aof-N.seg` (persist/segment.h). The last line is the CRC32C (8 lowercase hex digits) of every
// byte before it. Every line ends with '\n'; any other line, a blank one included, is refused.
//
// store_manifest() replaces the file atomically: MANIFEST.tmp written, fsync'd, renamed over
// MANIFEST, then the folder fsync'd. Start-up and ferritectl only: never from a worker.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferrite::persist {

inline constexpr std::string_view kManifestName = "MANIFEST";
inline constexpr std::string_view kManifestTmpName = "MANIFEST.tmp";
inline constexpr std::uint32_t kManifestVersion = 1;
// A manifest larger than this is refused before it is read (about 1.4 million segments).
inline constexpr std::size_t kMaxManifestBytes = 16u << 20;

struct Manifest {
  std::uint64_t generation = 0;
  std::string snapshot;                 // "" = no base snapshot
  std::vector<std::uint64_t> segments;  // in order
};

struct ManifestLoad {
  bool absent = false;  // no MANIFEST in the folder (error is "")
  std::string error;    // "" = ok; else names the file and the line
  Manifest manifest;
};

// Reads `dir`/MANIFEST.
ManifestLoad load_manifest(const std::string& dir);
// Writes `m` as `dir`/MANIFEST, atomically; "" or what failed (with the file and errno's text).
std::string store_manifest(const std::string& dir, const Manifest& m);

// The parser and the writer over strings (load/store and the fuzz target use them). `file` is
// the name the errors give ("dir/MANIFEST").
ManifestLoad parse_manifest(std::string_view text, std::string_view file);
std::string format_manifest(const Manifest& m);
// "" when `m` can be written (a valid snapshot name, segments >= 1 strictly increasing), else why.
std::string check_manifest(const Manifest& m);
// A snapshot name a manifest may hold: a plain file name (no '/', not "." or "..", printable
// ASCII without spaces, at most 255 bytes).
bool valid_snapshot_name(std::string_view name) noexcept;
// `dir`/`name` (the folder's files: MANIFEST, segments, the snapshot).
std::string path_in(const std::string& dir, std::string_view name);

}  // namespace ferrite::persist
