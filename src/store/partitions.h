// Partitions: the stores of one appliance, one per NUMA node (or a forced count, to run the same
// code on one node), with every key owned by exactly one of them.
//
// A key's partition comes from its hash (partition_of), through a mix independent of the bits
// the table uses for buckets and tags, so each partition's table is evenly used. Each partition
// is a whole Store: its own table, arena (placed on its node), memory limit (an equal share of
// the total), eviction hand and timing wheels. They share one clock, so a deadline computed on
// any worker means the same moment in every partition.
//
// A worker attaches a context to every partition (PartitionedContext) and names its home
// partition, the one on its own node. Requests for keys of its home partition touch only local
// memory; requests for other keys are still correct (the stores are thread-safe), they only pay
// the remote access. The UDP fast path avoids that by handing a datagram to a worker of the
// owning partition (src/engine/worker.cc); connections cannot move, so TCP requests take the
// remote access. See docs/store.md and docs/dpdk.md.
//
// With one partition (the common case: one node) everything forwards to the single store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace ferrite::store {

// The partition of a key's hash among `count`: a multiply-xorshift of the whole hash, reduced by
// multiply-shift. The table uses the hash's bits directly (bucket: bits 0..47, tag: 48..63), so a
// partition must not be a plain bit range of it, or each partition would use a fraction of its
// buckets.
inline unsigned partition_of_hash(std::uint64_t hash, unsigned count) noexcept {
  if (count <= 1) return 0;
  std::uint64_t x = hash * 0xbf58476d1ce4e5b9ull;
  x ^= x >> 31;
  return static_cast<unsigned>(((x >> 32) * count) >> 32);
}

class Partitions {
 public:
  // `config` is the appliance's whole: its memory_limit is split evenly, and each store gets
  // max_contexts as given (every worker attaches to every partition). `nodes[i]` is partition i's
  // NUMA node (-1 or absent: no placement). Throws std::invalid_argument like Store.
  Partitions(const StoreConfig& config, unsigned count, std::span<const int> nodes = {});
  // One existing store as the only partition (tests, tools): not owned.
  explicit Partitions(Store& single);
  ~Partitions();
  Partitions(const Partitions&) = delete;
  Partitions& operator=(const Partitions&) = delete;

  unsigned count() const noexcept { return static_cast<unsigned>(stores_.size()); }
  Store& at(unsigned i) noexcept { return *stores_[i]; }
  const Store& at(unsigned i) const noexcept { return *stores_[i]; }
  unsigned partition_of(std::uint64_t hash) const noexcept { return partition_of_hash(hash, count()); }
  unsigned partition_of(std::string_view key) const noexcept {
    return count() == 1 ? 0 : partition_of(make_key(key).hash);
  }

  // The appliance's configuration (memory_limit is the total; the other limits are every
  // partition's).
  const StoreConfig& config() const noexcept { return config_; }
  EvictionPolicy policy() const noexcept { return stores_[0]->policy(); }
  void set_policy(EvictionPolicy policy) noexcept;
  // The shared clock.
  std::uint64_t now_ms() const noexcept { return stores_[0]->now_ms(); }
  std::uint64_t from_unix_ms(std::uint64_t unix_ms) const noexcept { return stores_[0]->from_unix_ms(unix_ms); }
  std::uint64_t to_unix_ms(std::uint64_t store_ms) const noexcept { return stores_[0]->to_unix_ms(store_ms); }

  // Sums of every partition.
  StoreStats stats() const noexcept;
  std::size_t bytes_used() const noexcept;
  std::size_t memory_limit() const noexcept;
  std::size_t table_slots() const noexcept;
  std::size_t table_bytes() const noexcept;
  // Splits the new total evenly; "" or why not (nothing changes then).
  std::string set_memory_limit(std::size_t bytes);
  // Every partition's live value limit (Store::max_item_size): the same in all of them.
  std::size_t max_item_size() const noexcept { return stores_[0]->max_item_size(); }
  // Within 1..kMaxItemSizeCeiling and at most a quarter of memory_limit(); "" or why not.
  std::string set_max_item_size(std::size_t bytes);

