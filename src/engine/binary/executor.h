// Runs parsed binary-protocol requests on the store and encodes their replies; shared by the TCP
// session and the UDP handler. Runs of plain GETs are resolved together with get_batch()
// (prefetching every key's bucket before reading any), everything else one by one, in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/buffer.h"
#include "engine/session.h"
#include "proto/binary/codec.h"
#include "store/store.h"

namespace ferrite::engine::binary {

// A request framed by the session. `refuse` != kOk: answer with that status without running it
// (the session decided from the header alone, e.g. a key or value over the limits).
// The message of TOO_LARGE for a reply that would not fit in a datagram's reply bound.
inline constexpr std::string_view kTooLargeForUdp = "reply too large for UDP";
inline constexpr std::string_view kWrongTypeMessage = "WRONGTYPE the key holds a hash, not a value";

struct Pending {
  proto::binary::Request req;
  proto::binary::Status refuse = proto::binary::Status::kOk;
  std::string_view message;  // the refusal's text; empty: the status's usual one
};

class Executor {
 public:
  static constexpr std::size_t kGetBatch = 32;  // keys resolved by one get_batch()

  explicit Executor(Proto proto);

  // Runs `reqs` in order, appending replies to `out` (and each reply's end offset in `out` to
  // `reply_ends` when given). Stops before a request once out.size() >= `reply_cap`. Returns the
  // number of requests run. Over UDP a GET whose value would take `out` past `reply_cap` is
  // answered TOO_LARGE (kTooLargeForUdp) instead.
  std::size_t run(std::span<const Pending> reqs, Buffer& out, Exec& ex, std::size_t reply_cap,
                  std::vector<std::uint32_t>* reply_ends);

  // An error reply for a request that could not be framed (bad magic or version).
  static void bad_version(Buffer& out);

 private:
  void run_one(const Pending& p, Exec& ex);
  std::size_t run_gets(std::span<const Pending> reqs, Exec& ex, std::size_t reply_cap);
  void get_reply(const proto::binary::Request& req, store::ItemView v, Exec& ex);
  void set(const proto::binary::Request& req, Exec& ex);
  void arith(const proto::binary::Request& req, Exec& ex);
  void stats(const proto::binary::Request& req, Exec& ex);
  // Answers with `status` and no value (or a short message), unless the Q flag hides it.
  void reply(const proto::binary::Request& req, proto::binary::Status status, std::uint64_t cas = 0,
             std::string_view value = {});
  void error(const proto::binary::Request& req, proto::binary::Status status, std::string_view message,
             Exec& ex);

  const Proto proto_;
  void note_end(std::size_t before);

  Buffer* out_ = nullptr;
  std::size_t cap_ = static_cast<std::size_t>(-1);  // run()'s reply_cap
  std::vector<std::uint32_t>* ends_ = nullptr;
  std::vector<store::KeyRef> keys_;
  std::vector<store::ItemView> views_;
};

// Whether the header alone already decides the answer: the status to refuse the request with
// (key or value over the limits) or kOk.
proto::binary::Status refuse_by_header(const proto::binary::Header& h, const Exec& ex) noexcept;

}  // namespace ferrite::engine::binary
