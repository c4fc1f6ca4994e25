#include "store/partitions.h"

#include <algorithm>
#include <stdexcept>

namespace ferrite::store {

namespace {

void add_stats(StoreStats& into, const StoreStats& s) noexcept {
#define FERRITE_ADD(name, help) into.name += s.name;
  FERRITE_STORE_COUNTERS(FERRITE_ADD)
#undef FERRITE_ADD
  into.items += s.items;
  into.bytes_used += s.bytes_used;
  into.item_bytes += s.item_bytes;
  into.retired_bytes += s.retired_bytes;
  into.table_bytes += s.table_bytes;
  into.table_resident_bytes += s.table_resident_bytes;
  into.wheel_bytes += s.wheel_bytes;
  into.memory_limit += s.memory_limit;
  into.table_slots += s.table_slots;
  into.table_slots_now += s.table_slots_now;
}

}  // namespace

Partitions::Partitions(const StoreConfig& config, unsigned count, std::span<const int> nodes) : config_(config) {
  if (count < 1 || count > kMaxPartitions) {
    throw std::invalid_argument("server.partitions: " + std::to_string(count) + " is outside 1.." +
                                std::to_string(kMaxPartitions));
  }
  StoreConfig part = config;
  part.memory_limit = config.memory_limit / count;
  if (count > 1 && part.memory_limit < kMinMemory) {
    throw std::invalid_argument("server.memory: " + std::to_string(config.memory_limit) + " bytes split over " +
                                std::to_string(count) + " partitions leaves " + std::to_string(part.memory_limit) +
                                " each; expected at least " + std::to_string(kMinMemory) + " per partition");
  }
  if (config.table_slots != 0) part.table_slots = (config.table_slots + count - 1) / count;
  for (unsigned i = 0; i < count; ++i) {
    part.numa_node = i < nodes.size() ? nodes[i] : config.numa_node;
    owned_.push_back(std::make_unique<Store>(part));
    stores_.push_back(owned_.back().get());
    if (i > 0) stores_[i]->share_clock(*stores_[0]);
  }
}

Partitions::Partitions(Store& single) : config_(single.config()) { stores_.push_back(&single); }

Partitions::~Partitions() = default;

void Partitions::set_policy(EvictionPolicy policy) noexcept {
  for (Store* s : stores_) s->set_policy(policy);
}

StoreStats Partitions::stats() const noexcept {
  StoreStats total;
  for (const Store* s : stores_) add_stats(total, s->stats());
  return total;
}

std::size_t Partitions::bytes_used() const noexcept { return sum(&Store::bytes_used); }
std::size_t Partitions::memory_limit() const noexcept { return sum(&Store::memory_limit); }
std::size_t Partitions::table_slots() const noexcept { return sum(&Store::table_slots); }
std::size_t Partitions::table_bytes() const noexcept { return sum(&Store::table_bytes); }

std::string Partitions::set_max_item_size(std::size_t bytes) {
  if (bytes < 1 || bytes > kMaxItemSizeCeiling) return "must be within 1 byte..512 MiB";
  for (const Store* s : stores_) {
    if (bytes > s->memory_limit() / 4) {
      return count() > 1 ? "more than a quarter of a partition's memory limit"
                         : "more than a quarter of the memory limit";
    }
  }
  for (Store* s : stores_) s->set_max_item_size(bytes);
  return {};
}

std::string Partitions::set_memory_limit(std::size_t bytes) {
  const std::size_t each = bytes / count();
  const std::size_t before = stores_[0]->memory_limit();
  for (std::size_t i = 0; i < stores_.size(); ++i) {
    std::string err = stores_[i]->set_memory_limit(each);
    if (!err.empty()) {
      for (std::size_t j = 0; j < i; ++j) stores_[j]->set_memory_limit(before);  // all or nothing
      if (count() > 1) {
        std::string head = "each of the ";
        head += std::to_string(count());
        head += " partitions gets an equal share: ";
        err.insert(0, head);
      }
      return err;
    }
  }
  return {};
}

PartitionedContext::PartitionedContext(Partitions& parts, unsigned home)
    : home_(home), single_(parts.count() == 1) {
  if (home >= parts.count()) throw std::invalid_argument("store: home partition out of range");
  for (unsigned i = 0; i < parts.count(); ++i) ctx_.push_back(parts.at(i).attach());
}

PartitionedContext::~PartitionedContext() = default;

void PartitionedContext::get_batch(std::span<const KeyRef> keys, ItemView* out) noexcept {
  if (holding_) {  // inside this worker's own transaction: its keys are locked by it
    get_batch_plain(keys, out);
    return;
  }
  // The batch counts when no transaction was active as it started and none began before it
  // ended: a value a transaction stored (release, after its begun count) makes the count seen.
  const TxCounters& tx = g_tx_counters;
  for (unsigned round = 0; round < kOptimisticRounds; ++round) {
    const std::uint64_t begun = tx.begun.load(std::memory_order_acquire);
    if (FERRITE_LIKELY(tx.ended.load(std::memory_order_acquire) == begun)) {
      get_batch_plain(keys, out);
      if (FERRITE_LIKELY(tx.begun.load(std::memory_order_acquire) == begun)) return;
    }
    cpu_relax();
  }
  // Transactions kept coming: take the keys' locks, as a transaction would (readers never wait
  // forever for writers that keep arriving).
  lock_keys(keys);
  get_batch_plain(keys, out);
  unlock_keys();
}

void PartitionedContext::lock_keys(std::span<const KeyRef> keys) noexcept {
  // Counted before the first lock: a reader that sees any of this transaction's writes sees it.
  g_tx_counters.begun.fetch_add(1, std::memory_order_seq_cst);
  const unsigned n = count();
  for (;;) {
    tx_locks_.clear();
    for (const KeyRef& k : keys) {
      const unsigned p = single_ ? 0 : partition_of_hash(k.hash, n);
      const Location loc = ctx_[p]->table_.locate(k.hash);
      tx_locks_.push_back({p, loc.shard, loc.b1, loc.state, &loc.base[loc.b1]});
      if (loc.b2 != loc.b1) tx_locks_.push_back({p, loc.shard, loc.b2, loc.state, &loc.base[loc.b2]});
    }
    std::sort(tx_locks_.begin(), tx_locks_.end(), [](const TxLock& a, const TxLock& b) {
      if (a.partition != b.partition) return a.partition < b.partition;
      if (a.shard != b.shard) return a.shard < b.shard;
      if (a.index != b.index) return a.index < b.index;
      return a.bucket < b.bucket;  // the same place in two arrays of a shard that grew meanwhile
    });
    tx_locks_.erase(std::unique(tx_locks_.begin(), tx_locks_.end(),
                                [](const TxLock& a, const TxLock& b) { return a.bucket == b.bucket; }),
                    tx_locks_.end());
    std::size_t i = 0;
    Table::Lock st = Table::Lock::kLocked;
    for (; i < tx_locks_.size(); ++i) {
      const TxLock& l = tx_locks_[i];
      st = ctx_[l.partition]->table_.lock_bounded(l.shard, l.state, *l.bucket, kSpinsBeforeYield);
      if (st != Table::Lock::kLocked) break;
    }
    if (i == tx_locks_.size()) break;
    // A shard moved to a new array (locate again), or a bucket stayed busy: its holder (another
    // transaction, most likely) may have been preempted while holding it. Let everything go, so
    // that nobody waits for this transaction's buckets meanwhile, give the CPU away, start over.
    for (std::size_t j = 0; j < i; ++j) Table::unlock(*tx_locks_[j].bucket);
    if (st == Table::Lock::kBusy) {
      ctx_[tx_locks_[i].partition]->stats_.tx_lock_backoffs.add();
      sched_yield();
    } else {
      cpu_relax();
    }
  }
  for (auto& c : ctx_) {
    c->held_.clear();
    c->tx_holding_ = true;
  }
  for (const TxLock& l : tx_locks_) ctx_[l.partition]->held_.push_back(l.bucket);
  for (auto& c : ctx_) std::sort(c->held_.begin(), c->held_.end());
  holding_ = true;
}

void PartitionedContext::unlock_keys() noexcept {
  for (const TxLock& l : tx_locks_) Table::unlock(*l.bucket);
  tx_locks_.clear();
  for (auto& c : ctx_) {
    c->held_.clear();
    c->tx_holding_ = false;
  }
  holding_ = false;
  g_tx_counters.ended.fetch_add(1, std::memory_order_release);
  // The growth the transaction's inserts asked for, now that it holds nothing.
  for (auto& c : ctx_) {
    if (c->grow_count_ != 0) c->grow_table();
  }
}

void PartitionedContext::get_batch_plain(std::span<const KeyRef> keys, ItemView* out) noexcept {
  if (single_) {
    ctx_[0]->get_batch(keys, out);
    return;
  }
  // One pass per partition over the keys, each partition's keys batched kBatch at a time: the
  // batch keeps its prefetching, and every key is looked up in its own partition.
  const unsigned n = count();
  for (unsigned p = 0; p < n; ++p) {
    std::size_t m = 0;
    auto run = [&] {
      ctx_[p]->get_batch(std::span<const KeyRef>(batch_keys_, m), batch_out_);
      for (std::size_t j = 0; j < m; ++j) out[batch_index_[j]] = batch_out_[j];
      m = 0;
    };
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (partition_of_hash(keys[i].hash, n) != p) continue;
      batch_keys_[m] = keys[i];
      batch_index_[m] = static_cast<std::uint32_t>(i);
      if (++m == kBatch) run();
    }
    if (m > 0) run();
  }
}

