// The item type (store/item.h: a hash is a long-form item carrying its type) and the store's
// refusals on a non-string item; the hash encoding of store/hash_value.h.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "store/hash_value.h"
#include "store/item.h"
#include "store/store.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

using testing::Harness;

// ---------------------------------------------------------------------------------------------
// Item type

TEST(ItemType, StringItemKeepsTheShortForm) {
  EXPECT_EQ(Item::footprint(16, 32, 0), 16u + 16 + 32);
  EXPECT_EQ(Item::footprint(16, 32, 0, ItemType::kString), 16u + 16 + 32);
}

TEST(ItemType, HashItemTakesTheLongFormAndCarriesItsType) {
  EXPECT_EQ(Item::footprint(16, 32, 0, ItemType::kHash), 16u + 8 + 16 + 32);
  const std::string key = "user:1", value = "enc";
  std::vector<std::uint64_t> mem(8);
  Item* it = Item::init(mem.data(), key, value.size(), 7, 1, 0, 0, ItemType::kHash);
  std::memcpy(it->value_data(), value.data(), value.size());
  EXPECT_TRUE(it->is_long());
  EXPECT_EQ(it->type(), ItemType::kHash);
  EXPECT_EQ(it->key(), key);
  EXPECT_EQ(it->value(), value);
  EXPECT_EQ(it->flags(), 7u);
  // A long string item (big key) has type 0 in that u16.
  const std::string big(300, 'k');
  std::vector<std::uint64_t> mem2(64);
  Item* s = Item::init(mem2.data(), big, 1, 0, 1, 0, 0);
  EXPECT_TRUE(s->is_long());
  EXPECT_EQ(s->type(), ItemType::kString);
}

TEST(ItemType, Names) {
  EXPECT_STREQ(type_name(ItemType::kString), "string");
  EXPECT_STREQ(type_name(ItemType::kHash), "hash");
  EXPECT_STREQ(status_name(Status::kWrongType), "wrong type");
}

SetResult set_hash(Harness& h, std::string_view key, std::string_view value, std::uint64_t deadline = 0) {
  SetRequest req;
  req.type = ItemType::kHash;
  req.expires_at_ms = deadline;
  return h.ctx->set(key, value, req);
}

ItemType type_of(Harness& h, std::string_view key) {
  return h.with_item(key, [](ItemView v) { return v ? v.type() : ItemType::kString; });
}

TEST(StoreItemType, SetStoresTheTypeAndASetOverwritesIt) {
  Harness h;
  ASSERT_EQ(set_hash(h, "h", "x").status, Status::kOk);
  EXPECT_EQ(type_of(h, "h"), ItemType::kHash);
  EXPECT_EQ(h.get("h"), "x");
  ASSERT_EQ(h.set("h", "plain").status, Status::kOk);  // memcached/HTTP/Redis SET: any type
  EXPECT_EQ(type_of(h, "h"), ItemType::kString);
  EXPECT_TRUE(h.with_item("h", [](ItemView v) { return v.is_string(); }));
}

TEST(StoreItemType, AppendPrependIncrDecrRefuseAHashAndLeaveIt) {
  Harness h;
  ASSERT_EQ(set_hash(h, "h", "123").status, Status::kOk);
  const std::uint64_t cas = h.cas_of("h");
  EXPECT_EQ(h.set("h", "4", SetMode::kAppend).status, Status::kWrongType);
  EXPECT_EQ(h.set("h", "4", SetMode::kPrepend).status, Status::kWrongType);
  EXPECT_EQ(h.ctx->incr("h", 1).status, Status::kWrongType);
  EXPECT_EQ(h.ctx->incr("h", 1, true).status, Status::kWrongType);
  bool overflow = true;
  EXPECT_EQ(h.ctx->incr_signed("h", 1, &overflow).status, Status::kWrongType);
  EXPECT_FALSE(overflow);
  EXPECT_EQ(h.get("h"), "123");
  EXPECT_EQ(h.cas_of("h"), cas);
  EXPECT_EQ(type_of(h, "h"), ItemType::kHash);
}

