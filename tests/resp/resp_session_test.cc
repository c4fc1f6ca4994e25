// The RESP session as a protocol: pipelines, input split anywhere, protocol errors (reply, then
// close), unknown commands and wrong arity with Redis 7's exact words, limits, back-pressure and
// the counters it keeps.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/buffer.h"
#include "engine/resp/resp_internal.h"
#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

TEST(RespSession, PipelineOfMultibulkAndInlineRequests) {
  check(mb({"SET", "k", "v"}) + "GET k\r\n" + mb({"PING"}) + "PING\r\n" + mb({"ECHO", ""}) +
            mb({"GET", "nokey"}),
        crlf({"+OK", "$1", "v", "+PONG", "+PONG", "$0", "", "$-1"}));
}

TEST(RespSession, EmptyRequestsGetNoReply) { check("\r\n   \r\n*0\r\n*-1\r\nPING\r\n", crlf({"+PONG"})); }

TEST(RespSession, CommandNamesIgnoreCase) {
  check("set K v\r\nGeT K\r\nget k\r\n", crlf({"+OK", "$1", "v", "$-1"}));
}

TEST(RespSession, IncompleteRequestStaysPending) {
  Conn c;
  EXPECT_EQ(c.run("PING\r\n*2\r\n$3\r\nGET\r\n$1\r\n"), crlf({"+PONG"}));
  EXPECT_EQ(c.h.pending(), "*2\r\n$3\r\nGET\r\n$1\r\n");
  EXPECT_EQ(c.run("k\r\n"), crlf({"$-1"}));
  EXPECT_TRUE(c.h.pending().empty());
}

TEST(RespSession, UnknownCommandKeepsTheConnection) {
  check("foo a b\r\nPING\r\n",
        crlf({"-ERR unknown command 'foo', with args beginning with: 'a' 'b' ", "+PONG"}));
  check("FOO\r\n", crlf({"-ERR unknown command 'FOO', with args beginning with: "}));
}

TEST(RespSession, UnknownCommandQuotesAtMost128BytesOfArguments) {
  const std::string a(91, 'a'), b(100, 'b');
  // 'aaa...' takes 94 bytes; the second argument gets the 34 left; the rest are not shown.
  check("foo " + a + " " + b + " c\r\n", crlf({"-ERR unknown command 'foo', with args beginning with: '" + a +
                                               "' '" + std::string(34, 'b') + "' "}));
  const std::string name(200, 'x');
  check(name + "\r\n",
        crlf({"-ERR unknown command '" + std::string(128, 'x') + "', with args beginning with: "}));
}

TEST(RespSession, UnknownCommandMessageIsMadeSafe) {
  check(mb({"foo", "b\rc", "d\ne"}),
        crlf({"-ERR unknown command 'foo', with args beginning with: 'b c' 'd e' "}));
  check(mb({"foo", std::string("a\0b", 3), "c"}),
        crlf({"-ERR unknown command 'foo', with args beginning with: 'a' 'c' "}));
}

TEST(RespSession, UnknownSubcommand) {
  check("config foo\r\nCLIENT Bar x\r\ncommand nope\r\n",
        crlf({"-ERR unknown subcommand 'foo'. Try CONFIG HELP.",
              "-ERR unknown subcommand 'Bar'. Try CLIENT HELP.",
              "-ERR unknown subcommand 'nope'. Try COMMAND HELP."}));
}

TEST(RespSession, WrongArity) {
  check("GET\r\nget a b\r\nMSET a\r\nconfig get\r\nCONFIG\r\nCLIENT\r\nclient setname\r\nPING a b\r\n",
        crlf({"-ERR wrong number of arguments for 'get' command",
              "-ERR wrong number of arguments for 'get' command",
              "-ERR wrong number of arguments for 'mset' command",
              "-ERR wrong number of arguments for 'config|get' command",
              "-ERR wrong number of arguments for 'config' command",
              "-ERR wrong number of arguments for 'client' command",
              "-ERR wrong number of arguments for 'client|setname' command",
              "-ERR wrong number of arguments for 'ping' command"}));
}

