// The append-only file at run time: producers on worker threads, the writer thread, the
// segments it leaves, replayed and compared with the store (persist/aof.h).
#include "persist/aof.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/rng.h"
#include "persist/manifest.h"
#include "persist/folder.h"
#include "persist/record.h"
#include "persist/recover.h"
#include "persist/segment.h"
#include "persist_test_util.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::persist {
namespace {

using testing::read_file;
using testing::eventually;
using testing::TempDir;

// Appends (GCC 12's -Wrestrict misfires on `k_of(i)`).
std::string cat(std::string a, const std::string& b) {
  a.append(b);
  return a;
}
std::string k_of(int i) { return cat("k", std::to_string(i)); }

int scale() {
  const char* s = std::getenv("FERRITE_TEST_SCALE");
  const int v = s != nullptr ? std::atoi(s) : 1;
  return v > 0 ? v : 1;
}

struct Replayed {
  std::string value;
  std::uint64_t version = 0;
  std::uint64_t deadline = 0;
  std::uint32_t flags = 0;
  std::uint8_t type = 0;
};

struct Folder {
  std::vector<std::uint64_t> segments;
  std::vector<Record> records;
  std::vector<std::string> storage;  // the segments' bytes (the records point into them)
  std::string error;
};

// Reads every segment the manifest names, checking headers and records strictly.
Folder read_folder(const std::string& dir) {
  Folder f;
  const ManifestLoad load = load_manifest(dir);
  if (!load.error.empty() || load.absent) {
    f.error = load.absent ? "no manifest" : load.error;
    return f;
  }
  f.segments = load.manifest.segments;
  f.storage.reserve(f.segments.size());
  for (const std::uint64_t seq : f.segments) {
    f.storage.push_back(read_file(dir + "/" + segment_file_name(seq)));
    const std::string& bytes = f.storage.back();
    SegmentHeader h;
    if (const char* e = decode_segment_header(bytes, &h); *e != '\0' || h.seq != seq) {
      f.error = segment_file_name(seq) + ": bad header";
      return f;
    }
    std::size_t off = kSegmentHeader;
    while (off < bytes.size()) {
      Record r;
      std::size_t used = 0;
      const DecodeStatus st = decode(std::string_view(bytes).substr(off), &r, &used);
      if (st != DecodeStatus::kOk) {
        f.error = cat(cat(cat(segment_file_name(seq), " at "), std::to_string(off)), decode_status_name(st));
        return f;
      }
      f.records.push_back(r);
      off += used;
    }
  }
  return f;
}

std::map<std::string, Replayed> replay(const std::vector<Record>& records) {
  std::map<std::string, Replayed> m;
  for (const Record& r : records) {
    switch (r.type) {
      case RecordType::kSet:
        m[std::string(r.key)] = Replayed{std::string(r.value), r.version, r.deadline_ms, r.flags, r.item_type};
        break;
      case RecordType::kDelete: {
        auto it = m.find(std::string(r.key));
        if (r.version == 0) {  // a tombstone: the key, whatever its version, present or not
          if (it != m.end()) m.erase(it);
          break;
        }
        EXPECT_NE(it, m.end()) << "delete of an absent key " << r.key;
        if (it != m.end()) {
          EXPECT_EQ(it->second.version, r.version) << "delete of another version of " << r.key;
          m.erase(it);
        }
        break;
      }
      case RecordType::kTouch: {
        auto it = m.find(std::string(r.key));
        EXPECT_NE(it, m.end()) << "touch of an absent key " << r.key;
        if (it != m.end()) it->second.deadline = r.deadline_ms;
        break;
      }
      case RecordType::kFlush: m.clear(); break;
    }
  }
  return m;
}

store::StoreConfig store_config(unsigned contexts) {
  store::StoreConfig c;
  c.memory_limit = std::size_t{64} << 20;
  c.max_contexts = contexts;
  c.max_item_size = std::size_t{4} << 20;
  return c;
}

AofOptions options(const std::string& dir, unsigned workers) {
  AofOptions o;
  o.dir = dir;
  o.workers = workers;
  o.ring_bytes = 256 << 10;
  o.write_buffer_bytes = 128 << 10;
  return o;
}

// A worker's context on `s` whose mutations go to `p`, awake, its clock set.
std::unique_ptr<store::Context> attached(store::Store& s, AofProducer& p) {
  auto ctx = s.attach();
  ctx->set_observer(&p);
  p.busy();
  ctx->set_now(s.now_ms());
  return ctx;
}


// Every live key of `keys` as the store has it.
std::map<std::string, Replayed> store_content(store::Context& ctx, const store::Store& s,
                                              const std::vector<std::string>& keys) {
  std::map<std::string, Replayed> m;
  for (const std::string& k : keys) {
    const store::ItemView v = ctx.get(k);
    if (!v) continue;
    m[k] = Replayed{std::string(v.value()), v.cas(), s.to_unix_ms(v.expires_at_ms()), v.flags(),
                    static_cast<std::uint8_t>(v.type())};
  }
  return m;
}

void expect_same(const std::map<std::string, Replayed>& want, const std::map<std::string, Replayed>& got) {
  EXPECT_EQ(want.size(), got.size());
  for (const auto& [k, w] : want) {
    auto it = got.find(k);
    ASSERT_NE(it, got.end()) << "missing from the AOF: " << k;
    EXPECT_EQ(it->second.value, w.value) << k;
    EXPECT_EQ(it->second.version, w.version) << k;
    EXPECT_EQ(it->second.deadline, w.deadline) << k;
    EXPECT_EQ(it->second.flags, w.flags) << k;
    EXPECT_EQ(it->second.type, w.type) << k;
  }
}

TEST(Aof, NewFolderStartsWithSegmentOneAndItsManifest) {
  TempDir dir;
  store::Store s(store_config(1));
  AofWriter w(options(dir.path() + "/data", 1), s);
  ASSERT_EQ(w.start(), "");
  w.stop();
  const ManifestLoad m = load_manifest(dir.path() + "/data");
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.manifest.segments, std::vector<std::uint64_t>{1});
  EXPECT_EQ(read_file(dir.path() + "/data/aof-0000000001.seg").size(), kSegmentHeader);
  // A restart continues in a new segment, named by the manifest after the first.
  AofWriter again(options(dir.path() + "/data", 1), s);
  ASSERT_EQ(again.start(), "");
  again.stop();
  EXPECT_EQ(load_manifest(dir.path() + "/data").manifest.segments, (std::vector<std::uint64_t>{1, 2}));
}

