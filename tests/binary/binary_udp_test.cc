#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "binary/binary_test_util.h"
#include "engine/binary/binary.h"
#include "engine_test_util.h"

namespace ferrite::binary_test {
namespace {

using engine::Op;
using engine::Proto;
using wire::Opcode;
using wire::Status;

class BinaryUdp : public ::testing::Test {
 protected:
  BinaryUdp() : handler_(engine::make_binary_udp_handler()) {}

  std::string datagram(std::uint16_t id, const std::vector<wire::Request>& reqs) {
    Buffer b;
    wire::begin_request_datagram(b, id);
    for (const auto& r : reqs) EXPECT_TRUE(wire::encode_request(b, r));
    return std::string(b.view());
  }
  // Hands one datagram to the handler; returns the reply datagrams.
  std::vector<std::string> send(std::string_view d) {
    out_.clear();
    handler_->on_datagram(d, out_, h_.exec());
    h_.end_iteration();
    std::vector<std::string> v;
    for (std::size_t i = 0; i < out_.count(); ++i) v.emplace_back(out_.datagram(i));
    return v;
  }
  // Reassembles reply datagrams (in the order given) and decodes the replies.
  std::vector<Got> replies(std::uint16_t id, const std::vector<std::string>& datagrams) {
    wire::Reassembler ra;
    ra.start(id);
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
      const auto res = ra.add(datagrams[i]);
      EXPECT_EQ(res, i + 1 == datagrams.size() ? wire::Reassembler::Result::kComplete
                                               : wire::Reassembler::Result::kPartial);
    }
    return decode_all(ra.stream());
  }
  std::int64_t dropped() { return h_.stats().datagrams_dropped.get(); }
  std::int64_t requests(Op op) {
    return h_.stats()
        .requests[static_cast<std::size_t>(Proto::kBinaryUdp)][static_cast<std::size_t>(op)]
        .get();
  }

  engine::testing::SessionHarness h_;
  std::unique_ptr<engine::DatagramHandler> handler_;
  engine::DatagramOut out_;
};

TEST_F(BinaryUdp, ManyRequestsInOneDatagramGetTheirRepliesInOneDatagram) {
  const std::vector<std::string> d = send(datagram(0xBEEF, {
                                                               req(Opcode::kSet, 1, "a", "alpha"),
                                                               req(Opcode::kSet, 2, "b", "beta"),
                                                               req(Opcode::kGet, 3, "a"),
                                                               req(Opcode::kGet, 4, "missing"),
                                                               req(Opcode::kGet, 5, "b"),
                                                               req(Opcode::kDelete, 6, "a"),
                                                               req(Opcode::kGet, 7, "a"),
                                                           }));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(hex(d[0].substr(0, 8)), "beef000000010000");
  const std::vector<Got> g = replies(0xBEEF, d);
  ASSERT_EQ(g.size(), 7u);
  for (std::uint32_t i = 0; i < 7; ++i) EXPECT_EQ(g[i].request_id, i + 1);
  EXPECT_EQ(g[2].value, "alpha");
  EXPECT_EQ(g[3].status, Status::kNotFound);
  EXPECT_EQ(g[4].value, "beta");
  EXPECT_EQ(g[6].status, Status::kNotFound);
  EXPECT_EQ(requests(Op::k_get), 4);
  EXPECT_EQ(h_.stats().hits[static_cast<std::size_t>(Proto::kBinaryUdp)].get(), 2);
  EXPECT_EQ(h_.stats().misses[static_cast<std::size_t>(Proto::kBinaryUdp)].get(), 2);
  EXPECT_EQ(dropped(), 0);
}

TEST_F(BinaryUdp, ALargeReplyIsSplitAndReassembled) {
  std::string value(100'000, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 7);
  ASSERT_EQ(h_.ctx().set("big", value).status, store::Status::kOk);
  std::vector<wire::Request> gets;
  for (std::uint32_t i = 0; i < 3; ++i) gets.push_back(req(Opcode::kGet, 10 + i, i == 1 ? "small" : "big"));
  send(datagram(2, {req(Opcode::kSet, 1, "small", "s")}));
  std::vector<std::string> d = send(datagram(3, gets));
  const std::size_t max = h_.shared().settings.udp_max_datagram;
  ASSERT_GT(d.size(), 2 * value.size() / max);
  for (std::size_t i = 0; i < d.size(); ++i) {
    ASSERT_LE(d[i].size(), max);
    wire::Frame f;
    ASSERT_TRUE(wire::decode_frame(d[i], &f));
    EXPECT_EQ(f.datagram_id, 3);
    EXPECT_EQ(f.seq, i);
    EXPECT_EQ(f.count, d.size());
  }
  std::reverse(d.begin(), d.end());  // arrival order does not matter
  const std::vector<Got> g = replies(3, d);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].value, value);
  EXPECT_EQ(g[1].value, "s");
  EXPECT_EQ(g[2].value, value);
  EXPECT_EQ(g[2].request_id, 12u);
}

