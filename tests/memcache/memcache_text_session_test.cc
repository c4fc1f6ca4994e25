// The memcache session's classic text commands. Expected replies are memcached 1.6.18's for the
// same input (recorded from a real memcached).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/control.h"
#include "memcache_test_util.h"
#include "hash_test_util.h"
#include "proto/memcache/text.h"

namespace ferrite::engine::testing {
namespace {

namespace mc = proto::memcache;

using namespace std::string_literals;

TEST(MemcacheText, SetGetDelete) {
  expect_conversation("set a 5 0 3\r\nabc\r\nget a\r\ndelete a\r\nget a\r\ndelete a\r\n",
                      "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\nDELETED\r\nEND\r\nNOT_FOUND\r\n");
}

TEST(MemcacheText, MultiGetReturnsHitsInOrder) {
  expect_conversation(
      "set a 0 0 1\r\n1\r\nset c 0 0 1\r\n3\r\nget a b c a\r\n",
      "STORED\r\nSTORED\r\nVALUE a 0 1\r\n1\r\nVALUE c 0 1\r\n3\r\nVALUE a 0 1\r\n1\r\nEND\r\n");
}

TEST(MemcacheText, MultiGetOfManyKeysCrossesBatches) {
  std::string in = "set k 0 0 1\r\nx\r\nget";
  std::string want = "STORED\r\n";
  for (int i = 0; i < 100; ++i) {
    in += i % 2 == 0 ? " k" : " miss";
    if (i % 2 == 0) want += "VALUE k 0 1\r\nx\r\n";
  }
  in += "\r\n";
  want += "END\r\n";
  expect_conversation(in, want);
  MemcacheConn c;
  c.send(in);
  EXPECT_EQ(c.stats().hits[static_cast<std::size_t>(Proto::kMemcacheText)].get(), 50);
  EXPECT_EQ(c.stats().misses[static_cast<std::size_t>(Proto::kMemcacheText)].get(), 50);
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_get), 100);
}

TEST(MemcacheText, GetsReturnsCasAndCasFlow) {
  MemcacheConn c;
  const std::string got = c.send("set a 0 0 1\r\nx\r\ngets a\r\n");
  const std::uint64_t cas = number_after(got, "VALUE a 0 1 ");
  ASSERT_NE(cas, 0u) << got;
  EXPECT_EQ(c.send("cas a 0 0 1 " + std::to_string(cas + 1) + "\r\ny\r\n"), "EXISTS\r\n");
  EXPECT_EQ(c.send("cas a 7 0 1 " + std::to_string(cas) + "\r\ny\r\n"), "STORED\r\n");
  EXPECT_EQ(c.send("cas a 7 0 1 " + std::to_string(cas) + "\r\nz\r\n"), "EXISTS\r\n");
  EXPECT_EQ(c.send("get a\r\n"), "VALUE a 7 1\r\ny\r\nEND\r\n");
  EXPECT_EQ(c.send("cas missing 0 0 1 1\r\nx\r\n"), "NOT_FOUND\r\n");
  EXPECT_EQ(c.send("cas a 0 0 1 0\r\nx\r\n"), "EXISTS\r\n");
  EXPECT_EQ(c.send("cas a 0 0 1 abc\r\nx\r\n"), "CLIENT_ERROR bad command line format\r\nERROR\r\n");
  EXPECT_EQ(c.send("cas a 0 0 1\r\nx\r\n"), "ERROR\r\nERROR\r\n");
}

TEST(MemcacheText, AddReplaceAppendPrepend) {
  expect_conversation(
      "add a 1 0 1\r\nx\r\nadd a 2 0 1\r\ny\r\nreplace b 0 0 1\r\nz\r\nreplace a 3 0 1\r\nr\r\n"
      "append a 9 0 2\r\n>>\r\nprepend a 9 0 2\r\n<<\r\nappend b 0 0 1\r\nq\r\nprepend b 0 0 1\r\nq\r\nget "
      "a\r\n",
      "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\nNOT_STORED\r\nNOT_STORED\r\n"
      "VALUE a 3 5\r\n<<r>>\r\nEND\r\n");
}

