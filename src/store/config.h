// Settings of one store (one NUMA node's table). Validated by Store's constructor.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::store {

enum class EvictionPolicy : std::uint8_t {
  kClock,  // second chance: a hit sets the reference bit, the hand clears it or evicts
  kLfu,    // logarithmic frequency counter, decayed by the hand (Redis-style LFU)
};

// The smallest memory limit a store accepts.
inline constexpr std::size_t kMinMemory = std::size_t{8} << 20;
// The most store partitions (store/partitions.h) one appliance may have.
inline constexpr unsigned kMaxPartitions = 16;
// The largest max_item_size a store takes (Redis's proto-max-bulk-len ceiling, 512 MiB).
inline constexpr std::size_t kMaxItemSizeCeiling = std::size_t{512} << 20;

struct StoreConfig {
  // Everything counts against this: items by their allocator usable size, the table, the wheels.
  std::size_t memory_limit = std::size_t{1} << 30;
  // Longest key accepted: 250 by default (memcached's limit), at most 65535.
  std::size_t max_key_size = 250;
  // Longest value accepted (memcached's item size limit), 1 MiB by default, at most
  // kMaxItemSizeCeiling; Store::set_max_item_size changes it while the store runs.
  std::size_t max_item_size = std::size_t{1} << 20;
  EvictionPolicy policy = EvictionPolicy::kClock;
  // The table grows with the items, up to room for memory_limit / item_size_hint of them (that
  // capacity is charged to the limit at start; see docs/store.md).
  // 64: a 16-byte key and 32-byte value (64 bytes of item) still find a slot when memory is full.
  std::size_t item_size_hint = 64;
  // Overrides the hint: the table's capacity in slots (rounded up to whole buckets).
  std::size_t table_slots = 0;
  // Worker contexts that may attach at once (at most 64: the low 6 bits of a version): set it to
  // the number of worker threads. Each one beyond the first gets a 32 MiB allocator segment of
  // room in the arena (the allocator gives every thread segments of its own).
  unsigned max_contexts = 1;
  // Slots the eviction hand may examine for one request before giving up with kNoMemory.
  std::size_t evict_scan_limit = 8192;
  // Memory kept free by tick() so that requests rarely evict inline: this fraction of the limit.
  double headroom_fraction = 0.01;
  // LFU: higher = slower counter growth (Redis's lfu-log-factor).
  std::uint32_t lfu_log_factor = 10;
  // Items the timing wheel or the flush sweep may remove per tick().
  std::size_t expire_per_tick = 512;
  // The NUMA node the table and the item arena are placed on (preferred, by mbind); -1: wherever
  // the kernel's first touch puts them. Set by Partitions, one node per partition.
  int numa_node = -1;
};

}  // namespace ferrite::store
