// The memcache session's meta commands (mg/ms/md/ma/mn/me). Expected replies are memcached
// 1.6.18's for the same input, except where executor.h documents a difference.
#include <gtest/gtest.h>

#include <string>

#include "memcache_test_util.h"
#include "hash_test_util.h"

namespace ferrite::engine::testing {
namespace {

TEST(MemcacheMeta, NoopAndMissingArguments) {
  expect_conversation(
      "mn\r\nmn extra\r\nmg\r\nms\r\nmd\r\nma\r\nme\r\nmx\r\n",
      "MN\r\nMN\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n"
      "ERROR\r\n");
}

TEST(MemcacheMeta, GetMiss) {
  expect_conversation(
      "mg nokey\r\nmg nokey v\r\nmg nokey q\r\nmg nokey k O123 v\r\nmg nokey k O123 q v\r\nmn\r\n",
      "EN\r\nEN\r\nEN knokey O123\r\nMN\r\n");
  MemcacheConn c;
  c.send("mg a\r\nmg b q\r\n");
  EXPECT_EQ(c.stats().misses[static_cast<std::size_t>(Proto::kMemcacheMeta)].get(), 2);
  EXPECT_EQ(c.requests(Proto::kMemcacheMeta, Op::k_get), 2);
}

TEST(MemcacheMeta, SetThenGetWithReturnFlags) {
  MemcacheConn c;
  const std::string set = c.send("ms mk 2 T100 F5 c k O1\r\nhi\r\n");
  const std::uint64_t cas = number_after(set, "HD c");
  ASSERT_NE(cas, 0u) << set;
  EXPECT_EQ(set, "HD c" + std::to_string(cas) + " kmk O1\r\n");
  EXPECT_EQ(c.send("mg mk\r\nmg mk v\r\nmg mk q\r\n"), "HD\r\nVA 2\r\nhi\r\nHD\r\n");
  EXPECT_EQ(c.send("mg mk s v f t c k O9\r\n"),
            "VA 2 s2 f5 t100 c" + std::to_string(cas) + " kmk O9\r\nhi\r\n");
  EXPECT_EQ(c.send("mg mk O1 k v\r\n"), "VA 2 O1 kmk\r\nhi\r\n");
  // h, l and u are accepted; the store does not track what h and l report.
  EXPECT_EQ(c.send("mg mk h l u v P L\r\n"), "VA 2\r\nhi\r\n");
  EXPECT_EQ(c.stats().hits[static_cast<std::size_t>(Proto::kMemcacheMeta)].get(), 6);
}

TEST(MemcacheMeta, GetTouchesWithT) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms k 1 T100\r\nx\r\nmg k T50 t\r\n"), "HD\r\nHD t50\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheMeta, Op::k_gat), 1);
  c.harness().advance_ms(49'000);
  EXPECT_EQ(c.send("mg k t v\r\n"), "VA 1 t1\r\nx\r\n");
  EXPECT_EQ(c.send("mg k T0 t\r\nmg k t\r\n"), "HD t-1\r\nHD t-1\r\n");
  EXPECT_EQ(c.send("mg k t T-1\r\nmg k v\r\n"), "HD t-1\r\nEN\r\n");
}

