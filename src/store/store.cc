#include "store/store.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/clock.h"
#include "core/hash.h"
#include "core/qsbr.h"
#include "store/memory.h"
#include "store/wheel.h"

namespace ferrite::store {

namespace {
constexpr std::uint64_t kUntagged = std::numeric_limits<std::uint64_t>::max();
constexpr unsigned kMaxContexts = 64;
constexpr std::uint8_t kLfuInit = 0;  // on probation: evicted at the hand's first pass unless hit
constexpr std::size_t kBatchStep = 16;
constexpr std::size_t kSweepBucketsPerTick = 64;
constexpr std::size_t kHeadroomBucketsPerTick = 32;
constexpr std::size_t kLargeDemand = std::size_t{64} << 10;  // allocations that need whole pages
constexpr unsigned kFragmentedTicks = 16;
constexpr unsigned kFragCheckEvery = 32;         // ticks between fragmentation checks
constexpr std::size_t kFragSlackDivisor = 32;    // touched-but-free memory allowed: ~3% of a share
constexpr std::size_t kGiveBackBlocksPerTick = 4096;  // items a give_back() evicts per tick at most
// Blocks one relieve() call looks at, at most: 8 windows of 100-byte items are 300k items, and
// moving or evicting them all in one tick stalled the worker's clients for half a second; 32k
// items are a few milliseconds, and enough for a 1 MiB hole among 128-byte items. The windows
// left are chosen again (still the sparsest) at the next call.
constexpr std::size_t kReliefBlocksPerCall = 32768;
constexpr unsigned kGiveBackCollectTicks = 64;        // forced collects after a segment was emptied
constexpr unsigned kOwnRoomEvery = 8;                 // ticks between counts of a heap's own room
// What a segment holds for items: 32 MiB less its header slice.
constexpr std::size_t kSegmentUsable = (std::size_t{1} << ItemMemory::kSegmentShift) - (std::size_t{64} << 10);
constexpr std::uint64_t kNoSegment = ~std::uint64_t{0};
constexpr unsigned kArenaWaitSpins = 20000;           // ~1 ms of pause instructions at most

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
  }
  return "unknown";
}

KeyRef make_key(std::string_view key) noexcept { return {key, hash_key(key)}; }

// State every context shares. Read-mostly fields sit apart from the ones written often.
struct Store::Shared {
  explicit Shared(unsigned max_contexts) : qsbr(max_contexts) {}

  Qsbr qsbr;
  std::uint64_t epoch_mono_ms = 0;
  std::uint64_t epoch_unix_ms = 0;

  // Read on every access; written only by flushes.
  alignas(kCacheLine) std::atomic<std::uint64_t> flush_cutoff{0};  // versions <= this are flushed
  std::atomic<std::uint64_t> flush_at{0};                         // pending delayed flush, 0 = none

  alignas(kCacheLine) std::atomic<std::uint64_t> hand{0};         // CLOCK hand, in buckets
  alignas(kCacheLine) std::atomic<std::uint64_t> sweep_next{~std::uint64_t{0}};  // post-flush sweep

  // The last version each context id issued: flush cutoffs, and a re-attached id resumes here.
  struct alignas(kCacheLine) LastVersion {
    std::atomic<std::uint64_t> v{0};
  };
  LastVersion last_version[kMaxContexts];

  // Contexts whose heap and the arena had no room for an allocation (bit = context id), and how
  // many arena segments each context's heap holds (published at its censuses): give_back().
  alignas(kCacheLine) std::atomic<std::uint64_t> short_mask{0};
  std::atomic<unsigned> arena_waiter{0};  // id + 1 of the context in alloc_after_grace, 0 = none
  std::atomic<std::uint32_t> segments_held[kMaxContexts] = {};
  std::atomic<std::uint32_t> short_epoch[kMaxContexts] = {};  // bumped each time a context turns short

  std::atomic<unsigned> attached{0};
  std::mutex mu;  // attach/detach, stats, orphans: never on a request path
  Context* contexts[kMaxContexts] = {};
  StoreStats detached;
  std::vector<RetiredItem> orphans;  // left by detached contexts, freed by any other
  std::atomic<bool> has_orphans{false};
};

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
  if (config_.max_item_size < 1 || config_.max_item_size > (std::size_t{1} << 30) ||
      config_.max_item_size > config_.memory_limit / 4) {
    throw std::invalid_argument("store.max_item_size: " + std::to_string(config_.max_item_size) +
                                " must be at least 1, at most 1 GiB and at most a quarter of store.memory");
  }
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

namespace {
FERRITE_ALWAYS_INLINE bool key_equals(const Item* it, std::string_view key) noexcept {
  const std::size_t n = key.size();
  if (it->key_len() != n) return false;
  const char* a = it->key_data();
  if (n >= 8 && n <= 16) {  // the common key: two overlapping 8-byte words, no call
    std::uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, a, 8);
    std::memcpy(&b0, key.data(), 8);
    std::memcpy(&a1, a + n - 8, 8);
    std::memcpy(&b1, key.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return std::memcmp(a, key.data(), n) == 0;
}

// Slots whose tag equals `tag`, as a mask with bit 2*s set for slot s. Readers race with writers
// by design (the seqlock and the key comparison make that safe), so the fast path reads the ten
// tags with one SSE2 compare; sanitizer builds take the atomic loads, which TSan can check.
FERRITE_ALWAYS_INLINE std::uint32_t match_tags(const Bucket& b, std::uint16_t tag) noexcept {
#if defined(__SSE2__) && !defined(FERRITE_SANITIZE)
  const __m128i needle = _mm_set1_epi16(static_cast<short>(tag));
  const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&b.tag[0]));
  std::uint32_t m = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi16(lo, needle))) & 0x5555u;
  std::uint32_t hi;
  std::memcpy(&hi, reinterpret_cast<const char*>(&b.tag[8]), 4);
  m |= static_cast<std::uint32_t>((hi & 0xFFFFu) == tag) << 16;
  m |= static_cast<std::uint32_t>((hi >> 16) == tag) << 18;
  return m;
#else
  std::uint32_t m = 0;
  for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
    m |= static_cast<std::uint32_t>(b.tag[s].load(std::memory_order_relaxed) == tag) << (2 * s);
  }
  return m;
#endif
}
}  // namespace

FERRITE_ALWAYS_INLINE Context::Found Context::find_in(const KeyRef& key, const Location& loc,
                                                     std::uint32_t bi) const noexcept {
  Bucket& b = loc.base[bi];
  for (std::uint32_t m = match_tags(b, loc.tag); m != 0; m &= m - 1) {
    const unsigned s = static_cast<unsigned>(__builtin_ctz(m)) >> 1;
    const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
    if (ref == 0) continue;
    Item* it = memory_.item_at(ref);
    if (key_equals(it, key.key)) return {it, &b, s, loc.shard, loc.state};
  }
  return {};
}

