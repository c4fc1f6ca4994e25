// The store: one in-memory table shared by the worker cores of a NUMA node, with memcached and
// Redis semantics (get/set/add/replace/cas/append/prepend/delete/incr/decr/touch/gat/flush),
// a hard memory limit enforced by CLOCK or LFU eviction, and TTLs by lazy check plus a timing
// wheel per worker. No I/O: protocols and drivers live elsewhere.
//
// Threads never call the store directly: each worker attaches a Context and uses only that.
//
//   Store store(config);
//   auto ctx = store.attach();           // one per worker thread
//   loop:
//     ctx->set_now(store.now_ms());      // once per iteration
//     ... ctx->get(key) / ctx->set(...) ...
//     ctx->tick();                       // active expiry, eviction headroom, flush sweeps
//     ctx->quiescent();                  // releases every ItemView handed out so far
//
// An ItemView points straight into the table's memory: it stays valid until the context's next
// quiescent() (QSBR), so a reply can reference the value without copying it.
//
// See docs/store.md for the design, the memory promise and the numbers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.h"
#include "store/config.h"
#include "store/item.h"
#include "store/stats.h"
#include "store/table.h"

namespace ferrite::store {

enum class Status : std::uint8_t {
  kOk = 0,
  kNotFound,     // no such key (or it expired, or was flushed)
  kExists,       // CAS mismatch: the item changed since the client read it
  kNotStored,    // add on an existing key, replace/append/prepend on a missing one
  kNonNumeric,   // incr/decr on a value that is not a decimal unsigned 64-bit number
  kKeyTooLong,   // key longer than max_key_size
  kEmptyKey,
  kTooLarge,     // value longer than max_item_size
  kNoMemory,     // bounded eviction could not make room
  kWrongType,    // append/prepend/incr/decr on an item that is not a string (a hash)
};

const char* status_name(Status s) noexcept;

// A counter value by memcached's rule (safe_strtoull), the one incr/decr apply: optional leading
// spaces, at most 20 decimal digits that fit in 64 bits, optional trailing whitespace. For
// sessions that must tell a non-numeric value apart before calling incr (meta ma, binary incr).
bool parse_counter(std::string_view s, std::uint64_t* out) noexcept;

enum class SetMode : std::uint8_t { kSet, kAdd, kReplace, kAppend, kPrepend, kCas };

// A key with its hash, computed once (by the caller for batches, or by the store).
struct KeyRef {
  std::string_view key;
  std::uint64_t hash;
};
KeyRef make_key(std::string_view key) noexcept;

// Read-only view of a live item; valid until the owning context's next quiescent().
class ItemView {
 public:
  ItemView() = default;
  explicit ItemView(const Item* it) : it_(it) {}
  explicit operator bool() const noexcept { return it_ != nullptr; }
  std::string_view key() const noexcept { return it_->key(); }
  std::string_view value() const noexcept { return it_->value(); }
  std::uint32_t flags() const noexcept { return it_->flags(); }
  std::uint64_t cas() const noexcept { return it_->version(); }
  // What the value holds: a string, or the encoding of a hash (store/hash_value.h).
  ItemType type() const noexcept { return it_->type(); }
  bool is_string() const noexcept { return it_->type() == ItemType::kString; }
  // Deadline on the store clock in ms; 0 = never expires.
  std::uint64_t expires_at_ms() const noexcept { return decode_expiry(it_->load_expiry()); }
  const Item* item() const noexcept { return it_; }

