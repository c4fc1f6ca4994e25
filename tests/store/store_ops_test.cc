// Every store operation against the contract in store/store.h, one context, time driven by hand
// with Context::set_now (starting at Harness::kT0 = 1000 ms).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/store.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

using testing::Harness;
using testing::key_n;

constexpr std::uint64_t kT0 = Harness::kT0;

// ---------------------------------------------------------------------------------------------
// Configuration

TEST(StoreConfigCheck, DefaultsAreMemcachedLimits) {
  const StoreConfig c;
  EXPECT_EQ(c.max_key_size, 250u);
  EXPECT_EQ(c.max_item_size, std::size_t{1} << 20);
}

void expect_rejected(const StoreConfig& c, const std::string& setting) {
  try {
    Store s(c);
    ADD_FAILURE() << "Store accepted a config with a bad " << setting;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(setting), std::string::npos)
        << "message does not name the setting: " << e.what();
  }
}

TEST(StoreConfigCheck, RejectsKeySizeOver65535) {
  StoreConfig c = Harness::small_config();
  c.max_key_size = 65536;
  expect_rejected(c, "max_key_size");
}

TEST(StoreConfigCheck, RejectsMoreThan64Contexts) {
  StoreConfig c = Harness::small_config();
  c.max_contexts = 65;
  expect_rejected(c, "max_contexts");
}

TEST(StoreConfigCheck, RejectsZeroMemoryLimit) {
  StoreConfig c = Harness::small_config();
  c.memory_limit = 0;
  expect_rejected(c, "memory");  // the field, or its config-file name (store.memory)
}

TEST(StoreConfigCheck, AcceptsMaximalKeySize) {
  StoreConfig c = Harness::small_config();
  c.max_key_size = 65535;
  EXPECT_NO_THROW({ Store s(c); });
}

TEST(StoreConfigCheck, ReportsLimitAndSlots) {
  Harness h;
  EXPECT_EQ(h.store.memory_limit(), Harness::small_config().memory_limit);
  EXPECT_GT(h.store.table_slots(), 0u);
  EXPECT_GT(h.store.table_bytes(), 0u);
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.memory_limit, static_cast<std::int64_t>(h.store.memory_limit()));
  EXPECT_EQ(s.table_slots, static_cast<std::int64_t>(h.store.table_slots()));
  EXPECT_EQ(s.table_bytes, static_cast<std::int64_t>(h.store.table_bytes()));
  EXPECT_LE(h.store.bytes_used(), h.store.memory_limit());
}

TEST(StoreConfigCheck, ExplicitTableSlots) {
  StoreConfig c = Harness::small_config();
  c.table_slots = 10000;
  Store s(c);
  EXPECT_GE(s.table_slots(), 10000u);  // rounded up to whole buckets
  EXPECT_LT(s.table_slots(), 10000u * 2);
}

// ---------------------------------------------------------------------------------------------
// The table grows with the items (docs/store.md: "The table")

TEST(StoreTableGrowth, ResidentTableFollowsTheItemsAndNothingIsEvicted) {
  Harness h;  // 64 MiB: room for a million 64-byte items
  const StoreStats empty = h.store.stats();
  EXPECT_LT(empty.table_slots_now * 50, empty.table_slots) << "a new table starts small";
  EXPECT_LE(empty.table_resident_bytes, (2 << 20) + (64 << 10)) << "one 2 MiB chunk (and the shards' counters)";
  constexpr long long kItems = 200'000;
  for (long long i = 0; i < kItems; ++i) {
    ASSERT_EQ(h.ctx->set(key_n("grow:", i), "0123456789abcdef0123456789abcdef").status, Status::kOk);
    if (i % 64 == 63) h.ctx->quiescent();
  }
  h.ctx->quiescent();
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.items, kItems);
  EXPECT_EQ(s.evictions, 0);
  EXPECT_GT(s.table_growths, 0);
  // Shards grow by half at 85% load: each is between ~55% and 85% full (a little slack for the
  // spread of keys over shards).
  EXPECT_GE(s.table_slots_now * 90, kItems * 100) << s.table_slots_now;
  EXPECT_LE(s.table_slots_now * 45, kItems * 100) << s.table_slots_now;
  // The live arrays (a fifth of the capacity), and at most the unused end of the 2 MiB chunk the
  // next arrays will be cut from and some old arrays still in their grace period.
  const long long live = s.table_slots_now / kSlotsPerBucket * static_cast<long long>(sizeof(Bucket));
  EXPECT_LT(s.table_resident_bytes - live, (2 << 20) + (512 << 10)) << s.table_resident_bytes << " held for " << live;
  for (long long i = 0; i < kItems; ++i) {
    ASSERT_TRUE(h.ctx->get(key_n("grow:", i))) << i;
    if (i % 64 == 63) h.ctx->quiescent();
  }
  h.ctx->quiescent();
}

TEST(StoreTableGrowth, DeadArraysGoBackToTheKernelAndLiveOnesKeepTheirEntries) {
  Harness h;  // 64 MiB: 52 shards of at most 2048 buckets
  constexpr long long kItems = 400'000;
  for (long long i = 0; i < kItems; ++i) {
    ASSERT_EQ(h.ctx->set(key_n("grow:", i), "0123456789abcdef0123456789abcdef").status, Status::kOk);
    if (i % 64 == 63) h.ctx->quiescent();
  }
  h.ctx->quiescent();
  h.ctx->quiescent();  // every old array's grace period is over
  const StoreStats s = h.store.stats();
  const long long live = s.table_slots_now / kSlotsPerBucket * static_cast<long long>(sizeof(Bucket));
  // The table holds its live arrays (4.1 MB here), the unused end of the chunk it cuts from, and
  // pieces of dead arrays that share a 4 KiB page with a live one: 0.6 MB more for these keys.
  // Holding every chunk that still has a live array in it would be 2.2 MB more.
  EXPECT_LT(s.table_resident_bytes - live, 1 << 20) << s.table_resident_bytes << " held for " << live;
  for (long long i = 0; i < kItems; ++i) {
    ASSERT_TRUE(h.ctx->get(key_n("grow:", i))) << i;  // no page of a live array went back
    if (i % 64 == 63) h.ctx->quiescent();
  }
  h.ctx->quiescent();
}

TEST(StoreTableGrowth, GrowsToItsCapacityAndThenEvictsWithinBuckets) {
  StoreConfig c = Harness::small_config();
  c.table_slots = 4000;
  Harness h(c);
  for (long long i = 0; i < 20'000; ++i) {
    ASSERT_EQ(h.ctx->set(key_n("cap:", i), "v").status, Status::kOk);
    if (i % 64 == 63) h.ctx->quiescent();
  }
  h.ctx->quiescent();
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.table_slots_now, s.table_slots);
  EXPECT_GT(s.table_full_evictions, 0);
  EXPECT_LE(s.items, s.table_slots);
  EXPECT_GT(s.items * 100, s.table_slots * 90) << "a full table uses its slots";
}

TEST(StoreTableGrowth, ExpiryHandlesStillFindTheirItemAfterItsShardGrew) {
  Harness h;
  SetRequest ttl;
  ttl.expires_at_ms = Harness::kT0 + 100;
  for (long long i = 0; i < 100; ++i) ASSERT_EQ(h.ctx->set(key_n("ttl:", i), "x", ttl).status, Status::kOk);
  for (long long i = 0; i < 50'000; ++i) {  // every shard grows under the wheel's handles
    ASSERT_EQ(h.ctx->set(key_n("fill:", i), "x").status, Status::kOk);
    if (i % 64 == 63) h.ctx->quiescent();
  }
  ASSERT_GT(h.store.stats().table_growths, 0);
  h.at(Harness::kT0 + 200);
  for (int i = 0; i < 100; ++i) {
    h.ctx->tick();
    h.ctx->quiescent();
  }
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.expired_active, 100) << "the wheel removed every expired item, none was lost track of";
  EXPECT_EQ(s.items, 50'000);
}

