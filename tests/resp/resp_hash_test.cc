// Hash commands with Redis 7's replies and errors: HSET/HMSET/HSETNX, HGET/HMGET/HGETALL, HDEL,
// HEXISTS/HLEN/HKEYS/HVALS/HSTRLEN, HINCRBY/HINCRBYFLOAT, HRANDFIELD, HSCAN; RESP3 shapes;
// WRONGTYPE both ways (hash commands on a string, string commands on a hash); the TTL kept by
// writes; COMMAND INFO.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

constexpr std::string_view kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";

// The lines of a reply (without CRLF).
std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::size_t p = 0;
  while (p < s.size()) {
    const std::size_t e = s.find("\r\n", p);
    if (e == std::string::npos) break;
    v.push_back(s.substr(p, e - p));
    p = e + 2;
  }
  return v;
}

TEST(RespHash, SetGetAndReads) {
  check(
      "HSET h f1 v1 f2 v2\r\nHSET h f1 x f3 y\r\nHGET h f1\r\nHGET h nope\r\nHGET nokey f\r\nHLEN h\r\n"
      "HLEN nokey\r\nTYPE h\r\n",
      crlf({":2", ":1", "$1", "x", "$-1", "$-1", ":3", ":0", "+hash"}));
  check("HSET h f1 v1 f2 v2 f3 v3\r\nHMGET h f1 nope f3\r\nHMGET nokey a\r\n",
        crlf({":3", "*3", "$2", "v1", "$-1", "$2", "v3", "*1", "$-1"}));
  check("HSET h f1 v1 f2 v22\r\nHSET h f1 x\r\nHGETALL h\r\nHKEYS h\r\nHVALS h\r\nHGETALL nokey\r\nHKEYS nokey\r\n",
        crlf({":2", ":0", "*4", "$2", "f1", "$1", "x", "$2", "f2", "$3", "v22", "*2", "$2", "f1", "$2", "f2",
              "*2", "$1", "x", "$3", "v22", "*0", "*0"}));
  check("HSET h f v\r\nHEXISTS h f\r\nHEXISTS h g\r\nHEXISTS nokey f\r\nHSTRLEN h f\r\nHSTRLEN h g\r\n"
        "HSTRLEN nokey f\r\n",
        crlf({":1", ":1", ":0", ":0", ":1", ":0", ":0"}));
  // A field given twice in one HSET: one field, the last value.
  check("HSET h a 1 a 2\r\nHGETALL h\r\n", crlf({":1", "*2", "$1", "a", "$1", "2"}));
  // Binary-safe fields and values.
  check(mb({"HSET", "h", std::string("f\0\r\n", 4), std::string("v\0", 2)}) + mb({"HGET", "h", std::string("f\0\r\n", 4)}),
        std::string(":1\r\n$2\r\nv\0\r\n", 12));
}

TEST(RespHash, ArityAndHmset) {
  check("HSET h f\r\nHSET h f v g\r\nHMSET h f\r\nHMSET h f v g w\r\nHGET h g\r\nHGET h\r\nHSETNX h f\r\n",
        crlf({"-ERR wrong number of arguments for 'hset' command",
              "-ERR wrong number of arguments for 'hset' command",
              "-ERR wrong number of arguments for 'hmset' command", "+OK", "$1", "w",
              "-ERR wrong number of arguments for 'hget' command",
              "-ERR wrong number of arguments for 'hsetnx' command"}));
}

TEST(RespHash, Hsetnx) {
  check("HSETNX h f v\r\nHSETNX h f w\r\nHSETNX h g w\r\nHGETALL h\r\n",
        crlf({":1", ":0", ":1", "*4", "$1", "f", "$1", "v", "$1", "g", "$1", "w"}));
}

TEST(RespHash, HdelRemovesFieldsAndTheLastOneTheKey) {
  check("HSET h a 1 b 2 c 3\r\nHDEL h a nope a\r\nHLEN h\r\nHDEL h b c\r\nEXISTS h\r\nHDEL h b\r\nHDEL nokey x\r\n",
        crlf({":3", ":1", ":2", ":2", ":0", ":0", ":0"}));
}

