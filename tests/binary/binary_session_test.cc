#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "binary/binary_test_util.h"
#include "engine/binary/binary.h"
#include "engine_test_util.h"
#include "hash_test_util.h"

namespace ferrite::binary_test {
namespace {

using engine::Op;
using engine::Proto;
using wire::Opcode;
using wire::Status;

class BinarySession : public ::testing::Test {
 protected:
  explicit BinarySession(std::size_t max_item = std::size_t{1} << 20)
      : h_(std::size_t{64} << 20, max_item), s_(engine::make_binary_session(h_.info())) {}

  std::vector<Got> run(const std::string& in, std::size_t chunk = 0) {
    return decode_all(h_.feed(*s_, in, chunk));
  }
  Got one(const wire::Request& r) {
    const std::vector<Got> g = run(bytes(r));
    EXPECT_EQ(g.size(), 1u) << wire::opcode_name(r.opcode);
    return g.empty() ? Got{} : g[0];
  }
  Got set(std::string_view key, std::string_view value, std::uint32_t ttl = 0,
          std::uint32_t client_flags = 0) {
    wire::Request r = req(Opcode::kSet, 1, key, value);
    r.ttl = ttl;
    r.client_flags = client_flags;
    return one(r);
  }
  Got get(std::string_view key, std::uint8_t flags = 0) {
    wire::Request r = req(Opcode::kGet, 2, key);
    r.flags = flags;
    return one(r);
  }
  std::int64_t requests(Op op) {
    return h_.stats().requests[static_cast<std::size_t>(Proto::kBinary)][static_cast<std::size_t>(op)].get();
  }