// ---------------------------------------------------------------------------------------------
// Clock and contexts

TEST(StoreClock, StartsAtOneAndIsMonotonic) {
  Harness h;
  const std::uint64_t a = h.store.now_ms();
  EXPECT_GE(a, 1u);
  EXPECT_LT(a, 10'000u);  // "1 at the store's creation"
  const std::uint64_t b = h.store.now_ms();
  EXPECT_GE(b, a);
}

TEST(StoreClock, UnixConversionRoundTrips) {
  Harness h;
  const std::uint64_t store_ms = 123'456;
  const std::uint64_t unix_ms = h.store.to_unix_ms(store_ms);
  EXPECT_GT(unix_ms, std::uint64_t{1'600'000'000'000});  // after 2020
  EXPECT_EQ(h.store.from_unix_ms(unix_ms), store_ms);
  EXPECT_EQ(h.store.to_unix_ms(store_ms + 5000), unix_ms + 5000);
}

TEST(StoreContext, ContextsHaveDistinctIdsAndVersions) {
  Harness h;
  auto other = h.store.attach();
  other->set_now(kT0);
  EXPECT_NE(h.ctx->id(), other->id());
  std::vector<std::uint64_t> seen;
  for (int i = 0; i < 100; ++i) {
    seen.push_back(h.ctx->set(key_n("a", i), "x").cas);
    seen.push_back(other->set(key_n("b", i), "y").cas);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "two stores got the same CAS";
  // Each context sees the other's writes.
  ItemView v = other->get("a7");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "x");
  other->quiescent();
}

TEST(StoreContext, DetachingFreesTheSlot) {
  StoreConfig c = Harness::small_config();
  c.max_contexts = 1;
  Store store(c);
  for (int round = 0; round < 3; ++round) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    ASSERT_EQ(ctx->set(key_n("round", round), "v").status, Status::kOk);
    if (round > 0) {
      ItemView v = ctx->get(key_n("round", round - 1));
      EXPECT_TRUE(v) << "an item stored through a detached context is gone";
    }
    ctx->quiescent();
  }
}

// ---------------------------------------------------------------------------------------------
// get / set

TEST(StoreGet, MissOnEmptyStore) {
  Harness h;
  EXPECT_FALSE(h.get("nothing"));
}

TEST(StoreSet, RoundTrip) {
  Harness h;
  const SetResult r = h.set("greeting", "hello world");
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_NE(r.cas, 0u);
  ItemView v = h.ctx->get("greeting");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.key(), "greeting");
  EXPECT_EQ(v.value(), "hello world");
  EXPECT_EQ(v.flags(), 0u);
  EXPECT_EQ(v.cas(), r.cas);
  EXPECT_EQ(v.expires_at_ms(), 0u);
  h.ctx->quiescent();
}

TEST(StoreSet, EmptyValue) {
  Harness h;
  EXPECT_EQ(h.set("k", "").status, Status::kOk);
  const auto v = h.get("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, "");
}

TEST(StoreSet, BinaryKeysAndValues) {
  Harness h;
  const std::string key1("a\0b", 3), key2("a", 1), key3("a\0c", 3);
  const std::string value("\0\xff\r\n \0", 6);
  EXPECT_EQ(h.set(key1, value).status, Status::kOk);
  EXPECT_EQ(h.set(key2, "plain").status, Status::kOk);
  EXPECT_EQ(h.get(key1), value);
  EXPECT_EQ(h.get(key2), "plain");
  EXPECT_FALSE(h.get(key3));
}

TEST(StoreSet, OverwriteReplacesValue) {
  Harness h;
  EXPECT_FALSE(h.set("k", "first").replaced);
  EXPECT_TRUE(h.set("k", "second, longer value").replaced);
  EXPECT_EQ(h.get("k"), "second, longer value");
  h.set("k", "3");
  EXPECT_EQ(h.get("k"), "3");
  EXPECT_EQ(h.store.stats().items, 1);
  // A deleted key is new again.
  EXPECT_EQ(h.ctx->del("k"), Status::kOk);
  EXPECT_FALSE(h.set("k", "4").replaced);
}

TEST(StoreSet, ManyKeysAllReadable) {
  Harness h;
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(h.set(key_n("key:", i), key_n("value:", i * 7)).status, Status::kOk);
  }
  for (int i = 0; i < 10000; ++i) {
    ASSERT_EQ(h.get(key_n("key:", i)), key_n("value:", i * 7)) << i;
  }
  EXPECT_EQ(h.store.stats().items, 10000);
}

TEST(StoreSet, ViewStaysValidUntilQuiescent) {
  Harness h;
  h.set("k", std::string(1000, 'a'));
  ItemView v = h.ctx->get("k");
  ASSERT_TRUE(v);
  h.set("k", std::string(1000, 'b'));
  h.ctx->del("k");
  h.ctx->tick();
  // The old view still reads the old item: it is reclaimed only after our quiescent point.
  EXPECT_EQ(v.value(), std::string(1000, 'a'));
  h.ctx->quiescent();
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreFlags, RoundTrip) {
  Harness h;
  for (std::uint32_t flags : {0u, 1u, 0x8000'0000u, 0xFFFF'FFFFu}) {
    const std::string key = key_n("f", flags);
    ASSERT_EQ(h.set(key, "v", SetMode::kSet, flags).status, Status::kOk);
    EXPECT_EQ(h.flags_of(key), flags);
  }
  // A new store replaces the flags.
  h.set("f1", "v", SetMode::kSet, 0);
  EXPECT_EQ(h.flags_of("f1"), 0u);
}

// ---------------------------------------------------------------------------------------------
// CAS values

TEST(StoreCas, ChangesOnEveryStore) {
  Harness h;
  std::vector<std::uint64_t> cas;
  auto record = [&](const char* what, Status st, std::uint64_t reported) {
    ASSERT_EQ(st, Status::kOk) << what;
    const std::uint64_t now = h.cas_of("k");
    EXPECT_EQ(reported, now) << what << ": reported CAS is not the item's";
    if (!cas.empty()) {
      EXPECT_GT(now, cas.back()) << what << ": CAS did not grow";
    }
    cas.push_back(now);
  };
  SetResult r = h.set("k", "1");
  record("set", r.status, r.cas);
  r = h.set("k", "2");
  record("set again", r.status, r.cas);
  r = h.set("k", "3", SetMode::kReplace);
  record("replace", r.status, r.cas);
  r = h.set("k", "4", SetMode::kAppend);
  record("append", r.status, r.cas);
  r = h.set("k", "5", SetMode::kPrepend);
  record("prepend", r.status, r.cas);
  r = h.set("k", "6", SetMode::kCas, 0, 0, cas.back());
  record("cas", r.status, r.cas);
  ArithResult a = h.ctx->incr("k", 1);
  record("incr", a.status, a.cas);
  a = h.ctx->incr("k", 1, true);
  record("decr", a.status, a.cas);
  bool overflow = false;
  a = h.ctx->incr_signed("k", 5, &overflow);
  record("incr_signed", a.status, a.cas);
  // Delete and add: a fresh item still gets a CAS above any the key had.
  ASSERT_EQ(h.ctx->del("k"), Status::kOk);
  r = h.set("k", "new", SetMode::kAdd);
  record("add after delete", r.status, r.cas);
}