TEST(RespHash, Hincrby) {
  check("HINCRBY h n 5\r\nHINCRBY h n -7\r\nHGET h n\r\nHSET h s abc\r\nHINCRBY h s 1\r\nHINCRBY h n x\r\n"
        "HSET h big 9223372036854775807\r\nHINCRBY h big 1\r\nHSET h sp \" 1\"\r\nHINCRBY h sp 1\r\n"
        "HINCRBY h n 9223372036854775808\r\n",
        crlf({":5", ":-2", "$2", "-2", ":1", "-ERR hash value is not an integer",
              "-ERR value is not an integer or out of range", ":1", "-ERR increment or decrement would overflow",
              ":1", "-ERR hash value is not an integer", "-ERR value is not an integer or out of range"}));
}

TEST(RespHash, Hincrbyfloat) {
  check("HINCRBYFLOAT h f 10.5\r\nHINCRBYFLOAT h f 0.1\r\nHINCRBYFLOAT h g -5.0e3\r\nHSET h s abc\r\n"
        "HINCRBYFLOAT h s 1\r\nHINCRBYFLOAT h f x\r\nHINCRBYFLOAT h f inf\r\nHSET h i 5\r\nHINCRBYFLOAT h i 1\r\n",
        crlf({"$4", "10.5", "$4", "10.6", "$5", "-5000", ":1", "-ERR hash value is not a float",
              "-ERR value is not a valid float", "-ERR value is NaN or Infinity", ":1", "$1", "6"}));
}

TEST(RespHash, HrandfieldShapesOnOneField) {
  check("HSET h f v\r\nHRANDFIELD h\r\nHRANDFIELD h 5\r\nHRANDFIELD h -3\r\nHRANDFIELD h -2 WITHVALUES\r\n"
        "HRANDFIELD h 0\r\nHRANDFIELD h 1 withvalues\r\n",
        crlf({":1", "$1", "f", "*1", "$1", "f", "*3", "$1", "f", "$1", "f", "$1", "f", "*4", "$1", "f", "$1", "v",
              "$1", "f", "$1", "v", "*0", "*2", "$1", "f", "$1", "v"}));
  check("HRANDFIELD nokey\r\nHRANDFIELD nokey 3\r\nHRANDFIELD nokey -3 WITHVALUES\r\n",
        crlf({"$-1", "*0", "*0"}));
  check("HSET h f v\r\nHRANDFIELD h 1 foo\r\nHRANDFIELD h x\r\nHRANDFIELD h 1 WITHVALUES x\r\n"
        "HRANDFIELD h -9223372036854775808\r\nHRANDFIELD h 9223372036854775807 WITHVALUES\r\n",
        crlf({":1", "-ERR syntax error", "-ERR value is not an integer or out of range", "-ERR syntax error",
              "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
              "-ERR value is out of range"}));
  check_resp3("HSET h f v\r\nHRANDFIELD h 2 WITHVALUES\r\nHRANDFIELD h -2 WITHVALUES\r\nHRANDFIELD nokey\r\n",
              crlf({":1", "*1", "*2", "$1", "f", "$1", "v", "*2", "*2", "$1", "f", "$1", "v", "*2", "$1", "f", "$1",
                    "v", "_"}));
}

TEST(RespHash, HrandfieldPicksDistinctFieldsForAPositiveCount) {
  Conn c;
  c.run("HSET h f1 a f2 b f3 c f4 d\r\n");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const auto l = lines_of(c.run("HRANDFIELD h 2\r\n"));
    ASSERT_EQ(l.size(), 5u);
    EXPECT_EQ(l[0], "*2");
    EXPECT_NE(l[2], l[4]);
    for (const auto& f : {l[2], l[4]}) {
      EXPECT_TRUE(f == "f1" || f == "f2" || f == "f3" || f == "f4") << f;
      seen.insert(f);
    }
    const auto one = lines_of(c.run("HRANDFIELD h\r\n"));
    ASSERT_EQ(one.size(), 2u);
    seen.insert(one[1]);
  }
  EXPECT_EQ(seen.size(), 4u);  // random: every field turns up
  // count >= size: the whole hash; a negative count may repeat, |count| entries.
  EXPECT_EQ(c.run("HRANDFIELD h 10 WITHVALUES\r\n"),
            crlf({"*8", "$2", "f1", "$1", "a", "$2", "f2", "$1", "b", "$2", "f3", "$1", "c", "$2", "f4", "$1", "d"}));
  EXPECT_EQ(lines_of(c.run("HRANDFIELD h -10\r\n")).size(), 21u);
  // A negative count's reply is bounded by the reply cap (4 MiB here) or the item size.
  EXPECT_EQ(lines_of(c.run("HRANDFIELD h -100000 WITHVALUES\r\n")).size(), 1u + 4 * 100000);
  EXPECT_EQ(c.run("HRANDFIELD h -1000000 WITHVALUES\r\nHRANDFIELD h -4611686018427387903 WITHVALUES\r\n"),
            crlf({"-ERR HRANDFIELD reply would exceed the reply limit (server.max_reply_bytes)",
                  "-ERR HRANDFIELD reply would exceed the reply limit (server.max_reply_bytes)"}));
}

