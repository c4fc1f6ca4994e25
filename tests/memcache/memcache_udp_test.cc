// memcached UDP: the 8-byte frame, one request per datagram, replies split into datagrams.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "engine/memcache/memcache.h"
#include "engine_test_util.h"

namespace ferrite::engine::testing {
namespace {

std::string frame(std::uint16_t id, std::uint16_t seq, std::uint16_t total, std::string_view body,
                  std::uint16_t reserved = 0) {
  std::string d;
  for (const std::uint16_t v : {id, seq, total, reserved}) {
    d.push_back(static_cast<char>(v >> 8));
    d.push_back(static_cast<char>(v & 0xff));
  }
  d.append(body);
  return d;
}

std::uint16_t be16(std::string_view d, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(d[at]) << 8 |
                                    static_cast<unsigned char>(d[at + 1]));
}

class Udp {
 public:
  Udp() : handler_(make_memcache_udp_handler()) {}

  // Returns the reply datagrams.
  std::vector<std::string> send(std::string_view datagram) {
    handler_->on_datagram(datagram, out_, h_.exec());
    h_.end_iteration();
    std::vector<std::string> got;
    for (std::size_t i = 0; i < out_.count(); ++i) got.emplace_back(out_.datagram(i));
    return got;
  }
  SessionHarness& harness() { return h_; }
  std::int64_t dropped() { return h_.stats().datagrams_dropped.get(); }

 private:
  SessionHarness h_;
  std::unique_ptr<DatagramHandler> handler_;
  DatagramOut out_;
};

TEST(MemcacheUdp, AnswersInOneDatagramWithTheRequestId) {
  Udp u;
  const auto r = u.send(frame(0xabcd, 0, 1, "set a 0 0 2\r\nhi\r\nget a\r\n"));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], frame(0xabcd, 0, 1, "STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\n"));
  EXPECT_EQ(u.harness()
                .stats()
                .requests[static_cast<std::size_t>(Proto::kMemcacheUdp)][static_cast<std::size_t>(Op::k_get)]
                .get(),
            1);
  // Meta commands too, counted under the UDP protocol.
  EXPECT_EQ(u.send(frame(7, 0, 1, "mg a v\r\nmn\r\n")),
            std::vector<std::string>{frame(7, 0, 1, "VA 2\r\nhi\r\nMN\r\n")});
  EXPECT_EQ(u.harness().stats().hits[static_cast<std::size_t>(Proto::kMemcacheUdp)].get(), 2);
}

TEST(MemcacheUdp, SplitsLongRepliesIntoNumberedDatagrams) {
  Udp u;
  u.harness().shared().settings.udp_max_datagram = 100;
  const std::string value(250, 'v');
  EXPECT_EQ(u.send(frame(1, 0, 1, "set k 0 0 250 noreply\r\n" + value + "\r\n")).size(), 0u);
  const auto r = u.send(frame(2, 0, 1, "get k\r\n"));
  const std::string whole = "VALUE k 0 250\r\n" + value + "\r\nEND\r\n";  // 272 bytes
  ASSERT_EQ(r.size(), 3u);
  std::string joined;
  for (std::size_t i = 0; i < r.size(); ++i) {
    ASSERT_GE(r[i].size(), 8u);
    EXPECT_EQ(be16(r[i], 0), 2);
    EXPECT_EQ(be16(r[i], 2), i);
    EXPECT_EQ(be16(r[i], 4), 3);
    EXPECT_EQ(be16(r[i], 6), 0);
    EXPECT_LE(r[i].size() - 8, 100u);
    joined += r[i].substr(8);
  }
  EXPECT_EQ(r[0].size(), 108u);
  EXPECT_EQ(joined, whole);
}

TEST(MemcacheUdp, MalformedDatagramsAreDroppedAndCounted) {
  Udp u;
  EXPECT_TRUE(u.send("").empty());
  EXPECT_TRUE(u.send(std::string("\0\1\0\0\0\1\0", 7)).empty());
  EXPECT_TRUE(u.send(frame(1, 0, 1, "")).empty());  // header only
  EXPECT_EQ(u.dropped(), 3);
  // The sequence number and the reserved field are not checked (memcached does not either).
  EXPECT_EQ(u.send(frame(9, 3, 1, "get a\r\n", 5)), std::vector<std::string>{frame(9, 0, 1, "END\r\n")});
  EXPECT_EQ(u.dropped(), 3);
}