// Each protocol error: the commands before it run, then Redis's message, then the connection closes.
void check_protocol_error(const std::string& bad, const std::string& message) {
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
    Conn c;
    EXPECT_EQ(c.run("PING\r\n" + bad + "PING\r\n", chunk), crlf({"+PONG", "-ERR " + message})) << bad;
    EXPECT_TRUE(c.s->closing()) << bad;
    EXPECT_EQ(c.h.stats().protocol_errors[static_cast<std::size_t>(Proto::kResp)].get(), 1) << bad;
  }
}

TEST(RespSession, ProtocolErrorsReplyThenClose) {
  check_protocol_error("*abc\r\n", "Protocol error: invalid multibulk length");
  check_protocol_error("*1048577\r\n", "Protocol error: invalid multibulk length");
  check_protocol_error("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
  check_protocol_error("*1\r\nx\r\n", "Protocol error: expected '$', got 'x'");
  check_protocol_error("*2\r\n$3\r\nGET\r\n\r\n\r\n", "Protocol error: expected '$', got ' '");
  check_protocol_error("GET \"a\r\n", "Protocol error: unbalanced quotes in request");
  check_protocol_error("GET 'a'b\r\n", "Protocol error: unbalanced quotes in request");
}

TEST(RespSession, TooBigInlineRequestCloses) {
  Conn c;
  EXPECT_EQ(c.run(std::string(70000, 'a'), 4096), crlf({"-ERR Protocol error: too big inline request"}));
  EXPECT_TRUE(c.s->closing());
}

TEST(RespSession, BulkOverTheItemLimitIsSwallowedAndTheConnectionStays) {
  // The value bulk announces more than proto-max-bulk-len (the store's max_item_size): nothing of
  // it is buffered, the error comes once it has all gone by, and the next request runs.
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    Conn c(8 << 20, 1000);
    const std::string big = mb({"SET", "k", std::string(5000, 'v')});
    EXPECT_EQ(c.run(big + mb({"SET", "k", "small"}) + "GET k\r\n", chunk),
              crlf({"-ERR string exceeds maximum allowed size (proto-max-bulk-len)", "+OK", "$5", "small"}))
        << chunk;
    EXPECT_FALSE(c.s->closing());
    EXPECT_TRUE(c.h.pending().empty());
  }
}

TEST(RespSession, SwallowingHoldsNoInputAcrossManyFeeds) {
  Conn c(8 << 20, 1000);
  // 50 MB announced; 20,000 bytes of it arrive in 100-byte pieces: none of them stays pending.
  EXPECT_EQ(c.run("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$50000000\r\n"), "");
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(c.run(std::string(100, 'v')), "");
    ASSERT_TRUE(c.h.pending().empty()) << i;
  }
  EXPECT_FALSE(c.s->closing());
}

TEST(RespSession, RequestOverTheRequestLimitIsSwallowedAndTheConnectionStays) {
  Conn c;
  c.h.shared().settings.max_request_bytes = 4096;
  std::string req = "*1000\r\n";
  for (int i = 0; i < 1000; ++i) req += "$1\r\na\r\n";
  const std::string out = c.run(req + "PING\r\n", 100);
  EXPECT_EQ(out,
            crlf({"-ERR request larger than the server's limit (proto-max-bulk-len + 64 KiB)", "+PONG"}));
  EXPECT_FALSE(c.s->closing());
  EXPECT_TRUE(c.h.pending().empty());
}

TEST(RespSession, MalformedInputWhileSwallowingStillCloses) {
  Conn c(8 << 20, 100);
  EXPECT_EQ(c.run("*3\r\n$3\r\nSET\r\n$200\r\n" + std::string(200, 'k') + "\r\n:1\r\n"),
            crlf({"-ERR Protocol error: expected '$', got ':'"}));
  EXPECT_TRUE(c.s->closing());
}

TEST(RespSession, LargeValueArrivingInPieces) {
  Conn c;
  const std::string value(1u << 20, 'v');
  EXPECT_EQ(c.run(mb({"SET", "big", value}), 64 << 10), crlf({"+OK"}));
  EXPECT_EQ(c.run("GET big\r\n"), "$1048576\r\n" + value + "\r\n");
}

