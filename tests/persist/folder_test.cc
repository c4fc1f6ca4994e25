#include "persist/folder.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "persist/manifest.h"
#include "persist/segment.h"
#include "persist_test_util.h"

namespace ferrite::persist {
namespace {

using testing::del_rec;
using testing::encoded;
using testing::flush_rec;
using testing::read_file;
using testing::segment_bytes;
using testing::set_rec;
using testing::TempDir;
using testing::write_file;

// The records' views point into these strings (static: they outlive every Record).
const std::string kLong(300, 'x');
std::vector<Record> three() { return {set_rec("a", "1"), del_rec("b"), set_rec("c", kLong)}; }

// A folder with a manifest naming `segs` (each written with three() records).
void make_folder(const TempDir& dir, const std::vector<std::uint64_t>& segs,
                 const std::string& snapshot = "") {
  Manifest m;
  m.generation = 1;
  m.snapshot = snapshot;
  m.segments = segs;
  ASSERT_EQ(store_manifest(dir.path(), m), "");
  for (std::uint64_t s : segs) write_file(dir.file(segment_file_name(s)), segment_bytes(s, three()));
}

TEST(SegmentScan, CleanSegmentVisitsEveryRecordInOrder) {
  const std::string data = segment_bytes(3, {set_rec("a", "1"), flush_rec(5), del_rec("a")});
  std::vector<std::uint64_t> offsets;
  const SegmentScan s =
      scan_segment_bytes(data, 3, [&](const Record&, std::uint64_t off) { offsets.push_back(off); });
  EXPECT_EQ(s.end, SegmentEnd::kClean);
  EXPECT_EQ(s.records, 3u);
  EXPECT_EQ(s.good_end, data.size());
  const std::size_t a = kSegmentHeader + encoded(set_rec("a", "1")).size();
  EXPECT_EQ(offsets, (std::vector<std::uint64_t>{kSegmentHeader, a, a + kFlushRecordSize}));
  ASSERT_EQ(s.flushes.size(), 1u);
  EXPECT_EQ(s.flushes[0].end, a + kFlushRecordSize);
  EXPECT_EQ(s.flushes[0].at_ms, 5u);
  EXPECT_EQ(s.flushes[0].records, 2u);
  const SegmentScan empty = scan_segment_bytes(segment_bytes(3, {}), 3);
  EXPECT_EQ(empty.end, SegmentEnd::kClean);
  EXPECT_EQ(empty.records, 0u);
}

TEST(SegmentScan, EveryCutIsATornTailAtTheLastWholeRecord) {
  const std::string data = segment_bytes(1, three());
  std::vector<std::size_t> bounds{kSegmentHeader};  // where each record ends
  for (const Record& r : three()) bounds.push_back(bounds.back() + encoded(r).size());
  for (std::size_t len = 0; len < data.size(); ++len) {
    const SegmentScan s = scan_segment_bytes(std::string_view(data).substr(0, len), 1);
    const bool boundary = std::find(bounds.begin(), bounds.end(), len) != bounds.end();
    ASSERT_EQ(s.end, boundary ? SegmentEnd::kClean : SegmentEnd::kTorn) << len << " " << s.reason;
    std::size_t good = 0;  // the last record end at or before the cut
    for (std::size_t b : bounds) good = b <= len ? b : good;
    EXPECT_EQ(s.good_end, good) << len;
  }
}

TEST(SegmentScan, HeaderFaultsAreDamage) {
  std::string data = segment_bytes(1, three());
  EXPECT_EQ(scan_segment_bytes(data, 2).end, SegmentEnd::kDamaged);  // the header says 1
  EXPECT_NE(scan_segment_bytes(data, 2).reason.find("says segment 1"), std::string::npos);
  EXPECT_EQ(scan_segment_bytes("GARBAGE", 1).end, SegmentEnd::kDamaged);  // not even a header's start
  data[20] ^= 1;
  EXPECT_EQ(scan_segment_bytes(data, 1).end, SegmentEnd::kDamaged);
}

TEST(SegmentScan, ZeroFilledTailIsTornButADamagedLengthIsNot) {
  const std::string data = segment_bytes(1, three());
  const SegmentScan z = scan_segment_bytes(data + std::string(4096, '\0'), 1);
  EXPECT_EQ(z.end, SegmentEnd::kTorn);
  EXPECT_EQ(z.good_end, data.size());
  // The second record's length made larger than the file: it looks short, but a whole record
  // follows, so it is damage.
  std::string bad = data;
  const std::size_t second = kSegmentHeader + encoded(three()[0]).size();
  bad[second + 6] = static_cast<char>(bad[second + 6] ^ 0x10);
  const SegmentScan d = scan_segment_bytes(bad, 1);
  EXPECT_EQ(d.end, SegmentEnd::kDamaged) << d.reason;
  EXPECT_EQ(d.good_end, second);
}

TEST(VerifyFolder, EmptyFolderIsFineAndSegmentsWithoutManifestAreNot) {
  TempDir dir;
  FolderVerifyResult v = verify_folder(dir.path());
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.manifest_absent);
  write_file(dir.file(segment_file_name(1)), segment_bytes(1, three()));
  v = verify_folder(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error, dir.file("aof-0000000001.seg") + ": offset 0: segment file but no MANIFEST");
  EXPECT_FALSE(verify_folder(dir.path() + "/nope").ok);
}

TEST(VerifyFolder, GoodFolderCountsRecordsAndBytes) {
  TempDir dir;
  make_folder(dir, {4, 5});
  write_file(dir.file(segment_file_name(2)), "old leftover");  // older than the first: ignored
  write_file(dir.file("unrelated.txt"), "x");
  const FolderVerifyResult v = verify_folder(dir.path());
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_EQ(v.error, "");
  EXPECT_EQ(v.segments.size(), 2u);
  EXPECT_EQ(v.records, 6u);
  EXPECT_EQ(v.bytes, 2 * segment_bytes(1, three()).size());
  EXPECT_EQ(v.ignored, (std::vector<std::string>{"aof-0000000002.seg"}));
  EXPECT_FALSE(v.torn_tail);
}

TEST(VerifyFolder, MissingOrUnnamedSegmentsAreRefused) {
  TempDir dir;
  make_folder(dir, {4, 5, 6});
  std::filesystem::remove(dir.file(segment_file_name(5)));
  FolderVerifyResult v = verify_folder(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error, dir.file("aof-0000000005.seg") + ": offset 0: segment named by the MANIFEST is missing");
  // Under the override: segment 4 is usable, 5 and 6 are lost.
  FolderVerifyOptions force;
  force.load_up_to_damage = true;
  v = verify_folder(dir.path(), force);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.segments.size(), 1u);
  EXPECT_EQ(v.lost_bytes, segment_bytes(6, three()).size());

