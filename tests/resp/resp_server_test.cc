// Connection and server commands: PING, ECHO, SELECT, QUIT, RESET, TIME, HELLO and RESP3, AUTH,
// CLIENT, CONFIG (Redis names and Ferrite's through Shared::config), COMMAND and INFO.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "proto/resp/resp_number.h"
#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

TEST(RespServer, PingEchoSelect) {
  check(
      "PING\r\nPING hello\r\nECHO hi\r\nSELECT 0\r\nSELECT 1\r\nSELECT -1\r\nSELECT abc\r\nSELECT "
      "2147483648\r\n",
      crlf({"+PONG", "$5", "hello", "$2", "hi", "+OK", "-ERR DB index is out of range",
            "-ERR DB index is out of range", "-ERR value is not an integer or out of range",
            "-ERR value is out of range, value must between -2147483648 and 2147483647"}));
}

TEST(RespServer, Time) {
  Conn c;
  const std::string out = c.run("TIME\r\n");
  // *2 $10 <seconds> $n <microseconds>
  ASSERT_EQ(out.substr(0, 9), "*2\r\n$10\r\n");
  const long long secs = std::stoll(out.substr(9, 10));
  EXPECT_NEAR(static_cast<double>(secs), static_cast<double>(time(nullptr)), 5.0);
  EXPECT_EQ(c.run("TIME x\r\n"), crlf({"-ERR wrong number of arguments for 'time' command"}));
}

std::string hello_map(int proto, const std::string& head) {
  return head +
         crlf({"$6",    "server",        "$5", "redis",  "$7", "version", "$5",   "7.0.0", "$5",
               "proto", num(":", proto), "$2", "id",     ":1", "$4",      "mode", "$10",   "standalone",
               "$4",    "role",          "$6", "master", "$7", "modules", "*0"});
}

TEST(RespServer, HelloSwitchesProtocol) {
  check("HELLO\r\nHELLO 3\r\nHELLO\r\nHELLO 2\r\n",
        hello_map(2, "*14\r\n") + hello_map(3, "%7\r\n") + hello_map(3, "%7\r\n") + hello_map(2, "*14\r\n"));
}

TEST(RespServer, HelloOptions) {
  check("HELLO 3 AUTH default secret SETNAME app\r\nCLIENT GETNAME\r\n",
        hello_map(3, "%7\r\n") + crlf({"$3", "app"}));
  check(
      "HELLO 4\r\nHELLO 1\r\nHELLO abc\r\nHELLO 3 SETNAME \"a b\"\r\nHELLO 3 AUTH default\r\nHELLO 3 FOO\r\n"
      "HELLO 2 SETNAME\r\nHELLO 3 AUTH someone pass\r\nGET nokey\r\n",
      crlf({"-NOPROTO unsupported protocol version", "-NOPROTO unsupported protocol version",
            "-ERR Protocol version is not an integer or out of range",
            "-ERR Client names cannot contain spaces, newlines or special characters.",
            "-ERR Syntax error in HELLO option 'AUTH'", "-ERR Syntax error in HELLO option 'FOO'",
            "-ERR Syntax error in HELLO option 'SETNAME'",
            "-WRONGPASS invalid username-password pair or user is disabled.", "$-1"}));
}

TEST(RespServer, ResetGoesBackToResp2AndClearsTheName) {
  check("HELLO 3 SETNAME n\r\nRESET\r\nCLIENT GETNAME\r\nGET nokey\r\nRESET x\r\n",
        hello_map(3, "%7\r\n") +
            crlf({"+RESET", "$-1", "$-1", "-ERR wrong number of arguments for 'reset' command"}));
}

TEST(RespServer, Auth) {
  check(
      "AUTH x\r\nAUTH default x\r\nAUTH foo x\r\nAUTH a b c\r\n",
      crlf({"-ERR AUTH <password> called without any password configured for the default user. Are you sure "
            "your configuration is correct?",
            "+OK", "-WRONGPASS invalid username-password pair or user is disabled.", "-ERR syntax error"}));
}

TEST(RespServer, ClientNameAndId) {
  check(
      "CLIENT ID\r\nCLIENT GETNAME\r\nCLIENT SETNAME a\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"\"\r\n"
      "CLIENT GETNAME\r\nCLIENT SETNAME \"a b\"\r\nCLIENT NO-EVICT on\r\nCLIENT NO-EVICT foo\r\n",
      crlf({":1", "$-1", "+OK", "$1", "a", "+OK", "$-1",
            "-ERR Client names cannot contain spaces, newlines or special characters.", "+OK",
            "-ERR syntax error"}));
}

