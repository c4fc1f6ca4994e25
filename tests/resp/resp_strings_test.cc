// String commands with redis-server 7's exact replies and errors (compared against it): SET and
// its options, SETNX/SETEX/PSETEX, GETSET, GETDEL, GETEX, MGET/MSET/MSETNX, APPEND, STRLEN,
// GETRANGE/SUBSTR, SETRANGE, the counters and INCRBYFLOAT.
#include <gtest/gtest.h>

#include <string>

#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

TEST(RespStrings, GetAndSet) {
  check("GET k\r\nSET k v\r\nGET k\r\nSET k w\r\nGET k\r\n",
        crlf({"$-1", "+OK", "$1", "v", "+OK", "$1", "w"}));
  check(mb({"SET", "k", std::string("a\r\n\0b", 5)}) + "GET k\r\n",
        std::string("+OK\r\n$5\r\na\r\n\0b\r\n", 16));
}

TEST(RespStrings, SetNxXx) {
  check("SET k v XX\r\nSET k v NX\r\nSET k w NX\r\nSET k w XX\r\nGET k\r\nset k x nx\r\n",
        crlf({"$-1", "+OK", "$-1", "+OK", "$1", "w", "$-1"}));
}

TEST(RespStrings, SetGet) {
  check(
      "SET k v GET\r\nSET k v2 NX GET\r\nSET k v3 XX GET\r\nSET k2 v XX GET\r\nSET k2 v NX GET\r\nGET k\r\n"
      "GET k2\r\n",
      crlf({"$-1", "$1", "v", "$1", "v", "$-1", "$-1", "$2", "v3", "$1", "v"}));
}

TEST(RespStrings, SetSyntaxErrors) {
  check(
      "SET k v EX 10 PX 10\r\nSET k v NX XX\r\nSET k v KEEPTTL EX 10\r\nSET k v EX 10 KEEPTTL\r\nSET k v "
      "EX\r\n"
      "SET k v FOO\r\nSET k v PXAT 100 EX 10\r\nSET k v PERSIST\r\nEXISTS k\r\n",
      crlf({"-ERR syntax error", "-ERR syntax error", "-ERR syntax error", "-ERR syntax error",
            "-ERR syntax error", "-ERR syntax error", "-ERR syntax error", "-ERR syntax error", ":0"}));
}

TEST(RespStrings, SetRepeatedOptionsAreAccepted) {
  check(
      "SET k v ex 10 ex 20\r\nTTL k\r\nSET k v NX NX\r\nSET k v GET GET\r\nSET k v KEEPTTL KEEPTTL\r\nTTL "
      "k\r\n",
      crlf({"+OK", ":20", "$-1", "$1", "v", "+OK", ":-1"}));  // SET ... GET dropped the TTL
}

TEST(RespStrings, SetInvalidExpireTimes) {
  const std::string invalid = "-ERR invalid expire time in 'set' command";
  check(
      "SET k v EX 0\r\nSET k v EX -1\r\nSET k v PX 0\r\nSET k v EX 9223372036854775807\r\n"
      "SET k v PX 9223372036854775807\r\nSET k v EXAT 9223372036854775807\r\nSET k v EX 9223372036854775\r\n"
      "SET k v EX abc\r\nSET k v EX 1.5\r\nEXISTS k\r\n",
      crlf({invalid, invalid, invalid, invalid, invalid, invalid, invalid,
            "-ERR value is not an integer or out of range", "-ERR value is not an integer or out of range",
            ":0"}));
}

TEST(RespStrings, SetWithAPastDeadlineLeavesNoKey) {
  check("SET k v EXAT 1\r\nGET k\r\nEXISTS k\r\nSET k v\r\nSET k w PXAT 1 GET\r\nGET k\r\n",
        crlf({"+OK", "$-1", ":0", "+OK", "$1", "v", "$-1"}));
}

TEST(RespStrings, SetNx) { check("SETNX k v\r\nSETNX k w\r\nGET k\r\n", crlf({":1", ":0", "$1", "v"})); }

