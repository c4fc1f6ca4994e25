#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "binary/binary_test_util.h"
#include "proto/binary/udp.h"

namespace ferrite::binary_test {
namespace {

// Reply messages of the given value sizes, as one stream, with their end offsets.
struct Stream {
  Buffer bytes;
  std::vector<std::uint32_t> ends;
};
Stream make_stream(const std::vector<std::size_t>& value_sizes) {
  Stream s;
  std::uint32_t id = 0;
  for (std::size_t n : value_sizes) {
    const std::string value(n, static_cast<char>('a' + id % 26));
    wire::Reply r;
    r.opcode = wire::Opcode::kGet;
    r.request_id = id++;
    r.value = value;
    wire::encode_reply(s.bytes, r);
    s.ends.push_back(static_cast<std::uint32_t>(s.bytes.size()));
  }
  return s;
}

struct Split {
  Buffer out;
  std::vector<std::uint32_t> ends;
  std::size_t count = 0;
  std::string_view datagram(std::size_t i) const {
    const std::uint32_t b = i == 0 ? 0 : ends[i - 1];
    return out.view().substr(b, ends[i] - b);
  }
};
void split(const Stream& s, std::size_t max_datagram, std::uint16_t id, Split* out) {
  out->count = wire::split_replies(s.bytes.view(), s.ends, max_datagram, id, out->out, out->ends);
}

// Payload offsets in the stream where each datagram starts.
std::vector<std::size_t> starts(const Split& sp) {
  std::vector<std::size_t> v;
  std::size_t at = 0;
  for (std::size_t i = 0; i < sp.count; ++i) {
    v.push_back(at);
    at += sp.datagram(i).size() - wire::kFrameSize;
  }
  return v;
}

TEST(BinaryUdpFrame, RoundTripsInNetworkOrder) {
  char b[wire::kFrameSize];
  wire::encode_frame(wire::Frame{0x1234, 2, 3, 0}, b);
  EXPECT_EQ(hex(std::string_view(b, 8)), "1234000200030000");
  wire::Frame f;
  ASSERT_TRUE(wire::decode_frame(std::string_view(b, 8), &f));
  EXPECT_EQ(f.datagram_id, 0x1234);
  EXPECT_EQ(f.seq, 2);
  EXPECT_EQ(f.count, 3);
  EXPECT_FALSE(wire::decode_frame(std::string_view(b, 7), &f));
  Buffer d;
  d.append("old");
  wire::begin_request_datagram(d, 9);
  EXPECT_EQ(hex(d.view()), "0009000000010000");
}

TEST(BinarySplit, ASmallStreamIsOneDatagram) {
  const Stream s = make_stream({10, 20, 30});
  Split sp;
  split(s, 1400, 77, &sp);
  ASSERT_EQ(sp.count, 1u);
  wire::Frame f;
  ASSERT_TRUE(wire::decode_frame(sp.datagram(0), &f));
  EXPECT_EQ(f.datagram_id, 77);
  EXPECT_EQ(f.seq, 0);
  EXPECT_EQ(f.count, 1);
  EXPECT_EQ(sp.datagram(0).substr(wire::kFrameSize), s.bytes.view());
}

TEST(BinarySplit, PacksWholeRepliesAndStartsANewDatagramForOneThatDoesNotFit) {
  // Messages of 32 + 60 = 92 bytes; 100-byte payloads hold one each, 200-byte payloads two.
  const Stream s = make_stream({60, 60, 60, 60, 60});
  Split sp;
  split(s, 8 + 200, 1, &sp);
  ASSERT_EQ(sp.count, 3u);
  EXPECT_EQ(starts(sp), (std::vector<std::size_t>{0, 184, 368}));
  for (std::size_t i = 0; i < sp.count; ++i) EXPECT_LE(sp.datagram(i).size(), 208u);
}

TEST(BinarySplit, CutsAReplyLargerThanADatagramAfterFillingTheRoomLeft) {
  const Stream s = make_stream({10, 300, 10});  // 42, 332, 42 bytes
  Split sp;
  split(s, 8 + 100, 1, &sp);
  // 42 + the big one's first 58 | 100 | 100 | its last 74 | the small one, which fits whole
  EXPECT_EQ(starts(sp), (std::vector<std::size_t>{0, 100, 200, 300, 374}));
  ASSERT_EQ(sp.count, 5u);
  std::string joined;
  for (std::size_t i = 0; i < sp.count; ++i) {
    wire::Frame f;
    ASSERT_TRUE(wire::decode_frame(sp.datagram(i), &f));
    EXPECT_EQ(f.seq, i);
    EXPECT_EQ(f.count, 5);
    joined.append(sp.datagram(i).substr(wire::kFrameSize));
  }
  EXPECT_EQ(joined, s.bytes.view());
}

TEST(BinarySplit, AppendsAfterWhatIsAlreadyThere) {
  const Stream s = make_stream({5, 5});
  Split sp;
  sp.out.append("earlier datagram");
  sp.ends.push_back(16);
  split(s, 60, 3, &sp);
  ASSERT_EQ(sp.count, 2u);
  ASSERT_EQ(sp.ends.size(), 3u);
  EXPECT_EQ(sp.ends[0], 16u);
  EXPECT_EQ(sp.ends[1], 16u + 8 + 37);
  EXPECT_EQ(sp.ends[2], 16u + 2 * (8 + 37));
}

TEST(BinarySplit, RefusesWhenThereIsNoRoomOrTooManyDatagrams) {
  const Stream s = make_stream({100});
  Split sp;
  split(s, wire::kFrameSize, 1, &sp);
  EXPECT_EQ(sp.count, 0u);
  const Stream empty = make_stream({});
  split(empty, 1400, 1, &sp);
  EXPECT_EQ(sp.count, 0u);
  const Stream big = make_stream({70000});
  split(big, wire::kFrameSize + 1, 1, &sp);  // one byte per datagram: more than 65535
  EXPECT_EQ(sp.count, 0u);
  EXPECT_TRUE(sp.out.empty());
  EXPECT_TRUE(sp.ends.empty());
}

TEST(BinaryReassembler, JoinsPiecesInAnyOrder) {
  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::size_t> sizes(1 + rng() % 6);
    for (std::size_t& n : sizes) n = rng() % (rng() % 4 == 0 ? 3000 : 100);
    const Stream s = make_stream(sizes);
    Split sp;
    const std::size_t max = wire::kFrameSize + 1 + rng() % 500;
    split(s, max, static_cast<std::uint16_t>(round), &sp);
    ASSERT_GT(sp.count, 0u);
    std::vector<std::size_t> order(sp.count);
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    wire::Reassembler ra;
    ra.start(static_cast<std::uint16_t>(round));
    for (std::size_t i = 0; i < order.size(); ++i) {
      const auto res = ra.add(sp.datagram(order[i]));
      ASSERT_EQ(res, i + 1 == order.size() ? wire::Reassembler::Result::kComplete
                                           : wire::Reassembler::Result::kPartial);
      ASSERT_LE(sp.datagram(order[i]).size(), max);
    }
    ASSERT_EQ(ra.stream(), s.bytes.view()) << "round " << round;
    EXPECT_EQ(decode_all(ra.stream()).size(), sizes.size());
  }
}

TEST(BinaryReassembler, IgnoresOtherIdsDuplicatesAndInconsistentCounts) {
  const Stream s = make_stream({100, 100, 100});
  Split sp;
  split(s, 8 + 150, 5, &sp);
  ASSERT_EQ(sp.count, 3u);
  wire::Reassembler ra;
  ra.start(5);
  EXPECT_TRUE(ra.stream().empty());
  EXPECT_EQ(ra.add(sp.datagram(1)), wire::Reassembler::Result::kPartial);
  EXPECT_EQ(ra.add(sp.datagram(1)), wire::Reassembler::Result::kIgnored);  // duplicate
  EXPECT_EQ(ra.expected(), 3);
  EXPECT_EQ(ra.received(), 1);
  std::string other(sp.datagram(0));
  other[1] = 6;  // datagram id 6
  EXPECT_EQ(ra.add(other), wire::Reassembler::Result::kIgnored);
  std::string recount(sp.datagram(0));
  recount[5] = 4;  // count 4
  EXPECT_EQ(ra.add(recount), wire::Reassembler::Result::kIgnored);
  std::string beyond(sp.datagram(0));
  beyond[3] = 3;  // seq 3 of 3
  EXPECT_EQ(ra.add(beyond), wire::Reassembler::Result::kIgnored);
  EXPECT_EQ(ra.add("short"), wire::Reassembler::Result::kIgnored);
  EXPECT_EQ(ra.add(sp.datagram(2)), wire::Reassembler::Result::kPartial);
  EXPECT_FALSE(ra.complete());
  EXPECT_EQ(ra.add(sp.datagram(0)), wire::Reassembler::Result::kComplete);
  EXPECT_EQ(ra.add(sp.datagram(0)), wire::Reassembler::Result::kIgnored);  // after completion
  EXPECT_EQ(ra.stream(), s.bytes.view());
  // start() forgets everything.
  ra.start(5);
  EXPECT_EQ(ra.received(), 0);
  EXPECT_EQ(ra.expected(), 0);
  EXPECT_TRUE(ra.stream().empty());
  EXPECT_EQ(ra.add(sp.datagram(0)), wire::Reassembler::Result::kPartial);
}

}  // namespace
}  // namespace ferrite::binary_test