FERRITE_ALWAYS_INLINE Context::Found Context::find_locked(const KeyRef& key, const Location& loc) const noexcept {
  Found f = find_in(key, loc, loc.b1);
  if (f.item == nullptr && loc.b2 != loc.b1) f = find_in(key, loc, loc.b2);
  return f;
}

Location Context::lock_key(const KeyRef& key) const noexcept {
  for (;;) {
    const Location loc = table_.locate(key.hash);
    if (table_.lock_pair(loc)) return loc;
    cpu_relax();  // the key's shard grew meanwhile: its new array
  }
}

Context::Found Context::find(const KeyRef& key, Location loc) const noexcept {
  for (;;) {
    const Bucket& b1 = loc.primary();
    const Bucket& b2 = loc.alternate();
    const std::uint32_t v1 = b1.version.load(std::memory_order_acquire);
    // A hit needs no validation: items are immutable and the ref was this key's item when read.
    // Most keys sit in their primary bucket, so the alternate's line is touched only after that.
    Found f = find_in(key, loc, loc.b1);
    if (f.item != nullptr) return f;
    const std::uint32_t v2 = b2.version.load(std::memory_order_acquire);
    if (loc.b2 != loc.b1) {
      f = find_in(key, loc, loc.b2);
      if (f.item != nullptr) return f;
    }
    // A miss is only trusted if neither bucket changed meanwhile (a displacement may have moved
    // the key from the bucket not yet read to the one already read), and no writer held them
    // (unless the shard froze them to grow: then nothing in them changes).
    std::atomic_thread_fence(std::memory_order_acquire);
    if (b1.version.load(std::memory_order_relaxed) == v1 && b2.version.load(std::memory_order_relaxed) == v2 &&
        table_.stable(loc, v1, v2)) {
      return {};
    }
    cpu_relax();
    loc = table_.locate(key.hash);
  }
}

FERRITE_ALWAYS_INLINE Context::Liveness Context::liveness(const Item* it) const noexcept {
  const std::uint32_t e = it->load_expiry();
  if (e != 0 && now_ms_ >= decode_expiry(e)) return Liveness::kExpired;
  if (it->version() <= store_.shared_->flush_cutoff.load(std::memory_order_relaxed)) return Liveness::kFlushed;
  return Liveness::kAlive;
}

void Context::maybe_run_flush() noexcept {
  std::atomic<std::uint64_t>& at = store_.shared_->flush_at;
  std::uint64_t due = at.load(std::memory_order_relaxed);
  if (FERRITE_UNLIKELY(due != 0 && now_ms_ >= due) && at.compare_exchange_strong(due, 0)) {
    store_.flush_now();
    notify(MutationKind::kFlush, nullptr);
  }
}