TEST(StoreCas, UnchangedByTouchAndGat) {
  Harness h;
  const std::uint64_t c = h.set("k", "v").cas;
  ASSERT_EQ(h.ctx->touch("k", kT0 + 5000), Status::kOk);
  EXPECT_EQ(h.cas_of("k"), c);
  ItemView v = h.ctx->gat("k", kT0 + 9000);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.cas(), c);
  h.ctx->quiescent();
  EXPECT_EQ(h.cas_of("k"), c);
  // Reads do not change it either.
  EXPECT_EQ(h.cas_of("k"), c);
}

TEST(StoreCas, MatchStores) {
  Harness h;
  const std::uint64_t c = h.set("k", "old").cas;
  const SetResult r = h.set("k", "new", SetMode::kCas, 0, 0, c);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(h.get("k"), "new");
  EXPECT_EQ(h.store.stats().cas_hits, 1);
}

TEST(StoreCas, MismatchIsExists) {
  Harness h;
  const std::uint64_t c1 = h.set("k", "one").cas;
  const std::uint64_t c2 = h.set("k", "two").cas;
  ASSERT_NE(c1, c2);
  EXPECT_EQ(h.set("k", "stale", SetMode::kCas, 0, 0, c1).status, Status::kExists);
  EXPECT_EQ(h.get("k"), "two");
  EXPECT_EQ(h.cas_of("k"), c2);
  EXPECT_EQ(h.store.stats().cas_badval, 1);
}

TEST(StoreCas, MissingIsNotFound) {
  Harness h;
  EXPECT_EQ(h.set("nope", "v", SetMode::kCas, 0, 0, 12345).status, Status::kNotFound);
  EXPECT_FALSE(h.get("nope"));
  const std::uint64_t c = h.set("k", "v").cas;
  ASSERT_EQ(h.ctx->del("k"), Status::kOk);
  EXPECT_EQ(h.set("k", "v2", SetMode::kCas, 0, 0, c).status, Status::kNotFound);
  EXPECT_FALSE(h.get("k"));
  EXPECT_EQ(h.store.stats().cas_misses, 2);
}

TEST(StoreCas, ExpiredIsNotFound) {
  Harness h;
  const std::uint64_t c = h.set("k", "v", SetMode::kSet, 0, kT0 + 10).cas;
  h.at(kT0 + 10);
  EXPECT_EQ(h.set("k", "v2", SetMode::kCas, 0, 0, c).status, Status::kNotFound);
}

TEST(StoreCas, NonZeroCasCheckedByAnyMode) {
  Harness h;
  const std::uint64_t c = h.set("k", "base").cas;
  // Wrong CAS: refused whatever the mode.
  for (SetMode m : {SetMode::kSet, SetMode::kReplace, SetMode::kAppend, SetMode::kPrepend}) {
    EXPECT_EQ(h.set("k", "x", m, 0, 0, c + 1000).status, Status::kExists) << static_cast<int>(m);
  }
  EXPECT_EQ(h.get("k"), "base");
  // Right CAS: the mode applies.
  const SetResult r = h.set("k", "+tail", SetMode::kAppend, 0, 0, c);
  ASSERT_EQ(r.status, Status::kOk);
  EXPECT_EQ(h.get("k"), "base+tail");
  EXPECT_EQ(h.set("k", "whole", SetMode::kSet, 0, 0, r.cas).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "whole");
}

// ---------------------------------------------------------------------------------------------
// add / replace / append / prepend

TEST(StoreAdd, OnMissingStores) {
  Harness h;
  EXPECT_EQ(h.set("k", "v", SetMode::kAdd).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "v");
}

TEST(StoreAdd, OnExistingIsNotStored) {
  Harness h;
  const std::uint64_t c = h.set("k", "orig").cas;
  EXPECT_EQ(h.set("k", "new", SetMode::kAdd).status, Status::kNotStored);
  EXPECT_EQ(h.get("k"), "orig");
  EXPECT_EQ(h.cas_of("k"), c);
  EXPECT_EQ(h.store.stats().set_failures, 1);
}

TEST(StoreAdd, OnExpiredStores) {
  Harness h;
  h.set("k", "old", SetMode::kSet, 0, kT0 + 5);
  h.at(kT0 + 5);
  EXPECT_EQ(h.set("k", "new", SetMode::kAdd).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "new");
}

TEST(StoreReplace, OnMissingIsNotStored) {
  Harness h;
  EXPECT_EQ(h.set("k", "v", SetMode::kReplace).status, Status::kNotStored);
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreReplace, OnExistingStores) {
  Harness h;
  h.set("k", "old", SetMode::kSet, 5);
  EXPECT_EQ(h.set("k", "new", SetMode::kReplace, 9).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "new");
  EXPECT_EQ(h.flags_of("k"), 9u);
}

TEST(StoreReplace, OnExpiredIsNotStored) {
  Harness h;
  h.set("k", "old", SetMode::kSet, 0, kT0 + 5);
  h.at(kT0 + 5);
  EXPECT_EQ(h.set("k", "new", SetMode::kReplace).status, Status::kNotStored);
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreAppend, OnMissingIsNotStored) {
  Harness h;
  EXPECT_EQ(h.set("k", "v", SetMode::kAppend).status, Status::kNotStored);
  EXPECT_EQ(h.set("k", "v", SetMode::kPrepend).status, Status::kNotStored);
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreAppend, AppendsAndPrepends) {
  Harness h;
  h.set("k", "middle");
  EXPECT_EQ(h.set("k", "-end", SetMode::kAppend).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "middle-end");
  EXPECT_EQ(h.set("k", "start-", SetMode::kPrepend).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "start-middle-end");
  EXPECT_EQ(h.set("k", "", SetMode::kAppend).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "start-middle-end");
  h.set("e", "");
  EXPECT_EQ(h.set("e", "x", SetMode::kPrepend).status, Status::kOk);
  EXPECT_EQ(h.get("e"), "x");
}