  engine::testing::SessionHarness h_;
  std::unique_ptr<engine::Session> s_;
};

class BinarySessionSmallItems : public BinarySession {
 protected:
  BinarySessionSmallItems() : BinarySession(1024) {}
};

TEST_F(BinarySession, GetMissesThenHitsWhatSetStored) {
  Got g = get("k");
  EXPECT_EQ(g.status, Status::kNotFound);
  EXPECT_EQ(g.opcode, Opcode::kGet);
  EXPECT_EQ(g.request_id, 2u);
  EXPECT_TRUE(g.value.empty());
  const Got s = set("k", "hello", 0, 0xDEADBEEF);
  EXPECT_EQ(s.status, Status::kOk);
  EXPECT_EQ(s.opcode, Opcode::kSet);
  EXPECT_NE(s.cas, 0u);
  EXPECT_TRUE(s.value.empty());
  g = get("k");
  EXPECT_EQ(g.status, Status::kOk);
  EXPECT_EQ(g.value, "hello");
  EXPECT_EQ(g.client_flags, 0xDEADBEEFu);
  EXPECT_EQ(g.cas, s.cas);
  EXPECT_EQ(g.ttl, 0u);
  EXPECT_TRUE(g.key.empty());
  EXPECT_EQ(h_.stats().hits[static_cast<std::size_t>(Proto::kBinary)].get(), 1);
  EXPECT_EQ(h_.stats().misses[static_cast<std::size_t>(Proto::kBinary)].get(), 1);
  EXPECT_EQ(requests(Op::k_get), 2);
  EXPECT_EQ(requests(Op::k_set), 1);
}

TEST_F(BinarySession, KeyFlagPutsTheKeyInTheReply) {
  EXPECT_EQ(get("absent", wire::flag::kWithKey).key, "absent");
  set("k", "v");
  const Got g = get("k", wire::flag::kWithKey);
  EXPECT_EQ(g.key, "k");
  EXPECT_EQ(g.value, "v");
  EXPECT_EQ(g.flags, wire::flag::kWithKey);
  wire::Request d = req(Opcode::kDelete, 3, "k");
  d.flags = wire::flag::kWithKey;
  EXPECT_EQ(one(d).key, "k");
}

TEST_F(BinarySession, AddAndReplaceDependOnPresence) {
  EXPECT_EQ(one(req(Opcode::kReplace, 1, "k", "a")).status, Status::kNotStored);
  EXPECT_EQ(one(req(Opcode::kAdd, 1, "k", "a")).status, Status::kOk);
  EXPECT_EQ(one(req(Opcode::kAdd, 1, "k", "b")).status, Status::kNotStored);
  EXPECT_EQ(get("k").value, "a");
  EXPECT_EQ(one(req(Opcode::kReplace, 1, "k", "c")).status, Status::kOk);
  EXPECT_EQ(get("k").value, "c");
  EXPECT_EQ(requests(Op::k_add), 2);
  EXPECT_EQ(requests(Op::k_replace), 2);
}

TEST_F(BinarySession, CasComparesTheItemVersion) {
  wire::Request r = req(Opcode::kSet, 1, "k", "v1");
  r.cas = 12345;
  EXPECT_EQ(one(r).status, Status::kNotFound);
  const std::uint64_t c1 = set("k", "v1").cas;
  r.value = "v2";
  r.cas = c1 + 1000;
  EXPECT_EQ(one(r).status, Status::kExists);
  r.cas = c1;
  const Got ok = one(r);
  EXPECT_EQ(ok.status, Status::kOk);
  EXPECT_NE(ok.cas, c1);
  EXPECT_EQ(one(r).status, Status::kExists);  // the version moved on
  wire::Request rep = req(Opcode::kReplace, 1, "k", "v3");
  rep.cas = ok.cas;
  EXPECT_EQ(one(rep).status, Status::kOk);
  EXPECT_EQ(get("k").value, "v3");
  EXPECT_EQ(requests(Op::k_cas), 5);
}

TEST_F(BinarySession, DeleteHonoursCas) {
  EXPECT_EQ(one(req(Opcode::kDelete, 1, "k")).status, Status::kNotFound);
  const std::uint64_t c = set("k", "v").cas;
  wire::Request d = req(Opcode::kDelete, 1, "k");
  d.cas = c + 1;
  EXPECT_EQ(one(d).status, Status::kExists);
  d.cas = c;
  EXPECT_EQ(one(d).status, Status::kOk);
  EXPECT_EQ(get("k").status, Status::kNotFound);
  EXPECT_EQ(requests(Op::k_delete), 3);
}

TEST_F(BinarySession, IncrAndDecrCountInDecimalText) {
  EXPECT_EQ(one(req(Opcode::kIncr, 1, "n", arith_value(1))).status, Status::kNotFound);
  Got g = one(req(Opcode::kIncr, 1, "n", arith_value(1, 100)));  // created with the initial value
  EXPECT_EQ(g.status, Status::kOk);
  EXPECT_EQ(g.counter(), 100u);
  EXPECT_EQ(get("n").value, "100");
  g = one(req(Opcode::kIncr, 1, "n", arith_value(5, 7)));  // present: the initial value is unused
  EXPECT_EQ(g.counter(), 105u);
  EXPECT_EQ(get("n").cas, g.cas);
  g = one(req(Opcode::kDecr, 1, "n", arith_value(200)));
  EXPECT_EQ(g.counter(), 0u);  // decr stops at 0
  set("n", "18446744073709551615");
  EXPECT_EQ(one(req(Opcode::kIncr, 1, "n", arith_value(2))).counter(), 1u);  // incr wraps
  set("s", "text");
  g = one(req(Opcode::kIncr, 1, "s", arith_value(1)));
  EXPECT_EQ(g.status, Status::kNonNumeric);
  EXPECT_TRUE(g.value.empty());
  EXPECT_EQ(one(req(Opcode::kDecr, 1, "m", arith_value(3, 10))).counter(), 10u);
  EXPECT_EQ(requests(Op::k_incr), 5);
  EXPECT_EQ(requests(Op::k_decr), 2);
}

TEST_F(BinarySession, IncrCreatesWithTheRequestsTtlAndClientFlags) {
  const std::string delta = arith_value(1, 5);
  wire::Request r = req(Opcode::kIncr, 1, "n", delta);
  r.ttl = 10;
  r.client_flags = 9;
  EXPECT_EQ(one(r).counter(), 5u);
  const Got g = get("n");
  EXPECT_EQ(g.client_flags, 9u);
  EXPECT_EQ(g.ttl, 10u);
  h_.advance_ms(10'001);
  EXPECT_EQ(get("n").status, Status::kNotFound);
}

TEST_F(BinarySession, TtlCountsDownAndExpires) {
  set("k", "v", 2);
  EXPECT_EQ(get("k").ttl, 2u);
  h_.advance_ms(1500);
  EXPECT_EQ(get("k").ttl, 1u);  // 0.5 s left, rounded up
  h_.advance_ms(501);
  EXPECT_EQ(get("k").status, Status::kNotFound);
  // Above 30 days the TTL is an absolute Unix time: 1970 is long gone.
  set("old", "v", 60 * 60 * 24 * 30 + 1);
  EXPECT_EQ(get("old").status, Status::kNotFound);
}

TEST_F(BinarySession, TouchSetsANewTtl) {
  wire::Request t = req(Opcode::kTouch, 4, "k");
  t.ttl = 5;
  EXPECT_EQ(one(t).status, Status::kNotFound);
  const std::uint64_t c = set("k", "v").cas;
  const Got r = one(t);
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.request_id, 4u);
  const Got g = get("k");
  EXPECT_EQ(g.ttl, 5u);
  EXPECT_EQ(g.cas, c);  // touch keeps the CAS
  h_.advance_ms(5001);
  EXPECT_EQ(get("k").status, Status::kNotFound);
  EXPECT_EQ(requests(Op::k_touch), 2);
}

TEST_F(BinarySession, GetWithTouchFlagReturnsTheValueAndSetsTheTtl) {
  set("k", "v", 10);
  wire::Request r = req(Opcode::kGet, 1, "k");
  r.flags = wire::flag::kTouch;
  r.ttl = 100;
  const Got g = one(r);
  EXPECT_EQ(g.value, "v");
  EXPECT_EQ(g.ttl, 100u);
  h_.advance_ms(50'000);
  EXPECT_EQ(get("k").value, "v");
  EXPECT_EQ(requests(Op::k_gat), 1);
  r.key = "absent";
  EXPECT_EQ(one(r).status, Status::kNotFound);
}

TEST_F(BinarySession, NoopAnswersEvenWhenQuiet) {
  wire::Request n = req(Opcode::kNoop, 77);
  n.flags = wire::flag::kQuiet;
  const Got g = one(n);
  EXPECT_EQ(g.status, Status::kOk);
  EXPECT_EQ(g.request_id, 77u);
  EXPECT_EQ(g.opcode, Opcode::kNoop);
  EXPECT_EQ(requests(Op::k_noop), 1);
}

TEST_F(BinarySession, StatsReturnsNameValuePairs) {
  set("k", "v");
  get("k");
  wire::Request r = req(Opcode::kStats, 9);
  Got g = one(r);
  ASSERT_EQ(g.status, Status::kOk);
  wire::StatsReader rd(g.value);
  std::string_view name, value;
  std::map<std::string, std::string> stats;
  while (rd.next(&name, &value)) stats[std::string(name)] = std::string(value);
  EXPECT_FALSE(rd.error());
  EXPECT_TRUE(stats.count("pid"));
  EXPECT_FALSE(stats["version"].empty());
  EXPECT_EQ(stats["get_hits"], "1");
  EXPECT_EQ(stats["cmd_set"], "1");
  r.key = "settings";
  r.flags = wire::flag::kWithKey;
  g = one(r);
  EXPECT_EQ(g.status, Status::kOk);
  EXPECT_EQ(g.key, "settings");
  EXPECT_FALSE(g.value.empty());
  r.key = "nonsense";
  g = one(r);
  EXPECT_EQ(g.status, Status::kNotFound);
  EXPECT_EQ(g.value, "unknown stats group");
  EXPECT_EQ(requests(Op::k_stats), 3);
}

TEST_F(BinarySession, QuietHidesSuccessesAndMissesButNotErrorsOrHits) {
  std::string in;
  wire::Request r = req(Opcode::kSet, 1, "a", "1");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // OK: hidden
  r = req(Opcode::kAdd, 2, "a", "2");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // NOT_STORED: sent
  r = req(Opcode::kGet, 3, "missing");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // miss: hidden
  r = req(Opcode::kGet, 4, "a");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // hit: sent
  r = req(Opcode::kDelete, 5, "missing");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // NOT_FOUND of a delete: sent
  const std::string one_more = arith_value(1);
  r = req(Opcode::kIncr, 6, "a", one_more);
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // OK: hidden
  r = req(Opcode::kTouch, 7, "a");
  r.flags = wire::flag::kQuiet;
  in += bytes(r);  // OK: hidden
  in += bytes(req(Opcode::kNoop, 8));
  const std::vector<Got> g = run(in);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].request_id, 2u);
  EXPECT_EQ(g[0].status, Status::kNotStored);
  EXPECT_EQ(g[1].request_id, 4u);
  EXPECT_EQ(g[1].value, "1");
  EXPECT_EQ(g[2].request_id, 5u);
  EXPECT_EQ(g[2].status, Status::kNotFound);
  EXPECT_EQ(g[3].request_id, 8u);
  EXPECT_EQ(get("a").value, "2");
}

// A pipeline touching every opcode, with request ids 1..n.
std::string pipeline() {
  std::string in;
  std::uint32_t id = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string key = numbered("key", i % 7);
    switch (i % 8) {
      case 0:
        in += bytes(req(Opcode::kSet, ++id, key, std::string(static_cast<std::size_t>(i) * 37, 'v')));
        break;
      case 1:
        in += bytes(req(Opcode::kGet, ++id, key));
        break;
      case 2:
        in += bytes(req(Opcode::kAdd, ++id, key, "added"));
        break;
      case 3:
        in += bytes(req(Opcode::kIncr, ++id, "n", arith_value(3, 1)));
        break;
      case 4:
        in += bytes(req(Opcode::kDelete, ++id, key));
        break;
      case 5:
        in += bytes(req(Opcode::kGet, ++id, "key1"));
        break;
      case 6:
        in += bytes(req(static_cast<Opcode>(0x42), ++id, key, "body"));
        break;
      default:
        in += bytes(req(Opcode::kNoop, ++id));
        break;
    }
  }
  return in;
}

