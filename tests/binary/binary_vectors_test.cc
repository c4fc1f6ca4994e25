// Checks docs/protocol.md's test vectors against the codec and the server: each hex block must
// decode to the message described here and encode back to the same bytes, and the example
// requests played against a fresh server must get the example replies. The document's path comes
// from the environment (FERRITE_PROTOCOL_MD, set by meson).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "binary/binary_test_util.h"
#include "engine/binary/binary.h"
#include "engine_test_util.h"

namespace ferrite::binary_test {
namespace {

using wire::Opcode;
using wire::Status;

// label -> bytes of every ```hex <label> block.
std::map<std::string, std::string> read_vectors() {
  const char* path = std::getenv("FERRITE_PROTOCOL_MD");
  EXPECT_NE(path, nullptr) << "FERRITE_PROTOCOL_MD is not set";
  std::map<std::string, std::string> v;
  if (path == nullptr) return v;
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::string line, label;
  bool in_block = false;
  while (std::getline(f, line)) {
    if (!in_block) {
      if (line.rfind("```hex ", 0) == 0) {
        label = line.substr(7);
        EXPECT_EQ(v.count(label), 0u) << "duplicate vector " << label;
        v[label];
        in_block = true;
      }
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      in_block = false;
      continue;
    }
    std::istringstream words(line.substr(0, line.find('#')));
    std::string w;
    while (words >> w) {
      EXPECT_EQ(w.size(), 2u) << label << ": " << line;
      v[label].push_back(static_cast<char>(std::stoul(w, nullptr, 16)));
    }
  }
  EXPECT_FALSE(in_block) << "unterminated block " << label;
  return v;
}

const std::map<std::string, std::string>& vectors() {
  static const std::map<std::string, std::string> v = read_vectors();
  return v;
}
std::string vec(const std::string& label) {
  const auto it = vectors().find(label);
  EXPECT_NE(it, vectors().end()) << "docs/protocol.md has no vector " << label;
  return it == vectors().end() ? std::string() : it->second;
}

std::string counter(std::uint64_t v) {
  char b[8];
  wire::encode_counter(v, b);
  return std::string(b, 8);
}
std::string stats_value() {
  Buffer b;
  wire::append_stat(b, "pid", "4242");
  wire::append_stat(b, "version", "0.1.0");
  return std::string(b.view());
}

// What each request and reply vector must decode to.
std::map<std::string, wire::Request> requests() {
  static const std::string incr = arith_value(1, 10);
  std::map<std::string, wire::Request> m;
  wire::Request r = req(Opcode::kSet, 1, "foo", "bar");
  r.ttl = 300;
  r.client_flags = 42;
  m["set-request"] = r;
  r = req(Opcode::kGet, 2, "foo");
  r.flags = wire::flag::kWithKey;
  m["get-request"] = r;
  m["incr-request"] = req(Opcode::kIncr, 3, "hits", incr);
  r = req(Opcode::kGet, 4, "nope");
  r.flags = wire::flag::kQuiet;
  m["get-quiet-request"] = r;
  m["noop-request"] = req(Opcode::kNoop, 5);
  r = req(Opcode::kDelete, 6, "foo");
  r.cas = 64;
  m["delete-request"] = r;
  m["bad-request"] = req(Opcode::kGet, 7);
  m["stats-request"] = req(Opcode::kStats, 8);
  return m;
}

wire::Reply reply(Opcode op, std::uint32_t id, Status st = Status::kOk) {
  wire::Reply r;
  r.opcode = op;
  r.request_id = id;
  r.status = st;
  return r;
}

std::map<std::string, wire::Reply> replies() {
  static const std::string ten = counter(10), stats = stats_value();
  std::map<std::string, wire::Reply> m;
  wire::Reply r = reply(Opcode::kSet, 1);
  r.cas = 64;
  m["set-reply"] = r;
  r = reply(Opcode::kGet, 2);
  r.flags = wire::flag::kWithKey;
  r.key = "foo";
  r.value = "bar";
  r.ttl = 300;
  r.client_flags = 42;
  r.cas = 64;
  m["get-reply"] = r;
  r = reply(Opcode::kIncr, 3);
  r.value = ten;
  r.cas = 128;
  m["incr-reply"] = r;
  m["noop-reply"] = reply(Opcode::kNoop, 5);
  m["delete-reply"] = reply(Opcode::kDelete, 6);
  r = reply(Opcode::kGet, 7, Status::kBadRequest);
  r.value = "key required";
  m["bad-request-reply"] = r;
  r = reply(Opcode::kStats, 8);
  r.value = stats;
  m["stats-reply"] = r;
  r = reply(static_cast<Opcode>(0), 0, Status::kBadVersion);
  r.value = "bad magic or version";
  m["bad-version-reply"] = r;
  return m;
}

void expect_same(const wire::Reply& want, const Got& got, const std::string& label, bool with_cas) {
  EXPECT_EQ(got.opcode, want.opcode) << label;
  EXPECT_EQ(got.flags, want.flags) << label;
  EXPECT_EQ(got.status, want.status) << label;
  EXPECT_EQ(got.ttl, want.ttl) << label;
  EXPECT_EQ(got.request_id, want.request_id) << label;
  EXPECT_EQ(got.client_flags, want.client_flags) << label;
  EXPECT_EQ(got.key, want.key) << label;
  EXPECT_EQ(got.value, want.value) << label;
  if (with_cas) {
    EXPECT_EQ(got.cas, want.cas) << label;
  } else {
    EXPECT_EQ(got.cas != 0, want.cas != 0) << label;
  }
}

TEST(BinaryVectors, EveryVectorInTheDocumentIsChecked) {
  std::set<std::string> known = {"udp-request", "udp-reply-0", "udp-reply-1", "udp-reply-2"};
  for (const auto& [label, r] : requests()) known.insert(label);
  for (const auto& [label, r] : replies()) known.insert(label);
  std::set<std::string> in_doc;
  for (const auto& [label, bytes] : vectors()) in_doc.insert(label);
  EXPECT_EQ(in_doc, known);
}

TEST(BinaryVectors, RequestsDecodeAndEncodeToTheDocumentsBytes) {
  for (const auto& [label, want] : requests()) {
    const std::string b = vec(label);
    wire::Request got;
    const wire::DecodeResult d = wire::decode_request(b, &got);
    ASSERT_TRUE(d.ok()) << label;
    EXPECT_EQ(d.size, b.size()) << label;
    EXPECT_EQ(got.opcode, want.opcode) << label;
    EXPECT_EQ(got.flags, want.flags) << label;
    EXPECT_EQ(got.ttl, want.ttl) << label;
    EXPECT_EQ(got.request_id, want.request_id) << label;
    EXPECT_EQ(got.client_flags, want.client_flags) << label;
    EXPECT_EQ(got.cas, want.cas) << label;
    EXPECT_EQ(got.key, want.key) << label;
    EXPECT_EQ(got.value, want.value) << label;
    EXPECT_EQ(hex(bytes(want)), hex(b)) << label;
  }
}

TEST(BinaryVectors, RepliesDecodeAndEncodeToTheDocumentsBytes) {
  for (const auto& [label, want] : replies()) {
    const std::string b = vec(label);
    const std::vector<Got> got = decode_all(b);
    ASSERT_EQ(got.size(), 1u) << label;
    expect_same(want, got[0], label, true);
    Buffer e;
    ASSERT_TRUE(wire::encode_reply(e, want));
    EXPECT_EQ(hex(e.view()), hex(b)) << label;
  }
}

TEST(BinaryVectors, TheServerAnswersTheTcpSessionAsDocumented) {
  engine::testing::SessionHarness h;
  auto s = engine::make_binary_session(h.info());
  const auto want = replies();
  const std::vector<std::pair<std::string, std::string>> session = {
      {"set-request", "set-reply"},         {"get-request", "get-reply"},
      {"incr-request", "incr-reply"},       {"get-quiet-request", ""},
      {"noop-request", "noop-reply"},       {"delete-request", "delete-reply"},
      {"bad-request", "bad-request-reply"},
  };
  std::uint64_t set_cas = 0;
  for (const auto& [rq, rp] : session) {
    std::string in = vec(rq);
    if (rq == "delete-request") wire::store_be64(in.data() + 24, set_cas);  // the CAS this server gave
    const std::vector<Got> got = decode_all(h.feed(*s, in));
    if (rp.empty()) {
      EXPECT_TRUE(got.empty()) << rq;
      continue;
    }
    ASSERT_EQ(got.size(), 1u) << rq;
    expect_same(want.at(rp), got[0], rp, false);
    if (rq == "set-request") set_cas = got[0].cas;
  }
  // STATS: the real reply has many more pairs; it must parse and have the example's names.
  const std::vector<Got> stats = decode_all(h.feed(*s, vec("stats-request")));
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].status, Status::kOk);
  wire::StatsReader rd(stats[0].value);
  std::string_view name, value;
  std::set<std::string> names;
  while (rd.next(&name, &value)) names.insert(std::string(name));
  EXPECT_FALSE(rd.error());
  EXPECT_TRUE(names.count("pid") && names.count("version"));
  // Not the protocol at all: BAD_VERSION, byte for byte, and the connection closes.
  EXPECT_EQ(hex(h.feed(*s, "get foo\r\n")), hex(vec("bad-version-reply")));
  EXPECT_TRUE(s->closing());
}