TEST(MemcacheMeta, GetVivifiesOnMiss) {
  MemcacheConn c;
  const std::string first = c.send("mg nk N30 v c t s\r\n");
  const std::uint64_t cas = number_after(first, " c");
  EXPECT_EQ(first, "VA 0 c" + std::to_string(cas) + " t30 s0 W\r\n\r\n");
  // Later clients see the empty item (memcached would add Z: the store keeps no win state).
  EXPECT_EQ(c.send("mg nk N30 v t\r\n"), "VA 0 t30\r\n\r\n");
  c.harness().advance_ms(30'000);
  EXPECT_EQ(c.send("mg nk v\r\n"), "EN\r\n");
}

TEST(MemcacheMeta, SetModes) {
  expect_conversation(
      "ms mk 2\r\nhi\r\nms mk 2 ME\r\nhi\r\nms newk 2 ME\r\nhi\r\nms mk 2 MA\r\nhi\r\nmg mk v\r\n"
      "ms mk 1 MP\r\n<\r\nmg mk v\r\nms nok 2 MA\r\nhi\r\nms nok 2 MR\r\nhi\r\nms mk 1 MR\r\nr\r\nms mk 1 "
      "MS\r\ns\r\n"
      "mg mk v\r\n",
      "HD\r\nNS\r\nHD\r\nHD\r\nVA 4\r\nhihi\r\nHD\r\nVA 5\r\n<hihi\r\nNS\r\nNS\r\nHD\r\nHD\r\nVA 1\r\ns\r\n");
}

TEST(MemcacheMeta, SetAppendWithNCreatesTheItem) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms nok 2 MA N100\r\nhi\r\nmg nok v t\r\n"), "HD\r\nVA 2 t100\r\nhi\r\n");
}

TEST(MemcacheMeta, SetQuietAndCas) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms k 1 q\r\nx\r\nms k 1 q ME\r\nx\r\nms k 1 q C999\r\nx\r\nms nok 1 C1\r\nx\r\nmn\r\n"),
            "NS\r\nEX\r\nNF\r\nMN\r\n");
  const std::uint64_t cas = number_after(c.send("mg k c\r\n"), "HD c");
  ASSERT_NE(cas, 0u);
  EXPECT_EQ(c.send("ms k 1 C" + std::to_string(cas) + " MR\r\ny\r\nmg k v\r\n"), "HD\r\nVA 1\r\ny\r\n");
  EXPECT_EQ(c.send("ms k 1 C" + std::to_string(cas) + " c\r\nz\r\n"), "EX c0\r\n");
  EXPECT_EQ(c.send("ms k 1 C0\r\nz\r\n"), "EX\r\n");
}

TEST(MemcacheMeta, SetErrorsSkipTheDataBlock) {
  expect_conversation(
      "ms mk 2 Z\r\nhi\r\nms mk 2 MX\r\nhi\r\nms mk 2 MEE\r\nhi\r\nms mk 2 F-1\r\nhi\r\nms mk 2 "
      "Tabc\r\nhi\r\n"
      "ms mk 2 k k\r\nhi\r\nms mk 2 O" +
          std::string(33, 'x') + "\r\nhi\r\nms mk 2 b\r\nhi\r\nms mk 2 T 5\r\nhi\r\nmn\r\n",
      "CLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid mode for ms M token\r\n"
      "CLIENT_ERROR incorrect length for M token\r\nCLIENT_ERROR bad command line format\r\n"
      "CLIENT_ERROR bad token in command line format\r\nCLIENT_ERROR duplicate flag\r\n"
      "CLIENT_ERROR opaque token too long\r\nCLIENT_ERROR error decoding key\r\nCLIENT_ERROR invalid "
      "flag\r\nMN\r\n");
}

TEST(MemcacheMeta, SetLineErrorsDoNotSkipTheDataBlock) {
  expect_conversation(
      "ms mk\r\nhi\r\nms mk abc\r\nhi\r\nms mk -1\r\nhi\r\nms " + std::string(251, 'k') +
          " 2\r\nhi\r\nms mm 2 a b c d e f g h i j k l m n o p q\r\nhi\r\n",
      "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\n"
      "ERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n"
      "CLIENT_ERROR bad command line format\r\nERROR\r\n"
      "CLIENT_ERROR options flags too long\r\nERROR\r\n");
}