TEST(MemcacheText, NoreplySilencesRepliesAndErrors) {
  expect_conversation(
      "set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\nappend a 0 0 1 noreply\r\nz\r\n"
      "incr a 1 noreply\r\nincr a abc noreply\r\ntouch a 10 noreply\r\nset b 0 0 abc noreply\r\n"
      "delete b noreply\r\ndelete a x noreply\r\nflush_all 0 noreply\r\nverbosity 1 noreply\r\nget a\r\n",
      // "set b ... abc noreply" fails silently, so nothing swallows the next line.
      "END\r\n");
  expect_conversation("set a 0 0 1 noreply\r\nx\r\nget a\r\ndelete a 0 noreply\r\nget a\r\n",
                      "VALUE a 0 1\r\nx\r\nEND\r\nEND\r\n");
}

TEST(MemcacheText, IncrDecr) {
  expect_conversation(
      "set n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\nincr n 18446744073709551615\r\nincr n 1\r\n"
      "incr n -1\r\nincr n abc\r\nincr n 18446744073709551616\r\nincr nokey 1\r\n",
      "STORED\r\n15\r\n0\r\n18446744073709551615\r\n0\r\n"
      "CLIENT_ERROR invalid numeric delta argument\r\nCLIENT_ERROR invalid numeric delta argument\r\n"
      "CLIENT_ERROR invalid numeric delta argument\r\nNOT_FOUND\r\n");
  expect_conversation(
      "set n 0 0 1\r\nx\r\nincr n 1\r\nset s 0 0 2\r\n 5\r\nincr s 1\r\nincr\r\ndecr a 1 2 3\r\n",
      "STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\nSTORED\r\n6\r\n"
      "ERROR\r\nERROR\r\n");
}

TEST(MemcacheText, IncrKeepsFlagsAndDecrStopsAtZero) {
  expect_conversation("set n 42 0 1\r\n3\r\ndecr n 5\r\nget n\r\n",
                      "STORED\r\n0\r\nVALUE n 42 1\r\n0\r\nEND\r\n");
}

TEST(MemcacheText, DeleteArguments) {
  expect_conversation(
      "set a 0 0 1\r\nx\r\ndelete a 0\r\ndelete a 5\r\ndelete\r\ndelete a b c d\r\ndelete a 0 noreplyx\r\n",
      "STORED\r\nDELETED\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\nERROR\r\n"
      "ERROR\r\nCLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n");
}