TEST_F(BinarySession, PipelinedRepliesComeInRequestOrder) {
  const std::vector<Got> g = run(pipeline());
  ASSERT_EQ(g.size(), 40u);
  for (std::size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i].request_id, i + 1);
  EXPECT_EQ(g[6].status, Status::kUnknownOpcode);
  EXPECT_EQ(g[3].counter(), 1u);
  EXPECT_EQ(g[11].counter(), 4u);
}

TEST(BinarySessionSplit, InputSplitAtEveryByteGivesTheSameReplies) {
  const std::string in = pipeline();
  engine::testing::SessionHarness whole_h, split_h;
  auto whole = engine::make_binary_session(whole_h.info());
  auto split = engine::make_binary_session(split_h.info());
  const std::string a = whole_h.feed(*whole, in);
  const std::string b = split_h.feed(*split, in, 1);
  EXPECT_EQ(decode_all(a).size(), 40u);
  EXPECT_EQ(hex(a), hex(b));
  EXPECT_TRUE(split_h.pending().empty());
  for (std::size_t chunk : {2u, 3u, 31u, 32u, 33u, 100u}) {
    engine::testing::SessionHarness hc;
    auto sc = engine::make_binary_session(hc.info());
    EXPECT_EQ(decode_all(hc.feed(*sc, in, chunk)).size(), 40u) << chunk;
  }
}

