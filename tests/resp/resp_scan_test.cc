// Keyspace and admin commands: SCAN, KEYS, RANDOMKEY, RENAME, RENAMENX, COPY, TOUCH, OBJECT,
// MEMORY, DEBUG, FUNCTION, SCRIPT, the scripting commands, WAIT, CLIENT NO-TOUCH.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

// A reply's bulk strings in order (RESP2 arrays of bulks; other lines are skipped).
std::vector<std::string> bulks(std::string_view r) {
  std::vector<std::string> out;
  while (!r.empty()) {
    const std::size_t eol = r.find("\r\n");
    if (eol == std::string_view::npos) break;
    const std::string_view line = r.substr(0, eol);
    r.remove_prefix(eol + 2);
    if (!line.empty() && line[0] == '$' && line != "$-1") {
      const std::size_t n = std::stoul(std::string(line.substr(1)));
      out.emplace_back(r.substr(0, n));
      r.remove_prefix(n + 2);
    }
  }
  return out;
}

// SCAN from 0 to 0; the keys seen (each once: a duplicate fails).
std::set<std::string> scan_all(Conn& c, const std::string& options, std::size_t* calls = nullptr) {
  std::set<std::string> keys;
  std::string cursor = "0";
  std::size_t n = 0;
  do {
    const std::vector<std::string> b = bulks(c.run("SCAN " + cursor + options + "\r\n"));
    EXPECT_FALSE(b.empty());
    if (b.empty()) break;
    cursor = b[0];
    for (std::size_t i = 1; i < b.size(); ++i) EXPECT_TRUE(keys.insert(b[i]).second) << "twice: " << b[i];
    c.h.end_iteration();
    ++n;
  } while (cursor != "0" && n < 100000);
  if (calls != nullptr) *calls = n;
  return keys;
}

TEST(RespScan, ScanReturnsEveryKeyOnce) {
  Conn c(std::size_t{32} << 20);
  std::string in;
  for (int i = 0; i < 3000; ++i) in += "SET key:" + std::to_string(i) + " v\r\n";
  c.run(in);
  std::size_t small = 0, big = 0;
  EXPECT_EQ(scan_all(c, "", &small).size(), 3000u);
  EXPECT_EQ(scan_all(c, " COUNT 1000", &big).size(), 3000u);
  EXPECT_LT(big, small);  // COUNT makes calls cover more
}

TEST(RespScan, ScanMatchAndType) {
  Conn c;
  c.run("MSET user:1 a user:2 b order:1 c user:x d\r\n");
  EXPECT_EQ(scan_all(c, " MATCH user:[0-9]"), (std::set<std::string>{"user:1", "user:2"}));
  EXPECT_EQ(scan_all(c, " MATCH *:1 COUNT 100").size(), 2u);
  EXPECT_EQ(scan_all(c, " TYPE string").size(), 4u);
  EXPECT_EQ(scan_all(c, " TYPE STRING MATCH order*").size(), 1u);
  EXPECT_TRUE(scan_all(c, " TYPE hash").empty());
}

TEST(RespScan, ScanArgumentErrors) {
  check("SCAN abc\r\nSCAN -\r\nSCAN 1x\r\nSCAN \" 1\"\r\nSCAN 0 COUNT 0\r\nSCAN 0 COUNT x\r\nSCAN 0 MATCH\r\n"
        "SCAN 0 FOO bar\r\n",
        crlf({"-ERR invalid cursor", "-ERR invalid cursor", "-ERR invalid cursor", "-ERR invalid cursor",
              "-ERR syntax error", "-ERR value is not an integer or out of range", "-ERR syntax error",
              "-ERR syntax error"}));
  // A cursor it never gave (past the last shard) ends the scan.
  check("SET k v\r\nSCAN 18446744073709551615\r\n", crlf({"+OK", "*2", "$1", "0", "*0"}));
}

