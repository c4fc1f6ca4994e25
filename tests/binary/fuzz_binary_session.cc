// Fuzz target for the binary protocol's TCP session. The first byte picks the size of the pieces
// the input arrives in, the second the reply cap; the rest is what the peer sends. Checks: no
// crash, never more consumed than offered, output bounded by the cap plus one reply, and every
// byte of output is whole, decodable replies.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/buffer.h"
#include "engine/binary/binary.h"
#include "engine_test_util.h"
#include "proto/binary/codec.h"

namespace {

using namespace ferrite;

void check_replies(std::string_view out) {
  while (!out.empty()) {
    proto::binary::Reply r;
    const proto::binary::DecodeResult d = proto::binary::decode_reply(out, &r);
    if (!d.ok()) std::abort();
    out.remove_prefix(d.size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto* h = new engine::testing::SessionHarness(std::size_t{16} << 20, 4096);
  if (size < 2) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::size_t cap = 256 + std::size_t{data[1]} * 64;
  h->shared().settings.max_reply_bytes = cap;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto s = engine::make_binary_session(h->info());
  Buffer pending, out;
  for (std::size_t off = 0; off < in.size() && !s->closing(); off += chunk) {
    pending.append(in.substr(off, chunk));
    for (;;) {
      out.clear();
      const std::size_t n = s->feed(pending.view(), out, h->exec());
      if (n > pending.size()) std::abort();
      if (out.size() > cap + 64 * 1024) std::abort();
      check_replies(out.view());
      pending.consume(n);
      if (n == 0 || pending.empty() || s->closing()) break;
    }
    h->end_iteration();
  }
  return 0;
}