TEST(MemcacheText, TouchAndGat) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set a 0 10 1\r\nx\r\ntouch a 100\r\ntouch b 1\r\ntouch a\r\ntouch a abc\r\n"),
            "STORED\r\nTOUCHED\r\nNOT_FOUND\r\nERROR\r\nCLIENT_ERROR invalid exptime argument\r\n");
  c.harness().advance_ms(50'000);
  EXPECT_EQ(c.send("get a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n");
  const std::string gats = c.send("gats 1 a b\r\n");
  EXPECT_NE(number_after(gats, "VALUE a 0 1 "), 0u) << gats;
  EXPECT_EQ(c.send("gat 0 a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n");
  c.harness().advance_ms(2'000);  // gat 0 removed the deadline
  EXPECT_EQ(c.send("gat 1 a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n");
  c.harness().advance_ms(1'000);
  EXPECT_EQ(c.send("get a\r\n"), "END\r\n");
  EXPECT_EQ(c.send("gat\r\ngat 10\r\ngat abc k\r\n"),
            "ERROR\r\nEND\r\nCLIENT_ERROR invalid exptime argument\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_gat), 5);
}

TEST(MemcacheText, ExpiryRules) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set a 0 2 1\r\nx\r\nset b 0 -1 1\r\ny\r\nset c 0 0 1\r\nz\r\nget a b c\r\n"),
            "STORED\r\nSTORED\r\nSTORED\r\nVALUE a 0 1\r\nx\r\nVALUE c 0 1\r\nz\r\nEND\r\n");
  c.harness().advance_ms(1'999);
  EXPECT_EQ(c.send("get a\r\n"), "VALUE a 0 1\r\nx\r\nEND\r\n");
  c.harness().advance_ms(1);
  EXPECT_EQ(c.send("get a c\r\n"), "VALUE c 0 1\r\nz\r\nEND\r\n");
  // Over 30 days is a Unix time: 2592001 is in 1970, long past. Exptimes are 32-bit: 4294967297
  // wraps to 1 second, as in memcached.
  EXPECT_EQ(c.send("set d 0 2592001 1\r\nx\r\nget d\r\nset e 0 4294967297 1\r\nx\r\nget e\r\n"),
            "STORED\r\nEND\r\nSTORED\r\nVALUE e 0 1\r\nx\r\nEND\r\n");
  c.harness().advance_ms(1'000);
  EXPECT_EQ(c.send("get e\r\n"), "END\r\n");
}

TEST(MemcacheText, FlushAll) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\n"), "STORED\r\nOK\r\nEND\r\n");
  EXPECT_EQ(c.send("set a 0 0 1\r\nx\r\nflush_all 10\r\nget a\r\n"),
            "STORED\r\nOK\r\nVALUE a 0 1\r\nx\r\nEND\r\n");
  c.harness().advance_ms(10'000);
  EXPECT_EQ(c.send("get a\r\n"), "END\r\n");
  EXPECT_EQ(c.send("flush_all abc\r\nflush_all 1 2 3\r\nflush_all noreply\r\nflush_all 0\r\n"),
            "CLIENT_ERROR invalid exptime argument\r\nERROR\r\nOK\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_flush), 4);
}

TEST(MemcacheText, VersionVerbosityQuit) {
  MemcacheConn c;
  c.harness().shared().settings.memcache_version = "9.8.7";
  EXPECT_EQ(c.send("version\r\nversion extra\r\n"), "VERSION 9.8.7\r\nVERSION 9.8.7\r\n");
  EXPECT_EQ(c.send("verbosity\r\nverbosity 1\r\nverbosity abc\r\nverbosity 1 2\r\nverbosity 7\r\n"),
            "ERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\nOK\r\nOK\r\n");
  EXPECT_EQ(c.harness().shared().settings.verbosity.load(), 2);
  EXPECT_FALSE(c.session().closing());
  EXPECT_EQ(c.send("quit\r\nversion\r\n"), "");
  EXPECT_TRUE(c.session().closing());
}

TEST(MemcacheText, UnknownCommandsAndEmptyLines) {
  expect_conversation(
      "\r\n\nGET a\r\nm\r\nmx\r\nx\r\nshutdown\r\n  get a\r\n",
      "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR: shutdown not enabled\r\nEND\r\n");
  MemcacheConn c;
  c.send("bogus\r\n");
  EXPECT_EQ(c.stats().protocol_errors[static_cast<std::size_t>(Proto::kMemcacheText)].get(), 1);
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_error), 1);
}

TEST(MemcacheText, HttpRequestClosesTheConnection) {
  MemcacheConn c;
  EXPECT_EQ(c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "");
  EXPECT_TRUE(c.session().closing());
}

TEST(MemcacheText, LineEndingsAndSeparators) {
  // A bare "\n" ends a line; a tab is part of a key; a NUL ends the line; "\r\r\n" keeps one '\r'.
  expect_conversation(
      "set a 0 0 1\nx\r\nget a\nget a\tb\r\nget a\r\r\nget  a   a \r\nget a\0b\r\n"s,
      std::string("STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nEND\r\nEND\r\n"
                  "VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE a 0 1\r\nx\r\nEND\r\n"));
}

TEST(MemcacheText, NumbersFollowMemcachedsParser) {
  // Flags are 32-bit (4294967296 wraps to 0), "+5" is 5, "-1" and "5x" are refused.
  expect_conversation(
      "set f1 4294967296 0 1\r\nx\r\nset f2 4294967295 0 1\r\nx\r\nset f3 +5 0 1\r\nx\r\nget f1 f2 f3\r\n"
      "set f4 -1 0 1\r\nx\r\nset f5 5x 0 1\r\nx\r\nset f6 0 0 -1\r\nx\r\n",
      "STORED\r\nSTORED\r\nSTORED\r\nVALUE f1 0 1\r\nx\r\nVALUE f2 4294967295 1\r\nx\r\nVALUE f3 5 1\r\nx\r\n"
      "END\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line "
      "format\r\nERROR\r\n"
      "CLIENT_ERROR bad command line format\r\nERROR\r\n");
}

TEST(MemcacheText, TokenCounts) {
  expect_conversation(
      "set\r\nset a 0 0\r\nset a 0 0 1 extra\r\nx\r\nget\r\nget \r\nincr a\r\ntouch a 1 2 3\r\n"
      "set a 0 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\r\nx\r\n",
      "ERROR\r\nERROR\r\nSTORED\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n");
}

TEST(MemcacheText, KeyLengthLimit) {
  const std::string k250(250, 'k'), k251(251, 'k');
  expect_conversation("set " + k250 + " 0 0 1\r\nx\r\nget " + k250 + "\r\n",
                      "STORED\r\nVALUE " + k250 + " 0 1\r\nx\r\nEND\r\n");
  // The data block of a refused command line is read as a command (memcached does the same).
  expect_conversation("set " + k251 + " 0 0 1\r\nx\r\n", "CLIENT_ERROR bad command line format\r\nERROR\r\n");
  expect_conversation("set " + k251 + " 0 0 1 noreply\r\nx\r\n", "ERROR\r\n");
  // One long key fails the whole multi-get, values found before it included.
  expect_conversation("set a 0 0 1\r\nx\r\nget a " + k251 + " a\r\n",
                      "STORED\r\nCLIENT_ERROR bad command line format\r\n");
  expect_conversation("delete " + k251 + "\r\nincr " + k251 + " 1\r\ntouch " + k251 + " 1\r\n",
                      "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\n"
                      "CLIENT_ERROR bad command line format\r\n");
}

TEST(MemcacheText, BadDataChunk) {
  expect_conversation("set a 0 0 1\r\nxy\r\nget a\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
  expect_conversation("set a 0 0 1 noreply\r\nxy\r\nget a\r\n", "ERROR\r\nEND\r\n");
}

TEST(MemcacheText, ValueOfOneMebibyteIsStored) {
  MemcacheConn c;
  const std::string v(1 << 20, 'v');
  EXPECT_EQ(c.send("set big 1 0 1048576\r\n" + v + "\r\n", 64 << 10), "STORED\r\n");
  EXPECT_EQ(c.send("get big\r\n"), "VALUE big 1 1048576\r\n" + v + "\r\nEND\r\n");
}

TEST(MemcacheText, TooLargeValueIsRefusedAndSwallowed) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set big 0 0 1\r\nx\r\n"), "STORED\r\n");
  const std::string v((1 << 20) + 1, 'v');
  // The refusal is sent at once, before the value arrives; the value is skipped as it comes.
  EXPECT_EQ(c.send("set big 0 0 1048577\r\n"), "SERVER_ERROR object too large for cache\r\n");
  EXPECT_EQ(c.send(v.substr(0, 1000)), "");
  EXPECT_EQ(c.harness().pending().size(), 0u);
  EXPECT_EQ(c.send(v.substr(1000) + "\r\nget big\r\n", 4096), "END\r\n");  // the failed set removed it
  EXPECT_EQ(c.send("set big 0 0 2000000 noreply\r\n" + std::string(2000000, 'x') + "\r\nversion\r\n", 100000),
            "VERSION " + c.harness().shared().settings.memcache_version + "\r\n");
  EXPECT_EQ(c.send("add big 0 0 2000000\r\n" + std::string(2000000, 'x') + "\r\nget big\r\n"),
            "SERVER_ERROR object too large for cache\r\nEND\r\n");
}

TEST(MemcacheText, SetTheStoreRefusesRemovesTheOldValue) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set k 0 0 3\r\nold\r\nset a 0 0 3\r\nold\r\nset r 0 0 3\r\nold\r\n"),
            "STORED\r\nSTORED\r\nSTORED\r\n");
  c.harness().store_refuses_over(1000);
  const std::string big(2000, 'v');
  EXPECT_EQ(c.send("set k 0 0 2000\r\n" + big + "\r\nadd a 0 0 2000\r\n" + big + "\r\nreplace r 0 0 2000\r\n" +
                   big + "\r\n"),
            "SERVER_ERROR object too large for cache\r\nSERVER_ERROR object too large for cache\r\n"
            "SERVER_ERROR object too large for cache\r\n");
  // set removes the old value (memcached's NREAD_SET); add and replace keep it
  EXPECT_EQ(c.send("get k a r\r\n"), "VALUE a 0 3\r\nold\r\nVALUE r 0 3\r\nold\r\nEND\r\n");
}

TEST(MemcacheText, AppendBeyondTheLimitIsTooLarge) {
  MemcacheConn c(std::size_t{64} << 20, 1000);
  EXPECT_EQ(c.send("set a 0 0 600\r\n" + std::string(600, 'a') + "\r\nappend a 0 0 600\r\n" +
                   std::string(600, 'b') + "\r\nget a\r\n"),
            "STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE a 0 600\r\n" + std::string(600, 'a') +
                "\r\nEND\r\n");
}

TEST(MemcacheText, RequestOverMaxRequestBytesIsRefused) {
  MemcacheConn c(std::size_t{64} << 20, std::size_t{4} << 20);
  c.harness().shared().settings.max_request_bytes = 100000;
  EXPECT_EQ(c.send("set a 0 0 200000\r\n" + std::string(200000, 'x') + "\r\nget a\r\n", 10000),
            "SERVER_ERROR object too large for cache\r\nEND\r\n");
}

TEST(MemcacheText, LongLineWithoutNewlineSaysSoAndCloses) {
  {
    MemcacheConn c;
    EXPECT_EQ(c.send(std::string(2048, 'x')), "");
    EXPECT_FALSE(c.session().closing());
    EXPECT_EQ(c.send("x"), "CLIENT_ERROR line too long\r\n");
    EXPECT_TRUE(c.session().closing());
    EXPECT_EQ(c.stats().protocol_errors[static_cast<std::size_t>(Proto::kMemcacheText)].get(), 1);
  }
  {
    // The same bytes with their newline in the same read are just an unknown command.
    MemcacheConn c;
    EXPECT_EQ(c.send(std::string(3000, 'x') + "\r\n"), "ERROR\r\n");
    EXPECT_FALSE(c.session().closing());
  }
  for (const std::string& in :
       {"gat 0 " + std::string(3000, 'a'), std::string(101, ' ') + "get " + std::string(3000, 'a')}) {
    MemcacheConn c;
    EXPECT_EQ(c.send(in, 1), "CLIENT_ERROR line too long\r\n");
    EXPECT_TRUE(c.session().closing());
  }
}

TEST(MemcacheText, LongMultiGetLineWorks) {
  MemcacheConn c;
  std::string in = "get";
  for (int i = 0; i < 20000; ++i) in += " key" + std::to_string(i);
  ASSERT_GT(in.size(), 100000u);
  EXPECT_EQ(c.send("set key19999 3 0 2\r\nhi\r\n"), "STORED\r\n");
  EXPECT_EQ(c.send(in + "\r\n", 1400), "VALUE key19999 3 2\r\nhi\r\nEND\r\n");
  EXPECT_FALSE(c.session().closing());
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_get), 20000);
  // " get" after up to 100 spaces is still a multi-get.
  EXPECT_EQ(c.send(std::string(100, ' ') + "gets" + in.substr(3) + "\r\n", 4096).substr(0, 18),
            "VALUE key19999 3 2");
}

TEST(MemcacheText, MultiGetLineOverMaxRequestBytesIsServedAsItArrives) {
  // memcached accepts a get line of any length: its keys are answered as they arrive, so no more
  // than one key (and a read) is ever held, whatever max_request_bytes is.
  MemcacheConn c;
  c.harness().shared().settings.max_request_bytes = 10000;
  EXPECT_EQ(c.send("set somekey 0 0 1\r\nv\r\n"), "STORED\r\n");
  std::string in = "get";
  while (in.size() < 200000) in += " somekey";
  std::string want;
  for (std::size_t i = 0; i < (in.size() - 3) / 8; ++i) want += "VALUE somekey 0 1\r\nv\r\n";
  std::string got;
  for (std::size_t off = 0; off < in.size(); off += 1000) {
    got += c.send(in.substr(off, 1000));
    EXPECT_LT(c.harness().pending().size(), 1000u + mc::kMaxLineWithoutNewline) << off;
  }
  got += c.send("\r\nversion\r\n");
  EXPECT_EQ(got, want + "END\r\nVERSION 1.6.21\r\n");
  EXPECT_FALSE(c.session().closing());
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_get), static_cast<std::int64_t>((in.size() - 3) / 8));
}

