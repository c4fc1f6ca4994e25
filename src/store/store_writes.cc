// The store: writes (see store_internal.h for how the store's code is split).
#include "store/store_internal.h"

#include "core/decimal.h"

namespace ferrite::store {

// ---------------------------------------------------------------------------------------------
// Writes

std::uint64_t Context::next_version(std::uint64_t floor) noexcept {
  Store::Shared& sh = *store_.shared_;
  for (;;) {
    std::uint64_t v = std::max({version_counter_ + 1, floor, sh.flush_cutoff.load(std::memory_order_relaxed) + 1});
    v += (id_ - v) & (kMaxContexts - 1);  // the smallest value >= v whose low 6 bits are our id
    version_counter_ = v;
    sh.last_version[id_].v.store(v, std::memory_order_seq_cst);
    // A flush that computed its cutoff before seeing v may have set it above v: go above it.
    if (v > sh.flush_cutoff.load(std::memory_order_seq_cst)) return v & kVersionMask;
  }
}

namespace {
int free_slot(const Bucket& b) noexcept {
  for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
    if (b.ref[s].load(std::memory_order_relaxed) == 0) return static_cast<int>(s);
  }
  return -1;
}
}  // namespace

// Makes sure one of loc's two (locked) buckets has a free slot: when both are full, moves one
// entry to its other bucket (cuckoo displacement, one step, try-lock). False when that found
// no room either.
bool Context::make_space(const Location& loc) noexcept {
  if (free_slot(loc.primary()) >= 0 || free_slot(loc.alternate()) >= 0) return true;
  const std::uint32_t n = Table::size_of(loc.state);
  for (const std::uint32_t bi : {loc.b1, loc.b2}) {
    Bucket& b = loc.base[bi];
    for (unsigned j = 0; j < kSlotsPerBucket; ++j) {
      const std::uint16_t tg = b.tag[j].load(std::memory_order_relaxed);
      const std::uint32_t alt = Table::alt(n, bi, tg);
      if (alt == loc.b1 || alt == loc.b2) continue;
      Bucket& a = loc.base[alt];
      if (!Table::try_lock(a)) continue;
      const int k = free_slot(a);
      if (k >= 0) {  // its new slot first, then the old one cleared: both buckets are odd meanwhile
        a.tag[k].store(tg, std::memory_order_relaxed);
        a.ref[k].store(b.ref[j].load(std::memory_order_relaxed), std::memory_order_release);
        Table::unlock(a);
        b.ref[j].store(0, std::memory_order_relaxed);
        b.tag[j].store(0, std::memory_order_relaxed);
        return true;
      }
      Table::unlock(a);
    }
  }
  return false;
}

// Links `ref` in one of loc's (locked) buckets; `room`: make_space() found a free slot there.
bool Context::place(const Location& loc, std::uint32_t ref, bool room) noexcept {
  auto put = [&](Bucket& b, unsigned s) {
    b.tag[s].store(loc.tag, std::memory_order_relaxed);
    b.ref[s].store(ref, std::memory_order_release);
    if (table_.note_insert(loc.shard)) want_growth(loc.shard);
  };
  // The primary bucket while it has room, so that most hits read one bucket line; the
  // alternate only when the primary is full.
  if (room) {
    for (Bucket* b : {&loc.primary(), &loc.alternate()}) {
      const int s = free_slot(*b);
      if (s >= 0) {
        put(*b, static_cast<unsigned>(s));
        return true;
      }
    }
  }
  // Nowhere to go: evict the least valuable of the twenty entries (the table is the limit).
  unsigned best_slot = 0;
  std::uint32_t best_bucket = loc.b1;
  int best = 1 << 30;
  for (const std::uint32_t bi : {loc.b1, loc.b2}) {
    Bucket& b = loc.base[bi];
    for (unsigned j = 0; j < kSlotsPerBucket; ++j) {
      const Item* it = memory_.item_at(b.ref[j].load(std::memory_order_relaxed));
      const int score = liveness(it) != Liveness::kAlive ? -1 : it->load_access();  // dead first
      if (score < best) best = score, best_slot = j, best_bucket = bi;
    }
  }
  Bucket& vb = loc.base[best_bucket];
  Item* victim = memory_.item_at(vb.ref[best_slot].load(std::memory_order_relaxed));
  const Liveness why = liveness(victim);
  unlink({victim, &vb, best_slot, loc.shard, loc.state});
  if (why == Liveness::kAlive) stats_.table_full_evictions.add();
  account_removal(victim, why, Via::kWrite);
  put(vb, best_slot);
  return true;
}

