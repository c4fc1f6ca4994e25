#include "persist/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

#include "persist/crc32c.h"
#include "persist/folder.h"
#include "persist/segment.h"
#include "persist/snapshot.h"
#include "persist/snapshot_format.h"
#include "persist/text_fields.h"

namespace ferrite::persist {
namespace {

constexpr std::string_view kChecksumsHeader = "ferrite-checksums 1";
constexpr std::string_view kChecksumsTmpName = "CHECKSUMS.tmp";
constexpr std::size_t kCopyChunk = std::size_t{1} << 20;
constexpr std::size_t kMaxChecksumsBytes = 64u << 20;

std::string sys_error(const std::string& path, const char* what, int err) {
  return path + ": " + what + ": " + std::strerror(err);
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// fsync of a folder; "" or the error.
std::string sync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return sys_error(dir, "cannot open the folder to fsync it", errno);
  if (::fsync(fd.get()) != 0) return sys_error(dir, "fsync of the folder failed", errno);
  return "";
}

// Copies up to `limit` bytes of `in` (from offset 0) into the new file `to_path` (fsync'd).
// *copied = the bytes copied (fewer when `in` is shorter), *crc = their CRC32C.
std::string copy_fd(int in, const std::string& from_path, const std::string& to_path, std::uint64_t limit,
                    std::uint64_t* copied, std::uint32_t* crc) {
  Fd out(::open(to_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (out.get() < 0) return sys_error(to_path, "cannot create", errno);
  std::unique_ptr<char[]> buf(new char[kCopyChunk]);
  std::uint64_t off = 0;
  std::uint32_t c = 0;
  while (off < limit) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kCopyChunk, limit - off));
    const ssize_t n = ::pread(in, buf.get(), want, static_cast<off_t>(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(from_path, "read failed", errno);
    }
    if (n == 0) break;
    if (!write_all(out.get(), std::string_view(buf.get(), static_cast<std::size_t>(n)))) return sys_error(to_path, "write failed", errno);
    c = crc32c_extend(c, buf.get(), static_cast<std::size_t>(n));
    off += static_cast<std::uint64_t>(n);
  }
  if (::fsync(out.get()) != 0) return sys_error(to_path, "fsync failed", errno);
  *copied = off;
  *crc = c;
  return "";
}

// The size and CRC32C of a whole file.
std::string file_crc(const std::string& path, std::uint64_t* size, std::uint32_t* crc) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return sys_error(path, "cannot open", errno);
  std::unique_ptr<char[]> buf(new char[kCopyChunk]);
  std::uint64_t n_total = 0;
  std::uint32_t c = 0;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.get(), kCopyChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error(path, "read failed", errno);
    }
    if (n == 0) break;
    c = crc32c_extend(c, buf.get(), static_cast<std::size_t>(n));
    n_total += static_cast<std::uint64_t>(n);
  }
  *size = n_total;
  *crc = c;
  return "";
}

// Writes `data` as dir/name atomically (name.tmp, fsync, rename, fsync of the folder).
std::string store_file(const std::string& dir, std::string_view name, std::string_view tmp_name,
                       const std::string& data) {
  const std::string tmp = path_in(dir, tmp_name), path = path_in(dir, name);
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return sys_error(tmp, "cannot create", errno);
  if (!write_all(fd.get(), data)) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return sys_error(tmp, "write failed", e);
  }
  if (::fsync(fd.get()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return sys_error(tmp, "fsync failed", e);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return sys_error(path, "rename failed", e);
  }
  return sync_dir(dir);
}

// The names in a folder (not "." and ".."); *absent when it does not exist.
std::string list_dir(const std::string& dir, std::vector<std::string>* names, bool* absent) {
  *absent = false;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) {
      *absent = true;
      return "";
    }
    return sys_error(dir, "cannot read the folder", errno);
  }
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n == "." || n == "..") continue;
    names->emplace_back(n);
  }
  ::closedir(d);
  std::sort(names->begin(), names->end());
  return "";
}