TEST(MemcacheText, LongGetLineAtEverySplitPoint) {
  std::string in = "  gets";
  std::string want;
  for (int i = 0; i < 400; ++i) in += " key" + std::to_string(i % 7);
  in += "\r\nmn\r\n";
  for (const std::size_t chunk : {0, 1, 7, 100, 3000}) {
    MemcacheConn c;
    ASSERT_EQ(c.send("set key3 5 0 2\r\nhi\r\n"), "STORED\r\n");
    const std::uint64_t cas = number_after(c.send("gets key3\r\n"), "VALUE key3 5 2 ");
    std::string expected;
    for (int i = 0; i < 400; ++i) {
      if (i % 7 == 3) expected += "VALUE key3 5 2 " + std::to_string(cas) + "\r\nhi\r\n";
    }
    EXPECT_EQ(c.send(in, chunk), expected + "END\r\nMN\r\n") << "chunk " << chunk;
  }
}

TEST(MemcacheText, LongGetLineWithAKeyTooLongSkipsTheRestOfTheLine) {
  std::string in = "get";
  for (int i = 0; i < 500; ++i) in += " absent" + std::to_string(i);
  in += " " + std::string(251, 'k') + " more keys\r\nmn\r\n";
  for (const std::size_t chunk : {0, 1, 100}) {
    MemcacheConn c;
    EXPECT_EQ(c.send(in, chunk), "CLIENT_ERROR bad command line format\r\nMN\r\n") << "chunk " << chunk;
    EXPECT_FALSE(c.session().closing());
  }
  // A key still arriving is refused as soon as it is too long: it is never buffered whole.
  MemcacheConn c;
  EXPECT_EQ(c.send(std::string(3000, ' ').replace(0, 4, "get ") + std::string(251, 'k')),
            "CLIENT_ERROR bad command line format\r\n");
  EXPECT_EQ(c.send(std::string(100000, 'k')), "");
  EXPECT_TRUE(c.harness().pending().empty());
  EXPECT_EQ(c.send("k\r\nmn\r\n"), "MN\r\n");
}