SetResult Context::commit(const KeyRef& key, Item* fresh, std::size_t usable, const SetRequest& req,
                          const Item* expect) noexcept {
  Location loc;
  Found f;
  bool room = false;  // a new key: one of its buckets has a free slot (make_space)
  for (bool may_grow = true;;) {
    loc = lock_key(key);
    f = find_locked(key, loc);
    if (f.item != nullptr) {
      if (const Liveness why = liveness(f.item); why != Liveness::kAlive) {
        unlink(f);
        account_removal(f.item, why, Via::kWrite);
        f = {};
      }
    }
    // A new key whose two buckets are full: grow its shard now rather than evict (place()'s
    // last resort), if it can grow, or wait for the thread growing it, and try again in the new
    // array. A shard whose last old array still waits for its grace period cannot grow: then
    // place() makes room.
    room = f.item == nullptr && make_space(loc);
    // Not while holding a transaction's locks (a grower would wait for them): place() evicts.
    if (f.item != nullptr || room || !may_grow || tx_holding_ || !table_.can_grow(loc.shard)) break;
    Table::unlock_pair(loc);
    if (!grow_shard(loc.shard, true) && !table_.await_growth(loc.shard)) may_grow = false;
  }
  Status st = Status::kOk;
  if (expect != nullptr) {
    if (f.item != expect) st = Status::kExists;  // changed under a read-modify-write: retry
  } else {
    switch (req.mode) {
      case SetMode::kAdd: if (f.item != nullptr) st = Status::kNotStored; break;
      case SetMode::kReplace:
      case SetMode::kAppend:
      case SetMode::kPrepend: if (f.item == nullptr) st = Status::kNotStored; break;
      case SetMode::kCas:
      case SetMode::kSet: break;
    }
    if (st == Status::kOk && (req.mode == SetMode::kCas || req.cas != 0)) {
      if (f.item == nullptr) {
        st = Status::kNotFound;
        stats_.cas_misses.add();
      } else if (f.item->version() != req.cas) {
        st = Status::kExists;
        stats_.cas_badval.add();
      } else {
        stats_.cas_hits.add();
      }
    }
  }
  if (st != Status::kOk) {
    unlock_key(loc);
    free_unpublished(fresh, usable);
    if (expect == nullptr) stats_.set_failures.add();
    return {st, 0};
  }
  const std::uint64_t version = next_version(f.item != nullptr ? f.item->version() + 1 : 1);
  fresh->set_version(version);
  const std::uint32_t ref = memory_.ref_of(fresh);
  const bool replaced = f.item != nullptr;
  if (replaced) {
    f.bucket->ref[f.slot].store(ref, std::memory_order_release);
    drop_linked(f.item);
  } else {
    place(loc, ref, room);
    stats_.items_delta.add();
  }
  stats_.live_bytes_delta.add(static_cast<std::int64_t>(usable));
  // Reported while the key's buckets are locked, so that observers see the mutations of one key
  // in the order the store made them, whichever workers made them (the append-only file's order
  // stamp: docs/persistence.md).
  notify(MutationKind::kStore, fresh);
  unlock_key(loc);
  // A transaction's growth waits for its unlock (PartitionedContext::unlock_keys).
  if (FERRITE_UNLIKELY(grow_count_ != 0) && !tx_holding_) grow_table();
  stats_.sets.add();
  const std::uint64_t deadline = decode_expiry(fresh->load_expiry());
  if (deadline != 0) schedule_expiry(key.hash, version, deadline);
  return {Status::kOk, version, replaced};
}

