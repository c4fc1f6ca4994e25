// The store: the Store, a context's set-up, lookups, unlinking and reclamation (see
// store_internal.h for how the store's code is split).
#include "store/store_internal.h"

#include <stdexcept>

namespace ferrite::store {

namespace {
std::string too_small(const char* what, std::size_t value, std::size_t min) {
  return std::string(what) + ": " + std::to_string(value) + " is below the minimum of " + std::to_string(min);
}
}  // namespace

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::kOk: return "ok";
    case Status::kNotFound: return "not found";
    case Status::kExists: return "exists";
    case Status::kNotStored: return "not stored";
    case Status::kNonNumeric: return "non-numeric value";
    case Status::kKeyTooLong: return "key too long";
    case Status::kEmptyKey: return "empty key";
    case Status::kTooLarge: return "value too large";
    case Status::kNoMemory: return "out of memory";
    case Status::kWrongType: return "wrong type";
  }
  return "unknown";
}

KeyRef make_key(std::string_view key) noexcept { return {key, hash_key(key)}; }

// ---------------------------------------------------------------------------------------------
// Store

Store::Store(const StoreConfig& config) : config_(config) {
  if (config_.memory_limit < kMinMemory) {
    throw std::invalid_argument(too_small("store.memory (bytes)", config_.memory_limit, kMinMemory));
  }
  if (config_.max_key_size < 1 || config_.max_key_size > 65535) {
    throw std::invalid_argument("store.max_key_size: " + std::to_string(config_.max_key_size) +
                                " is outside 1..65535");
  }
  if (config_.max_item_size < 1 || config_.max_item_size > kMaxItemSizeCeiling ||
      config_.max_item_size > config_.memory_limit / 4) {
    throw std::invalid_argument("store.max_item_size: " + std::to_string(config_.max_item_size) +
                                " must be at least 1, at most 512 MiB and at most a quarter of store.memory");
  }
  max_item_size_.store(config_.max_item_size, std::memory_order_relaxed);
  if (config_.max_contexts < 1 || config_.max_contexts > kMaxContexts) {
    throw std::invalid_argument("store.max_contexts: " + std::to_string(config_.max_contexts) + " is outside 1..64");
  }
  if (config_.table_slots == 0 && config_.item_size_hint < 16) {
    throw std::invalid_argument(too_small("store.item_size_hint", config_.item_size_hint, 16));
  }
  if (config_.headroom_fraction < 0 || config_.headroom_fraction > 0.5) {
    throw std::invalid_argument("store.headroom_fraction: must be within 0..0.5");
  }
  if (config_.expire_per_tick == 0 || config_.evict_scan_limit == 0) {
    throw std::invalid_argument("store.expire_per_tick and store.evict_scan_limit must be positive");
  }
  const std::size_t slots = config_.table_slots != 0 ? config_.table_slots : config_.memory_limit / config_.item_size_hint;
  const std::size_t table_bytes = Table::bytes_for(slots);
  if (table_bytes > config_.memory_limit / 2) {
    throw std::invalid_argument("store.table_slots: a table of " + std::to_string(slots) +
                                " slots would take more than half of store.memory");
  }
  table_ = std::make_unique<Table>(slots, config_.numa_node);
  memory_ = std::make_unique<ItemMemory>(config_.memory_limit - table_->bytes(), config_.max_contexts, config_.numa_node);
  limit_.store(config_.memory_limit, std::memory_order_relaxed);
  policy_.store(config_.policy, std::memory_order_relaxed);
  shared_ = std::make_unique<Shared>(config_.max_contexts);
  shared_->epoch_mono_ms = monotonic_ms();
  shared_->epoch_unix_ms = unix_ms();
}

Store::~Store() {
  // Contexts must be gone (each detaches itself). Free what is still linked or waiting.
  for (const RetiredItem& o : shared_->orphans) memory_->release(o.item);
  table_->for_each_ref([&](std::uint32_t ref) { memory_->release(memory_->item_at(ref)); });
}

std::unique_ptr<Context> Store::attach() {
  std::lock_guard lock(shared_->mu);
  for (unsigned i = 0; i < config_.max_contexts; ++i) {
    if (shared_->contexts[i] == nullptr) {
      std::unique_ptr<Context> ctx(new Context(*this, i));
      shared_->contexts[i] = ctx.get();
      shared_->attached.fetch_add(1, std::memory_order_relaxed);
      return ctx;
    }
  }
  throw std::runtime_error("store: more than store.max_contexts (" + std::to_string(config_.max_contexts) +
                           ") contexts attached");
}