 private:
  const Item* it_ = nullptr;
};

struct SetRequest {
  SetMode mode = SetMode::kSet;
  std::uint32_t flags = 0;
  std::uint64_t expires_at_ms = 0;  // store clock; 0 = never
  std::uint64_t cas = 0;            // for kCas (and, when non-zero, checked by any mode)
  ItemType type = ItemType::kString;  // what `value` is (kSet/kAdd/kReplace/kCas; append keeps the old)
  // The caller holds no ItemView of this context (nor is `value` one): when the arena has no
  // room for the write, the store may make room in this context's own heap, end this context's
  // grace period on the spot (a quiescent point inside the call) and wait, bounded, for the
  // others', instead of refusing the write. Not for append/prepend (the store reads the old
  // value itself; they never wait). Sessions set it for writes whose value comes from the
  // request.
  bool may_wait = false;
};

struct SetResult {
  Status status = Status::kOk;
  std::uint64_t cas = 0;  // the new item's version when status == kOk
  bool replaced = false;  // status == kOk: a live item had the key (else the key is new)
};

struct ArithResult {
  Status status = Status::kOk;
  std::uint64_t value = 0;  // the new value
  std::uint64_t cas = 0;
};

// What every successful mutation reports, in one place (replication and the AOF hook in here).
enum class MutationKind : std::uint8_t { kStore, kTouch, kDelete, kExpire, kEvict, kFlush };
class MutationObserver {
 public:
  virtual ~MutationObserver() = default;
  // `item` is the new item for kStore (reported while the key's buckets are still locked, so
  // two stores of one key reach the observer in the order they were made), the touched one
  // for kTouch (its deadline changed), the removed one otherwise (nullptr for kFlush).
  // Called on the mutating worker's thread, inside its request and possibly while the store
  // holds bucket locks: it must not block and must not call back into the store.
  virtual void on_mutation(unsigned context_id, MutationKind kind, const Item* item) noexcept = 0;
};

class Store;
class ItemMemory;
class PartitionedContext;

// Transactions that hold, or are taking, bucket locks (PartitionedContext::lock_keys), counted
// process-wide: begun - ended of them are active. Readers compare the two (one read-mostly
// line) to know whether a hit must be validated against the bucket's version: see
// "Transactions" in docs/store.md.
struct alignas(kCacheLine) TxCounters {
  std::atomic<std::uint64_t> begun{0};
  std::atomic<std::uint64_t> ended{0};
};
inline TxCounters g_tx_counters;

// An unlinked item waiting for its grace period (internal to the store).
struct RetiredItem {
  Item* item;
  std::uint64_t tag;  // grace period; ~0 until the next quiescent point
  std::size_t bytes;
};
class TimingWheel;
struct WheelEntry;

// A worker's handle on the store. Not thread-safe: one thread uses it.
class Context {
 public:
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  unsigned id() const noexcept { return id_; }
  void set_now(std::uint64_t now_ms) noexcept { now_ms_ = now_ms; }
  std::uint64_t now_ms() const noexcept { return now_ms_; }

  // --- reads ---------------------------------------------------------------------------------
  ItemView get(std::string_view key) noexcept { return get(make_key(key)); }
  ItemView get(const KeyRef& key) noexcept;
  // Batched get: hashes, prefetches buckets, then candidate items, then resolves each key.
  void get_batch(std::span<const KeyRef> keys, ItemView* out) noexcept;
  // Starts loading the key's primary bucket into the cache (before a set or get of that key).
  void prefetch(const KeyRef& key) const noexcept;
  // The second stage, some time after prefetch(key): reads the (by now cached) primary bucket and
  // starts loading the items whose tags match, or the alternate bucket when none does.
  void prefetch_item(const KeyRef& key) const noexcept;

  // Visits the live items of up to `buckets` buckets from *cursor (a position in the table, 0 to
  // start) and advances it; *cursor is 0 again once the whole table was covered. Items stored,
  // removed or moved (a shard growing) meanwhile may or may not be seen, or be seen twice. For
  // the management plane and anti-entropy, not for requests.
  using ItemFn = void (*)(void* arg, const ItemView& item);
  void scan(std::uint64_t* cursor, std::size_t buckets, ItemFn fn, void* arg) noexcept;

  // SCAN (store_scan.cc): visits the live items of whole shards, up to `shards` of them from
  // shard `cursor` (0 to start), each shard read as one consistent snapshot; returns the next
  // shard, or 0 once every shard was visited. A key's shard never changes (a shard grows in
  // place), so a key present from the first call to the last is visited at least once, also
  // across growth and cuckoo displacement. An item may be visited twice only if it was stored
  // again meanwhile. Not for hot paths: O(shard) per shard.
  std::uint64_t scan_keys(std::uint64_t cursor, std::size_t shards, ItemFn fn, void* arg) noexcept;
  std::uint32_t scan_shards() const noexcept { return table_.shards(); }
  // RANDOMKEY: a live item of a random shard (bounded tries, then the first live one found in
  // shard order from a random shard); empty when there is none.
  ItemView random_item() noexcept;
  // A read that does not mark the item's access byte (OBJECT, CLIENT NO-TOUCH): get() while the
  // no-touch mode is on.
  ItemView peek(const KeyRef& key) noexcept;
  // While on, reads do not mark the items they find as used (CLIENT NO-TOUCH).
  void set_no_touch(bool on) noexcept { no_touch_ = on; }
  bool no_touch() const noexcept { return no_touch_; }