FERRITE_ALWAYS_INLINE void Context::note_hit(Item* it) noexcept {
  const std::uint8_t a = it->load_access();
  if (store_.policy() == EvictionPolicy::kClock) {
    if (a == 0) it->store_access(1);
    return;
  }
  // Redis's logarithmic counter: the higher it is, the less likely a hit raises it.
  if (a == 255) return;
  const double base = a > kLfuInit ? a - kLfuInit : 0;
  if (rng_.next_double() * (base * config_.lfu_log_factor + 1) < 1.0) it->store_access(static_cast<std::uint8_t>(a + 1));
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
  note_hit(f.item);
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
  if (!table_.lock(f.shard, f.state, b)) return;
  const bool still = b.ref[f.slot].load(std::memory_order_relaxed) == memory_.ref_of(f.item);
  if (still) unlink(f);
  Table::unlock(b);
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

// ---------------------------------------------------------------------------------------------
// Memory and eviction

// Moves the shared hand on by one bucket and evicts there. The hand goes round the positions
// (every bucket the table may have); past a shard's current size it skips to the next shard.
std::size_t Context::turn_hand(Sweep mode) noexcept {
  std::atomic<std::uint64_t>& hand = store_.shared_->hand;
  const std::uint64_t total = table_.positions();
  for (;;) {
    const std::uint64_t h = hand.fetch_add(1, std::memory_order_relaxed);
    Location at;
    std::uint64_t next;
    if (table_.at(h % total, &at, &next)) return evict_bucket(at, mode);
    std::uint64_t expect = h + 1;  // unless another thread moved the hand on already
    hand.compare_exchange_strong(expect, h + (next - h % total), std::memory_order_relaxed);
  }
}

// Removes from one bucket the dead items and, unless `mode` is kDeadOnly, the live ones the
// policy gives up (kForce: every live one).
std::size_t Context::evict_bucket(const Location& at, Sweep mode) noexcept {
  Bucket& b = at.primary();
  unsigned victims[kSlotsPerBucket];
  std::uint32_t victim_refs[kSlotsPerBucket];
  Liveness reasons[kSlotsPerBucket];
  unsigned n = 0;
  // One reading per bucket: the policy may change live (Store::set_policy).
  const bool clock = store_.policy() == EvictionPolicy::kClock;
  for (unsigned s = 0; s < kSlotsPerBucket; ++s) {
    const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
    if (ref == 0) continue;
    Item* it = memory_.item_at(ref);
    const Liveness l = liveness(it);
    if (FERRITE_UNLIKELY(writing_ != nullptr) && l == Liveness::kAlive &&
        b.tag[s].load(std::memory_order_relaxed) == Table::tag_of(writing_->hash) && protected_item(it)) {
      continue;
    }
    if (l == Liveness::kAlive && mode != Sweep::kForce) {
      if (mode == Sweep::kDeadOnly) continue;
      if (mode == Sweep::kPolicyOwn && memory_.owner_of(it) != id_) continue;
      const std::uint8_t a = it->load_access();
      if (clock) {
        if (a != 0) {  // second chance
          it->store_access(0);
          continue;
        }
      } else if (a != 0) {  // LFU: the hand's pass is the decay
        it->store_access(static_cast<std::uint8_t>(a - 1 - a / 8));
        continue;
      }
    }
    victims[n] = s;
    victim_refs[n] = ref;
    reasons[n] = l;
    ++n;
  }
  if (n == 0) return 0;
  Item* gone[kSlotsPerBucket];
  Liveness why[kSlotsPerBucket];
  unsigned removed = 0;
  if (!table_.lock(at, b)) return 0;  // the shard grew: the hand comes back to its new array
  for (unsigned i = 0; i < n; ++i) {
    if (b.ref[victims[i]].load(std::memory_order_relaxed) != victim_refs[i]) continue;
    Item* it = memory_.item_at(victim_refs[i]);
    unlink({it, &b, victims[i], at.shard, at.state});
    gone[removed] = it;
    why[removed] = reasons[i];
    ++removed;
  }
  Table::unlock(b);
  for (unsigned i = 0; i < removed; ++i) account_removal(gone[i], why[i], Via::kActive);
  return removed;
}

// Evicts the item in an allocator block if, and only if, the table still links that very
// item. The block may hold a retired item or one freed a moment ago by another thread, so its
// header is checked against the block before the key is read, and only the table is trusted.
std::size_t Context::evict_block(const Item* it, std::size_t block_size) noexcept {
  if (block_size < sizeof(Item) + 8 || !ItemMemory::readable(it)) return 0;
  const std::size_t klen = it->key_len();
  const std::size_t vlen = it->value_len();
  if (klen == 0 || klen > config_.max_key_size || vlen > config_.max_item_size ||
      Item::footprint(klen, vlen, it->has_flags() ? 1 : 0) > block_size) {
    return 0;
  }
  if (FERRITE_UNLIKELY(writing_ != nullptr) && protected_item(it)) return 0;
  const KeyRef key = make_key(it->key());
  const Location loc = lock_key(key);
  const Found f = find_locked(key, loc);
  std::size_t freed = 0;
  if (f.item == it) {
    freed = ItemMemory::charge_for(ItemMemory::usable_size(f.item));
    unlink(f);
  }
  Table::unlock_pair(loc);
  if (freed != 0) {
    stats_.evictions.add();
    stats_.page_evictions.add();
    notify(MutationKind::kEvict, f.item);
  }
  return freed;
}

template <typename Fn>
void Context::visit_own_pages(Fn fn, void* arg) noexcept {
  ItemMemory::visit_pages(heap_, fn, arg);
  ItemMemory::visit_pages(keep_heap_, fn, arg);
}

// Moves the item in an allocator block to a block of the same size in this context's second
// heap, if the table still links that very item (checked as evict_block does); evicts it when no
// such block can be had. Readers that found the old copy keep reading it until the grace period
// ends; the new copy has the same version, deadline and access byte, so a CAS, a timing-wheel
// handle or the policy sees no difference. The budget is unchanged: same usable size.
std::size_t Context::move_block(const Item* it, std::size_t block_size) noexcept {
  if (block_size < sizeof(Item) + 8 || !ItemMemory::readable(it)) return 0;
  const std::size_t klen = it->key_len();
  const std::size_t vlen = it->value_len();
  const std::size_t footprint = Item::footprint(klen, vlen, it->has_flags() ? 1 : 0);
  if (klen == 0 || klen > config_.max_key_size || vlen > config_.max_item_size || footprint > block_size) return 0;
  const KeyRef key = make_key(it->key());
  const Location loc = lock_key(key);
  const Found f = find_locked(key, loc);
  if (f.item != it) {
    Table::unlock_pair(loc);
    return 0;
  }
  const std::size_t usable = ItemMemory::usable_size(f.item);
  const std::size_t charged = ItemMemory::charge_for(usable);
  void* p = liveness(f.item) == Liveness::kAlive ? memory_.allocate(keep_heap_, footprint) : nullptr;
  if (p != nullptr && ItemMemory::usable_size(p) != usable) {
    memory_.release(p);
    p = nullptr;
  }
  if (p == nullptr) {  // no room to keep it (or it is dead): evict it, as evict_block would
    unlink(f);
    Table::unlock_pair(loc);
    stats_.evictions.add();
    stats_.page_evictions.add();
    notify(MutationKind::kEvict, f.item);
    return charged;
  }
  auto* fresh = static_cast<Item*>(p);
  std::memcpy(fresh->version_bytes, f.item->version_bytes, sizeof(fresh->version_bytes));
  fresh->access = f.item->load_access();
  fresh->expiry = f.item->load_expiry();
  fresh->shape = f.item->shape;
  std::memcpy(fresh + 1, f.item + 1, footprint - sizeof(Item));
  f.bucket->ref[f.slot].store(memory_.ref_of(fresh), std::memory_order_release);
  Table::unlock_pair(loc);
  memory_.note_owner(fresh, id_);
  retire(f.item, charged);
  stats_.page_moves.add();
  return charged;
}


// Fragmentation relief. Lists this context's allocator pages (cheap: one record per page) and
// compares the bytes they have touched with the bytes live in them. When the gap is more than
// about 3% of this context's share of the budget and the store is near its limit, or
// `want_bytes` of contiguous room is asked for, it empties the aligned 4 MiB windows that hold
// the fewest live bytes of small and medium items: every item in the pages overlapping them is
// evicted, and their memory comes back as contiguous runs (memcached's slab reassignment, for a
// general allocator). Large values are never evicted this way: they are what the room is for.
// At most kMaxWindows windows per call.
void Context::relieve(std::size_t want_bytes) noexcept {
  constexpr std::size_t kWin = std::size_t{4} << 20;  // fits three 1 MiB values (17 slices each)
  constexpr std::size_t kMaxWindows = 8;
  constexpr std::size_t kLargeBlock = std::size_t{128} << 10;
  constexpr std::uint64_t kNone = ~std::uint64_t{0}, kTaken = kNone - 1;
  struct Scan {
    Context* self;
    std::size_t n;
    std::size_t touched = 0, live = 0;
    std::size_t chosen[kMaxWindows] = {};
    std::size_t n_chosen = 0;
    bool windows = true;  // heap_'s pages are emptied; keep_heap_'s only count
    std::size_t keep_from = kLargeBlock;  // blocks this large or larger are never emptied
    bool move = false;    // move the items of the windows (else evict them)
    std::size_t blocks_left = kReliefBlocksPerCall;  // the rest of the windows waits for the next call
  } scan{this, memory_.arena_bytes() / kWin + 1};
  // Room for a large value may have to come from smaller large blocks (a store full of 256 KiB
  // values that receives 1 MiB ones): those may go too, never a block as large as the one the
  // room is for (the values just written are what the room was made for).
  if (want_bytes != 0 && largest_demand_ > kLargeBlock) scan.keep_from = ItemMemory::usable_for(largest_demand_);
  window_live_.assign(scan.n, kNone);  // kNone: no small or medium page of ours there
  const auto census_page = [](void* arg, const ItemMemory::Page& p) noexcept {
    auto& sc = *static_cast<Scan*>(arg);
    auto& live = sc.self->window_live_;
    const std::size_t used = p.used * p.block_size;
    const bool large = p.block_size >= kLargeBlock;
    // A large object's page is rounded up to whole slices, but the tail is never touched.
    sc.touched += large ? used : p.touched;
    sc.live += used;
    const std::size_t off = static_cast<std::size_t>(p.start - sc.self->memory_.base());
    if (p.block_size >= sc.keep_from || used == 0 || !sc.windows) return;
    for (std::size_t w = off / kWin; w <= (off + p.bytes - 1) / kWin && w < sc.n; ++w) {
      live[w] = (live[w] == kNone ? 0 : live[w]) + used;
    }
  };
  const std::size_t share = memory_.budget() / std::max(1u, store_.shared_->attached.load(std::memory_order_relaxed));
  // Segments held far beyond this context's share of the budget (the limit was lowered, or the
  // items went): the items of the windows emptied are moved, not evicted, into this context's
  // second heap, where they fill fresh pages densely, as long as its segments have free spans
  // for them (taking segments from the arena would take the room other contexts' writes need),
  // and the free spans go back to the system (trim). Otherwise (a full store, fragmented) the
  // items are evicted: the second heap receives no writes, so its free blocks would only be
  // reused by later moves.
  const Census c = census();
  const bool over = c.held << ItemMemory::kSegmentShift > share + (share >> 3) + (std::size_t{2} << ItemMemory::kSegmentShift);
  scan.move = over && c.held * kSegmentUsable > c.in_pages + 2 * kWin;
  ItemMemory::visit_pages(heap_, census_page, &scan);
  scan.windows = !scan.move;
  ItemMemory::visit_pages(keep_heap_, census_page, &scan);
  if (over) trim();
  const std::size_t slack = scan.touched > scan.live ? scan.touched - scan.live : 0;
  const std::size_t allowed = share / kFragSlackDivisor + (std::size_t{2} << 20);
  // Slack only matters near the limit: far from it, charged bytes plus slack are still within the
  // budget (and overwrites from other threads routinely leave slack in this heap for a while).
  const auto charged = static_cast<std::size_t>(std::max<std::int64_t>(
      0, static_cast<std::int64_t>(memory_.budget()) - memory_.pool()));
  const bool near_limit = charged + slack + allowed > memory_.budget();
  std::size_t want = want_bytes;
  if (near_limit && slack > allowed) want = std::max(want, slack - allowed / 2);
  if (want == 0) return;
  for (std::size_t got = 0; scan.n_chosen < kMaxWindows && got < want;) {
    std::size_t best = SIZE_MAX;
    for (std::size_t w = 0; w < scan.n; ++w) {
      const std::uint64_t l = window_live_[w];
      if (l != 0 && l < kTaken && (best == SIZE_MAX || l < window_live_[best])) best = w;
    }
    if (best == SIZE_MAX) break;
    got += kWin - std::min<std::size_t>(kWin, window_live_[best]);
    scan.chosen[scan.n_chosen++] = best;
    window_live_[best] = kTaken;
  }
  if (scan.n_chosen == 0) return;
  const auto empty_windows = [](void* arg, const ItemMemory::Page& p) noexcept {
    auto& sc = *static_cast<Scan*>(arg);
    if (p.used == 0 || p.block_size >= sc.keep_from) return;
    const std::size_t off = static_cast<std::size_t>(p.start - sc.self->memory_.base());
    bool hit = false;
    for (std::size_t i = 0; i < sc.n_chosen && !hit; ++i) {
      hit = off < (sc.chosen[i] + 1) * kWin && off + p.bytes > sc.chosen[i] * kWin;
    }
    if (!hit) return;
    for (std::size_t b = 0; b + p.stride <= p.bytes && sc.blocks_left > 0; b += p.stride, --sc.blocks_left) {
      const auto* it = reinterpret_cast<const Item*>(p.start + b);
      if (sc.move) {
        sc.self->move_block(it, p.block_size);
      } else {
        sc.self->evict_block(it, p.block_size);
      }
    }
  };
  ItemMemory::visit_pages(heap_, empty_windows, &scan);
  if (!scan.move) ItemMemory::visit_pages(keep_heap_, empty_windows, &scan);
  collect_pages_ = true;
}

void Context::set_short(bool on) noexcept {
  if (on == short_) return;
  short_ = on;
  Store::Shared& sh = *store_.shared_;
  const std::uint64_t bit = std::uint64_t{1} << id_;
  if (on) {
    sh.short_epoch[id_].fetch_add(1, std::memory_order_relaxed);
    sh.short_mask.fetch_or(bit, std::memory_order_relaxed);
  } else {
    sh.short_mask.fetch_and(~bit, std::memory_order_relaxed);
  }
}

// Moving arena room between contexts. Each context's heap owns the segments it allocates in,
// and a free block or page is reusable only by its owner, so a context can be short of room
// while the budget has plenty and other heaps hold free memory: after one worker wrote most of
// the data, another worker's writes would fail for good. A context short of room sets its bit
// in the short mask and counts the segments it holds; a context holding more than its equal
// share of the arena's segments (floor(segments / contexts)) then gives one back, once per
// shortage of each short context that holds less than that share: it evicts every item in the
// pages of its segment with the fewest live bytes (a bounded number per tick), and once they
// are freed the segment returns to the arena, where the short context's heap takes it. A
// context at or above its share makes room in its own heap instead (relieve()). So every
// context can always reach its equal share, and memory moves between contexts only when one
// runs out, never back and forth.
Context::Census Context::census() noexcept {
  struct Visit {
    Context* self;
    Census c;
  } v{this, {}};
  segment_live_.assign(memory_.segments() + 1, kNoSegment);
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    auto& vs = *static_cast<Visit*>(arg);
    std::uint64_t& live = vs.self->segment_live_[vs.self->memory_.segment_of(p.start)];
    if (live == kNoSegment) {
      live = 0;
      ++vs.c.held;
    }
    live += p.used * p.block_size;
    vs.c.in_blocks += p.used * p.block_size;
    vs.c.in_pages += p.bytes;
    if (p.block_size == vs.self->last_usable_) vs.c.free_in_class += p.bytes - p.used * p.stride;
  }, &v);
  Store::Shared& sh = *store_.shared_;
  sh.segments_held[id_].store(static_cast<std::uint32_t>(v.c.held), std::memory_order_relaxed);
  std::size_t all_held = 0;
  const unsigned n = store_.config_.max_contexts;
  for (unsigned i = 0; i < n; ++i) all_held += sh.segments_held[i].load(std::memory_order_relaxed);
  v.c.arena_free = memory_.segments() > all_held ? memory_.segments() - all_held : 0;
  return v.c;
}