  TempDir d2;
  make_folder(d2, {4, 5});
  write_file(d2.file(segment_file_name(7)), segment_bytes(7, three()));
  v = verify_folder(d2.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error, d2.file("aof-0000000007.seg") +
                         ": offset 0: segment file not named by the MANIFEST (it names 4 .. 5)");
  v = verify_folder(d2.path(), force);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.segments.size(), 2u);
  EXPECT_FALSE(v.warnings.empty());
  // A newer segment with no record (made, not yet named, when the daemon stopped) holds nothing
  // to lose: ignored, with a warning.
  write_file(d2.file(segment_file_name(7)), segment_bytes(7, {}));
  write_file(d2.file(segment_file_name(8)), "FRTA");
  v = verify_folder(d2.path());
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_EQ(v.ignored, (std::vector<std::string>{"aof-0000000007.seg", "aof-0000000008.seg"}));
  EXPECT_EQ(v.warnings.size(), 2u);
}

TEST(VerifyFolder, TornTailOfTheLastSegmentIsCutOnlyWhenAsked) {
  TempDir dir;
  make_folder(dir, {1, 2});
  const std::string full = segment_bytes(2, three());
  write_file(dir.file(segment_file_name(2)), full.substr(0, full.size() - 7));
  const std::uint64_t good = full.size() - encoded(three().back()).size();
  FolderVerifyResult v = verify_folder(dir.path());
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_TRUE(v.torn_tail);
  EXPECT_FALSE(v.torn_cut);
  EXPECT_EQ(v.torn_file, dir.file("aof-0000000002.seg"));
  EXPECT_EQ(v.torn_offset, good);
  EXPECT_EQ(v.torn_bytes, encoded(three().back()).size() - 7);
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(read_file(dir.file(segment_file_name(2))).size(), full.size() - 7);  // untouched
  FolderVerifyOptions cut;
  cut.truncate_torn_tail = true;
  v = verify_folder(dir.path(), cut);
  ASSERT_TRUE(v.ok);
  EXPECT_TRUE(v.torn_cut);
  EXPECT_EQ(read_file(dir.file(segment_file_name(2))), full.substr(0, good));
  v = verify_folder(dir.path());
  EXPECT_TRUE(v.ok);
  EXPECT_FALSE(v.torn_tail);
}