TEST(MemcacheUdp, MultiDatagramRequestsAnswerMemcachedsError) {
  Udp u;
  const std::string err = "SERVER_ERROR multi-packet request not supported\r\n";
  EXPECT_EQ(u.send(frame(1, 0, 2, "get a\r\n")), std::vector<std::string>{frame(1, 0, 1, err)});
  EXPECT_EQ(u.send(frame(2, 1, 0, "get a\r\n")), std::vector<std::string>{frame(2, 0, 1, err)});
  EXPECT_EQ(u.harness().stats().protocol_errors[static_cast<std::size_t>(Proto::kMemcacheUdp)].get(), 2);
}

// A reply reassembled from its datagrams, checking that each announces their number.
std::string reassemble(const std::vector<std::string>& r, std::uint16_t id) {
  std::string whole;
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(be16(r[i], 0), id);
    EXPECT_EQ(be16(r[i], 2), i);
    EXPECT_EQ(be16(r[i], 4), r.size());
    whole += r[i].substr(8);
  }
  return whole;
}

TEST(MemcacheUdp, LargeValueAnnouncesEveryDatagramItSends) {
  Udp u;
  const std::string value(1000000, 'v');
  // A datagram cannot carry 1 MB: the value goes in through the store.
  ASSERT_EQ(u.harness().exec().ctx.set("big", value, store::SetRequest{}).status, store::Status::kOk);
  const auto r = u.send(frame(5, 0, 1, "get big\r\n"));
  ASSERT_EQ(r.size(), 715u);  // 1,000,000 + 29 bytes in 1400-byte pieces
  EXPECT_EQ(reassemble(r, 5), "VALUE big 0 1000000\r\n" + value + "\r\nEND\r\n");
}

TEST(MemcacheUdp, ReplyOverMaxReplyBytesIsRefusedBeforeItIsBuilt) {
  Udp u;
  u.harness().shared().settings.max_reply_bytes = 10000;
  ASSERT_EQ(u.harness().exec().ctx.set("v", std::string(3000, 'v'), store::SetRequest{}).status,
            store::Status::kOk);
  const std::string err = "SERVER_ERROR out of memory writing get response\r\n";
  // Three copies fit, four do not (the error alone, no part of the values).
  EXPECT_EQ(reassemble(u.send(frame(1, 0, 1, "get v v v\r\n")), 1).size(), 3 * 3018u + 5);
  for (const std::string req : {"get v v v v\r\n", "gets v v v v\r\n", "gat 0 v v v v\r\n",
                                "mg v v\r\nmg v v\r\nmg v v\r\nmg v v\r\n", "get v\r\nget v v v\r\n"}) {
    EXPECT_EQ(u.send(frame(2, 0, 1, req)), std::vector<std::string>{frame(2, 0, 1, err)}) << req;
  }
  // Many small replies past the bound too (stats of a few KB each).
  std::string stats;
  for (int i = 0; i < 20; ++i) stats += "stats\r\n";
  EXPECT_EQ(u.send(frame(3, 0, 1, stats)), std::vector<std::string>{frame(3, 0, 1, err)});
}

TEST(MemcacheUdp, ReplyThatJustFitsTheReflectionBoundIsSent) {
  Udp u;
  ASSERT_EQ(u.harness().exec().ctx.set("k", "hello", store::SetRequest{}).status, store::Status::kOk);
  for (const auto& [req, reply] :
       {std::pair<std::string, std::string>{"get k\r\n", "VALUE k 0 5\r\nhello\r\nEND\r\n"},
        {"mg k v\r\n", "VA 5\r\nhello\r\n"}}) {
    const std::string d = frame(6, 0, 1, req);
    u.harness().exec().datagram_reply_bytes = 8 + reply.size();  // exactly what the reply takes
    EXPECT_EQ(u.send(d), std::vector<std::string>{frame(6, 0, 1, reply)}) << req;
    u.harness().exec().datagram_reply_bytes = 8 + reply.size() - 1;
    EXPECT_EQ(u.send(d),
              std::vector<std::string>{frame(6, 0, 1, "SERVER_ERROR out of memory writing get response\r\n")})
        << req;
  }
  u.harness().exec().datagram_reply_bytes = static_cast<std::size_t>(-1);
}