TEST(RespSession, ValueOverTheItemLimitIsAnErrorNotAClose) {
  Conn c(8 << 20, 1000);
  EXPECT_EQ(c.run(mb({"SET", "k", std::string(1001, 'v')}) + "PING\r\n"),
            crlf({"-ERR string exceeds maximum allowed size (proto-max-bulk-len)", "+PONG"}));
  EXPECT_FALSE(c.s->closing());
}

TEST(RespSession, KeysTheStoreCannotHold) {
  const std::string long_key(251, 'k');
  check(mb({"SET", long_key, "v"}) + mb({"GET", long_key}) + mb({"SET", "", "v"}) + mb({"GET", ""}),
        crlf({"-ERR key is too long (the limit is 250 bytes)", "$-1", "-ERR empty keys are not supported",
              "$-1"}));
}

TEST(RespSession, QuitRepliesThenCloses) {
  Conn c;
  EXPECT_EQ(c.run("PING\r\nQUIT\r\nPING\r\n"), crlf({"+PONG", "+OK"}));
  EXPECT_TRUE(c.s->closing());
}

TEST(RespSession, StopsAtTheReplyCapAndResumes) {
  Conn c;
  c.h.shared().settings.max_reply_bytes = 100;
  c.run(mb({"SET", "k", std::string(60, 'v')}));
  std::string in;
  for (int i = 0; i < 10; ++i) in += "GET k\r\n";
  Buffer out;
  const std::size_t n = c.s->feed(in, out, c.h.exec());
  EXPECT_EQ(n, 14u);  // two GETs: the first reply (67 bytes) is under the cap, the second is over
  EXPECT_EQ(out.size(), 134u);
  // The harness calls again as the worker does once the replies are sent: all ten arrive.
  const std::string all = c.run(in);
  EXPECT_EQ(all.size(), 10u * 67);
}

// An MGET request of `keys` (each named as given).
std::string mget(const std::vector<std::string>& keys) {
  std::string s = num("*", static_cast<long long>(keys.size() + 1));
  s += "\r\n$4\r\nmGeT\r\n";
  for (const std::string& k : keys) {
    s += num("$", static_cast<long long>(k.size()));
    s += "\r\n";
    s += k;
    s += "\r\n";
  }
  return s;
}

TEST(RespSession, MgetStopsAtTheReplyCapAndResumesFromTheNextKey) {
  Conn c;
  c.h.shared().settings.max_reply_bytes = 1000;
  c.run(mb({"SET", "a", std::string(600, 'x')}) + mb({"SET", "b", "y"}));
  std::string va = "$600\r\n";
  va.append(600, 'x');
  va += "\r\n";
  std::string in = mget({"a", "a", "b", "missing", "a", "a", "a"});
  in += "PING\r\n";
  Buffer out;
  std::string got;
  std::size_t consumed = 0;
  for (int calls = 0; consumed < in.size(); ++calls) {
    ASSERT_LT(calls, 10);
    out.clear();
    consumed += c.s->feed(std::string_view(in).substr(consumed), out, c.h.exec());
    EXPECT_LT(out.size(), 1000u + va.size());  // past the cap by one value at most
    got += std::string(out.view());
  }
  std::string want = "*7\r\n";
  want += va;
  want += va;
  want += "$1\r\ny\r\n$-1\r\n";
  for (int i = 0; i < 3; ++i) want += va;
  want += "+PONG\r\n";
  EXPECT_EQ(got, want);
  // And at every split point of the input.
  for (const std::size_t chunk : {0, 1, 2, 7, 100}) {
    Conn d;
    d.h.shared().settings.max_reply_bytes = 1000;
    d.run(mb({"SET", "a", std::string(600, 'x')}) + mb({"SET", "b", "y"}));
    EXPECT_EQ(d.run(in, chunk), got) << "chunk " << chunk;
  }
}

