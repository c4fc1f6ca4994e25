// The binary protocol's commands on the store. Statuses follow memcached 1.6 (proto_bin.c):
//
//   set/add/replace  add on an existing key: key exists; replace on a missing key: not found;
//                    with a CAS: a compare-and-swap (mismatch: key exists, missing: not found)
//   append/prepend   missing key: item not stored; CAS honoured
//   delete           CAS honoured (mismatch: key exists); the reply carries CAS 0
//   set              a set (SET/SETQ, with or without a CAS) that cannot be stored for its size or
//                    for memory removes the key's old value (engine/memcache_semantics.h)
//   incr/decr        missing key: created with `initial` (and returned as is) unless the
//                    expiration is 0xffffffff (then not found); non-numeric value: 0x0006; with a
//                    CAS, applied only to that version (engine/memcache_semantics.h)
//   touch            the reply carries the flags as extras and the item's CAS, like memcached
//   gat/gatk         like get/getk, also setting the expiration
//   flush            with a 4-byte expiration extra: flush at that time
//   stat             key = group; one packet per statistic, then an empty terminating packet;
//                    an unknown group: not found
//
// Where Ferrite departs from memcached 1.6, it follows the protocol document instead:
//   - gatq/gatkq return hits (memcached 1.6 drops them, treating them like a quiet success);
//   - verbosity (0x1b) sets the level (memcached 1.6 answers "unknown command");
//   - "stat reset" and "stat detail ..." answer not found: the counters belong to the workers
//     and are never reset, and there are no per-prefix statistics.
#include "engine/memcache_binary/session.h"
#include "engine/memcache_semantics.h"
#include "engine/memcache_stats.h"