void Store::detach(Context* ctx) noexcept {
  std::lock_guard lock(shared_->mu);
  shared_->contexts[ctx->id_] = nullptr;
  shared_->attached.fetch_sub(1, std::memory_order_relaxed);
#define FERRITE_FOLD(name, help) shared_->detached.name += ctx->stats_.name.get();
  FERRITE_STORE_COUNTERS(FERRITE_FOLD)
#undef FERRITE_FOLD
}

std::uint64_t Store::now_ms() const noexcept { return monotonic_ms() - shared_->epoch_mono_ms + 1; }

void Store::share_clock(const Store& other) noexcept {
  shared_->epoch_mono_ms = other.shared_->epoch_mono_ms;
  shared_->epoch_unix_ms = other.shared_->epoch_unix_ms;
}

std::uint64_t Store::from_unix_ms(std::uint64_t unix) const noexcept {
  // A moment at or before the store's start is in the past: deadline 1 has always passed.
  return unix > shared_->epoch_unix_ms ? unix - shared_->epoch_unix_ms + 1 : 1;
}

std::uint64_t Store::to_unix_ms(std::uint64_t store_ms) const noexcept {
  return store_ms == 0 ? 0 : shared_->epoch_unix_ms + store_ms - 1;
}

StoreStats Store::stats() const noexcept {
  std::lock_guard lock(shared_->mu);
  StoreStats s = shared_->detached;
  for (Context* c : shared_->contexts) {
    if (c == nullptr) continue;
#define FERRITE_SUM(name, help) s.name += c->stats_.name.get();
    FERRITE_STORE_COUNTERS(FERRITE_SUM)
#undef FERRITE_SUM
  }
  s.items = s.items_delta;
  s.item_bytes = s.live_bytes_delta;
  s.retired_bytes = s.retired_bytes_delta;
  s.wheel_bytes = s.wheel_bytes_delta;
  s.table_bytes = static_cast<std::int64_t>(table_->bytes());
  s.table_resident_bytes = static_cast<std::int64_t>(table_->resident_bytes());
  s.bytes_used = s.item_bytes + s.wheel_bytes + s.table_bytes;
  s.memory_limit = static_cast<std::int64_t>(memory_limit());
  s.table_slots = static_cast<std::int64_t>(table_->max_slots());
  s.table_slots_now = static_cast<std::int64_t>(table_->slots());
  return s;
}

std::size_t Store::bytes_used() const noexcept { return static_cast<std::size_t>(stats().bytes_used); }
std::size_t Store::table_slots() const noexcept { return table_->max_slots(); }
std::size_t Store::table_bytes() const noexcept { return table_->bytes(); }

std::string Store::set_memory_limit(std::size_t bytes) {
  const std::size_t floor = table_->bytes() + (std::size_t{8} << 20);
  if (bytes > config_.memory_limit) {
    return "cannot raise the memory limit above " + std::to_string(config_.memory_limit) +
           " bytes, the limit the store started with (restart to raise it)";
  }
  if (bytes < floor) return "the memory limit must be at least " + std::to_string(floor) + " bytes (the table plus 8 MiB)";
  const std::size_t old = limit_.exchange(bytes, std::memory_order_relaxed);
  memory_->adjust_budget(static_cast<std::int64_t>(bytes) - static_cast<std::int64_t>(old));
  return "";
}

std::string Store::set_max_item_size(std::size_t bytes) {
  if (bytes < 1 || bytes > kMaxItemSizeCeiling) return "must be within 1 byte..512 MiB";
  if (bytes > memory_limit() / 4) return "more than a quarter of the memory limit";
  max_item_size_.store(bytes, std::memory_order_relaxed);
  return "";
}