// Keeps room in this context's own heap for its next writes. The budget's headroom (tick())
// is global: free budget may be free memory in another context's heap, which this one cannot
// use. Every few ticks this counts the room left in its own segments (and its share of the
// arena's free segments); when that is less than twice what it allocated since, it evicts its
// own items, by the policy, for the difference: freed after the grace period, they are room in
// its own pages.
void Context::keep_own_room() noexcept {
  const Census c = census();
  const unsigned attached = std::max(1u, store_.shared_->attached.load(std::memory_order_relaxed));
  // Room for the next writes: the free blocks of the size this context writes, and what no page
  // of its segments (or of its share of the free segments) covers yet. Free blocks of other
  // sizes do not count: a page is reusable for another size only once it is empty.
  // What this context unlinked and waits to free counts as room to come: evicting more would
  // not free anything sooner (a stalled context holds every grace period back).
  const std::size_t capacity = (c.held + c.arena_free / attached) * kSegmentUsable;
  const std::size_t room = (capacity > c.in_pages ? capacity - c.in_pages : 0) + c.free_in_class +
                           static_cast<std::size_t>(std::max<std::int64_t>(0, stats_.retired_bytes_delta.get()));
  const std::size_t want = std::min(std::max<std::size_t>(2 * own_allocated_, kSegmentUsable / 16),
                                    memory_.budget() / attached / 8);
  own_allocated_ = 0;
  if (room >= want) return;
  const std::int64_t target = static_cast<std::int64_t>(want - room);
  const std::int64_t retired_before = stats_.retired_bytes_delta.get();
  const std::size_t limit = kHeadroomBucketsPerTick + table_.buckets() / 16;
  for (std::size_t i = 0; i < limit && stats_.retired_bytes_delta.get() - retired_before < target; ++i) {
    turn_hand(Sweep::kPolicyOwn);
  }
}

