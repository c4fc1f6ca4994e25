#include "persist/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "persist/crc32c.h"
#include "persist/text_fields.h"

namespace ferrite::persist {
namespace {

constexpr std::string_view kHeaderLine = "ferrite-manifest 1";

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

std::string path_in(const std::string& dir, std::string_view name) {
  std::string p = dir;
  if (!p.empty() && p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

bool valid_snapshot_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c <= ' ' || c > '~' || c == '/') return false;
  }
  return true;
}

std::string check_manifest(const Manifest& m) {
  if (!m.snapshot.empty() && !valid_snapshot_name(m.snapshot)) {
    return "snapshot name is not a plain file name";
  }
  std::uint64_t prev = 0;
  for (std::uint64_t s : m.segments) {
    if (s == 0) return "segment 0 (segments are numbered from 1)";
    if (s <= prev) {
      return "segment " + std::to_string(s) + " after segment " + std::to_string(prev) +
             (s == prev ? " (duplicated)" : " (out of order)");
    }
    prev = s;
  }
  return "";
}

std::string format_manifest(const Manifest& m) {
  std::string out;
  out.reserve(64 + m.snapshot.size() + m.segments.size() * 16);
  out.append(kHeaderLine).push_back('\n');
  out.append("generation ").append(std::to_string(m.generation)).push_back('\n');
  if (!m.snapshot.empty()) out.append("snapshot ").append(m.snapshot).push_back('\n');
  for (std::uint64_t s : m.segments) out.append("segment ").append(std::to_string(s)).push_back('\n');
  char crc[24];
  std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(out));
  out.append(crc);
  return out;
}

ManifestLoad parse_manifest(std::string_view text, std::string_view file) {
  ManifestLoad r;
  if (text.size() > kMaxManifestBytes) {
    r.error = std::string(file) + ": larger than " + std::to_string(kMaxManifestBytes) + " bytes";
    return r;
  }
  SealedLines in(text, file);
  auto fail = [&](const std::string& why) {
    r.error = in.fail(why);
    r.manifest = Manifest{};
    return r;
  };
  bool have_generation = false;
  for (std::string_view line; in.next(&line);) {
    if (in.line_no() == 1) {
      if (line == kHeaderLine) continue;
      if (line.substr(0, 17) == "ferrite-manifest ") return fail("unsupported manifest version");
      return fail("not a Ferrite manifest (the first line must be \"ferrite-manifest 1\")");
    }
    const std::size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return fail("unknown line");
    const std::string_view word = line.substr(0, sp), arg = line.substr(sp + 1);
    if (word == "generation") {
      if (have_generation) return fail("generation given twice");
      if (!r.manifest.segments.empty() || !r.manifest.snapshot.empty()) {
        return fail("generation after the snapshot or a segment");
      }
      if (!parse_decimal_u64(arg, &r.manifest.generation)) return fail("bad generation number");
      have_generation = true;
    } else if (word == "snapshot") {
      if (!have_generation) return fail("snapshot before the generation");
      if (!r.manifest.snapshot.empty()) return fail("snapshot given twice");
      if (!r.manifest.segments.empty()) return fail("snapshot after a segment");
      if (!valid_snapshot_name(arg)) return fail("snapshot name is not a plain file name");
      r.manifest.snapshot.assign(arg);
    } else if (word == "segment") {
      if (!have_generation) return fail("segment before the generation");
      std::uint64_t seq = 0;
      if (!parse_decimal_u64(arg, &seq) || seq == 0) return fail("bad segment number");
      if (!r.manifest.segments.empty() && seq <= r.manifest.segments.back()) {
        return fail("segment " + std::to_string(seq) + " after segment " +
                    std::to_string(r.manifest.segments.back()) +
                    (seq == r.manifest.segments.back() ? " (duplicated)" : " (out of order)"));
      }
      r.manifest.segments.push_back(seq);
    } else {
      return fail("unknown line");
    }
  }
  if (!in.error().empty()) {
    r.error = in.error();
    r.manifest = Manifest{};
    return r;
  }
  if (!have_generation) return fail("generation missing");
  return r;
}

ManifestLoad load_manifest(const std::string& dir) {
  ManifestLoad r;
  const std::string path = path_in(dir, kManifestName);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      r.absent = true;
    } else {
      r.error = path + ": " + errno_text(errno);
    }
    return r;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      r.error = path + ": read: " + errno_text(errno);
      ::close(fd);
      return r;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > kMaxManifestBytes) break;  // parse_manifest refuses it
  }
  ::close(fd);
  return parse_manifest(text, path);
}

std::string store_manifest(const std::string& dir, const Manifest& m) {
  if (std::string why = check_manifest(m); !why.empty()) return path_in(dir, kManifestName) + ": " + why;
  const std::string text = format_manifest(m);
  const std::string tmp = path_in(dir, kManifestTmpName), final_path = path_in(dir, kManifestName);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return tmp + ": open: " + errno_text(errno);
  if (!write_all(fd, text)) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return tmp + ": write: " + errno_text(err);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return tmp + ": fsync: " + errno_text(err);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return tmp + ": close: " + errno_text(err);
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return final_path + ": rename: " + errno_text(err);
  }
  const std::string dir_path = dir.empty() ? std::string(".") : dir;
  const int dfd = ::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return dir_path + ": open folder: " + errno_text(errno);
  if (::fsync(dfd) != 0) {
    const int err = errno;
    ::close(dfd);
    return dir_path + ": fsync folder: " + errno_text(err);
  }
  ::close(dfd);
  return "";
}

}  // namespace ferrite::persist
