#include "engine/binary/executor.h"

#include <algorithm>
#include <limits>

#include "core/clock.h"
#include "engine/memcache_semantics.h"
#include "engine/memcache_stats.h"

namespace ferrite::engine::binary {
namespace {

namespace wire = proto::binary;
using wire::Opcode;
using wire::Request;

bool known_opcode(Opcode op) noexcept {
  return static_cast<std::uint8_t>(op) >= static_cast<std::uint8_t>(Opcode::kGet) &&
         static_cast<std::uint8_t>(op) <= static_cast<std::uint8_t>(Opcode::kStats);
}

bool plain_get(const Pending& p) noexcept {
  return p.refuse == wire::Status::kOk && p.req.opcode == Opcode::kGet &&
         (p.req.flags & wire::flag::kTouch) == 0;
}

Op op_of(const Request& r) noexcept {
  switch (r.opcode) {
    case Opcode::kGet:
      return (r.flags & wire::flag::kTouch) != 0 ? Op::k_gat : Op::k_get;
    case Opcode::kSet:
      return r.cas != 0 ? Op::k_cas : Op::k_set;
    case Opcode::kAdd:
      return Op::k_add;
    case Opcode::kReplace:
      return r.cas != 0 ? Op::k_cas : Op::k_replace;
    case Opcode::kDelete:
      return Op::k_delete;
    case Opcode::kIncr:
      return Op::k_incr;
    case Opcode::kDecr:
      return Op::k_decr;
    case Opcode::kTouch:
      return Op::k_touch;
    case Opcode::kNoop:
      return Op::k_noop;
    case Opcode::kStats:
      return Op::k_stats;
  }
  return Op::k_error;
}

struct Check {
  wire::Status status = wire::Status::kOk;
  std::string_view message;
};

// Whether the request's fields are what its opcode allows (docs/protocol.md, "Opcodes").
Check check(const Request& r, const Exec& ex) noexcept {
  using wire::Status;
  if (!known_opcode(r.opcode)) return {Status::kUnknownOpcode, "unknown opcode"};
  if (r.reserved != 0) return {Status::kBadRequest, "reserved field not 0"};
  if ((r.flags & ~wire::flag::kKnown) != 0) return {Status::kBadRequest, "unknown flag"};
  if ((r.flags & wire::flag::kTouch) != 0 && r.opcode != Opcode::kGet)
    return {Status::kBadRequest, "T flag on an opcode other than GET"};
  const bool keyed = r.opcode != Opcode::kNoop && r.opcode != Opcode::kStats;
  if (keyed && r.key.empty()) return {Status::kBadRequest, "key required"};
  if (r.opcode == Opcode::kNoop && !r.key.empty()) return {Status::kBadRequest, "key not allowed"};
  if (r.key.size() > ex.store().config().max_key_size) return {Status::kKeyTooLong, "key too long"};
  bool value = false, ttl = false, cas = false, client_flags = false;  // which fields may be set
  switch (r.opcode) {
    case Opcode::kGet:
      ttl = (r.flags & wire::flag::kTouch) != 0;
      break;
    case Opcode::kSet:
    case Opcode::kReplace:
      value = ttl = cas = client_flags = true;
      break;
    case Opcode::kAdd:
      value = ttl = client_flags = true;
      break;
    case Opcode::kDelete:
      cas = true;
      break;
    case Opcode::kIncr:
    case Opcode::kDecr:
      if (r.value.size() != wire::kArithSize && r.value.size() != wire::kArithWithInitialSize) {
        return {Status::kBadRequest, "value must be 8 or 16 bytes"};
      }
      value = true;
      ttl = client_flags = r.value.size() == wire::kArithWithInitialSize;
      break;
    case Opcode::kTouch:
      ttl = true;
      break;
    case Opcode::kNoop:
    case Opcode::kStats:
      break;
  }
  if (!value && !r.value.empty()) return {Status::kBadRequest, "value not allowed"};
  if (!ttl && r.ttl != 0) return {Status::kBadRequest, "ttl not allowed"};
  if (!cas && r.cas != 0) return {Status::kBadRequest, "cas not allowed"};
  if (!client_flags && r.client_flags != 0) return {Status::kBadRequest, "client flags not allowed"};
  return {};
}

wire::Status from_store(store::Status s) noexcept {
  switch (s) {
    case store::Status::kOk:
      return wire::Status::kOk;
    case store::Status::kNotFound:
      return wire::Status::kNotFound;
    case store::Status::kExists:
      return wire::Status::kExists;
    case store::Status::kNotStored:
      return wire::Status::kNotStored;
    case store::Status::kNonNumeric:
      return wire::Status::kNonNumeric;
    case store::Status::kKeyTooLong:
      return wire::Status::kKeyTooLong;
    case store::Status::kEmptyKey:
      return wire::Status::kBadRequest;
    case store::Status::kTooLarge:
      return wire::Status::kTooLarge;
    case store::Status::kNoMemory:
      return wire::Status::kNoMemory;
    case store::Status::kWrongType:
      return wire::Status::kWrongType;
  }
  return wire::Status::kBadRequest;
}

// Seconds until the item expires, rounded up; 0 when it never does.
std::uint32_t remaining_ttl(const store::ItemView& v, const Exec& ex) noexcept {
  const std::uint64_t deadline = v.expires_at_ms();
  if (deadline == 0) return 0;
  const std::uint64_t now = ex.now_ms();
  if (deadline <= now) return 1;
  const std::uint64_t s = (deadline - now + 999) / 1000;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(s, std::numeric_limits<std::uint32_t>::max()));
}

}  // namespace