TEST(RespServer, ClientSetinfo) {
  check(
      "CLIENT SETINFO lib-name redis-py\r\nCLIENT SETINFO LIB-VER 5.0.1\r\nCLIENT SETINFO foo x\r\n"
      "CLIENT SETINFO lib-name \"a b\"\r\nCLIENT SETINFO lib-name\r\n",
      crlf({"+OK", "+OK", "-ERR Unrecognized option 'foo'",
            "-ERR lib-name cannot contain spaces, newlines or special characters.",
            "-ERR wrong number of arguments for 'client|setinfo' command"}));
}

// CLIENT INFO's line as field -> value.
std::map<std::string, std::string> client_fields(const std::string& reply) {
  std::map<std::string, std::string> f;
  const std::size_t start = reply.find("\r\n") + 2;
  std::string line = reply.substr(start, reply.size() - start - 2);
  EXPECT_EQ(line.back(), '\n');
  line.pop_back();
  std::size_t at = 0;
  while (at <= line.size()) {
    std::size_t sp = line.find(' ', at);
    if (sp == std::string::npos) sp = line.size();
    const std::string kv = line.substr(at, sp - at);
    const std::size_t eq = kv.find('=');
    EXPECT_NE(eq, std::string::npos) << kv;
    f[kv.substr(0, eq)] = kv.substr(eq + 1);
    at = sp + 1;
  }
  return f;
}

TEST(RespServer, ClientInfoAndList) {
  Conn c;
  c.run("CLIENT SETNAME worker1\r\nCLIENT SETINFO lib-name redis-py\r\n");
  auto f = client_fields(c.run("CLIENT INFO\r\n"));
  EXPECT_EQ(f["id"], "1");
  EXPECT_EQ(f["addr"], "127.0.0.1:40000");
  EXPECT_EQ(f["name"], "worker1");
  EXPECT_EQ(f["cmd"], "client|info");
  EXPECT_EQ(f["resp"], "2");
  EXPECT_EQ(f["lib-name"], "redis-py");
  EXPECT_EQ(f["qbuf"], "13");      // the request itself
  EXPECT_EQ(f["argv-mem"], "10");  // "CLIENT" + "INFO"
  EXPECT_EQ(f["tot-cmds"], "3");
  // Every field Redis 7 reports, in its order (redis-py reads several of them as integers).
  for (const char* k :
       {"id",   "addr", "laddr",   "fd",     "name",      "age",      "idle",      "flags", "db",  "sub",
        "psub", "ssub", "multi",   "qbuf",   "qbuf-free", "argv-mem", "multi-mem", "rbs",   "rbp", "obl",
        "oll",  "omem", "tot-mem", "events", "cmd",       "user",     "redir",     "resp"}) {
    EXPECT_TRUE(f.count(k)) << k;
  }
  const std::string out = c.run("CLIENT LIST\r\n");
  EXPECT_EQ(out.find("id=1 addr=127.0.0.1:40000 "), out.find("\r\n") + 2);
  EXPECT_NE(out.find(" cmd=client|list "), std::string::npos);
  EXPECT_NE(c.run("CLIENT LIST TYPE normal\r\n").find("id=1 "), std::string::npos);
  EXPECT_NE(c.run("CLIENT LIST ID 5 1\r\n").find("id=1 "), std::string::npos);
  EXPECT_EQ(
      c.run("CLIENT LIST TYPE pubsub\r\nCLIENT LIST ID 5\r\nCLIENT LIST TYPE foo\r\nCLIENT LIST ID x\r\n"
            "CLIENT LIST foo\r\n"),
      crlf({"$0", "", "$0", "", "-ERR Unknown client type 'foo'", "-ERR Invalid client ID",
            "-ERR syntax error"}));
}

TEST(RespServer, ClientInfoIsVerbatimInResp3) {
  Conn c;
  c.run("HELLO 3\r\n");
  const std::string out = c.run("CLIENT INFO\r\n");
  ASSERT_EQ(out[0], '=');
  EXPECT_NE(out.find("\r\ntxt:id=1 "), std::string::npos);
  EXPECT_NE(out.find(" resp=3 "), std::string::npos);
}

