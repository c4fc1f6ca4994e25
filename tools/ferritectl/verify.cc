#include "verify.h"

#include <nlohmann/json.hpp>

#include "options.h"
#include "persist/folder.h"

namespace ferrite::ctl {
namespace {

int status_of(const persist::FolderVerifyResult& v) {
  if (!v.ok) return kExitVerifyDamaged;
  if (v.torn_tail && !v.torn_cut) return kExitVerifyTorn;
  return kExitOk;
}

void print_json(const std::string& path, const persist::FolderVerifyResult& v, std::ostream& out) {
  nlohmann::ordered_json j;
  j["ok"] = status_of(v) == kExitOk;
  j["path"] = path;
  j["manifest"] = !v.manifest_absent;
  j["generation"] = v.manifest.generation;
  j["snapshot"] = v.manifest.snapshot.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(v.manifest.snapshot);
  j["snapshot_checked"] = v.snapshot_checked;
  j["segments"] = v.segments.size();
  j["records"] = v.records;
  j["bytes"] = v.bytes;
  if (v.torn_tail) {
    j["torn_tail"] = {
        {"file", v.torn_file}, {"offset", v.torn_offset}, {"bytes", v.torn_bytes}, {"cut", v.torn_cut}};
  } else {
    j["torn_tail"] = nullptr;
  }
  if (!v.ok) {
    j["error"] = {{"file", v.error_file}, {"offset", v.error_offset}, {"message", v.error}};
  } else {
    j["error"] = nullptr;
  }
  j["ignored"] = v.ignored;
  j["warnings"] = v.warnings;
  out << j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

void print_text(const std::string& path, const persist::FolderVerifyResult& v, std::ostream& out) {
  const int status = status_of(v);
  if (status == kExitVerifyDamaged) {
    out << "BAD " << v.error << "\n";
    return;
  }
  out << (status == kExitOk ? "OK " : "TORN ") << path;
  if (v.manifest_absent) {
    out << ": empty (no MANIFEST, no segment)\n";
    return;
  }
  out << ": generation " << v.manifest.generation;
  if (!v.manifest.snapshot.empty()) {
    out << ", snapshot " << v.manifest.snapshot
        << (v.snapshot_checked ? " (checked)" : " (present; content not checked)");
  }
  out << ", " << v.segments.size() << " segments, " << v.records << " records, " << v.bytes << " bytes\n";
  if (v.torn_tail) {
    out << "torn tail: " << v.torn_file << " offset " << v.torn_offset << ", " << v.torn_bytes << " bytes"
        << (v.torn_cut ? " (cut)" : " (not cut: --truncate cuts it; ferrited cuts it at start-up)") << "\n";
  }
  for (const std::string& f : v.ignored)
    out << "ignored: " << f << " (not named by the MANIFEST: a leftover)\n";
}

}  // namespace

int run_verify(const std::string& path, bool truncate, bool json, std::ostream& out) {
  persist::FolderVerifyOptions opts;
  opts.truncate_torn_tail = truncate;
  const persist::FolderVerifyResult v = persist::verify_folder(path, opts);
  if (json) {
    print_json(path, v, out);
  } else {
    print_text(path, v, out);
  }
  return status_of(v);
}

}  // namespace ferrite::ctl
