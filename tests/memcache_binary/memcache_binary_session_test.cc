// The binary-protocol session, request by request, as memcached 1.6 answers (and memccapable
// checks): every opcode and its quiet form, CAS, incr/decr creation rules, framing errors, large
// values, pipelines and input split at every byte.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/memcache_binary/session.h"
#include "engine_test_util.h"
#include "hash_test_util.h"
#include "memcache_binary/memcache_binary_test_util.h"

namespace ferrite::testing::mcb {
namespace {

using engine::testing::SessionHarness;

class MemcacheBinarySession : public ::testing::Test {
 protected:
  std::vector<Response> run(std::string_view in, std::size_t chunk = 0) {
    return parse(h_.feed(*s_, in, chunk));
  }
  Response one(std::string_view in) {
    auto r = run(in);
    EXPECT_EQ(r.size(), 1u);
    return r.empty() ? Response{} : r[0];
  }
  // An error reply as memccapable checks it: no extras, no key, CAS 0, memcached's message.
  static void expect_error(const Response& r, Opcode o, Status s) {
    EXPECT_EQ(r.opcode, op(o));
    EXPECT_EQ(r.status, s);
    EXPECT_EQ(r.cas, 0u);
    EXPECT_TRUE(r.extras.empty());
    EXPECT_TRUE(r.key.empty());
    EXPECT_EQ(r.value, mb::status_message(s));
    EXPECT_EQ(r.opaque, 0xdeadbeefu);
  }
  static void expect_ok(const Response& r, Opcode o) {
    EXPECT_EQ(r.opcode, op(o));
    EXPECT_EQ(r.status, Status::kSuccess);
    EXPECT_TRUE(r.extras.empty());
    EXPECT_TRUE(r.key.empty());
    EXPECT_TRUE(r.value.empty());
    EXPECT_EQ(r.opaque, 0xdeadbeefu);
  }
  std::int64_t requests(engine::Op o) {
    return h_.stats()
        .requests[static_cast<std::size_t>(engine::Proto::kMemcacheBinary)][static_cast<std::size_t>(o)]
        .get();
  }

  SessionHarness h_;
  std::unique_ptr<engine::Session> s_ = engine::make_memcache_binary_session(h_.info());
};

TEST_F(MemcacheBinarySession, NoopAndVersion) {
  const auto r = run(noop() + request(Opcode::kVersion, {}, {}, {}));
  ASSERT_EQ(r.size(), 2u);
  expect_ok(r[0], Opcode::kNoop);
  EXPECT_EQ(r[0].cas, 0u);
  EXPECT_EQ(r[1].status, Status::kSuccess);
  EXPECT_EQ(r[1].value, h_.shared().settings.memcache_version);
  EXPECT_EQ(r[1].cas, 0u);
  EXPECT_EQ(s_->proto(), engine::Proto::kMemcacheBinary);
}

TEST_F(MemcacheBinarySession, SetThenGetReturnsFlagsValueAndCas) {
  const Response set = one(mb_set("k", "value", 0xcafef00d));
  expect_ok(set, Opcode::kSet);
  EXPECT_NE(set.cas, 0u);
  const Response got = one(get("k"));
  EXPECT_EQ(got.status, Status::kSuccess);
  EXPECT_EQ(got.flags(), 0xcafef00du);
  EXPECT_TRUE(got.key.empty());
  EXPECT_EQ(got.value, "value");
  EXPECT_EQ(got.cas, set.cas);
  const Response getk = one(get("k", Opcode::kGetK));
  EXPECT_EQ(getk.key, "k");
  EXPECT_EQ(getk.value, "value");
  EXPECT_EQ(getk.flags(), 0xcafef00du);
  EXPECT_EQ(one(mb_set("empty", "")).status, Status::kSuccess);
  EXPECT_EQ(one(get("empty")).value, "");
}

TEST_F(MemcacheBinarySession, GetMissSaysNotFoundAndGetkEchoesTheKey) {
  expect_error(one(get("nope")), Opcode::kGet, Status::kKeyNotFound);
  const Response k = one(get("nope", Opcode::kGetK));
  EXPECT_EQ(k.status, Status::kKeyNotFound);
  EXPECT_EQ(k.key, "nope");
  EXPECT_TRUE(k.value.empty());
  EXPECT_TRUE(k.extras.empty());
  EXPECT_EQ(k.cas, 0u);
}

TEST_F(MemcacheBinarySession, QuietGetsSuppressOnlyMisses) {
  run(mb_set("hit", "v"));
  const auto r = run(get("miss", Opcode::kGetQ) + get("miss", Opcode::kGetKQ) + get("hit", Opcode::kGetQ) +
                     get("hit", Opcode::kGetKQ) + noop());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].opcode, op(Opcode::kGetQ));
  EXPECT_EQ(r[0].value, "v");
  EXPECT_TRUE(r[0].key.empty());
  EXPECT_EQ(r[1].opcode, op(Opcode::kGetKQ));
  EXPECT_EQ(r[1].key, "hit");
  EXPECT_EQ(r[2].opcode, op(Opcode::kNoop));
}