 private:
  std::size_t sum(std::size_t (Store::*figure)() const noexcept) const noexcept {
    std::size_t n = 0;
    for (const Store* s : stores_) n += (s->*figure)();
    return n;
  }

  StoreConfig config_;
  std::vector<std::unique_ptr<Store>> owned_;
  std::vector<Store*> stores_;
};

// A worker's contexts, one per partition, with the Context interface: every keyed call goes to
// the key's partition. Not thread-safe: one worker thread uses it.
class PartitionedContext {
 public:
  // Attaches the calling thread to every partition; `home` is the worker's own partition.
  PartitionedContext(Partitions& parts, unsigned home);
  ~PartitionedContext();
  PartitionedContext(const PartitionedContext&) = delete;
  PartitionedContext& operator=(const PartitionedContext&) = delete;

  unsigned home() const noexcept { return home_; }
  unsigned partition_of(std::uint64_t hash) const noexcept { return partition_of_hash(hash, count()); }
  unsigned count() const noexcept { return static_cast<unsigned>(ctx_.size()); }
  Context& at(unsigned partition) noexcept { return *ctx_[partition]; }
  Context& for_hash(std::uint64_t hash) noexcept {
    return single_ ? *ctx_[0] : *ctx_[partition_of_hash(hash, count())];
  }

  void set_now(std::uint64_t now_ms) noexcept {
    for (auto& c : ctx_) c->set_now(now_ms);
  }
  std::uint64_t now_ms() const noexcept { return ctx_[0]->now_ms(); }

  ItemView get(std::string_view key) noexcept { return get(make_key(key)); }
  ItemView get(const KeyRef& key) noexcept { return for_hash(key.hash).get(key); }
  // Keys of several partitions are split into one batch per partition (at most kBatch per call).
  // The batch is atomic with respect to transactions (lock_keys): it sees all of one or none of
  // it. It runs when no transaction is active and is run again when one began meanwhile (two
  // loads of a read-mostly line when there are none); a batch that keeps meeting transactions
  // locks its keys itself.
  void get_batch(std::span<const KeyRef> keys, ItemView* out) noexcept;

  // --- transactions (two-phase locking: see "Transactions" in docs/store.md) -----------------
  // Locks both buckets of every key, in every partition, in one global order (partition, shard,
  // bucket index: the order of every other lock taker, so no cycle), before the caller's first
  // write; the caller then runs ordinary calls on these keys, and unlock_keys() ends it. Keys
  // may repeat. While held, readers on other workers see none of the writes or all of them
  // (Context::find), and this worker never waits for another (no inline growth, no grace-period
  // waits, eviction try-locks). Calls on keys not locked here are still correct but not isolated
  // (and a write to one may wait for another transaction's lock: keep them to the locked keys).
  void lock_keys(std::span<const KeyRef> keys) noexcept;
  void unlock_keys() noexcept;
  bool holding() const noexcept { return holding_; }
  // The version of the key's live item, 0 when none (WATCH).
  std::uint64_t live_version(const KeyRef& key, std::uint32_t* expiry = nullptr) noexcept {
    return for_hash(key.hash).live_version(key, expiry);
  }
  void prefetch(const KeyRef& key) noexcept { for_hash(key.hash).prefetch(key); }
  void prefetch_item(const KeyRef& key) noexcept { for_hash(key.hash).prefetch_item(key); }
  // Visits partition after partition: the cursor's top byte is the partition.
  void scan(std::uint64_t* cursor, std::size_t buckets, Context::ItemFn fn, void* arg) noexcept;

