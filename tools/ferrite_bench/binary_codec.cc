// The Ferrite binary protocol's client side, on the codec in src/proto/binary.
#include "codec.h"
#include "proto/binary/codec.h"

namespace ferrite::bench {

namespace {

namespace bin = proto::binary;

Reply bad(std::string_view why) { return {ReplyStatus::kBad, 0, {}, why}; }

class BinaryCodec final : public Codec {
 public:
  void encode_get(Buffer& out, std::string_view key, std::uint32_t id) const override {
    bin::encode_request(out, bin::Request{.opcode = bin::Opcode::kGet, .request_id = id, .key = key});
  }

  void encode_set(Buffer& out, std::string_view key, std::string_view value,
                  std::uint32_t id) const override {
    bin::encode_request(
        out, bin::Request{.opcode = bin::Opcode::kSet, .request_id = id, .key = key, .value = value});
  }

  std::size_t request_size(Op op, std::size_t key_size, std::size_t value_size) const override {
    return bin::kHeaderSize + key_size + (op == Op::kSet ? value_size : 0);
  }

  Reply parse(std::string_view in, Op op, std::string_view /*key*/, std::uint32_t id) const override {
    bin::Reply r;
    const bin::DecodeResult d = bin::decode_reply(in, &r);
    switch (d.status) {
      case bin::DecodeStatus::kNeedMore:
        if (d.size > bin::kHeaderSize + bin::kMaxKeyLength + kMaxValueBytes)
          return bad("reply length out of range");
        return {};
      case bin::DecodeStatus::kBadMagic:
        return bad("bad reply magic");
      case bin::DecodeStatus::kBadVersion:
        return bad("bad reply version");
      case bin::DecodeStatus::kOk:
        break;
    }
    const bin::Opcode want = op == Op::kGet ? bin::Opcode::kGet : bin::Opcode::kSet;
    if (r.request_id != id) return bad("reply for another request id");
    if (r.opcode != want) return bad("reply for another opcode");
    if (r.status == bin::Status::kOk) {
      if (op == Op::kGet) return {ReplyStatus::kHit, d.size, r.value, {}};
      if (!r.value.empty()) return bad("SET reply with a value");
      return {ReplyStatus::kStored, d.size, {}, {}};
    }
    if (op == Op::kGet && r.status == bin::Status::kNotFound) return {ReplyStatus::kMiss, d.size, {}, {}};
    return {ReplyStatus::kError, d.size, {}, bin::status_name(r.status)};
  }
};

}  // namespace

std::unique_ptr<Codec> make_binary_codec() { return std::make_unique<BinaryCodec>(); }

}  // namespace ferrite::bench