TEST(StoreAppend, GrowsAcrossTheLongFormBoundary) {
  StoreConfig c = Harness::small_config();
  c.max_item_size = std::size_t{6} << 20;
  Harness h(c);
  const std::string chunk(std::size_t{1} << 20, 'z');
  h.set("k", chunk);
  for (int i = 0; i < 4; ++i) ASSERT_EQ(h.set("k", chunk, SetMode::kAppend).status, Status::kOk) << i;
  const auto v = h.get("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), chunk.size() * 5);
  EXPECT_EQ(v->find_first_not_of('z'), std::string::npos);
}

TEST(StoreAppend, KeepsFlagsAndExpiry) {
  // memcached: append/prepend ignore the request's flags and exptime and keep the item's.
  Harness h;
  h.set("k", "v", SetMode::kSet, 77, kT0 + 1000);
  ASSERT_EQ(h.set("k", "w", SetMode::kAppend, 0, 0).status, Status::kOk);
  ASSERT_EQ(h.set("k", "u", SetMode::kPrepend, 5, kT0 + 999'999).status, Status::kOk);
  EXPECT_EQ(h.get("k"), "uvw");
  EXPECT_EQ(h.flags_of("k"), 77u);
  EXPECT_EQ(h.expiry_of("k"), kT0 + 1000);
}

TEST(StoreAppend, BeyondMaxItemSizeIsTooLarge) {
  StoreConfig c = Harness::small_config();
  c.max_item_size = 1000;
  Harness h(c);
  h.set("k", std::string(600, 'a'));
  EXPECT_EQ(h.set("k", std::string(400, 'b'), SetMode::kAppend).status, Status::kOk);  // exactly 1000
  EXPECT_EQ(h.set("k", "c", SetMode::kAppend).status, Status::kTooLarge);
  EXPECT_EQ(h.set("k", "c", SetMode::kPrepend).status, Status::kTooLarge);
  const auto v = h.get("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), 1000u);
}

// ---------------------------------------------------------------------------------------------
// delete

TEST(StoreDelete, HitAndMiss) {
  Harness h;
  h.set("k", "v");
  EXPECT_EQ(h.ctx->del("k"), Status::kOk);
  EXPECT_FALSE(h.get("k"));
  EXPECT_EQ(h.ctx->del("k"), Status::kNotFound);
  EXPECT_EQ(h.ctx->del("never"), Status::kNotFound);
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.delete_hits, 1);
  EXPECT_EQ(s.delete_misses, 2);
  EXPECT_EQ(s.items, 0);
}

TEST(StoreDelete, WithCas) {
  Harness h;
  const std::uint64_t c = h.set("k", "v").cas;
  EXPECT_EQ(h.ctx->del("k", c + 1), Status::kExists);
  EXPECT_EQ(h.get("k"), "v");
  EXPECT_EQ(h.ctx->del("k", c), Status::kOk);
  EXPECT_FALSE(h.get("k"));
  EXPECT_EQ(h.ctx->del("k", c), Status::kNotFound);
}

TEST(StoreDelete, ExpiredIsNotFound) {
  Harness h;
  h.set("k", "v", SetMode::kSet, 0, kT0 + 1);
  h.at(kT0 + 1);
  EXPECT_EQ(h.ctx->del("k"), Status::kNotFound);
}

TEST(StoreDelete, ThenSetAgain) {
  Harness h;
  h.set("k", "one");
  h.ctx->del("k");
  h.set("k", "two");
  EXPECT_EQ(h.get("k"), "two");
  EXPECT_EQ(h.store.stats().items, 1);
}

// ---------------------------------------------------------------------------------------------
// incr / decr (memcached: unsigned 64-bit)

// memcached may space-pad a number that got shorter; the digits must be right either way.
std::string trim_right(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

TEST(StoreIncr, Basic) {
  Harness h;
  h.set("n", "10");
  ArithResult r = h.ctx->incr("n", 5);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 15u);
  EXPECT_EQ(h.get("n"), "15");
  EXPECT_EQ(r.cas, h.cas_of("n"));
  r = h.ctx->incr("n", 3, true);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 12u);
  EXPECT_EQ(h.get("n"), "12");
  r = h.ctx->incr("n", 0);
  EXPECT_EQ(r.value, 12u);
  EXPECT_EQ(h.store.stats().incr_hits, 3);
}

TEST(StoreIncr, MissingIsNotFound) {
  Harness h;
  EXPECT_EQ(h.ctx->incr("n", 1).status, Status::kNotFound);
  EXPECT_EQ(h.ctx->incr("n", 1, true).status, Status::kNotFound);
  EXPECT_FALSE(h.get("n"));  // memcached incr does not create
  EXPECT_EQ(h.store.stats().incr_misses, 2);
}

TEST(StoreIncr, NonNumericValues) {
  Harness h;
  for (const char* v : {"abc", "12a", "a12", "", "-5", "1.5", "0x10", "18446744073709551616",
                        "99999999999999999999", "123456789012345678901"}) {
    SCOPED_TRACE(v);
    h.set("n", v);
    EXPECT_EQ(h.ctx->incr("n", 1).status, Status::kNonNumeric);
    EXPECT_EQ(h.ctx->incr("n", 1, true).status, Status::kNonNumeric);
    EXPECT_EQ(h.get("n"), std::string(v));  // untouched
  }
}

TEST(StoreIncr, MoreThanTwentyDigitsIsNonNumeric) {
  // store.h: kNonNumeric on "a value that is not a decimal number of at most 20 digits", even when
  // the extra digits are leading zeros. (memcached itself parses up to 22 bytes with strtoull.)
  Harness h;
  h.set("n", "000000000000000000001");  // 21 digits
  EXPECT_EQ(h.ctx->incr("n", 1).status, Status::kNonNumeric);
  EXPECT_EQ(h.get("n"), "000000000000000000001");
}

TEST(StoreIncr, TwentyDigitsAccepted) {
  Harness h;
  h.set("n", "18446744073709551615");  // 2^64 - 1, 20 digits
  ArithResult r = h.ctx->incr("n", 0);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, std::numeric_limits<std::uint64_t>::max());
  h.set("n", "00000000000000000007");  // 20 digits with leading zeros
  r = h.ctx->incr("n", 1);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 8u);
  EXPECT_EQ(trim_right(h.get("n").value_or("?")), "8");
}

TEST(StoreIncr, WrapsAt2To64) {
  Harness h;
  h.set("n", "18446744073709551615");
  ArithResult r = h.ctx->incr("n", 1);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 0u);
  EXPECT_EQ(h.get("n"), "0");
  h.set("n", "5");
  r = h.ctx->incr("n", std::numeric_limits<std::uint64_t>::max());  // 5 + 2^64 - 1
  EXPECT_EQ(r.value, 4u);
  EXPECT_EQ(h.get("n"), "4");
}

TEST(StoreIncr, DecrFloorsAtZero) {
  Harness h;
  h.set("n", "5");
  ArithResult r = h.ctx->incr("n", 10, true);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, 0u);
  EXPECT_EQ(h.get("n"), "0");
  r = h.ctx->incr("n", 1, true);
  EXPECT_EQ(r.value, 0u);
  h.set("n", "18446744073709551615");
  r = h.ctx->incr("n", std::numeric_limits<std::uint64_t>::max(), true);
  EXPECT_EQ(r.value, 0u);
}

TEST(StoreIncr, LengthChanges) {
  Harness h;
  h.set("n", "99");
  EXPECT_EQ(h.ctx->incr("n", 1).value, 100u);
  EXPECT_EQ(h.get("n"), "100");
  EXPECT_EQ(h.ctx->incr("n", 999'900).value, 1'000'000u);
  EXPECT_EQ(h.get("n"), "1000000");
  EXPECT_EQ(h.ctx->incr("n", 1, true).value, 999'999u);
  EXPECT_EQ(trim_right(h.get("n").value_or("?")), "999999");
  h.set("m", "9");
  EXPECT_EQ(h.ctx->incr("m", 18446744073709551605ull).value, 18446744073709551614ull);
  EXPECT_EQ(h.get("m"), "18446744073709551614");
}

TEST(StoreIncr, KeepsFlagsAndExpiry) {
  Harness h;
  h.set("n", "1", SetMode::kSet, 0xABCD, kT0 + 500);
  ASSERT_EQ(h.ctx->incr("n", 1).status, Status::kOk);
  EXPECT_EQ(h.flags_of("n"), 0xABCDu);
  EXPECT_EQ(h.expiry_of("n"), kT0 + 500);
  h.at(kT0 + 500);
  EXPECT_FALSE(h.get("n"));
}

TEST(StoreIncr, ExpiredIsNotFound) {
  Harness h;
  h.set("n", "1", SetMode::kSet, 0, kT0 + 5);
  h.at(kT0 + 5);
  EXPECT_EQ(h.ctx->incr("n", 1).status, Status::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// incr_signed (Redis INCRBY/DECRBY: signed 64-bit)

TEST(StoreIncrSigned, MissingKeyIsCreated) {
  Harness h;
  bool overflow = true;
  ArithResult r = h.ctx->incr_signed("c", 7, &overflow);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), 7);
  EXPECT_EQ(h.get("c"), "7");
  EXPECT_EQ(h.expiry_of("c"), 0u);
  EXPECT_EQ(r.cas, h.cas_of("c"));
  r = h.ctx->incr_signed("d", -3, &overflow);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), -3);
  EXPECT_EQ(h.get("d"), "-3");
}

TEST(StoreIncrSigned, NegativeValues) {
  Harness h;
  bool overflow = false;
  h.set("c", "-5");
  ArithResult r = h.ctx->incr_signed("c", 3, &overflow);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), -2);
  EXPECT_EQ(h.get("c"), "-2");
  r = h.ctx->incr_signed("c", 10, &overflow);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), 8);
  EXPECT_EQ(h.get("c"), "8");
  r = h.ctx->incr_signed("c", -20, &overflow);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), -12);
  EXPECT_EQ(h.get("c"), "-12");
}

