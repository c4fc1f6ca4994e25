#include "persist/folder.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "persist/segment.h"

namespace ferrite::persist {
namespace {

// Upper bound of the bytes checksummed while looking for a whole record after a short one
// (the test that tells a torn tail from a damaged length): far above any real torn tail's cost.
constexpr std::uint64_t kResyncBudget = 1ull << 30;

// True when a whole, good record starts anywhere in data[from + 1 ..): the short record at
// `from` is then not a torn tail but a damaged length with good records after it. Also true
// when the budget runs out (the cautious answer: damage).
bool whole_record_after(std::string_view data, std::size_t from) noexcept {
  std::uint64_t budget = kResyncBudget;
  for (std::size_t q = from + 1; q + kRecordHeader <= data.size(); ++q) {
    std::uint32_t len = 0;
    std::memcpy(&len, data.data() + q + 4, 4);
    if (len == 0 || len > kMaxBody || len > data.size() - q - kRecordHeader) continue;
    if (budget < len) return true;
    budget -= len;
    Record r;
    std::size_t used = 0;
    if (decode(data.substr(q), &r, &used) == DecodeStatus::kOk) return true;
  }
  return false;
}

bool all_zero(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

std::string at(const std::string& file, std::uint64_t offset, const std::string& reason) {
  return file + ": offset " + std::to_string(offset) + ": " + reason;
}

std::uint64_t file_size(const std::string& path) noexcept {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

// Cuts `path` to `size` bytes and makes it durable; "" or what failed.
std::string cut_file(const std::string& path, std::uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return "open for the cut: " + std::string(std::strerror(errno));
  std::string err;
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    err = "ftruncate: " + std::string(std::strerror(errno));
  } else if (::fsync(fd) != 0) {
    err = "fsync: " + std::string(std::strerror(errno));
  }
  ::close(fd);
  return err;
}

}  // namespace

const char* segment_end_name(SegmentEnd e) noexcept {
  switch (e) {
    case SegmentEnd::kClean:
      return "clean";
    case SegmentEnd::kTorn:
      return "torn";
    case SegmentEnd::kDamaged:
      return "damaged";
  }
  return "?";
}

SegmentScan scan_segment_bytes(std::string_view data, std::uint64_t expected_seq, const RecordFn& fn) {
  SegmentScan s;
  s.seq = expected_seq;
  s.file_bytes = data.size();
  if (data.size() < kSegmentHeader) {
    // A header cut short by a crash right after the file was made, unless it is not even the
    // beginning of one.
    const std::size_t n = std::min(data.size(), kSegmentMagic.size());
    if (data.substr(0, n) != kSegmentMagic.substr(0, n)) {
      s.end = SegmentEnd::kDamaged;
      s.reason = "not a Ferrite AOF segment (bad magic)";
    } else {
      s.end = SegmentEnd::kTorn;
      s.reason = "segment header cut short (" + std::to_string(data.size()) + " of 32 bytes)";
    }
    return s;
  }
  SegmentHeader h;
  if (const char* why = decode_segment_header(data, &h); *why != '\0') {
    s.end = SegmentEnd::kDamaged;
    s.reason = why;
    return s;
  }
  if (h.seq != expected_seq) {
    s.end = SegmentEnd::kDamaged;
    s.reason = "the header says segment " + std::to_string(h.seq) + ", the file name " +
               std::to_string(expected_seq);
    return s;
  }
  std::size_t pos = kSegmentHeader;
  s.good_end = pos;
  while (pos < data.size()) {
    const std::string_view rest = data.substr(pos);
    Record r;
    std::size_t used = 0;
    const DecodeStatus st = decode(rest, &r, &used);
    if (st == DecodeStatus::kOk) {
      if (r.type == RecordType::kSet && r.item_type > 1) {
        s.end = SegmentEnd::kDamaged;
        s.reason = "set record of an unknown item type " + std::to_string(r.item_type);
        return s;
      }
      ++s.records;
      if (r.type == RecordType::kFlush) s.flushes.push_back({pos + used, r.deadline_ms, s.records});
      if (fn) fn(r, pos);
      pos += used;
      s.good_end = pos;
      continue;
    }
    if (all_zero(rest)) {
      // A file extended by a crash before its data reached the disk. No single bit flip makes
      // a record all zeros (its length and type are both non-zero).
      s.end = SegmentEnd::kTorn;
      s.reason = "zero-filled tail (" + std::to_string(rest.size()) + " bytes)";
      return s;
    }
    if (st == DecodeStatus::kShort) {
      if (whole_record_after(data, pos)) {
        s.end = SegmentEnd::kDamaged;
        s.reason = "record longer than the rest of the file, with whole records after it (damaged length)";
      } else {
        s.end = SegmentEnd::kTorn;
        s.reason = "record cut short (" + std::to_string(rest.size()) + " bytes: a torn write)";
      }
      return s;
    }
    s.end = SegmentEnd::kDamaged;
    s.reason = std::string("bad record: ") + decode_status_name(st);
    return s;
  }
  return s;
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error_ = std::strerror(errno);
    return;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error_ = std::strerror(errno);
    ::close(fd);
    return;
  }
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      error_ = "mmap: " + std::string(std::strerror(errno));
    } else {
      data_ = static_cast<const char*>(p);
      size_ = static_cast<std::size_t>(st.st_size);
      ::madvise(p, size_, MADV_SEQUENTIAL);
    }
  }
  ::close(fd);
}