TEST(RespStrings, SetexAndPsetex) {
  check("SETEX s 10 v\r\nTTL s\r\nPSETEX p 1500 v\r\nPTTL p\r\nTTL p\r\nGET s\r\n",
        crlf({"+OK", ":10", "+OK", ":1500", ":2", "$1", "v"}));
  check(
      "SETEX s 0 v\r\nSETEX s -1 v\r\nSETEX s abc v\r\nPSETEX s 0 v\r\nSETEX s 9223372036854775807 "
      "v\r\nEXISTS s\r\n",
      crlf({"-ERR invalid expire time in 'setex' command", "-ERR invalid expire time in 'setex' command",
            "-ERR value is not an integer or out of range", "-ERR invalid expire time in 'psetex' command",
            "-ERR invalid expire time in 'setex' command", ":0"}));
}

TEST(RespStrings, GetsetAndGetdel) {
  check("GETSET k a\r\nGETSET k b\r\nGETDEL k\r\nGETDEL k\r\nEXISTS k\r\n",
        crlf({"$-1", "$1", "a", "$1", "b", "$-1", ":0"}));
}

TEST(RespStrings, Getex) {
  check(
      "GETEX nokey\r\nSET k v\r\nGETEX k\r\nGETEX k EX 100\r\nTTL k\r\nGETEX k PX 5000\r\nPTTL k\r\n"
      "GETEX k PERSIST\r\nTTL k\r\nGETEX k EXAT 1\r\nEXISTS k\r\n",
      crlf({"$-1", "+OK", "$1", "v", "$1", "v", ":100", "$1", "v", ":5000", "$1", "v", ":-1", "$1", "v",
            ":0"}));
}

TEST(RespStrings, GetexErrors) {
  check(
      "SET k v\r\nGETEX k EX 10 PERSIST\r\nGETEX k PERSIST EX 10\r\nGETEX k KEEPTTL\r\nGETEX k NX\r\nGETEX k "
      "EX\r\n"
      "GETEX k EX 0\r\nGETEX missing EX 0\r\nGETEX k PX abc\r\nGETEX k PERSIST PERSIST\r\nGETEX k EX 10 EX "
      "20\r\n",
      crlf({"+OK", "-ERR syntax error", "-ERR syntax error", "-ERR syntax error", "-ERR syntax error",
            "-ERR syntax error", "-ERR invalid expire time in 'getex' command", "$-1",
            "-ERR value is not an integer or out of range", "$1", "v", "$1", "v"}));
}

TEST(RespStrings, MgetAndMset) {
  check("MSET a 1 b 2\r\nMGET a b c\r\nMSET a 1 b\r\nMGET a\r\nMGET\r\n",
        crlf({"+OK", "*3", "$1", "1", "$1", "2", "$-1", "-ERR wrong number of arguments for 'mset' command",
              "*1", "$1", "1", "-ERR wrong number of arguments for 'mget' command"}));
}

TEST(RespStrings, Msetnx) {
  check("MSETNX a 1 b 2\r\nMSETNX b 3 c 4\r\nMGET a b c\r\nMSETNX x 1 x 2\r\nGET x\r\nMSETNX q 1 r\r\n",
        crlf({":1", ":0", "*3", "$1", "1", "$1", "2", "$-1", ":1", "$1", "2",
              "-ERR wrong number of arguments for 'msetnx' command"}));
}

TEST(RespStrings, MsetChecksEveryPairFirst) {
  Conn c(8 << 20, 10);
  EXPECT_EQ(c.run("MSET a 1 b 12345678901\r\nEXISTS a\r\nMSETNX a 1 b 12345678901\r\nEXISTS a\r\n"),
            crlf({"-ERR string exceeds maximum allowed size (proto-max-bulk-len)", ":0",
                  "-ERR string exceeds maximum allowed size (proto-max-bulk-len)", ":0"}));
}

