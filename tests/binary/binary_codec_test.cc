#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "binary/binary_test_util.h"
#include "proto/binary/codec.h"

namespace ferrite::binary_test {
namespace {

TEST(BinaryCodec, HeaderFieldsAreBigEndianAtTheirOffsets) {
  wire::Request r = req(wire::Opcode::kSet, 0x11223344, "ab", "xyz");
  r.flags = wire::flag::kQuiet;
  r.ttl = 0x0A0B0C0D;
  r.client_flags = 0xCAFEBABE;
  r.cas = 0x0102030405060708;
  const std::string b = bytes(r);
  ASSERT_EQ(b.size(), wire::kHeaderSize + 5);
  EXPECT_EQ(hex(b.substr(0, 32)),
            "fe010201"            // magic, version, opcode, flags
            "00020000"            // key length, reserved
            "00000003"            // value length
            "0a0b0c0d"            // ttl
            "11223344"            // request id
            "cafebabe"            // client flags
            "0102030405060708");  // cas
  EXPECT_EQ(b.substr(32), "abxyz");
}

TEST(BinaryCodec, RequestRoundTrips) {
  const std::string value = arith_value(5, 100);
  wire::Request r = req(wire::Opcode::kIncr, 7, "counter", value);
  r.flags = wire::flag::kWithKey;
  r.ttl = 60;
  r.client_flags = 3;
  const std::string b = bytes(r) + "trailing";
  wire::Request d;
  const wire::DecodeResult res = wire::decode_request(b, &d);
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res.size, wire::kHeaderSize + 7 + 16);
  EXPECT_EQ(d.opcode, wire::Opcode::kIncr);
  EXPECT_EQ(d.flags, wire::flag::kWithKey);
  EXPECT_EQ(d.ttl, 60u);
  EXPECT_EQ(d.request_id, 7u);
  EXPECT_EQ(d.client_flags, 3u);
  EXPECT_EQ(d.cas, 0u);
  EXPECT_EQ(d.reserved, 0u);
  EXPECT_EQ(d.key, "counter");
  wire::Arith a;
  ASSERT_TRUE(wire::decode_arith(d.value, &a));
  EXPECT_EQ(a.delta, 5u);
  EXPECT_TRUE(a.has_initial);
  EXPECT_EQ(a.initial, 100u);
}

TEST(BinaryCodec, ReplyRoundTrips) {
  wire::Reply r;
  r.opcode = wire::Opcode::kGet;
  r.flags = wire::flag::kWithKey;
  r.status = wire::Status::kOk;
  r.ttl = 99;
  r.request_id = 0xFFFFFFFF;
  r.client_flags = 42;
  r.cas = 1ull << 63;
  r.key = "k";
  r.value = std::string_view("v\0v", 3);
  Buffer b;
  ASSERT_TRUE(wire::encode_reply(b, r));
  EXPECT_EQ(static_cast<unsigned char>(b.data()[0]), wire::kReplyMagic);
  const std::vector<Got> got = decode_all(b.view());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].opcode, wire::Opcode::kGet);
  EXPECT_EQ(got[0].flags, wire::flag::kWithKey);
  EXPECT_EQ(got[0].ttl, 99u);
  EXPECT_EQ(got[0].request_id, 0xFFFFFFFFu);
  EXPECT_EQ(got[0].client_flags, 42u);
  EXPECT_EQ(got[0].cas, 1ull << 63);
  EXPECT_EQ(got[0].key, "k");
  EXPECT_EQ(got[0].value, std::string("v\0v", 3));
}

TEST(BinaryCodec, EveryPrefixNeedsMoreAndSaysHowMuch) {
  const std::string b = bytes(req(wire::Opcode::kSet, 1, "key", "value"));
  for (std::size_t n = 0; n < b.size(); ++n) {
    wire::Request d;
    const wire::DecodeResult res = wire::decode_request(std::string_view(b).substr(0, n), &d);
    ASSERT_EQ(res.status, wire::DecodeStatus::kNeedMore) << n;
    EXPECT_EQ(res.size, n < wire::kHeaderSize ? wire::kHeaderSize : b.size()) << n;
  }
}

