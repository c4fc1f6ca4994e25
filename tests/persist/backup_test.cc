// Backup and restore of a persistence folder (persist/backup.h): an archive taken while an
// AofWriter keeps appending restores to the source's content at one point; damaged archives
// and occupied targets are refused with the file named.
#include "persist/backup.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "persist/aof.h"
#include "persist/crc32c.h"
#include "persist/folder.h"
#include "persist/manifest.h"
#include "persist/recover.h"
#include "persist/segment.h"
#include "persist/snapshot.h"
#include "persist/snapshot_format.h"
#include "snapshot_test_util.h"
#include "store/partitions.h"

namespace ferrite::persist {
namespace {

using testing::Dump;
using testing::eventually;
using testing::key_n;
using testing::read_file;
using testing::segment_bytes;
using testing::set_rec;
using testing::TempDir;
using testing::write_file;


constexpr unsigned kKeys = 4000;

std::string value_of(std::uint64_t op) {
  std::string v = key_n("v", op);
  v.append(40 + op % 64, 'x');
  return v;
}

// The content the writer's first `ops` operations leave (op i sets key i % kKeys to
// value_of(i)), over `base` (what the folder held before them).
Dump content_after(const Dump& base, std::uint64_t ops) {
  Dump d = base;
  for (std::uint64_t i = 0; i < ops; ++i) {
    testing::Entry e;
    e.value = value_of(i);
    d[key_n("k", i % kKeys)] = e;
  }
  return d;
}

// The op whose value a key holds (the number after "v"), or -1 when it is not one of them.
long long op_of(const std::string& value) {
  if (value.size() < 2 || value[0] != 'v') return -1;
  long long n = 0;
  std::size_t i = 1;
  for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i) n = n * 10 + (value[i] - '0');
  return i == 1 ? -1 : n;
}

// A thread setting key (op % kKeys) to value_of(op) for op = 0, 1, ... through `p`, never more
// than 8192 records ahead of the file (a full ring would drop records, and the AOF would no
// longer be the ops in order). Stopped (and joined) by stop() or its destructor.
class OpWriter {
 public:
  OpWriter(store::Store& s, AofProducer& p) : thread_([this, &s, &p] { run(s, p); }) {}
  ~OpWriter() { stop(); }
  OpWriter(const OpWriter&) = delete;
  OpWriter& operator=(const OpWriter&) = delete;
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::atomic<std::uint64_t> done{0};

 private:
  void run(store::Store& s, AofProducer& p) {
    auto ctx = s.attach();
    ctx->set_observer(&p);
    p.busy();
    for (std::uint64_t i = 0; i < 2'000'000 && !stop_.load(std::memory_order_relaxed); ++i) {
      ctx->set_now(s.now_ms());
      if (ctx->set(key_n("k", i % kKeys), value_of(i)).status != store::Status::kOk) {
        ADD_FAILURE() << "set refused at op " << i;
        break;
      }
      done.store(i + 1, std::memory_order_release);
      if (i % 16 == 0) {
        p.tick();
        ctx->quiescent();
      }
      if (i % 1024 == 1023 && i > 8192) {
        p.tick();
        for (int spin = 0; spin < 10'000 && !p.durable(i - 8192); ++spin) {
          std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
      }
    }
    p.tick();
    p.idle();
    ctx->set_observer(nullptr);
  }
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: started once the members above exist
};

// One worker, 256 KiB segments (rotations during a backup), a ring no load fills, no fsync.
AofOptions aof_options(const std::string& dir) {
  AofOptions o;
  o.dir = dir;
  o.workers = 1;
  o.segment_bytes = 256 << 10;
  o.ring_bytes = 16 << 20;
  o.fsync = FsyncPolicy::kNo;
  return o;
}

RecoverOptions recover_options() {
  RecoverOptions ro;
  ro.threads = 2;
  ro.check_snapshot = check_snapshot_file;
  ro.load_snapshot = load_snapshot_file;
  return ro;
}

// A folder written by an AofWriter (small segments: rotations during the backup) while a thread
// keeps setting keys; a backup taken meanwhile; restored into a new folder and recovered into a
// fresh store: its content is the source's after some op C, with C at least every op that was
// on disk when the backup started. With `with_snapshot` the folder starts from a base snapshot.
void backup_under_load(bool with_snapshot) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data";
  store::Partitions parts(testing::test_config(std::size_t{128} << 20, 4), 1);
  store::Store& s = parts.at(0);
  Dump base;
  if (with_snapshot) {
    ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
    auto ctx = s.attach();
    ctx->set_now(s.now_ms());
    for (unsigned i = 0; i < 500; ++i) {
      const std::string k = key_n("base", i), v = key_n("b", i);
      ASSERT_EQ(ctx->set(k, v).status, store::Status::kOk);
      testing::Entry e;
      e.value = v;
      base[k] = e;
    }
    ctx->offline();
    ctx.reset();
    const SnapshotResult sr = write_snapshot(parts, nullptr, src, 1);
    ASSERT_EQ(sr.error, "");
  }
  AofWriter w(aof_options(src), s);
  ASSERT_EQ(w.start(), "");
  if (with_snapshot) {
    ASSERT_EQ(w.set_base(snapshot_file_name(1), 1), "");
  }