TEST_F(BinaryUdp, TheDatagramSizeSettingIsHonoured) {
  h_.shared().settings.udp_max_datagram = 200;
  h_.ctx().set("k", std::string(1000, 'x'));
  const std::vector<std::string> d = send(datagram(2, {req(Opcode::kGet, 1, "k")}));
  ASSERT_EQ(d.size(), (32 + 1000 + 191) / 192);
  for (const auto& x : d) EXPECT_LE(x.size(), 200u);
  EXPECT_EQ(replies(2, d)[0].value, std::string(1000, 'x'));
}

TEST_F(BinaryUdp, MalformedDatagramsAreDroppedWholeAndCounted) {
  const std::string good = datagram(5, {req(Opcode::kSet, 1, "k", "v"), req(Opcode::kNoop, 2)});
  std::vector<std::string> bad;
  bad.push_back(good.substr(0, 7));                // shorter than a frame
  bad.push_back(good.substr(0, 8));                // a frame and nothing else
  bad.push_back(good.substr(0, good.size() - 1));  // the last request truncated
  bad.push_back(good + "x");                       // trailing byte
  std::string seq = good;
  seq[3] = 1;  // sequence number 1
  bad.push_back(seq);
  std::string count = good;
  count[5] = 2;  // count 2: requests never span datagrams
  bad.push_back(count);
  std::string reserved = good;
  reserved[7] = 1;
  bad.push_back(reserved);
  std::string magic = good;
  magic[8 + 32 + 2] = 'x';  // the second request's magic
  bad.push_back(magic);
  std::string version = good;
  version[9] = 9;  // the first request's version
  bad.push_back(version);
  for (std::size_t i = 0; i < bad.size(); ++i) {
    EXPECT_TRUE(send(bad[i]).empty()) << i;
    EXPECT_EQ(dropped(), static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(h_.stats().protocol_errors[static_cast<std::size_t>(Proto::kBinaryUdp)].get(),
            static_cast<std::int64_t>(bad.size()));
  // Nothing of a dropped datagram ran: the SET in them never happened.
  EXPECT_FALSE(h_.ctx().get("k"));
  EXPECT_EQ(send(good).size(), 1u);
  EXPECT_TRUE(h_.ctx().get("k"));
}

TEST_F(BinaryUdp, ErrorsInAWellFramedDatagramAreAnsweredPerRequest) {
  const std::vector<std::string> d = send(datagram(7, {
                                                          req(Opcode::kGet, 1, std::string(251, 'k')),
                                                          req(static_cast<Opcode>(0x7F), 2, "k"),
                                                          req(Opcode::kGet, 3, "k", "no value allowed"),
                                                          req(Opcode::kNoop, 4),
                                                      }));
  const std::vector<Got> g = replies(7, d);
  ASSERT_EQ(g.size(), 4u);
  EXPECT_EQ(g[0].status, Status::kKeyTooLong);
  EXPECT_EQ(g[1].status, Status::kUnknownOpcode);
  EXPECT_EQ(g[2].status, Status::kBadRequest);
  EXPECT_EQ(g[3].status, Status::kOk);
  EXPECT_EQ(dropped(), 0);
}

TEST_F(BinaryUdp, QuietRequestsAloneSendNothing) {
  wire::Request r = req(Opcode::kSet, 1, "k", "v");
  r.flags = wire::flag::kQuiet;
  wire::Request g = req(Opcode::kGet, 2, "missing");
  g.flags = wire::flag::kQuiet;
  EXPECT_TRUE(send(datagram(1, {r, g})).empty());
  EXPECT_EQ(dropped(), 0);
  EXPECT_TRUE(h_.ctx().get("k"));
  EXPECT_EQ(requests(Op::k_set), 1);
}

TEST_F(BinaryUdp, ValuesThatWouldPassTheReplyCapAreRefusedBeforeTheyAreBuilt) {
  h_.shared().settings.max_reply_bytes = 3000;
  h_.ctx().set("k", std::string(1000, 'x'));
  std::vector<wire::Request> reqs;
  for (std::uint32_t i = 0; i < 3; ++i) reqs.push_back(req(Opcode::kGet, i, "k"));
  reqs.push_back(req(Opcode::kSet, 3, "other", "v"));
  reqs.push_back(req(Opcode::kGet, 4, "k"));
  const std::vector<Got> g = replies(1, send(datagram(1, reqs)));
  ASSERT_EQ(g.size(), 5u);
  for (std::uint32_t i = 0; i < 2; ++i) EXPECT_EQ(g[i].value.size(), 1000u);
  for (const std::uint32_t i : {2u, 4u}) {  // the third value would pass the cap: never encoded
    EXPECT_EQ(g[i].request_id, i);
    EXPECT_EQ(g[i].status, Status::kTooLarge);
    EXPECT_EQ(g[i].value, "reply too large for UDP");
  }
  EXPECT_EQ(g[3].status, Status::kOk);  // a reply that fits
  EXPECT_TRUE(h_.ctx().get("other"));
}

TEST_F(BinaryUdp, RequestsPastTheReplyCapAreRefusedNotRun) {
  h_.shared().settings.max_reply_bytes = 100;
  std::vector<wire::Request> reqs;
  for (std::uint32_t i = 0; i < 4; ++i) reqs.push_back(req(Opcode::kGet, i, "missing"));
  reqs.push_back(req(Opcode::kSet, 4, "other", "v"));
  const std::vector<Got> g = replies(1, send(datagram(1, reqs)));
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(g[3].status, Status::kNotFound);  // 4 x 32 bytes: the fourth crossed the cap
  EXPECT_EQ(g[4].status, Status::kTooLarge);
  EXPECT_FALSE(h_.ctx().get("other"));
}

TEST_F(BinaryUdp, ReplyWithinTheReflectionBoundOnly) {
  h_.ctx().set("k", std::string(100, 'x'));
  const std::string d = datagram(3, {req(Opcode::kGet, 1, "k"), req(Opcode::kGet, 2, "k")});
  h_.exec().datagram_reply_bytes = d.size() * 3;  // 222 bytes: room for one reply of 132
  const std::vector<Got> g = replies(3, send(d));
  h_.exec().datagram_reply_bytes = static_cast<std::size_t>(-1);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].value.size(), 100u);
  EXPECT_EQ(g[1].status, Status::kTooLarge);
}