void PartitionedContext::scan(std::uint64_t* cursor, std::size_t buckets, Context::ItemFn fn, void* arg) noexcept {
  constexpr unsigned kShift = 56;
  unsigned p = static_cast<unsigned>(*cursor >> kShift);
  if (p >= count()) p = 0;
  std::uint64_t local = *cursor & ((std::uint64_t{1} << kShift) - 1);
  ctx_[p]->scan(&local, buckets, fn, arg);
  if (local != 0) {
    *cursor = (std::uint64_t{p} << kShift) | local;
  } else {
    *cursor = p + 1 < count() ? std::uint64_t{p + 1} << kShift : 0;  // the next partition, or done
  }
}

std::uint64_t PartitionedContext::scan_keys(std::uint64_t cursor, std::size_t shards, Context::ItemFn fn,
                                           void* arg) noexcept {
  auto p = static_cast<unsigned>(cursor >> 32);
  std::uint64_t shard = cursor & 0xFFFFFFFFu;
  std::size_t left = shards == 0 ? 1 : shards;
  while (p < count()) {
    Context& c = *ctx_[p];
    const std::uint64_t total = c.scan_shards();
    if (shard >= total) return 0;
    const std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(left, total - shard));
    const std::uint64_t next = c.scan_keys(shard, now, fn, arg);
    left -= now;
    if (next != 0) return std::uint64_t{p} << 32 | next;
    ++p;
    shard = 0;
    if (left == 0) return p < count() ? std::uint64_t{p} << 32 : 0;
  }
  return 0;
}

