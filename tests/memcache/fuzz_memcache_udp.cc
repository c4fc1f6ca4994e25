// Fuzz target for the memcache UDP handler: the input is one datagram (frame header included).
// Invariants: no crash, every reply datagram carries the request id, numbers itself, and holds
// at most udp_max_datagram payload bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "../engine_test_util.h"
#include "engine/memcache/memcache.h"

namespace {

using ferrite::engine::DatagramHandler;
using ferrite::engine::DatagramOut;
using ferrite::engine::testing::SessionHarness;

struct Env {
  Env()
      : h(std::size_t{16} << 20, std::size_t{64} << 10),
        handler(ferrite::engine::make_memcache_udp_handler()) {
    h.shared().settings.udp_max_datagram = 200;
  }
  SessionHarness h;
  std::unique_ptr<DatagramHandler> handler;
  DatagramOut out;
};

std::uint16_t be16(std::string_view d, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(d[at]) << 8 |
                                    static_cast<unsigned char>(d[at + 1]));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Env* env = new Env();
  env->h.ctx().flush(0);
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  env->handler->on_datagram(in, env->out, env->h.exec());
  env->h.end_iteration();
  const std::size_t n = env->out.count();
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view d = env->out.datagram(i);
    if (d.size() < 8 || d.size() > 208) std::abort();
    if (be16(d, 0) != be16(in, 0) || be16(d, 2) != i || be16(d, 4) != n || be16(d, 6) != 0) std::abort();
  }
  return 0;
}