TEST(StoreIncrSigned, OverflowIsFlagged) {
  Harness h;
  bool overflow = false;
  h.set("c", "9223372036854775807");
  ArithResult r = h.ctx->incr_signed("c", 1, &overflow);
  EXPECT_EQ(r.status, Status::kNonNumeric);
  EXPECT_TRUE(overflow);
  EXPECT_EQ(h.get("c"), "9223372036854775807");

  overflow = false;
  h.set("c", "-9223372036854775808");
  r = h.ctx->incr_signed("c", -1, &overflow);
  EXPECT_EQ(r.status, Status::kNonNumeric);
  EXPECT_TRUE(overflow);
  EXPECT_EQ(h.get("c"), "-9223372036854775808");

  overflow = true;
  r = h.ctx->incr_signed("c", std::numeric_limits<std::int64_t>::max(), &overflow);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), -1);
}

TEST(StoreIncrSigned, NonNumericIsNotOverflow) {
  Harness h;
  bool overflow = true;
  h.set("c", "hello");
  EXPECT_EQ(h.ctx->incr_signed("c", 1, &overflow).status, Status::kNonNumeric);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(h.get("c"), "hello");
  // Beyond the signed range: not an integer Redis accepts.
  h.set("c", "18446744073709551615");
  EXPECT_EQ(h.ctx->incr_signed("c", 1, &overflow).status, Status::kNonNumeric);
}

TEST(StoreIncrSigned, ExpiredKeyCountsAsZero) {
  Harness h;
  bool overflow = false;
  h.set("c", "100", SetMode::kSet, 0, kT0 + 5);
  h.at(kT0 + 5);
  const ArithResult r = h.ctx->incr_signed("c", 2, &overflow);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(static_cast<std::int64_t>(r.value), 2);
  EXPECT_EQ(h.get("c"), "2");
  EXPECT_EQ(h.expiry_of("c"), 0u);
}

// ---------------------------------------------------------------------------------------------
// keys and value sizes

TEST(StoreKey, MaximumDefaultKeySize) {
  Harness h;
  const std::string k250(250, 'k'), k251(251, 'k');
  EXPECT_EQ(h.set(k250, "v").status, Status::kOk);
  EXPECT_EQ(h.get(k250), "v");
  EXPECT_EQ(h.set(k251, "v").status, Status::kKeyTooLong);
  EXPECT_FALSE(h.get(k251));
  EXPECT_EQ(h.set(k251, "v", SetMode::kAdd).status, Status::kKeyTooLong);
}

TEST(StoreKey, EmptyKeyRefused) {
  Harness h;
  EXPECT_EQ(h.set("", "v").status, Status::kEmptyKey);
  EXPECT_FALSE(h.get(""));
  EXPECT_EQ(h.store.stats().items, 0);
}

TEST(StoreKey, OtherOperationsRefuseBadKeys) {
  Harness h;
  const std::string k251(251, 'k');
  bool overflow = false;
  EXPECT_EQ(h.ctx->incr(k251, 1).status, Status::kKeyTooLong);
  EXPECT_EQ(h.ctx->incr_signed(k251, 1, &overflow).status, Status::kKeyTooLong);
  EXPECT_EQ(h.ctx->incr("", 1).status, Status::kEmptyKey);
  EXPECT_EQ(h.ctx->incr_signed("", 1, &overflow).status, Status::kEmptyKey);
  EXPECT_NE(h.ctx->del(k251), Status::kOk);
  EXPECT_NE(h.ctx->del(""), Status::kOk);
  EXPECT_NE(h.ctx->touch(k251, 0), Status::kOk);
  EXPECT_FALSE(h.ctx->gat(k251, 0));
  h.ctx->quiescent();
  EXPECT_EQ(h.store.stats().items, 0);
}

TEST(StoreKey, ConfigurableUpTo65535) {
  StoreConfig c = Harness::small_config();
  c.max_key_size = 65535;
  Harness h(c);
  std::string key(65535, '\0');
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>('a' + i % 26);
  EXPECT_EQ(h.set(key, "big key", SetMode::kSet, 3).status, Status::kOk);
  ItemView v = h.ctx->get(key);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.key(), key);
  EXPECT_EQ(v.value(), "big key");
  EXPECT_EQ(v.flags(), 3u);
  h.ctx->quiescent();
  EXPECT_EQ(h.set(std::string(65536, 'a'), "v").status, Status::kKeyTooLong);
  // A key differing only in its last byte is a different key.
  std::string other = key;
  other.back() = '#';
  EXPECT_FALSE(h.get(other));
}

TEST(StoreKey, LongFormKey) {
  StoreConfig c = Harness::small_config();
  c.max_key_size = 1024;
  Harness h(c);
  for (std::size_t len : {255u, 256u, 300u, 1024u}) {
    const std::string key(len, static_cast<char>('A' + len % 26));
    ASSERT_EQ(h.set(key, key_n("v", len), SetMode::kSet, len == 300 ? 0xFFFFFFFFu : 0).status, Status::kOk)
        << len;
    EXPECT_EQ(h.get(key), key_n("v", len));
    EXPECT_EQ(h.flags_of(key), len == 300 ? 0xFFFFFFFFu : 0u);
  }
  EXPECT_EQ(h.set(std::string(1025, 'x'), "v").status, Status::kKeyTooLong);
}

TEST(StoreValue, MaxItemSizeExactlyAccepted) {
  Harness h;
  const std::size_t max = h.store.config().max_item_size;
  ASSERT_EQ(max, std::size_t{1} << 20);
  const std::string exact(max, 'x');
  EXPECT_EQ(h.set("k", exact).status, Status::kOk);
  const auto v = h.get("k");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->size(), max);
  EXPECT_EQ(h.set("k2", std::string(max + 1, 'y')).status, Status::kTooLarge);
  EXPECT_FALSE(h.get("k2"));
  // A refused overwrite leaves the old value.
  EXPECT_EQ(h.set("k", std::string(max + 1, 'y')).status, Status::kTooLarge);
  EXPECT_EQ(h.get("k")->size(), max);
  EXPECT_GE(h.store.stats().set_failures, 2);
}

TEST(StoreValue, LongFormValueOver4MiB) {
  StoreConfig c = Harness::small_config();
  c.max_item_size = std::size_t{8} << 20;
  Harness h(c);
  const std::size_t len = (std::size_t{4} << 20) + 12345;
  std::string value(len, '\0');
  for (std::size_t i = 0; i < len; ++i) value[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_EQ(h.set("big", value, SetMode::kSet, 42).status, Status::kOk);
  ItemView v = h.ctx->get("big");
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value().size(), len);
  EXPECT_TRUE(v.value() == value);
  EXPECT_EQ(v.flags(), 42u);
  h.ctx->quiescent();
  const std::string exact(c.max_item_size, 'e');
  EXPECT_EQ(h.set("exact", exact).status, Status::kOk);
  EXPECT_EQ(h.get("exact")->size(), c.max_item_size);
  EXPECT_EQ(h.set("over", std::string(c.max_item_size + 1, 'o')).status, Status::kTooLarge);
}