TEST_F(BinaryUdp, LargeValueAnnouncesEveryDatagramItSends) {
  h_.ctx().set("big", std::string(1000000, 'v'));
  const std::vector<std::string> d = send(datagram(4, {req(Opcode::kGet, 1, "big")}));
  EXPECT_GT(d.size(), 256u);
  const std::vector<Got> g = replies(4, d);  // checks every piece's count and sequence
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].value, std::string(1000000, 'v'));
}

TEST_F(BinaryUdp, ADatagramFullOfGetsIsAnswered) {
  for (int i = 0; i < 50; ++i) h_.ctx().set(numbered("k", i), numbered("v", i));
  std::vector<wire::Request> gets;
  std::vector<std::string> keys;
  keys.reserve(1500);
  for (std::uint32_t i = 0; i < 1500; ++i) keys.push_back(numbered("k", i % 100));
  for (std::uint32_t i = 0; i < 1500; ++i) gets.push_back(req(Opcode::kGet, i, keys[i]));
  const std::string d = datagram(9, gets);
  ASSERT_LE(d.size(), 65507u);
  const std::vector<Got> g = replies(9, send(d));
  ASSERT_EQ(g.size(), 1500u);
  for (std::uint32_t i = 0; i < 1500; ++i) {
    EXPECT_EQ(g[i].request_id, i);
    EXPECT_EQ(g[i].status, i % 100 < 50 ? Status::kOk : Status::kNotFound);
  }
}


// Over UDP the same LOADING status.
TEST_F(BinaryUdp, LoadingIsAnswered) {
  h_.set_loading(true);
  const std::vector<Got> g = replies(9, send(datagram(9, {req(Opcode::kGet, 1, "k")})));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].status, Status::kLoading);
}

}  // namespace
}  // namespace ferrite::binary_test