TEST(RespSession, MgetOfManyKeysBeyondTheRequestLimitIsServed) {
  // Redis takes a multibulk of 100,000 arguments; its keys are answered as they arrive, so the
  // request is never held whole.
  Conn c;
  c.h.shared().settings.max_request_bytes = 4096;
  c.run(mb({"SET", "k7", "seven"}));
  std::vector<std::string> keys;
  std::string want = "*20000\r\n";
  for (int i = 0; i < 20000; ++i) {
    keys.push_back(num("k", i % 10));
    want += i % 10 == 7 ? "$5\r\nseven\r\n" : "$-1\r\n";
  }
  const std::string in = mget(keys);
  ASSERT_GT(in.size(), 100000u);
  std::string got;
  for (std::size_t off = 0; off < in.size(); off += 1000) {
    got += c.run(std::string_view(in).substr(off, 1000));
    EXPECT_LT(c.h.pending().size(), 1000u) << off;
  }
  got += c.run("PING\r\n");
  want += "+PONG\r\n";
  EXPECT_EQ(got, want);
  EXPECT_FALSE(c.s->closing());
  EXPECT_EQ(
      c.h.stats().requests[static_cast<std::size_t>(Proto::kResp)][static_cast<std::size_t>(Op::k_get)].get(),
      20000);
  EXPECT_EQ(c.h.stats().hits[static_cast<std::size_t>(Proto::kResp)].get(), 2000);
}

TEST(RespSession, MgetInResp3AndMgetWithoutKeys) {
  check_resp3(mb({"SET", "a", "1"}) + mget({"a", "b"}), crlf({"+OK", "*2", "$1", "1", "_"}));
  check(mb({"MGET"}), crlf({"-ERR wrong number of arguments for 'mget' command"}));
}

TEST(RespSession, MgetWithABadBulkIsAProtocolError) {
  Conn c;
  EXPECT_EQ(c.run("*3\r\n$4\r\nMGET\r\n$1\r\na\r\n:1\r\n"),
            crlf({"*2", "$-1", "-ERR Protocol error: expected '$', got ':'"}));
  EXPECT_TRUE(c.s->closing());
  Conn d;
  const std::size_t limit = d.h.shared().settings.max_request_bytes;
  std::string huge = "*2\r\n$4\r\nMGET\r\n";
  huge += num("$", static_cast<long long>(limit));
  huge += "\r\n";
  EXPECT_EQ(d.run(huge),
            crlf({"*1", "-ERR request larger than the server's limit (proto-max-bulk-len + 64 KiB)"}));
  EXPECT_TRUE(d.s->closing());
}

TEST(RespSession, CountsRequestsHitsAndMisses) {
  Conn c;
  c.run(
      "SET a 1\r\nSET b 2 NX\r\nMGET a b c\r\nGET a\r\nGET zz\r\nnosuch\r\nDEL a b\r\nPING\r\nINCR n\r\nDECR "
      "n\r\n");
  const auto& st = c.h.stats();
  const auto req = [&](Op op) {
    return st.requests[static_cast<std::size_t>(Proto::kResp)][static_cast<std::size_t>(op)].get();
  };
  EXPECT_EQ(req(Op::k_set), 1);
  EXPECT_EQ(req(Op::k_add), 1);
  EXPECT_EQ(req(Op::k_get), 5);  // MGET counts one per key
  EXPECT_EQ(req(Op::k_error), 1);
  EXPECT_EQ(req(Op::k_delete), 2);
  EXPECT_EQ(req(Op::k_noop), 1);
  EXPECT_EQ(req(Op::k_incr), 1);
  EXPECT_EQ(req(Op::k_decr), 1);
  EXPECT_EQ(st.hits[static_cast<std::size_t>(Proto::kResp)].get(), 3);
  EXPECT_EQ(st.misses[static_cast<std::size_t>(Proto::kResp)].get(), 2);
  EXPECT_EQ(c.s->proto(), Proto::kResp);
}

