// Fuzz target for the binary protocol's UDP handler. The first byte picks the reply datagram
// size; the rest is one request datagram. Checks: no crash, every reply datagram within the size
// and framed with the request's id and consistent sequence numbers, and the reassembled stream
// is whole, decodable replies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/binary/binary.h"
#include "engine_test_util.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ferrite;
  namespace wire = proto::binary;
  static auto* h = new engine::testing::SessionHarness(std::size_t{16} << 20, 4096);
  static auto handler = engine::make_binary_udp_handler();
  static engine::DatagramOut out;
  static wire::Reassembler ra;
  if (size < 1) return 0;
  const std::size_t max = 9 + std::size_t{data[0]} * 8;
  h->shared().settings.udp_max_datagram = max;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  out.clear();
  handler->on_datagram(in, out, h->exec());
  if (out.count() > 0) {
    wire::Frame req;
    if (!wire::decode_frame(in, &req)) std::abort();
    ra.start(req.datagram_id);
    for (std::size_t i = 0; i < out.count(); ++i) {
      const std::string_view d = out.datagram(i);
      wire::Frame f;
      if (d.size() > max || d.size() <= wire::kFrameSize || !wire::decode_frame(d, &f)) std::abort();
      if (f.datagram_id != req.datagram_id || f.seq != i || f.count != out.count()) std::abort();
      const auto r = ra.add(d);
      if (r != (i + 1 == out.count() ? wire::Reassembler::Result::kComplete
                                     : wire::Reassembler::Result::kPartial)) {
        std::abort();
      }
    }
    for (std::string_view stream = ra.stream(); !stream.empty();) {
      wire::Reply r;
      const wire::DecodeResult d = wire::decode_reply(stream, &r);
      if (!d.ok()) std::abort();
      stream.remove_prefix(d.size);
    }
  }
  h->end_iteration();
  return 0;
}