TEST(RespHash, Hscan) {
  check("HSET h f1 a f2 b g1 c\r\nHSCAN h 0\r\nHSCAN h 0 MATCH f* COUNT 1\r\nHSCAN nokey 0\r\n",
        crlf({":3", "*2", "$1", "0", "*6", "$2", "f1", "$1", "a", "$2", "f2", "$1", "b", "$2", "g1", "$1", "c", "*2",
              "$1", "0", "*4", "$2", "f1", "$1", "a", "$2", "f2", "$1", "b", "*2", "$1", "0", "*0"}));
  check("HSET h f a\r\nHSCAN h x\r\nHSCAN h 0 COUNT 0\r\nHSCAN h 0 COUNT\r\nHSCAN h 0 NOVALUES\r\n"
        "HSCAN h 0 COUNT x\r\nHSCAN h 18446744073709551616\r\nHSCAN h -\r\nHSCAN h \" 1\"\r\n",
        crlf({":1", "-ERR invalid cursor", "-ERR syntax error", "-ERR syntax error", "-ERR syntax error",
              "-ERR value is not an integer or out of range", "-ERR invalid cursor", "-ERR invalid cursor",
              "-ERR invalid cursor"}));
  // Any other cursor strtoul takes (a sign, 2^64 - 1, none): the whole hash, as for a listpack.
  check("HSET h f a\r\nHSCAN h -1\r\nHSCAN h 18446744073709551615 COUNT 5\r\nHSCAN h \"\"\r\n",
        crlf({":1", "*2", "$1", "0", "*2", "$1", "f", "$1", "a", "*2", "$1", "0", "*2", "$1", "f", "$1", "a", "*2",
              "$1", "0", "*2", "$1", "f", "$1", "a"}));
}

TEST(RespHash, Resp3MapForHgetall) {
  check_resp3("HSET h a 1 b 2\r\nHGETALL h\r\nHGETALL nokey\r\nHGET h zz\r\n",
              crlf({":2", "%2", "$1", "a", "$1", "1", "$1", "b", "$1", "2", "%0", "_"}));
}

TEST(RespHash, HashCommandsOnAStringAreWrongtype) {
  std::string want = crlf({"+OK"});
  for (int i = 0; i < 16; ++i) want += std::string(kWrongType) + "\r\n";
  want += crlf({"$1", "v"});
  check("SET s v\r\nHSET s f v\r\nHMSET s f v\r\nHSETNX s f v\r\nHGET s f\r\nHMGET s f\r\nHGETALL s\r\nHDEL s f\r\n"
        "HEXISTS s f\r\nHLEN s\r\nHKEYS s\r\nHVALS s\r\nHINCRBY s f 1\r\nHINCRBYFLOAT s f 1\r\nHSTRLEN s f\r\n"
        "HRANDFIELD s\r\nHSCAN s 0\r\nGET s\r\n",
        want);
  check("SET s v\r\nHRANDFIELD s 2\r\n", crlf({"+OK", kWrongType}));
}