TEST(MemcacheMeta, SetTooLargeAndBadChunkAreAlwaysReported) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms mk 1\r\nx\r\n"), "HD\r\n");
  EXPECT_EQ(c.send("ms mk 2000000 q\r\n" + std::string(2000000, 'x') + "\r\nmg mk\r\nmn\r\n", 65536),
            "SERVER_ERROR object too large for cache\r\nEN\r\nMN\r\n");
  EXPECT_EQ(c.send("ms mk 2 q\r\nhix\r\nmn\r\n"), "CLIENT_ERROR bad data chunk\r\nERROR\r\nMN\r\n");
}

TEST(MemcacheMeta, SetTheStoreRefusesRemovesTheOldValue) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms k 3\r\nold\r\nms r 3\r\nold\r\n"), "HD\r\nHD\r\n");
  c.harness().store_refuses_over(1000);
  const std::string big(2000, 'v');
  EXPECT_EQ(c.send("ms k 2000\r\n" + big + "\r\nms r 2000 MR\r\n" + big + "\r\n"),
            "SERVER_ERROR object too large for cache\r\nSERVER_ERROR object too large for cache\r\n");
  // set mode removes the old value; replace mode keeps it
  EXPECT_EQ(c.send("mg k v\r\nmg r v\r\n"), "EN\r\nVA 3\r\nold\r\n");
}

TEST(MemcacheMeta, SetFlagsAndTtl) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms tk 1 T-1\r\nx\r\nmg tk v\r\n"), "HD\r\nEN\r\n");
  EXPECT_EQ(c.send("ms tk 1 T+5 F4294967296\r\nx\r\nmg tk v t f\r\n"), "HD\r\nVA 1 t5 f0\r\nx\r\n");
  EXPECT_EQ(c.send("ms tk 01 I\r\nx\r\nms zz 0\r\n\r\nmg zz v s\r\n"), "HD\r\nHD\r\nVA 0 s0\r\n\r\n");
}

TEST(MemcacheMeta, Base64Keys) {
  expect_conversation("ms Zm9v 2 b k\r\nhi\r\nmg foo v\r\nmg Zm9v b k v\r\nmd Zm9v b k q\r\nmg foo v\r\n",
                      "HD kZm9v b\r\nVA 2\r\nhi\r\nVA 2 kZm9v b\r\nhi\r\nEN\r\n");
  expect_conversation("mg Zm9= b k v\r\nmg Zg== b k\r\nmg Z=== b k\r\nmg ==== b k\r\nmg Zm9vYmF= b k\r\n",
                      "EN kZm8= b\r\nEN kZg== b\r\nCLIENT_ERROR error decoding key\r\n"
                      "CLIENT_ERROR error decoding key\r\nEN kZm9vYmE= b\r\n");
}

TEST(MemcacheMeta, GetFlagErrors) {
  expect_conversation(
      "mg k v v\r\nmg k x\r\nmg k E5\r\nmg k a b c d e f g h i j k l m n o p q r s t\r\nmg " +
          std::string(251, 'k') + " v\r\nmg k \x80\r\nmg k O" + std::string(32, 'o') + "\r\n",
      "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\n"
      "CLIENT_ERROR options flags are too long\r\nCLIENT_ERROR bad command line format\r\n"
      "CLIENT_ERROR duplicate flag\r\nCLIENT_ERROR opaque token too long\r\n");
  MemcacheConn c;
  c.send("mg k v v\r\n");
  EXPECT_EQ(c.stats().protocol_errors[static_cast<std::size_t>(Proto::kMemcacheMeta)].get(), 1);
  EXPECT_EQ(c.requests(Proto::kMemcacheMeta, Op::k_error), 1);
}

