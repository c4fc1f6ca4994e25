// Keyspace commands and TTLs on the store clock (moved by hand): DEL/UNLINK, EXISTS, TYPE, the
// EXPIRE family with NX/XX/GT/LT, TTL/PTTL/EXPIRETIME/PEXPIRETIME, PERSIST, KEEPTTL, which
// commands keep a TTL, DBSIZE and FLUSHALL.
#include <gtest/gtest.h>

#include <string>

#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

TEST(RespKeys, DelExistsType) {
  check(
      "MSET a 1 b 2 c 3\r\nDEL a b zz\r\nUNLINK c\r\nEXISTS a b c\r\nSET d 1\r\nEXISTS d d d zz\r\nTYPE "
      "d\r\nTYPE zz\r\n",
      crlf({"+OK", ":2", ":1", ":0", "+OK", ":3", "+string", "+none"}));
}

TEST(RespKeys, ExpireThenTheKeyGoes) {
  Conn c;
  EXPECT_EQ(c.run("SET k v\r\nEXPIRE k 10\r\nTTL k\r\nPTTL k\r\n"), crlf({"+OK", ":1", ":10", ":10000"}));
  c.h.advance_ms(9400);
  EXPECT_EQ(c.run("TTL k\r\nPTTL k\r\nGET k\r\n"), crlf({":1", ":600", "$1", "v"}));
  c.h.advance_ms(600);
  EXPECT_EQ(c.run("GET k\r\nTTL k\r\nEXISTS k\r\n"), crlf({"$-1", ":-2", ":0"}));
}

TEST(RespKeys, TtlRoundsToTheNearestSecond) {
  Conn c;
  EXPECT_EQ(c.run("SET k v PX 1500\r\nTTL k\r\nSET k v PX 1499\r\nTTL k\r\nSET k v PX 400\r\nTTL k\r\n"),
            crlf({"+OK", ":2", "+OK", ":1", "+OK", ":0"}));
}

TEST(RespKeys, MissingKeyAndNoTtl) {
  check(
      "TTL k\r\nPTTL k\r\nEXPIRETIME k\r\nPEXPIRETIME k\r\nSET k v\r\nTTL k\r\nPTTL k\r\nEXPIRETIME k\r\n"
      "PEXPIRETIME k\r\nEXPIRE missing 10\r\nPERSIST missing\r\nPERSIST k\r\n",
      crlf({":-2", ":-2", ":-2", ":-2", "+OK", ":-1", ":-1", ":-1", ":-1", ":0", ":0", ":0"}));
}

TEST(RespKeys, AbsoluteExpiry) {
  Conn c;
  const std::uint64_t unix_ms = c.h.exec().unix_ms();
  const std::string at_ms = std::to_string(unix_ms + 100000);
  const std::string at_s = std::to_string(unix_ms / 1000 + 200);
  EXPECT_EQ(c.run("SET k v\r\nPEXPIREAT k " + at_ms + "\r\nPEXPIRETIME k\r\nPTTL k\r\n"),
            crlf({"+OK", ":1", ":" + at_ms, ":100000"}));
  EXPECT_EQ(c.run("EXPIREAT k " + at_s + "\r\nEXPIRETIME k\r\n"), crlf({":1", ":" + at_s}));
  EXPECT_EQ(
      c.run("SET k v EXAT " + at_s + "\r\nEXPIRETIME k\r\nSET k v PXAT " + at_ms + "\r\nPEXPIRETIME k\r\n"),
      crlf({"+OK", ":" + at_s, "+OK", ":" + at_ms}));
}

TEST(RespKeys, ExpireInThePastDeletes) {
  check(
      "SET k v\r\nEXPIRE k -1\r\nEXISTS k\r\nSET k v\r\nEXPIRE k 0\r\nEXISTS k\r\nSET k v\r\nEXPIREAT k 1\r\n"
      "EXISTS k\r\nSET k v\r\nPEXPIREAT k 1 XX\r\nEXISTS k\r\nPEXPIREAT k 1\r\nEXISTS k\r\n",
      crlf({"+OK", ":1", ":0", "+OK", ":1", ":0", "+OK", ":1", ":0", "+OK", ":0", ":1", ":1", ":0"}));
}

TEST(RespKeys, ExpireConditions) {
  check(
      "SET k v\r\nEXPIRE k 10 XX\r\nEXPIRE k 10 GT\r\nEXPIRE k 10 LT\r\nTTL k\r\nEXPIRE k 10 nx\r\nEXPIRE k "
      "20 gt\r\n"
      "TTL k\r\nEXPIRE k 15 GT\r\nEXPIRE k 5 LT\r\nTTL k\r\nEXPIRE k 50 LT\r\nEXPIRE k 50 XX\r\nTTL k\r\n"
      "EXPIRE k 10 NX NX\r\nEXPIRE k 60 XX GT\r\nTTL k\r\nEXPIRE k -5 GT\r\nEXPIRE k -5 LT\r\nEXISTS k\r\n",
      crlf({"+OK", ":0", ":0", ":1",  ":10", ":0", ":1",  ":20", ":0", ":1",
            ":5",  ":0", ":1", ":50", ":0",  ":1", ":60", ":0",  ":1", ":0"}));
}