  OpWriter writer(s, w.producer(0));
  std::atomic<std::uint64_t>& done = writer.done;
  ASSERT_TRUE(eventually([&] { return done.load() >= 20'000; }, 20'000));
  // Every op up to `before` is in the segments (written to the file) before the backup starts.
  const std::uint64_t before = done.load(std::memory_order_acquire);
  ASSERT_TRUE(eventually([&] { return w.producer(0).durable(before); }, 10'000));
  const std::string archive = tmp.path() + "/archive";
  BackupResult br;
  const std::string err = backup_folder(src, archive, &br);
  const std::uint64_t after = done.load(std::memory_order_acquire);
  writer.stop();
  w.stop();
  ASSERT_EQ(err, "");
  ASSERT_EQ(w.stats().ring_drops, 0u);
  EXPECT_TRUE(br.linked);
  EXPECT_GE(br.attempts, 1u);
  EXPECT_GT(br.files, 1u);
  EXPECT_EQ(br.manifest.snapshot, with_snapshot ? snapshot_file_name(1) : "");
  EXPECT_GE(br.records, before);
  // No staging folder is left in the source.
  for (const auto& e : std::filesystem::directory_iterator(src))
    EXPECT_NE(e.path().filename().string().rfind(".backup-", 0), 0u) << e.path();
  // The archive is a persistence folder of its own, and carries its checksums.
  FolderVerifyOptions vo;
  vo.check_snapshot = check_snapshot_file;
  const FolderVerifyResult av = verify_folder(archive, vo);
  ASSERT_TRUE(av.ok) << av.error;
  EXPECT_FALSE(av.torn_tail);
  EXPECT_EQ(av.snapshot_checked, with_snapshot);
  ASSERT_EQ(check_archive(archive), "");

  const std::string restored = tmp.path() + "/restored";
  RestoreResult rr;
  ASSERT_EQ(restore_folder(archive, restored, false, &rr), "");
  EXPECT_EQ(rr.replaced, "");
  store::Partitions fresh(testing::test_config(std::size_t{128} << 20, 4), 1);
  const RecoverResult rec = recover_folder(restored, recover_options(), fresh);
  ASSERT_EQ(rec.error, "");
  EXPECT_EQ(rec.snapshot_loaded, with_snapshot);
  const Dump got = testing::dump(fresh);

  // The cut: the latest op whose value is in the store. Every value must be one that was written.
  long long cut = -1;
  for (const auto& [k, e] : got) {
    if (k.rfind("base", 0) == 0) continue;
    const long long op = op_of(e.value);
    ASSERT_GE(op, 0) << k << " holds a value never written";
    ASSERT_LT(static_cast<std::uint64_t>(op), after) << k << " holds a value written after the backup ended";
    cut = std::max(cut, op);
  }
  const auto ops = static_cast<std::uint64_t>(cut + 1);
  EXPECT_GE(ops, before) << "the archive lacks ops that were on disk when the backup started";
  std::printf("backup: ops %llu on disk at its start, %llu in the archive, %llu done at its end; %llu files, "
              "%llu bytes, tail cut %llu bytes, %u attempts, %.3f s\n",
              static_cast<unsigned long long>(before), static_cast<unsigned long long>(ops),
              static_cast<unsigned long long>(after), static_cast<unsigned long long>(br.files),
              static_cast<unsigned long long>(br.bytes), static_cast<unsigned long long>(br.tail_cut), br.attempts,
              br.seconds);
  EXPECT_EQ(testing::diff(content_after(base, ops), got), "") << "not the source's content after op " << ops;
  // The source, recovered as it is now, holds at least as much (the archive is a prefix).
  store::Partitions whole(testing::test_config(std::size_t{128} << 20, 4), 1);
  ASSERT_EQ(recover_folder(src, recover_options(), whole).error, "");
  const std::uint64_t total = done.load();
  const Dump now = testing::dump(whole);
  EXPECT_EQ(testing::diff(content_after(base, total), now), "")
      << "after " << total << " ops; k0 holds op " << op_of(now.count("k0") != 0 ? now.at("k0").value : "")
      << "; stats: " << w.stats().records << " records, " << w.stats().ring_drops << " drops";
}

TEST(BackupConcurrent, UnderLoadRestoresTheSourceAtOnePoint) { backup_under_load(false); }
TEST(BackupConcurrent, UnderLoadWithABaseSnapshot) { backup_under_load(true); }

// What an AOF rewrite does to the folder, without its snapshot, again and again while backups
// run: a new segment, the manifest's base moved to it (the segments before it dropped), their
// files removed. Every backup succeeds (starting over when a file it wanted was removed or the
// manifest changed), and each archive holds a window of the op stream: every key whose last op
// up to the archive's latest one falls in the window holds that op's value, no other key is there.
TEST(BackupConcurrent, RewritesRemovingSegmentsMeanwhileAreRetried) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data";
  store::Partitions parts(testing::test_config(std::size_t{128} << 20, 4), 1);
  store::Store& s = parts.at(0);
  AofWriter w(aof_options(src), s);
  ASSERT_EQ(w.start(), "");
  std::atomic<bool> stop{false};
  std::atomic<unsigned> rewrites{0};
  std::string rewrite_error;
  std::thread rewriter([&] {
    while (!stop.load() && rewrite_error.empty()) {
      std::uint64_t seq = 0;
      rewrite_error = w.start_new_segment(&seq);
      if (rewrite_error.empty()) rewrite_error = w.set_base("", seq);
      if (!rewrite_error.empty()) break;
      for (const auto& e : std::filesystem::directory_iterator(src)) {
        const std::uint64_t n = segment_seq_of(e.path().filename().string());
        if (n != 0 && n < seq) std::filesystem::remove(e.path());
      }
      rewrites.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });
  unsigned most_attempts = 0, checked = 0;
  {
    OpWriter ops(s, w.producer(0));
    EXPECT_TRUE(eventually([&] { return ops.done.load() >= 20'000; }, 20'000));
    for (int n = 0; n < 12; ++n) {
      const std::string archive = tmp.path() + "/archive" + std::to_string(n);
      BackupResult br;
      const std::string err = backup_folder(src, archive, &br);
      ASSERT_EQ(err, "") << "backup " << n;
      most_attempts = std::max(most_attempts, br.attempts);
      ASSERT_EQ(check_archive(archive), "");
      store::Partitions fresh(testing::test_config(std::size_t{128} << 20, 4), 1);
      ASSERT_EQ(recover_folder(archive, recover_options(), fresh).error, "");
      const Dump got = testing::dump(fresh);
      if (got.empty()) continue;  // a backup right after a rewrite: one empty segment
      long long lo = -1, hi = -1;
      for (const auto& [k, e] : got) {
        const long long op = op_of(e.value);
        ASSERT_GE(op, 0) << k;
        lo = lo < 0 ? op : std::min(lo, op);
        hi = std::max(hi, op);
      }
      for (unsigned k = 0; k < kKeys; ++k) {
        if (static_cast<long long>(k) > hi) continue;
        const long long last = hi - ((hi - static_cast<long long>(k)) % kKeys);  // k's last op up to hi
        const auto it = got.find(key_n("k", k));
        if (last >= lo) {
          ASSERT_NE(it, got.end()) << "k" << k << " (op " << last << " in the window " << lo << ".." << hi << ")";
          EXPECT_EQ(it->second.value, value_of(static_cast<std::uint64_t>(last))) << "k" << k;
        } else {
          EXPECT_EQ(it, got.end()) << "k" << k << " from before the window " << lo << ".." << hi;
        }
      }
      ++checked;
    }
  }
  stop.store(true);
  rewriter.join();
  w.stop();
  ASSERT_EQ(rewrite_error, "");
  EXPECT_EQ(w.stats().ring_drops, 0u);
  EXPECT_GT(rewrites.load(), 0u);
  EXPECT_GT(checked, 0u);
  std::printf("rewrites during the backups: %u; the most attempts one backup took: %u; %u archives checked\n",
              rewrites.load(), most_attempts, checked);
}

// A folder of two segments (the last with `tail` appended) and its MANIFEST.
void make_folder(const std::string& dir, const std::string& tail = "") {
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0);
  write_file(dir + "/" + segment_file_name(1), segment_bytes(1, {set_rec("a", "1"), set_rec("b", "2")}));
  write_file(dir + "/" + segment_file_name(2), segment_bytes(2, {set_rec("c", "3")}) + tail);
  Manifest m;
  m.generation = 3;
  m.segments = {1, 2};
  ASSERT_EQ(store_manifest(dir, m), "");
}

TEST(Backup, TornTailOfTheLastSegmentIsLeftOut) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data", archive = tmp.path() + "/archive";
  const std::string whole = testing::encoded(set_rec("d", "4"));
  make_folder(src, whole.substr(0, whole.size() - 3));
  BackupResult br;
  ASSERT_EQ(backup_folder(src, archive, &br), "");
  EXPECT_EQ(br.tail_cut, whole.size() - 3);
  EXPECT_EQ(br.records, 3u);
  EXPECT_EQ(br.manifest.generation, 3u);
  EXPECT_EQ(read_file(archive + "/" + segment_file_name(2)), segment_bytes(2, {set_rec("c", "3")}));
  EXPECT_EQ(check_archive(archive), "");
  // The source is left as it was.
  EXPECT_EQ(read_file(src + "/" + segment_file_name(2)).size(),
            segment_bytes(2, {set_rec("c", "3")}).size() + whole.size() - 3);
}

TEST(Backup, RefusesANonEmptyDestinationAndAFolderWithoutManifest) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data", dest = tmp.path() + "/dest";
  make_folder(src);
  ASSERT_EQ(::mkdir(dest.c_str(), 0755), 0);
  write_file(dest + "/x", "x");
  const std::string e = backup_folder(src, dest);
  EXPECT_NE(e.find(dest), std::string::npos) << e;
  EXPECT_NE(e.find("not empty"), std::string::npos) << e;
  EXPECT_EQ(read_file(dest + "/x"), "x");
  const std::string empty = tmp.path() + "/empty";
  ASSERT_EQ(::mkdir(empty.c_str(), 0755), 0);
  const std::string e2 = backup_folder(empty, tmp.path() + "/dest2");
  EXPECT_NE(e2.find(empty + "/MANIFEST"), std::string::npos) << e2;
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/dest2")) << "a failed backup leaves no folder it made";
  // A damaged source is refused (a bad checksum in a segment that is not the last).
  std::string seg = read_file(src + "/" + segment_file_name(1));
  seg[kSegmentHeader + 5] = static_cast<char>(seg[kSegmentHeader + 5] ^ 0x10);
  write_file(src + "/" + segment_file_name(1), seg);
  const std::string e3 = backup_folder(src, tmp.path() + "/dest3");
  EXPECT_NE(e3.find(segment_file_name(1)), std::string::npos) << e3;
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/dest3"));
}

TEST(Backup, AStagingFolderLeftByAKilledBackupIsRemoved) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data";
  make_folder(src);
  // A process that is gone: a child that exited (and was reaped).
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  const std::string stale = src + "/.backup-" + std::to_string(child) + "-1";
  const std::string alive = src + "/.backup-" + std::to_string(::getppid()) + "-1";
  ASSERT_EQ(::mkdir(stale.c_str(), 0700), 0);
  ASSERT_EQ(::link((src + "/" + segment_file_name(1)).c_str(), (stale + "/" + segment_file_name(1)).c_str()), 0);
  ASSERT_EQ(::mkdir(alive.c_str(), 0700), 0);
  ASSERT_EQ(backup_folder(src, tmp.path() + "/dest"), "");
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(alive)) << "the folder of a live process is its own";
}

