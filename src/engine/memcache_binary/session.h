// A memcached binary-protocol connection: frames requests by their 24-byte header, runs them on
// the store and encodes the replies, with memcached 1.6's statuses and quiet-command rules.
//
// The memcache listener hands a connection whose first byte is 0x80 (the request magic) to this
// session, as memcached does, so the session sees the stream from its first byte.
//
// Framing and errors, as memcached:
//   - a magic other than 0x80: the connection is closed without a reply (the replies to the
//     requests before it are still sent);
//   - key + extras longer than the body: "unknown command", then close;
//   - a key longer than the store's limit, or lengths the opcode does not allow: "invalid
//     arguments", then close (nothing after them can be framed reliably);
//   - an unknown opcode (SASL included): "unknown command", and exactly its body is skipped
//     (memcached 1.6 skips key and extras twice, losing the next request's first bytes);
//   - a set/add/replace/append/prepend whose value is over the item size limit (or whose packet
//     would exceed settings().max_request_bytes): "too large", the value is skipped without
//     being buffered, and a plain set also removes the key's old value (memcached does, so a
//     client does not read stale data after a failed set).
// Quiet opcodes suppress success replies (getq/getkq/gatq/gatkq: miss replies); errors are always
// sent. Replies go out once per loop iteration, so noop needs no special flush.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/session.h"
#include "proto/memcache_binary/codec.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_memcache_binary_session(const ConnInfo& info);

namespace memcache_binary {

class BinarySession final : public Session {
 public:
  explicit BinarySession(const ConnInfo& info) : Session(info) {}

  std::size_t feed(std::string_view in, Buffer& out, Exec& ex) override;
  Proto proto() const noexcept override { return Proto::kMemcacheBinary; }

 private:
  using Header = proto::memcache_binary::Header;
  using OpcodeInfo = proto::memcache_binary::OpcodeInfo;
  using Status = proto::memcache_binary::Status;

  // One request whose whole packet is in hand.
  struct Request {
    const Header& h;
    OpcodeInfo info;
    std::string_view extras, key, value;
  };

  void execute(const Request& r, Buffer& out, Exec& ex);
  bool refused(const Request& r, Buffer& out, Exec& ex);
  Op get(const Request& r, Buffer& out, Exec& ex);
  Op gat(const Request& r, Buffer& out, Exec& ex);
  Op store(const Request& r, Buffer& out, Exec& ex);
  Op concat(const Request& r, Buffer& out, Exec& ex);
  Op remove(const Request& r, Buffer& out, Exec& ex);
  Op arith(const Request& r, Buffer& out, Exec& ex);
  Op touch(const Request& r, Buffer& out, Exec& ex);
  Op flush(const Request& r, Buffer& out, Exec& ex);
  Op stat(const Request& r, Buffer& out, Exec& ex);

  // A reply with no extras, key or value (success of a storage or housekeeping command);
  // nothing for a quiet opcode.
  static void ok(const Request& r, Buffer& out, std::uint64_t cas);
  static void counter_value(const Request& r, Buffer& out, std::uint64_t value, std::uint64_t cas);
  static void error(const Request& r, Buffer& out, Status s);
  // Refuses a request the framing rejected: counts it and answers.
  void reject(const Header& h, Buffer& out, Exec& ex, Status s, bool close);

  std::size_t swallow_ = 0;  // body bytes still to skip (unknown opcode, value too large)
};

}  // namespace memcache_binary
}  // namespace ferrite::engine
