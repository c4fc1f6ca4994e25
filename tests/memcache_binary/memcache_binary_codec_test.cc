// The binary protocol codec against the byte examples of memcached's protocol-binary.txt.
#include <gtest/gtest.h>

#include <string>

#include "memcache_binary/memcache_binary_test_util.h"

namespace ferrite::testing::mcb {
namespace {

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

mb::Header header(std::uint8_t opcode, std::uint16_t key, std::uint8_t ext, std::uint32_t body) {
  mb::Header h;
  h.magic = mb::kRequestMagic;
  h.opcode = opcode;
  h.key_len = key;
  h.extras_len = ext;
  h.body_len = body;
  return h;
}

TEST(MemcacheBinaryCodec, ParsesTheSpecGetRequest) {
  const std::string in = bytes({0x80, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,
                                0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}) +
                         "Hello";
  const mb::Header h = mb::parse_header(in);
  EXPECT_EQ(h.magic, 0x80);
  EXPECT_EQ(h.opcode, 0x00);
  EXPECT_EQ(h.key_len, 5);
  EXPECT_EQ(h.extras_len, 0);
  EXPECT_EQ(h.body_len, 5u);
  EXPECT_EQ(h.packet_len(), in.size());
  EXPECT_EQ(mb::check_request(h, 250), mb::Check::kOk);
}

TEST(MemcacheBinaryCodec, EncodesTheSpecSetRequest) {
  const std::string expect = bytes({0x80, 0x01, 0x00, 0x05, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x00, 0x0e, 0x10}) +
                             "HelloWorld";
  Buffer b;
  mb::append_request(b, op(Opcode::kSet), store_extras(0xdeadbeef, 0xe10), "Hello", "World");
  EXPECT_EQ(b.view(), expect);
  const mb::StoreExtras e = mb::parse_store_extras(std::string_view(expect).substr(24, 8));
  EXPECT_EQ(e.flags, 0xdeadbeefu);
  EXPECT_EQ(e.expiration, 0xe10u);
}

TEST(MemcacheBinaryCodec, EncodesTheSpecGetResponse) {
  const std::string expect =
      bytes({0x81, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef}) +
      "World";
  Buffer b;
  mb::append_response(b, op(Opcode::kGet), Status::kSuccess, 0, 1, be32(0xdeadbeef), {}, "World");
  EXPECT_EQ(b.view(), expect);
}

TEST(MemcacheBinaryCodec, EncodesTheSpecIncrementRequest) {
  const std::string expect =
      bytes({0x80, 0x05, 0x00, 0x07, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x00, 0x00, 0x00,
             0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
             0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, 0x10}) +
      "counter";
  Buffer b;
  mb::append_request(b, op(Opcode::kIncrement), arith_extras(1, 0, 0xe10), "counter", {});
  EXPECT_EQ(b.view(), expect);
  const mb::ArithExtras a = mb::parse_arith_extras(std::string_view(expect).substr(24, 20));
  EXPECT_EQ(a.delta, 1u);
  EXPECT_EQ(a.initial, 0u);
  EXPECT_EQ(a.expiration, 0xe10u);
}

TEST(MemcacheBinaryCodec, HeaderFieldsAreBigEndian) {
  mb::Header h;
  h.magic = 0x81;
  h.opcode = 0x1d;
  h.key_len = 0x0102;
  h.extras_len = 0x03;
  h.data_type = 0x04;
  h.vbucket = 0x0506;
  h.body_len = 0x0708090a;
  h.opaque = 0x0b0c0d0e;
  h.cas = 0x0f10111213141516;
  Buffer b;
  mb::append_header(b, h);
  EXPECT_EQ(b.view(), bytes({0x81, 0x1d, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                             0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16}));
  const mb::Header back = mb::parse_header(b.view());
  EXPECT_EQ(back.key_len, h.key_len);
  EXPECT_EQ(back.vbucket, h.vbucket);
  EXPECT_EQ(back.body_len, h.body_len);
  EXPECT_EQ(back.opaque, h.opaque);
  EXPECT_EQ(back.cas, h.cas);
}

TEST(MemcacheBinaryCodec, ErrorResponseCarriesMemcachedsMessage) {
  Buffer b;
  mb::append_error(b, op(Opcode::kGetQ), Status::kKeyNotFound, 0x11223344);
  const auto r = parse(b.view());
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].opcode, op(Opcode::kGetQ));
  EXPECT_EQ(r[0].status, Status::kKeyNotFound);
  EXPECT_EQ(r[0].opaque, 0x11223344u);
  EXPECT_EQ(r[0].cas, 0u);
  EXPECT_TRUE(r[0].extras.empty());
  EXPECT_TRUE(r[0].key.empty());
  EXPECT_EQ(r[0].value, "Not found");
  EXPECT_EQ(mb::status_message(Status::kKeyExists), "Data exists for key.");
  EXPECT_EQ(mb::status_message(Status::kValueTooLarge), "Too large.");
  EXPECT_EQ(mb::status_message(Status::kItemNotStored), "Not stored.");
  EXPECT_EQ(mb::status_message(Status::kUnknownCommand), "Unknown command");
}

