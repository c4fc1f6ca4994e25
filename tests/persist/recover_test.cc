#include "persist/recover.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "persist/manifest.h"
#include "persist/segment.h"
#include "persist_test_util.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::persist {
namespace {

using testing::del_rec;
using testing::encoded;
using testing::flush_rec;
using testing::read_file;
using testing::segment_bytes;
using testing::set_rec;
using testing::TempDir;
using testing::touch_rec;
using testing::write_file;

constexpr std::uint64_t kNow = 1'900'000'000'000;  // the recovery's "now", Unix ms
constexpr unsigned kThreads = 2;

// A fresh store with room for the recovery's threads (and one more context to read it back).
struct Fresh {
  Fresh() {
    store::StoreConfig cfg;
    cfg.memory_limit = std::size_t{16} << 20;
    cfg.max_contexts = kThreads + 1;
    parts = std::make_unique<store::Partitions>(cfg, 1);
  }
  // The value of `key`, or "<none>".
  std::string get(std::string_view key) {
    store::PartitionedContext ctx(*parts, 0);
    ctx.set_now(parts->now_ms());
    const store::ItemView v = ctx.get(key);
    std::string out = v ? std::string(v.value()) : "<none>";
    ctx.quiescent();
    return out;
  }
  std::unique_ptr<store::Partitions> parts;
};

void write_folder(const TempDir& dir, const std::vector<std::vector<Record>>& segs) {
  Manifest m;
  m.generation = 1;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    m.segments.push_back(i + 1);
    write_file(dir.file(segment_file_name(i + 1)), segment_bytes(i + 1, segs[i]));
  }
  ASSERT_EQ(store_manifest(dir.path(), m), "");
}

RecoverOptions opts() {
  RecoverOptions o;
  o.threads = kThreads;
  o.now_unix_ms = kNow;
  return o;
}

TEST(Recover, AppliesEveryRecordOfEverySegmentInOrder) {
  TempDir dir;
  std::vector<Record> s1, s2;
  std::vector<std::string> keys, values;
  for (int i = 0; i < 500; ++i) keys.push_back("key" + std::to_string(i));
  for (int i = 0; i < 500; ++i) values.push_back("v1-" + std::to_string(i));
  for (int i = 0; i < 500; ++i) s1.push_back(set_rec(keys[i], values[i], 0, 7));
  std::vector<std::string> v2(500);
  for (int i = 0; i < 500; i += 2) {
    v2[i] = "v2-" + std::to_string(i);
    s2.push_back(set_rec(keys[i], v2[i]));
  }
  for (int i = 0; i < 500; i += 5) s2.push_back(del_rec(keys[i]));
  s2.push_back(touch_rec(keys[1], kNow + 60'000));
  write_folder(dir, {s1, s2});
  Fresh f;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts,
                                         [&](std::uint64_t d, std::uint64_t t) { seen.emplace_back(d, t); });
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.records_applied, s1.size() + s2.size());
  EXPECT_EQ(r.records_expired, 0u);
  EXPECT_FALSE(r.empty);
  ASSERT_FALSE(seen.empty());
  for (std::size_t i = 0; i < seen.size(); ++i) {  // grows, never past the total
    EXPECT_LE(seen[i].first, seen[i].second);
    EXPECT_EQ(seen[i].second, seen.back().second);
    if (i > 0) {
      EXPECT_GE(seen[i].first, seen[i - 1].first);
    }
  }
  EXPECT_EQ(seen.back().first, seen.back().second);
  EXPECT_EQ(r.bytes, seen.back().second);
  for (int i = 0; i < 500; ++i) {
    const std::string want = i % 5 == 0 ? "<none>" : i % 2 == 0 ? v2[i] : values[i];
    ASSERT_EQ(f.get(keys[i]), want) << keys[i];
  }
  store::PartitionedContext ctx(*f.parts, 0);
  ctx.set_now(f.parts->now_ms());
  const store::ItemView one = ctx.get(keys[1]);
  ASSERT_TRUE(one);
  EXPECT_EQ(one.flags(), 7u);
  // Deadlines far from the store's start are kept in whole seconds, rounded up.
  const std::uint64_t deadline = f.parts->to_unix_ms(one.expires_at_ms());
  EXPECT_GE(deadline, kNow + 60'000);
  EXPECT_LT(deadline, kNow + 61'000);
  ctx.quiescent();
}

TEST(Recover, EmptyFolderLoadsNothing) {
  TempDir dir;
  Fresh f;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  EXPECT_EQ(r.error, "");
  EXPECT_TRUE(r.empty);
}

TEST(Recover, OnlyWhatFollowsTheLastFlushIsLoaded) {
  TempDir dir;
  write_folder(dir, {{set_rec("a", "1"), set_rec("b", "1")},
                     {set_rec("c", "1"), flush_rec(kNow - 5), set_rec("d", "1"), flush_rec(kNow - 1),
                      set_rec("e", "1")},
                     {set_rec("f", "1")}});
  Fresh f;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.records_before_flush, 2u + 4u);  // a b, then c flush d flush
  EXPECT_EQ(r.records_applied, 2u);            // e f
  for (const char* gone : {"a", "b", "c", "d"}) EXPECT_EQ(f.get(gone), "<none>") << gone;
  EXPECT_EQ(f.get("e"), "1");
  EXPECT_EQ(f.get("f"), "1");
}

TEST(Recover, AFlushNotDueYetIsAppliedAfterLoading) {
  TempDir dir;
  write_folder(dir, {{set_rec("a", "1"), flush_rec(kNow + 3'600'000), set_rec("b", "1")}});
  Fresh f;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.records_before_flush, 0u);
  EXPECT_EQ(f.get("a"), "1");  // still there: the flush takes effect in an hour
  EXPECT_EQ(f.get("b"), "1");
}