TEST(StoreItemType, TouchDeleteAndExpiryWorkOnAHash) {
  Harness h;
  ASSERT_EQ(set_hash(h, "h", "v", Harness::kT0 + 100).status, Status::kOk);
  EXPECT_EQ(h.expiry_of("h"), Harness::kT0 + 100);
  EXPECT_EQ(h.ctx->touch("h", Harness::kT0 + 500), Status::kOk);
  EXPECT_EQ(type_of(h, "h"), ItemType::kHash);
  h.at(Harness::kT0 + 500);
  EXPECT_FALSE(h.get("h"));  // expired as one key
  ASSERT_EQ(set_hash(h, "h2", "v").status, Status::kOk);
  EXPECT_EQ(h.ctx->del("h2"), Status::kOk);
  EXPECT_FALSE(h.get("h2"));
}

TEST(StoreItemType, AVersionedRewriteKeepsTheTypeItIsGiven) {
  Harness h;
  ASSERT_EQ(set_hash(h, "h", "a").status, Status::kOk);
  SetRequest req;
  req.type = ItemType::kHash;
  req.cas = h.cas_of("h");
  ASSERT_EQ(h.ctx->set("h", "b", req).status, Status::kOk);
  EXPECT_EQ(type_of(h, "h"), ItemType::kHash);
  EXPECT_EQ(h.get("h"), "b");
}

TEST(StoreItemType, HashesSurviveEvictionPressureAsWholeItems) {
  // Many hash items through a small store: whatever is left reads back whole, with its type
  // (relief moves items between pages: move_block must keep the long form's type).
  StoreConfig cfg = Harness::small_config();
  Harness h(cfg);
  const std::string value(200, 'z');
  for (int i = 0; i < 200000; ++i) {
    const std::string k = testing::key_n("hash:", i);
    const Status s = set_hash(h, k, value).status;
    ASSERT_TRUE(s == Status::kOk || s == Status::kNoMemory);
    if (i % 64 == 0) {
      h.ctx->tick();
      h.ctx->quiescent();
    }
  }
  std::size_t live = 0;
  for (int i = 0; i < 200000; ++i) {
    h.with_item(testing::key_n("hash:", i), [&](ItemView v) {
      if (v) {
        ++live;
        EXPECT_EQ(v.type(), ItemType::kHash);
        EXPECT_EQ(v.value(), value);
      }
      return 0;
    });
  }
  EXPECT_GT(live, 0u);
}

TEST(StoreItemType, ItemsMovedBetweenPagesKeepTheirType) {
  // Sparse pages far over a lowered limit: relief moves their live items into fresh pages
  // (move_block) rather than evicting them. A moved hash keeps its type and every byte of its
  // value (the long form's extra 8 bytes are part of what is copied).
  StoreConfig cfg = Harness::small_config();
  cfg.memory_limit = std::size_t{256} << 20;
  Harness h(cfg);
  // Kept: a quarter of the items of one run of 512 in 8, so most pages empty out whole and the
  // rest are sparse.
  const auto kept = [](std::size_t i) { return (i / 512) % 8 == 0 && i % 4 == 0; };
  const std::size_t n = 1200000;
  for (std::size_t i = 0; i < n; ++i) {
    std::string v = testing::key_n("value-", static_cast<long long>(i));
    v.resize(120, static_cast<char>('a' + i % 26));
    ASSERT_EQ(set_hash(h, testing::key_n("h", static_cast<long long>(i)), v).status, Status::kOk);
    if (i % 1024 == 0) h.ctx->quiescent();
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!kept(i)) h.ctx->del(testing::key_n("h", static_cast<long long>(i)));
  }
  h.ctx->quiescent();
  ASSERT_EQ(h.store.set_memory_limit(std::size_t{48} << 20), "");
  for (int i = 0; i < 400; ++i) {
    h.ctx->tick();
    h.ctx->quiescent();
  }
  EXPECT_GT(h.store.stats().page_moves, 0);
  std::size_t live = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!kept(i)) continue;
    std::string v = testing::key_n("value-", static_cast<long long>(i));
    v.resize(120, static_cast<char>('a' + i % 26));
    h.with_item(testing::key_n("h", static_cast<long long>(i)), [&](ItemView it) {
      if (it) {
        ++live;
        EXPECT_EQ(it.type(), ItemType::kHash);
        EXPECT_EQ(it.value(), v);
      }
      return 0;
    });
  }
  EXPECT_GT(live, 0u);
}

// ---------------------------------------------------------------------------------------------
// The hash encoding

using hash::Pair;
using hash::Scratch;