// Makes `dir` (and missing parents). "" or the error.
std::string make_dirs(const std::string& dir) {
  if (dir.empty()) return "cannot make a folder with an empty name";
  std::string cur;
  std::size_t pos = 0;
  while (pos <= dir.size()) {
    std::size_t slash = dir.find('/', pos);
    if (slash == std::string::npos) slash = dir.size();
    cur = dir.substr(0, slash);
    pos = slash + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return sys_error(cur, "cannot make the folder", errno);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return sys_error(dir, "cannot stat", errno);
  if (!S_ISDIR(st.st_mode)) return dir + ": not a folder";
  return "";
}

// The files a manifest names, in its order: the snapshot, then the segments.
std::vector<std::string> named_files(const Manifest& m) {
  std::vector<std::string> out;
  if (!m.snapshot.empty()) out.push_back(m.snapshot);
  for (std::uint64_t s : m.segments) out.push_back(segment_file_name(s));
  return out;
}

// `later` is `earlier` or `earlier` with segments added after its last one (a rotation).
bool same_or_rotated(const Manifest& earlier, const Manifest& later) {
  if (earlier.snapshot != later.snapshot || later.segments.size() < earlier.segments.size()) return false;
  return std::equal(earlier.segments.begin(), earlier.segments.end(), later.segments.begin());
}

// The files of one attempt, held while they are copied: linked into the staging folder (or,
// where link() is refused, open on the source).
struct Held {
  std::string name;
  Fd fd;
  bool linked = false;
};

class Staging {
 public:
  explicit Staging(std::string path) : path_(std::move(path)) {}
  ~Staging() { remove(); }
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  const std::string& path() const { return path_; }
  std::string make() {
    if (::mkdir(path_.c_str(), 0700) != 0) {
      errno_ = errno;
      return sys_error(path_, "cannot make the staging folder", errno_);
    }
    made_ = true;
    return "";
  }
  int make_errno() const noexcept { return errno_; }
  void remove() {
    if (!made_) return;
    std::vector<std::string> names;
    bool absent = false;
    list_dir(path_, &names, &absent);
    for (const std::string& n : names) ::unlink(path_in(path_, n).c_str());
    ::rmdir(path_.c_str());
    made_ = false;
  }

 private:
  std::string path_;
  bool made_ = false;
  int errno_ = 0;
};

std::atomic<std::uint64_t> g_staging_seq{0};

// Removes the staging folders (`.backup-<pid>-<n>`) that backups killed before their end left in
// `dir`: those whose process is gone. Their links would otherwise keep removed segments' space.
void remove_stale_staging(const std::string& dir) {
  std::vector<std::string> names;
  bool absent = false;
  if (!list_dir(dir, &names, &absent).empty()) return;
  for (const std::string& n : names) {
    if (n.rfind(".backup-", 0) != 0) continue;
    const std::size_t dash = n.find('-', 8);
    std::uint64_t pid = 0;
    if (dash == std::string::npos || !parse_decimal_u64(std::string_view(n).substr(8, dash - 8), &pid)) continue;
    if (pid == 0 || pid > INT_MAX || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    const std::string path = path_in(dir, n);
    std::vector<std::string> files;
    if (!list_dir(path, &files, &absent).empty()) continue;
    for (const std::string& f : files) ::unlink(path_in(path, f).c_str());
    ::rmdir(path.c_str());
  }
}

// What an attempt to hold the manifest's files gave.
enum class HoldOutcome : std::uint8_t { kHeld, kRetry, kFailed };

// kRetry: *error names the file that was gone.
HoldOutcome hold_files(const std::string& dir, const Manifest& m, const std::string& staging,
                       std::vector<Held>* held, std::string* error) {
  for (const std::string& name : named_files(m)) {
    const std::string src = path_in(dir, name), link_path = staging.empty() ? "" : path_in(staging, name);
    Held h;
    h.name = name;
    if (!staging.empty() && ::link(src.c_str(), link_path.c_str()) == 0) {
      h.linked = true;
      h.fd = Fd(::open(link_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (h.fd.get() < 0) {
        *error = sys_error(link_path, "cannot open the staged link", errno);
        return HoldOutcome::kFailed;
      }
    } else {
      if (!staging.empty() && errno == ENOENT) {  // removed by a rewrite meanwhile
        *error = src;
        return HoldOutcome::kRetry;
      }
      h.fd = Fd(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
      if (h.fd.get() < 0) {
        if (errno == ENOENT) {
          *error = src;
          return HoldOutcome::kRetry;
        }
        *error = sys_error(src, "cannot open", errno);
        return HoldOutcome::kFailed;
      }
    }
    held->push_back(std::move(h));
  }
  return HoldOutcome::kHeld;
}

// Removes what a failed backup wrote into `dest` (and `dest` when it made it).
void undo_dest(const std::string& dest, const std::vector<std::string>& written, bool made) {
  for (const std::string& n : written) ::unlink(path_in(dest, n).c_str());
  if (made) ::rmdir(dest.c_str());
}

std::string backup_into(const std::string& dir, const std::string& dest, BackupResult* r,
                        std::vector<std::string>* written) {
  // 1. Hold a consistent set of files.
  std::vector<Held> held;
  Manifest m;
  std::unique_ptr<Staging> staging;
  std::string missing;  // the file found missing by the last attempt ("" = the manifest changed)
  remove_stale_staging(dir);
  for (unsigned attempt = 1;; ++attempt) {
    if (attempt > kBackupAttempts) {
      if (!missing.empty()) {
        return missing + ": named by " + path_in(dir, kManifestName) + " but missing (at each of " +
               std::to_string(kBackupAttempts) + " attempts: the folder is damaged, or rewritten that often)";
      }
      return path_in(dir, kManifestName) + ": changed under every one of " + std::to_string(kBackupAttempts) +
             " attempts to link its files (rewrites too frequent?); try again";
    }
    r->attempts = attempt;
    held.clear();
    staging.reset();
    const ManifestLoad m1 = load_manifest(dir);
    if (!m1.error.empty()) return m1.error;
    if (m1.absent) return path_in(dir, kManifestName) + ": absent: not a persistence folder, nothing to back up";
    staging = std::make_unique<Staging>(path_in(dir, ".backup-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(g_staging_seq.fetch_add(1) + 1)));
    if (std::string e = staging->make(); !e.empty()) {
      // A folder ferritectl may read but not write: the files are held open instead of linked.
      const int err = staging->make_errno();
      if (err != EACCES && err != EPERM && err != EROFS) return e;
      staging.reset();
    }
    std::string error;
    const HoldOutcome h = hold_files(dir, m1.manifest, staging ? staging->path() : std::string(), &held, &error);
    if (h == HoldOutcome::kFailed) return error;
    missing = h == HoldOutcome::kRetry ? error : std::string();
    if (h == HoldOutcome::kHeld) {
      const ManifestLoad m2 = load_manifest(dir);
      if (!m2.error.empty()) return m2.error;
      if (!m2.absent && same_or_rotated(m1.manifest, m2.manifest)) {
        m = m1.manifest;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<unsigned>(attempt, 20)));
  }
  r->linked = std::all_of(held.begin(), held.end(), [](const Held& h) { return h.linked; });

  // 2. Copy them; the last segment up to its size now, cut after its last whole record.
  std::vector<ChecksumEntry> sums;
  for (std::size_t i = 0; i < held.size(); ++i) {
    const Held& h = held[i];
    const std::string src = path_in(dir, h.name), to = path_in(dest, h.name);
    struct stat st {};
    if (::fstat(h.fd.get(), &st) != 0) return sys_error(src, "cannot stat", errno);
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    std::uint64_t copied = 0;
    std::uint32_t crc = 0;
    written->push_back(h.name);
    if (std::string e = copy_fd(h.fd.get(), src, to, size, &copied, &crc); !e.empty()) return e;
    const std::uint64_t seq = segment_seq_of(h.name);
    const bool is_segment = !(i == 0 && !m.snapshot.empty());
    if (is_segment) {
      MappedFile mf(to);
      if (!mf.error().empty()) return to + ": cannot read it back: " + mf.error();
      const SegmentScan s = scan_segment_bytes(mf.bytes(), seq);
      const bool last = i + 1 == held.size();
      if (s.end == SegmentEnd::kDamaged || (s.end == SegmentEnd::kTorn && !last)) {
        return src + ": offset " + std::to_string(s.good_end) + ": " + s.reason +
               " (the source folder is damaged: `ferritectl verify` it)";
      }
      r->records += s.records;
      if (s.end == SegmentEnd::kTorn) {
        // The writer was in the middle of a record: the archive ends after the last whole one.
        r->tail_cut = copied - s.good_end;
        crc = crc32c(mf.bytes().substr(0, static_cast<std::size_t>(s.good_end)));
        copied = s.good_end;
        Fd fd(::open(to.c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) return sys_error(to, "cannot open to cut the torn tail", errno);
        if (::ftruncate(fd.get(), static_cast<off_t>(copied)) != 0) return sys_error(to, "ftruncate failed", errno);
        if (::fsync(fd.get()) != 0) return sys_error(to, "fsync failed", errno);
      }
    }
    sums.push_back(ChecksumEntry{h.name, copied, crc});
    r->bytes += copied;
    ++r->files;
  }
  held.clear();
  staging.reset();

  // 3. The MANIFEST (fsync'd with the folder), then CHECKSUMS, the mark of a whole archive.
  written->push_back(std::string(kManifestName));
  if (std::string e = store_manifest(dest, m); !e.empty()) return e;
  ChecksumEntry me;
  me.name = std::string(kManifestName);
  if (std::string e = file_crc(path_in(dest, kManifestName), &me.size, &me.crc); !e.empty()) return e;
  sums.push_back(me);
  written->push_back(std::string(kChecksumsTmpName));
  written->push_back(std::string(kChecksumsName));
  if (std::string e = store_file(dest, kChecksumsName, kChecksumsTmpName, format_checksums(sums)); !e.empty())
    return e;
  r->manifest = m;

  // 4. The archive must load as it is.
  FolderVerifyOptions vo;
  vo.check_snapshot = check_snapshot_file;
  const FolderVerifyResult v = verify_folder(dest, vo);
  if (!v.ok) return "the archive does not verify: " + v.error;
  if (v.torn_tail) return "the archive does not verify: " + v.torn_file + ": torn tail";
  return "";
}

}  // namespace

std::string format_checksums(std::vector<ChecksumEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const ChecksumEntry& a, const ChecksumEntry& b) { return a.name < b.name; });
  std::string out;
  out.append(kChecksumsHeader).push_back('\n');
  for (const ChecksumEntry& e : entries) {
    char crc[16];
    std::snprintf(crc, sizeof crc, "%08x", e.crc);
    out.append("file ").append(e.name).append(" ").append(std::to_string(e.size)).append(" ").append(crc);
    out.push_back('\n');
  }
  char crc[24];
  std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(out));
  out.append(crc);
  return out;
}

std::string parse_checksums(std::string_view text, std::string_view file, std::vector<ChecksumEntry>* out) {
  out->clear();
  if (text.size() > kMaxChecksumsBytes)
    return std::string(file) + ": larger than " + std::to_string(kMaxChecksumsBytes) + " bytes";
  SealedLines in(text, file);
  auto fail = [&](const std::string& why) {
    out->clear();
    return in.fail(why);
  };
  for (std::string_view line; in.next(&line);) {
    if (in.line_no() == 1) {
      if (line != kChecksumsHeader) return fail("not a Ferrite CHECKSUMS file (the first line must be \"ferrite-checksums 1\")");
      continue;
    }
    if (!line.starts_with("file ")) return fail("unknown line");
    std::string_view rest = line.substr(5);
    const std::size_t a = rest.find(' ');
    if (a == std::string_view::npos) return fail("a file line needs a name, a size and a crc32c");
    const std::string_view name = rest.substr(0, a);
    rest = rest.substr(a + 1);
    const std::size_t b = rest.find(' ');
    if (b == std::string_view::npos) return fail("a file line needs a name, a size and a crc32c");
    ChecksumEntry e;
    if (!valid_snapshot_name(name)) return fail("the file name is not a plain file name");
    e.name = std::string(name);
    if (!parse_decimal_u64(rest.substr(0, b), &e.size)) return fail("bad size");
    if (!parse_hex32(rest.substr(b + 1), &e.crc)) return fail("bad crc32c of the file");
    if (!out->empty() && out->back().name >= e.name) return fail("file " + e.name + " out of order or listed twice");
    out->push_back(std::move(e));
  }
  if (!in.error().empty()) out->clear();
  return in.error();
}

std::string backup_folder(const std::string& dir, const std::string& dest, BackupResult* out) {
  const auto started = std::chrono::steady_clock::now();
  BackupResult local;
  BackupResult* r = out != nullptr ? out : &local;
  *r = BackupResult{};
  std::vector<std::string> names;
  bool absent = false;
  if (std::string e = list_dir(dest, &names, &absent); !e.empty()) return e;
  if (!absent && !names.empty()) return dest + ": not empty: a backup goes into a new or empty folder";
  bool made = false;
  if (absent) {
    if (::mkdir(dest.c_str(), 0755) != 0) return sys_error(dest, "cannot make the folder", errno);
    made = true;
  }
  std::vector<std::string> written;
  std::string error = backup_into(dir, dest, r, &written);
  if (!error.empty()) {
    undo_dest(dest, written, made);
    return error;
  }
  if (std::string e = sync_dir(dest); !e.empty()) return e;
  r->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return "";
}

std::string check_archive(const std::string& archive, ArchiveCheck* out) {
  ArchiveCheck local;
  ArchiveCheck* r = out != nullptr ? out : &local;
  *r = ArchiveCheck{};
  const std::string sums_path = path_in(archive, kChecksumsName);
  std::string text;
  {
    MappedFile f(sums_path);
    if (!f.error().empty()) {
      return sums_path + ": " + f.error() + " (not an archive made by `ferritectl backup`?)";
    }
    text = std::string(f.bytes());
  }
  if (std::string e = parse_checksums(text, sums_path, &r->files); !e.empty()) return e;
  for (const ChecksumEntry& e : r->files) {
    const std::string p = path_in(archive, e.name);
    std::uint64_t size = 0;
    std::uint32_t crc = 0;
    if (std::string err = file_crc(p, &size, &crc); !err.empty()) return err;
    if (size != e.size) {
      return p + ": " + std::to_string(size) + " bytes, CHECKSUMS says " + std::to_string(e.size);
    }
    if (crc != e.crc) {
      char msg[96];
      std::snprintf(msg, sizeof msg, ": crc32c %08x, CHECKSUMS says %08x", crc, e.crc);
      return p + msg;
    }
    r->bytes += size;
  }
  const ManifestLoad m = load_manifest(archive);
  if (!m.error.empty()) return m.error;
  if (m.absent) return path_in(archive, kManifestName) + ": absent";
  std::vector<std::string> want = named_files(m.manifest);
  want.emplace_back(kManifestName);
  for (const std::string& n : want) {
    const bool listed = std::any_of(r->files.begin(), r->files.end(), [&](const ChecksumEntry& e) { return e.name == n; });
    if (!listed) return path_in(archive, n) + ": named by the MANIFEST but not listed in CHECKSUMS";
  }
  for (const ChecksumEntry& e : r->files) {
    if (std::find(want.begin(), want.end(), e.name) == want.end())
      return path_in(archive, e.name) + ": listed in CHECKSUMS but not named by the MANIFEST";
  }
  FolderVerifyOptions vo;
  vo.check_snapshot = check_snapshot_file;
  const FolderVerifyResult v = verify_folder(archive, vo);
  if (!v.ok) return v.error;
  if (v.torn_tail) return v.torn_file + ": offset " + std::to_string(v.torn_offset) + ": torn tail in an archive";
  r->manifest = m.manifest;
  r->records = v.records;
  return "";
}

std::vector<std::string> persistence_files(const std::string& dir, std::string* error) {
  std::vector<std::string> names, out;
  bool absent = false;
  *error = list_dir(dir, &names, &absent);
  if (!error->empty() || absent) return out;
  std::string named_snapshot;
  const ManifestLoad m = load_manifest(dir);
  if (m.error.empty() && !m.absent) named_snapshot = m.manifest.snapshot;
  bool manifest = false;
  for (const std::string& n : names) {
    if (n == kManifestName) {
      manifest = true;
    } else if (n == kManifestTmpName || segment_seq_of(n) != 0 || snapshot_seq_of(n) != 0 ||
               (!named_snapshot.empty() && n == named_snapshot)) {
      out.push_back(n);
    }
  }
  if (manifest) out.emplace_back(kManifestName);
  return out;
}

std::string restore_folder(const std::string& archive, const std::string& dir, bool force, RestoreResult* out) {
  RestoreResult local;
  RestoreResult* r = out != nullptr ? out : &local;
  *r = RestoreResult{};
  if (std::string e = check_archive(archive, &r->archive); !e.empty()) {
    r->archive_refused = true;
    return "the archive is refused: " + e;
  }
  {
    char a[PATH_MAX], d[PATH_MAX];
    if (::realpath(archive.c_str(), a) != nullptr && ::realpath(dir.c_str(), d) != nullptr &&
        std::string_view(a) == std::string_view(d)) {
      r->target_occupied = true;
      return dir + ": is the archive itself";
    }
  }
  std::string error;
  const std::vector<std::string> old = persistence_files(dir, &error);
  if (!error.empty()) return error;
  if (!old.empty() && !force) {
    r->target_occupied = true;
    return dir + ": holds a persistence folder (" + old.back() + " and " + std::to_string(old.size() - 1) +
           " other files): refusing to replace it (with force the old files are moved into " + dir +
           "/.replaced-<time>/)";
  }
  if (std::string e = make_dirs(dir); !e.empty()) return e;

  // 1. The archive's files, copied into a staging folder of `dir` (the same file system, so the
  //    renames below are atomic) and fsync'd.
  const auto now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  Staging staging(path_in(dir, ".restore-" + std::to_string(::getpid()) + "-" + std::to_string(now_ms)));
  if (std::string e = staging.make(); !e.empty()) return e;
  std::vector<std::string> files = named_files(r->archive.manifest);
  files.emplace_back(kManifestName);
  for (const std::string& n : files) {
    const std::string from = path_in(archive, n);
    Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) return sys_error(from, "cannot open", errno);
    std::uint64_t copied = 0;
    std::uint32_t crc = 0;
    if (std::string e = copy_fd(in.get(), from, path_in(staging.path(), n), UINT64_MAX, &copied, &crc); !e.empty())
      return e;
    const auto it = std::find_if(r->archive.files.begin(), r->archive.files.end(),
                                 [&](const ChecksumEntry& c) { return c.name == n; });
    if (it == r->archive.files.end() || it->size != copied || it->crc != crc)
      return from + ": changed while it was copied (its CHECKSUMS line no longer matches)";
  }
  if (std::string e = sync_dir(staging.path()); !e.empty()) return e;

  // 2. With force, the old files go aside: the MANIFEST first, so that an interruption leaves a
  //    folder that start-up refuses rather than one that loads part of the old content.
  if (!old.empty()) {
    const std::uint64_t now_s = now_ms / 1000;
    std::string aside = path_in(dir, ".replaced-" + std::to_string(now_s));
    for (int n = 1; ::mkdir(aside.c_str(), 0755) != 0; ++n) {
      if (errno != EEXIST || n > 1000) return sys_error(aside, "cannot make the folder", errno);
      aside = path_in(dir, ".replaced-" + std::to_string(now_s) + "-" + std::to_string(n));
    }
    std::vector<std::string> order;
    order.emplace_back(kManifestName);
    for (const std::string& n : old)
      if (n != kManifestName) order.push_back(n);
    for (const std::string& n : order) {
      if (n == kManifestName && old.back() != kManifestName) continue;
      const std::string from = path_in(dir, n), to = path_in(aside, n);
      if (::rename(from.c_str(), to.c_str()) != 0) return sys_error(from, "cannot move it aside", errno);
      ++r->replaced_files;
      if (n == kManifestName) {
        if (std::string e = sync_dir(dir); !e.empty()) return e;
      }
    }
    if (std::string e = sync_dir(aside); !e.empty()) return e;
    if (std::string e = sync_dir(dir); !e.empty()) return e;
    r->replaced = aside;
  }

  // 3. The new files renamed in, the MANIFEST last.
  for (const std::string& n : files) {
    if (n == kManifestName) {
      if (std::string e = sync_dir(dir); !e.empty()) return e;
    }
    const std::string from = path_in(staging.path(), n), to = path_in(dir, n);
    if (::rename(from.c_str(), to.c_str()) != 0) return sys_error(to, "cannot rename the restored file in", errno);
  }
  if (std::string e = sync_dir(dir); !e.empty()) return e;
  staging.remove();
  return sync_dir(dir);
}

}  // namespace ferrite::persist