// Gives memory back to the system. mimalloc keeps the pages of its segments resident once
// touched, even when no block is left in them, so a store whose limit was lowered live (or that
// emptied pages by relief) would keep its peak resident. Every span of this context's own
// segments that no page covers is handed back to the kernel (MADV_DONTNEED): free spans hold no
// allocator data (a segment's bookkeeping is in its first slices, which are never touched here),
// only this thread allocates in its own segments, so nothing can be placed there meanwhile, and
// memory mimalloc takes up again later simply reads as zero. Spans given back once are not given
// back again until a page has covered them since.
void Context::trim() noexcept {
  constexpr unsigned kSliceShift = 16;
  constexpr std::size_t kSlicesPerSegment = std::size_t{1} << (ItemMemory::kSegmentShift - kSliceShift);
  constexpr std::size_t kWords = kSlicesPerSegment / 64;
  constexpr std::size_t kHeaderSlices = 2;  // the segment's own data: never touched
  const std::size_t nseg = memory_.segments() + 1;
  slices_used_.assign(nseg * kWords, 0);
  if (slices_trimmed_.size() != nseg * kWords) slices_trimmed_.assign(nseg * kWords, 0);
  struct Mark {
    Context* self;
  } mark{this};
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    Context& c = *static_cast<Mark*>(arg)->self;
    const std::size_t off = static_cast<std::size_t>(p.start - c.memory_.base());
    const std::size_t end = off + std::max(p.reserved, p.bytes);
    for (std::size_t sl = off >> kSliceShift; sl < (end + (std::size_t{1} << kSliceShift) - 1) >> kSliceShift; ++sl) {
      c.slices_used_[sl / 64] |= std::uint64_t{1} << (sl % 64);
    }
  }, &mark);
  char* const base = const_cast<char*>(memory_.base());
  for (std::size_t seg = 0; seg + 1 < nseg; ++seg) {
    const std::uint64_t* used = &slices_used_[seg * kWords];
    std::uint64_t* trimmed = &slices_trimmed_[seg * kWords];
    bool owned = false;
    for (std::size_t w = 0; w < kWords && !owned; ++w) owned = used[w] != 0;
    if (!owned) {  // not this context's segment (or empty, back in the arena): not ours to touch
      for (std::size_t w = 0; w < kWords; ++w) trimmed[w] = 0;
      continue;
    }
    for (std::size_t w = 0; w < kWords; ++w) trimmed[w] &= ~used[w];
    std::size_t run = 0;
    for (std::size_t sl = kHeaderSlices; sl <= kSlicesPerSegment; ++sl) {
      const bool free = sl < kSlicesPerSegment && (used[sl / 64] >> (sl % 64) & 1) == 0 &&
                        (trimmed[sl / 64] >> (sl % 64) & 1) == 0;
      if (free) {
        ++run;
        trimmed[sl / 64] |= std::uint64_t{1} << (sl % 64);
        continue;
      }
      if (run > 0) {
        const std::size_t first = sl - run;
        ItemMemory::discard(base + (seg << ItemMemory::kSegmentShift) + (first << kSliceShift), run << kSliceShift);
        stats_.trimmed_bytes.add(static_cast<std::int64_t>(run << kSliceShift));
        run = 0;
      }
    }
  }
}

void Context::give_back(std::uint64_t others_short) noexcept {
  Store::Shared& sh = *store_.shared_;
  const Census census_now = census();

  if (giving_ == kNotGiving) {
    if (others_short == 0) return;
    const std::size_t share = memory_.segments() / std::max(1u, sh.attached.load(std::memory_order_relaxed));
    if (census_now.held <= share) return;
    bool needed = false;
    for (std::uint64_t m = others_short; m != 0; m &= m - 1) {
      const auto c = static_cast<unsigned>(__builtin_ctzll(m));
      const std::uint32_t epoch = sh.short_epoch[c].load(std::memory_order_relaxed);
      if (sh.segments_held[c].load(std::memory_order_relaxed) < share && served_epoch_[c] != epoch) {
        served_epoch_[c] = epoch;
        needed = true;
      }
    }
    if (!needed) return;
    for (std::size_t seg = 0; seg < segment_live_.size(); ++seg) {
      if (segment_live_[seg] != kNoSegment && (giving_ == kNotGiving || segment_live_[seg] < segment_live_[giving_])) {
        giving_ = seg;
      }
    }
    if (giving_ == kNotGiving) return;
    stats_.segments_given.add();
  }

  // Empty the segment: every item still linked in its pages, a bounded number per tick.
  struct Empty {
    Context* self;
    std::size_t budget = kGiveBackBlocksPerTick;
    std::size_t linked = 0;
  } empty{this};
  visit_own_pages([](void* arg, const ItemMemory::Page& p) noexcept {
    auto& e = *static_cast<Empty*>(arg);
    if (p.used == 0 || e.budget == 0 || e.self->memory_.segment_of(p.start) != e.self->giving_) return;
    for (std::size_t b = 0; b + p.stride <= p.bytes && e.budget > 0; b += p.stride, --e.budget) {
      if (e.self->evict_block(reinterpret_cast<const Item*>(p.start + b), p.block_size) != 0) ++e.linked;
    }
  }, &empty);
  if (empty.linked == 0) {
    // Nothing of it is linked any more: what is left is waiting for grace periods and for frees
    // by other threads. Collect with force for a while, so its pages and then the segment go.
    giving_ = kNotGiving;
    collect_force_ticks_ = kGiveBackCollectTicks;
  } else {
    collect_pages_ = true;
  }
}