namespace ferrite::engine::memcache_binary {

namespace mb = proto::memcache_binary;

namespace {

constexpr Proto kProto = Proto::kMemcacheBinary;

// memcached's unsigned exptime (the binary protocol has no negative times) as a store deadline.
std::uint64_t deadline(std::uint32_t exptime, const Exec& ex) noexcept {
  return memcache_deadline(static_cast<std::int64_t>(exptime), ex);
}

// A found item as get/gat answer it: flags as extras, the key for getk/gatk, the value.
void item_reply(const mb::Header& h, bool with_key, const store::ItemView& it, Buffer& out) {
  const std::string_view key = with_key ? it.key() : std::string_view();
  const std::string_view value = it.value();
  mb::append_response_header(out, h.opcode, mb::Status::kSuccess, 4, static_cast<std::uint16_t>(key.size()),
                             static_cast<std::uint32_t>(4 + key.size() + value.size()), h.opaque, it.cas());
  out.append_be32(it.flags());
  out.append(key);
  out.append(value);
}

// A miss as get/gat answer it: getk/gatk echo the key (as the key, no message), the others say so.
void miss_reply(const mb::Header& h, const mb::OpcodeInfo& info, std::string_view key, Buffer& out) {
  if (info.quiet) return;
  if (info.returns_key) {
    mb::append_response(out, h.opcode, mb::Status::kKeyNotFound, h.opaque, 0, {}, key, {});
  } else {
    mb::append_error(out, h.opcode, mb::Status::kKeyNotFound, h.opaque);
  }
}

}  // namespace

void BinarySession::ok(const Request& r, Buffer& out, std::uint64_t cas) {
  if (r.info.quiet) return;
  mb::append_response_header(out, r.h.opcode, Status::kSuccess, 0, 0, 0, r.h.opaque, cas);
}

void BinarySession::counter_value(const Request& r, Buffer& out, std::uint64_t value, std::uint64_t cas) {
  if (r.info.quiet) return;
  mb::append_response_header(out, r.h.opcode, Status::kSuccess, 0, 0, 8, r.h.opaque, cas);
  out.append_be64(value);
}

void BinarySession::error(const Request& r, Buffer& out, Status s) {
  mb::append_error(out, r.h.opcode, s, r.h.opaque);
}

Op BinarySession::get(const Request& r, Buffer& out, Exec& ex) {
  ex.note_key(r.key);
  if (const store::ItemView it = ex.ctx.get(r.key); it && !it.is_string()) {
    error(r, out, Status::kNotSupported);  // a hash: never its encoding (sent even when quiet)
  } else if (it) {
    ex.hit(kProto);
    item_reply(r.h, r.info.returns_key, it, out);
  } else {
    ex.miss(kProto);
    miss_reply(r.h, r.info, r.key, out);
  }
  return Op::k_get;
}

Op BinarySession::gat(const Request& r, Buffer& out, Exec& ex) {
  ex.note_key(r.key);
  // A hash is refused before its TTL is touched (and if one took the key's place meanwhile).
  const store::ItemView cur = ex.ctx.get(r.key);
  const bool hash = cur && !cur.is_string();
  const store::ItemView it =
      hash ? store::ItemView{} : ex.ctx.gat(r.key, deadline(mb::parse_u32_extras(r.extras), ex));
  if (hash || (it && !it.is_string())) {
    error(r, out, Status::kNotSupported);
  } else if (it) {
    ex.hit(kProto);
    item_reply(r.h, r.info.returns_key, it, out);
  } else {
    ex.miss(kProto);
    miss_reply(r.h, r.info, r.key, out);
  }
  return Op::k_gat;
}

Op BinarySession::touch(const Request& r, Buffer& out, Exec& ex) {
  if (const store::ItemView it = ex.ctx.gat(r.key, deadline(mb::parse_u32_extras(r.extras), ex))) {
    mb::append_response_header(out, r.h.opcode, Status::kSuccess, 4, 0, 4, r.h.opaque, it.cas());
    out.append_be32(it.flags());
  } else {
    error(r, out, Status::kKeyNotFound);
  }
  return Op::k_touch;
}

Op BinarySession::store(const Request& r, Buffer& out, Exec& ex) {
  ex.note_key(r.key);
  const mb::StoreExtras e = mb::parse_store_extras(r.extras);
  store::SetRequest req;
  req.flags = e.flags;
  req.expires_at_ms = deadline(e.expiration, ex);
  Op op = Op::k_set;
  switch (r.info.base) {
    case mb::Opcode::kAdd:
      req.mode = store::SetMode::kAdd;
      op = Op::k_add;
      break;
    case mb::Opcode::kReplace:
      req.mode = store::SetMode::kReplace;
      op = Op::k_replace;
      break;
    default:
      req.mode = store::SetMode::kSet;
      break;
  }
  if (r.h.cas != 0) {  // any of the three with a CAS is a compare-and-swap (memcached's NREAD_CAS)
    req.mode = store::SetMode::kCas;
    req.cas = r.h.cas;
    op = Op::k_cas;
  }
  req.may_wait = true;  // the value is the request's
  // memcached unlinks the old value of a failed SET/SETQ (proto_bin.c checks the opcode, not the CAS)
  const store::SetResult res = memcache_set(ex.ctx, r.key, r.value, req, r.info.base == mb::Opcode::kSet);
  switch (res.status) {
    case store::Status::kOk:
      ok(r, out, res.cas);
      break;
    case store::Status::kExists:
      error(r, out, Status::kKeyExists);
      break;
    case store::Status::kNotFound:
      error(r, out, Status::kKeyNotFound);
      break;
    case store::Status::kNotStored:
      error(r, out, req.mode == store::SetMode::kAdd ? Status::kKeyExists : Status::kKeyNotFound);
      break;
    case store::Status::kTooLarge:
      error(r, out, Status::kValueTooLarge);
      break;
    case store::Status::kNoMemory:
      error(r, out, Status::kOutOfMemory);
      break;
    case store::Status::kNonNumeric:
    case store::Status::kKeyTooLong:
    case store::Status::kEmptyKey:
      error(r, out, Status::kInvalidArguments);
      break;
    case store::Status::kWrongType:
      error(r, out, Status::kNotSupported);
      break;
  }
  return op;
}

Op BinarySession::concat(const Request& r, Buffer& out, Exec& ex) {
  ex.note_key(r.key);
  store::SetRequest req;
  const bool append = r.info.base == mb::Opcode::kAppend;
  req.mode = append ? store::SetMode::kAppend : store::SetMode::kPrepend;
  req.cas = r.h.cas;
  const store::SetResult res = ex.ctx.set(r.key, r.value, req);
  switch (res.status) {
    case store::Status::kOk:
      ok(r, out, res.cas);
      break;
    case store::Status::kExists:
      error(r, out, Status::kKeyExists);
      break;
    case store::Status::kNoMemory:
      error(r, out, Status::kOutOfMemory);
      break;
    case store::Status::kWrongType:
      error(r, out, Status::kNotSupported);
      break;
    case store::Status::kNotFound:
    case store::Status::kNotStored:
    case store::Status::kTooLarge:  // the joined value would be over the limit: memcached says not stored
    case store::Status::kNonNumeric:
    case store::Status::kKeyTooLong:
    case store::Status::kEmptyKey:
      error(r, out, Status::kItemNotStored);
      break;
  }
  return append ? Op::k_append : Op::k_prepend;
}

Op BinarySession::remove(const Request& r, Buffer& out, Exec& ex) {
  switch (ex.ctx.del(r.key, r.h.cas)) {
    case store::Status::kOk:
      ok(r, out, 0);
      break;
    case store::Status::kExists:
      error(r, out, Status::kKeyExists);
      break;
    default:
      error(r, out, Status::kKeyNotFound);
      break;
  }
  return Op::k_delete;
}

Op BinarySession::arith(const Request& r, Buffer& out, Exec& ex) {
  const mb::ArithExtras a = mb::parse_arith_extras(r.extras);
  CounterRequest c;
  c.delta = a.delta;
  c.decrement = r.info.base == mb::Opcode::kDecrement;
  c.check_cas = r.h.cas != 0;
  c.cas = r.h.cas;
  // memcached stores `initial` (not initial +/- delta), with flags 0, and returns it.
  c.create = a.expiration != mb::kNoCreate;
  c.initial = a.initial;
  c.expires_at_ms = deadline(a.expiration, ex);
  const CounterResult res = memcache_counter(ex.ctx, r.key, c);
  const Op op = c.decrement ? Op::k_decr : Op::k_incr;
  if (res.create_failed) {
    error(r, out, res.status == store::Status::kNoMemory ? Status::kOutOfMemory : Status::kItemNotStored);
    return op;
  }
  switch (res.status) {
    case store::Status::kOk:
      counter_value(r, out, res.value, res.cas);
      break;
    case store::Status::kNotFound:
      error(r, out, Status::kKeyNotFound);
      break;
    case store::Status::kExists:
      error(r, out, Status::kKeyExists);
      break;
    case store::Status::kNotStored:
      error(r, out, Status::kItemNotStored);
      break;
    case store::Status::kNonNumeric:
      error(r, out, Status::kNonNumeric);
      break;
    case store::Status::kWrongType:
      error(r, out, Status::kNotSupported);
      break;
    case store::Status::kNoMemory:
      error(r, out, Status::kOutOfMemory);
      break;
    default:
      error(r, out, Status::kInvalidArguments);
      break;
  }
  return op;
}

Op BinarySession::flush(const Request& r, Buffer& out, Exec& ex) {
  const std::uint32_t exptime = r.extras.size() == 4 ? mb::parse_u32_extras(r.extras) : 0;
  std::uint64_t delay_ms = 0;
  if (exptime != 0) {
    const std::uint64_t at = deadline(exptime, ex);
    delay_ms = at > ex.now_ms() ? at - ex.now_ms() : 0;
  }
  ex.ctx.flush(delay_ms);
  ok(r, out, 0);
  return Op::k_flush;
}

Op BinarySession::stat(const Request& r, Buffer& out, Exec& ex) {
  const mb::Header& h = r.h;
  const bool known = memcache_stats(ex, r.key, [&out, &h](std::string_view name, std::string_view value) {
    mb::append_response(out, h.opcode, mb::Status::kSuccess, h.opaque, 0, {}, name, value);
  });
  if (known) {
    mb::append_response(out, h.opcode, Status::kSuccess, h.opaque, 0, {}, {}, {});
  } else {
    error(r, out, Status::kKeyNotFound);
  }
  return Op::k_stats;
}

}  // namespace ferrite::engine::memcache_binary