TEST(VerifyFolder, TornRecordInAnEarlierSegmentOrABadChecksumIsRefused) {
  TempDir dir;
  make_folder(dir, {1, 2});
  const std::string full = segment_bytes(1, three());
  write_file(dir.file(segment_file_name(1)), full.substr(0, full.size() - 7));
  const std::uint64_t good = full.size() - encoded(three().back()).size();
  FolderVerifyResult v = verify_folder(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error_file, dir.file("aof-0000000001.seg"));
  EXPECT_EQ(v.error_offset, good);
  EXPECT_NE(v.error.find("not the last"), std::string::npos) << v.error;

  std::string flipped = segment_bytes(2, three());
  flipped[flipped.size() - 1] ^= 4;  // in the last record's value: checksum
  write_file(dir.file(segment_file_name(1)), full);
  write_file(dir.file(segment_file_name(2)), flipped);
  v = verify_folder(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error, dir.file("aof-0000000002.seg") + ": offset " + std::to_string(good) +
                         ": bad record: " + decode_status_name(DecodeStatus::kBadCrc));
  FolderVerifyOptions force;
  force.load_up_to_damage = true;
  v = verify_folder(dir.path(), force);
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.records, 5u);
  EXPECT_EQ(v.lost_bytes, flipped.size() - good);
  ASSERT_EQ(v.segments.size(), 2u);
  EXPECT_EQ(v.segments[1].good_end, good);
}

TEST(VerifyFolder, SnapshotMustExistAndPassTheHook) {
  TempDir dir;
  make_folder(dir, {3}, "snap-0000000002.fsnap");
  FolderVerifyResult v = verify_folder(dir.path());
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.error,
            dir.file("snap-0000000002.fsnap") + ": offset 0: snapshot named by the MANIFEST is missing");
  write_file(dir.file("snap-0000000002.fsnap"), "snapshot bytes");
  v = verify_folder(dir.path());
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.snapshot_usable);
  EXPECT_FALSE(v.snapshot_checked);
  FolderVerifyOptions opts;
  std::string seen;
  opts.check_snapshot = [&](const std::string& path) {
    seen = path;
    return path + ": offset 9: bad block";
  };
  v = verify_folder(dir.path(), opts);
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(seen, dir.file("snap-0000000002.fsnap"));
  EXPECT_EQ(v.error, seen + ": offset 9: bad block");
  opts.check_snapshot = [](const std::string&) { return std::string(); };
  v = verify_folder(dir.path(), opts);
  EXPECT_TRUE(v.ok);
  EXPECT_TRUE(v.snapshot_checked);
}

TEST(VerifyFolder, BadManifestIsRefusedEvenUnderTheOverride) {
  TempDir dir;
  make_folder(dir, {1});
  std::string m = read_file(dir.file("MANIFEST"));
  m[m.find("segment 1") + 8] = '2';
  write_file(dir.file("MANIFEST"), m);
  FolderVerifyOptions force;
  force.load_up_to_damage = true;
  const FolderVerifyResult v = verify_folder(dir.path(), force);
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.error.find("MANIFEST line 4: checksum mismatch"), std::string::npos) << v.error;
}

}  // namespace
}  // namespace ferrite::persist