  // SCAN over every partition: whole shards, each a consistent snapshot (Context::scan_keys),
  // at least `shards` of them per call unless the scan ends. The cursor is partition << 32 |
  // shard; 0 starts and 0 comes back once every partition was covered. An unknown cursor
  // (a partition or shard past the end) ends the scan.
  std::uint64_t scan_keys(std::uint64_t cursor, std::size_t shards, Context::ItemFn fn, void* arg) noexcept;
  // Whether `cursor` names a shard of this appliance (or is 0).
  bool valid_scan_cursor(std::uint64_t cursor) const noexcept;
  // RANDOMKEY: a live item of a random partition (then the others); empty if there is none.
  ItemView random_item() noexcept;
  ItemView peek(const KeyRef& key) noexcept { return for_hash(key.hash).peek(key); }
  void set_no_touch(bool on) noexcept {
    for (auto& c : ctx_) c->set_no_touch(on);
  }

  SetResult set(std::string_view key, std::string_view value, const SetRequest& req = {}) noexcept {
    return set(make_key(key), value, req);
  }
  SetResult set(const KeyRef& key, std::string_view value, const SetRequest& req = {}) noexcept {
    return for_hash(key.hash).set(key, value, req);
  }
  // The key is hashed once: for its partition and for the table.
  ArithResult incr(std::string_view key, std::uint64_t delta, bool decrement = false) noexcept {
    const KeyRef k = make_key(key);
    return for_hash(k.hash).incr(k, delta, decrement);
  }
  ArithResult incr_signed(std::string_view key, std::int64_t delta, bool* overflow) noexcept {
    const KeyRef k = make_key(key);
    return for_hash(k.hash).incr_signed(k, delta, overflow);
  }
  Status del(std::string_view key, std::uint64_t cas = 0) noexcept {
    const KeyRef k = make_key(key);
    return for_hash(k.hash).del(k, cas);
  }
  Status touch(std::string_view key, std::uint64_t expires_at_ms) noexcept {
    const KeyRef k = make_key(key);
    return for_hash(k.hash).touch(k, expires_at_ms);
  }
  ItemView gat(std::string_view key, std::uint64_t expires_at_ms) noexcept {
    const KeyRef k = make_key(key);
    return for_hash(k.hash).gat(k, expires_at_ms);
  }
  // Every partition.
  void flush(std::uint64_t delay_ms = 0) noexcept;
  void sweep_flushed() noexcept;
  // Up to `buckets` buckets of the sweep, in the first partition not swept yet; true once all are.
  bool sweep_flushed_some(std::size_t buckets) noexcept;
  void tick() noexcept;
  void quiescent() noexcept;
  void offline() noexcept;
  void online() noexcept;
  // Sums of this worker's counters in every partition.
  std::int64_t evictions() const noexcept;
  std::int64_t no_memory() const noexcept;
  void set_observer(MutationObserver* obs) noexcept;
  // The observer of partition `partition`'s context alone (a snapshot tail's ring is per partition).
  void set_observer(unsigned partition, MutationObserver* obs) noexcept { ctx_[partition]->set_observer(obs); }

 private:
  static constexpr std::size_t kBatch = 64;
  // Rounds of get_batch() that met a transaction before it locks its keys instead.
  static constexpr unsigned kOptimisticRounds = 256;

  void get_batch_plain(std::span<const KeyRef> keys, ItemView* out) noexcept;

  // A bucket a transaction locks, in lock order.
  struct TxLock {
    unsigned partition;
    std::uint32_t shard;
    std::uint32_t index;
    std::uint64_t state;
    Bucket* bucket;
  };
  std::vector<TxLock> tx_locks_;  // kept between transactions: no allocation after warm-up
  bool holding_ = false;

  std::vector<std::unique_ptr<Context>> ctx_;
  unsigned home_ = 0;
  bool single_ = true;
  // get_batch's scratch: one partition's keys and where their results go.
  KeyRef batch_keys_[kBatch];
  ItemView batch_out_[kBatch];
  std::uint32_t batch_index_[kBatch];
  std::uint64_t random_state_ = 0x9E3779B97F4A7C15ull;  // random_item()'s partition
};

}  // namespace ferrite::store
