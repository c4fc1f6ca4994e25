// MULTI / EXEC / DISCARD / WATCH / UNWATCH, byte for byte as Redis 7 answers them, whole and
// split at every byte.
#include <string>

#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

// Inline requests, one a line: lines("MULTI\nGET k") == "MULTI\r\nGET k\r\n".
std::string lines(std::string_view text) {
  std::string s;
  for (const char ch : text) {
    if (ch == '\n') {
      s += "\r\n";
    } else {
      s += ch;
    }
  }
  return s + "\r\n";
}

TEST(RespMulti, QueuesAndExecutesInOrder) {
  check(lines("MULTI\nSET k v\nGET k\nINCR n\nMGET k n nope\nEXEC\nGET k"),
        crlf({"+OK", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "*4", "+OK", "$1", "v", ":1", "*3", "$1", "v",
              "$1", "1", "$-1", "$1", "v"}));
  // Multibulk requests, and MGET (served streamed outside MULTI) queued like any other.
  check(mb({"MULTI"}) + mb({"MGET", "a", "b"}) + mb({"SET", "a", "1"}) + mb({"EXEC"}),
        crlf({"+OK", "+QUEUED", "+QUEUED", "*2", "*2", "$-1", "$-1", "+OK"}));
}

TEST(RespMulti, NothingRunsBeforeExec) {
  Conn c;
  EXPECT_EQ(c.run(lines("MULTI\nSET k v")), crlf({"+OK", "+QUEUED"}));
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.h.feed(*other, "GET k\r\n"), crlf({"$-1"}));
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*1", "+OK"}));
  EXPECT_EQ(c.h.feed(*other, "GET k\r\n"), crlf({"$1", "v"}));
}

TEST(RespMulti, KeylessCommandsInsideExec) {
  // FLUSHALL sweeps the table while EXEC holds the locks of k: the sweep skips nothing it holds.
  check(lines("SET a 1\nMULTI\nSET k v\nFLUSHALL\nGET k\nDBSIZE\nSET k w\nPING\nEXEC\nGET k\nGET a"),
        crlf({"+OK", "+OK", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "+QUEUED", "*6", "+OK", "+OK",
              "$-1", ":0", "+OK", "+PONG", "$1", "w", "$-1"}));
}

TEST(RespMulti, EmptyTransaction) {
  check(lines("MULTI\nEXEC"), crlf({"+OK", "*0"}));
  check_resp3(lines("MULTI\nEXEC"), crlf({"+OK", "*0"}));
}

TEST(RespMulti, RuntimeErrorsStayInTheArrayAndTheRestRuns) {
  check(lines("SET k abc\nMULTI\nINCR k\nSET j 1\nGET k\nEXEC\nGET j"),
        crlf({"+OK", "+OK", "+QUEUED", "+QUEUED", "+QUEUED", "*3", "-ERR value is not an integer or out of range",
              "+OK", "$3", "abc", "$1", "1"}));
}

TEST(RespMulti, QueueingErrorsAbortExec) {
  check(lines("MULTI\nSET k v\nNOSUCH a b\nEXEC\nGET k"),
        crlf({"+OK", "+QUEUED", "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' ",
              "-EXECABORT Transaction discarded because of previous errors.", "$-1"}));
  check(lines("MULTI\nSET k\nSET k v\nEXEC\nGET k"),
        crlf({"+OK", "-ERR wrong number of arguments for 'set' command", "+QUEUED",
              "-EXECABORT Transaction discarded because of previous errors.", "$-1"}));
  check(lines("MULTI\nCLIENT NOSUCH\nEXEC"),
        crlf({"+OK", "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.",
              "-EXECABORT Transaction discarded because of previous errors."}));
  // After the abort the connection is out of MULTI.
  check(lines("MULTI\nNOSUCH\nEXEC\nSET k v\nEXEC"),
        crlf({"+OK", "-ERR unknown command 'NOSUCH', with args beginning with: ",
              "-EXECABORT Transaction discarded because of previous errors.", "+OK", "-ERR EXEC without MULTI"}));
}

TEST(RespMulti, MisplacedCommands) {
  check(lines("EXEC\nDISCARD"), crlf({"-ERR EXEC without MULTI", "-ERR DISCARD without MULTI"}));
  // A nested MULTI and a WATCH inside MULTI are errors that do not abort the transaction.
  check(lines("MULTI\nMULTI\nWATCH k\nSET k v\nEXEC"),
        crlf({"+OK", "-ERR MULTI calls can not be nested", "-ERR WATCH inside MULTI is not allowed", "+QUEUED", "*1",
              "+OK"}));
}

TEST(RespMulti, DiscardDropsTheQueue) {
  check(lines("MULTI\nSET k v\nDISCARD\nGET k\nEXEC"),
        crlf({"+OK", "+QUEUED", "+OK", "$-1", "-ERR EXEC without MULTI"}));
}

