// The daemon's snapshot thread (persist/snapshotter.h): snapshots and AOF rewrites taken while
// writers keep mutating the store leave a folder whose recovery equals the store at the end;
// the files a new base replaces are removed; asking while one runs; the schedule.
#include "persist/snapshotter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "persist/backup.h"
#include "persist/manifest.h"
#include "persist/recover.h"
#include "persist/segment.h"
#include "persist/snapshot.h"
#include "persist/snapshot_format.h"
#include "store/partitions.h"

#include "snapshot_test_util.h"

namespace ferrite::persist {
namespace {

using testing::diff;
using testing::dump;
using testing::key_n;
using testing::TempDir;
using testing::test_config;

// Writers like a daemon's workers: each its own context, reporting to the append-only file's
// producer (with its loop hooks) or to the snapshot tail.
struct Writers {
  store::Partitions* parts = nullptr;
  AofWriter* aof = nullptr;
  SnapshotTail* tail = nullptr;
  int keys = 2000;
  std::atomic<bool> run{true};
  std::atomic<std::uint64_t> ops{0};
  std::vector<std::thread> threads;

  void start(unsigned n) {
    for (unsigned t = 0; t < n; ++t) threads.emplace_back([this, t] { loop(t); });
  }
  void stop() {
    run.store(false);
    for (auto& th : threads) th.join();
    threads.clear();
  }

