// The memcache TCP session: a thin shell around the Executor in stream mode; and the memcache
// listener's service, which picks the text or the binary session by the first byte.
#include "engine/memcache/executor.h"
#include "engine/memcache/memcache.h"
#include "engine/memcache_binary/session.h"
#include "proto/memcache_binary/codec.h"

namespace ferrite::engine {
namespace {

class TextSession final : public Session {
 public:
  explicit TextSession(const ConnInfo& info) : Session(info) {}

  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override {
    const std::size_t n = exec_.run(in, out, ex);
    if (exec_.closing()) close_after_reply();
    return n;
  }
  Proto proto() const noexcept override { return Proto::kMemcacheText; }
  std::string_view out_of_memory_reply() const noexcept override {
    return "SERVER_ERROR out of memory reading request\r\n";  // memcached's words
  }

 private:
  memcache::Executor exec_{memcache::Executor::Mode::kStream};
};

}  // namespace

std::unique_ptr<Session> make_memcache_text_session(const ConnInfo& info) {
  return std::make_unique<TextSession>(info);
}

namespace {
// memcached's rule: a connection whose first byte is the binary request magic speaks binary.
std::unique_ptr<Session> make_memcache_session(const ConnInfo& info, std::string_view first) {
  if (!first.empty() && static_cast<std::uint8_t>(first[0]) == proto::memcache_binary::kRequestMagic) {
    return make_memcache_binary_session(info);
  }
  return make_memcache_text_session(info);
}
}  // namespace

StreamService memcache_service() {
  return {make_memcache_session, true, "ERROR Too many open connections\r\n"};  // memcached's words
}

}  // namespace ferrite::engine
