// Fuzz target for the memcache text/meta session: the input's first bytes choose where the stream
// is split, the rest is fed as a client would send it. Invariants: no crash or sanitizer report,
// the session never consumes more than it was given, and the replies stay bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/memcache/memcache.h"

namespace {

using ferrite::Buffer;
using ferrite::engine::testing::SessionHarness;

struct Env {
  Env() : h(std::size_t{16} << 20, std::size_t{64} << 10) {
    h.shared().settings.max_reply_bytes = 256 << 10;
    h.shared().settings.max_request_bytes = (64 << 10) + 4096;
  }
  SessionHarness h;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Env* env = new Env();  // one store for every input, as a long-lived worker has
  if (size < 2) return 0;
  SessionHarness& h = env->h;
  // Every flush is global: start each input from an empty store.
  h.ctx().flush(0);
  const std::size_t chunk = 1 + data[0] % 64;
  const bool advance = (data[1] & 1) != 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  auto s = ferrite::engine::make_memcache_text_session(h.info());
  Buffer pending, out;
  for (std::size_t off = 0; off < in.size() && !s->closing(); off += chunk) {
    pending.append(in.substr(off, chunk));
    for (;;) {
      out.clear();
      const std::size_t n = s->feed(pending.view(), out, h.exec());
      if (n > pending.size()) std::abort();
      // One command's reply: at most the cap plus one large multi-get's worth of values.
      if (out.size() > (std::size_t{64} << 20)) std::abort();
      pending.consume(n);
      if (n == 0 || pending.empty() || s->closing()) break;
    }
    if (advance) h.advance_ms(700);
    h.end_iteration();
  }
  return 0;
}