std::map<std::string, std::string> decode(std::string_view enc) {
  std::map<std::string, std::string> m;
  hash::Reader r(enc);
  Pair p;
  while (r.next(&p)) m[std::string(p.field)] = std::string(p.value);
  EXPECT_TRUE(r.ok());
  return m;
}

std::vector<std::string> fields_in_order(std::string_view enc) {
  std::vector<std::string> v;
  hash::Reader r(enc);
  Pair p;
  while (r.next(&p)) v.emplace_back(p.field);
  return v;
}

TEST(HashValue, VarintsAreLeb128) {
  char b[hash::kMaxVarint];
  EXPECT_EQ(hash::put_varint(0, b), 1u);
  EXPECT_EQ(b[0], 0);
  EXPECT_EQ(hash::put_varint(127, b), 1u);
  EXPECT_EQ(hash::put_varint(128, b), 2u);
  EXPECT_EQ(static_cast<unsigned char>(b[0]), 0x80u);
  EXPECT_EQ(b[1], 1);
  EXPECT_EQ(hash::put_varint(0xFFFFFFFFu, b), 5u);
}

TEST(HashValue, SetBuildsAndUpdatesInInsertionOrder) {
  Scratch s;
  const Pair first[] = {{"a", "1"}, {"b", "2"}};
  EXPECT_EQ(hash::set({}, first, s), 2u);
  const std::string v1 = s.out;
  EXPECT_TRUE(hash::validate(v1));
  EXPECT_EQ(hash::count(v1), 2u);
  EXPECT_EQ(v1, std::string("\x02\x01" "a\x01" "1\x01" "b\x01" "2", 9));
  const Pair second[] = {{"c", "3"}, {"a", "one"}};
  EXPECT_EQ(hash::set(v1, second, s), 1u);  // a updated, c new
  EXPECT_TRUE(hash::validate(s.out));
  EXPECT_EQ(fields_in_order(s.out), (std::vector<std::string>{"a", "b", "c"}));
  std::string_view got;
  ASSERT_TRUE(hash::find(s.out, "a", &got));
  EXPECT_EQ(got, "one");
  EXPECT_FALSE(hash::find(s.out, "zz", &got));
}

TEST(HashValue, AFieldGivenTwiceTakesItsLastValue) {
  Scratch s;
  const Pair pairs[] = {{"f", "1"}, {"g", "x"}, {"f", "2"}};
  EXPECT_EQ(hash::set({}, pairs, s), 2u);
  EXPECT_EQ(decode(s.out), (std::map<std::string, std::string>{{"f", "2"}, {"g", "x"}}));
  EXPECT_TRUE(hash::validate(s.out));
}

TEST(HashValue, ManyFieldsUseTheIndexAndStayCorrect) {
  Scratch s;
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) names.push_back(testing::key_n("field", i));
  std::vector<Pair> pairs;
  for (const auto& n : names) pairs.push_back({n, n});
  pairs.push_back({names[7], "last"});  // a duplicate over the index
  EXPECT_EQ(hash::set({}, pairs, s), 300u);
  const std::string v = s.out;
  EXPECT_TRUE(hash::validate(v));
  std::string_view got;
  ASSERT_TRUE(hash::find(v, names[7], &got));
  EXPECT_EQ(got, "last");
  std::vector<std::string_view> del;
  for (int i = 0; i < 300; i += 2) del.push_back(names[static_cast<std::size_t>(i)]);
  del.push_back("absent");
  EXPECT_EQ(hash::del(v, del, s), 150u);
  EXPECT_EQ(hash::count(s.out), 150u);
  EXPECT_TRUE(hash::validate(s.out));
  EXPECT_FALSE(hash::find(s.out, names[0], &got));
  EXPECT_TRUE(hash::find(s.out, names[1], &got));
}

TEST(HashValue, DelOfAbsentFieldsChangesNothing) {
  Scratch s;
  const Pair pairs[] = {{"a", "1"}};
  hash::set({}, pairs, s);
  const std::string v = s.out;
  const std::string_view none[] = {"b"};
  EXPECT_EQ(hash::del(v, none, s), 0u);
  const std::string_view all[] = {"a"};
  EXPECT_EQ(hash::del(v, all, s), 1u);
  EXPECT_EQ(hash::count(s.out), 0u);
  EXPECT_TRUE(hash::validate(s.out));
}