TEST(StoreValue, ShortLongBoundary) {
  StoreConfig c = Harness::small_config();
  c.max_item_size = std::size_t{8} << 20;
  Harness h(c);
  for (std::size_t len :
       {std::size_t{kShortValueMax} - 1, std::size_t{kShortValueMax}, std::size_t{kShortValueMax} + 1}) {
    const std::string value(len, static_cast<char>('a' + len % 7));
    ASSERT_EQ(h.set("k", value).status, Status::kOk) << len;
    const auto v = h.get("k");
    ASSERT_TRUE(v);
    EXPECT_TRUE(*v == value) << len;
  }
}

// ---------------------------------------------------------------------------------------------
// expiry

TEST(StoreExpiry, ExactBoundary) {
  Harness h;
  const std::uint64_t T = kT0 + 100;
  h.set("k", "v", SetMode::kSet, 0, T);
  EXPECT_EQ(h.expiry_of("k"), T);
  h.at(T - 1);
  EXPECT_EQ(h.get("k"), "v");
  h.at(T);
  EXPECT_FALSE(h.get("k"));
  h.at(T - 1);  // removed for good, even if a clock were to step back
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreExpiry, ZeroIsNever) {
  Harness h;
  h.set("k", "v", SetMode::kSet, 0, 0);
  EXPECT_EQ(h.expiry_of("k"), 0u);
  for (std::uint64_t t : {std::uint64_t{2'000'000'000}, std::uint64_t{5'000'000'000'000}}) {
    h.at(t);
    h.ctx->tick();
    EXPECT_EQ(h.get("k"), "v") << t;
  }
}

TEST(StoreExpiry, DeadlineInThePastIsNotVisible) {
  Harness h;
  h.at(kT0 + 1000);
  h.set("past", "v", SetMode::kSet, 0, kT0 + 999);
  h.set("now", "v", SetMode::kSet, 0, kT0 + 1000);
  EXPECT_FALSE(h.get("past"));
  EXPECT_FALSE(h.get("now"));
}

TEST(StoreExpiry, SecondsFormNeverExpiresEarly) {
  // Deadlines from 2^31 ms on are kept in whole seconds, rounded up.
  Harness h;
  const std::uint64_t start = 3'000'000'000;
  h.at(start);
  const std::uint64_t T = start + 500;
  h.set("k", "v", SetMode::kSet, 0, T);
  const std::uint64_t stored = h.expiry_of("k");
  EXPECT_EQ(stored, 3'000'001'000u);
  h.at(T);
  EXPECT_EQ(h.get("k"), "v");
  h.at(stored - 1);
  EXPECT_EQ(h.get("k"), "v");
  h.at(stored);
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreExpiry, TouchChangesDeadline) {
  Harness h;
  h.set("k", "v", SetMode::kSet, 0, kT0 + 100);
  // Extend.
  EXPECT_EQ(h.ctx->touch("k", kT0 + 1000), Status::kOk);
  EXPECT_EQ(h.expiry_of("k"), kT0 + 1000);
  h.at(kT0 + 500);
  EXPECT_EQ(h.get("k"), "v");
  // Shorten.
  EXPECT_EQ(h.ctx->touch("k", kT0 + 600), Status::kOk);
  h.at(kT0 + 599);
  EXPECT_EQ(h.get("k"), "v");
  h.at(kT0 + 600);
  EXPECT_FALSE(h.get("k"));
  EXPECT_EQ(h.ctx->touch("k", kT0 + 9000), Status::kNotFound);  // expired: too late to touch
  EXPECT_EQ(h.ctx->touch("never-set", 0), Status::kNotFound);
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.touch_hits, 2);
  EXPECT_EQ(s.touch_misses, 2);
}

TEST(StoreExpiry, TouchToZeroMeansNever) {
  Harness h;
  h.set("k", "v", SetMode::kSet, 0, kT0 + 10);
  ASSERT_EQ(h.ctx->touch("k", 0), Status::kOk);
  EXPECT_EQ(h.expiry_of("k"), 0u);
  h.at(kT0 + 1'000'000);
  for (int i = 0; i < 100; ++i) h.ctx->tick();
  EXPECT_EQ(h.get("k"), "v");
}

TEST(StoreExpiry, TouchKeepsValueAndFlags) {
  Harness h;
  h.set("k", "value", SetMode::kSet, 31, kT0 + 10);
  ASSERT_EQ(h.ctx->touch("k", kT0 + 20), Status::kOk);
  EXPECT_EQ(h.get("k"), "value");
  EXPECT_EQ(h.flags_of("k"), 31u);
}

TEST(StoreExpiry, GatReturnsItemWithNewDeadline) {
  Harness h;
  h.set("k", "value", SetMode::kSet, 9, kT0 + 100);
  ItemView v = h.ctx->gat("k", kT0 + 5000);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "value");
  EXPECT_EQ(v.flags(), 9u);
  EXPECT_EQ(v.expires_at_ms(), kT0 + 5000);
  h.ctx->quiescent();
  h.at(kT0 + 4999);
  EXPECT_EQ(h.get("k"), "value");
  h.at(kT0 + 5000);
  EXPECT_FALSE(h.get("k"));
  EXPECT_FALSE(h.ctx->gat("k", kT0 + 99999));
  EXPECT_FALSE(h.ctx->gat("missing", 0));
  h.ctx->quiescent();
}

TEST(StoreExpiry, SetReplacesDeadline) {
  Harness h;
  h.set("k", "a", SetMode::kSet, 0, kT0 + 10);
  h.set("k", "b");  // no expiry now
  h.at(kT0 + 100);
  EXPECT_EQ(h.get("k"), "b");
  h.set("k", "c", SetMode::kSet, 0, kT0 + 200);
  h.at(kT0 + 200);
  EXPECT_FALSE(h.get("k"));
}

TEST(StoreExpiry, ExpiredReadCountsAsMissAndLazyExpiry) {
  Harness h;
  h.set("k", "v", SetMode::kSet, 0, kT0 + 10);
  h.set("keep", "v");
  EXPECT_EQ(h.store.stats().items, 2);
  h.at(kT0 + 10);
  EXPECT_FALSE(h.get("k"));
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.get_misses, 1);
  EXPECT_EQ(s.get_expired, 1);
  EXPECT_EQ(s.expired_lazy, 1);
  EXPECT_EQ(s.get_hits, 0);
  EXPECT_EQ(s.items, 1);  // removed when the read found it
}

// ---------------------------------------------------------------------------------------------
// flush

TEST(StoreFlush, NowRemovesEverything) {
  Harness h;
  for (int i = 0; i < 100; ++i) h.set(key_n("k", i), "v");
  h.ctx->flush();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(h.get(key_n("k", i))) << i;
  EXPECT_EQ(h.ctx->del("k1"), Status::kNotFound);
  EXPECT_EQ(h.set("k2", "v", SetMode::kReplace).status, Status::kNotStored);
  EXPECT_EQ(h.ctx->incr("k3", 1).status, Status::kNotFound);
  EXPECT_EQ(h.set("k4", "v", SetMode::kAdd).status, Status::kOk);
}

TEST(StoreFlush, SetAfterFlushNowInTheSameMillisecondIsVisible) {
  Harness h;
  h.set("old", "v");
  h.ctx->flush(0);
  h.set("new", "v");  // same now_ms as the flush
  EXPECT_FALSE(h.get("old"));
  EXPECT_EQ(h.get("new"), "v");
  h.at(kT0 + 1);
  h.ctx->tick();
  EXPECT_EQ(h.get("new"), "v");
}

TEST(StoreFlush, FlushedReadsCountAsMisses) {
  Harness h;
  h.set("a", "v");
  h.ctx->flush();
  EXPECT_FALSE(h.get("a"));
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.get_misses, 1);
  EXPECT_EQ(s.get_hits, 0);
}