TEST(BinaryVectors, UdpDatagramsAreTheDocumentsBytes) {
  const std::string d = vec("udp-request");
  wire::Frame f;
  ASSERT_TRUE(wire::decode_frame(d, &f));
  EXPECT_EQ(f.datagram_id, 0x1234);
  wire::Request get = req(Opcode::kGet, 1, "foo");
  get.flags = wire::flag::kWithKey;
  Buffer b;
  wire::begin_request_datagram(b, 0x1234);
  wire::encode_request(b, get);
  wire::encode_request(b, req(Opcode::kNoop, 2));
  EXPECT_EQ(hex(b.view()), hex(d));

  engine::testing::SessionHarness h;
  h.shared().settings.udp_max_datagram = 40;
  auto handler = engine::make_binary_udp_handler();
  engine::DatagramOut out;
  handler->on_datagram(d, out, h.exec());
  ASSERT_EQ(out.count(), 3u);
  wire::Reassembler ra;
  ra.start(0x1234);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(hex(out.datagram(i)), hex(vec(numbered("udp-reply-", i)))) << i;
    ra.add(vec(numbered("udp-reply-", i)));
  }
  ASSERT_TRUE(ra.complete());
  const std::vector<Got> got = decode_all(ra.stream());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].status, Status::kNotFound);
  EXPECT_EQ(got[0].key, "foo");
  EXPECT_EQ(got[1].opcode, Opcode::kNoop);
}

}  // namespace
}  // namespace ferrite::binary_test