wire::Status refuse_by_header(const wire::Header& h, const Exec& ex) noexcept {
  const auto& cfg = ex.store().config();
  if (h.key_length > cfg.max_key_size) return wire::Status::kKeyTooLong;
  if (h.value_length > ex.store().max_item_size() || h.message_size() > ex.settings().max_request_bytes) {
    return wire::Status::kTooLarge;
  }
  return wire::Status::kOk;
}

Executor::Executor(Proto proto) : proto_(proto) {
  keys_.resize(kGetBatch);
  views_.resize(kGetBatch);
}

void Executor::bad_version(Buffer& out) {
  wire::Reply r;
  r.opcode = static_cast<Opcode>(0);
  r.status = wire::Status::kBadVersion;
  r.value = "bad magic or version";
  wire::encode_reply(out, r);
}

std::size_t Executor::run(std::span<const Pending> reqs, Buffer& out, Exec& ex, std::size_t reply_cap,
                          std::vector<std::uint32_t>* reply_ends) {
  out_ = &out;
  ends_ = reply_ends;
  cap_ = reply_cap;
  std::size_t i = 0;
  while (i < reqs.size() && out.size() < reply_cap) {
    if (!ex.gated && plain_get(reqs[i])) {  // gated: one by one, through run_one's gate
      std::size_t j = i + 1;
      while (j < reqs.size() && j - i < kGetBatch && plain_get(reqs[j])) ++j;
      i += run_gets(reqs.subspan(i, j - i), ex, reply_cap);
      continue;
    }
    const std::size_t before = out.size();
    run_one(reqs[i], ex);
    note_end(before);
    ++i;
  }
  out_ = nullptr;
  ends_ = nullptr;
  return i;
}

void Executor::note_end(std::size_t before) {
  if (ends_ != nullptr && out_->size() != before) ends_->push_back(static_cast<std::uint32_t>(out_->size()));
}