TEST(BinaryCodec, BadMagicIsSeenOnTheFirstByteAndBadVersionOnTheSecond) {
  wire::Request d;
  EXPECT_EQ(wire::decode_request("g", &d).status, wire::DecodeStatus::kBadMagic);
  EXPECT_EQ(wire::decode_request("\xfe\x02", &d).status, wire::DecodeStatus::kBadVersion);
  EXPECT_EQ(wire::decode_request("\xfe", &d).status, wire::DecodeStatus::kNeedMore);
  // A reply is not a request, and the other way round.
  Buffer b;
  wire::encode_reply(b, wire::Reply{});
  EXPECT_EQ(wire::decode_request(b.view(), &d).status, wire::DecodeStatus::kBadMagic);
  wire::Reply r;
  EXPECT_EQ(wire::decode_reply(bytes(req(wire::Opcode::kNoop, 1)), &r).status, wire::DecodeStatus::kBadMagic);
}

TEST(BinaryCodec, EncodeRefusesAKeyLongerThanTheWireAllows) {
  const std::string key(wire::kMaxKeyLength + 1, 'k');
  Buffer b;
  EXPECT_FALSE(wire::encode_request(b, req(wire::Opcode::kGet, 1, key)));
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(wire::encode_request(b, req(wire::Opcode::kGet, 1, std::string_view(key).substr(1))));
}

TEST(BinaryCodec, ArithValuesAreEightOrSixteenBytes) {
  wire::Arith a;
  EXPECT_EQ(hex(arith_value(1)), "0000000000000001");
  EXPECT_EQ(hex(arith_value(2, 0x10)), "00000000000000020000000000000010");
  ASSERT_TRUE(wire::decode_arith(arith_value(9), &a));
  EXPECT_EQ(a.delta, 9u);
  EXPECT_FALSE(a.has_initial);
  EXPECT_FALSE(wire::decode_arith("1234567", &a));
  EXPECT_FALSE(wire::decode_arith(std::string(12, '\0'), &a));
  std::uint64_t v = 0;
  char c[8];
  wire::encode_counter(0xFFFFFFFFFFFFFFFF, c);
  ASSERT_TRUE(wire::decode_counter(std::string_view(c, 8), &v));
  EXPECT_EQ(v, 0xFFFFFFFFFFFFFFFFu);
  EXPECT_FALSE(wire::decode_counter("abc", &v));
}

TEST(BinaryCodec, StatsPairsRoundTripAndTruncationIsAnError) {
  Buffer b;
  wire::append_stat(b, "pid", "1234");
  wire::append_stat(b, "version", "");
  EXPECT_EQ(hex(b.view()),
            "0003"
            "706964"
            "0004"
            "31323334"
            "0007"
            "76657273696f6e"
            "0000");
  wire::StatsReader r(b.view());
  std::string_view n, v;
  ASSERT_TRUE(r.next(&n, &v));
  EXPECT_EQ(n, "pid");
  EXPECT_EQ(v, "1234");
  ASSERT_TRUE(r.next(&n, &v));
  EXPECT_EQ(n, "version");
  EXPECT_EQ(v, "");
  EXPECT_FALSE(r.next(&n, &v));
  EXPECT_FALSE(r.error());
  for (std::size_t cut = 1; cut < b.size(); ++cut) {
    if (cut == 11) continue;  // the end of the first pair: a valid shorter list
    wire::StatsReader t(b.view().substr(0, cut));
    while (t.next(&n, &v)) {}
    EXPECT_TRUE(t.error()) << cut;
  }
}

TEST(BinaryCodec, BeginAndFinishReplyFillInTheValueLength) {
  wire::Reply r;
  r.opcode = wire::Opcode::kStats;
  r.request_id = 5;
  r.key = "g";
  Buffer b;
  b.append("xx");  // an earlier reply's bytes
  const std::size_t start = wire::begin_reply(b, r);
  EXPECT_EQ(start, 2u);
  wire::append_stat(b, "a", "b");
  wire::finish_reply(b, start);
  const std::vector<Got> got = decode_all(b.view().substr(2));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].key, "g");
  EXPECT_EQ(got[0].value.size(), 6u);
}

TEST(BinaryCodec, EveryOpcodeAndStatusHasAName) {
  for (int op = 0; op < 256; ++op) {
    const bool known = op >= 1 && op <= 10;
    EXPECT_EQ(wire::opcode_name(static_cast<wire::Opcode>(op)) != "UNKNOWN", known) << op;
  }
  for (int s = 0; s < 64; ++s) {
    const bool known = s <= 13;  // up to WRITE_FAILED
    EXPECT_EQ(wire::status_name(static_cast<wire::Status>(s)) != "UNKNOWN", known) << s;
  }
}

}  // namespace
}  // namespace ferrite::binary_test