TEST(RespStrings, AppendAndStrlen) {
  check(
      "APPEND a hello\r\nAPPEND a \" world\"\r\nGET a\r\nSTRLEN a\r\nSTRLEN missing\r\nAPPEND e "
      "\"\"\r\nEXISTS e\r\n",
      crlf({":5", ":11", "$11", "hello world", ":11", ":0", ":0", ":1"}));
}

TEST(RespStrings, AppendOverTheItemLimit) {
  Conn c(8 << 20, 10);
  EXPECT_EQ(c.run("APPEND a 12345\r\nAPPEND a 678901\r\nGET a\r\n"),
            crlf({":5", "-ERR string exceeds maximum allowed size (proto-max-bulk-len)", "$5", "12345"}));
}

TEST(RespStrings, Getrange) {
  // clang-format off
  check("SET a \"hello world\"\r\nGETRANGE a 0 -1\r\nGETRANGE a -5 -1\r\nGETRANGE a 5 2\r\n"
        "GETRANGE a 100 200\r\nGETRANGE a -100 2\r\nGETRANGE a -1 -5\r\nGETRANGE a 0 9223372036854775807\r\n"
        "SUBSTR a 0 2\r\nGETRANGE a -9223372036854775808 -1\r\nGETRANGE missing 0 -1\r\nGETRANGE a 0 abc\r\n",
        crlf({"+OK", "$11", "hello world", "$5", "world", "$0", "", "$0", "", "$3", "hel", "$0", "",
              "$11", "hello world", "$3", "hel", "$11", "hello world", "$0", "",
              "-ERR value is not an integer or out of range"}));
  // clang-format on
  check("SET k \"\"\r\nGETRANGE k 0 -1\r\nGETRANGE k 0 0\r\nSTRLEN k\r\n",
        crlf({"+OK", "$0", "", "$0", "", ":0"}));
}

TEST(RespStrings, Setrange) {
  check(
      "SET a \"hello world\"\r\nSETRANGE a 6 W\r\nGET a\r\nSETRANGE a 20 y\r\nSTRLEN a\r\nSETRANGE a 3 "
      "\"\"\r\n"
      "SETRANGE m2 5 \"\"\r\nEXISTS m2\r\nSETRANGE a -1 x\r\nSETRANGE a abc x\r\n"
      "SETRANGE a 99999999999999999999 x\r\nSETRANGE a 9223372036854775807 x\r\n",
      crlf({"+OK", ":11", "$11", "hello World", ":21", ":21", ":21", ":0", ":0",
            "-ERR offset is out of range", "-ERR value is not an integer or out of range",
            "-ERR value is not an integer or out of range",
            "-ERR string exceeds maximum allowed size (proto-max-bulk-len)"}));
  check("SETRANGE m 5 x\r\nGET m\r\n", std::string(":6\r\n$6\r\n\0\0\0\0\0x\r\n", 16));
}

TEST(RespStrings, SetrangeLimitIsTheItemSize) {
  check("SETRANGE k 1048576 x\r\nSETRANGE k 1048575 x\r\nSTRLEN k\r\n",
        crlf({"-ERR string exceeds maximum allowed size (proto-max-bulk-len)", ":1048576", ":1048576"}));
}

TEST(RespStrings, IncrDecr) {
  check(
      "INCR n\r\nINCRBY n 10\r\nDECR n\r\nDECRBY n 5\r\nINCRBY n -10\r\nGET n\r\nINCRBY m -5\r\nDECRBY d "
      "7\r\n",
      crlf({":1", ":11", ":10", ":5", ":-5", "$2", "-5", ":-5", ":-7"}));
}