TEST(RespSession, CommandTableIsSortedAndEveryCommandIsFound) {
  const auto table = resp::command_table();
  ASSERT_FALSE(table.empty());
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(table[i - 1].name, table[i].name);
    }
    std::string upper(table[i].name);
    for (char& ch : upper) ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
    EXPECT_EQ(resp::find_command(upper), &table[i]) << upper;
    for (const resp::CommandSpec& sub : table[i].subcommands) {
      EXPECT_EQ(sub.name.substr(0, table[i].name.size() + 1), std::string(table[i].name) + "|");
      EXPECT_EQ(resp::find_subcommand(table[i], sub.short_name()), &sub);
      EXPECT_NE(sub.handler, nullptr) << sub.name;
    }
    const bool container = table[i].name == "client" || table[i].name == "config" ||
                           table[i].name == "function" || table[i].name == "memory" ||
                           table[i].name == "object" || table[i].name == "script" ||
                           table[i].name == "latency" || table[i].name == "slowlog";
    EXPECT_EQ(table[i].handler == nullptr, container)
        << table[i].name;
  }
  EXPECT_EQ(resp::find_command("nosuchcommandname"), nullptr);
}

TEST(RespSession, StoredValuesHaveClientFlagsZero) {
  Conn c;
  c.run("SET k v\r\n");
  const store::ItemView it = c.h.ctx().get("k");
  ASSERT_TRUE(it);
  EXPECT_EQ(it.flags(), 0u);
}

// The keys a command's key spec names feed the hot-key sketch, once per request (the streamed
// MGET too); values do not.
TEST(RespSession, KeysFeedTheHotKeySketchByKeySpec) {
  Conn c;
  WorkerControl control;
  c.h.exec().control = &control;
  for (int i = 0; i < 800; ++i) {
    c.run(mb({"MSET", "hot:mset", "hot:value", "k2", "v"}), 5);
    c.run(mb({"MGET", "x", "hot:mget"}));
    c.run("GET hot:inline\r\n");
  }
  std::vector<HotKeys::Entry> hot;
  control.hot.snapshot(&hot);
  auto count = [&](std::string_view key) -> std::uint64_t {
    for (const auto& e : hot) {
      if (e.key == key) return e.count;
    }
    return 0;
  };
  for (const std::string_view key : {"hot:mset", "hot:mget", "hot:inline"}) {
    EXPECT_GT(count(key), 400u) << key;
    EXPECT_LT(count(key), 1600u) << key;
  }
  EXPECT_EQ(count("hot:value"), 0u);
}


// While the daemon loads: every command without Redis's "loading" flag gets -LOADING (MGET's
// streamed form too), those with it (INFO, ECHO) run; the connection goes on, and once loading
// ends the same commands run.
TEST(RespSession, LoadingAnswersKeyedCommandsAndKeepsTheConnection) {
  Conn c;
  c.h.set_loading(true);
  const std::string loading = "-LOADING Ferrite is loading the dataset in memory\r\n";
  EXPECT_EQ(c.run(mb({"SET", "k", "v"}) + mb({"GET", "k"}) + mb({"MGET", "k", "j"}) + mb({"ECHO", "e"})),
            loading + loading + loading + "$1\r\ne\r\n");
  EXPECT_EQ(c.run(mb({"INFO", "persistence"})).substr(0, 1), "$");
  c.h.set_loading(false);
  EXPECT_EQ(c.run(mb({"SET", "k", "v"}) + mb({"GET", "k"})), crlf({"+OK", "$1", "v"}));
}

// fsync = always and the append-only file failed: writes get Redis's MISCONF error with the
// reason, reads go on; a transaction with a refused write is aborted.
TEST(RespSession, FailedAppendOnlyFileRefusesWritesNotReads) {
  Conn c;
  EXPECT_EQ(c.run(mb({"SET", "k", "v"})), "+OK\r\n");
  c.h.fail_writes(true);
  const std::string misconf = "-MISCONF Errors writing to the AOF file: No space left on device\r\n";
  EXPECT_EQ(c.run(mb({"SET", "k", "w"}) + mb({"DEL", "k"}) + mb({"GET", "k"}) + mb({"MGET", "k"})),
            misconf + misconf + "$1\r\nv\r\n*1\r\n$1\r\nv\r\n");
  EXPECT_EQ(c.run(mb({"MULTI"}) + mb({"INCR", "n"}) + mb({"EXEC"})),
            "+OK\r\n" + misconf + "-EXECABORT Transaction discarded because of previous errors.\r\n");
  c.h.fail_writes(false);
  EXPECT_EQ(c.run(mb({"SET", "k", "w"})), "+OK\r\n");
}

}  // namespace
}  // namespace ferrite::engine::resp_test