TEST(MemcacheText, LongGetLineEndsAtANulAsInMemcached) {
  std::string in = "get";
  for (int i = 0; i < 400; ++i) in += " k";
  in += std::string(" k\0 k k k", 10) + std::string(3000, ' ') + " k\r\nmn\r\n";
  for (const std::size_t chunk : {0, 1, 100}) {
    MemcacheConn c;
    ASSERT_EQ(c.send("set k 0 0 1\r\nv\r\n"), "STORED\r\n");
    std::string want;
    for (int i = 0; i < 401; ++i) want += "VALUE k 0 1\r\nv\r\n";
    EXPECT_EQ(c.send(in, chunk), want + "END\r\nMN\r\n") << "chunk " << chunk;
  }
}

TEST(MemcacheText, MultiGetStopsAtTheReplyCapAndResumesFromTheNextKey) {
  for (const std::string cmd : {"get", "gets", "gat 0", "gats 0"}) {
    MemcacheConn c;
    c.harness().shared().settings.max_reply_bytes = 1000;
    ASSERT_EQ(c.send("set a 0 0 600\r\n" + std::string(600, 'x') + "\r\nset b 0 0 1\r\ny\r\n"),
              "STORED\r\nSTORED\r\n");
    const std::string one_a = c.send(cmd + " a\r\n");
    const std::string one_b = c.send(cmd + " b\r\n");
    const std::string block_a = one_a.substr(0, one_a.size() - 5),
                      block_b = one_b.substr(0, one_b.size() - 5);
    const std::string in = cmd + " a a b a a a\r\nmn\r\n";
    // As the worker runs it: each call starts with the replies sent, and stops past the cap.
    Buffer out;
    std::string got;
    std::size_t consumed = 0;
    for (int calls = 0; consumed < in.size(); ++calls) {
      ASSERT_LT(calls, 10) << cmd;
      out.clear();
      consumed += c.session().feed(std::string_view(in).substr(consumed), out, c.harness().exec());
      EXPECT_LT(out.size(), 1000u + block_a.size()) << cmd;  // past the cap by one value at most
      got += std::string(out.view());
    }
    EXPECT_EQ(got, block_a + block_a + block_b + block_a + block_a + block_a + "END\r\nMN\r\n") << cmd;
    EXPECT_EQ(c.requests(Proto::kMemcacheText, cmd[1] == 'a' ? Op::k_gat : Op::k_get), 8) << cmd;
  }
}