TEST(Aof, EveryKindOfMutationBecomesItsRecord) {
  TempDir dir;
  store::Store s(store_config(1));
  AofWriter w(options(dir.path(), 1), s);
  ASSERT_EQ(w.start(), "");
  auto ctx = s.attach();
  ctx->set_observer(&w.producer(0));
  w.producer(0).busy();
  ctx->set_now(s.now_ms());
  store::SetRequest req;
  req.flags = 7;
  req.expires_at_ms = s.now_ms() + 100'000;
  ctx->set("a", "1", req);
  ctx->set("b", "hello");
  ctx->incr("a", 41);
  ctx->touch("b", s.now_ms() + 50'000);
  ctx->del("b");
  store::SetRequest hash;
  hash.type = store::ItemType::kHash;
  ctx->set("h", std::string("\0\0\0\0", 4), hash);
  ctx->set("big", std::string(200 << 10, 'x'));  // over a quarter of the ring: the heap path
  w.producer(0).tick();
  w.producer(0).idle();
  ASSERT_TRUE(eventually([&] { return w.producer(0).durable(w.producer(0).written()); }, 3000));
  EXPECT_EQ(w.producer(0).written(), 7u);
  EXPECT_EQ(w.stats().slow_path, 1u);
  w.stop();
  const Folder f = read_folder(dir.path());
  ASSERT_EQ(f.error, "");
  ASSERT_EQ(f.records.size(), 7u);
  EXPECT_EQ(f.records[0].type, RecordType::kSet);
  EXPECT_EQ(f.records[0].flags, 7u);
  EXPECT_EQ(f.records[0].deadline_ms, s.to_unix_ms(req.expires_at_ms));
  EXPECT_EQ(f.records[2].type, RecordType::kSet);  // a counter as its resulting value
  EXPECT_EQ(f.records[2].value, "42");
  EXPECT_EQ(f.records[3].type, RecordType::kTouch);
  EXPECT_EQ(f.records[4].type, RecordType::kDelete);
  EXPECT_EQ(f.records[5].item_type, 1u);
  EXPECT_EQ(f.records[6].value.size(), std::size_t{200} << 10);
  expect_same(store_content(*ctx, s, {"a", "b", "h", "big"}), replay(f.records));
  ctx->flush();
  ctx.reset();
}

// Two workers mutate the same keys; the segments, replayed in order, give the store's content:
// the records of one key reached the file in the store's order.
void two_workers_same_keys(StampSource stamps) {
  TempDir dir;
  store::Store s(store_config(2));
  AofOptions o = options(dir.path(), 2);
  o.stamps = stamps;
  o.segment_bytes = 256 << 10;  // several rotations
  o.ring_bytes = 16 << 20;      // no drops, even with the writer starved of CPU
  o.fsync = FsyncPolicy::kNo;
  AofWriter w(o, s);
  ASSERT_EQ(w.start(), "");
  std::vector<std::string> keys;
  for (int i = 0; i < 48; ++i) keys.push_back(cat("key:", std::to_string(i)));
  const int ops = 40'000 * scale();
  auto work = [&](unsigned id) {
    auto ctx = s.attach();
    AofProducer& p = w.producer(id);
    ctx->set_observer(&p);
    p.busy();
    Rng rng(id + 1);
    for (int i = 0; i < ops; ++i) {
      ctx->set_now(s.now_ms());
      const std::string& k = keys[rng.next() % keys.size()];
      switch (rng.next() % 8) {
        case 0: ctx->del(k); break;
        case 1: ctx->incr_signed(k, 1, nullptr); break;
        case 2: ctx->touch(k, s.now_ms() + 1'000'000 + rng.next() % 1000); break;
        default: ctx->set(k, cat(cat(cat(std::to_string(id), ":"), std::to_string(i)), std::string(rng.next() % 300, 'v'))); break;
      }
      if (i % 16 == 0) {
        p.tick();
        ctx->quiescent();
      }
      if (i % 5000 == 4999) {  // a nap: the other worker's records must not wait for this one
        p.idle();
        ctx->offline();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        ctx->online();
        p.busy();
      }
    }
    p.idle();
    ctx->set_observer(nullptr);
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  w.stop();
  const AofStats st = w.stats();
  EXPECT_EQ(st.ring_drops, 0u);
  EXPECT_GT(st.rotations, 0u);
  const Folder f = read_folder(dir.path());
  ASSERT_EQ(f.error, "");
  EXPECT_EQ(f.records.size(), w.producer(0).written() + w.producer(1).written());
  EXPECT_EQ(st.records, f.records.size());
  auto ctx = s.attach();
  ctx->set_now(s.now_ms());
  const std::map<std::string, Replayed> content = store_content(*ctx, s, keys);
  expect_same(content, replay(f.records));

  // The folder passes p-files' verifier, and its recovery (two applying threads) rebuilds the
  // same content in a fresh store (versions aside: the recovering store numbers its own).
  const FolderVerifyResult v = verify_folder(dir.path());
  EXPECT_TRUE(v.ok) << v.error;
  EXPECT_EQ(v.records, f.records.size());
  EXPECT_FALSE(v.torn_tail);
  store::Partitions fresh(store_config(3), 1);
  RecoverOptions ro;
  ro.threads = 2;
  const RecoverResult rr = recover_folder(dir.path(), ro, fresh);
  ASSERT_EQ(rr.error, "");
  auto rctx = fresh.at(0).attach();
  rctx->set_now(fresh.at(0).now_ms());
  std::map<std::string, Replayed> recovered = store_content(*rctx, fresh.at(0), keys);
  ASSERT_EQ(recovered.size(), content.size());
  for (auto& [k, r] : recovered) {
    auto it = content.find(k);
    ASSERT_NE(it, content.end()) << k;
    r.version = it->second.version;
  }
  expect_same(content, recovered);
}

TEST(AofConcurrent, TwoWorkersSameKeysCounterStamps) { two_workers_same_keys(StampSource::kCounter); }
TEST(AofConcurrent, TwoWorkersSameKeysAutoStamps) { two_workers_same_keys(StampSource::kAuto); }

// The order watermark: a record is written only once every awake worker has said that its own
// future records are stamped later; a sleeping worker holds nothing back.
TEST(AofConcurrent, AnAwakeWorkerHoldsLaterRecordsBackASleepingOneDoesNot) {
  for (const StampSource stamps : {StampSource::kCounter, StampSource::kAuto}) {
    TempDir dir;
    store::Store s(store_config(2));
    AofOptions o = options(dir.path(), 2);
    o.fsync = FsyncPolicy::kNo;
    o.stamps = stamps;
    AofWriter w(o, s);
    ASSERT_EQ(w.start(), "");
    auto c0 = s.attach();
    auto c1 = s.attach();
    AofProducer& p0 = w.producer(0);
    AofProducer& p1 = w.producer(1);
    c0->set_observer(&p0);
    c1->set_observer(&p1);
    c0->set_now(s.now_ms());
    c1->set_now(s.now_ms());
    p0.busy();
    p0.tick();
    p1.busy();
    c1->set("x", "1");
    p1.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_FALSE(p1.durable(1)) << "written before worker 0 passed its stamp";
    p0.tick();  // worker 0's future records come after worker 1's set
    EXPECT_TRUE(eventually([&] { return p1.durable(1); }, 3000));
    c1->set("x", "2");
    p1.tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_FALSE(p1.durable(2));
    p0.idle();  // asleep: no longer holds the others back
    EXPECT_TRUE(eventually([&] { return p1.durable(2); }, 3000));
    p0.busy();  // awake again: its next record is stamped after everything written meanwhile
    c0->set("x", "3");
    p0.idle();
    p1.idle();
    EXPECT_TRUE(eventually([&] { return p0.durable(1); }, 3000));
    w.stop();
    const Folder f = read_folder(dir.path());
    ASSERT_EQ(f.error, "");
    ASSERT_EQ(f.records.size(), 3u);
    EXPECT_EQ(f.records[0].value, "1");
    EXPECT_EQ(f.records[1].value, "2");
    EXPECT_EQ(f.records[2].value, "3");
    c0->set_observer(nullptr);
    c1->set_observer(nullptr);
  }
}

TEST(AofConcurrent, DurablePositionsByPolicy) {
  for (const FsyncPolicy policy : {FsyncPolicy::kAlways, FsyncPolicy::kEverysec, FsyncPolicy::kNo}) {
    SCOPED_TRACE(fsync_policy_name(policy));
    TempDir dir;
    store::Store s(store_config(1));
    AofOptions o = options(dir.path(), 1);
    o.fsync = policy;
    AofWriter w(o, s);
    ASSERT_EQ(w.start(), "");
    AofProducer& p = w.producer(0);
    auto ctx = attached(s, p);
    EXPECT_EQ(p.wait_for_disk(), policy == FsyncPolicy::kAlways);
    ctx->set("k", "v");
    const std::uint64_t pos = p.written();
    EXPECT_EQ(pos, 1u);
    EXPECT_FALSE(p.durable(pos));  // the worker has not published its watermark yet
    const auto t0 = std::chrono::steady_clock::now();
    p.tick();
    ASSERT_TRUE(eventually([&] { return p.durable(pos); }, 3000));
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    const AofStats st = w.stats();
    if (policy == FsyncPolicy::kAlways) {
      EXPECT_GE(st.fsyncs, 1u);
      EXPECT_LT(ms, 1000);
    } else if (policy == FsyncPolicy::kNo) {
      EXPECT_EQ(st.fsyncs, 0u);
      EXPECT_LT(ms, 1000);
    } else {
      EXPECT_GE(st.fsyncs, 1u);  // durable only after the once-a-second fdatasync
      EXPECT_LE(ms, 1500);
    }
    ctx->set_observer(nullptr);
    p.idle();
    w.stop();
  }
}

TEST(Aof, FullRingUnderEverysecDropsAndCounts) {
  TempDir dir;
  store::Store s(store_config(1));
  AofOptions o = options(dir.path(), 1);
  o.ring_bytes = 64 << 10;
  AofWriter w(o, s);  // not started: nothing drains the ring
  auto ctx = s.attach();
  ctx->set_observer(&w.producer(0));
  ctx->set_now(s.now_ms());
  for (int i = 0; i < 2000; ++i) ctx->set(k_of(i), std::string(100, 'v'));
  const AofStats st = w.stats();
  EXPECT_GT(st.ring_drops, 0u);
  EXPECT_TRUE(st.incomplete);
  EXPECT_TRUE(w.producer(0).congested());
  EXPECT_EQ(w.producer(0).written() + st.ring_drops, 2000u);
  ASSERT_EQ(w.start(), "");
  ASSERT_TRUE(eventually([&] { return !w.producer(0).congested(); }));
  w.stop();
  EXPECT_EQ(read_folder(dir.path()).records.size(), w.producer(0).written());
  ctx->set_observer(nullptr);
}

TEST(Aof, FullRingUnderEverysecWritesADeleteForAStoreThatDoesNotFit) {
  // A store that finds the ring full is written as a delete of its key (version 0), when that
  // fits: replayed, the key is gone, never back with the value it had before.
  TempDir dir;
  store::Store s(store_config(1));
  AofOptions o = options(dir.path(), 1);
  o.ring_bytes = 64 << 10;
  AofWriter w(o, s);  // not started: nothing drains the ring
  auto ctx = s.attach();
  ctx->set_observer(&w.producer(0));
  ctx->set_now(s.now_ms());
  ASSERT_EQ(ctx->set("victim", "old").status, store::Status::kOk);
  // Values of 4000 bytes fill the ring until one no longer fits (the room left is under 4 KB).
  int i = 0;
  while (w.stats().ring_tombstones == 0 && i < 100) {
    ASSERT_EQ(ctx->set(k_of(i++), std::string(4000, 'v')).status, store::Status::kOk);
  }
  const std::uint64_t filler_tombstones = w.stats().ring_tombstones;
  ASSERT_EQ(filler_tombstones, 1u);  // the last filler went in as its delete
  ASSERT_EQ(ctx->set("victim", std::string(4000, 'n')).status, store::Status::kOk);
  AofStats st = w.stats();
  EXPECT_EQ(st.ring_tombstones, 2u);
  EXPECT_EQ(st.ring_drops, 0u);
  EXPECT_FALSE(st.incomplete);
  ASSERT_EQ(w.start(), "");
  ASSERT_TRUE(eventually([&] { return !w.producer(0).congested(); }));
  w.stop();
  const Folder f = read_folder(dir.path());
  ASSERT_FALSE(f.records.empty());
  const Record& last = f.records.back();
  EXPECT_EQ(last.type, RecordType::kDelete);
  EXPECT_EQ(last.key, "victim");
  EXPECT_EQ(last.version, 0u);
  const auto state = replay(f.records);
  EXPECT_EQ(state.count("victim"), 0u);
  EXPECT_EQ(state.count(k_of(i - 1)), 0u);  // the filler that did not fit: gone too
  EXPECT_EQ(state.count(k_of(0)), 1u);
  ctx->set_observer(nullptr);
}

TEST(Aof, FullRingUnderAlwaysGoesToTheHeapAndCongests) {
  TempDir dir;
  store::Store s(store_config(1));
  AofOptions o = options(dir.path(), 1);
  o.ring_bytes = 64 << 10;
  o.fsync = FsyncPolicy::kAlways;
  AofWriter w(o, s);
  auto ctx = s.attach();
  ctx->set_observer(&w.producer(0));
  ctx->set_now(s.now_ms());
  for (int i = 0; i < 2000; ++i) ctx->set(k_of(i), std::string(100, 'v'));
  EXPECT_EQ(w.stats().ring_drops, 0u);
  EXPECT_GT(w.stats().slow_path, 0u);
  EXPECT_TRUE(w.producer(0).congested());
  EXPECT_EQ(w.producer(0).written(), 2000u);
  ASSERT_EQ(w.start(), "");
  ASSERT_TRUE(eventually([&] { return w.producer(0).durable(2000) && !w.producer(0).congested(); }));
  w.stop();
  const Folder f = read_folder(dir.path());
  ASSERT_EQ(f.error, "");
  ASSERT_EQ(f.records.size(), 2000u);
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(f.records[static_cast<std::size_t>(i)].key, k_of(i));
  ctx->set_observer(nullptr);
}

class Waker final : public Durability::Waker {
 public:
  void wake() noexcept override { wakes.fetch_add(1); }
  std::atomic<int> wakes{0};
};

// A write that fails (here: over RLIMIT_FSIZE, EFBIG) sets failed(); the records wait, and are
// written once the disk takes them again.
TEST(Aof, FailedWriteIsReportedAndRetriedUntilItWorks) {
  TempDir dir;
  store::Store s(store_config(1));
  AofOptions o = options(dir.path(), 1);
  o.fsync = FsyncPolicy::kAlways;
  AofWriter w(o, s);
  ASSERT_EQ(w.start(), "");
  Waker waker;
  AofProducer& p = w.producer(0);
  p.set_waker(&waker);
  auto ctx = attached(s, p);

  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*old_handler)(int) = ::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old;
  small.rlim_cur = 4096;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  for (int i = 0; i < 20; ++i) ctx->set(k_of(i), std::string(1000, 'a' + i % 26));
  p.tick();
  const bool failed = eventually([&] { return p.failed(); }, 3000);
  const std::uint64_t pos = p.written();
  const bool durable_while_failing = p.durable(pos);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &old), 0);
  ASSERT_TRUE(failed);
  EXPECT_FALSE(durable_while_failing);
  EXPECT_NE(std::string(p.failure()).find("EFBIG"), std::string::npos) << p.failure();
  EXPECT_GT(w.stats().failures, 0u);
  EXPECT_GT(waker.wakes.load(), 0);
  ASSERT_TRUE(eventually([&] { return p.durable(pos); }, 5000));
  EXPECT_FALSE(p.failed());
  ::signal(SIGXFSZ, old_handler);
  ctx->set_observer(nullptr);
  p.idle();
  w.stop();
  const Folder f = read_folder(dir.path());
  ASSERT_EQ(f.error, "");
  ASSERT_EQ(f.records.size(), 20u);
  expect_same(store_content(*ctx, s, [] {
                std::vector<std::string> k;
                for (int i = 0; i < 20; ++i) k.push_back(k_of(i));
                return k;
              }()),
              replay(f.records));
}

