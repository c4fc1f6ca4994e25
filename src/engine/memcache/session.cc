// The memcache TCP session: a thin shell around the Executor in stream mode.
#include "engine/memcache/executor.h"
#include "engine/memcache/memcache.h"

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

 private:
  memcache::Executor exec_{memcache::Executor::Mode::kStream};
};

}  // namespace

std::unique_ptr<Session> make_memcache_text_session(const ConnInfo& info) {
  return std::make_unique<TextSession>(info);
}

}  // namespace ferrite::engine