TEST(RespServer, ConfigGetWithoutServerConfig) {
  Conn c;
  EXPECT_EQ(c.run("CONFIG GET save\r\nCONFIG GET appendonly\r\nCONFIG GET databases\r\nCONFIG GET nosuch\r\n"
                  "CONFIG GET MAXMEMORY\r\nCONFIG GET maxmemory-policy\r\nCONFIG GET timeout Timeout\r\n"
                  "CONFIG GET maxclients\r\n"),
            crlf({"*2",  "$4",          "save",      "$0",  "",          "*2", "$10", "appendonly",
                  "$2",  "no",          "*2",        "$9",  "databases", "$1", "1",   "*0",
                  "*2",  "$9",          "MAXMEMORY", "$7",  "8388608",   "*2", "$16", "maxmemory-policy",
                  "$11", "allkeys-lru", "*2",        "$7",  "timeout",   "$1", "0",   "*2",
                  "$10", "maxclients",  "$4",        "4096"}));
  EXPECT_EQ(c.run("CONFIG GET max*\r\n"),
            crlf({"*6", "$10", "maxclients", "$4", "4096", "$9", "maxmemory", "$7", "8388608", "$16",
                  "maxmemory-policy", "$11", "allkeys-lru"}));
  c.run("HELLO 3\r\n");
  EXPECT_EQ(c.run("CONFIG GET save\r\n"), crlf({"%1", "$4", "save", "$0", ""}));
}

// A stand-in for the server's ConfigAccess: a few keys, of which log.level can change.
class FakeConfig final : public engine::testing::NamedConfig {
 public:
  using NamedConfig::get;
  using NamedConfig::set;
  std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : values) {
      if (proto::resp::glob_match(glob, k, true)) out.emplace_back(k, v);
    }
    return out;
  }
  std::string set(std::string_view key, std::string_view value) override {
    sets.emplace_back(std::string(key), std::string(value));
    if (key != "log.level") return std::string(key) + ": cannot change while ferrited runs";
    values[std::string(key)] = std::string(value);
    return "";
  }
  std::map<std::string, std::string> values{
      {"listen.resp", "0.0.0.0:6380"}, {"log.level", "info"}, {"server.memory", "1GiB"}};
  std::vector<std::pair<std::string, std::string>> sets;
};

TEST(RespServer, ConfigThroughServerConfig) {
  Conn c;
  FakeConfig config;
  c.h.shared().config = &config;
  EXPECT_EQ(c.run("CONFIG GET bind port\r\nCONFIG GET log.*\r\n"),
            crlf({"*4", "$4", "bind", "$7", "0.0.0.0", "$4", "port", "$4", "6380", "*2", "$9", "log.level",
                  "$4", "info"}));
  EXPECT_EQ(c.run("CONFIG SET log.level debug\r\nCONFIG GET log.level\r\n"),
            crlf({"+OK", "*2", "$9", "log.level", "$5", "debug"}));
  EXPECT_EQ(
      c.run("CONFIG SET maxmemory 2gb\r\n"),
      crlf(
          {"-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - server.memory: cannot change "
           "while ferrited runs"}));
  EXPECT_EQ(config.sets.back(), (std::pair<std::string, std::string>{"server.memory", "2147483648"}));
  c.run("CONFIG SET maxmemory-policy allkeys-lfu\r\nCONFIG SET port 7000\r\nCONFIG SET timeout 30\r\n");
  EXPECT_EQ(config.sets[config.sets.size() - 3],
            (std::pair<std::string, std::string>{"server.policy", "lfu"}));
  EXPECT_EQ(config.sets[config.sets.size() - 2],
            (std::pair<std::string, std::string>{"listen.resp", "0.0.0.0:7000"}));
  EXPECT_EQ(config.sets.back(), (std::pair<std::string, std::string>{"server.idle_timeout", "30"}));
}