TEST(Recover, ItemsExpiredWhileDownAreDropped) {
  TempDir dir;
  write_folder(dir, {{set_rec("old", "1", kNow - 1), set_rec("live", "1", kNow + 10'000), set_rec("x", "1"),
                      set_rec("x", "2", kNow - 100), set_rec("t", "1"), touch_rec("t", kNow - 1)}});
  Fresh f;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.records_expired, 3u);
  EXPECT_EQ(r.records_applied, 3u);
  EXPECT_EQ(f.get("old"), "<none>");
  EXPECT_EQ(f.get("live"), "1");
  EXPECT_EQ(f.get("x"), "<none>");  // its last set had expired: the older value is not left behind
  EXPECT_EQ(f.get("t"), "<none>");
}

TEST(Recover, TornTailIsCutWithAWarning) {
  TempDir dir;
  write_folder(dir, {{set_rec("a", "1")}, {set_rec("b", "1"), set_rec("c", "123456")}});
  const std::string path = dir.file(segment_file_name(2));
  const std::string full = read_file(path);
  write_file(path, full.substr(0, full.size() - 3));
  Fresh f;
  const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.torn_tail_cut);
  EXPECT_EQ(r.torn_bytes, encoded(set_rec("c", "123456")).size() - 3);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("torn tail"), std::string::npos);
  EXPECT_EQ(f.get("a"), "1");
  EXPECT_EQ(f.get("b"), "1");
  EXPECT_EQ(f.get("c"), "<none>");
  EXPECT_EQ(read_file(path).size(), full.size() - encoded(set_rec("c", "123456")).size());
}

TEST(Recover, DamageIsRefusedWithFileAndOffsetUnlessOverridden) {
  TempDir dir;
  write_folder(dir, {{set_rec("a", "1"), set_rec("b", "2")}, {set_rec("c", "3")}});
  const std::string path = dir.file(segment_file_name(1));
  std::string bytes = read_file(path);
  bytes[bytes.size() - 1] ^= 0x20;  // b's value
  write_file(path, bytes);
  Fresh f;
  RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
  const std::size_t b_at = kSegmentHeader + encoded(set_rec("a", "1")).size();
  EXPECT_EQ(r.error, path + ": offset " + std::to_string(b_at) +
                         ": bad record: " + decode_status_name(DecodeStatus::kBadCrc));
  EXPECT_EQ(f.get("a"), "<none>");  // nothing loaded
  RecoverOptions force = opts();
  force.load_up_to_damage = true;
  r = recover_folder(dir.path(), force, *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.records_applied, 1u);
  EXPECT_GT(r.lost_bytes, 0u);
  EXPECT_EQ(f.get("a"), "1");
  EXPECT_EQ(f.get("b"), "<none>");
  EXPECT_EQ(f.get("c"), "<none>");
  EXPECT_EQ(read_file(path), bytes);  // the override never changes a file
}

