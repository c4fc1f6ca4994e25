// Fuzz target for the memcache text/meta session: the input's first bytes choose where the stream
// is split, the rest is fed as a client would send it. Invariants: no crash or sanitizer report,
// the session never consumes more than it was given, one call's replies stay within the reply
// cap plus one value, unconsumed input within the request limit; and the
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

// Small limits, so that a multi-get stopped at the reply cap (and resumed) and a get line longer
// than the request limit (served as it arrives) come up in short inputs.
constexpr std::size_t kReplyCap = 4096;
constexpr std::size_t kMaxItem = 64 << 10;

struct Env {
  Env() : h(std::size_t{16} << 20, kMaxItem) {
    h.shared().settings.max_reply_bytes = kReplyCap;
    h.shared().settings.max_request_bytes = 8192;
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
  const std::size_t request_cap = h.shared().settings.max_request_bytes;
  for (std::size_t off = 0; off < in.size() && !s->closing(); off += chunk) {
    pending.append(in.substr(off, chunk));
    // As the worker: call again while the session makes progress (a get stopped at the cap
    // consumes nothing but answers); a call that neither consumes nor answers waits for input.
    for (std::size_t calls = 0;; ++calls) {
      out.clear();
      const std::size_t n = s->feed(pending.view(), out, h.exec());
      if (n > pending.size()) std::abort();
      // One call's replies: at most the cap plus one value (and its VALUE line, an error line).
      if (out.size() > kReplyCap + kMaxItem + 512) std::abort();
      if (calls > pending.size() + 100000) std::abort();  // answering without end
      pending.consume(n);
      if ((n == 0 && out.empty()) || pending.empty() || s->closing()) break;
    }
    // What stays unconsumed is one request within the limit (a get line is consumed as it comes).
    if (!s->closing() && pending.size() > request_cap + chunk) std::abort();
    if (advance) h.advance_ms(700);
    h.end_iteration();
  }
  return 0;
}