// A full file system (a 512 KiB tmpfs, when this process may mount one): ENOSPC under always,
// the positions not durable, then writing again once space returns, nothing lost or doubled.
TEST(Aof, FullDiskIsReportedAndWritingResumesWhenSpaceReturns) {
  TempDir dir;
  const std::string mnt = dir.file("tmpfs");
  ASSERT_TRUE(std::filesystem::create_directory(mnt));
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs CAP_SYS_ADMIN)";
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string filler = mnt + "/filler";
  {
    std::ofstream f(filler, std::ios::binary);
    const std::string block(64 << 10, 'f');
    for (int i = 0; i < 7; ++i) f.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  store::Store s(store_config(1));
  AofOptions o = options(mnt + "/data", 1);
  o.fsync = FsyncPolicy::kAlways;
  AofWriter w(o, s);
  ASSERT_EQ(w.start(), "");
  AofProducer& p = w.producer(0);
  auto ctx = attached(s, p);
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {  // 200 KiB of records for about 60 KiB of room
    keys.push_back(k_of(i));
    ctx->set(keys.back(), std::string(1000, static_cast<char>('a' + i % 26)));
    if (i % 10 == 9) p.tick();
  }
  p.tick();
  ASSERT_TRUE(eventually([&] { return p.failed(); }, 5000));
  EXPECT_NE(std::string(p.failure()).find("ENOSPC"), std::string::npos) << p.failure();
  EXPECT_FALSE(p.durable(p.written()));
  EXPECT_TRUE(w.stats().failed);
  ASSERT_EQ(::unlink(filler.c_str()), 0);  // space returns
  ASSERT_TRUE(eventually([&] { return p.durable(p.written()); }, 10000));
  EXPECT_FALSE(p.failed());
  ctx->set_observer(nullptr);
  p.idle();
  w.stop();
  const Folder f = read_folder(mnt + "/data");
  ASSERT_EQ(f.error, "");
  EXPECT_EQ(f.records.size(), 200u);
  expect_same(store_content(*ctx, s, keys), replay(f.records));
}

