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
      if (count() > 1) err = "each of the " + std::to_string(count()) + " partitions gets an equal share: " + err;
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
