// The binary protocol over TCP: frames requests by their header, refuses over-limit ones from the
// header alone (skipping their bodies as they arrive), and runs each read's requests as batches.
#include <algorithm>
#include <vector>

#include "engine/binary/binary.h"
#include "engine/binary/executor.h"
#include "proto/binary/codec.h"

namespace ferrite::engine {
namespace {

namespace wire = proto::binary;
using binary::Executor;
using binary::Pending;

class BinarySession final : public Session {
 public:
  explicit BinarySession(const ConnInfo& info) : Session(info), exec_(Proto::kBinary) {
    batch_.reserve(kBatch);
    ends_.reserve(kBatch);
  }

  Proto proto() const noexcept override { return Proto::kBinary; }
  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override;

 private:
  static constexpr std::size_t kBatch = 64;  // requests framed before they are run

  enum class Framed : std::uint8_t { kFull, kMore, kSkip, kBad };
  Framed frame(std::string_view in, std::size_t* scan, Exec& ex);

  Executor exec_;
  std::vector<Pending> batch_;
  std::vector<std::size_t> ends_;  // where each of batch_ ends in the input
  std::uint64_t skip_ = 0;         // body bytes of a refused request still to come
  std::uint64_t batch_skip_ = 0;   // what skip_ becomes once the batch's last request has run
};

// Frames requests from `*scan` on into batch_ until the batch is full (kFull), the input ends
// with an incomplete request (kMore), a refused request's body continues past the input (kSkip),
// or the input is not a request (kBad).
BinarySession::Framed BinarySession::frame(std::string_view in, std::size_t* scan, Exec& ex) {
  while (batch_.size() < kBatch) {
    const std::string_view rest = in.substr(*scan);
    wire::Header h;
    const wire::DecodeResult d = wire::decode_header(rest, wire::kRequestMagic, &h);
    if (d.status == wire::DecodeStatus::kNeedMore) return Framed::kMore;
    if (!d.ok()) return Framed::kBad;
    Pending p;
    p.refuse = binary::refuse_by_header(h, ex);
    if (p.refuse != wire::Status::kOk) {
      p.req.opcode = static_cast<wire::Opcode>(h.opcode);
      p.req.flags = h.flags;
      p.req.request_id = h.request_id;
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(d.size, rest.size()));
      *scan += take;
      batch_.push_back(p);
      ends_.push_back(*scan);
      if (take < d.size) {
        batch_skip_ = d.size - take;
        return Framed::kSkip;
      }
      continue;
    }
    if (rest.size() < d.size) return Framed::kMore;
    wire::decode_request(rest, &p.req);
    *scan += d.size;
    batch_.push_back(p);
    ends_.push_back(*scan);
  }
  return Framed::kFull;
}

std::size_t BinarySession::feed(std::string_view in, Buffer& out, Exec& ex) {
  const std::size_t cap = ex.reply_limit();
  std::size_t pos = 0;
  for (;;) {
    if (skip_ > 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, in.size() - pos));
      pos += n;
      skip_ -= n;
      if (skip_ > 0) return pos;
    }
    if (out.size() >= cap) return pos;
    batch_.clear();
    ends_.clear();
    batch_skip_ = 0;
    std::size_t scan = pos;
    const Framed f = frame(in, &scan, ex);
    const std::size_t ran = exec_.run(batch_, out, ex, cap, nullptr);
    if (ran > 0) pos = ends_[ran - 1];
    if (ran < batch_.size()) return pos;  // over the reply cap: the rest waits
    switch (f) {
      case Framed::kFull:
        continue;
      case Framed::kMore:
        return pos;
      case Framed::kSkip:
        skip_ = batch_skip_;
        continue;
      case Framed::kBad:
        Executor::bad_version(out);
        ex.protocol_error(Proto::kBinary);
        ex.count(Proto::kBinary, Op::k_error);
        close_after_reply();
        return in.size();
    }
  }
}

}  // namespace

std::unique_ptr<Session> make_binary_session(const ConnInfo& info) {
  return std::make_unique<BinarySession>(info);
}

StreamService binary_service() {
  return {[](const ConnInfo& info, std::string_view) { return make_binary_session(info); }, false, {}};
}

}  // namespace ferrite::engine