TEST(RespMulti, ResetDiscardsAndQuitClosesAtOnce) {
  check(lines("MULTI\nSET k v\nRESET\nGET k\nEXEC"), crlf({"+OK", "+QUEUED", "+RESET", "$-1", "-ERR EXEC without MULTI"}));
  Conn c;
  EXPECT_EQ(c.run(lines("MULTI\nSET k v\nQUIT")), crlf({"+OK", "+QUEUED", "+OK"}));
  EXPECT_TRUE(c.s->closing());
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.h.feed(*other, "GET k\r\n"), crlf({"$-1"}));
}

TEST(RespMulti, Resp3Replies) {
  check_resp3(lines("MULTI\nSET k v\nGET nope\nEXEC"), crlf({"+OK", "+QUEUED", "+QUEUED", "*2", "+OK", "_"}));
  // A WATCH conflict: the null array, RESP3's null.
  Conn c;
  c.run("HELLO 3\r\n");
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nGET k")), crlf({"+OK", "+OK", "+QUEUED"}));
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.h.feed(*other, "SET k changed\r\n"), crlf({"+OK"}));
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"_"}));
}

TEST(RespMulti, WatchedKeyChangedByAnotherClientAbortsExec) {
  Conn c;
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.run(lines("SET k 1\nWATCH k\nMULTI\nINCR k")), crlf({"+OK", "+OK", "+OK", "+QUEUED"}));
  EXPECT_EQ(c.h.feed(*other, "SET k 1\r\n"), crlf({"+OK"}));  // the same value is still a change
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
  EXPECT_EQ(c.run("GET k\r\n"), crlf({"$1", "1"}));
  // The watch is gone with the failed EXEC.
  EXPECT_EQ(c.run(lines("MULTI\nINCR k\nEXEC")), crlf({"+OK", "+QUEUED", "*1", ":2"}));
}