TEST(MemcacheMeta, Delete) {
  MemcacheConn c;
  EXPECT_EQ(c.send("md nokey\r\nmd nokey q\r\nms dk 1\r\nx\r\nmd dk q\r\nmg dk\r\nmn\r\n"),
            "NF\r\nNF\r\nHD\r\nEN\r\nMN\r\n");
  EXPECT_EQ(c.send("ms dk 1\r\nx\r\nmd dk k O5\r\n"), "HD\r\nHD kdk O5\r\n");
  EXPECT_EQ(c.send("ms dk 1\r\nx\r\nmd dk C1\r\nmd dk C0\r\n"), "HD\r\nEX\r\nEX\r\n");
  const std::uint64_t cas = number_after(c.send("mg dk c\r\n"), "HD c");
  EXPECT_EQ(c.send("md dk C" + std::to_string(cas) + "\r\nmd dk C0\r\n"), "HD\r\nNF\r\n");
  // I (mark stale) removes the item: the store keeps no stale state.
  EXPECT_EQ(c.send("ms dk 1\r\nx\r\nmd dk I T30\r\nmg dk v\r\n"), "HD\r\nHD\r\nEN\r\n");
  EXPECT_EQ(c.send("md nokey Z\r\nmd nokey k k\r\nmd k O" + std::string(32, 'o') + "\r\n"),
            "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
            "CLIENT_ERROR opaque token too long\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheMeta, Op::k_delete), 9);
}

TEST(MemcacheMeta, Arithmetic) {
  expect_conversation(
      "ms ak 2\r\n10\r\nma ak\r\nma ak v\r\nma ak MD D5 v\r\nma ak M- D100 v t k O1\r\n"
      "ma ak M+ v\r\nma ak MI v\r\nma ak q v\r\nmn\r\n",
      "HD\r\nHD\r\nVA 2\r\n12\r\nVA 1\r\n7\r\nVA 1 t-1 kak O1\r\n0\r\nVA 1\r\n1\r\nVA 1\r\n2\r\nMN\r\n");
  expect_conversation("ma nokey\r\nma nokey q\r\nma nokey N0 J10 v\r\nma nokey v\r\nma k2 q N0 v\r\nmn\r\n",
                      "NF\r\nNF\r\nVA 2\r\n10\r\nVA 2\r\n11\r\nVA 1\r\n0\r\nMN\r\n");
  expect_conversation("ma k3 N0 J18446744073709551615 v\r\nma k3 v\r\n",
                      "VA 20\r\n18446744073709551615\r\nVA 1\r\n0\r\n");
  expect_conversation(
      "ma ak MX\r\nma ak Dabc\r\nma ak D-1\r\nma ak J18446744073709551616\r\nms ak2 1\r\nx\r\nma ak2\r\n",
      "CLIENT_ERROR invalid mode for ma M token\r\nCLIENT_ERROR invalid or duplicate flag\r\n"
      "CLIENT_ERROR invalid or duplicate flag\r\nCLIENT_ERROR invalid or duplicate flag\r\nHD\r\n"
      "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n");
}

TEST(MemcacheMeta, ArithmeticTtlAndCas) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ma nk N100 t v\r\n"), "VA 1 t100\r\n0\r\n");
  EXPECT_EQ(c.send("ma nk T50 t v\r\nma nk t\r\n"), "VA 1 t50\r\n1\r\nHD t50\r\n");
  const std::string got = c.send("ma nk c\r\n");
  const std::uint64_t cas = number_after(got, "HD c");
  ASSERT_NE(cas, 0u) << got;
  EXPECT_EQ(c.send("ma nk C1 v\r\n"), "EX\r\n");
  EXPECT_EQ(c.send("ma nk C" + std::to_string(cas) + " D10 v t\r\n"), "VA 2 t50\r\n13\r\n");
  EXPECT_EQ(c.send("ma nk C" + std::to_string(cas) + " v\r\n"), "EX\r\n");
  EXPECT_EQ(c.send("ma missing C1 v\r\n"), "NF\r\n");
  c.harness().advance_ms(50'000);
  EXPECT_EQ(c.send("ma nk v\r\n"), "NF\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheMeta, Op::k_incr), 9);
}

TEST(MemcacheMeta, Debug) {
  MemcacheConn c;
  EXPECT_EQ(c.send("me nokey\r\nme " + std::string(251, 'k') + "\r\nme Zm9 b\r\n"),
            "EN\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n");
  const std::string got = c.send("ms mek 2 T100\r\nhi\r\nme mek\r\n");
  EXPECT_EQ(got.substr(0, 21), "HD\r\nME mek exp=100 ca") << got;
  EXPECT_NE(got.find(" size="), std::string::npos);
  EXPECT_EQ(c.send("ms Zm9v 1 b\r\nx\r\nme Zm9v b\r\n").substr(0, 20), "HD\r\nME Zm9v exp=-1 c");
}

TEST(MemcacheMeta, MixedWithClassicCommands) {
  expect_conversation("set a 3 0 2\r\nhi\r\nmg a v f\r\nms a 3 F9\r\nbye\r\nget a\r\nmn\r\n",
                      "STORED\r\nVA 2 f3\r\nhi\r\nHD\r\nVALUE a 9 3\r\nbye\r\nEND\r\nMN\r\n");
}

TEST(MemcacheMeta, QuietPipelineEndsWithMn) {
  std::string in, want;
  for (int i = 0; i < 50; ++i) {
    std::string k = "k";
    k += std::to_string(i);
    if (i % 3 == 0) in += "ms " + k + " 1 q\r\n" + std::to_string(i % 10) + "\r\n";
    in += "mg " + k + " q v k\r\n";
    if (i % 3 == 0) want += "VA 1 k" + k + "\r\n" + std::to_string(i % 10) + "\r\n";
  }
  in += "mn\r\n";
  want += "MN\r\n";
  for (const std::size_t chunk : {0, 1, 5}) {
    MemcacheConn c;
    EXPECT_EQ(c.send(in, chunk), want) << "chunk " << chunk;
  }
}

TEST(MemcacheMeta, AHashKeyIsAnErrorNeverItsEncoding) {
  const std::string err = "SERVER_ERROR WRONGTYPE the key holds a hash, not a value\r\n";
  MemcacheConn c;
  store::PartitionedContext& ctx = c.harness().ctx();
  ferrite::testing::put_hash(ctx, "h", {{"f", "v"}});
  EXPECT_EQ(c.send("mg h v\r\nmg h s f\r\nmg h T100 v\r\nmn\r\n"), err + err + err + "MN\r\n");
  EXPECT_EQ(ctx.get("h").expires_at_ms(), 0u);
  EXPECT_EQ(c.send("ma h\r\nma h MD\r\nms h 1 MA\r\nx\r\nms h 1 MP\r\nx\r\nmn\r\n"),
            err + err + err + err + "MN\r\n");
  ferrite::testing::expect_hash(ctx, "h", "f", "v");
  EXPECT_EQ(c.send("md h\r\nmg h v\r\n"), "HD\r\nEN\r\n");  // delete works on any type
}


// Meta commands while loading, and while the append-only file fails: mg with T or N is a write.
TEST(MemcacheMeta, LoadingAndFailedWritesAreServerErrors) {
  MemcacheConn c;
  EXPECT_EQ(c.send("ms k 1\r\nv\r\n"), "HD\r\n");
  c.harness().set_loading(true);
  const std::string loading = std::string("SERVER_ERROR loading the dataset, try again") + "\r\n";
  EXPECT_EQ(c.send("mg k v\r\nms k 1 q\r\nw\r\nmd k q\r\nmn\r\n"), loading + loading + loading + "MN\r\n");
  c.harness().set_loading(false);
  c.harness().fail_writes(true);
  const std::string refused = std::string("SERVER_ERROR write refused: persistence failed: ") + "No space left on device\r\n";
  EXPECT_EQ(c.send("ms k 1\r\nw\r\nma n N0\r\nmg k T30 v\r\nmg k v\r\n"), refused + refused + refused + "VA 1\r\nv\r\n");
}

}  // namespace
}  // namespace ferrite::engine::testing
