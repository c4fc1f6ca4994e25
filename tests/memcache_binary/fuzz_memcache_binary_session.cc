// Fuzz target for the memcached binary-protocol session: the input is a byte stream fed in
// pieces whose sizes come from the input's first bytes. Checks that the session never consumes
// more than it was given, never holds more than a request's worth of input, keeps each feed's
// output bounded, and that everything it writes is a well-formed response packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/memcache_binary/session.h"
#include "proto/memcache_binary/codec.h"

namespace {

namespace mb = ferrite::proto::memcache_binary;

constexpr std::size_t kMaxItem = 4096;

void check_replies(std::string_view s) {
  while (!s.empty()) {
    if (s.size() < mb::kHeaderSize) std::abort();
    const mb::Header h = mb::parse_header(s);
    if (h.magic != mb::kResponseMagic || s.size() < h.packet_len()) std::abort();
    if (std::size_t{h.key_len} + h.extras_len > h.body_len) std::abort();
    s.remove_prefix(h.packet_len());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Piece sizes cycle through 1..16 x the first byte's low bits; the second byte picks the
  // reply cap (small caps exercise back-pressure).
  const std::size_t step = static_cast<std::size_t>(data[0] & 0x0f) + 1;
  const std::size_t reply_cap = 256 + std::size_t{data[1]} * 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  // One store for the whole run (building one per input would dominate the time); each input
  // starts from an empty one.
  static ferrite::engine::testing::SessionHarness h(std::size_t{8} << 20, kMaxItem);
  h.ctx().flush();
  h.ctx().sweep_flushed();
  h.end_iteration();
  h.shared().settings.max_reply_bytes = reply_cap;
  h.shared().settings.max_request_bytes = 2 * kMaxItem;
  auto session = ferrite::engine::make_memcache_binary_session(h.info());

  ferrite::Buffer pending, out;
  std::size_t off = 0, piece = step;
  while (off < input.size() && !session->closing()) {
    const std::size_t n = std::min(piece, input.size() - off);
    pending.append(input.substr(off, n));
    off += n;
    piece = piece % 16 + step;
    for (;;) {
      out.clear();
      const std::size_t used = session->feed(pending.view(), out, h.exec());
      if (used > pending.size()) std::abort();
      // One feed stops once past the cap; a single reply may be as large as an item or the stats.
      if (out.size() > reply_cap + kMaxItem + (64 << 10)) std::abort();
      check_replies(out.view());
      pending.consume(used);
      if (used == 0 || pending.empty() || session->closing()) break;
    }
    h.end_iteration();
    if (!session->closing() && pending.size() > h.shared().settings.max_request_bytes + mb::kHeaderSize)
      std::abort();
  }
  return 0;
}
