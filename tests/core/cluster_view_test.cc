// Key slots (CRC16 and hash tags, against values redis-server 7 in cluster mode printed for
// CLUSTER KEYSLOT) and the routing table's words and endpoints.
#include "core/cluster_view.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace ferrite {
namespace {

TEST(KeySlot, MatchesRedisClusterKeyslot) {
  EXPECT_EQ(key_hash_slot("somekey"), 11058);
  EXPECT_EQ(key_hash_slot("foo{hash_tag}"), 2515);
  EXPECT_EQ(key_hash_slot("foo"), 12182);
  EXPECT_EQ(key_hash_slot("123456789"), 12739);
  EXPECT_EQ(key_hash_slot("{user1000}.following"), 3443);
  EXPECT_EQ(key_hash_slot("{}x"), 10595);     // an empty tag: the whole key
  EXPECT_EQ(key_hash_slot("x{}y"), 16116);
  EXPECT_EQ(key_hash_slot("a{b}{c}"), 3300);  // the first tag
  EXPECT_EQ(key_hash_slot("{"), 4092);        // no closing brace: the whole key
  EXPECT_EQ(key_hash_slot("}{a}"), 15495);
  EXPECT_EQ(key_hash_slot(""), 0);
}

TEST(KeySlot, KeysWithOneTagShareTheSlot) {
  EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("{user1000}.followers"));
  EXPECT_EQ(key_hash_slot("{user1000}.following"), key_hash_slot("user1000"));
  EXPECT_EQ(crc16_xmodem("123456789"), 0x31C3);  // the XMODEM check value
}

TEST(SlotRouting, DisabledOwnsEverySlot) {
  auto r = std::make_unique<SlotRouting>();
  EXPECT_FALSE(r->enabled());
  EXPECT_TRUE(r->owns(0));
  EXPECT_TRUE(r->owns(16383));
  EXPECT_EQ(r->slot(5).primary, SlotRouting::kNone);
}

TEST(SlotRouting, SlotWordsAndEndpointsRoundTrip) {
  auto r = std::make_unique<SlotRouting>();
  ClusterEndpoint a;
  a.id[0] = 'a';
  a.resp_port = 7000;
  ClusterEndpoint b = a;
  b.id[0] = 'b';
  b.resp_port = 7001;
  const std::uint16_t ia = r->add_endpoint(a);
  const std::uint16_t ib = r->add_endpoint(b);
  ASSERT_EQ(ia, 0);
  ASSERT_EQ(ib, 1);
  r->set_self(ia);
  r->set_slot(10, SlotRouting::Slot{ia, ib, false, false});
  r->set_slot(11, SlotRouting::Slot{ib, SlotRouting::kNone, true, true});
  r->set_enabled(true);
  const std::uint64_t v = r->version();
  r->publish();
  EXPECT_EQ(r->version(), v + 1);
  EXPECT_TRUE(r->owns(10));
  EXPECT_FALSE(r->owns(11));
  EXPECT_FALSE(r->owns(12));  // no primary yet
  const SlotRouting::Slot s10 = r->slot(10);
  EXPECT_EQ(s10.moving_to, ib);
  EXPECT_FALSE(s10.self_replica);
  const SlotRouting::Slot s11 = r->slot(11);
  EXPECT_EQ(s11.primary, ib);
  EXPECT_EQ(s11.moving_to, SlotRouting::kNone);
  EXPECT_TRUE(s11.self_replica);
  EXPECT_TRUE(s11.importing);
  EXPECT_EQ(r->endpoint_count(), 2);
  EXPECT_EQ(r->endpoint(ib).resp_port, 7001);
  EXPECT_EQ(r->endpoint(ib).id_view(), "b");
}

}  // namespace
}  // namespace ferrite
