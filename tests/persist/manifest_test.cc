#include "persist/manifest.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "persist/crc32c.h"
#include "persist_test_util.h"

namespace ferrite::persist {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

Manifest sample() {
  Manifest m;
  m.generation = 7;
  m.snapshot = "snap-0000000003.fsnap";
  m.segments = {4, 5, 9};
  return m;
}

// `body` (every line before the checksum) sealed with its correct crc32c line.
std::string sealed(const std::string& body) {
  char crc[24];
  std::snprintf(crc, sizeof crc, "crc32c %08x\n", crc32c(body));
  return body + crc;
}

std::string parse_error(const std::string& text) { return parse_manifest(text, "d/MANIFEST").error; }

TEST(Manifest, FormatIsReadableAndRoundTrips) {
  const std::string text = format_manifest(sample());
  EXPECT_EQ(text.substr(0, text.rfind("crc32c ")),
            "ferrite-manifest 1\ngeneration 7\nsnapshot snap-0000000003.fsnap\nsegment 4\nsegment 5\n"
            "segment 9\n");
  const ManifestLoad back = parse_manifest(text, "x");
  ASSERT_EQ(back.error, "");
  EXPECT_FALSE(back.absent);
  EXPECT_EQ(back.manifest.generation, 7u);
  EXPECT_EQ(back.manifest.snapshot, "snap-0000000003.fsnap");
  EXPECT_EQ(back.manifest.segments, (std::vector<std::uint64_t>{4, 5, 9}));

  Manifest bare;  // no snapshot, no segment: a fresh folder's
  bare.generation = 1;
  const ManifestLoad b = parse_manifest(format_manifest(bare), "x");
  ASSERT_EQ(b.error, "");
  EXPECT_EQ(b.manifest.snapshot, "");
  EXPECT_TRUE(b.manifest.segments.empty());
}

TEST(Manifest, StoreThenLoadAndAbsent) {
  TempDir dir;
  const ManifestLoad none = load_manifest(dir.path());
  EXPECT_TRUE(none.absent);
  EXPECT_EQ(none.error, "");

  ASSERT_EQ(store_manifest(dir.path(), sample()), "");
  EXPECT_FALSE(std::filesystem::exists(dir.file("MANIFEST.tmp")));
  ManifestLoad l = load_manifest(dir.path());
  ASSERT_EQ(l.error, "");
  EXPECT_FALSE(l.absent);
  EXPECT_EQ(l.manifest.segments, (std::vector<std::uint64_t>{4, 5, 9}));

  Manifest next = sample();  // replaced, not appended
  next.generation = 8;
  next.snapshot.clear();
  next.segments = {10};
  ASSERT_EQ(store_manifest(dir.path(), next), "");
  l = load_manifest(dir.path());
  ASSERT_EQ(l.error, "");
  EXPECT_EQ(l.manifest.generation, 8u);
  EXPECT_EQ(l.manifest.snapshot, "");
  EXPECT_EQ(l.manifest.segments, (std::vector<std::uint64_t>{10}));
  EXPECT_EQ(read_file(dir.file("MANIFEST")), format_manifest(next));
}

TEST(Manifest, StoreRefusesWhatCouldNotBeLoaded) {
  TempDir dir;
  Manifest m = sample();
  m.segments = {4, 4};
  EXPECT_NE(store_manifest(dir.path(), m).find("duplicated"), std::string::npos);
  m.segments = {5, 4};
  EXPECT_NE(store_manifest(dir.path(), m).find("out of order"), std::string::npos);
  m.segments = {0};
  EXPECT_NE(store_manifest(dir.path(), m), "");
  m.segments = {1};
  m.snapshot = "../etc/passwd";
  EXPECT_NE(store_manifest(dir.path(), m), "");
  EXPECT_TRUE(load_manifest(dir.path()).absent);
  EXPECT_NE(store_manifest(dir.path() + "/no/such/dir", sample()), "");
}

TEST(Manifest, LoadErrorsNameTheFileAndLine) {
  TempDir dir;
  write_file(dir.file("MANIFEST"), sealed("ferrite-manifest 1\ngeneration 1\nsegment 5\nsegment 4\n"));
  const ManifestLoad l = load_manifest(dir.path());
  EXPECT_EQ(l.error, dir.path() + "/MANIFEST line 4: segment 4 after segment 5 (out of order)");
  EXPECT_TRUE(l.manifest.segments.empty());
}

TEST(Manifest, RefusesEveryFault) {
  const std::string head = "ferrite-manifest 1\ngeneration 3\n";
  EXPECT_EQ(parse_error(sealed(head + "segment 2\n")), "");
  EXPECT_EQ(parse_error(sealed(head + "segment 2\nsegment 2\n")),
            "d/MANIFEST line 4: segment 2 after segment 2 (duplicated)");
  EXPECT_EQ(parse_error(sealed(head + "segment 3\nsegment 2\n")),
            "d/MANIFEST line 4: segment 2 after segment 3 (out of order)");
  EXPECT_EQ(parse_error(sealed("ferrite-manifest 1\nsegment 2\n")),
            "d/MANIFEST line 2: segment before the generation");
  EXPECT_EQ(parse_error(sealed("ferrite-manifest 1\n")), "d/MANIFEST line 3: generation missing");
  EXPECT_EQ(parse_error(sealed(head + "color blue\n")), "d/MANIFEST line 3: unknown line");
  EXPECT_EQ(parse_error(sealed(head + "\n")), "d/MANIFEST line 3: unknown line");
  EXPECT_EQ(parse_error(sealed(head + "segment 2 \n")), "d/MANIFEST line 3: bad segment number");
  EXPECT_EQ(parse_error(sealed(head + "segment 02\n")), "d/MANIFEST line 3: bad segment number");
  EXPECT_EQ(parse_error(sealed(head + "segment 0\n")), "d/MANIFEST line 3: bad segment number");
  EXPECT_EQ(parse_error(sealed(head + "segment 18446744073709551616\n")),
            "d/MANIFEST line 3: bad segment number");
  EXPECT_EQ(parse_error(sealed(head + "segment 2\nsnapshot s.fsnap\n")),
            "d/MANIFEST line 4: snapshot after a segment");
  EXPECT_EQ(parse_error(sealed(head + "snapshot a/b\n")),
            "d/MANIFEST line 3: snapshot name is not a plain file name");
  EXPECT_EQ(parse_error(sealed(head + "snapshot a\nsnapshot b\n")),
            "d/MANIFEST line 4: snapshot given twice");
  EXPECT_EQ(parse_error(sealed(head + "generation 4\n")), "d/MANIFEST line 3: generation given twice");
  EXPECT_EQ(parse_error(sealed("ferrite-manifest 2\ngeneration 1\n")),
            "d/MANIFEST line 1: unsupported manifest version");
  EXPECT_EQ(parse_error(""), "d/MANIFEST line 1: empty file");
  EXPECT_EQ(parse_error(head), "d/MANIFEST line 3: crc32c line missing (file cut short?)");
  EXPECT_EQ(parse_error(sealed(head) + "segment 9\n"), "d/MANIFEST line 4: bytes after the crc32c line");
  EXPECT_EQ(parse_error(head + "crc32c 00000000\n").substr(0, 41),
            "d/MANIFEST line 3: checksum mismatch (fil");
  EXPECT_EQ(parse_error(head + "crc32c ABCDEF12\n"),
            "d/MANIFEST line 3: bad crc32c (8 lowercase hex digits)");
}

TEST(Manifest, EveryBitFlipAndEveryCutIsRefused) {
  const std::string good = format_manifest(sample());
  ASSERT_EQ(parse_error(good), "");
  for (std::size_t bit = 0; bit < good.size() * 8; ++bit) {
    std::string bad = good;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_NE(parse_error(bad), "") << "bit " << bit;
  }
  for (std::size_t len = 0; len < good.size(); ++len) {
    EXPECT_NE(parse_error(good.substr(0, len)), "") << "cut at " << len;
  }
}

}  // namespace
}  // namespace ferrite::persist
