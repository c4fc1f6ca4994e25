// Fuzz target for the RESP session: the input is split into pieces at points the fuzzer chooses
// and fed as the worker feeds a connection, with small request and reply limits so that those
// paths run too. Invariants: no crash, nothing consumed beyond the input, unconsumed input within
// the request limit unless the session closes, one call's replies within the reply cap plus one
// value (an EXEC: its own bound), every reply well-formed RESP (the last may be a streamed MGET's array cut short by the
// end of the input or a protocol error); and peek_request
// (the session's look ahead) accepts nothing the parser would not, with the same size and key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/resp/resp_session.h"
#include "proto/resp/resp_parser.h"

namespace {

using ferrite::Buffer;
using ferrite::engine::testing::SessionHarness;

// Set when the replies ended where an array's next element was due: a streamed MGET whose keys
// the input had not all delivered yet, or ended short by a protocol error.
bool ended_in_array = false;

// Skips one well-formed reply at `p`; returns false if there is none.
bool skip_reply(std::string_view s, std::size_t& p, int depth = 0) {
  if (p >= s.size() && depth > 0) ended_in_array = true;
  if (p >= s.size() || depth > 64) return false;
  const char type = s[p];
  const std::size_t eol = s.find("\r\n", p);
  if (eol == std::string_view::npos) return false;
  const std::string_view line = s.substr(p + 1, eol - p - 1);
  p = eol + 2;
  auto number = [&](long long* v) {
    if (line.empty()) return false;
    char* end = nullptr;
    const std::string text(line);
    *v = std::strtoll(text.c_str(), &end, 10);
    return *end == '\0';
  };
  long long n = 0;
  switch (type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '_':
      return line.find_first_of("\r\n") == std::string_view::npos;
    case '$':
    case '=':
      if (!number(&n)) return false;
      if (n < 0) return n == -1 && type == '$';
      if (s.size() - p < static_cast<std::size_t>(n) + 2 ||
          s.substr(p + static_cast<std::size_t>(n), 2) != "\r\n") {
        return false;
      }
      p += static_cast<std::size_t>(n) + 2;
      return true;
    case '*':
    case '~':
    case '%':
      if (!number(&n)) return false;
      if (n < 0) return n == -1 && type == '*';
      for (long long i = 0; i < n * (type == '%' ? 2 : 1); ++i) {
        if (!skip_reply(s, p, depth + 1)) return false;
      }
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static SessionHarness* h = [] {
    auto* harness = new SessionHarness(std::size_t{8} << 20, 4096);
    harness->shared().settings.max_request_bytes = 8192;
    harness->shared().settings.max_reply_bytes = 2048;
    return harness;
  }();
  if (size < 2) return 0;
  // The first two bytes seed the piece lengths.
  std::uint32_t rng = static_cast<std::uint32_t>(data[0]) << 8 | data[1];
  const std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  // The session's look ahead (peek_request) agrees with the parser on whatever it accepts.
  for (std::size_t at = 0, k = 0; k < 64; ++k) {
    std::string_view key;
    const std::size_t len = ferrite::proto::resp::peek_request(input.substr(at), &key);
    if (len == 0) break;
    ferrite::proto::resp::RequestParser p;
    if (p.parse(input.substr(at), ferrite::proto::resp::kMaxRequestBytes) !=
            ferrite::proto::resp::ParseStatus::kComplete ||
        p.consumed() != len || (p.args().size() >= 2 ? p.args()[1] != key : !key.empty())) {
      std::abort();
    }
    at += len;
  }

  bool exec_in_input = false;
  for (std::size_t i = 0; i + 4 <= input.size() && !exec_in_input; ++i) {
    exec_in_input = (input[i] | 0x20) == 'e' && (input[i + 1] | 0x20) == 'x' && (input[i + 2] | 0x20) == 'e' &&
                    (input[i + 3] | 0x20) == 'c';
  }
  auto session = ferrite::engine::make_resp_session(h->info());
  Buffer pending, out;
  std::string replies;
  std::size_t off = 0;
  const std::size_t request_cap = h->shared().settings.max_request_bytes;
  while (off < input.size() && !session->closing()) {
    rng = rng * 1103515245u + 12345u;
    const std::size_t piece = 1 + (rng >> 16) % 97;
    const std::string_view chunk = input.substr(off, piece);
    off += chunk.size();
    pending.append(chunk);
    for (;;) {
      out.clear();
      const std::size_t n = session->feed(pending.view(), out, h->exec());
      if (n > pending.size()) std::abort();
      pending.consume(n);
      replies.append(out.data(), out.size());
      // One call's replies: the cap plus one reply, the largest being COMMAND's (~15 KB); a
      // streamed MGET stops at the cap having consumed its keys so far (n > 0), whatever their
      // number. An EXEC writes its transaction's replies whole, up to its own bound (64 MiB).
      if (out.size() > (exec_in_input ? (std::size_t{64} << 20) : h->shared().settings.max_reply_bytes.load()) + (32 << 10)) {
        std::abort();
      }
      if (n == 0 || pending.empty() || session->closing()) break;
    }
    if (!session->closing() && pending.size() > request_cap) std::abort();
    h->end_iteration();
  }
  std::size_t p = 0;
  while (p < replies.size()) {
    ended_in_array = false;
    if (!skip_reply(replies, p)) {
      if (ended_in_array) break;  // only the last reply may be an array cut short
      std::abort();
    }
  }
  // Start the next input on an empty store (the sweep of what is flushed runs in later ticks).
  h->ctx().flush(0);
  return 0;
}