TEST(RespHash, StringCommandsOnAHashAreWrongtypeAndChangeNothing) {
  std::string want = crlf({":1"});
  for (int i = 0; i < 18; ++i) want += std::string(kWrongType) + "\r\n";
  want += crlf({"*2", "$-1", "$1", "v", ":1", "$1", "v", "+hash", ":-1"});
  check("HSET h f v\r\nGET h\r\nSTRLEN h\r\nAPPEND h x\r\nGETRANGE h 0 1\r\nSUBSTR h 0 1\r\nSETRANGE h 0 x\r\n"
        "SETRANGE h 0 \"\"\r\nINCR h\r\nDECR h\r\nINCRBY h 2\r\nDECRBY h 2\r\nINCRBYFLOAT h 1\r\nGETSET h v\r\n"
        "GETDEL h\r\nGETEX h\r\nGETEX h PERSIST\r\nGETEX h EX 100\r\nSET h v GET\r\n"
        "SET s v\r\nMGET h s\r\nHLEN h\r\nHGET h f\r\nTYPE h\r\nTTL h\r\n",
        want.substr(0, want.find("*2")) + crlf({"+OK"}) + want.substr(want.find("*2")));
}

TEST(RespHash, StreamedMgetAnswersNilForAHash) {
  // A multibulk MGET is served as its keys arrive (resp_session.cc): a hash is nil there too.
  check("HSET h f v\r\nSET s v\r\n" + mb({"MGET", "h", "s", "nokey"}),
        crlf({":1", "+OK", "*3", "$-1", "$1", "v", "$-1"}));
}

TEST(RespHash, AHashOverTheItemSizeIsRefusedAndLeftAsItWas) {
  Conn c(std::size_t{8} << 20, 1024);
  const std::string big(600, 'x');
  EXPECT_EQ(c.run(mb({"HSET", "h", "a", big})), crlf({":1"}));
  EXPECT_EQ(c.run(mb({"HSET", "h", "b", big})),
            crlf({"-ERR hash exceeds the maximum item size (proto-max-bulk-len)"}));
  EXPECT_EQ(c.run("HLEN h\r\nHEXISTS h b\r\n"), crlf({":1", ":0"}));
}

TEST(RespHash, AnyTypeCommandsWorkOnAHash) {
  check("HSET h f v\r\nEXISTS h\r\nEXPIRE h 100\r\nTTL h\r\nEXPIRE h 200 GT\r\nTTL h\r\nHGET h f\r\nTYPE h\r\n"
        "PERSIST h\r\nTTL h\r\nSET h str\r\nTYPE h\r\nGET h\r\nHSET h2 f v\r\nDEL h2\r\nEXISTS h2\r\n"
        "HSET h3 f v\r\nSETNX h3 x\r\nMSET h3 y\r\nGET h3\r\n",
        crlf({":1", ":1", ":1", ":100", ":1", ":200", "$1", "v", "+hash", ":1", ":-1", "+OK", "+string", "$3",
              "str", ":1", ":1", ":0", ":1", ":0", "+OK", "$1", "y"}));
}

TEST(RespHash, WritesKeepTheTtl) {
  Conn c;
  EXPECT_EQ(c.run("HSET h f v\r\nEXPIRE h 100\r\nHSET h g w\r\nTTL h\r\nHDEL h g\r\nTTL h\r\nHINCRBY h n 1\r\n"
                  "HINCRBYFLOAT h x 1.5\r\nHSETNX h y 1\r\nHMSET h z 1\r\nTTL h\r\n"),
            crlf({":1", ":1", ":1", ":100", ":1", ":100", ":1", "$3", "1.5", ":1", "+OK", ":100"}));
  c.h.advance_ms(100'000);
  EXPECT_EQ(c.run("EXISTS h\r\nHGETALL h\r\nHLEN h\r\n"), crlf({":0", "*0", ":0"}));  // expired as one key
}

TEST(RespHash, CommandInfo) {
  Conn c;
  const std::string info = c.run("COMMAND INFO hset hgetall hrandfield\r\n");
  for (const char* want : {"$4\r\nhset\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n"
                           "+@hash\r\n+@fast\r\n",
                           "$7\r\nhgetall\r\n:2\r\n*1\r\n+readonly\r\n",
                           "$29\r\nnondeterministic_output_order\r\n", "$10\r\nhrandfield\r\n:-2\r\n"}) {
    EXPECT_NE(info.find(want), std::string::npos) << want;
  }
  // Lists, sets and sorted sets stay out.
  EXPECT_EQ(c.run("LPUSH l a\r\n"), crlf({"-ERR unknown command 'LPUSH', with args beginning with: 'l' 'a' "}));
}

}  // namespace
}  // namespace ferrite::engine::resp_test