TEST_F(MemcacheBinarySession, QuietMutationsSuppressSuccessButNotErrors) {
  const auto r = run(mb_set("a", "1", 0, 0, 0, Opcode::kSetQ) + mb_set("a", "1", 0, 0, 0, Opcode::kAddQ) +
                     mb_set("b", "1", 0, 0, 0, Opcode::kReplaceQ) + request(Opcode::kAppendQ, {}, "b", "x") +
                     request(Opcode::kPrependQ, {}, "a", "0") + request(Opcode::kDeleteQ, {}, "b", {}) +
                     arith(Opcode::kIncrementQ, "a", 5, 0, 0) + arith(Opcode::kDecrementQ, "a", 1, 0, 0) +
                     request(Opcode::kDeleteQ, {}, "a", {}) + request(Opcode::kFlushQ, {}, {}, {}) + noop());
  ASSERT_EQ(r.size(), 5u);
  expect_error(r[0], Opcode::kAddQ, Status::kKeyExists);
  expect_error(r[1], Opcode::kReplaceQ, Status::kKeyNotFound);
  expect_error(r[2], Opcode::kAppendQ, Status::kItemNotStored);
  expect_error(r[3], Opcode::kDeleteQ, Status::kKeyNotFound);
  expect_ok(r[4], Opcode::kNoop);
  EXPECT_EQ(one(get("a")).status, Status::kKeyNotFound);  // "01" +5 -1, then deleted
}

TEST_F(MemcacheBinarySession, AddAndReplaceFollowMemcachedsStatuses) {
  const Response add = one(mb_set("k", "1", 0, 0, 0, Opcode::kAdd));
  expect_ok(add, Opcode::kAdd);
  EXPECT_NE(add.cas, 0u);
  expect_error(one(mb_set("k", "2", 0, 0, 0, Opcode::kAdd)), Opcode::kAdd, Status::kKeyExists);
  expect_error(one(mb_set("other", "2", 0, 0, 0, Opcode::kReplace)), Opcode::kReplace, Status::kKeyNotFound);
  const Response rep = one(mb_set("k", "3", 7, 0, 0, Opcode::kReplace));
  expect_ok(rep, Opcode::kReplace);
  EXPECT_NE(rep.cas, add.cas);
  const Response got = one(get("k"));
  EXPECT_EQ(got.value, "3");
  EXPECT_EQ(got.flags(), 7u);
}

TEST_F(MemcacheBinarySession, StoreWithCasIsCompareAndSwap) {
  const std::uint64_t cas = one(mb_set("k", "v1")).cas;
  expect_error(one(mb_set("k", "bad", 0, 0, cas + 1)), Opcode::kSet, Status::kKeyExists);
  const Response swapped = one(mb_set("k", "v2", 0, 0, cas));
  expect_ok(swapped, Opcode::kSet);
  EXPECT_NE(swapped.cas, cas);
  expect_error(one(mb_set("k", "v3", 0, 0, cas)), Opcode::kSet, Status::kKeyExists);  // stale now
  expect_error(one(mb_set("missing", "v", 0, 0, 99)), Opcode::kSet, Status::kKeyNotFound);
  // replace and add with a CAS are compare-and-swaps too (memcached's NREAD_CAS)
  expect_ok(one(mb_set("k", "v4", 0, 0, swapped.cas, Opcode::kReplace)), Opcode::kReplace);
  expect_error(one(mb_set("k", "v5", 0, 0, swapped.cas, Opcode::kReplaceQ)), Opcode::kReplaceQ,
               Status::kKeyExists);
  EXPECT_EQ(one(get("k")).value, "v4");
  // quiet: success silent, a stale CAS answered
  const auto r = run(mb_set("k", "v6", 0, 0, one(get("k")).cas, Opcode::kSetQ) +
                     mb_set("k", "v7", 0, 0, 1, Opcode::kSetQ) + noop());
  ASSERT_EQ(r.size(), 2u);
  expect_error(r[0], Opcode::kSetQ, Status::kKeyExists);
  EXPECT_EQ(one(get("k")).value, "v6");
}