bool PartitionedContext::valid_scan_cursor(std::uint64_t cursor) const noexcept {
  const auto p = static_cast<unsigned>(cursor >> 32);
  return cursor == 0 || (p < count() && (cursor & 0xFFFFFFFFu) < ctx_[p]->scan_shards());
}

ItemView PartitionedContext::random_item() noexcept {
  random_state_ ^= random_state_ << 13;
  random_state_ ^= random_state_ >> 7;
  random_state_ ^= random_state_ << 17;
  const auto first = static_cast<unsigned>(random_state_ % count());
  for (unsigned i = 0; i < count(); ++i) {
    if (const ItemView it = ctx_[(first + i) % count()]->random_item()) return it;
  }
  return {};
}

void PartitionedContext::flush(std::uint64_t delay_ms) noexcept {
  for (auto& c : ctx_) c->flush(delay_ms);
}
void PartitionedContext::sweep_flushed() noexcept {
  for (auto& c : ctx_) c->sweep_flushed();
}
bool PartitionedContext::sweep_flushed_some(std::size_t buckets) noexcept {
  for (auto& c : ctx_) {
    if (!c->sweep_flushed_some(buckets)) return false;
  }
  return true;
}
void PartitionedContext::tick() noexcept {
  for (auto& c : ctx_) c->tick();
}
void PartitionedContext::quiescent() noexcept {
  for (auto& c : ctx_) c->quiescent();
}
void PartitionedContext::offline() noexcept {
  for (auto& c : ctx_) c->offline();
}
void PartitionedContext::online() noexcept {
  for (auto& c : ctx_) c->online();
}
std::int64_t PartitionedContext::evictions() const noexcept {
  std::int64_t n = 0;
  for (const auto& c : ctx_) n += c->stats().evictions.get();
  return n;
}
std::int64_t PartitionedContext::no_memory() const noexcept {
  std::int64_t n = 0;
  for (const auto& c : ctx_) n += c->stats().no_memory.get();
  return n;
}
void PartitionedContext::set_observer(MutationObserver* obs) noexcept {
  for (auto& c : ctx_) c->set_observer(obs);
}

}  // namespace ferrite::store