  // --- writes --------------------------------------------------------------------------------
  SetResult set(std::string_view key, std::string_view value, const SetRequest& req = {}) noexcept {
    return set(make_key(key), value, req);
  }
  SetResult set(const KeyRef& key, std::string_view value, const SetRequest& req = {}) noexcept;
  // memcached incr/decr: unsigned 64-bit; incr wraps at 2^64, decr stops at 0. kNotFound on a
  // missing key, kNonNumeric on a value that is not a decimal number of at most 20 digits,
  // kWrongType on an item that is not a string (as append/prepend: the item is left alone).
  ArithResult incr(std::string_view key, std::uint64_t delta, bool decrement = false) noexcept {
    return incr(make_key(key), delta, decrement);
  }
  ArithResult incr(const KeyRef& key, std::uint64_t delta, bool decrement = false) noexcept;
  // Redis INCRBY/DECRBY: signed 64-bit; a missing key counts as 0 and is created (no expiry);
  // kNonNumeric also on overflow (Redis replies with its own message for that case).
  ArithResult incr_signed(std::string_view key, std::int64_t delta, bool* overflow) noexcept {
    return incr_signed(make_key(key), delta, overflow);
  }
  ArithResult incr_signed(const KeyRef& key, std::int64_t delta, bool* overflow) noexcept;
  // Deletes the key; with cas != 0 only if the item's version matches (kExists otherwise).
  Status del(std::string_view key, std::uint64_t cas = 0) noexcept { return del(make_key(key), cas); }
  Status del(const KeyRef& key, std::uint64_t cas = 0) noexcept;
  // Sets a new deadline (0 = never) without changing the value or its CAS.
  Status touch(std::string_view key, std::uint64_t expires_at_ms) noexcept { return touch(make_key(key), expires_at_ms); }
  Status touch(const KeyRef& key, std::uint64_t expires_at_ms) noexcept;
  // get-and-touch.
  ItemView gat(std::string_view key, std::uint64_t expires_at_ms) noexcept { return gat(make_key(key), expires_at_ms); }
  ItemView gat(const KeyRef& key, std::uint64_t expires_at_ms) noexcept;
  // Invalidates every item stored before now + delay_ms, at that moment.
  void flush(std::uint64_t delay_ms = 0) noexcept;
  // The version (CAS unique) of the key's live item; 0 when it is absent, expired or flushed.
  // Counts no hit or miss (WATCH and EXEC's check of it). With `expiry`, also the item's expiry
  // code (0: never, or no live item), which touch() changes without a new version.
  std::uint64_t live_version(const KeyRef& key, std::uint32_t* expiry = nullptr) noexcept;

  // Finishes the sweep that follows a flush now instead of a few buckets per tick(), so that
  // stats().items is exact afterwards (Redis FLUSHALL then DBSIZE). O(table); not for hot paths.
  void sweep_flushed() noexcept;
  // The same sweep, at most about `buckets` buckets of it (for a management request answered
  // over several loop turns); true once the table is swept.
  bool sweep_flushed_some(std::size_t buckets) noexcept;

  // --- the worker loop -----------------------------------------------------------------------
  // Active expiry, keeping eviction headroom, sweeping after a flush; bounded work per call.
  void tick() noexcept;
  // Marks a quiescent point: every ItemView handed out before it is released.
  void quiescent() noexcept;
  // While offline (idle or blocked) the context does not hold reclamation back.
  void offline() noexcept;
  void online() noexcept;

  const ContextStats& stats() const noexcept { return stats_; }
  void set_observer(MutationObserver* obs) noexcept { observer_ = obs; }

 private:
  friend class Store;
  friend class PartitionedContext;
  Context(Store& store, unsigned id);