TEST(RespServer, ConfigSetErrors) {
  Conn c;
  FakeConfig config;
  c.h.shared().config = &config;
  EXPECT_EQ(
      c.run("CONFIG SET nosuch 1\r\nCONFIG SET maxmemory\r\nCONFIG SET maxmemory 1 timeout\r\n"
            "CONFIG SET log.level debug log.level info\r\nCONFIG SET maxmemory abc\r\n"
            "CONFIG SET maxmemory-policy volatile-lru\r\nCONFIG SET databases 2\r\nCONFIG SET save \"\"\r\n"
            "CONFIG SET appendonly no\r\nCONFIG SET appendonly yes\r\n"),
      crlf({"-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'",
            "-ERR wrong number of arguments for 'config|set' command", "-ERR syntax error",
            "-ERR CONFIG SET failed (possibly related to argument 'log.level') - duplicate parameter",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory "
            "value",
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be "
            "one "
            "of the following: allkeys-lru, allkeys-lfu",
            "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config",
            "+OK", "+OK",
            "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'no' "
            "(the append-only file is persist.mode; restart to change)"}));
  EXPECT_TRUE(config.sets.empty());
  // With the append-only file on (persist.mode aof or both), appendonly says yes.
  c.h.shared().aof_enabled = true;
  EXPECT_EQ(c.run("CONFIG GET appendonly\r\nCONFIG SET appendonly yes\r\nCONFIG SET appendonly no\r\n"),
            crlf({"*2", "$10", "appendonly", "$3", "yes", "+OK",
                  "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' "
                  "(the append-only file is persist.mode; restart to change)"}));
}

TEST(RespServer, CommandCountListAndDocs) {
  Conn c;
  EXPECT_EQ(c.run("COMMAND COUNT\r\n"), crlf({":96"}));
  EXPECT_EQ(c.run("COMMAND LIST FILTERBY pattern g*t\r\n"), crlf({"*2", "$3", "get", "$6", "getset"}));
  EXPECT_EQ(c.run("COMMAND LIST FILTERBY aclcat connection\r\n").substr(0, 5), "*25\r\n");
  EXPECT_EQ(c.run("COMMAND LIST FILTERBY module x\r\nCOMMAND LIST FOO\r\nCOMMAND LIST FILTERBY foo x\r\n"),
            crlf({"*0", "-ERR syntax error", "-ERR syntax error"}));
  EXPECT_EQ(c.run("COMMAND DOCS\r\nCOMMAND DOCS get\r\n"), crlf({"*0", "*0"}));
  const std::string all = c.run("COMMAND LIST\r\n");
  EXPECT_EQ(all.substr(0, 6), "*136\r\n");  // 96 commands and 40 subcommands
  EXPECT_NE(all.find("$10\r\nconfig|get\r\n"), std::string::npos);
}

TEST(RespServer, CommandInfoMatchesRedis) {
  // Byte for byte what redis-server 7.0 answers for these.
  check("COMMAND INFO get mset nosuch\r\n",
        words("*3 "
              "*10 $3 get :2 *2 +readonly +fast :1 :1 :1 *3 +@read +@string +@fast *0 "
              "*1 *6 $5 flags *2 +RO +access $12 begin_search *4 $4 type $5 index $4 spec *2 $5 index :1 "
              "$9 find_keys *4 $4 type $5 range $4 spec *6 $7 lastkey :0 $7 keystep :1 $5 limit :0 *0 "
              "*10 $4 mset :-3 *2 +write +denyoom :1 :-1 :2 *3 +@write +@string +@slow "
              "*2 $26 request_policy:multi_shard $29 response_policy:all_succeeded "
              "*1 *6 $5 flags *2 +OW +update $12 begin_search *4 $4 type $5 index $4 spec *2 $5 index :1 "
              "$9 find_keys *4 $4 type $5 range $4 spec *6 $7 lastkey :-1 $7 keystep :2 $5 limit :0 *0 "
              "$-1"));
}

TEST(RespServer, CommandInfoInResp3UsesSetsAndMaps) {
  check_resp3(
      "COMMAND INFO ping\r\n",
      words("*1 *10 $4 ping :-1 ~1 +fast :0 :0 :0 ~2 +@fast +@connection ~2 $25 request_policy:all_shards "
            "$29 response_policy:all_succeeded ~0 ~0"));
  Conn c;
  c.run("HELLO 3\r\n");
  const std::string get = c.run("COMMAND INFO get\r\n");
  EXPECT_NE(get.find("~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n"),
            std::string::npos);
  EXPECT_EQ(c.run("COMMAND DOCS\r\nCOMMAND INFO nosuch\r\n"), crlf({"%0", "*1", "_"}));
}