  void loop(unsigned t) {
    store::PartitionedContext ctx(*parts, 0);
    LoopHook* hook = nullptr;
    if (aof != nullptr) {
      ctx.set_observer(&aof->producer(t));
      hook = &aof->producer(t);
      hook->busy();
    } else {
      for (unsigned p = 0; p < ctx.count(); ++p) ctx.set_observer(p, tail->observer(p));
    }
    std::mt19937_64 rng(77 + t);
    std::uint64_t n = 0;
    while (run.load(std::memory_order_relaxed)) {
      ctx.set_now(parts->now_ms());
      for (int i = 0; i < 32; ++i, ++n) {
        const std::string key = key_n("k", rng() % static_cast<std::uint64_t>(keys));
        switch (rng() % 6) {
          case 0: ctx.del(key); break;
          case 1: ctx.touch(key, parts->now_ms() + 3'600'000 + rng() % 1000); break;
          case 2: {
            bool overflow = false;
            ctx.incr_signed(key, 1, &overflow);
            break;
          }
          default: {
            std::string value(rng() % 200, static_cast<char>('a' + t));
            value += std::to_string(n);
            ctx.set(key, value);
            break;
          }
        }
      }
      ops.fetch_add(32, std::memory_order_relaxed);
      if (hook != nullptr) hook->tick();
      ctx.quiescent();
      if (hook != nullptr) hook->idle();
      ctx.offline();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      ctx.online();
      if (hook != nullptr) hook->busy();
    }
    if (hook != nullptr) hook->idle();
    ctx.set_observer(nullptr);
    ctx.offline();
  }
};

void wait_for_ops(const Writers& w, std::uint64_t more) {
  const std::uint64_t until = w.ops.load() + more;
  for (int i = 0; i < 5000 && w.ops.load() < until; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

// The folder's files, by name.
std::set<std::string> files_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

testing::Dump recovered(const std::string& dir, unsigned partitions) {
  store::Partitions dst(test_config(), partitions);
  RecoverOptions ro;
  ro.threads = 2;
  ro.check_snapshot = check_snapshot_file;
  ro.load_snapshot = load_snapshot_file;
  const RecoverResult r = recover_folder(dir, ro, dst);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.snapshot_loaded);
  return dump(dst);
}

SnapshotterOptions base_options(const std::string& dir) {
  SnapshotterOptions o;
  o.dir = dir;
  o.poll_ms = 5;
  o.rewrite_percent = 0;  // only when asked, unless a test says otherwise
  o.snapshot.block_bytes = 64 << 10;
  return o;
}

TEST(SnapshotterConcurrent, RewritesUnderWritersRecoverToTheStoreAtTheEnd) {
  TempDir dir;
  store::Partitions src(test_config(), 2);
  AofOptions ao;
  ao.dir = dir.path();
  ao.workers = 2;
  ao.fsync = FsyncPolicy::kNo;
  ao.ring_bytes = 16 << 20;
  ao.segment_bytes = 128 << 10;
  AofWriter aof(ao, src.at(0));
  ASSERT_EQ(aof.start(), "");
  Snapshotter snap(base_options(dir.path()), src, &aof, nullptr);
  ASSERT_EQ(snap.start(), "");
  Writers w;
  w.parts = &src;
  w.aof = &aof;
  w.start(2);
  wait_for_ops(w, 20'000);
  ASSERT_EQ(snap.save(), "");  // a rewrite while both write
  wait_for_ops(w, 20'000);
  ASSERT_EQ(snap.save(), "");  // and another: the first one's files go
  wait_for_ops(w, 10'000);
  w.stop();
  snap.stop(false);
  aof.stop();
  EXPECT_EQ(aof.stats().ring_drops, 0u);
  const SaveStatus st = snap.status();
  EXPECT_EQ(st.saves, 2u);
  EXPECT_TRUE(st.last_ok);
  EXPECT_GT(st.last_items, 0u);

  // The manifest names the second snapshot and the segments after it; nothing else is left.
  const ManifestLoad m = load_manifest(dir.path());
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.manifest.snapshot, snapshot_file_name(2));
  std::set<std::string> want_files{std::string(kManifestName), m.manifest.snapshot};
  for (const std::uint64_t s : m.manifest.segments) want_files.insert(segment_file_name(s));
  EXPECT_EQ(files_in(dir.path()), want_files);

  const testing::Dump want = dump(src);
  EXPECT_EQ(diff(want, recovered(dir.path(), 2)), "");
}

TEST(SnapshotterConcurrent, SnapshotsWithATailUnderWritersRecoverToTheStoreAtTheEnd) {
  TempDir dir;
  store::Partitions src(test_config(), 2);
  SnapshotTail tail(src.at(0), 2, std::size_t{16} << 20);
  SnapshotterOptions o = base_options(dir.path());
  o.scheduled = true;
  Snapshotter snap(o, src, nullptr, &tail);
  ASSERT_EQ(snap.start(), "");
  Writers w;
  w.parts = &src;
  w.tail = &tail;
  w.start(2);
  wait_for_ops(w, 20'000);
  ASSERT_EQ(snap.save(), "");
  wait_for_ops(w, 10'000);
  w.stop();
  // With the writers gone, the final snapshot is the store as they left it.
  snap.stop(true);
  const SaveStatus st = snap.status();
  EXPECT_EQ(st.saves, 2u);
  const ManifestLoad m = load_manifest(dir.path());
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.manifest.snapshot, snapshot_file_name(2));
  EXPECT_TRUE(m.manifest.segments.empty());
  EXPECT_EQ(files_in(dir.path()), (std::set<std::string>{std::string(kManifestName), snapshot_file_name(2)}));
  EXPECT_EQ(diff(dump(src), recovered(dir.path(), 2)), "");
}

TEST(Snapshotter, BackgroundSaveWhileOneRunsIsRefusedAndARewriteIsScheduled) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  {
    store::PartitionedContext ctx(src, 0);
    ctx.set_now(src.now_ms());
    for (int i = 0; i < 20'000; ++i) ctx.set(key_n("k", static_cast<unsigned long long>(i)), std::string(64, 'v'));
    ctx.offline();
  }
  AofOptions ao;
  ao.dir = dir.path();
  ao.workers = 1;
  AofWriter aof(ao, src.at(0));
  ASSERT_EQ(aof.start(), "");
  SnapshotterOptions o = base_options(dir.path());
  // Hold the first snapshot at its walk's end until the test has asked again.
  static std::atomic<bool> release{false};
  static std::atomic<bool> walked{false};
  release = false;
  walked = false;
  o.snapshot.on_walked = [](void*) {
    walked = true;
    for (int i = 0; i < 10'000 && !release.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  Snapshotter snap(o, src, &aof, nullptr);
  ASSERT_EQ(snap.start(), "");
  ASSERT_EQ(snap.start_save(), "");
  EXPECT_TRUE(snap.status().in_progress);
  for (int i = 0; i < 5000 && !walked.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(walked.load());
  EXPECT_EQ(snap.start_save(), "Background save already in progress");
  bool scheduled = false;
  EXPECT_EQ(snap.start_rewrite(&scheduled), "");
  EXPECT_TRUE(scheduled);
  EXPECT_TRUE(snap.status().rewrite_scheduled);
  release = true;
  // The scheduled rewrite follows the first snapshot.
  for (int i = 0; i < 10'000 && snap.status().saves < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(snap.status().saves, 2u);
  EXPECT_FALSE(snap.status().rewrite_scheduled);
  snap.stop(false);
  aof.stop();
}

TEST(Snapshotter, TakesOneOnceEnoughChangesHappened) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  SnapshotTail tail(src.at(0), 1);
  std::atomic<std::uint64_t> changes{0};
  SnapshotterOptions o = base_options(dir.path());
  o.scheduled = true;
  o.changes = 100;
  o.mutations = [&changes] { return changes.load(); };
  Snapshotter snap(o, src, nullptr, &tail);
  ASSERT_EQ(snap.start(), "");
  changes = 99;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(snap.status().saves, 0u);
  EXPECT_EQ(snap.status().changes_since_save, 99u);
  changes = 100;
  for (int i = 0; i < 5000 && snap.status().saves == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(snap.status().saves, 1u);
  EXPECT_EQ(snap.status().changes_since_save, 0u);
  snap.stop(false);
}

TEST(Snapshotter, AFailedSnapshotIsReportedAndTheFolderKeepsItsBase) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  SnapshotTail tail(src.at(0), 1);
  Snapshotter snap(base_options(dir.path()), src, nullptr, &tail);
  ASSERT_EQ(snap.start(), "");
  ASSERT_EQ(snap.save(), "");
  // The folder cannot take a new file (read-only; root ignores the mode bits, so the test
  // replaces the folder by a file instead).
  const std::string moved = dir.path() + ".moved";
  std::filesystem::rename(dir.path(), moved);
  testing::write_file(dir.path(), "not a folder");
  const std::string err = snap.save();
  EXPECT_NE(err, "");
  const SaveStatus st = snap.status();
  EXPECT_FALSE(st.last_ok);
  EXPECT_EQ(st.last_error, err);
  EXPECT_EQ(st.saves, 1u);
  EXPECT_EQ(st.failures, 1u);
  snap.stop(false);
  std::filesystem::remove(dir.path());
  std::filesystem::rename(moved, dir.path());
  EXPECT_EQ(load_manifest(dir.path()).manifest.snapshot, snapshot_file_name(1));
}

TEST(Snapshotter, ExportsArchivesToColdStorageAndKeepsTheNewest) {
  TempDir dir, cold;
  store::Partitions src(test_config(), 1);
  {
    store::PartitionedContext ctx(src, 0);
    ctx.set_now(src.now_ms());
    for (int i = 0; i < 500; ++i) ctx.set(key_n("k", static_cast<unsigned long long>(i)), "v");
    ctx.offline();
  }
  SnapshotTail tail(src.at(0), 1);
  SnapshotterOptions o = base_options(dir.path());
  o.cold_dir = cold.path() + "/archives";  // made when missing
  o.cold_interval_ms = 1100;               // archive names have a second's resolution
  o.retention = 2;
  Snapshotter snap(o, src, nullptr, &tail);
  ASSERT_EQ(snap.start(), "");
  ASSERT_EQ(snap.save(), "");
  // The first export is due at once (none there yet), then one every 1.1 s.
  for (int i = 0; i < 8000 && snap.status().exports < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  snap.stop(false);
  const SaveStatus st = snap.status();
  EXPECT_GE(st.exports, 3u);
  EXPECT_EQ(st.export_failures, 0u);
  EXPECT_EQ(st.last_export_error, "");
  std::vector<std::string> archives;
  for (const auto& e : std::filesystem::directory_iterator(o.cold_dir)) archives.push_back(e.path().string());
  ASSERT_EQ(archives.size(), 2u) << "retention 2";
  for (const std::string& a : archives) {
    EXPECT_EQ(check_archive(a), "") << a;
    TempDir restored;
    ASSERT_EQ(restore_folder(a, restored.path() + "/data", false), "");
    EXPECT_EQ(diff(dump(src), recovered(restored.path() + "/data", 1)), "");
  }
}

TEST(Snapshotter, AFailedExportIsReportedAndRetriedLater) {
  TempDir dir, cold;
  store::Partitions src(test_config(), 1);
  SnapshotTail tail(src.at(0), 1);
  SnapshotterOptions o = base_options(dir.path());
  testing::write_file(cold.path() + "/file", "not a folder");
  o.cold_dir = cold.path() + "/file/archives";
  o.cold_retry_ms = 60'000;
  Snapshotter snap(o, src, nullptr, &tail);
  ASSERT_EQ(snap.start(), "");
  ASSERT_EQ(snap.save(), "");
  for (int i = 0; i < 5000 && snap.status().export_failures == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  snap.stop(false);
  const SaveStatus st = snap.status();
  EXPECT_EQ(st.export_failures, 1u) << "retried only after cold_retry_ms";
  EXPECT_EQ(st.exports, 0u);
  EXPECT_NE(st.last_export_error.find(cold.path() + "/file/archives"), std::string::npos) << st.last_export_error;
}

}  // namespace
}  // namespace ferrite::persist
