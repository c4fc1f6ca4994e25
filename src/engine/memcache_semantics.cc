#include "engine/memcache_semantics.h"

#include "core/decimal.h"

namespace ferrite::engine {

store::SetResult memcache_set(store::PartitionedContext& ctx, std::string_view key, std::string_view value,
                              const store::SetRequest& req, bool unlink) noexcept {
  const store::SetResult res = ctx.set(key, value, req);
  if (unlink && store_failed_for_room(res.status)) unlink_after_failed_set(ctx, key);
  return res;
}

namespace {

// One application of the delta to the item of version req.cas: read, check, write back.
CounterResult apply_with_cas(store::PartitionedContext& ctx, std::string_view key,
                             const CounterRequest& req) noexcept {
  CounterResult res;
  const store::ItemView v = ctx.get(key);
  std::uint64_t cur = 0;
  if (!v) {
    res.status = store::Status::kNotFound;
  } else if (v.cas() != req.cas) {
    res.status = store::Status::kExists;
  } else if (!v.is_string()) {
    res.status = store::Status::kWrongType;
  } else if (!store::parse_counter(v.value(), &cur)) {
    res.status = store::Status::kNonNumeric;
  } else {
    // The store's rule (store::Context::incr): incr wraps at 2^64, decr stops at 0.
    res.value = req.decrement ? (cur < req.delta ? 0 : cur - req.delta) : cur + req.delta;
    store::SetRequest w;
    w.mode = store::SetMode::kCas;
    w.cas = req.cas;
    w.flags = v.flags();
    w.expires_at_ms = v.expires_at_ms();
    const store::SetResult sr = ctx.set(key, DecimalText(res.value).view(), w);
    res.status = sr.status;
    res.cas = sr.cas;
    res.deadline_known = true;
    res.expires_at_ms = w.expires_at_ms;
  }
  return res;
}

}  // namespace

CounterResult memcache_counter(store::PartitionedContext& ctx, std::string_view key,
                               const CounterRequest& req) noexcept {
  for (int attempt = 0; attempt < kCounterAttempts; ++attempt) {
    CounterResult res;
    if (req.check_cas) {
      res = apply_with_cas(ctx, key, req);
    } else {
      const store::ArithResult r = ctx.incr(key, req.delta, req.decrement);
      res.status = r.status;
      res.value = r.value;
      res.cas = r.cas;
    }
    if (res.status != store::Status::kNotFound || !req.create) return res;
    store::SetRequest add;
    add.mode = store::SetMode::kAdd;
    add.flags = req.flags;
    add.expires_at_ms = req.expires_at_ms;
    const store::SetResult sr = ctx.set(key, DecimalText(req.initial).view(), add);
    if (sr.status == store::Status::kOk) {
      res.value = req.initial;
      res.cas = sr.cas;
      res.status = store::Status::kOk;
      res.created = true;
      res.deadline_known = true;
      res.expires_at_ms = req.expires_at_ms;
      return res;
    }
    if (sr.status != store::Status::kNotStored) {
      res.status = sr.status;
      res.create_failed = true;
      return res;
    }
    // Another client created the key since the miss: run the request again, after its create.
  }
  CounterResult res;
  res.status = store::Status::kNotStored;
  return res;
}

}  // namespace ferrite::engine
