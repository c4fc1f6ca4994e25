// Shared by the memcache session tests: a harness with one text session, and a check that runs a
// conversation both in one piece and one byte at a time (every split point).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/memcache/memcache.h"
#include "engine_test_util.h"

namespace ferrite::engine::testing {

class MemcacheConn {
 public:
  explicit MemcacheConn(std::size_t memory = std::size_t{64} << 20,
                        std::size_t max_item = std::size_t{1} << 20)
      : h_(memory, max_item), s_(make_memcache_text_session(h_.info())) {}

  std::string send(std::string_view in, std::size_t chunk = 0) { return h_.feed(*s_, in, chunk); }
  SessionHarness& harness() { return h_; }
  Session& session() { return *s_; }
  const WorkerStats& stats() { return h_.stats(); }
  std::int64_t requests(Proto p, Op op) {
    return h_.stats().requests[static_cast<std::size_t>(p)][static_cast<std::size_t>(op)].get();
  }

 private:
  SessionHarness h_;
  std::unique_ptr<Session> s_;
};

// Runs `in` on a fresh connection whole and one byte at a time; both must answer `want`.
inline void expect_conversation(std::string_view in, std::string_view want) {
  {
    MemcacheConn c;
    EXPECT_EQ(c.send(in), want) << "input: " << in;
  }
  {
    MemcacheConn c;
    EXPECT_EQ(c.send(in, 1), want) << "input (1-byte chunks): " << in;
  }
}

// The number after `prefix` in `text` (e.g. the CAS in "VALUE k 0 1 123\r\n"), or 0.
inline std::uint64_t number_after(std::string_view text, std::string_view prefix) {
  const std::size_t at = text.find(prefix);
  if (at == std::string_view::npos) return 0;
  std::uint64_t v = 0;
  for (std::size_t i = at + prefix.size(); i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    v = v * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  return v;
}

}  // namespace ferrite::engine::testing
