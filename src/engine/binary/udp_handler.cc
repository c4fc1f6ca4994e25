#include <algorithm>
#include <span>
#include <vector>

#include "engine/binary/binary.h"
#include "engine/binary/executor.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"

namespace ferrite::engine {
namespace {

namespace wire = proto::binary;
using binary::Executor;
using binary::Pending;

// The binary protocol over UDP: every request of a datagram is framed (or the datagram dropped)
// before any runs; the replies, as one stream, are cut into framed datagrams.
class BinaryUdpHandler final : public DatagramHandler {
 public:
  BinaryUdpHandler() : exec_(Proto::kBinaryUdp) {
    batch_.reserve(kMaxRequests);
    reply_ends_.reserve(kMaxRequests);
  }
  void on_datagram(std::string_view in, DatagramOut& out, Exec& ex) override;
  bool first_key(std::string_view in, store::KeyRef* out) const noexcept override {
    // The first request's key: frame header, request header, then the key.
    if (in.size() < wire::kFrameSize + wire::kHeaderSize) return false;
    const wire::Header h = wire::read_header(in.data() + wire::kFrameSize);
    const std::size_t at = wire::kFrameSize + wire::kHeaderSize;
    if (h.key_length == 0 || in.size() - at < h.key_length) return false;
    *out = store::make_key(in.substr(at, h.key_length));
    return true;
  }

 private:
  // A datagram's payload is at most 65535 bytes, a request at least a header.
  static constexpr std::size_t kMaxRequests = 65536 / wire::kHeaderSize;

  void drop(Exec& ex) noexcept {
    ex.stats.datagrams_dropped.add();
    ex.protocol_error(Proto::kBinaryUdp);
  }

  Executor exec_;
  std::vector<Pending> batch_;
  Buffer stream_;
  std::vector<std::uint32_t> reply_ends_;
};

void BinaryUdpHandler::on_datagram(std::string_view in, DatagramOut& out, Exec& ex) {
  wire::Frame f;
  if (!wire::decode_frame(in, &f) || f.seq != 0 || f.count != 1 || f.reserved != 0 ||
      in.size() == wire::kFrameSize) {
    drop(ex);
    return;
  }
  batch_.clear();
  for (std::string_view rest = in.substr(wire::kFrameSize); !rest.empty();) {
    Pending p;
    const wire::DecodeResult d = wire::decode_request(rest, &p.req);
    if (!d.ok() || batch_.size() == kMaxRequests) {  // truncated, bad magic or version: all or nothing
      drop(ex);
      return;
    }
    p.refuse = binary::refuse_by_header(wire::read_header(rest.data()), ex);
    batch_.push_back(p);
    rest.remove_prefix(d.size);
  }
  stream_.clear();
  reply_ends_.clear();
  // The replies are held until the whole datagram has run, within a bound set before any is
  // built: max_reply_bytes, what 65535 datagrams carry, and the reflection bound (frames
  // included). A GET whose value would pass it, and every request after the bound is reached,
  // are answered TOO_LARGE (fetch such values over TCP).
  const std::size_t max_datagram = ex.settings().udp_max_datagram;
  if (max_datagram <= wire::kFrameSize) {
    ex.stats.datagrams_dropped.add();
    return;
  }
  const std::size_t payload = max_datagram - wire::kFrameSize;
  std::size_t budget = std::min<std::size_t>(ex.settings().max_reply_bytes, payload * 0xffff);
  if (ex.datagram_reply_bytes != static_cast<std::size_t>(-1)) {
    const std::size_t r = ex.datagram_reply_bytes;
    const std::size_t tail = r % max_datagram;
    budget = std::min(budget,
                      r / max_datagram * payload + (tail > wire::kFrameSize ? tail - wire::kFrameSize : 0));
  }
  const std::size_t ran = exec_.run(batch_, stream_, ex, budget, &reply_ends_);
  if (ran < batch_.size()) {
    for (std::size_t i = ran; i < batch_.size(); ++i) {
      batch_[i].refuse = wire::Status::kTooLarge;
      batch_[i].message = binary::kTooLargeForUdp;
    }
    exec_.run(std::span<const Pending>(batch_).subspan(ran), stream_, ex, static_cast<std::size_t>(-1),
              &reply_ends_);
  }
  if (stream_.empty()) return;
  if (wire::split_replies(stream_.view(), reply_ends_, ex.settings().udp_max_datagram, f.datagram_id, out.buf,
                          out.ends) == 0) {
    ex.stats.datagrams_dropped.add();
  }
}

}  // namespace

std::unique_ptr<DatagramHandler> make_binary_udp_handler() { return std::make_unique<BinaryUdpHandler>(); }

}  // namespace ferrite::engine
