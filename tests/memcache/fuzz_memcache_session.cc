// Fuzz target for the memcache text/meta session: the input's first bytes choose where the stream
// is split, the rest is fed as a client would send it. Invariants: no crash or sanitizer report,
// the session never consumes more than it was given, and the replies stay bounded; and the
// stream's look ahead (peek_command) frames whole lines within the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/memcache/memcache.h"
#include "proto/memcache/text.h"

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

  // The stream's look ahead (peek_command) frames only complete lines, never past the input,
  // and its key is a word of that line.
  for (std::size_t at = 0, k = 0; k < 64 && at < in.size(); ++k) {
    std::string_view key;
    const std::string_view rest = in.substr(at);
    const std::size_t len = ferrite::proto::memcache::peek_command(rest, &key);
    if (len == 0) break;
    std::size_t scan = 0;
    ferrite::proto::memcache::Line line;
    if (len > rest.size() || ferrite::proto::memcache::next_line(rest, &scan, &line) !=
                                 ferrite::proto::memcache::LineStatus::kComplete ||
        len < line.consumed ||
        (!key.empty() && (key.data() < line.text.data() || key.data() + key.size() > line.text.data() + line.text.size()))) {
      std::abort();
    }
    at += len;
  }

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