TEST_F(MemcacheBinarySession, AppendAndPrepend) {
  run(mb_set("k", "hello", 42));
  const Response a = one(request(Opcode::kAppend, {}, "k", " world"));
  expect_ok(a, Opcode::kAppend);
  EXPECT_NE(a.cas, 0u);
  expect_ok(one(request(Opcode::kPrepend, {}, "k", ">> ")), Opcode::kPrepend);
  const Response got = one(get("k"));
  EXPECT_EQ(got.value, ">> hello world");
  EXPECT_EQ(got.flags(), 42u);  // kept
  expect_error(one(request(Opcode::kAppend, {}, "missing", "x")), Opcode::kAppend, Status::kItemNotStored);
  expect_error(one(request(Opcode::kPrepend, {}, "missing", "x")), Opcode::kPrepend, Status::kItemNotStored);
  // with a CAS
  expect_error(one(request(Opcode::kAppend, {}, "k", "!", 0xdeadbeef, got.cas + 1)), Opcode::kAppend,
               Status::kKeyExists);
  expect_ok(one(request(Opcode::kAppend, {}, "k", "!", 0xdeadbeef, got.cas)), Opcode::kAppend);
  EXPECT_EQ(one(get("k")).value, ">> hello world!");
}

TEST_F(MemcacheBinarySession, DeleteHonoursCasAndRepliesWithCasZero) {
  const std::uint64_t cas = one(mb_set("k", "v")).cas;
  expect_error(one(request(Opcode::kDelete, {}, "k", {}, 0xdeadbeef, cas + 1)), Opcode::kDelete,
               Status::kKeyExists);
  const Response del = one(request(Opcode::kDelete, {}, "k", {}, 0xdeadbeef, cas));
  expect_ok(del, Opcode::kDelete);
  EXPECT_EQ(del.cas, 0u);
  expect_error(one(request(Opcode::kDelete, {}, "k", {})), Opcode::kDelete, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, IncrementCreatesWithTheInitialValueThenCounts) {
  // memccapable: incr by 1 from initial 0 answers 0, 1, 2, ...
  for (std::uint64_t i = 0; i < 10; ++i) {
    const Response r = one(arith(Opcode::kIncrement, "c", 1, 0, 0));
    EXPECT_EQ(r.status, Status::kSuccess);
    EXPECT_TRUE(r.extras.empty());
    EXPECT_EQ(r.counter(), i);
    EXPECT_NE(r.cas, 0u);
  }
  EXPECT_EQ(one(get("c")).value, "9");
  // decr from initial 9 by 1: 9, 8, ..., 0, and stays at 0
  for (int i = 9; i >= 0; --i)
    EXPECT_EQ(one(arith(Opcode::kDecrement, "d", 1, 9, 0)).counter(), std::uint64_t(i));
  EXPECT_EQ(one(arith(Opcode::kDecrement, "d", 1, 9, 0)).counter(), 0u);
  EXPECT_EQ(one(arith(Opcode::kDecrement, "d", 100, 9, 0)).counter(), 0u);
  // incr wraps at 2^64
  run(mb_set("w", "18446744073709551615"));
  EXPECT_EQ(one(arith(Opcode::kIncrement, "w", 2, 0, 0)).counter(), 1u);
}

TEST_F(MemcacheBinarySession, IncrementNoCreateExpirationAnswersNotFound) {
  expect_error(one(arith(Opcode::kIncrement, "c", 1, 5, mb::kNoCreate)), Opcode::kIncrement,
               Status::kKeyNotFound);
  expect_error(one(arith(Opcode::kDecrementQ, "c", 1, 5, mb::kNoCreate)), Opcode::kDecrementQ,
               Status::kKeyNotFound);
  expect_error(one(get("c")), Opcode::kGet, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, IncrementCreatedWithExpirationExpires) {
  EXPECT_EQ(one(arith(Opcode::kIncrement, "c", 1, 7, 2)).counter(), 7u);
  h_.advance_ms(1000);
  EXPECT_EQ(one(arith(Opcode::kIncrement, "c", 1, 7, 2)).counter(), 8u);  // expiry kept
  h_.advance_ms(1500);
  EXPECT_EQ(one(get("c")).status, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, IncrementOfNonNumericValue) {
  run(mb_set("t", "text"));
  expect_error(one(arith(Opcode::kIncrement, "t", 1, 0, 0)), Opcode::kIncrement, Status::kNonNumeric);
  expect_error(one(arith(Opcode::kDecrementQ, "t", 1, 0, 0)), Opcode::kDecrementQ, Status::kNonNumeric);
  run(mb_set("big", "99999999999999999999999"));
  expect_error(one(arith(Opcode::kIncrement, "big", 1, 0, 0)), Opcode::kIncrement, Status::kNonNumeric);
}

TEST_F(MemcacheBinarySession, IncrementWithCas) {
  const std::uint64_t cas = one(mb_set("c", "10", 5)).cas;
  expect_error(one(arith(Opcode::kIncrement, "c", 1, 0, 0, cas + 1)), Opcode::kIncrement, Status::kKeyExists);
  const Response r = one(arith(Opcode::kIncrement, "c", 3, 0, 0, cas));
  EXPECT_EQ(r.status, Status::kSuccess);
  EXPECT_EQ(r.counter(), 13u);
  EXPECT_NE(r.cas, cas);
  const Response d = one(arith(Opcode::kDecrement, "c", 20, 0, 0, r.cas));
  EXPECT_EQ(d.counter(), 0u);
  const Response got = one(get("c"));
  EXPECT_EQ(got.value, "0");
  EXPECT_EQ(got.flags(), 5u);
  EXPECT_EQ(got.cas, d.cas);
  run(mb_set("t", "x"));
  expect_error(one(arith(Opcode::kIncrement, "t", 1, 0, 0, one(get("t")).cas)), Opcode::kIncrement,
               Status::kNonNumeric);
  // a missing key is created from the initial value, as without a CAS
  EXPECT_EQ(one(arith(Opcode::kIncrement, "new", 1, 4, 0, 77)).counter(), 4u);
}

TEST_F(MemcacheBinarySession, TouchSetsTheExpiration) {
  const std::uint64_t cas = one(mb_set("k", "v", 9)).cas;
  const Response t = one(request(Opcode::kTouch, be32(1), "k", {}));
  EXPECT_EQ(t.status, Status::kSuccess);
  EXPECT_EQ(t.flags(), 9u);  // memcached sends the flags as extras
  EXPECT_TRUE(t.value.empty());
  EXPECT_EQ(t.cas, cas);
  expect_error(one(request(Opcode::kTouch, be32(1), "missing", {})), Opcode::kTouch, Status::kKeyNotFound);
  h_.advance_ms(1100);
  EXPECT_EQ(one(get("k")).status, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, GetAndTouch) {
  run(mb_set("k", "v", 3, 100));
  const Response g = one(request(Opcode::kGat, be32(1), "k", {}));
  EXPECT_EQ(g.status, Status::kSuccess);
  EXPECT_EQ(g.value, "v");
  EXPECT_EQ(g.flags(), 3u);
  EXPECT_TRUE(g.key.empty());
  const Response gk = one(request(Opcode::kGatK, be32(1), "k", {}));
  EXPECT_EQ(gk.key, "k");
  EXPECT_EQ(gk.value, "v");
  expect_error(one(request(Opcode::kGat, be32(1), "missing", {})), Opcode::kGat, Status::kKeyNotFound);
  const Response gkm = one(request(Opcode::kGatK, be32(1), "missing", {}));
  EXPECT_EQ(gkm.status, Status::kKeyNotFound);
  EXPECT_EQ(gkm.key, "missing");
  EXPECT_TRUE(gkm.value.empty());
  const auto quiet =
      run(request(Opcode::kGatQ, be32(0), "missing", {}) + request(Opcode::kGatKQ, be32(0), "missing", {}) +
          request(Opcode::kGatQ, be32(1), "k", {}) + noop());
  ASSERT_EQ(quiet.size(), 2u);
  EXPECT_EQ(quiet[0].opcode, op(Opcode::kGatQ));
  EXPECT_EQ(quiet[0].value, "v");
  h_.advance_ms(1100);
  EXPECT_EQ(one(get("k")).status, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, ExpirationIsRelativeSeconds) {
  run(mb_set("k", "v", 0, 2));
  h_.advance_ms(1500);
  EXPECT_EQ(one(get("k")).status, Status::kSuccess);
  h_.advance_ms(600);
  EXPECT_EQ(one(get("k")).status, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, FlushNowAndLater) {
  run(mb_set("a", "1") + mb_set("b", "2"));
  expect_ok(one(request(Opcode::kFlush, {}, {}, {})), Opcode::kFlush);
  expect_error(one(get("a")), Opcode::kGet, Status::kKeyNotFound);
  // memccapable sends a zero expiration extra too
  run(mb_set("a", "1"));
  expect_ok(one(request(Opcode::kFlush, be32(0), {}, {})), Opcode::kFlush);
  expect_error(one(get("a")), Opcode::kGet, Status::kKeyNotFound);
  run(mb_set("a", "1"));
  EXPECT_TRUE(run(request(Opcode::kFlushQ, {}, {}, {})).empty());
  expect_error(one(get("a")), Opcode::kGet, Status::kKeyNotFound);
  // delayed by 2 s
  run(mb_set("b", "2"));
  expect_ok(one(request(Opcode::kFlush, be32(2), {}, {})), Opcode::kFlush);
  EXPECT_EQ(one(get("b")).status, Status::kSuccess);
  h_.advance_ms(2100);
  EXPECT_EQ(one(get("b")).status, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, StatSendsOnePacketPerStatisticAndATerminator) {
  run(mb_set("a", "1") + mb_set("b", "2") + get("a") + get("zz"));
  const auto r = run(request(Opcode::kStat, {}, {}, {}));
  ASSERT_GT(r.size(), 20u);
  std::map<std::string, std::string> stats;
  for (std::size_t i = 0; i + 1 < r.size(); ++i) {
    EXPECT_EQ(r[i].status, Status::kSuccess);
    EXPECT_EQ(r[i].cas, 0u);
    EXPECT_TRUE(r[i].extras.empty());
    EXPECT_FALSE(r[i].key.empty());
    stats[r[i].key] = r[i].value;
  }
  EXPECT_TRUE(r.back().key.empty());
  EXPECT_TRUE(r.back().value.empty());
  EXPECT_EQ(r.back().opcode, op(Opcode::kStat));
  EXPECT_EQ(stats["curr_items"], "2");
  EXPECT_EQ(stats["get_hits"], "1");
  EXPECT_EQ(stats["get_misses"], "1");
  EXPECT_EQ(stats["cmd_get"], "2");
  EXPECT_EQ(stats["cmd_set"], "2");
  EXPECT_EQ(r[0].key, "pid");
  const auto settings = run(request(Opcode::kStat, {}, "settings", {}));
  bool found = false;
  for (const auto& s : settings) found |= s.key == "item_size_max" && s.value == "1048576";
  EXPECT_TRUE(found);
  EXPECT_TRUE(settings.back().key.empty());
  expect_error(one(request(Opcode::kStat, {}, "bogus", {})), Opcode::kStat, Status::kKeyNotFound);
}

TEST_F(MemcacheBinarySession, QuitRepliesThenCloses) {
  const auto r = run(request(Opcode::kQuit, {}, {}, {}) + noop());
  ASSERT_EQ(r.size(), 1u);
  expect_ok(r[0], Opcode::kQuit);
  EXPECT_TRUE(s_->closing());
}

TEST_F(MemcacheBinarySession, QuitqClosesSilently) {
  EXPECT_TRUE(run(request(Opcode::kQuitQ, {}, {}, {}) + noop()).empty());
  EXPECT_TRUE(s_->closing());
}

TEST_F(MemcacheBinarySession, VerbositySetsTheLevel) {
  expect_ok(one(request(Opcode::kVerbosity, be32(2), {}, {})), Opcode::kVerbosity);
  EXPECT_EQ(h_.shared().settings.verbosity.load(), 2);
  expect_ok(one(request(Opcode::kVerbosity, be32(0), {}, {})), Opcode::kVerbosity);
  EXPECT_EQ(h_.shared().settings.verbosity.load(), 0);
}

TEST_F(MemcacheBinarySession, BadMagicClosesWithoutAReply) {
  std::string in = noop();
  in[0] = static_cast<char>(0x81);
  EXPECT_TRUE(run(in + noop()).empty());
  EXPECT_TRUE(s_->closing());
  EXPECT_EQ(h_.stats().protocol_errors[static_cast<std::size_t>(engine::Proto::kMemcacheBinary)].get(), 1);
}

TEST_F(MemcacheBinarySession, TextAfterBinaryClosesTheConnection) {
  EXPECT_EQ(run(noop() + "get k\r\n" + std::string(20, ' ')).size(), 1u);
  EXPECT_TRUE(s_->closing());
}

TEST_F(MemcacheBinarySession, UnknownOpcodeIsAnsweredAndItsBodySkipped) {
  std::string body(1000, 'x');
  body[0] = static_cast<char>(0x80);  // looks like a header: must be skipped, not parsed
  const std::string in = request(static_cast<Opcode>(0x21), {}, "PLAIN", body) + noop();
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    SessionHarness h;
    auto s = engine::make_memcache_binary_session(h.info());
    const auto r = parse(h.feed(*s, in, chunk));
    ASSERT_EQ(r.size(), 2u) << chunk;
    EXPECT_EQ(r[0].opcode, 0x21);
    EXPECT_EQ(r[0].status, Status::kUnknownCommand);
    EXPECT_EQ(r[0].value, "Unknown command");
    expect_ok(r[1], Opcode::kNoop);
    EXPECT_FALSE(s->closing());
  }
}

TEST_F(MemcacheBinarySession, KeyAndExtrasLongerThanBodyCloses) {
  std::string in = get("key");
  in[11] = 2;  // body length 2 < key length 3
  const auto r = run(in + noop());
  ASSERT_EQ(r.size(), 1u);
  expect_error(r[0], Opcode::kGet, Status::kUnknownCommand);
  EXPECT_TRUE(s_->closing());
}

TEST_F(MemcacheBinarySession, LayoutTheOpcodeDoesNotAllowCloses) {
  const auto r = run(request(Opcode::kGet, be32(0), "k", {}) + noop());
  ASSERT_EQ(r.size(), 1u);
  expect_error(r[0], Opcode::kGet, Status::kInvalidArguments);
  EXPECT_TRUE(s_->closing());
}

TEST_F(MemcacheBinarySession, KeyOverTheLimitCloses) {
  const auto r = run(get(std::string(251, 'k')) + noop());
  ASSERT_EQ(r.size(), 1u);
  expect_error(r[0], Opcode::kGet, Status::kInvalidArguments);
  EXPECT_TRUE(s_->closing());
  SessionHarness h;
  auto s = engine::make_memcache_binary_session(h.info());
  EXPECT_EQ(parse(h.feed(*s, mb_set(std::string(250, 'k'), "v"))).at(0).status, Status::kSuccess);
}

TEST_F(MemcacheBinarySession, ValueOverTheItemLimitIsRefusedAndSkipped) {
  run(mb_set("k", "old") + mb_set("a", "old"));
  const std::string big(std::size_t{1} << 20 | 1, 'v');
  // fed in 64 KiB pieces: the value is skipped as it arrives, never buffered whole
  const auto r = run(mb_set("k", big) + mb_set("a", big, 0, 0, 0, Opcode::kAddQ) +
                         request(Opcode::kAppend, {}, "a", big) + noop(),
                     64 << 10);
  ASSERT_EQ(r.size(), 4u);
  expect_error(r[0], Opcode::kSet, Status::kValueTooLarge);
  expect_error(r[1], Opcode::kAddQ, Status::kValueTooLarge);
  expect_error(r[2], Opcode::kAppend, Status::kValueTooLarge);
  expect_ok(r[3], Opcode::kNoop);
  EXPECT_LT(h_.pending().size(), std::size_t{64} << 10);
  EXPECT_FALSE(s_->closing());
  // a failed set removes the old value (memcached, against stale reads); add does not
  expect_error(one(get("k")), Opcode::kGet, Status::kKeyNotFound);
  EXPECT_EQ(one(get("a")).value, "old");
}

TEST_F(MemcacheBinarySession, SetTheStoreRefusesRemovesTheOldValue) {
  const std::uint64_t cas = one(mb_set("c", "old")).cas;
  run(mb_set("k", "old") + mb_set("q", "old") + mb_set("a", "old") + mb_set("r", "old"));
  h_.store_refuses_over(1000);
  const std::string big(2000, 'v');
  const auto r = run(mb_set("k", big) + mb_set("q", big, 0, 0, 0, Opcode::kSetQ) + mb_set("c", big, 0, 0, cas) +
                     mb_set("a", big, 0, 0, 0, Opcode::kAdd) + mb_set("r", big, 0, 0, 0, Opcode::kReplace) + noop());
  ASSERT_EQ(r.size(), 6u);
  expect_error(r[0], Opcode::kSet, Status::kValueTooLarge);
  expect_error(r[1], Opcode::kSetQ, Status::kValueTooLarge);
  expect_error(r[2], Opcode::kSet, Status::kValueTooLarge);
  expect_error(r[3], Opcode::kAdd, Status::kValueTooLarge);
  expect_error(r[4], Opcode::kReplace, Status::kValueTooLarge);
  // SET and SETQ, with a CAS too, remove the old value (memcached checks the opcode); add and
  // replace keep it
  expect_error(one(get("k")), Opcode::kGet, Status::kKeyNotFound);
  expect_error(one(get("q")), Opcode::kGet, Status::kKeyNotFound);
  expect_error(one(get("c")), Opcode::kGet, Status::kKeyNotFound);
  EXPECT_EQ(one(get("a")).value, "old");
  EXPECT_EQ(one(get("r")).value, "old");
}

TEST_F(MemcacheBinarySession, ValueAtTheItemLimitIsStored) {
  const std::string big(std::size_t{1} << 20, 'v');
  const auto r = run(mb_set("k", big) + get("k"), 100000);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, Status::kSuccess);
  EXPECT_EQ(r[1].value.size(), big.size());
}

TEST_F(MemcacheBinarySession, PipelineOfManyRequestsInOneFeed) {
  std::string in;
  for (int i = 0; i < 500; ++i)
    in += mb_set("key" + std::to_string(i), "value" + std::to_string(i), 0, 0, 0, Opcode::kSetQ);
  for (int i = 0; i < 500; ++i) in += get("key" + std::to_string(i), Opcode::kGetKQ);
  in += get("absent", Opcode::kGetKQ) + noop();
  const auto r = run(in);
  ASSERT_EQ(r.size(), 501u);
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(r[i].key, "key" + std::to_string(i));
    EXPECT_EQ(r[i].value, "value" + std::to_string(i));
  }
  EXPECT_EQ(r[500].opcode, op(Opcode::kNoop));
  EXPECT_EQ(requests(engine::Op::k_set), 500);
  EXPECT_EQ(requests(engine::Op::k_get), 501);
  EXPECT_EQ(requests(engine::Op::k_noop), 1);
}

// Every opcode at once, byte by byte and whole: the same replies.
TEST_F(MemcacheBinarySession, InputSplitAtEveryByteGivesTheSameReplies) {
  std::string script =
      mb_set("a", "1", 5, 0) + mb_set("b", "hello", 0, 0, 0, Opcode::kSetQ) +
      mb_set("a", "x", 0, 0, 0, Opcode::kAdd) + mb_set("c", "x", 0, 0, 0, Opcode::kReplaceQ) +
      request(Opcode::kAppend, {}, "b", " world") + request(Opcode::kPrependQ, {}, "b", ">") + get("a") +
      get("b", Opcode::kGetK) + get("zz", Opcode::kGetQ) + get("zz", Opcode::kGetKQ) +
      arith(Opcode::kIncrement, "n", 2, 10, 0) + arith(Opcode::kIncrementQ, "n", 2, 10, 0) +
      arith(Opcode::kDecrement, "n", 1, 0, 0) + request(Opcode::kTouch, be32(100), "a", {}) +
      request(Opcode::kGatK, be32(100), "b", {}) + request(Opcode::kDelete, {}, "a", {}) +
      request(Opcode::kDeleteQ, {}, "a", {}) + request(static_cast<Opcode>(0x42), {}, "k", "vv") +
      request(Opcode::kVersion, {}, {}, {}) + request(Opcode::kStat, {}, "sizes", {}) +
      request(Opcode::kFlushQ, {}, {}, {}) + get("b") + noop() + request(Opcode::kQuit, {}, {}, {});
  SessionHarness whole;
  auto ws = engine::make_memcache_binary_session(whole.info());
  const std::string expect = whole.feed(*ws, script);
  const auto r = parse(expect);
  const std::vector<std::pair<Opcode, Status>> want = {
      {Opcode::kSet, Status::kSuccess},          {Opcode::kAdd, Status::kKeyExists},
      {Opcode::kReplaceQ, Status::kKeyNotFound}, {Opcode::kAppend, Status::kSuccess},
      {Opcode::kGet, Status::kSuccess},          {Opcode::kGetK, Status::kSuccess},
      {Opcode::kIncrement, Status::kSuccess},    {Opcode::kDecrement, Status::kSuccess},
      {Opcode::kTouch, Status::kSuccess},        {Opcode::kGatK, Status::kSuccess},
      {Opcode::kDelete, Status::kSuccess},       {Opcode::kDeleteQ, Status::kKeyNotFound},
      {Opcode(0x42), Status::kUnknownCommand},   {Opcode::kVersion, Status::kSuccess},
      {Opcode::kStat, Status::kSuccess},         {Opcode::kStat, Status::kSuccess},
      {Opcode::kGet, Status::kKeyNotFound},      {Opcode::kNoop, Status::kSuccess},
      {Opcode::kQuit, Status::kSuccess},
  };
  ASSERT_EQ(r.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(r[i].opcode, op(want[i].first)) << i;
    EXPECT_EQ(r[i].status, want[i].second) << i;
  }
  EXPECT_EQ(r[5].value, ">hello world");
  EXPECT_EQ(r[6].counter(), 10u);
  EXPECT_EQ(r[7].counter(), 11u);
  EXPECT_TRUE(ws->closing());
  const std::string split = h_.feed(*s_, script, 1);
  EXPECT_EQ(split, expect);
  EXPECT_TRUE(s_->closing());
  EXPECT_TRUE(h_.pending().empty());
}

TEST_F(MemcacheBinarySession, StopsEarlyWhenTheReplyIsOverTheCap) {
  h_.shared().settings.max_reply_bytes = 200;
  run(mb_set("k", std::string(100, 'v')));
  std::string in;
  for (int i = 0; i < 10; ++i) in += get("k");
  Buffer out;
  const std::size_t n = s_->feed(in, out, h_.exec());
  EXPECT_LT(n, in.size());
  EXPECT_GE(out.size(), 200u);
  EXPECT_EQ(n % get("k").size(), 0u);
  // the harness calls again as the worker does: every reply arrives
  EXPECT_EQ(run(in).size(), 10u);
}

TEST_F(MemcacheBinarySession, CountsRequestsHitsAndMisses) {
  run(mb_set("k", "v") + get("k") + get("x", Opcode::kGetQ) + request(Opcode::kGat, be32(0), "k", {}) +
      request(static_cast<Opcode>(0x99), {}, {}, {}) + noop());
  const auto p = static_cast<std::size_t>(engine::Proto::kMemcacheBinary);
  EXPECT_EQ(requests(engine::Op::k_set), 1);
  EXPECT_EQ(requests(engine::Op::k_get), 2);
  EXPECT_EQ(requests(engine::Op::k_gat), 1);
  EXPECT_EQ(requests(engine::Op::k_noop), 1);
  EXPECT_EQ(requests(engine::Op::k_error), 1);
  EXPECT_EQ(h_.stats().hits[p].get(), 2);
  EXPECT_EQ(h_.stats().misses[p].get(), 1);
}

TEST_F(MemcacheBinarySession, AHashKeyIsNotSupportedNeverItsEncoding) {
  ferrite::testing::put_hash(h_.ctx(), "h", {{"f", "v"}});
  for (const Opcode o : {Opcode::kGet, Opcode::kGetK, Opcode::kGetQ, Opcode::kGetKQ}) {
    expect_error(one(get("h", o)), o, Status::kNotSupported);  // sent even when quiet
  }
  expect_error(one(request(Opcode::kGat, be32(100), "h", {})), Opcode::kGat, Status::kNotSupported);
  expect_error(one(request(Opcode::kAppend, {}, "h", "x")), Opcode::kAppend, Status::kNotSupported);
  expect_error(one(request(Opcode::kPrepend, {}, "h", "x")), Opcode::kPrepend, Status::kNotSupported);
  expect_error(one(arith(Opcode::kIncrement, "h", 1, 0, 0)), Opcode::kIncrement, Status::kNotSupported);
  const std::uint64_t cas = h_.ctx().get("h").cas();
  expect_error(one(arith(Opcode::kDecrement, "h", 1, 0, 0, cas)), Opcode::kDecrement, Status::kNotSupported);
  EXPECT_EQ(mb::status_message(Status::kNotSupported), "Not supported: the key holds a hash (WRONGTYPE)");
  ferrite::testing::expect_hash(h_.ctx(), "h", "f", "v");
  EXPECT_EQ(h_.ctx().get("h").expires_at_ms(), 0u);
  // set overwrites it with a value.
  expect_ok(one(mb_set("h", "plain")), Opcode::kSet);
  EXPECT_EQ(one(get("h")).value, "plain");
}


// While loading, keyed requests get status 0x86 (temporary failure), noop still answers; a
// failed append-only file refuses writes (its reason as the message) and serves reads.
TEST_F(MemcacheBinarySession, LoadingAndFailedWritesAreTemporaryFailures) {
  expect_ok(one(mb_set("k", "v")), Opcode::kSet);
  h_.set_loading(true);
  auto r = run(get("k") + mb_set("k", "w") + noop());
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status, Status::kTemporaryFailure);
  EXPECT_EQ(r[0].value, "Loading the dataset");
  EXPECT_EQ(r[1].status, Status::kTemporaryFailure);
  expect_ok(r[2], Opcode::kNoop);
  h_.set_loading(false);
  h_.fail_writes(true);
  r = run(mb_set("k", "w") + get("k"));
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, Status::kTemporaryFailure);
  EXPECT_EQ(r[0].value, "No space left on device");
  EXPECT_EQ(r[1].status, Status::kSuccess);
  EXPECT_EQ(r[1].value, "v");
}

}  // namespace
}  // namespace ferrite::testing::mcb