TEST(RespStrings, IncrErrors) {
  const std::string nan = "-ERR value is not an integer or out of range";
  const std::string over = "-ERR increment or decrement would overflow";
  check(
      "SET n 9223372036854775807\r\nINCR n\r\nSET n -9223372036854775808\r\nDECR n\r\nDECRBY n 1\r\n"
      "SET n 10\r\nINCRBY n 9223372036854775807\r\nDECRBY n -9223372036854775808\r\nINCRBY n abc\r\nINCRBY n "
      "01\r\n"
      "INCRBY n +1\r\nSET n \" 1\"\r\nINCR n\r\nSET n 01\r\nINCR n\r\nSET n -0\r\nINCR n\r\nSET n "
      "abc\r\nINCR n\r\n"
      "SET n 99999999999999999999\r\nINCR n\r\n",
      crlf({"+OK", over,  "+OK", over,  over, "+OK", over, "-ERR decrement would overflow",
            nan,   nan,   nan,   "+OK", nan,  "+OK", nan,  "+OK",
            nan,   "+OK", nan,   "+OK", nan}));
}

TEST(RespStrings, Incrbyfloat) {
  check(
      "SET f 10.5\r\nINCRBYFLOAT f 0.1\r\nINCRBYFLOAT f -5e3\r\nINCRBYFLOAT n 3\r\nINCRBYFLOAT n 1e20\r\n"
      "INCRBYFLOAT a 1.23456789012345678901\r\nINCRBYFLOAT b 0.0000001\r\nINCRBYFLOAT c 0x10\r\n"
      "INCRBYFLOAT d -0\r\nINCRBYFLOAT e 3.0\r\nGET e\r\nINCRBYFLOAT g 1.5e-5\r\nINCRBYFLOAT h 5.\r\n",
      words("+OK $4 10.6 $23 -4989.39999999999999991 $1 3 $21 100000000000000000000 $19 1.23456789012345679 "
            "$9 0.0000001 $2 16 $1 0 $1 3 $1 3 $8 0.000015 $1 5"));
}

TEST(RespStrings, IncrbyfloatUsesLongDoubleRange) {
  // 1e400 is beyond a double but not a long double: Redis prints it in full.
  Conn c;
  const std::string out = c.run("INCRBYFLOAT f 1e400\r\n");
  ASSERT_EQ(out.substr(0, 6), "$401\r\n");
  EXPECT_EQ(out.substr(6, 20), "10000000000000000000");
  EXPECT_EQ(out.size(), 6u + 401 + 2);
}

TEST(RespStrings, IncrbyfloatErrors) {
  const std::string nf = "-ERR value is not a valid float";
  const std::string naninf = "-ERR increment would produce NaN or Infinity";
  check(
      "SET f abc\r\nINCRBYFLOAT f 1\r\nINCRBYFLOAT g abc\r\nINCRBYFLOAT g nan\r\nINCRBYFLOAT g inf\r\n"
      "INCRBYFLOAT g \" 1\"\r\nINCRBYFLOAT g \"1 \"\r\nINCRBYFLOAT g \"\"\r\nINCRBYFLOAT g 1e5000\r\n"
      "INCRBYFLOAT g 1e-5000\r\nSET i inf\r\nINCRBYFLOAT i 1\r\nEXISTS g\r\n",
      crlf({"+OK", nf, nf, nf, naninf, nf, nf, nf, nf, nf, "+OK", naninf, ":0"}));
  // A value with NUL bytes in it (SETRANGE past the end pads with them) is not a number.
  check("SETRANGE z 2 5\r\nINCRBYFLOAT z 1\r\nINCR z\r\n",
        crlf({":3", nf, "-ERR value is not an integer or out of range"}));
}

TEST(RespStrings, Resp3NullsAndShapes) {
  check_resp3(
      "GET nokey\r\nMGET a nokey\r\nSET k v NX\r\nSET k v NX\r\nSET k2 v GET\r\nGETEX nokey\r\n"
      "GETDEL nokey\r\nGETSET fresh v\r\nINCRBYFLOAT q 1.5\r\nGETRANGE nokey 0 1\r\n",
      crlf({"_", "*2", "_", "_", "+OK", "_", "_", "_", "_", "_", "$3", "1.5", "$0", ""}));
}

}  // namespace
}  // namespace ferrite::engine::resp_test