// The rewrite's side: a new segment on request, then a new base in the manifest.
TEST(Aof, NewSegmentAndBaseOnRequest) {
  TempDir dir;
  store::Store s(store_config(1));
  AofOptions o = options(dir.path(), 1);
  o.fsync = FsyncPolicy::kNo;
  AofWriter w(o, s);
  std::uint64_t seq = 0;
  EXPECT_NE(w.start_new_segment(&seq), "");  // not running
  ASSERT_EQ(w.start(), "");
  AofProducer& p = w.producer(0);
  auto ctx = attached(s, p);
  ctx->set("before", "1");
  p.tick();
  ASSERT_TRUE(eventually([&] { return p.durable(1); }));  // in segment 1
  ASSERT_EQ(w.start_new_segment(&seq), "");
  EXPECT_EQ(seq, 2u);
  ctx->set("after", "2");
  p.tick();
  ASSERT_EQ(w.set_base("snap-0000000001.fsnap", seq), "");
  const ManifestLoad m = load_manifest(dir.path());
  ASSERT_EQ(m.error, "");
  EXPECT_EQ(m.manifest.snapshot, "snap-0000000001.fsnap");
  EXPECT_EQ(m.manifest.segments, std::vector<std::uint64_t>{2});
  EXPECT_NE(w.set_base("../x", 2), "");  // refused by check_manifest, the manifest unchanged
  ctx->set_observer(nullptr);
  p.idle();
  w.stop();
  EXPECT_EQ(load_manifest(dir.path()).manifest.segments, std::vector<std::uint64_t>{2});
  const std::string seg2 = read_file(dir.file("aof-0000000002.seg"));
  Record r;
  std::size_t used = 0;
  ASSERT_EQ(decode(std::string_view(seg2).substr(kSegmentHeader), &r, &used), DecodeStatus::kOk);
  EXPECT_EQ(r.key, "after");
  EXPECT_EQ(kSegmentHeader + used, seg2.size());
  EXPECT_EQ(read_file(dir.file("aof-0000000001.seg")).size(), kSegmentHeader + set_record_size(6, 1));
}

TEST(Aof, UnwritableFolderIsAClearError) {
  store::Store s(store_config(1));
  AofWriter w(options("/proc/ferrite-no-such-dir/x", 1), s);
  const std::string err = w.start();
  EXPECT_NE(err.find("/proc/ferrite-no-such-dir/x"), std::string::npos) << err;
}

}  // namespace
}  // namespace ferrite::persist