SetResult Context::set(const KeyRef& key, std::string_view value, const SetRequest& req) noexcept {
  maybe_run_flush();
  if (key.key.empty()) return {Status::kEmptyKey, 0};
  if (key.key.size() > config_.max_key_size) return {Status::kKeyTooLong, 0};
  const std::size_t max_item = store_.max_item_size();
  if (value.size() > max_item) {
    stats_.set_failures.add();
    return {Status::kTooLarge, 0};
  }
  if (req.mode == SetMode::kAppend || req.mode == SetMode::kPrepend) {
    // Read-modify-write: build old+new beside the old item, swap only if it is still current.
    for (;;) {
      const Found f = find(key, table_.locate(key.hash));
      if (f.item == nullptr || liveness(f.item) != Liveness::kAlive) {
        stats_.set_failures.add();
        return {Status::kNotStored, 0};
      }
      const Item* old = f.item;
      if (old->type() != ItemType::kString) {
        stats_.set_failures.add();
        return {Status::kWrongType, 0};
      }
      if (req.cas != 0 && old->version() != req.cas) {
        stats_.cas_badval.add();
        stats_.set_failures.add();
        return {Status::kExists, 0};
      }
      const std::string_view ov = old->value();
      if (ov.size() + value.size() > max_item) {
        stats_.set_failures.add();
        return {Status::kTooLarge, 0};
      }
      std::size_t usable = 0;
      Item* fresh = alloc_item(Item::footprint(key.key.size(), ov.size() + value.size(), old->flags()), &usable);
      if (fresh == nullptr) {
        stats_.set_failures.add();
        return {Status::kNoMemory, 0};
      }
      Item::init(fresh, key.key, ov.size() + value.size(), old->flags(), 0, old->load_expiry(), old->load_access());
      char* dst = fresh->value_data();
      if (req.mode == SetMode::kAppend) {
        std::memcpy(dst, ov.data(), ov.size());
        std::memcpy(dst + ov.size(), value.data(), value.size());
      } else {
        std::memcpy(dst, value.data(), value.size());
        std::memcpy(dst + value.size(), ov.data(), ov.size());
      }
      const SetResult r = commit(key, fresh, usable, req, old);
      if (r.status != Status::kExists) return r;
    }
  }
  std::size_t usable = 0;
  if (req.may_wait && !tx_holding_) writing_ = &key;  // a transaction never waits for grace periods
  Item* fresh = alloc_item(Item::footprint(key.key.size(), value.size(), req.flags, req.type), &usable);
  writing_ = nullptr;
  if (fresh == nullptr) {
    stats_.set_failures.add();
    return {Status::kNoMemory, 0};
  }
  Item::init(fresh, key.key, value.size(), req.flags, 0, encode_expiry(req.expires_at_ms), initial_access(),
             req.type);
  if (!value.empty()) std::memcpy(fresh->value_data(), value.data(), value.size());
  return commit(key, fresh, usable, req, nullptr);
}