TEST(MemcacheText, AmplifiedGetNeverHoldsMoreThanTheCap) {
  // 1000 copies of a 100 KB value asked for in one line: 100 MB if built whole.
  MemcacheConn c(std::size_t{64} << 20, std::size_t{1} << 20);
  ASSERT_EQ(c.send("set v 0 0 100000\r\n" + std::string(100000, 'v') + "\r\n"), "STORED\r\n");
  std::string in = "get";
  for (int i = 0; i < 1000; ++i) in += " v";
  in += "\r\n";
  Buffer out;
  const std::size_t cap = c.harness().shared().settings.max_reply_bytes;
  EXPECT_EQ(c.session().feed(in, out, c.harness().exec()), 0u);
  EXPECT_GE(out.size(), cap);
  EXPECT_LT(out.size(), cap + 100100);
}

TEST(MemcacheText, PipelinedCommandsAtEverySplitPoint) {
  std::string in, want;
  for (int i = 0; i < 20; ++i) {
    const std::string k = "key" + std::to_string(i);
    const std::string n = std::to_string(i * 7);
    in += "set " + k + " " + std::to_string(i) + " 0 " + std::to_string(n.size()) + "\r\n" + n + "\r\n";
    in += "get " + k + "\r\nincr " + k + " 1\r\ndelete " + k + "\r\nmn\r\n";
    want += "STORED\r\nVALUE " + k + " " + std::to_string(i) + " " + std::to_string(n.size()) + "\r\n" + n +
            "\r\nEND\r\n" + std::to_string(i * 7 + 1) + "\r\nDELETED\r\nMN\r\n";
  }
  for (const std::size_t chunk : {0, 1, 2, 3, 7, 64}) {
    MemcacheConn c;
    EXPECT_EQ(c.send(in, chunk), want) << "chunk " << chunk;
  }
}

