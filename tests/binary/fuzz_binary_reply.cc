// Fuzz target for the client side: the reply decoder, the STATS reader and the UDP reassembler,
// on bytes from a hostile or broken server. Checks: no crash, no read past the input, a decoded
// reply re-encodes to exactly the bytes it was decoded from, and a completed reassembly holds
// exactly the accepted payloads.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/buffer.h"
#include "proto/binary/codec.h"
#include "proto/binary/udp.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ferrite;
  namespace wire = proto::binary;
  static Buffer again;
  static wire::Reassembler ra;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // As a TCP stream of replies.
  for (std::string_view rest = in; !rest.empty();) {
    wire::Reply r;
    const wire::DecodeResult d = wire::decode_reply(rest, &r);
    if (d.status == wire::DecodeStatus::kNeedMore) {
      if (d.size <= rest.size()) std::abort();
      break;
    }
    if (!d.ok()) break;
    if (d.size > rest.size()) std::abort();
    again.clear();
    if (!wire::encode_reply(again, r) || again.view() != rest.substr(0, d.size)) std::abort();
    wire::StatsReader sr(r.value);
    std::string_view name, value;
    std::size_t pairs_bytes = 0;
    while (sr.next(&name, &value)) pairs_bytes += 4 + name.size() + value.size();
    if (!sr.error() && pairs_bytes != r.value.size()) std::abort();
    rest.remove_prefix(d.size);
  }

  // As datagrams, each prefixed by a one-byte length, for one reassembly.
  ra.start(size > 0 ? data[0] : 0);
  std::size_t accepted = 0;
  for (std::string_view rest = in.substr(size > 0 ? 1 : 0); !rest.empty();) {
    const std::size_t n = static_cast<std::uint8_t>(rest[0]);
    rest.remove_prefix(1);
    const std::string_view d = rest.substr(0, n);
    rest.remove_prefix(d.size());
    if (ra.add(d) != wire::Reassembler::Result::kIgnored) accepted += d.size() - wire::kFrameSize;
  }
  if (ra.complete() && ra.stream().size() != accepted) std::abort();
  if (!ra.complete() && !ra.stream().empty()) std::abort();
  return 0;
}