bool parse_counter(std::string_view s, std::uint64_t* out) noexcept {
  std::size_t i = 0;
  while (i < s.size() && s[i] == ' ') ++i;
  const std::size_t start = i;
  std::uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (i - start == 20 || v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  if (i == start) return false;
  for (; i < s.size(); ++i) {
    if (s[i] != ' ' && s[i] != '\r' && s[i] != '\n' && s[i] != '\t') return false;
  }
  *out = v;
  return true;
}


ArithResult Context::arith(const KeyRef& key, bool is_signed, std::uint64_t udelta, std::int64_t sdelta,
                           bool decrement, bool* overflow) noexcept {
  maybe_run_flush();
  if (key.key.empty()) return {Status::kEmptyKey, 0, 0};
  if (key.key.size() > config_.max_key_size) return {Status::kKeyTooLong, 0, 0};
  for (;;) {
    const Found f = find(key, table_.locate(key.hash));
    const Item* old = f.item != nullptr && liveness(f.item) == Liveness::kAlive ? f.item : nullptr;
    if (old != nullptr && old->type() != ItemType::kString) return {Status::kWrongType, 0, 0};
    char buf[kI64Chars];
    std::size_t len = 0;
    std::uint64_t result = 0;
    if (!is_signed) {
      if (old == nullptr) {
        stats_.incr_misses.add();
        return {Status::kNotFound, 0, 0};
      }
      std::uint64_t v = 0;
      if (!parse_counter(old->value(), &v)) return {Status::kNonNumeric, 0, 0};
      result = decrement ? (v < udelta ? 0 : v - udelta) : v + udelta;  // incr wraps mod 2^64
      len = format_u64(result, buf);
    } else {
      std::int64_t v = 0;
      if (old != nullptr && !parse_i64_strict(old->value(), &v)) return {Status::kNonNumeric, 0, 0};
      std::int64_t r = 0;
      if (__builtin_add_overflow(v, sdelta, &r)) {
        if (overflow != nullptr) *overflow = true;
        return {Status::kNonNumeric, 0, 0};
      }
      result = static_cast<std::uint64_t>(r);
      len = format_i64(r, buf);
    }
    const std::uint32_t flags = old != nullptr ? old->flags() : 0;
    std::size_t usable = 0;
    Item* fresh = alloc_item(Item::footprint(key.key.size(), len, flags), &usable);
    if (fresh == nullptr) return {Status::kNoMemory, 0, 0};
    Item::init(fresh, key.key, len, flags, 0, old != nullptr ? old->load_expiry() : 0,
               old != nullptr ? old->load_access() : initial_access());
    std::memcpy(fresh->value_data(), buf, len);
    SetRequest req;
    req.mode = SetMode::kAdd;  // used only when there was no old item
    const SetResult r = commit(key, fresh, usable, req, old);
    if (r.status == Status::kOk) {
      if (!is_signed) stats_.incr_hits.add();
      return {Status::kOk, result, r.cas};
    }
    // The key changed (or appeared) under us: read it again.
  }
}

ArithResult Context::incr(const KeyRef& key, std::uint64_t delta, bool decrement) noexcept {
  return arith(key, false, delta, 0, decrement, nullptr);
}

ArithResult Context::incr_signed(const KeyRef& key, std::int64_t delta, bool* overflow) noexcept {
  if (overflow != nullptr) *overflow = false;
  return arith(key, true, 0, delta, false, overflow);
}

Status Context::del(const KeyRef& key, std::uint64_t cas) noexcept {
  maybe_run_flush();
  if (key.key.empty()) return Status::kEmptyKey;
  if (key.key.size() > config_.max_key_size) return Status::kKeyTooLong;
  const Location loc = lock_key(key);
  const Found f = find_locked(key, loc);
  const Liveness l = f.item != nullptr ? liveness(f.item) : Liveness::kAlive;
  Status st = Status::kOk;
  if (f.item == nullptr || l != Liveness::kAlive) {
    st = Status::kNotFound;
    if (f.item != nullptr) {  // a dead item goes too
      unlink(f);
      account_removal(f.item, l, Via::kWrite);
    }
  } else if (cas != 0 && f.item->version() != cas) {
    st = Status::kExists;
  } else {
    unlink(f);
    notify(MutationKind::kDelete, f.item);  // under the key's locks, as commit()'s
  }
  unlock_key(loc);
  if (st == Status::kOk) {
    stats_.delete_hits.add();
  } else if (st == Status::kNotFound) {
    stats_.delete_misses.add();
  }
  return st;
}

ItemView Context::gat(const KeyRef& key, std::uint64_t expires_at_ms) noexcept {
  maybe_run_flush();
  if (key.key.empty() || key.key.size() > config_.max_key_size) return {};
  const Location loc = lock_key(key);
  const Found f = find_locked(key, loc);
  if (const Liveness l = f.item != nullptr ? liveness(f.item) : Liveness::kAlive;
      f.item == nullptr || l != Liveness::kAlive) {
    if (f.item != nullptr) {
      unlink(f);
      account_removal(f.item, l, Via::kWrite);
    }
    unlock_key(loc);
    stats_.touch_misses.add();
    return {};
  }
  const std::uint64_t before = decode_expiry(f.item->load_expiry());
  f.item->store_expiry(encode_expiry(expires_at_ms));
  const std::uint64_t version = f.item->version();
  notify(MutationKind::kTouch, f.item);  // under the key's locks, as commit()'s
  unlock_key(loc);
  // The old wheel entry (if any) comes due at the old deadline and re-files the item then; a
  // new one is needed only when the deadline moved earlier or there was none.
  if (expires_at_ms != 0 && (before == 0 || expires_at_ms < before)) schedule_expiry(key.hash, version, expires_at_ms);
  note_hit(f.item);
  stats_.touch_hits.add();
  return ItemView(f.item);
}

Status Context::touch(const KeyRef& key, std::uint64_t expires_at_ms) noexcept {
  if (key.key.empty()) return Status::kEmptyKey;
  if (key.key.size() > config_.max_key_size) return Status::kKeyTooLong;
  return gat(key, expires_at_ms) ? Status::kOk : Status::kNotFound;
}

void Context::flush(std::uint64_t delay_ms) noexcept {
  if (delay_ms == 0) {
    store_.shared_->flush_at.store(0, std::memory_order_relaxed);
    store_.flush_now();
    notify(MutationKind::kFlush, nullptr);
    return;
  }
  store_.shared_->flush_at.store(now_ms_ + delay_ms, std::memory_order_relaxed);
}

}  // namespace ferrite::store