TEST(HashValue, BinaryAndEmptyFieldsAndValues) {
  Scratch s;
  const std::string big(300, '\xff');
  const std::string nul("a\0b", 3);
  const Pair pairs[] = {{"", ""}, {nul, big}, {big, nul}};
  EXPECT_EQ(hash::set({}, pairs, s), 3u);
  EXPECT_TRUE(hash::validate(s.out));
  const auto m = decode(s.out);
  EXPECT_EQ(m.at(""), "");
  EXPECT_EQ(m.at(nul), big);
  EXPECT_EQ(m.at(big), nul);
}

TEST(HashValue, IndexPairsGivesRandomAccess) {
  Scratch s;
  const Pair pairs[] = {{"a", "1"}, {"bb", "22"}, {"ccc", "333"}};
  hash::set({}, pairs, s);
  const std::string v = s.out;
  ASSERT_TRUE(hash::index_pairs(v, s));
  ASSERT_EQ(s.offsets.size(), 3u);
  hash::Reader r(v);
  Pair p;
  ASSERT_TRUE(r.pair_at(s.offsets[1], &p));
  EXPECT_EQ(p.field, "bb");
  EXPECT_EQ(p.value, "22");
  ASSERT_TRUE(r.pair_at(s.offsets[2], &p));
  EXPECT_EQ(p.field, "ccc");
}

TEST(HashValue, MalformedEncodingsAreRejectedNotOverread) {
  EXPECT_FALSE(hash::validate(""));
  EXPECT_FALSE(hash::validate(std::string("\x01", 1)));                      // a pair missing
  EXPECT_FALSE(hash::validate(std::string("\x01\x05" "ab", 4)));              // field runs past the end
  EXPECT_FALSE(hash::validate(std::string("\x01\x01" "a", 3)));               // no value length
  EXPECT_FALSE(hash::validate(std::string("\x01\x01" "a\x01" "1x", 6)));      // trailing bytes
  EXPECT_FALSE(hash::validate(std::string("\x02\x01" "a\x00\x01" "a\x00", 8)));  // a field twice
  EXPECT_FALSE(hash::validate(std::string("\xff\xff\xff\xff\xff\x01", 6)));   // varint too long
  EXPECT_FALSE(hash::validate(std::string("\xff\xff\xff\xff\x7f", 5)));       // over 32 bits
  EXPECT_FALSE(hash::validate(std::string("\x80\x00", 2)));                  // not the shortest form
  EXPECT_TRUE(hash::validate(std::string("\x00", 1)));                        // empty hash
  std::string_view v;
  EXPECT_FALSE(hash::find(std::string("\x01\x05" "ab", 4), "ab", &v));
}

TEST(HashValue, RandomRoundTrips) {
  Rng rng(42);
  Scratch s;
  for (int round = 0; round < 200; ++round) {
    std::map<std::string, std::string> model;
    std::string enc;
    for (int step = 0; step < 20; ++step) {
      std::vector<std::string> storage;
      const std::size_t n = 1 + rng.next() % 30;  // both sides of the linear limit (16)
      for (std::size_t i = 0; i < 2 * n; ++i) storage.push_back(testing::key_n("", static_cast<long long>(rng.next() % 30)));
      if (rng.next() % 3 != 0) {
        std::vector<Pair> pairs;
        std::size_t added = 0;
        std::map<std::string, std::string> before = model;
        for (std::size_t i = 0; i < n; ++i) {
          pairs.push_back({storage[2 * i], storage[2 * i + 1]});
          model[storage[2 * i]] = storage[2 * i + 1];
        }
        for (const auto& [f, v] : model) added += before.count(f) == 0;
        EXPECT_EQ(hash::set(enc, pairs, s), added);
      } else {
        std::vector<std::string_view> fields(storage.begin(), storage.begin() + static_cast<long>(n));
        std::size_t removed = 0;
        std::map<std::string, std::string> after = model;
        for (const auto f : fields) removed += after.erase(std::string(f));
        model = after;
        const std::size_t got = hash::del(enc, fields, s);
        EXPECT_EQ(got, removed);
        if (got == 0) continue;
      }
      enc = s.out;
      ASSERT_TRUE(hash::validate(enc));
      ASSERT_EQ(decode(enc), model);
    }
  }
}

}  // namespace
}  // namespace ferrite::store