TEST(RespScan, KeysMatchesTheGlob) {
  Conn c;
  c.run("MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h[llo 6\r\n");
  auto keys = [&](std::string_view pat) {
    const std::vector<std::string> b = bulks(c.run(mb({"KEYS", pat})));
    return std::set<std::string>(b.begin(), b.end());
  };
  EXPECT_EQ(keys("h?llo"), (std::set<std::string>{"hello", "hallo", "hxllo", "h[llo"}));
  EXPECT_EQ(keys("h*llo").size(), 6u);
  EXPECT_EQ(keys("h[ae]llo"), (std::set<std::string>{"hello", "hallo"}));
  EXPECT_EQ(keys("h[^e]llo"), (std::set<std::string>{"hallo", "hxllo", "h[llo"}));
  EXPECT_EQ(keys("h[a-b]llo"), (std::set<std::string>{"hallo"}));
  EXPECT_EQ(keys("h\\[llo"), (std::set<std::string>{"h[llo"}));
  EXPECT_EQ(keys("*").size(), 6u);
  EXPECT_TRUE(keys("nothing*").empty());
}

TEST(RespScan, RandomKey) {
  Conn c;
  EXPECT_EQ(c.run("RANDOMKEY\r\n"), "$-1\r\n");
  c.run("SET only v\r\n");
  EXPECT_EQ(c.run("RANDOMKEY\r\n"), crlf({"$4", "only"}));
}

TEST(RespScan, RenameKeepsValueFlagsAndTtl) {
  Conn c;
  EXPECT_EQ(c.run("SET a v EX 100\r\nRENAME a b\r\nGET a\r\nGET b\r\nTTL b\r\n"),
            crlf({"+OK", "+OK", "$-1", "$1", "v", ":100"}));
  EXPECT_EQ(c.run("RENAME nope x\r\nRENAMENX nope x\r\n"), crlf({"-ERR no such key", "-ERR no such key"}));
  EXPECT_EQ(c.run("SET c w\r\nRENAME b c\r\nGET c\r\nTTL c\r\n"), crlf({"+OK", "+OK", "$1", "v", ":100"}));
  EXPECT_EQ(c.run("SET d 1\r\nRENAMENX c d\r\nGET d\r\nRENAMENX c e\r\nGET e\r\nEXISTS c\r\n"),
            crlf({"+OK", ":0", "$1", "1", ":1", "$1", "v", ":0"}));
  EXPECT_EQ(c.run("RENAME e e\r\nRENAMENX e e\r\nGET e\r\n"), crlf({"+OK", ":0", "$1", "v"}));
}

TEST(RespScan, RenameKeepsMemcacheFlags) {
  Conn c;
  store::SetRequest req;
  req.flags = 42;
  ASSERT_EQ(c.h.ctx().set("f", "v", req).status, store::Status::kOk);
  EXPECT_EQ(c.run("RENAME f g\r\nCOPY g h\r\n"), crlf({"+OK", ":1"}));
  EXPECT_EQ(c.h.ctx().get("g").flags(), 42u);
  EXPECT_EQ(c.h.ctx().get("h").flags(), 42u);
}

TEST(RespScan, Copy) {
  Conn c;
  EXPECT_EQ(c.run("SET s v PX 50000\r\nCOPY s d\r\nGET d\r\nPTTL d\r\nCOPY s d\r\nSET s w\r\nCOPY s d REPLACE\r\nGET d\r\n"),
            crlf({"+OK", ":1", "$1", "v", ":50000", ":0", "+OK", ":1", "$1", "w"}));
  EXPECT_EQ(c.run("COPY nope d\r\nCOPY s s\r\nCOPY s d DB 1\r\nCOPY s d2 DB 0\r\nCOPY s d DB x\r\nCOPY s d FOO\r\n"),
            crlf({":0", "-ERR source and destination objects are the same", "-ERR DB index is out of range", ":1",
                  "-ERR value is not an integer or out of range", "-ERR syntax error"}));
}