std::size_t Executor::run_gets(std::span<const Pending> reqs, Exec& ex, std::size_t reply_cap) {
  const std::uint64_t start = cycles();
  // Malformed GETs take no part in the batch; their slot keeps an empty key.
  std::size_t n = 0;
  for (const Pending& p : reqs) {
    if (check(p.req, ex).status == wire::Status::kOk) keys_[n++] = ex.key_ref(p.req.key);
  }
  ex.ctx.get_batch(std::span<const store::KeyRef>(keys_.data(), n), views_.data());
  std::size_t done = 0, k = 0;
  for (const Pending& p : reqs) {
    if (out_->size() >= reply_cap) break;
    const std::size_t before = out_->size();
    if (const Check c = check(p.req, ex); c.status != wire::Status::kOk) {
      error(p.req, c.status, c.message, ex);
    } else {
      ex.note_key(p.req.key);  // where it is answered: a request run again after the cap counts once
      get_reply(p.req, views_[k++], ex);
      ex.count(proto_, Op::k_get, start);
    }
    note_end(before);
    ++done;
  }
  return done;
}

void Executor::get_reply(const Request& req, store::ItemView v, Exec& ex) {
  if (!v) {
    ex.miss(proto_);
    reply(req, wire::Status::kNotFound);
    return;
  }
  if (!v.is_string()) {  // a hash: never its encoding
    ex.hit(proto_);
    reply(req, wire::Status::kWrongType, 0, kWrongTypeMessage);
    return;
  }
  // Over UDP a value is never encoded past the cap (a datagram's replies are bounded before
  // they are built); over TCP one value may pass it, or a value larger than the cap could never
  // be read.
  if (proto_ == Proto::kBinaryUdp && out_->size() + wire::kHeaderSize +
                                             ((req.flags & wire::flag::kWithKey) != 0 ? req.key.size() : 0) +
                                             v.value().size() >
                                         cap_) {
    error(req, wire::Status::kTooLarge, kTooLargeForUdp, ex);
    return;
  }
  ex.hit(proto_);
  wire::Reply r;
  r.opcode = req.opcode;
  r.flags = req.flags;
  r.ttl = remaining_ttl(v, ex);
  r.request_id = req.request_id;
  r.client_flags = v.flags();
  r.cas = v.cas();
  if ((req.flags & wire::flag::kWithKey) != 0) r.key = req.key;
  r.value = v.value();
  wire::encode_reply(*out_, r);
}

void Executor::reply(const Request& req, wire::Status status, std::uint64_t cas, std::string_view value) {
  if ((req.flags & wire::flag::kQuiet) != 0 && req.opcode != Opcode::kNoop && req.opcode != Opcode::kStats) {
    const bool get = req.opcode == Opcode::kGet;
    if ((get && status == wire::Status::kNotFound) || (!get && status == wire::Status::kOk)) return;
  }
  wire::Reply r;
  r.opcode = req.opcode;
  r.flags = req.flags;
  r.status = status;
  r.request_id = req.request_id;
  r.cas = cas;
  if ((req.flags & wire::flag::kWithKey) != 0) r.key = req.key;
  r.value = value;
  wire::encode_reply(*out_, r);
}

void Executor::error(const Request& req, wire::Status status, std::string_view message, Exec& ex) {
  if (status == wire::Status::kBadRequest || status == wire::Status::kUnknownOpcode)
    ex.protocol_error(proto_);
  ex.count(proto_, Op::k_error);
  reply(req, status, 0, message);
}