bool Context::make_room(std::size_t bytes) noexcept {
  if (memory_.charge(credit_, bytes)) return true;
  // The policy's way first: second chances, decaying counters.
  for (std::size_t scanned = 0; scanned < config_.evict_scan_limit; scanned += kSlotsPerBucket) {
    turn_hand(Sweep::kPolicy);
    if (memory_.charge(credit_, bytes)) return true;
  }
  // A request's work is bounded: past the scan limit, the hand evicts whatever it meets, for at
  // most one sweep of the table. That finds room unless the memory is in other contexts' hands;
  // it costs more only when the table is sparse (a few large values), one cache line a bucket.
  for (std::size_t scanned = 0; scanned < table_.slots(); scanned += kSlotsPerBucket) {
    turn_hand(Sweep::kForce);
    if (memory_.charge(credit_, bytes)) return true;
  }
  return false;
}

// Allocates an item of `footprint` bytes with its charge to the budget (*charged, what commit()
// adds to the live bytes and drop_linked() takes off again: ItemMemory::charge_for).
Item* Context::alloc_item(std::size_t footprint, std::size_t* charged) noexcept {
  const std::size_t usable_want = ItemMemory::usable_for(footprint);
  const std::size_t want = ItemMemory::charge_for(usable_want);
  if (!make_room(want)) {
    stats_.no_memory.add();
    return nullptr;
  }
  if (footprint >= kLargeDemand) {
    large_demand_ += footprint;
    largest_demand_ = std::max(largest_demand_, footprint);
  }
  allocated_ += want;
  void* p = memory_.allocate(heap_, footprint);
  if (FERRITE_UNLIKELY(p == nullptr)) p = alloc_after_grace(footprint);
  if (FERRITE_UNLIKELY(p == nullptr && writing_ != nullptr)) p = alloc_after_quiescing(footprint, want);
  if (p == nullptr) {
    // The arena is full although the budget is not: this heap's pages are full and every free
    // segment is taken. Either the free memory is in this heap's pages of other sizes
    // (fragmentation, typically large values arriving in a store full of small ones) or in
    // other contexts' heaps (memory they hold is free but theirs). Memory unlinked now is only
    // reusable after this loop iteration's quiescent point, so refuse this request; tick() then
    // empties whole allocator pages of this heap (memcached's slab reassignment, in effect)
    // and, through the short mask, has a context holding more than its share of the arena
    // give a segment back (give_back).
    fragmented_ticks_ = kFragmentedTicks;
    arena_demand_ += want;
    set_short(true);
    memory_.uncharge(credit_, want);
    stats_.no_memory.add();
    stats_.arena_refusals.add();
    return nullptr;
  }
  if (FERRITE_UNLIKELY(short_)) set_short(false);
  memory_.note_owner(p, id_);
  own_allocated_ += want;
  last_usable_ = usable_want;
  const std::size_t got = ItemMemory::charge_for(ItemMemory::usable_size(p));
  if (got > want && !make_room(got - want)) {
    memory_.release(p);
    memory_.uncharge(credit_, want);
    stats_.no_memory.add();
    return nullptr;
  }
  if (got < want) memory_.uncharge(credit_, want - got);
  *charged = got;
  return static_cast<Item*>(p);
}

// The arena refused an allocation. What this context retired in earlier loop iterations is
// freed once every other context has passed a quiescent point, usually within microseconds
// (this context holds no reference to it: ItemViews end at its own quiescent point). So free
// what is due, pages other threads' frees emptied, and wait for the rest, a bounded while,
// retrying as it comes. One context waits at a time: two waiting for each other would only
// time out.
void* Context::alloc_after_grace(std::size_t footprint) noexcept {
  reclaim();
  ItemMemory::collect(heap_, true);
  ItemMemory::collect(keep_heap_, true);
  void* p = memory_.allocate(heap_, footprint);
  if (p != nullptr || retired_count_ == untagged_) return p;  // nothing from before to wait for
  Store::Shared& sh = *store_.shared_;
  unsigned none = 0;
  if (!sh.arena_waiter.compare_exchange_strong(none, id_ + 1, std::memory_order_acquire)) return nullptr;
  stats_.arena_waits.add();
  for (unsigned spin = 0; spin < kArenaWaitSpins && p == nullptr && retired_count_ > untagged_; ++spin) {
    const std::size_t before = retired_count_;
    reclaim();
    if (retired_count_ != before) {
      ItemMemory::collect(heap_, true);
      p = memory_.allocate(heap_, footprint);
    } else {
      cpu_relax();
    }
  }
  sh.arena_waiter.store(0, std::memory_order_release);
  return p;
}

// The key of the may_wait write under way, whose item the room-making for it must not evict (a
// replace or cas of it would fail): compared by tag first, then by key.
bool Context::protected_item(const Item* it) const noexcept {
  return writing_ != nullptr && it->key() == writing_->key;
}

// A may_wait write the arena could not place, even after alloc_after_grace(): the caller holds
// no view, so this call may be a quiescent point of this context. Make room in its own heap (a
// large value's contiguous room by emptying allocator pages, a smaller one by evicting its own
// items by the policy), mark the quiescent point, and wait, bounded, for the other contexts to
// pass one too, freeing and retrying as they do: what was unlinked is then reusable here. The
// quiescent point is announced again at every turn of the wait, so two contexts waiting here at
// once see each other pass and neither holds the other back.
void* Context::alloc_after_quiescing(std::size_t footprint, std::size_t want) noexcept {
  Store::Shared& sh = *store_.shared_;
  stats_.arena_waits.add();
  const std::int64_t evicted_before = stats_.retired_bytes_delta.get();
  if (footprint >= kLargeDemand) {
    largest_demand_ = std::max(largest_demand_, footprint);
    relieve(2 * want);
  }
  const std::size_t limit = kHeadroomBucketsPerTick + table_.buckets() / 16;
  for (std::size_t i = 0; i < limit && stats_.retired_bytes_delta.get() - evicted_before < static_cast<std::int64_t>(2 * want); ++i) {
    turn_hand(Sweep::kPolicyOwn);
  }
  tag_retired();
  void* p = nullptr;
  for (unsigned spin = 0; spin < kArenaWaitSpins && p == nullptr; ++spin) {
    sh.qsbr.quiescent(qsbr_id_);
    const std::size_t before = retired_count_;
    reclaim();
    if (spin == 0 || retired_count_ != before) {
      ItemMemory::collect(heap_, true);
      ItemMemory::collect(keep_heap_, true);
      p = memory_.allocate(heap_, footprint);
    } else if (retired_count_ == 0) {
      break;  // everything is freed and there is still no room
    } else {
      cpu_relax();
    }
  }
  return p;
}