TEST_F(BinarySession, AGetSeesTheSetBeforeItInTheSameRead) {
  std::string in = bytes(req(Opcode::kSet, 1, "k", "one")) + bytes(req(Opcode::kGet, 2, "k")) +
                   bytes(req(Opcode::kGet, 3, "k")) + bytes(req(Opcode::kSet, 4, "k", "two")) +
                   bytes(req(Opcode::kGet, 5, "k")) + bytes(req(Opcode::kDelete, 6, "k")) +
                   bytes(req(Opcode::kGet, 7, "k"));
  const std::vector<Got> g = run(in);
  ASSERT_EQ(g.size(), 7u);
  EXPECT_EQ(g[1].value, "one");
  EXPECT_EQ(g[2].value, "one");
  EXPECT_EQ(g[4].value, "two");
  EXPECT_EQ(g[6].status, Status::kNotFound);
}

TEST_F(BinarySession, ManyGetsInOneReadAreAnsweredInOrder) {
  for (int i = 0; i < 100; i += 2) set(numbered("k", i), numbered("v", i));
  std::string in;
  for (std::uint32_t i = 0; i < 150; ++i) in += bytes(req(Opcode::kGet, i, numbered("k", i)));
  const std::vector<Got> g = run(in);
  ASSERT_EQ(g.size(), 150u);
  for (std::uint32_t i = 0; i < 150; ++i) {
    EXPECT_EQ(g[i].request_id, i);
    if (i < 100 && i % 2 == 0) {
      EXPECT_EQ(g[i].value, numbered("v", i));
    } else {
      EXPECT_EQ(g[i].status, Status::kNotFound);
    }
  }
}