void Executor::run_one(const Pending& p, Exec& ex) {
  const Request& req = p.req;
  if (p.refuse != wire::Status::kOk) {
    const std::string_view usual =
        p.refuse == wire::Status::kKeyTooLong ? "key too long" : "request too large";
    error(req, p.refuse, p.message.empty() ? usual : p.message, ex);
    return;
  }
  if (const Check c = check(req, ex); c.status != wire::Status::kOk) {
    error(req, c.status, c.message, ex);
    return;
  }
  if (FERRITE_UNLIKELY(ex.gated)) {
    // LOADING for every keyed request; WRITE_FAILED (with the append-only file's reason) for a
    // write while it cannot be written under fsync = always.
    const bool keyed = req.opcode != Opcode::kNoop && req.opcode != Opcode::kStats;
    const bool write = keyed && (req.opcode != Opcode::kGet || (req.flags & wire::flag::kTouch) != 0);
    switch (ex.gate(keyed, write)) {
      case Refusal::kNone:
        break;
      case Refusal::kLoading:
        error(req, wire::Status::kLoading, "loading the dataset", ex);
        return;
      case Refusal::kWriteFailed:
        error(req, wire::Status::kWriteFailed, ex.write_failure(), ex);
        return;
    }
  }
  if (req.opcode != Opcode::kNoop && req.opcode != Opcode::kStats) ex.note_key(req.key);
  const std::uint64_t start = cycles();
  switch (req.opcode) {
    case Opcode::kGet: {  // with T: get-and-touch (a write, so never batched)
      if (const store::ItemView cur = ex.ctx.get(req.key); cur && !cur.is_string()) {
        get_reply(req, cur, ex);  // a hash is refused before its TTL is touched
        break;
      }
      get_reply(req, ex.ctx.gat(req.key, memcache_deadline(req.ttl, ex)), ex);
      break;
    }
    case Opcode::kSet:
    case Opcode::kAdd:
    case Opcode::kReplace:
      set(req, ex);
      break;
    case Opcode::kDelete:
      reply(req, from_store(ex.ctx.del(req.key, req.cas)));
      break;
    case Opcode::kIncr:
    case Opcode::kDecr:
      arith(req, ex);
      break;
    case Opcode::kTouch:
      reply(req, from_store(ex.ctx.touch(req.key, memcache_deadline(req.ttl, ex))));
      break;
    case Opcode::kNoop:
      reply(req, wire::Status::kOk);
      break;
    case Opcode::kStats:
      stats(req, ex);
      break;
  }
  ex.count(proto_, op_of(req), start);
}

void Executor::set(const Request& req, Exec& ex) {
  store::SetRequest sr;
  sr.mode = req.opcode == Opcode::kAdd       ? store::SetMode::kAdd
            : req.opcode == Opcode::kReplace ? store::SetMode::kReplace
                                             : store::SetMode::kSet;
  sr.flags = req.client_flags;
  sr.expires_at_ms = memcache_deadline(req.ttl, ex);
  sr.cas = req.cas;
  sr.may_wait = true;  // the value is the request's
  const store::SetResult r = ex.ctx.set(req.key, req.value, sr);
  reply(req, from_store(r.status), r.cas);
}

void Executor::arith(const Request& req, Exec& ex) {
  wire::Arith a;
  wire::decode_arith(req.value, &a);  // check() made sure it is 8 or 16 bytes
  CounterRequest c;
  c.delta = a.delta;
  c.decrement = req.opcode == Opcode::kDecr;
  // With an initial value, a missing key is created holding it, with the request's TTL and flags.
  c.create = a.has_initial;
  c.initial = a.initial;
  c.flags = req.client_flags;
  c.expires_at_ms = memcache_deadline(req.ttl, ex);
  const CounterResult r = memcache_counter(ex.ctx, req.key, c);
  char value[8];
  wire::encode_counter(r.value, value);
  reply(req, from_store(r.status), r.cas, r.status == store::Status::kOk ? std::string_view(value, 8) : "");
}

void Executor::stats(const Request& req, Exec& ex) {
  wire::Reply r;
  r.opcode = req.opcode;
  r.flags = req.flags;
  r.request_id = req.request_id;
  if ((req.flags & wire::flag::kWithKey) != 0) r.key = req.key;
  Buffer& out = *out_;
  const std::size_t start = wire::begin_reply(out, r);
  const bool known = memcache_stats(ex, req.key, [&out](std::string_view name, std::string_view value) {
    wire::append_stat(out, name, value);
  });
  if (known) {
    wire::finish_reply(out, start);
    return;
  }
  out.resize(start);
  reply(req, wire::Status::kNotFound, 0, "unknown stats group");
}

}  // namespace ferrite::engine::binary