TEST(MemcacheText, BackPressureStopsConsumption) {
  MemcacheConn c;
  c.harness().shared().settings.max_reply_bytes = 1000;
  EXPECT_EQ(c.send("set a 0 0 600\r\n" + std::string(600, 'x') + "\r\n"), "STORED\r\n");
  Buffer out;
  const std::string in = "get a\r\nget a\r\nget a\r\n";
  const std::size_t n = c.session().feed(in, out, c.harness().exec());
  EXPECT_EQ(n, 14u);  // two gets: the second took the replies over the cap
  EXPECT_GE(out.size(), 1000u);
  EXPECT_EQ(c.session().feed(in.substr(n), out, c.harness().exec()), 0u);
  out.clear();
  EXPECT_EQ(c.session().feed(in.substr(n), out, c.harness().exec()), 7u);
}

TEST(MemcacheText, StatsGroups) {
  MemcacheConn c;
  c.harness().shared().settings.memcache_version = "1.2.3";
  const std::string general = c.send("stats\r\n");
  EXPECT_NE(general.find("STAT version 1.2.3\r\n"), std::string::npos) << general;
  EXPECT_EQ(general.substr(general.size() - 5), "END\r\n");
  const std::string settings = c.send("stats settings\r\n");
  EXPECT_NE(settings.find("STAT maxbytes "), std::string::npos) << settings;
  EXPECT_EQ(settings.substr(settings.size() - 5), "END\r\n");
  EXPECT_EQ(c.send("stats nothing\r\n"), "ERROR\r\n");
  EXPECT_EQ(c.requests(Proto::kMemcacheText, Op::k_stats), 2);
}

TEST(MemcacheText, AHashKeyIsAnErrorNeverItsEncoding) {
  // A key written as a hash over RESP: every read or change of its value is refused with an error
  // line (a get line ends there, as memcached ends one at an error), and the connection goes on.
  const std::string err = "SERVER_ERROR WRONGTYPE the key holds a hash, not a value\r\n";
  MemcacheConn c;
  store::PartitionedContext& ctx = c.harness().ctx();
  ferrite::testing::put_hash(ctx, "h", {{"f", "v"}});
  EXPECT_EQ(c.send("get h\r\n"), err);
  EXPECT_EQ(c.send("gets h\r\n"), err);
  EXPECT_EQ(c.send("set s 0 0 1\r\nx\r\n"), "STORED\r\n");
  EXPECT_EQ(c.send("get s h s\r\nget s\r\n"), "VALUE s 0 1\r\nx\r\n" + err + "VALUE s 0 1\r\nx\r\nEND\r\n");
  const std::uint64_t cas = number_after(c.send("gets s\r\n"), "VALUE s 0 1 ");
  EXPECT_EQ(c.send("gat 100 h\r\ngats 100 s h\r\n"), err + "VALUE s 0 1 " + std::to_string(cas) + "\r\nx\r\n" + err);
  EXPECT_EQ(ctx.get("h").expires_at_ms(), 0u);  // gat did not touch it
  EXPECT_EQ(c.send("append h 0 0 1\r\nx\r\nprepend h 0 0 1\r\nx\r\nincr h 1\r\ndecr h 1\r\n"),
            err + err + err + err);
  ferrite::testing::expect_hash(ctx, "h", "f", "v");
  // A long get line (streamed as its keys arrive) ends at the error too; the next line is served.
  std::string line = "get";
  for (int i = 0; i < 1500; ++i) line += " s";  // past kMaxLineWithoutNewline: served as it arrives
  line += " h s\r\n";
  const std::string got = c.send(line + "get s\r\n", 7);
  const std::string tail = err + "VALUE s 0 1\r\nx\r\nEND\r\n";
  ASSERT_GE(got.size(), tail.size());
  EXPECT_EQ(got.substr(got.size() - tail.size()), tail);
  EXPECT_EQ(got.find("END"), got.size() - 5);
  // set overwrites a hash with a string, as Redis's SET does.
  EXPECT_EQ(c.send("set h 0 0 1\r\ny\r\nget h\r\n"), "STORED\r\nVALUE h 0 1\r\ny\r\nEND\r\n");
}