TEST(RespMulti, WatchConflictsFromDeleteCreateAndFlush) {
  Conn c;
  auto other = make_resp_session(c.h.info());
  c.run("SET k 1\r\n");
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nGET k")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.feed(*other, "DEL k\r\n");
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
  // An absent key that appears.
  EXPECT_EQ(c.run(lines("WATCH fresh\nMULTI\nGET fresh")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.feed(*other, "SET fresh 1\r\n");
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
  // FLUSHALL.
  c.run("SET k 1\r\n");
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nGET k")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.feed(*other, "FLUSHALL\r\n");
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
  // A watched key nobody touched, and one absent before and after, do not abort.
  c.run("SET k 1\r\n");
  EXPECT_EQ(c.run(lines("WATCH k absent\nMULTI\nGET k\nEXEC")), crlf({"+OK", "+OK", "+QUEUED", "*1", "$1", "1"}));
}

// A change of TTL alone keeps the item's version; WATCH records the expiry too, so EXPIRE,
// PERSIST and GETEX with an expiry by another client abort EXEC, as in Redis.
TEST(RespMulti, WatchedKeyWhoseTtlChangesAbortsExec) {
  Conn c;
  auto other = make_resp_session(c.h.info());
  c.run("SET k 1\r\n");
  for (const char* change : {"EXPIRE k 100\r\n", "PERSIST k\r\n", "GETEX k PX 5000\r\n", "PEXPIRE k 900000\r\n"}) {
    EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nINCR k")), crlf({"+OK", "+OK", "+QUEUED"})) << change;
    c.h.feed(*other, change);
    EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"})) << change;
  }
  EXPECT_EQ(c.run("GET k\r\n"), crlf({"$1", "1"}));
  // GETEX without an option changes nothing: EXEC runs.
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nINCR k")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.feed(*other, "GETEX k\r\n");
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*1", ":2"}));
}

TEST(RespMulti, WatchedKeyThatExpiresAbortsExecOneExpiredBeforeDoesNot) {
  Conn c;
  const std::uint64_t now = c.h.store().now_ms();
  c.h.ctx().set_now(now);
  EXPECT_EQ(c.run(lines("SET k v PX 100\nSET gone v PX 10")), crlf({"+OK", "+OK"}));
  c.h.ctx().set_now(now + 50);  // gone has expired, k has not
  EXPECT_EQ(c.run(lines("WATCH k gone\nMULTI\nGET gone")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.ctx().set_now(now + 200);  // k expires while watched
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
  EXPECT_EQ(c.run(lines("WATCH gone\nMULTI\nGET gone\nEXEC")), crlf({"+OK", "+OK", "+QUEUED", "*1", "$-1"}));
}

TEST(RespMulti, UnwatchAndExecAndDiscardForgetWatches) {
  Conn c;
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.run(lines("WATCH k\nUNWATCH")), crlf({"+OK", "+OK"}));
  c.h.feed(*other, "SET k 1\r\n");
  EXPECT_EQ(c.run(lines("MULTI\nGET k\nEXEC")), crlf({"+OK", "+QUEUED", "*1", "$1", "1"}));
  // EXEC forgot the watch.
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nEXEC")), crlf({"+OK", "+OK", "*0"}));
  c.h.feed(*other, "SET k 2\r\n");
  EXPECT_EQ(c.run(lines("MULTI\nGET k\nEXEC")), crlf({"+OK", "+QUEUED", "*1", "$1", "2"}));
  // DISCARD too.
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nDISCARD")), crlf({"+OK", "+OK", "+OK"}));
  c.h.feed(*other, "SET k 3\r\n");
  EXPECT_EQ(c.run(lines("MULTI\nGET k\nEXEC")), crlf({"+OK", "+QUEUED", "*1", "$1", "3"}));
  // UNWATCH inside MULTI is queued (and the watches are checked before it runs).
  EXPECT_EQ(c.run(lines("WATCH k\nMULTI\nUNWATCH")), crlf({"+OK", "+OK", "+QUEUED"}));
  c.h.feed(*other, "SET k 4\r\n");
  EXPECT_EQ(c.run("EXEC\r\n"), crlf({"*-1"}));
}

TEST(RespMulti, ClientInfoShowsTheTransaction) {
  Conn c;
  const std::string idle = c.run("CLIENT INFO\r\n");
  EXPECT_NE(idle.find(" flags=N "), std::string::npos) << idle;
  EXPECT_NE(idle.find(" multi=-1 "), std::string::npos) << idle;
  c.run(lines("MULTI\nSET k v\nGET k"));
  const std::string in = c.run("CLIENT INFO\r\n");  // queued, answered at EXEC
  EXPECT_EQ(in, crlf({"+QUEUED"}));
  const std::string reply = c.run("EXEC\r\n");
  EXPECT_NE(reply.find(" flags=x "), std::string::npos) << reply;
  EXPECT_NE(reply.find(" multi=3 "), std::string::npos) << reply;
}

TEST(RespMulti, QueueIsBounded) {
  Conn c;
  std::string in = "MULTI\r\n";
  for (int i = 0; i < 100000; ++i) in += "PING\r\n";
  in += "PING\r\nEXEC\r\nPING\r\n";
  const std::string out = c.run(in);
  const std::string tail = crlf({"-ERR MULTI queue is full (at most 100000 commands and 64 MiB of arguments)",
                                 "-EXECABORT Transaction discarded because of previous errors.", "+PONG"});
  ASSERT_GE(out.size(), tail.size());
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
}

TEST(RespMulti, ExecReplyIsBounded) {
  // 70 GETs of a 1 MiB value: over EXEC's 64 MiB of replies. Every command still runs (the INCR
  // after them), the replies are dropped, and the connection gets an error and closes.
  Conn c;
  const std::string big(std::size_t{1} << 20, 'v');
  c.run(mb({"SET", "big", big}));
  std::string in = "MULTI\r\n";
  for (int i = 0; i < 70; ++i) in += "GET big\r\n";
  in += "INCR n\r\nEXEC\r\n";
  const std::string out = c.run(in);
  const std::string tail =
      crlf({"-ERR EXEC reply too large (over 64 MiB): the transaction ran, its replies were dropped; closing"});
  ASSERT_GE(out.size(), tail.size());
  EXPECT_LT(out.size(), std::size_t{1} << 20);
  EXPECT_EQ(out.substr(out.size() - tail.size()), tail);
  EXPECT_TRUE(c.s->closing());
  auto other = make_resp_session(c.h.info());
  EXPECT_EQ(c.h.feed(*other, "GET n\r\n"), crlf({"$1", "1"}));
}

TEST(RespMulti, CommandTableEntries) {
  check(lines("COMMAND INFO multi exec"),
        crlf({"*2", "*10", "$5", "multi", ":1", "*5", "+noscript", "+loading", "+stale", "+fast", "+allow_busy", ":0",
              ":0", ":0", "*2", "+@fast", "+@transaction", "*0", "*0", "*0", "*10", "$4", "exec", ":1", "*4",
              "+noscript", "+loading", "+stale", "+skip_slowlog", ":0", ":0", ":0", "*2", "+@slow", "+@transaction",
              "*0", "*0", "*0"}));
  const std::string watch = Conn().run("COMMAND INFO watch\r\n");
  EXPECT_NE(watch.find("$5\r\nwatch\r\n:-2\r\n"), std::string::npos) << watch;
  EXPECT_NE(watch.find(":1\r\n:-1\r\n:1\r\n"), std::string::npos) << watch;  // first, last key, step
}

}  // namespace
}  // namespace ferrite::engine::resp_test