  enum class Liveness : std::uint8_t { kAlive, kExpired, kFlushed };
  // A linked item, its slot, and the shard array it was found in (state: see Table).
  struct Found {
    Item* item = nullptr;
    Bucket* bucket = nullptr;
    unsigned slot = 0;
    std::uint32_t shard = 0;
    std::uint64_t state = 0;
  };

  // Locates again (the shard may have grown) when a miss cannot be trusted.
  Found find(const KeyRef& key, Location loc) const noexcept;
  Found find_in(const KeyRef& key, const Location& loc, std::uint32_t bucket) const noexcept;
  Found find_locked(const KeyRef& key, const Location& loc) const noexcept;
  // Locates the key and locks both its buckets (those this context holds for a transaction
  // count as locked already, and are left locked by unlock_key).
  Location lock_key(const KeyRef& key) const noexcept;
  // The same for eviction and moves: while this context holds a transaction's locks, a bucket
  // it does not hold is only try-locked (false: skip the item), so that two transactions, or a
  // transaction and a grower, never wait for each other.
  bool try_lock_key(const KeyRef& key, Location* loc) const noexcept;
  bool lock_pair_tx(const Location& loc, bool try_only) const noexcept;
  void unlock_key(const Location& loc) const noexcept;
  // Locks one bucket for an unlink (held: nothing to do; in a transaction: try only).
  bool lock_one(std::uint32_t shard, std::uint64_t state, Bucket& b, bool* held) const noexcept;
  bool holds(const Bucket* b) const noexcept {
    return tx_holding_ && std::binary_search(held_.begin(), held_.end(), b);
  }
  bool held_or_even(const Bucket& b, std::uint32_t version) const noexcept {
    return (version & 1u) == 0 || holds(&b);
  }
  // find() while a transaction is active elsewhere: a seqlock read that waits out odd versions.
  Found find_strict(const KeyRef& key, Location loc) const noexcept;
  ItemView get_located(const KeyRef& key, const Location& loc) noexcept;
  Liveness liveness(const Item* it) const noexcept;
  void maybe_run_flush() noexcept;
  void note_hit(Item* it) noexcept;
  // Who found an item gone or chose to remove it: a read, a write, or the hand/wheel/sweep.
  enum class Via : std::uint8_t { kRead, kWrite, kActive };
  void unlink(const Found& f) noexcept;
  void drop_linked(Item* it) noexcept;
  void account_removal(Item* it, Liveness why, Via via) noexcept;
  void unlink_dead(const Found& f, Liveness why, Via via) noexcept;
  std::uint8_t initial_access() const noexcept;
  bool place(const Location& loc, std::uint32_t ref, bool room) noexcept;
  // kPolicyOwn: as kPolicy, but only this context's own live items (in segments its heap owns)
  // are considered, so that the memory evicted comes back to this context's heap.
  enum class Sweep : std::uint8_t { kPolicy, kPolicyOwn, kDeadOnly, kForce };
  // Evicts from bucket `at.b1` of at's array.
  std::size_t evict_bucket(const Location& at, Sweep mode) noexcept;
  // Sweeps up to `buckets` buckets from the shared cursor (the post-flush sweep).
  void sweep_some(std::size_t buckets) noexcept;
  void sweep_claimed(std::size_t buckets) noexcept;
  bool sweep_done() const noexcept;
  void want_growth(std::uint32_t shard) noexcept;
  void grow_table() noexcept;
  bool grow_shard(std::uint32_t shard, bool full) noexcept;
  bool make_space(const Location& loc) noexcept;
  std::size_t turn_hand(Sweep mode) noexcept;
  std::size_t evict_block(const Item* it, std::size_t block_size) noexcept;
  std::size_t move_block(const Item* it, std::size_t block_size) noexcept;
  // Both of this context's heaps' pages (store.cc).
  template <typename Fn>
  void visit_own_pages(Fn fn, void* arg) noexcept;
  void relieve(std::size_t want_bytes) noexcept;
  // This heap's segments, counted (and published for the others) by one visit of its pages.
  struct Census {
    std::size_t held = 0;        // segments this context's heap holds
    std::size_t in_blocks = 0;   // bytes in allocated blocks (live, retired or freed elsewhere)
    std::size_t in_pages = 0;    // bytes of the heap's pages, whatever their blocks
    std::size_t free_in_class = 0;  // free bytes in pages of the size this context last allocated
    std::size_t arena_free = 0;  // segments no context holds
    std::size_t pages = 0;       // pages visited (the walk's cost)
  };
  Census census() noexcept;
  void keep_own_room() noexcept;
  void trim() noexcept;
  void give_back(std::uint64_t others_short) noexcept;
  void* alloc_after_grace(std::size_t footprint) noexcept;
  void* alloc_after_quiescing(std::size_t footprint, std::size_t want) noexcept;
  void* retry_as_freed(std::size_t footprint, bool quiescing, unsigned spins) noexcept;
  bool protected_item(const Item* it) const noexcept;
  void set_short(bool on) noexcept;
  bool make_room(std::size_t bytes) noexcept;
  Item* alloc_item(std::size_t footprint, std::size_t* charged) noexcept;
  void free_unpublished(Item* it, std::size_t charged) noexcept;
  void retire(Item* it, std::size_t bytes) noexcept;
  void tag_retired() noexcept;
  void reclaim() noexcept;
  void free_retired(const RetiredItem& r) noexcept;
  std::uint64_t next_version(std::uint64_t floor) noexcept;
  void schedule_expiry(std::uint64_t hash, std::uint64_t version, std::uint64_t deadline_ms) noexcept;
  void fire(const WheelEntry& e) noexcept;
  SetResult commit(const KeyRef& key, Item* fresh, std::size_t usable, const SetRequest& req,
                   const Item* expect) noexcept;
  ArithResult arith(const KeyRef& key, bool is_signed, std::uint64_t udelta, std::int64_t sdelta,
                    bool decrement, bool* overflow) noexcept;
  static bool charge_wheel(void* self, std::int64_t delta) noexcept;
  void notify(MutationKind kind, const Item* it) noexcept {
    if (observer_ != nullptr) observer_->on_mutation(id_, kind, it);
  }