// Every keyed command feeds the hot-key sketch once per request, also a set whose data block
// arrives in pieces (its line is parsed again each time): 800 requests, one in 8 sampled, read
// back as about 800 (10 times that if each piece counted).
std::uint64_t hot_count(const WorkerControl& control, std::string_view key) {
  std::vector<HotKeys::Entry> hot;
  control.hot.snapshot(&hot);
  for (const auto& e : hot) {
    if (e.key == key) return e.count;
  }
  return 0;
}

TEST(MemcacheText, KeysFeedTheHotKeySketchOncePerRequest) {
  MemcacheConn c;
  WorkerControl control;
  c.harness().exec().control = &control;
  const std::string set = "set hot:set 0 0 20\r\n" + std::string(20, 'v') + "\r\n";
  const std::string ms = "ms hot:ms 20\r\n" + std::string(20, 'v') + "\r\n";
  for (int i = 0; i < 800; ++i) {
    ASSERT_EQ(c.send(set, 4), "STORED\r\n");
    ASSERT_EQ(c.send(ms, 4), "HD\r\n");
    c.send("get a hot:get b\r\n");
  }
  for (const std::string_view key : {"hot:set", "hot:ms", "hot:get"}) {
    EXPECT_GT(hot_count(control, key), 400u) << key;
    EXPECT_LT(hot_count(control, key), 1600u) << key;
  }
  EXPECT_LT(hot_count(control, "a"), 1600u);
}


// While the daemon loads: keyed commands and flush_all get "SERVER_ERROR loading ..." (a set's
// data block skipped, noreply silent as for any error), version and stats run; then all runs.
TEST(MemcacheText, LoadingAnswersKeyedCommandsAndSkipsDataBlocks) {
  MemcacheConn c;
  c.harness().set_loading(true);
  const std::string loading = std::string("SERVER_ERROR loading the dataset, try again") + "\r\n";
  EXPECT_EQ(c.send("set a 0 0 3\r\nabc\r\nget a\r\nincr n 1\r\nflush_all\r\nset b 0 0 1 noreply\r\nx\r\nversion\r\n"),
            loading + loading + loading + loading + "VERSION 1.6.21\r\n");
  EXPECT_EQ(c.send(std::string("get ") + std::string(3000, 'k') + "\r\nversion\r\n"), loading + "VERSION 1.6.21\r\n");
  c.harness().set_loading(false);
  EXPECT_EQ(c.send("set a 0 0 3\r\nabc\r\nget a\r\n"), "STORED\r\nVALUE a 0 3\r\nabc\r\nEND\r\n");
}

// The append-only file failed (fsync = always): writes refused with the reason, reads answered.
TEST(MemcacheText, FailedAppendOnlyFileRefusesWritesNotReads) {
  MemcacheConn c;
  EXPECT_EQ(c.send("set a 0 0 1\r\nx\r\n"), "STORED\r\n");
  c.harness().fail_writes(true);
  const std::string refused = std::string("SERVER_ERROR write refused: persistence failed: ") + "No space left on device\r\n";
  EXPECT_EQ(c.send("set a 0 0 1\r\ny\r\ndelete a\r\ntouch a 10\r\nget a\r\n"),
            refused + refused + refused + "VALUE a 0 1\r\nx\r\nEND\r\n");
}

}  // namespace
}  // namespace ferrite::engine::testing