void Store::flush_now() noexcept {
  // Everything issued so far is at or below the largest last version; contexts issue versions
  // above the cutoff from now on (next_version re-checks it after publishing its own).
  std::uint64_t cutoff = 0;
  for (auto& lv : shared_->last_version) cutoff = std::max(cutoff, lv.v.load(std::memory_order_seq_cst));
  std::uint64_t cur = shared_->flush_cutoff.load(std::memory_order_relaxed);
  while (cur < cutoff && !shared_->flush_cutoff.compare_exchange_weak(cur, cutoff, std::memory_order_seq_cst)) {
  }
  shared_->sweep_next.store(0, std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------------
// Context: set-up

Context::Context(Store& store, unsigned id)
    : store_(store),
      table_(*store.table_),
      memory_(*store.memory_),
      config_(store.config_),
      id_(id),
      rng_(0x9E3779B97F4A7C15ull * (id + 1) ^ reinterpret_cast<std::uintptr_t>(this)) {
  Store::Shared& sh = *store_.shared_;
  qsbr_id_ = sh.qsbr.register_thread();
  heap_ = memory_.thread_heap(0);
  keep_heap_ = memory_.thread_heap(1);
  version_counter_ = sh.last_version[id_].v.load(std::memory_order_relaxed);
  now_ms_ = store_.now_ms();
  wheel_ = std::make_unique<TimingWheel>(now_ms_, &Context::charge_wheel, this);
  retired_cap_ = 4096;
  retired_ = new RetiredItem[retired_cap_];
}

Context::~Context() {
  Store::Shared& sh = *store_.shared_;
  set_short(false);
  sh.segments_held[id_].store(0, std::memory_order_relaxed);
  wheel_.reset();  // pending expiries are dropped: lazy checks and the hand still find them
  tag_retired();
  sh.qsbr.offline(qsbr_id_);
  reclaim();
  {
    std::lock_guard lock(sh.mu);
    for (; retired_count_ > 0; --retired_count_) {
      sh.orphans.push_back(retired_[retired_head_]);
      retired_head_ = (retired_head_ + 1) % retired_cap_;
    }
    if (!sh.orphans.empty()) sh.has_orphans.store(true, std::memory_order_release);
  }
  delete[] retired_;
  sh.qsbr.unregister_thread(qsbr_id_);
  memory_.return_credit(credit_);
  store_.detach(this);
}

bool Context::charge_wheel(void* self, std::int64_t delta) noexcept {
  auto* c = static_cast<Context*>(self);
  if (delta > 0) {
    if (!c->make_room(static_cast<std::size_t>(delta))) return false;
  } else {
    c->memory_.uncharge(c->credit_, static_cast<std::size_t>(-delta));
  }
  c->stats_.wheel_bytes_delta.add(delta);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Lookups

Location Context::lock_key(const KeyRef& key) const noexcept {
  for (;;) {
    const Location loc = table_.locate(key.hash);
    if (FERRITE_UNLIKELY(tx_holding_) ? lock_pair_tx(loc, false) : table_.lock_pair(loc)) return loc;
    cpu_relax();  // the key's shard grew meanwhile: its new array
  }
}

bool Context::try_lock_key(const KeyRef& key, Location* loc) const noexcept {
  if (FERRITE_LIKELY(!tx_holding_)) {
    *loc = lock_key(key);
    return true;
  }
  *loc = table_.locate(key.hash);
  return lock_pair_tx(*loc, true);
}

// Both buckets, lower index first, skipping those this context holds for its transaction (a
// held bucket is of the shard's current array: the shard cannot grow while it is held).
bool Context::lock_pair_tx(const Location& loc, bool try_only) const noexcept {
  Bucket& lo = loc.base[loc.b1 < loc.b2 ? loc.b1 : loc.b2];
  Bucket& hi = loc.base[loc.b1 < loc.b2 ? loc.b2 : loc.b1];
  const auto take = [&](Bucket& b) {
    return holds(&b) || (try_only ? Table::try_lock(b) : table_.lock(loc, b));
  };
  if (!take(lo)) return false;
  if (&hi == &lo || take(hi)) return true;
  if (!holds(&lo)) Table::unlock(lo);
  return false;
}

void Context::unlock_key(const Location& loc) const noexcept {
  if (FERRITE_LIKELY(!tx_holding_)) {
    Table::unlock_pair(loc);
    return;
  }
  if (!holds(&loc.primary())) Table::unlock(loc.primary());
  if (loc.b1 != loc.b2 && !holds(&loc.alternate())) Table::unlock(loc.alternate());
}

bool Context::lock_one(std::uint32_t shard, std::uint64_t state, Bucket& b, bool* held) const noexcept {
  *held = holds(&b);
  if (*held) return true;
  return FERRITE_UNLIKELY(tx_holding_) ? Table::try_lock(b) : table_.lock(shard, state, b);
}

Context::Found Context::find(const KeyRef& key, Location loc) const noexcept {
  // While a transaction holds locks anywhere (and this context holds none: its own keys are
  // locked by itself, nobody else writes them), a hit must be validated: see find_strict().
  const TxCounters& tx = g_tx_counters;
  const std::uint64_t begun = tx.begun.load(std::memory_order_acquire);
  if (FERRITE_UNLIKELY(begun != tx.ended.load(std::memory_order_acquire)) && !tx_holding_) {
    return find_strict(key, loc);
  }
  for (;;) {
    const Bucket& b1 = loc.primary();
    const Bucket& b2 = loc.alternate();
    const std::uint32_t v1 = b1.version.load(std::memory_order_acquire);
    // A hit needs no validation: items are immutable and the ref was this key's item when read.
    // Most keys sit in their primary bucket, so the alternate's line is touched only after that.
    // Unless a transaction began since the check above: a ref it stored (release, after its
    // begun count) makes the count seen here, and the hit is read again strictly.
    Found f = find_in(key, loc, loc.b1);
    if (f.item != nullptr) {
      if (FERRITE_UNLIKELY(tx.begun.load(std::memory_order_acquire) != begun) && !tx_holding_) {
        return find_strict(key, table_.locate(key.hash));
      }
      return f;
    }
    const std::uint32_t v2 = b2.version.load(std::memory_order_acquire);
    if (loc.b2 != loc.b1) {
      f = find_in(key, loc, loc.b2);
      if (f.item != nullptr) {
        if (FERRITE_UNLIKELY(tx.begun.load(std::memory_order_acquire) != begun) && !tx_holding_) {
          return find_strict(key, table_.locate(key.hash));
        }
        return f;
      }
    }
    // A miss is only trusted if neither bucket changed meanwhile (a displacement may have moved
    // the key from the bucket not yet read to the one already read), and no writer held them
    // (unless the shard froze them to grow: then nothing in them changes).
    std::atomic_thread_fence(std::memory_order_acquire);
    if (b1.version.load(std::memory_order_relaxed) == v1 && b2.version.load(std::memory_order_relaxed) == v2 &&
        (table_.stable(loc, v1, v2) || (FERRITE_UNLIKELY(tx_holding_) && held_or_even(b1, v1) && held_or_even(b2, v2)))) {
      return {};  // (a bucket this context holds for its transaction changes only by its own hand)
    }
    cpu_relax();
    loc = table_.locate(key.hash);
  }
}

// A transaction locks every bucket of its keys before it writes any, and unlocks them after its
// last write: a key read while neither of its buckets is locked, with both versions unchanged
// around the read, is seen wholly before or wholly after any transaction. Odd versions are
// waited out (a frozen array is left for the shard's new one), yielding after a while.
Context::Found Context::find_strict(const KeyRef& key, Location loc) const noexcept {
  for (unsigned round = 0;; ++round) {
    const Bucket& b1 = loc.primary();
    const Bucket& b2 = loc.alternate();
    const std::uint32_t v1 = b1.version.load(std::memory_order_acquire);
    const std::uint32_t v2 = b2.version.load(std::memory_order_acquire);
    if (((v1 | v2) & 1u) == 0) {
      Found f = find_in(key, loc, loc.b1);
      if (f.item == nullptr && loc.b2 != loc.b1) f = find_in(key, loc, loc.b2);
      std::atomic_thread_fence(std::memory_order_acquire);
      if (b1.version.load(std::memory_order_relaxed) == v1 && b2.version.load(std::memory_order_relaxed) == v2) {
        return f;
      }
    }
    spin_wait(round);  // a transaction's holder may have been preempted: do not spin forever
    if (table_.moved(loc)) loc = table_.locate(key.hash);
  }
}

std::uint64_t Context::live_version(const KeyRef& key, std::uint32_t* expiry) noexcept {
  maybe_run_flush();
  const Found f = find(key, table_.locate(key.hash));
  const bool live = f.item != nullptr && liveness(f.item) == Liveness::kAlive;
  if (expiry != nullptr) *expiry = live ? f.item->load_expiry() : 0;
  return live ? f.item->version() : 0;
}

void Context::maybe_run_flush() noexcept {
  std::atomic<std::uint64_t>& at = store_.shared_->flush_at;
  std::uint64_t due = at.load(std::memory_order_relaxed);
  if (FERRITE_UNLIKELY(due != 0 && now_ms_ >= due) && at.compare_exchange_strong(due, 0)) {
    store_.flush_now();
    notify(MutationKind::kFlush, nullptr);
  }
}

ItemView Context::get_located(const KeyRef& key, const Location& loc) noexcept {
  const Found f = find(key, loc);
  if (f.item == nullptr) {
    stats_.get_misses.add();
    return {};
  }
  const Liveness l = liveness(f.item);
  if (l != Liveness::kAlive) {
    unlink_dead(f, l, Via::kRead);
    stats_.get_misses.add();
    return {};
  }
  if (!no_touch_) note_hit(f.item);
  stats_.get_hits.add();
  return ItemView(f.item);
}

ItemView Context::get(const KeyRef& key) noexcept {
  maybe_run_flush();
  return get_located(key, table_.locate(key.hash));
}

void Context::scan(std::uint64_t* cursor, std::size_t buckets, ItemFn fn, void* arg) noexcept {
  maybe_run_flush();
  const std::uint64_t total = table_.positions();
  std::uint64_t pos = *cursor < total ? *cursor : 0;
  for (std::size_t visited = 0; pos < total && visited < buckets;) {
    Location at;
    std::uint64_t next;
    if (!table_.at(pos, &at, &next)) {
      pos = next;
      continue;
    }
    ++pos;
    ++visited;
    const Bucket& b = at.primary();
    for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
      const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
      if (ref == 0) continue;
      const Item* it = memory_.item_at(ref);  // safe to read until our next quiescent point
      if (liveness(it) == Liveness::kAlive) fn(arg, ItemView(it));
    }
  }
  *cursor = pos >= total ? 0 : pos;
}

void Context::prefetch(const KeyRef& key) const noexcept {
  // The primary bucket: where a key almost always is, and where a write takes its first lock.
  prefetch_write(&table_.locate(key.hash).primary());
}

void Context::prefetch_item(const KeyRef& key) const noexcept {
  const Location loc = table_.locate(key.hash);
  const Bucket& bucket = loc.primary();
  const std::uint32_t m = match_tags(bucket, loc.tag);
  for (std::uint32_t mm = m; mm != 0; mm &= mm - 1) {
    const std::uint32_t ref = bucket.ref[__builtin_ctz(mm) >> 1].load(std::memory_order_relaxed);
    if (ref != 0) prefetch_read(memory_.item_at(ref));
  }
  if (m == 0) prefetch_read(&loc.alternate());
}

void Context::get_batch(std::span<const KeyRef> keys, ItemView* out) noexcept {
  maybe_run_flush();
  Location locs[kBatchStep];
  for (std::size_t base = 0; base < keys.size(); base += kBatchStep) {
    const std::size_t n = std::min(kBatchStep, keys.size() - base);
    // Stage 1: every key's primary bucket (where inserts go while it has room).
    for (std::size_t i = 0; i < n; ++i) {
      locs[i] = table_.locate(keys[base + i].hash);
      prefetch_read(&locs[i].primary());
    }
    // Stage 2: the items whose tags match; the alternate bucket where the primary has none.
    for (std::size_t i = 0; i < n; ++i) {
      const Bucket& bucket = locs[i].primary();
      const std::uint32_t m = match_tags(bucket, locs[i].tag);
      for (std::uint32_t mm = m; mm != 0; mm &= mm - 1) {
        const std::uint32_t ref = bucket.ref[__builtin_ctz(mm) >> 1].load(std::memory_order_relaxed);
        if (ref != 0) prefetch_read(memory_.item_at(ref));
      }
      if (m == 0) prefetch_read(&locs[i].alternate());
    }
    // Stage 3: resolve.
    for (std::size_t i = 0; i < n; ++i) out[base + i] = get_located(keys[base + i], locs[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// Unlinking, retiring, reclaiming

// An item is leaving the table (its slot already cleared or reused): give its bytes back to the
// budget and retire it for reclamation after a grace period.
void Context::drop_linked(Item* it) noexcept {
  const std::size_t bytes = ItemMemory::charge_for(ItemMemory::usable_size(it));
  stats_.live_bytes_delta.sub(static_cast<std::int64_t>(bytes));
  memory_.uncharge(credit_, bytes);
  retire(it, bytes);
}

void Context::unlink(const Found& f) noexcept {
  Bucket& b = *f.bucket;
  b.ref[f.slot].store(0, std::memory_order_relaxed);
  b.tag[f.slot].store(0, std::memory_order_relaxed);
  table_.note_remove(f.shard);
  stats_.items_delta.sub();
  drop_linked(f.item);
}

// Counts an item that was unlinked because it was dead or chosen for eviction, and reports it:
// the one place every such removal goes through, whoever found it.
void Context::account_removal(Item* it, Liveness why, Via via) noexcept {
  switch (why) {
    case Liveness::kAlive:
      stats_.evictions.add();
      notify(MutationKind::kEvict, it);
      break;
    case Liveness::kExpired:
      (via == Via::kActive ? stats_.expired_active : stats_.expired_lazy).add();
      if (via == Via::kRead) stats_.get_expired.add();
      notify(MutationKind::kExpire, it);
      break;
    case Liveness::kFlushed:
      stats_.flushed_removed.add();
      if (via == Via::kRead) stats_.get_flushed.add();
      break;
  }
}

void Context::unlink_dead(const Found& f, Liveness why, Via via) noexcept {
  Bucket& b = *f.bucket;
  // The shard may have grown since the item was found: then it is the new array's to remove,
  // and whoever meets it there next (a read, the hand, its wheel entry) will.
  bool held = false;
  if (!lock_one(f.shard, f.state, b, &held)) return;
  const bool still = b.ref[f.slot].load(std::memory_order_relaxed) == memory_.ref_of(f.item);
  if (still) unlink(f);
  if (!held) Table::unlock(b);
  if (still) account_removal(f.item, why, via);
}

std::uint8_t Context::initial_access() const noexcept {
  return store_.policy() == EvictionPolicy::kClock ? 1 : kLfuInit;
}

void Context::retire(Item* it, std::size_t bytes) noexcept {
  if (retired_count_ == retired_cap_) {
    // More unlinks in one loop iteration than the ring holds: nothing in it can be freed before
    // this context's own next quiescent point, so the ring grows (rare; counted). Should even
    // that fail, the item is leaked rather than freed under a reader.
    auto* bigger = new (std::nothrow) RetiredItem[retired_cap_ * 2];
    if (bigger == nullptr) return;
    for (std::size_t i = 0; i < retired_count_; ++i) bigger[i] = retired_[(retired_head_ + i) % retired_cap_];
    delete[] retired_;
    retired_ = bigger;
    retired_head_ = 0;
    retired_cap_ *= 2;
    stats_.retire_growths.add();
  }
  retired_[(retired_head_ + retired_count_) % retired_cap_] = {it, kUntagged, bytes};
  ++retired_count_;
  ++untagged_;
  stats_.retired_bytes_delta.add(static_cast<std::int64_t>(bytes));
}

void Context::tag_retired() noexcept {
  if (untagged_ == 0) return;
  const std::uint64_t tag = store_.shared_->qsbr.advance();
  for (std::size_t i = retired_count_ - untagged_; i < retired_count_; ++i) {
    retired_[(retired_head_ + i) % retired_cap_].tag = tag;
  }
  untagged_ = 0;
}

void Context::reclaim() noexcept {
  Store::Shared& sh = *store_.shared_;
  if (retired_count_ == 0 && !sh.has_orphans.load(std::memory_order_relaxed)) return;
  const std::uint64_t safe = sh.qsbr.safe_below();
  while (retired_count_ > 0 && retired_[retired_head_].tag < safe) {
    free_retired(retired_[retired_head_]);
    retired_head_ = (retired_head_ + 1) % retired_cap_;
    --retired_count_;
  }
  if (sh.has_orphans.load(std::memory_order_acquire) && sh.mu.try_lock()) {
    std::erase_if(sh.orphans, [&](const RetiredItem& o) {
      if (o.tag >= safe) return false;
      free_retired(o);
      return true;
    });
    sh.has_orphans.store(!sh.orphans.empty(), std::memory_order_release);
    sh.mu.unlock();
  }
}

void Context::free_retired(const RetiredItem& r) noexcept {
  memory_.release(r.item);
  stats_.retired_bytes_delta.sub(static_cast<std::int64_t>(r.bytes));
}

void Context::quiescent() noexcept {
  tag_retired();
  store_.shared_->qsbr.quiescent(qsbr_id_);
  reclaim();
  if (FERRITE_UNLIKELY(table_.has_retired())) table_.release_due(store_.shared_->qsbr);
  if (collect_force_ticks_ > 0) {
    // A segment is being given back: the frees that empty its pages may come from any thread
    // (items other contexts unlinked), and only a forced collect frees such pages.
    --collect_force_ticks_;
    ItemMemory::collect(heap_, true);
    ItemMemory::collect(keep_heap_, true);
    collect_pages_ = false;
  } else if (collect_pages_ && retired_count_ == 0) {
    ItemMemory::collect(heap_);
    ItemMemory::collect(keep_heap_);
    collect_pages_ = false;
  }
}

void Context::offline() noexcept {
  tag_retired();
  store_.shared_->qsbr.offline(qsbr_id_);
}

void Context::online() noexcept { store_.shared_->qsbr.online(qsbr_id_); }

}  // namespace ferrite::store
