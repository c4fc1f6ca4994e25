// Fuzz target for the HTTP session: the input is a byte stream fed in pieces whose sizes come
// from the input's first bytes. Checks that the session never consumes more than it was given,
// always makes progress (it consumes everything unless it is closing), keeps each feed's output
// bounded, and that each feed's output starts with a response's status line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/http/session.h"

namespace {

constexpr std::size_t kMaxItem = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // Piece sizes cycle through 1..16 x the first byte's low bits; the second byte picks the
  // reply cap (small caps exercise back-pressure).
  const std::size_t step = static_cast<std::size_t>(data[0] & 0x0f) + 1;
  const std::size_t reply_cap = 64 + std::size_t{data[1]} * 64;
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  // One store for every input (building one per input would dominate the run time), emptied
  // after each input so that inputs do not depend on one another.
  static auto* harness = new ferrite::engine::testing::SessionHarness(std::size_t{8} << 20, kMaxItem);
  ferrite::engine::testing::SessionHarness& h = *harness;
  h.shared().settings.max_reply_bytes = reply_cap;
  auto session = ferrite::engine::make_http_session(h.info());

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
      // One feed stops once past the cap; one reply may be as large as an item or /metrics.
      if (out.size() > reply_cap + kMaxItem + (64 << 10)) std::abort();
      if (!out.empty() && !out.view().starts_with("HTTP/1.1 ")) std::abort();
      pending.consume(used);
      if (used == 0 || pending.empty() || session->closing()) break;
    }
    h.end_iteration();
    // The session keeps partial requests itself: nothing may be left over unless it is closing.
    if (!session->closing() && !pending.empty()) std::abort();
  }
  h.advance_ms(1);  // flush() invalidates what was stored before now
  h.ctx().flush();
  h.end_iteration();
  return 0;
}