TEST(MemcacheUdp, ReplyOverTheReflectionBoundIsRefusedBeforeItIsBuilt) {
  Udp u;
  ASSERT_EQ(u.harness().exec().ctx.set("v", std::string(100, 'v'), store::SetRequest{}).status,
            store::Status::kOk);
  const std::string req = frame(4, 0, 1, "get v v v v v v v v\r\n");  // 29 bytes, 8 x 117 reply
  u.harness().exec().datagram_reply_bytes = 3 * req.size();
  const auto r = u.send(req);
  u.harness().exec().datagram_reply_bytes = static_cast<std::size_t>(-1);
  EXPECT_EQ(r,
            std::vector<std::string>{frame(4, 0, 1, "SERVER_ERROR out of memory writing get response\r\n")});
  EXPECT_EQ(u.harness().stats().udp_reflection_drops.get(), 1);
  EXPECT_EQ(reassemble(u.send(req), 4).size(), 8 * 117u + 5);
}

TEST(MemcacheUdp, IncompleteRequestsAtTheEndAreDropped) {
  Udp u;
  EXPECT_EQ(u.send(frame(1, 0, 1, "get a\r\nset b 0 0 5\r\nab")),
            std::vector<std::string>{frame(1, 0, 1, "END\r\n")});
  EXPECT_EQ(u.send(frame(2, 0, 1, "get b\r\nget")), std::vector<std::string>{frame(2, 0, 1, "END\r\n")});
  // Nothing carries over to the next datagram.
  EXPECT_EQ(u.send(frame(3, 0, 1, "cde\r\nget b\r\n")),
            std::vector<std::string>{frame(3, 0, 1, "ERROR\r\nEND\r\n")});
  EXPECT_EQ(u.send(frame(4, 0, 1, "set c 0 0 2000000\r\nxx")),
            std::vector<std::string>{frame(4, 0, 1, "SERVER_ERROR object too large for cache\r\n")});
  EXPECT_EQ(u.send(frame(5, 0, 1, "get c\r\n")), std::vector<std::string>{frame(5, 0, 1, "END\r\n")});
}

TEST(MemcacheUdp, QuitStopsTheDatagram) {
  Udp u;
  EXPECT_EQ(u.send(frame(1, 0, 1, "mn\r\nquit\r\nmn\r\n")),
            std::vector<std::string>{frame(1, 0, 1, "MN\r\n")});
  EXPECT_EQ(u.send(frame(2, 0, 1, "mn\r\n")), std::vector<std::string>{frame(2, 0, 1, "MN\r\n")});
}

TEST(MemcacheUdp, ManyCommandsInOneDatagram) {
  Udp u;
  std::string body, want;
  for (int i = 0; i < 100; ++i) {
    body += "incr n 1\r\n";
    want += "NOT_FOUND\r\n";
  }
  const auto r = u.send(frame(5, 0, 1, body));
  std::string joined;
  for (const auto& d : r) joined += d.substr(8);
  EXPECT_EQ(joined, want);
  EXPECT_EQ(r.size(), (want.size() + 1399) / 1400);
}


// Over UDP the same loading answer, in the request's frame.
TEST(MemcacheUdp, LoadingAnswersInTheRequestsFrame) {
  Udp u;
  u.harness().set_loading(true);
  const auto got = u.send(frame(7, 0, 1, "get a\r\n"));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], frame(7, 0, 1, std::string("SERVER_ERROR loading the dataset, try again") + "\r\n"));
}

}  // namespace
}  // namespace ferrite::engine::testing