TEST(RespScan, Touch) { check("MSET a 1 b 2\r\nTOUCH a b c a\r\n", crlf({"+OK", ":3"})); }

TEST(RespScan, ObjectEncoding) {
  const std::string s44(44, 'x'), s45(45, 'x');
  check("SET i 12345\r\nSET n -7\r\nSET z 0\r\nSET lz 007\r\nSET e " + s44 + "\r\nSET r " + s45 +
            "\r\nSET big 123456789012345678901\r\nOBJECT ENCODING i\r\nOBJECT ENCODING n\r\nOBJECT ENCODING z\r\n"
            "OBJECT ENCODING lz\r\nOBJECT ENCODING e\r\nOBJECT ENCODING r\r\nOBJECT ENCODING big\r\n"
            "OBJECT ENCODING nope\r\nOBJECT REFCOUNT i\r\n",
        crlf({"+OK", "+OK", "+OK", "+OK", "+OK", "+OK", "+OK", "$3", "int", "$3", "int", "$3", "int", "$6", "embstr",
              "$6", "embstr", "$3", "raw", "$6", "embstr", "$-1", ":1"}));
}

TEST(RespScan, ObjectFreqAndIdletimeFollowThePolicy) {
  Conn c;
  c.run("SET k v\r\n");
  EXPECT_EQ(c.run("OBJECT FREQ k\r\n").substr(0, 52), "-ERR An LFU maxmemory policy is not selected, access");
  // A new or read item has its reference bit: idle 0. Once the hand cleared it: the bound, the
  // seconds since the store started.
  EXPECT_EQ(c.run("OBJECT IDLETIME k\r\n"), crlf({":0"}));
  c.h.advance_ms(5000);
  const_cast<store::Item*>(c.h.ctx().peek(store::make_key("k")).item())->store_access(0);
  EXPECT_EQ(c.run("OBJECT IDLETIME k\r\n"), crlf({num(":", static_cast<long long>(c.h.ctx().now_ms() / 1000))}));
  EXPECT_EQ(c.run("GET k\r\nOBJECT IDLETIME k\r\nOBJECT IDLETIME nope\r\n"), crlf({"$1", "v", ":0", "$-1"}));
}

TEST(RespScan, ObjectFreqUnderLfu) {
  Conn c;
  c.h.store().set_policy(store::EvictionPolicy::kLfu);
  c.run("SET k v\r\n");
  EXPECT_EQ(c.run("OBJECT FREQ k\r\nOBJECT FREQ k\r\n"), crlf({":0", ":0"}));  // OBJECT does not count
  std::string gets;
  for (int i = 0; i < 50; ++i) gets += "GET k\r\n";
  c.run(gets);
  const std::string freq = c.run("OBJECT FREQ k\r\n");
  EXPECT_NE(freq, crlf({":0"}));
  EXPECT_EQ(c.run("OBJECT IDLETIME k\r\n").substr(0, 45), "-ERR An LFU maxmemory policy is selected, idl");
  EXPECT_EQ(c.run("OBJECT FREQ nope\r\n"), "$-1\r\n");
  // NO-TOUCH: this client's reads leave the counter; TOUCH still counts.
  EXPECT_EQ(c.run("CLIENT NO-TOUCH on\r\n" + gets), "+OK\r\n" + [] {
    std::string r;
    for (int i = 0; i < 50; ++i) r += "$1\r\nv\r\n";
    return r;
  }());
  EXPECT_EQ(c.run("OBJECT FREQ k\r\n"), freq);
  EXPECT_EQ(c.run("CLIENT NO-TOUCH maybe\r\nCLIENT NO-TOUCH off\r\n"), crlf({"-ERR syntax error", "+OK"}));
}