TEST(RespKeys, ExpireErrors) {
  const std::string invalid = "-ERR invalid expire time in 'expire' command";
  check(
      "SET k v\r\nEXPIRE k 10 NX XX\r\nEXPIRE k 10 GT LT\r\nEXPIRE k 10 NX GT\r\nEXPIRE k 10 FOO\r\n"
      "EXPIRE k abc\r\nEXPIRE k abc FOO\r\nEXPIRE k 9223372036854775807\r\nEXPIRE k 9223372036854775\r\n"
      "PEXPIRE k 9223372036854775807\r\nEXPIREAT k 9223372036854775807\r\nTTL k\r\n",
      crlf({"+OK", "-ERR NX and XX, GT or LT options at the same time are not compatible",
            "-ERR GT and LT options at the same time are not compatible",
            "-ERR NX and XX, GT or LT options at the same time are not compatible",
            "-ERR Unsupported option FOO", "-ERR value is not an integer or out of range",
            "-ERR Unsupported option FOO", invalid, invalid, "-ERR invalid expire time in 'pexpire' command",
            "-ERR invalid expire time in 'expireat' command", ":-1"}));
}

TEST(RespKeys, ConditionalExpireKeepsValueAndFlags) {
  Conn c;
  store::SetRequest req;
  req.flags = 7;  // as a memcached client would have stored it
  c.h.ctx().set("k", "value", req);
  EXPECT_EQ(c.run("EXPIRE k 100 NX\r\nGET k\r\nTTL k\r\n"), crlf({":1", "$5", "value", ":100"}));
  EXPECT_EQ(c.h.ctx().get("k").flags(), 7u);
}

TEST(RespKeys, Persist) {
  check("SET k v EX 100\r\nPERSIST k\r\nTTL k\r\nPERSIST k\r\n", crlf({"+OK", ":1", ":-1", ":0"}));
}

TEST(RespKeys, WhichCommandsKeepTheTtl) {
  // Redis: APPEND, INCR, INCRBYFLOAT, SETRANGE and SET KEEPTTL keep it; SET and GETSET drop it.
  check(
      "SET x 1\r\nEXPIRE x 100\r\nAPPEND x 2\r\nTTL x\r\nINCR x\r\nTTL x\r\nINCRBYFLOAT x 1\r\nTTL x\r\n"
      "SETRANGE x 0 9\r\nTTL x\r\nSET x 2 KEEPTTL\r\nTTL x\r\nGETSET x 5\r\nTTL x\r\nEXPIRE x 100\r\nSET x "
      "3\r\n"
      "TTL x\r\n",
      crlf({"+OK", ":1", ":2", ":100", ":13", ":100", "$2", "14", ":100", ":2", ":100", "+OK", ":100", "$1",
            "2", ":-1", ":1", "+OK", ":-1"}));
}

TEST(RespKeys, TtlsFollowTheStoreClock) {
  Conn c;
  EXPECT_EQ(
      c.run("SETEX a 5 v\r\nPSETEX b 5000 v\r\nSET c v EX 5\r\nSET d v PX 5000\r\nGETEX e\r\nSET e v\r\n"
            "GETEX e EX 5\r\n"),
      crlf({"+OK", "+OK", "+OK", "+OK", "$-1", "+OK", "$1", "v"}));
  c.h.advance_ms(4999);
  EXPECT_EQ(c.run("MGET a b c d e\r\n"), crlf({"*5", "$1", "v", "$1", "v", "$1", "v", "$1", "v", "$1", "v"}));
  c.h.advance_ms(1);
  EXPECT_EQ(c.run("MGET a b c d e\r\n"), crlf({"*5", "$-1", "$-1", "$-1", "$-1", "$-1"}));
}

TEST(RespKeys, DbsizeAndFlushall) {
  check(
      "MSET a 1 b 2\r\nDBSIZE\r\nFLUSHALL\r\nDBSIZE\r\nMSET a 1 b 2\r\nFLUSHDB ASYNC\r\nDBSIZE\r\nFLUSHALL "
      "sync\r\n"
      "FLUSHALL FOO\r\nFLUSHALL SYNC ASYNC\r\nFLUSHDB SYNC x\r\nDBSIZE x\r\nGET a\r\n",
      crlf({"+OK", ":2", "+OK", ":0", "+OK", "+OK", ":0", "+OK", "-ERR syntax error", "-ERR syntax error",
            "-ERR syntax error", "-ERR wrong number of arguments for 'dbsize' command", "$-1"}));
}

}  // namespace
}  // namespace ferrite::engine::resp_test