void Context::free_unpublished(Item* it, std::size_t charged) noexcept {
  memory_.release(it);
  memory_.uncharge(credit_, charged);
}

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
    if (f.item != nullptr || room || !may_grow || !table_.can_grow(loc.shard)) break;
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
    Table::unlock_pair(loc);
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
  Table::unlock_pair(loc);
  if (FERRITE_UNLIKELY(grow_count_ != 0)) grow_table();
  stats_.sets.add();
  const std::uint64_t deadline = decode_expiry(fresh->load_expiry());
  if (deadline != 0) schedule_expiry(key.hash, version, deadline);
  notify(MutationKind::kStore, fresh);
  return {Status::kOk, version, replaced};
}

SetResult Context::set(const KeyRef& key, std::string_view value, const SetRequest& req) noexcept {
  maybe_run_flush();
  if (key.key.empty()) return {Status::kEmptyKey, 0};
  if (key.key.size() > config_.max_key_size) return {Status::kKeyTooLong, 0};
  if (value.size() > config_.max_item_size) {
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
      if (req.cas != 0 && old->version() != req.cas) {
        stats_.cas_badval.add();
        stats_.set_failures.add();
        return {Status::kExists, 0};
      }
      const std::string_view ov = old->value();
      if (ov.size() + value.size() > config_.max_item_size) {
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
  if (req.may_wait) writing_ = &key;
  Item* fresh = alloc_item(Item::footprint(key.key.size(), value.size(), req.flags), &usable);
  writing_ = nullptr;
  if (fresh == nullptr) {
    stats_.set_failures.add();
    return {Status::kNoMemory, 0};
  }
  Item::init(fresh, key.key, value.size(), req.flags, 0, encode_expiry(req.expires_at_ms), initial_access());
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

namespace {
// Redis's rule (string2ll): optional '-', no leading zeros, no spaces, fits in int64.
bool parse_i64(std::string_view s, std::int64_t* out) noexcept {
  if (s.empty() || s.size() > 20) return false;
  std::size_t i = 0;
  const bool neg = s[0] == '-';
  if (neg) ++i;
  if (i == s.size()) return false;
  if (s[i] == '0' && s.size() - i > 1) return false;
  if (neg && s[i] == '0') return false;
  std::uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  const std::uint64_t limit = neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
  if (v > limit) return false;
  *out = neg ? static_cast<std::int64_t>(~v + 1) : static_cast<std::int64_t>(v);
  return true;
}

std::size_t format_u64(std::uint64_t u, char* buf) noexcept {
  char tmp[24];
  std::size_t n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  for (std::size_t i = 0; i < n; ++i) buf[i] = tmp[n - 1 - i];
  return n;
}

std::size_t format_i64(std::int64_t v, char* buf) noexcept {
  if (v >= 0) return format_u64(static_cast<std::uint64_t>(v), buf);
  buf[0] = '-';
  return 1 + format_u64(~static_cast<std::uint64_t>(v) + 1, buf + 1);
}
}  // namespace

ArithResult Context::arith(const KeyRef& key, bool is_signed, std::uint64_t udelta, std::int64_t sdelta,
                           bool decrement, bool* overflow) noexcept {
  maybe_run_flush();
  if (key.key.empty()) return {Status::kEmptyKey, 0, 0};
  if (key.key.size() > config_.max_key_size) return {Status::kKeyTooLong, 0, 0};
  for (;;) {
    const Found f = find(key, table_.locate(key.hash));
    const Item* old = f.item != nullptr && liveness(f.item) == Liveness::kAlive ? f.item : nullptr;
    char buf[24];
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
      if (old != nullptr && !parse_i64(old->value(), &v)) return {Status::kNonNumeric, 0, 0};
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
  }
  Table::unlock_pair(loc);
  if (st == Status::kOk) {
    stats_.delete_hits.add();
    notify(MutationKind::kDelete, f.item);
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
    Table::unlock_pair(loc);
    stats_.touch_misses.add();
    return {};
  }
  const std::uint64_t before = decode_expiry(f.item->load_expiry());
  f.item->store_expiry(encode_expiry(expires_at_ms));
  const std::uint64_t version = f.item->version();
  Table::unlock_pair(loc);
  // The old wheel entry (if any) comes due at the old deadline and re-files the item then; a
  // new one is needed only when the deadline moved earlier or there was none.
  if (expires_at_ms != 0 && (before == 0 || expires_at_ms < before)) schedule_expiry(key.hash, version, expires_at_ms);
  note_hit(f.item);
  stats_.touch_hits.add();
  notify(MutationKind::kTouch, f.item);
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

// ---------------------------------------------------------------------------------------------
// Expiry and the loop

void Context::schedule_expiry(std::uint64_t hash, std::uint64_t version, std::uint64_t deadline_ms) noexcept {
  const WheelEntry e{Table::place_bits(hash), Table::tag_of(hash), static_cast<std::uint16_t>(version)};
  if (wheel_->insert(e, deadline_ms)) {
    stats_.wheel_scheduled.add();
  } else {
    stats_.wheel_dropped.add();
  }
}

void Context::fire(const WheelEntry& e) noexcept {
  stats_.wheel_fired.add();
  const Location loc = table_.locate_bits(e.place, e.tag);
  for (const std::uint32_t bi : {loc.b1, loc.b2}) {
    Bucket& b = loc.base[bi];
    for (std::uint32_t m = match_tags(b, e.tag); m != 0; m &= m - 1) {
      const unsigned s = static_cast<unsigned>(__builtin_ctz(m)) >> 1;
      const std::uint32_t ref = b.ref[s].load(std::memory_order_acquire);
      if (ref == 0) continue;
      Item* it = memory_.item_at(ref);
      if (static_cast<std::uint16_t>(it->version()) != e.version16) continue;
      const std::uint64_t deadline = decode_expiry(it->load_expiry());
      if (deadline == 0) return;  // persisted since
      if (now_ms_ < deadline) {   // touched to a later deadline: file it again
        if (!wheel_->insert(e, deadline)) stats_.wheel_dropped.add();
        return;
      }
      unlink_dead({it, &b, s, loc.shard, loc.state}, Liveness::kExpired, Via::kActive);
      return;
    }
  }
}

// Claims the next run of up to `buckets` buckets of one shard from the shared sweep cursor (a
// position: see Table) and removes the dead items there. Positions that are no bucket are skipped.
void Context::sweep_some(std::size_t buckets) noexcept {
  std::atomic<std::uint64_t>& cursor = store_.shared_->sweep_next;
  const std::uint64_t total = table_.positions();
  std::uint64_t pos = cursor.load(std::memory_order_relaxed);
  while (pos < total) {
    Location at;
    std::uint64_t next;
    const bool bucket = table_.at(pos, &at, &next);
    const std::uint64_t end =
        bucket ? std::min<std::uint64_t>(pos + buckets, pos - at.b1 + Table::size_of(at.state)) : next;
    if (!cursor.compare_exchange_weak(pos, end, std::memory_order_relaxed)) continue;  // pos reloaded
    if (!bucket) {
      pos = end;
      continue;
    }
    for (std::uint64_t p = pos; p < end; ++p, ++at.b1) {
      at.b2 = at.b1;
      evict_bucket(at, Sweep::kDeadOnly);
    }
    return;
  }
}

void Context::sweep_flushed() noexcept {
  maybe_run_flush();
  while (store_.shared_->sweep_next.load(std::memory_order_relaxed) < table_.positions()) {
    sweep_some(kSweepBucketsPerTick);
  }
}

bool Context::sweep_flushed_some(std::size_t buckets) noexcept {
  maybe_run_flush();
  const std::atomic<std::uint64_t>& next = store_.shared_->sweep_next;
  for (std::size_t done = 0; done < buckets && next.load(std::memory_order_relaxed) < table_.positions();
       done += kSweepBucketsPerTick) {
    sweep_some(kSweepBucketsPerTick);
  }
  return next.load(std::memory_order_relaxed) >= table_.positions();
}

void Context::want_growth(std::uint32_t shard) noexcept {
  for (unsigned i = 0; i < grow_count_; ++i) {
    if (grow_wanted_[i] == shard) return;
  }
  if (grow_count_ < kGrowQueue) grow_wanted_[grow_count_++] = shard;
}

// Grows the shards this context's inserts found over their load, right after the insert that
// found it (outside its locks; the largest step rehashes ~16k entries, 0.6-0.9 ms measured). A
// shard not grown now (another thread is at it) is asked for again by its next insert.
void Context::grow_table() noexcept {
  for (unsigned i = 0; i < grow_count_; ++i) {
    if (grow_shard(grow_wanted_[i], false)) break;
  }
  grow_count_ = 0;
}

// Grows one shard if it is over its load (or `full`: a key found both its buckets full).
bool Context::grow_shard(std::uint32_t shard, bool full) noexcept {
  static constexpr Table::Items kItems{
      nullptr,
      [](void* self, std::uint32_t ref) noexcept -> const void* {
        return static_cast<Context*>(self)->memory_.item_at(ref);
      },
      [](void* self, std::uint32_t ref) noexcept { return hash_key(static_cast<Context*>(self)->memory_.item_at(ref)->key()); },
      [](void* self, std::uint32_t ref) noexcept {  // no room in the new array: evicted
        auto* c = static_cast<Context*>(self);
        Item* it = c->memory_.item_at(ref);
        const Liveness why = c->liveness(it);
        c->stats_.items_delta.sub();
        c->drop_linked(it);
        if (why == Liveness::kAlive) c->stats_.table_full_evictions.add();
        c->account_removal(it, why, Via::kActive);
      },
  };
  Table::Items items = kItems;
  items.arg = this;
  if (table_.grow(shard, items, store_.shared_->qsbr, full) == 0) return false;
  stats_.table_growths.add();
  return true;
}


void Context::tick() noexcept {
  maybe_run_flush();
  Store::Shared& sh = *store_.shared_;

  // Active expiry: whatever the wheel says is due, a bounded number per call.
  wheel_->advance(now_ms_);
  WheelEntry due[64];
  for (std::size_t budget = config_.expire_per_tick; budget > 0;) {
    const std::size_t n = wheel_->pop_pending(due, std::min<std::size_t>(budget, 64));
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) fire(due[i]);
    budget -= n;
  }

  // After a flush: sweep the table for flushed items, a few buckets per call.
  if (sh.sweep_next.load(std::memory_order_relaxed) < table_.positions()) sweep_some(kSweepBucketsPerTick);

  // Fragmentation: check now and then, and every tick for a while after the arena refused an
  // allocation (then also making contiguous room for the large allocations of the last tick).
  if (fragmented_ticks_ > 0 || ticks_to_check_ == 0) {
    relieve(fragmented_ticks_ > 0 ? std::max(large_demand_, arena_demand_) : 0);
    ticks_to_check_ = kFragCheckEvery;
    if (fragmented_ticks_ > 0) --fragmented_ticks_;
  } else {
    --ticks_to_check_;
  }
  large_demand_ = 0;
  arena_demand_ = 0;
  if (fragmented_ticks_ == 0) largest_demand_ = 0;

  // Another context is short of arena room (or this one is, or a give-back is under way).
  const std::uint64_t others_short = sh.short_mask.load(std::memory_order_relaxed) & ~(std::uint64_t{1} << id_);
  if (FERRITE_UNLIKELY(others_short != 0 || short_ || giving_ != kNotGiving)) {
    give_back(others_short);
  } else if (--own_room_in_ == 0) {
    own_room_in_ = kOwnRoomEvery;
    if (store_.shared_->attached.load(std::memory_order_relaxed) > 1) keep_own_room();
  }

  // Headroom: keep free budget for the next iteration's writes, at least the configured
  // fraction and twice what was allocated since the last tick (up to an eighth of the budget).
  // Memory evicted inline is only reusable after the quiescent point, so an iteration that had
  // to evict for each of its writes could run the arena dry; evicting here, ahead, it cannot.
  const double budget = static_cast<double>(memory_.budget());
  const auto headroom = static_cast<std::int64_t>(
      std::max(config_.headroom_fraction * budget, std::min(2.0 * static_cast<double>(allocated_), budget / 8)));
  allocated_ = 0;
  const std::int64_t deficit = headroom - (memory_.pool() + credit_);
  if (deficit > 0) {
    // Buckets that hold about twice the deficit, whatever the items' sizes.
    const auto limit = kHeadroomBucketsPerTick +
                       static_cast<std::size_t>(2.0 * table_.buckets() * static_cast<double>(deficit) / budget);
    // What this loop evicts comes back to the budget only after the quiescent point: count it
    // as returned, or a large deficit (a lowered limit) would evict twice what it needs.
    // Every context sees the same shared pool and evicts in its own tick: each takes its part of
    // the deficit, or together they would evict it once per context (a lowered limit emptied
    // the store).
    const std::int64_t retired_before = stats_.retired_bytes_delta.get();
    const std::int64_t part = deficit / std::max(1u, sh.attached.load(std::memory_order_relaxed)) + 1;
    const auto short_of_headroom = [&] {
      const std::int64_t evicted = stats_.retired_bytes_delta.get() - retired_before;
      return evicted < part && memory_.pool() + credit_ + evicted < headroom;
    };
    // This context's own items first: what they free comes back to its own heap, where its next
    // writes will need it (memory freed in another context's pages is reusable only there). A
    // context that owns too little to cover the deficit takes the rest from anyone's.
    std::size_t i = 0;
    for (; i < limit && short_of_headroom(); ++i) turn_hand(Sweep::kPolicyOwn);
    for (std::size_t j = 0; j < limit && short_of_headroom(); ++j) turn_hand(Sweep::kPolicy);
  }
}

}  // namespace ferrite::store