TEST_F(BinarySession, MalformedRequestsGetBadRequestAndTheConnectionGoesOn) {
  std::vector<wire::Request> bad;
  bad.push_back(req(Opcode::kGet, 1, ""));               // key required
  bad.push_back(req(Opcode::kGet, 2, "k", "v"));         // value not allowed
  bad.push_back(req(Opcode::kNoop, 3, "k"));             // key not allowed
  bad.push_back(req(Opcode::kIncr, 4, "k", "1234567"));  // 8 or 16 bytes
  bad.push_back(req(Opcode::kSet, 5, "k", "v"));
  bad.back().flags = 0x80;  // reserved flag bit
  bad.push_back(req(Opcode::kSet, 6, "k", "v"));
  bad.back().flags = wire::flag::kTouch;  // T only on GET
  bad.push_back(req(Opcode::kSet, 7, "k", "v"));
  bad.back().reserved = 1;  // reserved header field
  bad.push_back(req(Opcode::kAdd, 8, "k", "v"));
  bad.back().cas = 1;  // no CAS on ADD
  bad.push_back(req(Opcode::kDelete, 9, "k"));
  bad.back().ttl = 1;  // no TTL on DELETE
  bad.push_back(req(Opcode::kGet, 10, "k"));
  bad.back().client_flags = 1;  // no client flags on GET
  const std::string delta = arith_value(1);
  bad.push_back(req(Opcode::kIncr, 11, "k", delta));
  bad.back().ttl = 5;  // TTL only with an initial value
  std::string in;
  for (const auto& r : bad) in += bytes(r);
  in += bytes(req(Opcode::kNoop, 99));
  const std::vector<Got> g = run(in, 7);
  ASSERT_EQ(g.size(), bad.size() + 1);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(g[i].status, Status::kBadRequest) << i;
    EXPECT_EQ(g[i].request_id, i + 1);
    EXPECT_FALSE(g[i].value.empty());  // a message for people
  }
  EXPECT_EQ(g.back().status, Status::kOk);
  EXPECT_EQ(get("k").status, Status::kNotFound);
  EXPECT_EQ(h_.stats().protocol_errors[static_cast<std::size_t>(Proto::kBinary)].get(), 11);
  EXPECT_EQ(requests(Op::k_error), 11);
  EXPECT_FALSE(s_->closing());
}