TEST(Recover, SnapshotGoesThroughTheHookAndAFlushSkipsIt) {
  TempDir dir;
  Manifest m;
  m.generation = 2;
  m.snapshot = "snap-1.fsnap";
  m.segments = {2};
  ASSERT_EQ(store_manifest(dir.path(), m), "");
  write_file(dir.file("snap-1.fsnap"), "s");
  write_file(dir.file(segment_file_name(2)), segment_bytes(2, {set_rec("b", "1")}));
  Fresh f;
  RecoverOptions o = opts();
  EXPECT_NE(recover_folder(dir.path(), o, *f.parts).error.find("no snapshot loader"), std::string::npos);
  int loads = 0;
  o.load_snapshot = [&](const std::string& path, store::Partitions& parts) {
    ++loads;
    EXPECT_EQ(path, dir.file("snap-1.fsnap"));
    store::PartitionedContext ctx(parts, 0);
    ctx.set("from-snapshot", "1");
    ctx.set("b", "0");
    ctx.quiescent();
    return std::string();
  };
  RecoverResult r = recover_folder(dir.path(), o, *f.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.snapshot_loaded);
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(f.get("from-snapshot"), "1");
  EXPECT_EQ(f.get("b"), "1");  // the segment after the snapshot wins

  write_file(dir.file(segment_file_name(2)), segment_bytes(2, {flush_rec(kNow - 1), set_rec("c", "1")}));
  Fresh g;
  r = recover_folder(dir.path(), o, *g.parts);
  ASSERT_EQ(r.error, "");
  EXPECT_TRUE(r.snapshot_skipped_by_flush);
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(g.get("from-snapshot"), "<none>");
  EXPECT_EQ(g.get("c"), "1");
}

// Single-bit flips at random offsets of a folder's segments: each is refused with the file and
// offset, or, only when it hits the length of the last record of the last segment (which then
// announces more bytes than the file has), reported as a torn tail. Never accepted silently.
TEST(Recover, EveryBitFlipInASegmentIsDetected) {
  std::vector<Record> s1, s2;
  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) keys.push_back(std::string(1, 'k').append(std::to_string(i)));
  std::vector<std::string> values;  // the records' views point into it: filled first, then kept
  for (int i = 0; i < 40; ++i) values.emplace_back(10 + i, i < 20 ? 'a' : 'b');
  for (int i = 0; i < 20; ++i) s1.push_back(set_rec(keys[i], values[i]));
  for (int i = 20; i < 40; ++i) s2.push_back(set_rec(keys[i], values[i]));
  s2.push_back(del_rec(keys[3]));
  const std::string seg1 = segment_bytes(1, s1), seg2 = segment_bytes(2, s2);
  const std::size_t last_record = seg2.size() - encoded(s2.back()).size();
  std::mt19937_64 rng(16);
  int refused = 0, torn = 0;
  constexpr int kTrials = 300;
  TempDir dir;
  write_folder(dir, {s1, s2});
  Fresh f;  // one store for every trial: only the verdicts are checked here
  for (int trial = 0; trial < kTrials; ++trial) {
    write_file(dir.file(segment_file_name(1)), seg1);
    write_file(dir.file(segment_file_name(2)), seg2);
    const bool second = (rng() & 1) != 0;
    std::string bytes = second ? seg2 : seg1;
    const std::size_t bit = rng() % (bytes.size() * 8);
    bytes[bit / 8] = static_cast<char>(bytes[bit / 8] ^ (1 << (bit % 8)));
    write_file(dir.file(segment_file_name(second ? 2 : 1)), bytes);
    const RecoverResult r = recover_folder(dir.path(), opts(), *f.parts);
    const std::size_t byte = bit / 8;
    const bool in_last_length = second && byte >= last_record + 4 && byte < last_record + 8;
    if (!r.error.empty()) {
      ++refused;
      EXPECT_NE(r.error.find(segment_file_name(second ? 2 : 1) + ": offset "), std::string::npos) << r.error;
    } else {
      ASSERT_TRUE(in_last_length) << "flip of bit " << bit << " of segment " << (second ? 2 : 1)
                                  << " accepted: " << (r.warnings.empty() ? "" : r.warnings[0]);
      ASSERT_TRUE(r.torn_tail_cut);
      ASSERT_FALSE(r.warnings.empty());
      ++torn;
    }
  }
  EXPECT_EQ(refused + torn, kTrials);
  EXPECT_GT(refused, kTrials * 9 / 10);
}

}  // namespace
}  // namespace ferrite::persist
