// For the session tests of the protocols that do not speak hashes: a hash written into the store
// as RESP's HSET writes it (an item of type kHash holding the store/hash_value.h encoding).
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string_view>

#include "store/hash_value.h"
#include "store/partitions.h"

namespace ferrite::testing {

inline void put_hash(store::PartitionedContext& ctx, std::string_view key,
                     std::initializer_list<store::hash::Pair> pairs, std::uint64_t deadline = 0) {
  store::hash::Scratch s;
  store::hash::set({}, {pairs.begin(), pairs.size()}, s);
  store::SetRequest req;
  req.type = store::ItemType::kHash;
  req.expires_at_ms = deadline;
  ASSERT_EQ(ctx.set(key, s.out, req).status, store::Status::kOk);
}

// The item at `key` is still that hash (nothing touched it).
inline void expect_hash(store::PartitionedContext& ctx, std::string_view key, std::string_view field,
                        std::string_view value) {
  const store::ItemView v = ctx.get(key);
  ASSERT_TRUE(v);
  EXPECT_EQ(v.type(), store::ItemType::kHash);
  std::string_view got;
  EXPECT_TRUE(store::hash::find(v.value(), field, &got));
  EXPECT_EQ(got, value);
}

}  // namespace ferrite::testing