TEST(RespScan, MemoryUsage) {
  Conn c;
  c.run("SET small v\r\nSET large " + std::string(10000, 'x') + "\r\n");
  const std::string small = c.run("MEMORY USAGE small\r\n");
  const std::string large = c.run("MEMORY USAGE large SAMPLES 5\r\n");
  ASSERT_EQ(small[0], ':');
  ASSERT_EQ(large[0], ':');
  const long s = std::stol(small.substr(1)), l = std::stol(large.substr(1));
  EXPECT_GE(s, 16 + 5 + 1);
  EXPECT_LT(s, 64);
  EXPECT_GE(l, 10000 + 16 + 5);
  EXPECT_LT(l, 10000 + 2048);
  EXPECT_EQ(c.run("MEMORY USAGE nope\r\nMEMORY USAGE small SAMPLES x\r\nMEMORY USAGE small FOO\r\nMEMORY USAGE\r\n"),
            crlf({"$-1", "-ERR value is not an integer or out of range", "-ERR syntax error",
                  "-ERR wrong number of arguments for 'memory|usage' command"}));
}

TEST(RespScan, DebugObjectAndSleep) {
  Conn c;
  c.run("SET k 123\r\n");
  const std::string r = c.run("DEBUG OBJECT k\r\n");
  EXPECT_EQ(r.substr(0, 9), "+Value at");
  EXPECT_NE(r.find(" refcount:1 encoding:int serializedlength:3 lru:"), std::string::npos) << r;
  EXPECT_EQ(c.run("DEBUG OBJECT nope\r\nDEBUG SLEEP 0\r\nDEBUG SLEEP 0.01\r\nDEBUG SLEEP x\r\nDEBUG RELOAD\r\n"),
            crlf({"-ERR no such key", "+OK", "+OK", "-ERR value is not a valid float",
                  "-ERR unknown subcommand 'RELOAD'. Try DEBUG HELP."}));
}

TEST(RespScan, FunctionsAndScriptsThatAreNotThere) {
  check("FUNCTION FLUSH\r\nFUNCTION FLUSH ASYNC\r\nFUNCTION FLUSH sync\r\nFUNCTION FLUSH now\r\nFUNCTION LIST\r\n"
        "SCRIPT FLUSH\r\nSCRIPT FLUSH ASYNC\r\nSCRIPT FLUSH x\r\nSCRIPT EXISTS a b\r\n",
        crlf({"+OK", "+OK", "+OK", "-ERR Bad flush type", "*0", "+OK", "+OK",
              "-ERR SCRIPT FLUSH only support SYNC|ASYNC option", "*2", ":0", ":0"}));
  const std::string no = "-ERR scripting is not supported by this server";
  check("EVAL \"return 1\" 0\r\nEVALSHA abc 0\r\nEVAL_RO x 0\r\nEVALSHA_RO x 0\r\nFCALL f 0\r\nFCALL_RO f 0\r\n"
        "SCRIPT LOAD x\r\nFUNCTION LOAD x\r\n",
        crlf({no, no, no, no, no, no, no, no}));
}

TEST(RespScan, WaitAnswersNoReplicas) {
  check("WAIT 1 0\r\nWAIT 0 100\r\nWAIT x 0\r\nWAIT 1 -1\r\nWAITAOF 0 0 0\r\nWAITAOF 1 0 0\r\n",
        crlf({":0", ":0", "-ERR value is not an integer or out of range", "-ERR timeout is negative", "*2", ":0",
              ":0", "-ERR WAITAOF cannot be used when numlocal is set but appendonly is disabled."}));
}

TEST(RespScan, CommandInfoForTheNewCommands) {
  Conn c;
  const std::string r = c.run("COMMAND INFO scan rename object|freq\r\n");
  EXPECT_NE(r.find("$4\r\nscan\r\n:-2\r\n"), std::string::npos);
  EXPECT_NE(r.find("$6\r\nrename\r\n:3\r\n"), std::string::npos);
  EXPECT_NE(r.find("$11\r\nobject|freq\r\n:3\r\n"), std::string::npos);
}

}  // namespace
}  // namespace ferrite::engine::resp_test