TEST(Backup, AFileTheManifestNamesThatStaysMissingIsNamed) {
  TempDir tmp;
  const std::string src = tmp.path() + "/data";
  make_folder(src);
  ASSERT_EQ(::unlink((src + "/" + segment_file_name(1)).c_str()), 0);
  BackupResult br;
  const std::string e = backup_folder(src, tmp.path() + "/dest", &br);
  EXPECT_NE(e.find(src + "/" + segment_file_name(1) + ": named by " + src + "/MANIFEST but missing"),
            std::string::npos)
      << e;
  EXPECT_EQ(br.attempts, kBackupAttempts);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/dest"));
  for (const auto& f : std::filesystem::directory_iterator(src))
    EXPECT_NE(f.path().filename().string().rfind(".backup-", 0), 0u) << f.path();
}

// A folder the backup may read but not write (no staging folder there): the files are held open
// instead of linked. Made read-only by its mode, or for root by a read-only tmpfs.
TEST(Backup, AFolderItCannotWriteIsHeldOpenInsteadOfLinked) {
  TempDir tmp;
  const std::string mnt = tmp.path() + "/mnt", src = mnt + "/data";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  const bool root = ::geteuid() == 0;
  if (root && ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "root, and cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  }
  make_folder(src);
  if (root) {
    ASSERT_EQ(::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  } else {
    ASSERT_EQ(::chmod(src.c_str(), 0555), 0);
  }
  BackupResult br;
  const std::string e = backup_folder(src, tmp.path() + "/dest", &br);
  if (root) {
    ::umount2(mnt.c_str(), MNT_DETACH);
  } else {
    ::chmod(src.c_str(), 0755);
  }
  ASSERT_EQ(e, "");
  EXPECT_FALSE(br.linked);
  EXPECT_EQ(br.records, 3u);
  EXPECT_EQ(check_archive(tmp.path() + "/dest"), "");
}

class Restore : public ::testing::Test {
 protected:
  void SetUp() override {
    make_folder(src_);
    ASSERT_EQ(backup_folder(src_, archive_), "");
  }
  TempDir tmp_;
  std::string src_ = tmp_.path() + "/data", archive_ = tmp_.path() + "/archive",
              target_ = tmp_.path() + "/node/data";
};

TEST_F(Restore, IntoANewFolderLoads) {
  RestoreResult rr;
  ASSERT_EQ(restore_folder(archive_, target_, false, &rr), "");
  EXPECT_EQ(rr.archive.records, 3u);
  EXPECT_EQ(rr.archive.files.size(), 3u);  // two segments and the MANIFEST
  EXPECT_FALSE(std::filesystem::exists(target_ + "/CHECKSUMS"));
  for (const auto& e : std::filesystem::directory_iterator(target_))
    EXPECT_EQ(e.path().filename().string()[0] == '.', false) << "left behind: " << e.path();
  store::Partitions fresh(testing::test_config(std::size_t{16} << 20, 4), 1);
  ASSERT_EQ(recover_folder(target_, recover_options(), fresh).error, "");
  const Dump d = testing::dump(fresh);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d.at("c").value, "3");
}

TEST_F(Restore, IntoTheArchiveItselfIsRefused) {
  RestoreResult rr;
  const std::string e = restore_folder(archive_, archive_ + "/.", true, &rr);
  EXPECT_NE(e.find("is the archive itself"), std::string::npos) << e;
  EXPECT_EQ(check_archive(archive_), "");
}

TEST_F(Restore, DamagedFileIsRefusedWithItsName) {
  std::string seg = read_file(archive_ + "/" + segment_file_name(1));
  seg.back() = static_cast<char>(seg.back() ^ 1);
  write_file(archive_ + "/" + segment_file_name(1), seg);
  const std::string e = restore_folder(archive_, target_, false);
  EXPECT_NE(e.find(archive_ + "/" + segment_file_name(1)), std::string::npos) << e;
  EXPECT_NE(e.find("crc32c"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(target_ + "/MANIFEST"));
}

TEST_F(Restore, DamagedChecksumsIsRefusedWithItsName) {
  std::string sums = read_file(archive_ + "/CHECKSUMS");
  const std::size_t at = sums.find("file MANIFEST ");
  ASSERT_NE(at, std::string::npos);
  sums[at + 14] = sums[at + 14] == '9' ? '8' : '9';  // the MANIFEST's size
  write_file(archive_ + "/CHECKSUMS", sums);
  const std::string e = restore_folder(archive_, target_, false);
  EXPECT_NE(e.find(archive_ + "/CHECKSUMS line 5: checksum mismatch"), std::string::npos) << e;
  std::filesystem::remove(archive_ + "/CHECKSUMS");
  const std::string e2 = restore_folder(archive_, target_, false);
  EXPECT_NE(e2.find(archive_ + "/CHECKSUMS"), std::string::npos) << e2;
  EXPECT_FALSE(std::filesystem::exists(target_ + "/MANIFEST"));
}

TEST_F(Restore, MissingFileIsRefusedWithItsName) {
  std::filesystem::remove(archive_ + "/" + segment_file_name(2));
  const std::string e = restore_folder(archive_, target_, false);
  EXPECT_NE(e.find(archive_ + "/" + segment_file_name(2)), std::string::npos) << e;
  EXPECT_NE(e.find("No such file"), std::string::npos) << e;
}

TEST_F(Restore, AFileTheChecksumsDoNotListIsRefused) {
  // A MANIFEST naming a third segment the archive's CHECKSUMS does not list.
  write_file(archive_ + "/" + segment_file_name(3), segment_bytes(3, {}));
  Manifest m;
  m.generation = 4;
  m.segments = {1, 2, 3};
  const std::string text = format_manifest(m);
  write_file(archive_ + "/MANIFEST", text);
  const std::string e = restore_folder(archive_, target_, false);
  EXPECT_NE(e.find(archive_ + "/MANIFEST"), std::string::npos) << e;  // its size or crc differs
}

TEST_F(Restore, NonEmptyTargetIsRefusedUnlessForced) {
  std::filesystem::create_directories(target_);
  write_file(target_ + "/" + segment_file_name(7), segment_bytes(7, {set_rec("old", "x")}));
  Manifest old;
  old.generation = 9;
  old.segments = {7};
  ASSERT_EQ(store_manifest(target_, old), "");
  const std::string e = restore_folder(archive_, target_, false);
  EXPECT_NE(e.find(target_), std::string::npos) << e;
  EXPECT_NE(e.find("refusing"), std::string::npos) << e;
  EXPECT_EQ(load_manifest(target_).manifest.generation, 9u);

  RestoreResult rr;
  ASSERT_EQ(restore_folder(archive_, target_, true, &rr), "");
  ASSERT_NE(rr.replaced, "");
  EXPECT_EQ(rr.replaced_files, 2u);
  EXPECT_TRUE(std::filesystem::exists(rr.replaced + "/" + segment_file_name(7)));
  EXPECT_EQ(load_manifest(rr.replaced).manifest.generation, 9u);
  EXPECT_FALSE(std::filesystem::exists(target_ + "/" + segment_file_name(7)));
  EXPECT_EQ(load_manifest(target_).manifest.generation, 3u);
  store::Partitions fresh(testing::test_config(std::size_t{16} << 20, 4), 1);
  ASSERT_EQ(recover_folder(target_, recover_options(), fresh).error, "");
  const Dump d = testing::dump(fresh);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.count("old"), 0u);
}

TEST(Checksums, RoundTripAndRefusals) {
  std::vector<ChecksumEntry> in = {{"b.seg", 10, 0xdeadbeef}, {"MANIFEST", 71, 0x1}};
  const std::string text = format_checksums(in);
  std::vector<ChecksumEntry> out;
  ASSERT_EQ(parse_checksums(text, "X", &out), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "MANIFEST");  // sorted
  EXPECT_EQ(out[1].size, 10u);
  EXPECT_EQ(out[1].crc, 0xdeadbeefu);
  EXPECT_NE(parse_checksums(text.substr(0, text.size() - 1), "X", &out).find("X line 4"), std::string::npos);
  std::string flipped = text;
  flipped[25] = static_cast<char>(flipped[25] ^ 1);
  EXPECT_NE(parse_checksums(flipped, "X", &out).find("checksum mismatch"), std::string::npos);
  EXPECT_NE(parse_checksums("", "X", &out), "");
  EXPECT_NE(parse_checksums("ferrite-checksums 1\n", "X", &out).find("crc32c line missing"), std::string::npos);
  // Out of order, twice, a bad name.
  auto sealed = [](std::string body) {
    std::string t = "ferrite-checksums 1\n" + body;
    char crc[24];
    std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(t));
    return t + crc;
  };
  EXPECT_NE(parse_checksums(sealed("file b 1 00000000\nfile a 1 00000000\n"), "X", &out).find("out of order"),
            std::string::npos);
  EXPECT_NE(parse_checksums(sealed("file a 1 00000000\nfile a 1 00000000\n"), "X", &out).find("twice"),
            std::string::npos);
  EXPECT_NE(parse_checksums(sealed("file ../a 1 00000000\n"), "X", &out).find("plain file name"), std::string::npos);
  EXPECT_NE(parse_checksums(sealed("file a 01 00000000\n"), "X", &out).find("bad size"), std::string::npos);
  EXPECT_EQ(parse_checksums(sealed("file a 1 0000000a\n"), "X", &out), "");
}

}  // namespace
}  // namespace ferrite::persist