  Store& store_;
  Table& table_;
  ItemMemory& memory_;
  const StoreConfig& config_;
  const unsigned id_;
  unsigned qsbr_id_ = 0;
  std::uint64_t now_ms_ = 0;
  std::uint64_t version_counter_ = 0;
  ContextStats stats_;
  MutationObserver* observer_ = nullptr;
  std::unique_ptr<TimingWheel> wheel_;
  void* heap_ = nullptr;           // mimalloc heap in the store's arena
  void* keep_heap_ = nullptr;      // the thread's second heap there: relief moves items into it
  std::int64_t credit_ = 0;        // bytes of the memory budget this context holds
  RetiredItem* retired_ = nullptr;     // ring of items waiting for a grace period
  std::size_t retired_cap_ = 0, retired_head_ = 0, retired_count_ = 0, untagged_ = 0;
  Rng rng_;
  unsigned fragmented_ticks_ = 0;   // ticks left in which to check fragmentation every tick
  unsigned ticks_to_check_ = 0;     // ticks until the next fragmentation check
  std::size_t large_demand_ = 0;    // bytes of large allocations since the last tick()
  std::size_t arena_demand_ = 0;    // bytes the arena refused since the last tick()
  std::size_t largest_demand_ = 0;  // the largest large allocation since the arena last refused
  std::size_t own_allocated_ = 0;   // bytes allocated since the last keep_own_room()
  std::size_t last_usable_ = 0;     // the usable size of this context's last allocation
  unsigned own_room_in_ = 1;        // ticks until the next keep_own_room()
  // The periodic page walks (keep_own_room, relieve) run this many times less often: one per
  // kCensusPagesPerStep pages the last census walked, so their cost per tick stays about the same
  // however large the heap grows (a 2 GiB store spent over half its workers' time in them).
  unsigned census_scale_ = 1;
  bool short_ = false;              // this context's bit is set in the store's short_mask
  const KeyRef* writing_ = nullptr; // a may_wait write under way: its key's item is not evicted
  std::size_t giving_ = kNotGiving; // the segment being emptied for another context (give_back)
  unsigned collect_force_ticks_ = 0;  // quiescent points at which to collect with force
  std::vector<std::uint64_t> segment_live_;  // give_back()'s scratch
  std::vector<std::uint64_t> slices_used_;   // trim()'s scratch: per segment, a bit per 64 KiB slice
  std::vector<std::uint64_t> slices_trimmed_;  // per segment, the slices trim() gave back
  std::uint32_t served_epoch_[64] = {};      // per context: the shortage give_back() last served
  std::size_t allocated_ = 0;       // bytes allocated since the last tick()
  bool collect_pages_ = false;      // pages were emptied: hand them back at the quiescent point
  std::vector<std::uint64_t> window_live_;  // relieve()'s scratch, kept to avoid reallocating
  static constexpr std::size_t kNotGiving = ~std::size_t{0};
  static constexpr unsigned kGrowQueue = 8;
  std::uint32_t grow_wanted_[kGrowQueue] = {};  // shards found over their load, grown at tick()
  unsigned grow_count_ = 0;
  bool no_touch_ = false;  // set_no_touch()
  // A transaction of this worker holds bucket locks (in any partition: PartitionedContext sets
  // it on all its contexts), and those of this partition, sorted by address.
  bool tx_holding_ = false;
  std::vector<const Bucket*> held_;
};

class Store {
 public:
  // Throws std::invalid_argument naming the setting when the configuration is not usable.
  explicit Store(const StoreConfig& config);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Attaches the calling thread (at most config.max_contexts at once).
  std::unique_ptr<Context> attach();