TEST(StoreFlush, Delayed) {
  Harness h;
  const std::uint64_t delay = 1000;
  const std::uint64_t deadline = kT0 + delay;
  h.set("before", "v");
  h.ctx->flush(delay);
  // Still visible until the deadline, including items stored after the flush call.
  h.at(kT0 + 10);
  h.set("between", "v");
  h.at(deadline - 1);
  h.set("just-before", "v");
  h.ctx->tick();
  EXPECT_EQ(h.get("before"), "v");
  EXPECT_EQ(h.get("between"), "v");
  EXPECT_EQ(h.get("just-before"), "v");
  // At the deadline: all gone.
  h.at(deadline);
  EXPECT_FALSE(h.get("before"));
  EXPECT_FALSE(h.get("between"));
  EXPECT_FALSE(h.get("just-before"));
  // After it: new items live.
  h.at(deadline + 1);
  h.set("after", "v");
  h.ctx->tick();
  EXPECT_EQ(h.get("after"), "v");
  h.at(deadline + 100'000);
  h.ctx->tick();
  EXPECT_EQ(h.get("after"), "v");
}

TEST(StoreFlush, DelayedAppliesWithoutReadsViaTick) {
  Harness h;
  for (int i = 0; i < 1000; ++i) h.set(key_n("k", i), "v");
  h.ctx->flush(50);
  h.at(kT0 + 49);
  for (int i = 0; i < 20; ++i) h.ctx->tick();
  EXPECT_EQ(h.store.stats().items, 1000);
  h.at(kT0 + 50);
  // The sweep does bounded work per tick(): allow one tick per 64 table slots.
  const std::size_t max_ticks = h.store.table_slots() / 64 + 100;
  for (std::size_t i = 0; i < max_ticks && h.store.stats().items > 0; ++i) {
    h.ctx->tick();
    h.ctx->quiescent();
  }
  EXPECT_EQ(h.store.stats().items, 0) << "the flush sweep did not empty the table";
  EXPECT_FALSE(h.get("k0"));
}

TEST(StoreFlush, SweepEmptiesTable) {
  Harness h;
  for (int i = 0; i < 5000; ++i) h.set(key_n("k", i), std::string(100, 'v'));
  const std::int64_t item_bytes = h.store.stats().item_bytes;
  EXPECT_GT(item_bytes, 5000 * 100);
  h.ctx->flush();
  h.set("survivor", "v");
  const std::size_t max_ticks = h.store.table_slots() / 64 + 100;
  for (std::size_t i = 0; i < max_ticks && h.store.stats().items > 1; ++i) {
    h.ctx->tick();
    h.ctx->quiescent();
  }
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.items, 1);
  EXPECT_LT(s.item_bytes, item_bytes / 100);
  EXPECT_EQ(h.get("survivor"), "v");
}

// ---------------------------------------------------------------------------------------------
// batch reads

TEST(StoreBatch, GetBatchResolvesEachKey) {
  Harness h;
  h.set("a", "1");
  h.set("c", "3");
  h.set("e", "5", SetMode::kSet, 0, kT0 + 1);
  h.at(kT0 + 1);
  const std::vector<std::string> names = {"a", "b", "c", "d", "e", "a"};
  std::vector<KeyRef> keys;
  for (const auto& n : names) keys.push_back(make_key(n));
  EXPECT_EQ(keys[0].hash, keys[5].hash);
  EXPECT_EQ(keys[0].key, "a");
  std::vector<ItemView> out(keys.size());
  h.ctx->get_batch(keys, out.data());
  ASSERT_TRUE(out[0]);
  EXPECT_EQ(out[0].value(), "1");
  EXPECT_FALSE(out[1]);
  ASSERT_TRUE(out[2]);
  EXPECT_EQ(out[2].value(), "3");
  EXPECT_FALSE(out[3]);
  EXPECT_FALSE(out[4]);  // expired
  ASSERT_TRUE(out[5]);
  EXPECT_EQ(out[5].value(), "1");
  h.ctx->quiescent();
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.get_hits, 3);
  EXPECT_EQ(s.get_misses, 3);
}

TEST(StoreBatch, KeyRefOverloadsMatchStringOverloads) {
  Harness h;
  const KeyRef k = make_key("keyref");
  EXPECT_EQ(h.ctx->set(k, "via keyref").status, Status::kOk);
  h.ctx->prefetch(k);
  EXPECT_EQ(h.get("keyref"), "via keyref");
  ItemView v = h.ctx->get(k);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.value(), "via keyref");
  h.ctx->quiescent();
}

// ---------------------------------------------------------------------------------------------
// stats

TEST(StoreStatsCount, CountersMoveAsDocumented) {
  Harness h;
  StoreStats s = h.store.stats();
  EXPECT_EQ(s.items, 0);
  EXPECT_EQ(s.get_hits, 0);
  EXPECT_EQ(s.sets, 0);
  const std::int64_t empty_bytes = s.bytes_used;
  EXPECT_GE(empty_bytes, static_cast<std::int64_t>(h.store.table_bytes()));

  h.set("a", "1");
  h.set("b", "2");
  h.set("a", "3");
  h.set("a", "x", SetMode::kAdd);  // refused
  s = h.store.stats();
  EXPECT_EQ(s.sets, 3);
  EXPECT_EQ(s.set_failures, 1);
  EXPECT_EQ(s.items, 2);
  EXPECT_GT(s.bytes_used, empty_bytes);
  EXPECT_GT(s.item_bytes, 0);
  EXPECT_EQ(static_cast<std::int64_t>(h.store.bytes_used()), s.bytes_used);

  h.get("a");
  h.get("a");
  h.get("zzz");
  s = h.store.stats();
  EXPECT_EQ(s.get_hits, 2);
  EXPECT_EQ(s.get_misses, 1);

  h.ctx->del("b");
  h.ctx->del("b");
  s = h.store.stats();
  EXPECT_EQ(s.delete_hits, 1);
  EXPECT_EQ(s.delete_misses, 1);
  EXPECT_EQ(s.items, 1);

  h.set("t", "v", SetMode::kSet, 0, kT0 + 5);
  h.at(kT0 + 5);
  h.get("t");
  s = h.store.stats();
  EXPECT_EQ(s.expired_lazy, 1);
  EXPECT_EQ(s.get_expired, 1);
  EXPECT_EQ(s.get_misses, 2);
  EXPECT_EQ(s.items, 1);
  EXPECT_EQ(s.evictions, 0);

  // The context's own counters say the same.
  EXPECT_EQ(h.ctx->stats().get_hits.get(), 2);
  EXPECT_EQ(h.ctx->stats().sets.get(), 4);
}

TEST(StoreStatsCount, BytesReturnAfterDelete) {
  Harness h;
  const std::int64_t empty_items = h.store.stats().item_bytes;
  for (int i = 0; i < 1000; ++i) h.set(key_n("k", i), std::string(500, 'v'));
  EXPECT_GE(h.store.stats().item_bytes - empty_items, 1000 * 500);
  for (int i = 0; i < 1000; ++i) h.ctx->del(key_n("k", i));
  for (int i = 0; i < 10; ++i) {
    h.ctx->tick();
    h.ctx->quiescent();
  }
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.items, 0);
  EXPECT_EQ(s.item_bytes, empty_items);
}

// ---------------------------------------------------------------------------------------------
// mutation observer

struct Recorder : MutationObserver {
  struct Event {
    MutationKind kind;
    std::string key;
  };
  std::vector<Event> events;
  void on_mutation(unsigned, MutationKind kind, const Item* item) noexcept override {
    events.push_back({kind, item != nullptr ? std::string(item->key()) : std::string()});
  }
};