TEST_F(BinarySession, UnknownOpcodeIsAnsweredAndItsBodySkipped) {
  const std::string in =
      bytes(req(static_cast<Opcode>(0xEE), 1, "key", "some value")) + bytes(req(Opcode::kNoop, 2));
  const std::vector<Got> g = run(in, 1);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].status, Status::kUnknownOpcode);
  EXPECT_EQ(static_cast<int>(g[0].opcode), 0xEE);
  EXPECT_EQ(g[1].status, Status::kOk);
}

TEST_F(BinarySession, KeyOverTheLimitIsRefused) {
  const std::string k250(250, 'k'), k251(251, 'k');
  EXPECT_EQ(set(k250, "v").status, Status::kOk);
  EXPECT_EQ(get(k250).value, "v");
  const std::string in = bytes(req(Opcode::kSet, 1, k251, "v")) + bytes(req(Opcode::kGet, 2, k251)) +
                         bytes(req(Opcode::kNoop, 3));
  const std::vector<Got> g = run(in, 5);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].status, Status::kKeyTooLong);
  EXPECT_EQ(g[1].status, Status::kKeyTooLong);
  EXPECT_EQ(g[2].status, Status::kOk);
}

TEST_F(BinarySessionSmallItems, ValueOverTheLimitIsRefusedAndItsBytesSkipped) {
  const std::string big(5000, 'x');
  const std::string in = bytes(req(Opcode::kSet, 1, "k", big)) + bytes(req(Opcode::kSet, 2, "k", "small")) +
                         bytes(req(Opcode::kGet, 3, "k"));
  for (std::size_t chunk : {0u, 1u, 100u, 4096u}) {
    const std::vector<Got> g = run(in, chunk);
    ASSERT_EQ(g.size(), 3u) << chunk;
    EXPECT_EQ(g[0].status, Status::kTooLarge);
    EXPECT_EQ(g[0].request_id, 1u);
    EXPECT_EQ(g[1].status, Status::kOk);
    EXPECT_EQ(g[2].value, "small");
    EXPECT_TRUE(h_.pending().empty());
  }
  // The refusal comes from the header alone: the body is never buffered.
  const std::string head = bytes(req(Opcode::kSet, 4, "k", big)).substr(0, 40);
  const std::vector<Got> g = run(head);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].status, Status::kTooLarge);
  EXPECT_TRUE(h_.pending().empty());
  EXPECT_EQ(run(std::string(big.size() - 7, 'x') + bytes(req(Opcode::kNoop, 5))).size(), 1u);
  // At the limit exactly it is stored.
  EXPECT_EQ(set("k", std::string(1024, 'y')).status, Status::kOk);
}

TEST_F(BinarySession, BadMagicIsAnsweredThenTheConnectionCloses) {
  const std::string in = bytes(req(Opcode::kNoop, 1)) + "get foo\r\n";
  const std::vector<Got> g = run(in);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].status, Status::kOk);
  EXPECT_EQ(g[1].status, Status::kBadVersion);
  EXPECT_TRUE(s_->closing());
  EXPECT_TRUE(h_.pending().empty());
  EXPECT_EQ(h_.stats().protocol_errors[static_cast<std::size_t>(Proto::kBinary)].get(), 1);
}

TEST_F(BinarySession, UnsupportedVersionIsAnsweredThenTheConnectionCloses) {
  std::string in = bytes(req(Opcode::kNoop, 1));
  in[1] = 2;
  const std::vector<Got> g = run(in.substr(0, 2));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].status, Status::kBadVersion);
  EXPECT_TRUE(s_->closing());
}

TEST_F(BinarySession, AnIncompleteRequestWaitsForTheRest) {
  const std::string in = bytes(req(Opcode::kSet, 1, "k", "value"));
  for (std::size_t n : {1u, 31u, 32u, 36u}) {
    h_.clear_pending();
    EXPECT_TRUE(run(in.substr(0, n)).empty());
    EXPECT_EQ(h_.pending().size(), n);
  }
  const std::vector<Got> g = run(in.substr(36));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].status, Status::kOk);
}

