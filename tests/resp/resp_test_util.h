// Helpers for the RESP tests: a session on a small store, requests and replies spelt compactly.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/resp/resp_session.h"

namespace ferrite::engine::resp_test {

// Lines, each ended with CRLF: crlf({"+OK", "$1", "v"}) == "+OK\r\n$1\r\nv\r\n".
inline std::string crlf(std::initializer_list<std::string_view> lines) {
  std::string s;
  for (const std::string_view l : lines) {
    s.append(l);
    s.append("\r\n");
  }
  return s;
}

// Space-separated words, each ended with CRLF: words("*1 $1 a") == "*1\r\n$1\r\na\r\n".
inline std::string words(std::string_view spaced) {
  std::string s;
  while (!spaced.empty()) {
    const std::size_t sp = spaced.find_first_of(" \n");
    if (sp != 0) {
      s.append(spaced.substr(0, sp));
      s.append("\r\n");
    }
    if (sp == std::string_view::npos) break;
    spaced.remove_prefix(sp + 1);
  }
  return s;
}

// prefix + the decimal number (built by appending: g++ 12 warns falsely about operator+ here).
inline std::string num(std::string_view prefix, long long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// A multibulk request: mb({"SET", "k", "v"}).
inline std::string mb(std::initializer_list<std::string_view> args) {
  std::string s = num("*", static_cast<long long>(args.size()));
  s += "\r\n";
  for (const std::string_view a : args) {
    s += num("$", static_cast<long long>(a.size()));
    s += "\r\n";
    s.append(a);
    s += "\r\n";
  }
  return s;
}

// One connection to a fresh store.
struct Conn {
  explicit Conn(std::size_t memory = std::size_t{8} << 20, std::size_t max_item = std::size_t{1} << 20)
      : h(memory, max_item), s(make_resp_session(h.info())) {}
  std::string run(std::string_view in, std::size_t chunk = 0) { return h.feed(*s, in, chunk); }

  testing::SessionHarness h;
  std::unique_ptr<Session> s;
};

// Runs `in` on a fresh connection whole and split at every byte (and in 2- and 5-byte pieces);
// every way must give `want`.
inline void check(std::string_view in, std::string_view want) {
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    Conn c;
    EXPECT_EQ(c.run(in, chunk), want) << "input split into " << chunk << "-byte pieces (0: whole)";
  }
}

// The same after HELLO 3 (whose reply is not compared).
inline void check_resp3(std::string_view in, std::string_view want) {
  for (const std::size_t chunk : {std::size_t{0}, std::size_t{1}, std::size_t{3}}) {
    Conn c;
    c.run("HELLO 3\r\n");
    EXPECT_EQ(c.run(in, chunk), want) << "input split into " << chunk << "-byte pieces (0: whole)";
  }
}

}  // namespace ferrite::engine::resp_test
