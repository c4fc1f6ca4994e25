// Snapshots (src/persist/snapshot*.h): the file format, a round trip through a file, expired
// items, every single-bit flip and every truncation refused, and the tail's ordering rules.
#include "persist/snapshot.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>

#include "persist/snapshot_format.h"
#include "snapshot_test_util.h"
#include "store/hash_value.h"

namespace ferrite::persist {
namespace {

using testing::diff;
using testing::key_n;
using testing::dump;
using testing::TempDir;
using testing::test_config;

std::uint64_t unix_now() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string hash_of(std::initializer_list<store::hash::Pair> pairs) {
  store::hash::Scratch s;
  store::hash::set({}, {pairs.begin(), pairs.size()}, s);
  return std::string(s.out);
}

// Strings of several sizes (some over a block), hashes, flags, deadlines.
void fill(store::Partitions& parts, int n, bool big = true) {
  store::PartitionedContext ctx(parts, 0);
  ctx.set_now(parts.now_ms());
  std::mt19937_64 rng(42);
  for (int i = 0; i < n; ++i) {
    store::SetRequest req;
    req.flags = i % 3 == 0 ? static_cast<std::uint32_t>(rng()) : 0;
    if (i % 4 == 1) req.expires_at_ms = parts.now_ms() + 3'600'000 + static_cast<std::uint64_t>(i);
    std::string value;
    if (i % 5 == 0) {
      req.type = store::ItemType::kHash;
      value = hash_of({{"f1", key_n("v", static_cast<unsigned long long>(i))}, {"field-two", std::string(i % 50, 'h')}});
    } else {
      const std::size_t len = big && i % 97 == 0 ? (std::size_t{1} << 20) + 17 : static_cast<std::size_t>(rng() % 300);
      value.resize(len);
      for (auto& c : value) c = static_cast<char>('a' + rng() % 26);
    }
    ASSERT_EQ(ctx.set(key_n("key:", static_cast<unsigned long long>(i)), value, req).status, store::Status::kOk);
    if (i % 64 == 0) ctx.quiescent();
  }
  ctx.quiescent();
  ctx.offline();
}

TEST(SnapshotFormat, FileNames) {
  EXPECT_EQ(snapshot_file_name(42), "snap-0000000042.fsnap");
  EXPECT_EQ(snapshot_seq_of("snap-0000000042.fsnap"), 42u);
  EXPECT_EQ(snapshot_seq_of("snap-42.fsnap"), 0u);
  EXPECT_EQ(snapshot_seq_of("snap-00000000042.fsnap"), 0u);
  EXPECT_EQ(snapshot_seq_of("snap-0000000042.fsnap.tmp"), 0u);
  EXPECT_EQ(snapshot_seq_of("aof-0000000042.seg"), 0u);
  EXPECT_EQ(snapshot_seq_of(snapshot_file_name(12345678901ull)), 12345678901ull);
}

TEST(SnapshotFormat, HeadersRoundTrip) {
  char h[kSnapshotHeader];
  encode_snapshot_header({7, 1700000000000}, h);
  SnapshotHeader sh;
  ASSERT_STREQ(decode_snapshot_header({h, sizeof h}, &sh), "");
  EXPECT_EQ(sh.seq, 7u);
  EXPECT_EQ(sh.created_unix_ms, 1700000000000u);
  BlockHeader b;
  b.kind = BlockKind::kTail;
  b.raw_len = 1000;
  b.comp_len = 300;
  b.records = 9;
  b.data_crc = 0xdeadbeef;
  char bh[kBlockHeader];
  encode_block_header(b, bh);
  BlockHeader back;
  ASSERT_STREQ(decode_block_header({bh, sizeof bh}, &back), "");
  EXPECT_EQ(back.kind, BlockKind::kTail);
  EXPECT_EQ(back.raw_len, 1000u);
  EXPECT_EQ(back.comp_len, 300u);
  EXPECT_EQ(back.records, 9u);
  EXPECT_EQ(back.data_crc, 0xdeadbeefu);
  SnapshotFooter f{0x1234, 3, 100, 5};
  char fb[kSnapshotFooter];
  encode_snapshot_footer(f, fb);
  SnapshotFooter fback;
  ASSERT_STREQ(decode_snapshot_footer({fb, sizeof fb}, &fback), "");
  EXPECT_EQ(fback.chain_crc, 0x1234u);
  EXPECT_EQ(fback.blocks, 3u);
  EXPECT_EQ(fback.base_records, 100u);
  EXPECT_EQ(fback.tail_records, 5u);
  // Every single-bit flip of each is refused.
  for (std::size_t bit = 0; bit < kSnapshotHeader * 8; ++bit) {
    h[bit / 8] = static_cast<char>(h[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_STRNE(decode_snapshot_header({h, sizeof h}, &sh), "") << bit;
    h[bit / 8] = static_cast<char>(h[bit / 8] ^ (1 << (bit % 8)));
  }
  for (std::size_t bit = 0; bit < kBlockHeader * 8; ++bit) {
    bh[bit / 8] = static_cast<char>(bh[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_STRNE(decode_block_header({bh, sizeof bh}, &back), "") << bit;
    bh[bit / 8] = static_cast<char>(bh[bit / 8] ^ (1 << (bit % 8)));
  }
  for (std::size_t bit = 0; bit < kSnapshotFooter * 8; ++bit) {
    fb[bit / 8] = static_cast<char>(fb[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_STRNE(decode_snapshot_footer({fb, sizeof fb}, &fback), "") << bit;
    fb[bit / 8] = static_cast<char>(fb[bit / 8] ^ (1 << (bit % 8)));
  }
}

TEST(Snapshot, RoundTripStringsHashesFlagsDeadlines) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  store::Partitions src(test_config(), 2);
  fill(src, 5000);
  const testing::Dump want = dump(src);
  ASSERT_EQ(want.size(), 5000u);

  SnapshotOptions opt;
  opt.block_bytes = 64 << 10;  // many blocks
  const SnapshotResult w = write_snapshot(src, nullptr, dir.path(), 3, opt);
  ASSERT_EQ(w.error, "");
  EXPECT_EQ(w.path, dir.path() + "/snap-0000000003.fsnap");
  EXPECT_EQ(w.items, 5000u);
  EXPECT_EQ(w.tail_records, 0u);
  EXPECT_GT(w.blocks, 10u);
  EXPECT_LT(w.file_bytes, w.raw_bytes);  // compressed
  EXPECT_FALSE(std::filesystem::exists(w.path + ".tmp"));

  const VerifyResult v = verify_snapshot(w.path);
  ASSERT_TRUE(v.ok) << v.reason;
  EXPECT_EQ(check_snapshot_file(w.path), "");
  EXPECT_EQ(v.seq, 3u);
  EXPECT_EQ(v.blocks, w.blocks);
  EXPECT_EQ(v.base_records, 5000u);

  for (const unsigned parts_n : {1u, 3u}) {
    for (const unsigned threads : {1u, 4u}) {
      store::Partitions dst(test_config(), parts_n);
      if (threads == 4) {  // the recovery hook's form
        EXPECT_EQ(load_snapshot_file(w.path, dst), "");
        EXPECT_EQ(diff(want, dump(dst)), "");
        continue;
      }
      const LoadResult l = load_snapshot(w.path, dst, {.threads = threads});
      ASSERT_EQ(l.error, "");
      EXPECT_EQ(l.loaded, 5000u);
      EXPECT_EQ(l.expired, 0u);
      EXPECT_EQ(l.refused, 0u);
      EXPECT_EQ(l.seq, 3u);
      EXPECT_EQ(diff(want, dump(dst)), "") << parts_n << " partitions, " << threads << " threads";
    }
  }
}

TEST(Snapshot, ExpiredItemsAreSkipped) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  {
    store::PartitionedContext ctx(src, 0);
    ctx.set_now(src.now_ms());
    for (int i = 0; i < 100; ++i) {
      store::SetRequest req;
      // Even keys: a minute from now; odd keys: an hour.
      req.expires_at_ms = src.now_ms() + (i % 2 == 0 ? 60'000 : 3'600'000);
      ASSERT_EQ(ctx.set(key_n("k", static_cast<unsigned long long>(i)), "v", req).status, store::Status::kOk);
    }
    ctx.set("forever", "v");
    ctx.quiescent();
    ctx.offline();
  }
  const SnapshotResult w = write_snapshot(src, nullptr, dir.path(), 1);
  ASSERT_EQ(w.error, "");
  store::Partitions dst(test_config(), 1);
  // Loaded as if ten minutes later: the even keys' deadlines passed while "down".
  const LoadResult l = load_snapshot(w.path, dst, {.threads = 2, .now_unix_ms = unix_now() + 600'000});
  ASSERT_EQ(l.error, "");
  EXPECT_EQ(l.loaded, 51u);
  EXPECT_EQ(l.expired, 50u);
  const testing::Dump got = dump(dst);
  EXPECT_EQ(got.size(), 51u);
  EXPECT_EQ(got.count("k0"), 0u);
  EXPECT_EQ(got.count("k1"), 1u);
  EXPECT_EQ(got.count("forever"), 1u);
}

TEST(Snapshot, EmptyStore) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  const SnapshotResult w = write_snapshot(src, nullptr, dir.path(), 9);
  ASSERT_EQ(w.error, "");
  EXPECT_EQ(w.blocks, 0u);
  const VerifyResult v = verify_snapshot(w.path);
  ASSERT_TRUE(v.ok) << v.reason;
  store::Partitions dst(test_config(), 1);
  EXPECT_EQ(load_snapshot(w.path, dst).error, "");
}

TEST(Snapshot, MissingFolderIsAnError) {
  store::Partitions src(test_config(), 1);
  const SnapshotResult w = write_snapshot(src, nullptr, "/nonexistent/ferrite", 1);
  EXPECT_NE(w.error.find("/nonexistent/ferrite"), std::string::npos) << w.error;
}

// A snapshot of a few hundred items in small blocks, with a tail (captured from a single
// writer inside the walk's hook, so the file holds tail blocks too).
std::string small_snapshot(const TempDir& dir) {
  store::Partitions src(test_config(), 1);
  fill(src, 600, false);
  SnapshotTail tail(src.at(0), 1);
  struct Hook {
    store::Partitions* parts;
    SnapshotTail* tail;
  } hook{&src, &tail};
  SnapshotOptions opt;
  opt.block_bytes = 4096;
  opt.on_walked = [](void* a) {
    auto* h = static_cast<Hook*>(a);
    std::thread t([h] {  // a writer thread of its own: the snapshot thread holds a context
      store::PartitionedContext ctx(*h->parts, 0);
      ctx.at(0).set_observer(h->tail->observer(0));
      ctx.set_now(h->parts->now_ms());
      for (int i = 0; i < 200; ++i) ctx.set(key_n("tail:", static_cast<unsigned long long>(i)), std::string(50, 't'));
      for (int i = 0; i < 50; ++i) ctx.del(key_n("key:", static_cast<unsigned long long>(i)));
      ctx.touch("key:100", h->parts->now_ms() + 100'000);
      ctx.quiescent();
      ctx.offline();
    });
    t.join();
  };
  opt.on_walked_arg = &hook;
  const SnapshotResult w = write_snapshot(src, &tail, dir.path(), 5, opt);
  EXPECT_EQ(w.error, "");
  EXPECT_EQ(w.tail_records, 251u);
  store::Partitions dst(test_config(), 1);
  const LoadResult l = load_snapshot(w.path, dst, {.threads = 2});
  EXPECT_EQ(l.error, "");
  EXPECT_EQ(diff(dump(src), dump(dst)), "");
  return read_file(w.path);
}

TEST(Snapshot, EverySampledBitFlipIsRefused) {
  TempDir dir;
  const std::string good = small_snapshot(dir);
  ASSERT_GT(good.size(), 10'000u);
  ASSERT_TRUE(verify_snapshot_bytes(good).ok);
  std::mt19937_64 rng(7);
  std::string bad = good;
  std::size_t accepted = 0;
  const std::size_t trials = 4000;
  for (std::size_t t = 0; t < trials; ++t) {
    // Every bit of the first and of the last 100 bytes (header, first block header, footer),
    // then random offsets.
    const std::size_t bit = t < 800 ? t : t < 1600 ? (good.size() - 100) * 8 + (t - 800) : rng() % (good.size() * 8);
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    if (verify_snapshot_bytes(bad).ok) ++accepted;
    bad[bit / 8] = good[bit / 8];
  }
  EXPECT_EQ(accepted, 0u);
  // The loader refuses them too, naming the file and an offset.
  const std::string path = dir.path() + "/flipped.fsnap";
  for (int t = 0; t < 40; ++t) {
    const std::size_t bit = rng() % (good.size() * 8);
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    write_file(path, bad);
    bad[bit / 8] = good[bit / 8];
    store::Partitions dst(test_config(), 1);
    const LoadResult l = load_snapshot(path, dst, {.threads = 2});
    EXPECT_NE(l.error.find(path + ": offset "), std::string::npos) << l.error;
    const VerifyResult v = verify_snapshot(path);
    EXPECT_FALSE(v.ok);
    EXPECT_EQ(check_snapshot_file(path), v.reason);
    store::Partitions dst2(test_config(), 1);
    EXPECT_NE(load_snapshot_file(path, dst2), "");
    EXPECT_LE(v.offset, bit / 8) << v.reason;  // at or before the damage
  }
}

TEST(Snapshot, EveryTruncationIsRefused) {
  TempDir dir;
  const std::string good = small_snapshot(dir);
  std::size_t accepted = 0;
  for (std::size_t len = 0; len < good.size(); len += (len < 200 || good.size() - len < 200) ? 1 : 37) {
    if (verify_snapshot_bytes(std::string_view(good).substr(0, len)).ok) ++accepted;
  }
  EXPECT_EQ(accepted, 0u);
  // Bytes appended after the footer are refused too.
  EXPECT_FALSE(verify_snapshot_bytes(good + std::string(40, '\0')).ok);
  const std::string path = dir.path() + "/cut.fsnap";
  write_file(path, good.substr(0, good.size() - 1));
  store::Partitions dst(test_config(), 1);
  const LoadResult l = load_snapshot(path, dst);
  EXPECT_NE(l.error.find("no snapshot footer"), std::string::npos) << l.error;
  EXPECT_FALSE(verify_snapshot(dir.path() + "/absent.fsnap").ok);
}

// A tail ring too small for what the workers write: the snapshot fails, says why, and leaves no
// file behind (never a snapshot missing mutations).
TEST(Snapshot, TailOverflowFailsTheSnapshot) {
  TempDir dir;
  store::Partitions src(test_config(), 1);
  fill(src, 100, false);
  SnapshotTail tail(src.at(0), 1, 4096);
  struct Hook {
    store::Partitions* parts;
    SnapshotTail* tail;
  } hook{&src, &tail};
  SnapshotOptions opt;
  opt.on_walked = [](void* a) {
    auto* h = static_cast<Hook*>(a);
    std::thread t([h] {
      store::PartitionedContext ctx(*h->parts, 0);
      ctx.at(0).set_observer(h->tail->observer(0));
      ctx.set_now(h->parts->now_ms());
      for (int i = 0; i < 100; ++i) ctx.set(key_n("over:", static_cast<unsigned long long>(i)), std::string(100, 'o'));
      ctx.quiescent();
      ctx.offline();
    });
    t.join();
  };
  opt.on_walked_arg = &hook;
  const SnapshotResult w = write_snapshot(src, &tail, dir.path(), 2, opt);
  EXPECT_NE(w.error.find("mutations could not be captured"), std::string::npos) << w.error;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/" + snapshot_file_name(2)));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/" + snapshot_file_name(2) + ".tmp"));
  // The next snapshot with room works.
  SnapshotTail roomy(src.at(0), 1);
  EXPECT_EQ(write_snapshot(src, &roomy, dir.path(), 3).error, "");
}

// The tail's ordering rules: a store always applies; a delete or touch applies only to the
// version it names once the key's version is known.
TEST(TailApplier, RemovalsAndTouchesApplyOnlyToTheirVersion) {
  store::Partitions dst(test_config(), 1);
  store::PartitionedContext ctx(dst, 0);
  ctx.set_now(dst.now_ms());
  const std::uint64_t now = unix_now();
  TailApplier a(ctx, dst, now);
  auto set = [](std::string_view k, std::string_view v, std::uint64_t version) {
    Record r;
    r.type = RecordType::kSet;
    r.key = k;
    r.value = v;
    r.version = version;
    return r;
  };
  auto del = [](std::string_view k, std::uint64_t version) {
    Record r;
    r.type = RecordType::kDelete;
    r.key = k;
    r.version = version;
    return r;
  };
  auto touch = [](std::string_view k, std::uint64_t version, std::uint64_t deadline) {
    Record r;
    r.type = RecordType::kTouch;
    r.key = k;
    r.version = version;
    r.deadline_ms = deadline;
    return r;
  };
  // Version 100 deleted, then the key stored again by another context with a lower version:
  // the removal reported after the new store must not remove it.
  EXPECT_EQ(a.apply(set("k", "old", 100)), ApplyOutcome::kApplied);
  EXPECT_EQ(a.apply(set("k", "new", 7)), ApplyOutcome::kApplied);
  EXPECT_EQ(a.apply(del("k", 100)), ApplyOutcome::kStale);
  EXPECT_EQ(a.apply(touch("k", 100, now + 5000)), ApplyOutcome::kStale);
  ASSERT_TRUE(ctx.get("k"));
  EXPECT_EQ(ctx.get("k").value(), "new");
  EXPECT_EQ(ctx.get("k").expires_at_ms(), 0u);
  EXPECT_EQ(a.apply(touch("k", 7, now + 5000)), ApplyOutcome::kApplied);
  EXPECT_EQ(dst.to_unix_ms(ctx.get("k").expires_at_ms()), now + 5000);
  EXPECT_EQ(a.apply(del("k", 7)), ApplyOutcome::kApplied);
  EXPECT_FALSE(ctx.get("k"));
  // A key the tail has not stored yet (it came from the base): applied as it comes.
  ctx.set("base", "b");
  EXPECT_EQ(a.apply(del("base", 55)), ApplyOutcome::kApplied);
  EXPECT_FALSE(ctx.get("base"));
  // A touch whose deadline passed removes the key; a set whose deadline passed too.
  EXPECT_EQ(a.apply(set("t", "v", 9)), ApplyOutcome::kApplied);
  EXPECT_EQ(a.apply(touch("t", 9, now - 1)), ApplyOutcome::kExpired);
  EXPECT_FALSE(ctx.get("t"));
  Record gone = set("g", "v", 10);
  gone.deadline_ms = now;
  EXPECT_EQ(a.apply(gone), ApplyOutcome::kExpired);
  EXPECT_FALSE(ctx.get("g"));
  // A flush removes everything before it; keys the tail has not stored hold nothing after it.
  ctx.set("x", "1");
  EXPECT_EQ(a.apply(set("y", "2", 11)), ApplyOutcome::kApplied);
  Record flush;
  flush.type = RecordType::kFlush;
  flush.deadline_ms = now;
  EXPECT_EQ(a.apply(flush), ApplyOutcome::kApplied);
  ctx.set_now(dst.now_ms() + 1);
  EXPECT_FALSE(ctx.get("x"));
  EXPECT_FALSE(ctx.get("y"));
  EXPECT_EQ(a.apply(set("z", "3", 12)), ApplyOutcome::kApplied);
  EXPECT_EQ(a.apply(del("x", 1)), ApplyOutcome::kStale);
  EXPECT_TRUE(ctx.get("z"));
  ctx.quiescent();
  ctx.offline();
}

}  // namespace
}  // namespace ferrite::persist