  // The configuration the store was created with. Its policy is the start-up one: policy() is
  // the current one.
  const StoreConfig& config() const noexcept { return config_; }
  // The eviction policy now in force.
  EvictionPolicy policy() const noexcept { return policy_.load(std::memory_order_relaxed); }
  // Switches the eviction policy while contexts run; each context follows at its next hit or
  // hand movement. Items keep their access byte, which the new policy reads in its own terms:
  // after clock -> lfu a set reference bit is a counter of 1 (one pass of grace) and a clear one
  // a counter of 0 (on probation, like a new item); after lfu -> clock any non-zero counter is a
  // set reference bit (one second chance). No item is visited or rewritten by the switch.
  void set_policy(EvictionPolicy policy) noexcept { policy_.store(policy, std::memory_order_relaxed); }
  // The longest value a write now accepts (config().max_item_size at start). Changed while
  // contexts run, it applies to the writes that start after it; items already stored stay
  // (eviction and relief check a block against kMaxItemSizeCeiling, not this).
  std::size_t max_item_size() const noexcept { return max_item_size_.load(std::memory_order_relaxed); }
  // Within 1..kMaxItemSizeCeiling and at most a quarter of memory_limit(): "" or why not.
  std::string set_max_item_size(std::size_t bytes);
  // Milliseconds on the store clock (monotonic, 1 at the store's creation).
  std::uint64_t now_ms() const noexcept;
  // Converts a Unix time in ms to the store clock (for absolute expiries) and back.
  std::uint64_t from_unix_ms(std::uint64_t unix_ms) const noexcept;
  std::uint64_t to_unix_ms(std::uint64_t store_ms) const noexcept;
  // Takes `other`'s clock (its epoch), so that deadlines mean the same in both: partitions share
  // one clock. Call before any context attaches.
  void share_clock(const Store& other) noexcept;

  // Sums every context's counters, plus the table- and memory-wide figures.
  StoreStats stats() const noexcept;
  // Accounted bytes: live items (usable size) + table + wheels.
  std::size_t bytes_used() const noexcept;
  std::size_t memory_limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  // Changes the memory limit while the store runs. Lowering it makes the contexts evict down to
  // the new limit over their next ticks; it can be raised back up to the limit the store was
  // created with (its arena was sized for that), not beyond. Returns "" or why not.
  std::string set_memory_limit(std::size_t bytes);
  // The table's capacity (what it may grow to) and the memory charged for it.
  std::size_t table_slots() const noexcept;
  std::size_t table_bytes() const noexcept;

 private:
  friend class Context;
  void detach(Context* ctx) noexcept;
  void flush_now() noexcept;

  StoreConfig config_;
  std::atomic<std::size_t> limit_{0};
  std::atomic<EvictionPolicy> policy_{EvictionPolicy::kClock};
  std::atomic<std::size_t> max_item_size_{0};
  std::unique_ptr<Table> table_;
  std::unique_ptr<ItemMemory> memory_;
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

}  // namespace ferrite::store