TEST(MemcacheBinaryCodec, QuietOpcodesMapToTheirLoudForms) {
  const std::pair<Opcode, Opcode> pairs[] = {
      {Opcode::kGetQ, Opcode::kGet},
      {Opcode::kGetKQ, Opcode::kGetK},
      {Opcode::kSetQ, Opcode::kSet},
      {Opcode::kAddQ, Opcode::kAdd},
      {Opcode::kReplaceQ, Opcode::kReplace},
      {Opcode::kDeleteQ, Opcode::kDelete},
      {Opcode::kIncrementQ, Opcode::kIncrement},
      {Opcode::kDecrementQ, Opcode::kDecrement},
      {Opcode::kQuitQ, Opcode::kQuit},
      {Opcode::kFlushQ, Opcode::kFlush},
      {Opcode::kAppendQ, Opcode::kAppend},
      {Opcode::kPrependQ, Opcode::kPrepend},
      {Opcode::kGatQ, Opcode::kGat},
      {Opcode::kGatKQ, Opcode::kGatK},
  };
  for (const auto& [quiet, loud] : pairs) {
    const mb::OpcodeInfo q = mb::opcode_info(op(quiet)), l = mb::opcode_info(op(loud));
    EXPECT_TRUE(q.quiet) << int(op(quiet));
    EXPECT_FALSE(l.quiet) << int(op(loud));
    EXPECT_EQ(q.base, loud);
    EXPECT_EQ(q.command, l.command);
    EXPECT_EQ(q.returns_key, l.returns_key);
  }
  EXPECT_TRUE(mb::opcode_info(op(Opcode::kGetK)).returns_key);
  EXPECT_TRUE(mb::opcode_info(op(Opcode::kGatKQ)).returns_key);
  EXPECT_FALSE(mb::opcode_info(op(Opcode::kGat)).returns_key);
  EXPECT_EQ(mb::opcode_info(0x20).command, mb::Command::kUnknown);  // SASL: not supported
  EXPECT_EQ(mb::opcode_info(0xff).command, mb::Command::kUnknown);
}

TEST(MemcacheBinaryCodec, CheckAcceptsEachOpcodesLayout) {
  EXPECT_EQ(mb::check_request(header(op(Opcode::kNoop), 0, 0, 0), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kVersion), 0, 0, 0), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kQuitQ), 0, 0, 0), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kFlush), 0, 0, 0), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kFlushQ), 0, 4, 4), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kSet), 3, 8, 11), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kAddQ), 3, 8, 1000), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kAppend), 3, 0, 10), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGetKQ), 3, 0, 3), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kDelete), 3, 0, 3), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kDecrementQ), 3, 20, 23), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kTouch), 3, 4, 7), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGatK), 3, 4, 7), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kStat), 0, 0, 0), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kStat), 8, 0, 8), 250), mb::Check::kOk);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kVerbosity), 0, 4, 4), 250), mb::Check::kOk);
}

TEST(MemcacheBinaryCodec, CheckRejectsLayoutsMemcachedRejects) {
  // key + extras longer than the body
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 5, 0, 4), 250), mb::Check::kBadLengths);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kSet), 1, 8, 8), 250), mb::Check::kBadLengths);
  EXPECT_EQ(mb::check_request(header(0x77, 0, 4, 0), 250), mb::Check::kBadLengths);
  // unknown opcode, valid lengths
  EXPECT_EQ(mb::check_request(header(0x77, 0, 0, 100), 250), mb::Check::kUnknownCommand);
  // key over the limit
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 251, 0, 251), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 251, 0, 251), 251), mb::Check::kOk);
  // lengths the opcode does not allow
  EXPECT_EQ(mb::check_request(header(op(Opcode::kNoop), 0, 0, 1), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kVersion), 1, 0, 1), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kQuit), 0, 4, 4), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kFlush), 0, 8, 8), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kFlush), 0, 0, 4), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kSet), 3, 4, 11), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kSet), 0, 8, 11), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kAppend), 3, 8, 11), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 0, 0, 0), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 3, 0, 4), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGet), 3, 4, 7), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kDelete), 3, 4, 7), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kIncrement), 3, 8, 11), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kIncrement), 3, 20, 24), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kTouch), 3, 0, 3), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kGat), 0, 4, 4), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kStat), 0, 4, 4), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kStat), 3, 0, 5), 250), mb::Check::kInvalid);
  EXPECT_EQ(mb::check_request(header(op(Opcode::kVerbosity), 0, 0, 0), 250), mb::Check::kInvalid);
}

}  // namespace
}  // namespace ferrite::testing::mcb