TEST_F(BinarySession, StopsConsumingAtTheReplyCap) {
  h_.shared().settings.max_reply_bytes = 4096;
  const std::string value(1000, 'v');
  set("k", value);
  std::string in;
  for (std::uint32_t i = 0; i < 50; ++i) in += bytes(req(Opcode::kGet, i, "k"));
  Buffer out;
  const std::size_t n = s_->feed(in, out, h_.exec());
  EXPECT_LT(n, in.size());
  EXPECT_EQ(n % bytes(req(Opcode::kGet, 0, "k")).size(), 0u);  // whole requests only
  EXPECT_GE(out.size(), 4096u);
  EXPECT_LT(out.size(), 4096u + 1032u);  // at most one reply past the cap
  EXPECT_EQ(decode_all(out.view()).size(), n / 33);
  // The worker sends and calls again: everything is answered, in order.
  const std::vector<Got> g = run(in);
  ASSERT_EQ(g.size(), 50u);
  for (std::uint32_t i = 0; i < 50; ++i) EXPECT_EQ(g[i].request_id, i);
}

TEST_F(BinarySession, AHashKeyIsWrongTypeNeverItsEncoding) {
  ferrite::testing::put_hash(h_.ctx(), "h", {{"f", "v"}});
  Got g = get("h");
  EXPECT_EQ(g.status, Status::kWrongType);
  EXPECT_EQ(g.value, "WRONGTYPE the key holds a hash, not a value");
  EXPECT_EQ(get("h", wire::flag::kQuiet).status, Status::kWrongType);  // an error: sent when quiet
  wire::Request t = req(Opcode::kGet, 3, "h");
  t.flags = wire::flag::kTouch;
  t.ttl = 100;
  EXPECT_EQ(one(t).status, Status::kWrongType);
  EXPECT_EQ(h_.ctx().get("h").expires_at_ms(), 0u);  // T did not touch it
  EXPECT_EQ(one(req(Opcode::kIncr, 4, "h", arith_value(1))).status, Status::kWrongType);
  EXPECT_EQ(wire::status_name(Status::kWrongType), "WRONG_TYPE");
  ferrite::testing::expect_hash(h_.ctx(), "h", "f", "v");
  EXPECT_EQ(set("h", "plain").status, Status::kOk);
  EXPECT_EQ(get("h").value, "plain");
}


// While loading, keyed requests get LOADING (GETs too, batched or not), NOOP still answers; a
// failed append-only file refuses writes with WRITE_FAILED (GET with T is one) and serves GETs.
TEST_F(BinarySession, LoadingAndFailedWrites) {
  EXPECT_EQ(set("k", "v").status, Status::kOk);
  h_.set_loading(true);
  std::vector<Got> g = run(bytes(req(Opcode::kGet, 1, "k")) + bytes(req(Opcode::kGet, 2, "j")) +
                           bytes(req(Opcode::kSet, 3, "k", "w")) + bytes(req(Opcode::kNoop, 4)));
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].status, Status::kLoading);
  EXPECT_EQ(g[1].status, Status::kLoading);
  EXPECT_EQ(g[2].status, Status::kLoading);
  EXPECT_EQ(g[3].status, Status::kOk);
  h_.set_loading(false);
  h_.fail_writes(true);
  EXPECT_EQ(set("k", "w").status, Status::kWriteFailed);
  wire::Request gat = req(Opcode::kGet, 5, "k");
  gat.flags = wire::flag::kTouch;
  gat.ttl = 60;
  const Got t = one(gat);
  EXPECT_EQ(t.status, Status::kWriteFailed);
  EXPECT_EQ(t.value, "No space left on device");
  const Got r = get("k");
  EXPECT_EQ(r.status, Status::kOk);
  EXPECT_EQ(r.value, "v");
}

}  // namespace
}  // namespace ferrite::binary_test
