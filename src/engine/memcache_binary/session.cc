// Framing of the binary protocol's request stream; the commands are in commands.cc.
#include "engine/memcache_binary/session.h"

#include <algorithm>

#include "core/clock.h"
#include "engine/memcache_semantics.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_memcache_binary_session(const ConnInfo& info) {
  return std::make_unique<memcache_binary::BinarySession>(info);
}

namespace memcache_binary {

namespace mb = proto::memcache_binary;

void BinarySession::reject(const Header& h, Buffer& out, Exec& ex, Status s, bool close) {
  ex.protocol_error(Proto::kMemcacheBinary);
  ex.count(Proto::kMemcacheBinary, Op::k_error);
  mb::append_error(out, h.opcode, s, h.opaque);
  if (close) close_after_reply();
}

std::size_t BinarySession::feed(std::string_view in, Buffer& out, Exec& ex) {
  const EngineSettings& settings = ex.settings();
  const store::StoreConfig& limits = ex.store().config();
  std::size_t pos = 0;
  while (!closing() && out.size() < ex.reply_limit()) {
    if (swallow_ > 0) {
      const std::size_t n = std::min(swallow_, in.size() - pos);
      pos += n;
      swallow_ -= n;
      if (swallow_ > 0) break;
      continue;
    }
    const std::string_view rest = in.substr(pos);
    if (rest.size() < mb::kHeaderSize) break;
    const Header h = mb::parse_header(rest);
    if (h.magic != mb::kRequestMagic) {
      // memcached closes the connection without a word: nothing after it can be framed.
      ex.protocol_error(Proto::kMemcacheBinary);
      close_after_reply();
      return in.size();
    }
    switch (mb::check_request(h, limits.max_key_size)) {
      case mb::Check::kOk:
        break;
      case mb::Check::kBadLengths:
        reject(h, out, ex, Status::kUnknownCommand, true);
        return in.size();
      case mb::Check::kInvalid:
        reject(h, out, ex, Status::kInvalidArguments, true);
        return in.size();
      case mb::Check::kUnknownCommand:
        reject(h, out, ex, Status::kUnknownCommand, false);
        pos += mb::kHeaderSize;
        swallow_ = h.body_len;
        continue;
    }
    const OpcodeInfo info = mb::opcode_info(h.opcode);
    const bool has_value = info.command == mb::Command::kStore || info.command == mb::Command::kConcat;
    if (h.packet_len() > settings.max_request_bytes ||
        (has_value && h.value_len() > ex.store().max_item_size())) {
      if (!has_value) {  // only a value can make a valid packet this long
        reject(h, out, ex, Status::kInvalidArguments, true);
        return in.size();
      }
      // Too large: answer once the key is here, and skip the value as it streams in.
      const std::size_t head = mb::kHeaderSize + h.extras_len + h.key_len;
      if (rest.size() < head) break;
      if (info.base == mb::Opcode::kSet) unlink_after_failed_set(ex.ctx, rest.substr(head - h.key_len, h.key_len));
      ex.count(Proto::kMemcacheBinary, Op::k_error);
      mb::append_error(out, h.opcode, Status::kValueTooLarge, h.opaque);
      pos += head;
      swallow_ = h.value_len();
      continue;
    }
    if (rest.size() < h.packet_len()) break;
    const std::string_view body = rest.substr(mb::kHeaderSize, h.body_len);
    const Request r{h, info, body.substr(0, h.extras_len), body.substr(h.extras_len, h.key_len),
                    body.substr(std::size_t{h.extras_len} + h.key_len)};
    execute(r, out, ex);
    pos += h.packet_len();
  }
  return pos;
}

// While Exec::gated: answers `r` with TEMPORARY_FAILURE (0x86) instead of running it (loading:
// a keyed or flushing request; a failed append-only file: a write, its reason as the message).
bool BinarySession::refused(const Request& r, Buffer& out, Exec& ex) {
  bool keyed = true, write = true;
  switch (r.info.command) {
    case mb::Command::kGet:
      write = false;
      break;
    case mb::Command::kStore:
    case mb::Command::kConcat:
    case mb::Command::kDelete:
    case mb::Command::kArith:
    case mb::Command::kTouch:
    case mb::Command::kGat:
      break;
    case mb::Command::kFlush:
      keyed = false;
      break;
    default:
      return false;  // noop, version, stat, quit, verbosity
  }
  const Refusal why = ex.gate(keyed, write);
  if (why == Refusal::kNone) return false;
  const std::string_view message =
      why == Refusal::kLoading ? std::string_view("Loading the dataset") : std::string_view(ex.write_failure());
  mb::append_response(out, r.h.opcode, Status::kTemporaryFailure, r.h.opaque, 0, {}, {}, message);
  ex.count(Proto::kMemcacheBinary, Op::k_error);
  return true;
}

void BinarySession::execute(const Request& r, Buffer& out, Exec& ex) {
  const std::uint64_t start = cycles();
  if (FERRITE_UNLIKELY(ex.gated) && refused(r, out, ex)) return;
  Op op = Op::k_other;
  switch (r.info.command) {
    case mb::Command::kGet:
      op = get(r, out, ex);
      break;
    case mb::Command::kGat:
      op = gat(r, out, ex);
      break;
    case mb::Command::kStore:
      op = store(r, out, ex);
      break;
    case mb::Command::kConcat:
      op = concat(r, out, ex);
      break;
    case mb::Command::kDelete:
      op = remove(r, out, ex);
      break;
    case mb::Command::kArith:
      op = arith(r, out, ex);
      break;
    case mb::Command::kTouch:
      op = touch(r, out, ex);
      break;
    case mb::Command::kFlush:
      op = flush(r, out, ex);
      break;
    case mb::Command::kStat:
      op = stat(r, out, ex);
      break;
    case mb::Command::kNoop:
      ok(r, out, 0);
      op = Op::k_noop;
      break;
    case mb::Command::kVersion:
      mb::append_response(out, r.h.opcode, Status::kSuccess, r.h.opaque, 0, {}, {}, ex.settings().memcache_version);
      op = Op::k_noop;
      break;
    case mb::Command::kQuit:
      ok(r, out, 0);
      close_after_reply();
      break;
    case mb::Command::kVerbosity:
      ex.shared.settings.verbosity.store(
          static_cast<int>(std::min<std::uint32_t>(mb::parse_u32_extras(r.extras), 0x7fffffff)),
          std::memory_order_relaxed);
      ok(r, out, 0);
      break;
    case mb::Command::kUnknown:
      break;  // check_request() let none through
  }
  ex.count(Proto::kMemcacheBinary, op, start);
}

}  // namespace memcache_binary
}  // namespace ferrite::engine
