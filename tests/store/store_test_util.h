// Helpers shared by the store suites: a store with one attached context, string copies of
// views (so a test never holds an ItemView across quiescent()), sanitizer detection and a
// loop-count scale.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "store/store.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define FERRITE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define FERRITE_TEST_SANITIZED 1
#endif
#endif
#ifndef FERRITE_TEST_SANITIZED
#define FERRITE_TEST_SANITIZED 0
#endif

namespace ferrite::store {
// Lets GoogleTest print a Status by name in failure messages.
inline void PrintTo(Status s, std::ostream* os) { *os << status_name(s); }
}  // namespace ferrite::store

namespace ferrite::store::testing {

inline constexpr bool kSanitized = FERRITE_TEST_SANITIZED != 0;

// Multiplier for loop counts: FERRITE_TEST_SCALE (a positive number, default 1), divided by 10
// under a sanitizer so that the concurrent suites stay within a few seconds there too.
inline double test_scale() {
  double scale = 1.0;
  if (const char* env = std::getenv("FERRITE_TEST_SCALE")) {
    const double v = std::strtod(env, nullptr);
    if (v > 0) scale = v;
  }
  return kSanitized ? scale / 10 : scale;
}

inline std::size_t scaled(std::size_t n, std::size_t at_least = 1) {
  const auto v = static_cast<std::size_t>(static_cast<double>(n) * test_scale());
  return v < at_least ? at_least : v;
}

// prefix + decimal n. (Not `"prefix" + std::to_string(n)`: GCC 12 reports a false -Wrestrict
// for that at -O2 and above, which -Werror turns into a build failure.)
inline std::string key_n(std::string_view prefix, long long n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// A store with one attached context whose clock starts at kT0.
struct Harness {
  static constexpr std::uint64_t kT0 = 1000;

  static StoreConfig small_config() {
    StoreConfig c;
    c.memory_limit = std::size_t{64} << 20;
    c.max_contexts = 4;  // tests attach a second context now and then
    return c;
  }

  explicit Harness(const StoreConfig& config = small_config()) : store(config), ctx(store.attach()) {
    ctx->set_now(kT0);
  }
  ~Harness() { ctx.reset(); }  // detach before the store goes

  void at(std::uint64_t now_ms) { ctx->set_now(now_ms); }

  // Reads the key and hands the view (empty on a miss) to `read`; ends with a quiescent point,
  // so `read` must copy what it keeps.
  template <typename Read>
  auto with_item(std::string_view key, Read read) {
    auto out = read(ctx->get(key));
    ctx->quiescent();
    return out;
  }
  // The value, or nullopt on a miss.
  std::optional<std::string> get(std::string_view key) {
    return with_item(key, [](ItemView v) { return v ? std::optional<std::string>(v.value()) : std::nullopt; });
  }
  // The item's CAS, or 0 on a miss; likewise its flags and deadline.
  std::uint64_t cas_of(std::string_view key) {
    return with_item(key, [](ItemView v) { return v ? v.cas() : std::uint64_t{0}; });
  }
  std::uint32_t flags_of(std::string_view key) {
    return with_item(key, [](ItemView v) { return v ? v.flags() : std::uint32_t{0}; });
  }
  std::uint64_t expiry_of(std::string_view key) {
    return with_item(key, [](ItemView v) { return v ? v.expires_at_ms() : std::uint64_t{0}; });
  }

  SetResult set(std::string_view key, std::string_view value, SetMode mode = SetMode::kSet,
                std::uint32_t flags = 0, std::uint64_t expires_at_ms = 0, std::uint64_t cas = 0) {
    SetRequest req;
    req.mode = mode;
    req.flags = flags;
    req.expires_at_ms = expires_at_ms;
    req.cas = cas;
    return ctx->set(key, value, req);
  }

  Store store;
  std::unique_ptr<Context> ctx;
};

}  // namespace ferrite::store::testing