MappedFile::~MappedFile() { reset(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), size_(other.size_), error_(std::move(other.error_)) {
  other.data_ = nullptr;
  other.size_ = 0;
}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = other.data_;
    size_ = other.size_;
    error_ = std::move(other.error_);
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

void MappedFile::reset() noexcept {
  if (data_ != nullptr) ::munmap(const_cast<char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

FolderVerifyResult verify_folder(const std::string& dir, const FolderVerifyOptions& options) {
  FolderVerifyResult v;
  // The first fault: refuses, or, under the override, ends what is usable. Returns true when
  // the caller must stop (always: nothing after a fault is usable).
  auto fault = [&](const std::string& file, std::uint64_t offset, const std::string& reason) {
    v.error = at(file, offset, reason);
    v.error_file = file;
    v.error_offset = offset;
    v.ok = options.load_up_to_damage;
    if (v.ok) v.warnings.push_back("override: loading up to " + v.error);
  };

  std::vector<std::uint64_t> on_disk;  // segment files in the folder
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    v.error = dir + ": cannot open the folder: " + std::strerror(errno);
    v.error_file = dir;
    return v;
  }
  while (const dirent* e = ::readdir(d)) {
    if (const std::uint64_t seq = segment_seq_of(e->d_name); seq != 0) on_disk.push_back(seq);
  }
  ::closedir(d);
  std::sort(on_disk.begin(), on_disk.end());

  const ManifestLoad ml = load_manifest(dir);
  if (!ml.error.empty()) {  // never overridable: without a manifest nothing is known
    v.error = ml.error;
    v.error_file = path_in(dir, kManifestName);
    return v;
  }
  if (ml.absent) {
    v.manifest_absent = true;
    if (on_disk.empty()) {
      v.ok = true;
      return v;
    }
    for (std::uint64_t seq : on_disk) v.lost_bytes += file_size(path_in(dir, segment_file_name(seq)));
    fault(path_in(dir, segment_file_name(on_disk.front())), 0, "segment file but no MANIFEST");
    return v;
  }
  v.manifest = ml.manifest;
  const std::vector<std::uint64_t>& named = v.manifest.segments;

  // Segment files the manifest does not name: older than its first are leftovers of a
  // rewrite; newer ones were written but never recorded.
  for (std::uint64_t seq : on_disk) {
    if (std::binary_search(named.begin(), named.end(), seq)) continue;
    const std::string name = segment_file_name(seq);
    if (!named.empty() && seq < named.front()) {
      v.ignored.push_back(name);
      continue;
    }
    if (file_size(path_in(dir, name)) <= kSegmentHeader) {
      // No record in it: a segment made but not yet named when the daemon stopped (the writer
      // names a segment before it writes a record into it). Nothing is lost without it.
      v.ignored.push_back(name);
      v.warnings.push_back(
          at(path_in(dir, name), 0, "segment file not named by the MANIFEST, with no record: ignored"));
      continue;
    }
    const std::string why = named.empty() ? "segment file not named by the MANIFEST (it names none)"
                                          : "segment file not named by the MANIFEST (it names " +
                                                std::to_string(named.front()) + " .. " +
                                                std::to_string(named.back()) + ")";
    if (!options.load_up_to_damage) {
      fault(path_in(dir, name), 0, why);
      return v;
    }
    v.warnings.push_back("override: ignoring " + at(path_in(dir, name), 0, why));
    if (v.error.empty()) {
      v.error = at(path_in(dir, name), 0, why);
      v.error_file = path_in(dir, name);
    }
  }

  // Bytes of the named segments from index i on (what a fault there loses).
  auto lost_from = [&](std::size_t i) {
    std::uint64_t n = 0;
    for (; i < named.size(); ++i) n += file_size(path_in(dir, segment_file_name(named[i])));
    return n;
  };

  if (!v.manifest.snapshot.empty()) {
    const std::string path = path_in(dir, v.manifest.snapshot);
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      v.lost_bytes = lost_from(0);
      fault(path, 0, "snapshot named by the MANIFEST is missing");
      return v;
    }
    if (options.check_snapshot) {
      if (std::string why = options.check_snapshot(path); !why.empty()) {
        v.lost_bytes = lost_from(0) + static_cast<std::uint64_t>(st.st_size);
        v.error = why;
        v.error_file = path;
        v.ok = options.load_up_to_damage;
        if (v.ok) v.warnings.push_back("override: loading nothing: " + why);
        return v;
      }
      v.snapshot_checked = true;
    }
    v.snapshot_usable = true;
  }

  for (std::size_t i = 0; i < named.size(); ++i) {
    const std::string path = path_in(dir, segment_file_name(named[i]));
    const bool last = i + 1 == named.size();
    if (!std::binary_search(on_disk.begin(), on_disk.end(), named[i])) {
      v.lost_bytes = lost_from(i);
      fault(path, 0, "segment named by the MANIFEST is missing");
      return v;
    }
    const MappedFile file(path);
    if (!file.error().empty()) {
      v.lost_bytes = lost_from(i);
      fault(path, 0, "cannot read: " + file.error());
      return v;
    }
    SegmentScan s = scan_segment_bytes(file.bytes(), named[i]);
    if (s.end == SegmentEnd::kTorn && last) {
      v.torn_tail = true;
      v.torn_file = path;
      v.torn_offset = s.good_end;
      v.torn_bytes = s.file_bytes - s.good_end;
      if (options.truncate_torn_tail) {
        if (std::string why = cut_file(path, s.good_end); !why.empty()) {
          v.error = at(path, s.good_end, "torn tail not cut: " + why);
          v.error_file = path;
          v.error_offset = s.good_end;
          return v;
        }
        v.torn_cut = true;
      }
      v.warnings.push_back(at(path, s.good_end,
                              "torn tail of " + std::to_string(v.torn_bytes) + " bytes (" + s.reason + ")" +
                                  (v.torn_cut ? ": cut" : ": not cut")));
    } else if (s.end != SegmentEnd::kClean) {
      const std::string reason =
          s.end == SegmentEnd::kTorn ? s.reason + " in a segment that is not the last" : s.reason;
      v.lost_bytes = s.file_bytes - s.good_end + lost_from(i + 1);
      fault(path, s.good_end, reason);
      if (v.ok && s.good_end >= kSegmentHeader) {
        v.records += s.records;
        v.bytes += s.good_end;
        v.segments.push_back(std::move(s));
      }
      return v;
    }
    v.records += s.records;
    v.bytes += s.good_end;
    v.segments.push_back(std::move(s));
  }
  v.ok = true;
  return v;
}

}  // namespace ferrite::persist