TEST(RespServer, CommandListsEveryCommand) {
  Conn c;
  const std::string all = c.run("COMMAND\r\n");
  EXPECT_EQ(all.substr(0, 5), "*96\r\n");
  // Subcommands come with their container, as arrays of entries.
  EXPECT_NE(
      all.find(
          "$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*3\r\n*10\r\n$10\r\n"
          "config|get\r\n:-3\r\n"),
      std::string::npos);
  EXPECT_EQ(c.run("COMMAND INFO config|set\r\n").substr(0, 26), "*1\r\n*10\r\n$10\r\nconfig|set\r\n");
}

TEST(RespServer, HelpLists) {
  Conn c;
  const std::string help = c.run("COMMAND HELP\r\n");
  EXPECT_EQ(help.substr(0, 5), "*15\r\n");
  EXPECT_EQ(help.find("+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"), 5u);
  EXPECT_EQ(c.run("CONFIG HELP\r\n").substr(0, 4), "*9\r\n");
  EXPECT_EQ(c.run("CLIENT HELP\r\n").substr(0, 5), "*43\r\n");
}

std::string info_text(Conn& c, std::string_view request) {
  const std::string out = c.run(request);
  const std::size_t nl = out.find("\r\n");
  const std::size_t len = std::stoul(out.substr(1, nl - 1));
  EXPECT_EQ(out.size(), nl + 2 + len + 2);
  return out.substr(nl + 2, len);
}

TEST(RespServer, InfoSections) {
  Conn c;
  const std::string all = info_text(c, "INFO\r\n");
  std::vector<std::string> titles;
  for (std::size_t at = all.find("# "); at != std::string::npos; at = all.find("\r\n# ", at + 1)) {
    const std::size_t start = all[at] == '#' ? at + 2 : at + 4;
    titles.push_back(all.substr(start, all.find("\r\n", start) - start));
  }
  EXPECT_EQ(titles, (std::vector<std::string>{"Server", "Clients", "Memory", "Persistence", "Stats",
                                              "Replication", "CPU", "Modules", "Cluster", "Keyspace"}));
  EXPECT_NE(all.find("\r\nredis_version:7.0.0\r\nferrite_version:0.1.0\r\nredis_mode:standalone\r\n"),
            std::string::npos);
  const std::string fields =
      "arch_bits:64 process_id: uptime_in_seconds: connected_clients:0 used_memory: used_memory_human: "
      "maxmemory:8388608 maxmemory_human:8.00M maxmemory_policy:allkeys-lru loading:0 "
      "total_connections_received:0 "
      "total_commands_processed: instantaneous_ops_per_sec: keyspace_hits:0 keyspace_misses:0 expired_keys:0 "
      "evicted_keys:0 rejected_connections:0 role:master connected_slaves:0 used_cpu_sys: cluster_enabled:0";
  for (std::size_t at = 0; at < fields.size();) {
    const std::size_t sp = std::min(fields.find(' ', at), fields.size());
    const std::string field = fields.substr(at, sp - at);
    at = sp + 1;
    EXPECT_NE(all.find(std::string("\r\n") + field), std::string::npos) << field;
  }
  EXPECT_EQ(info_text(c, "INFO keyspace\r\n"), "# Keyspace\r\n");
  c.run("SET a 1\r\nSET b 2\r\nGET a\r\nGET c\r\n");
  EXPECT_EQ(info_text(c, "INFO Keyspace\r\n"), "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n");
  const std::string two = info_text(c, "INFO keyspace replication foo\r\n");
  EXPECT_EQ(two,
            "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_repl_offset:0\r\n\r\n# Keyspace\r\n"
            "db0:keys=2,expires=0,avg_ttl=0\r\n");
  const std::string stats = info_text(c, "INFO stats\r\n");
  EXPECT_NE(stats.find("\r\nkeyspace_hits:1\r\nkeyspace_misses:1\r\n"), std::string::npos);
  EXPECT_EQ(info_text(c, "INFO foo\r\n"), "");
  EXPECT_EQ(info_text(c, "INFO default\r\n").substr(0, 10), "# Server\r\n");
}

TEST(RespServer, InfoIsVerbatimInResp3) {
  Conn c;
  c.run("HELLO 3\r\n");
  EXPECT_EQ(c.run("INFO keyspace\r\n"), "=16\r\ntxt:# Keyspace\r\n\r\n");
}

}  // namespace
}  // namespace ferrite::engine::resp_test