TEST(StoreObserver, ReportsStoresAndDeletes) {
  Harness h;
  Recorder rec;
  h.ctx->set_observer(&rec);
  h.set("a", "1");
  h.set("a", "2", SetMode::kAdd);  // refused: no event
  h.ctx->incr("a", 1);
  h.ctx->del("a");
  h.ctx->del("a");  // miss: no event
  h.ctx->set_observer(nullptr);
  h.set("b", "1");
  ASSERT_EQ(rec.events.size(), 3u);
  EXPECT_EQ(rec.events[0].kind, MutationKind::kStore);
  EXPECT_EQ(rec.events[0].key, "a");
  EXPECT_EQ(rec.events[1].kind, MutationKind::kStore);
  EXPECT_EQ(rec.events[2].kind, MutationKind::kDelete);
  EXPECT_EQ(rec.events[2].key, "a");
}

}  // namespace
}  // namespace ferrite::store

namespace ferrite::store {
namespace {

TEST(StoreObserver, ReportsTouchesExpiriesAndFlushes) {
  Harness h;
  Recorder rec;
  h.ctx->set_observer(&rec);
  h.ctx->set_now(1000);
  SetRequest req;
  req.expires_at_ms = 2000;
  ASSERT_EQ(h.ctx->set("t", "v", req).status, Status::kOk);
  ASSERT_EQ(h.ctx->touch("t", 3000), Status::kOk);
  ASSERT_EQ(h.ctx->touch("missing", 3000), Status::kNotFound);  // no event
  h.ctx->set_now(3000);
  EXPECT_FALSE(h.ctx->get("t"));  // expired: removed by the lazy check
  h.ctx->flush();
  h.ctx->set_observer(nullptr);
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[0].kind, MutationKind::kStore);
  EXPECT_EQ(rec.events[1].kind, MutationKind::kTouch);
  EXPECT_EQ(rec.events[1].key, "t");
  EXPECT_EQ(rec.events[2].kind, MutationKind::kExpire);
  EXPECT_EQ(rec.events[2].key, "t");
  EXPECT_EQ(rec.events[3].kind, MutationKind::kFlush);
  h.ctx->quiescent();
}

}  // namespace
}  // namespace ferrite::store

namespace ferrite::store {
namespace {

// Whoever finds an expired item (a read, a write, a delete, a touch) removes it the same way: it
// counts as a lazy expiry and is reported to the observer.
TEST(StoreObserver, ExpiredItemsFoundByWritesAreCountedAndReported) {
  Harness h;
  Recorder rec;
  h.ctx->set_now(1000);
  SetRequest req;
  req.expires_at_ms = 2000;
  for (const char* k : {"w", "d", "t"}) ASSERT_EQ(h.ctx->set(k, "v", req).status, Status::kOk);
  h.ctx->set_observer(&rec);
  h.ctx->set_now(2000);
  const std::int64_t before = h.store.stats().expired_lazy;
  EXPECT_EQ(h.ctx->set("w", "new").status, Status::kOk);   // a set over an expired item
  EXPECT_EQ(h.ctx->del("d"), Status::kNotFound);           // a delete of one
  EXPECT_EQ(h.ctx->touch("t", 9000), Status::kNotFound);   // a touch of one
  h.ctx->set_observer(nullptr);
  const StoreStats s = h.store.stats();
  EXPECT_EQ(s.expired_lazy - before, 3);
  EXPECT_EQ(s.get_expired, 0) << "none of these was a read";
  EXPECT_EQ(s.items, 1);
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[0].kind, MutationKind::kExpire);
  EXPECT_EQ(rec.events[0].key, "w");
  EXPECT_EQ(rec.events[1].kind, MutationKind::kStore);
  EXPECT_EQ(rec.events[2].kind, MutationKind::kExpire);
  EXPECT_EQ(rec.events[2].key, "d");
  EXPECT_EQ(rec.events[3].kind, MutationKind::kExpire);
  EXPECT_EQ(rec.events[3].key, "t");
  h.ctx->quiescent();
}

TEST(StoreOpsScan, VisitsEveryLiveItemOnce) {
  StoreConfig cfg;
  cfg.memory_limit = std::size_t{64} << 20;
  Store store(cfg);
  auto ctx = store.attach();
  ctx->set_now(store.now_ms());
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(ctx->set(key_n("s", i), std::string(static_cast<std::size_t>(i % 50), 'v')).status, Status::kOk);
  ASSERT_EQ(ctx->del("s7"), Status::kOk);
  SetRequest dying;
  dying.expires_at_ms = ctx->now_ms() + 10;
  ASSERT_EQ(ctx->set("expiring", "x", dying).status, Status::kOk);
  ctx->set_now(ctx->now_ms() + 20);
  std::map<std::string, std::size_t> seen;
  std::uint64_t cursor = 0;
  int calls = 0;
  do {
    ctx->scan(&cursor, 16, [](void* arg, const ItemView& it) {
      (*static_cast<std::map<std::string, std::size_t>*>(arg))[std::string(it.key())] += 1;
    }, &seen);
    ++calls;
  } while (cursor != 0 && calls < 1'000'000);
  EXPECT_GT(calls, 1);
  EXPECT_EQ(seen.size(), 2999u);
  EXPECT_EQ(seen.count("s7"), 0u);
  EXPECT_EQ(seen.count("expiring"), 0u);
  for (const auto& [k, n] : seen) ASSERT_EQ(n, 1u) << k;
}

TEST(StoreOpsFlush, SweepFlushedLeavesNoItems) {
  StoreConfig cfg;
  cfg.memory_limit = std::size_t{64} << 20;
  Store store(cfg);
  auto ctx = store.attach();
  ctx->set_now(store.now_ms());
  for (int i = 0; i < 5000; ++i) ASSERT_EQ(ctx->set(key_n("k", i), "v").status, Status::kOk);
  ctx->quiescent();
  EXPECT_EQ(store.stats().items, 5000);
  ctx->flush(0);
  ctx->sweep_flushed();
  EXPECT_EQ(store.stats().items, 0);
  EXPECT_FALSE(ctx->get("k1"));
}

TEST(StoreOpsFlush, SweepFlushedSomeIsBoundedAndFinishes) {
  StoreConfig cfg;
  cfg.memory_limit = std::size_t{64} << 20;
  Store store(cfg);
  auto ctx = store.attach();
  ctx->set_now(store.now_ms());
  for (int i = 0; i < 20000; ++i) ASSERT_EQ(ctx->set(key_n("k", i), "v").status, Status::kOk);
  ctx->quiescent();
  EXPECT_TRUE(ctx->sweep_flushed_some(64)) << "no flush: nothing to sweep";
  ctx->flush(0);
  // 64 buckets (640 slots) at a time: 20,000 items take many calls, each removing some.
  int calls = 0;
  std::int64_t last = store.stats().items;
  while (!ctx->sweep_flushed_some(64) && calls < 1'000'000) {
    ++calls;
    ctx->quiescent();
    const std::int64_t now = store.stats().items;
    EXPECT_GE(last, now);
    EXPECT_LE(last - now, 640) << "one call swept more than its buckets hold";
    last = now;
  }
  EXPECT_GT(calls, 20000 / 640);
  EXPECT_EQ(store.stats().items, 0);
  EXPECT_FALSE(ctx->get("k1"));
  ASSERT_EQ(ctx->set("after", "v").status, Status::kOk);
  EXPECT_TRUE(ctx->sweep_flushed_some(64));
  EXPECT_TRUE(ctx->get("after"));
}

}  // namespace
}  // namespace ferrite::store
