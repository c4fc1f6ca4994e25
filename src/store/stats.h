// Store counters. Each context owns a ContextStats (plain per-core counters); Store::stats()
// sums them with the memory figures when someone asks.
#pragma once

#include <cstdint>

#include "core/counter.h"

namespace ferrite::store {

#define FERRITE_STORE_COUNTERS(X)                                           \
  X(get_hits, "reads that found a live item")                              \
  X(get_misses, "reads that found nothing (or a dead item)")              \
  X(get_expired, "reads that found an expired item (counted as misses)")   \
  X(get_flushed, "reads that found a flushed item (counted as misses)")    \
  X(sets, "successful stores of any mode")                                 \
  X(set_failures, "stores refused: not stored, exists, too large, no memory") \
  X(cas_hits, "cas stores that matched")                                   \
  X(cas_badval, "cas stores whose version did not match")                  \
  X(cas_misses, "cas stores on a missing key")                             \
  X(delete_hits, "deletes that removed an item")                           \
  X(delete_misses, "deletes of a missing key")                             \
  X(incr_hits, "incr/decr on an existing number")                          \
  X(incr_misses, "incr/decr on a missing key")                             \
  X(touch_hits, "touch/gat on a live item")                                \
  X(touch_misses, "touch/gat on a missing key")                            \
  X(evictions, "live items removed to make room")                          \
  X(table_full_evictions, "of those, removed because both buckets were full") \
  X(page_evictions, "of those, removed to empty allocator pages for a larger item") \
  X(page_moves, "live items moved out of sparse allocator pages instead of being evicted") \
  X(expired_lazy, "expired items removed when a request found them")       \
  X(expired_active, "expired items removed by the timing wheel or the hand") \
  X(flushed_removed, "flushed items removed by the sweep or a request")    \
  X(no_memory, "requests refused because bounded eviction found no room")  \
  X(arena_refusals, "of those, refused because the context's heap and the arena had no room") \
  X(arena_waits, "times a write waited for a grace period to reuse memory it had unlinked") \
  X(trimmed_bytes, "bytes of free allocator spans given back to the system") \
  X(segments_given, "allocator segments emptied and given back for a context short of room") \
  X(items_delta, "items linked minus unlinked by this context")            \
  X(live_bytes_delta, "usable bytes linked minus unlinked by this context") \
  X(wheel_bytes_delta, "timing-wheel bytes charged minus released")        \
  X(retired_bytes_delta, "unlinked bytes waiting for a grace period")       \
  X(wheel_scheduled, "expiry handles put on the timing wheel")             \
  X(wheel_fired, "expiry handles that came due")                           \
  X(wheel_dropped, "expiry handles not scheduled for want of memory")      \
  X(retire_growths, "times a retire list had to grow within one loop iteration") \
  X(table_growths, "times a shard of the table grew")                      \
  X(tx_lock_backoffs, "times a transaction let its bucket locks go and yielded: a bucket stayed busy")

struct ContextStats {
#define FERRITE_DECLARE_COUNTER(name, help) ::ferrite::Counter name;
  FERRITE_STORE_COUNTERS(FERRITE_DECLARE_COUNTER)
#undef FERRITE_DECLARE_COUNTER
};

// A summed snapshot.
struct StoreStats {
#define FERRITE_DECLARE_TOTAL(name, help) std::int64_t name = 0;
  FERRITE_STORE_COUNTERS(FERRITE_DECLARE_TOTAL)
#undef FERRITE_DECLARE_TOTAL
  std::int64_t items = 0;           // live items in the table
  std::int64_t bytes_used = 0;      // accounted: live items + table + wheels
  std::int64_t item_bytes = 0;      // live items, by usable size
  std::int64_t retired_bytes = 0;   // unlinked, waiting for a grace period
  std::int64_t table_bytes = 0;     // charged: the table fully grown
  std::int64_t table_resident_bytes = 0;  // the table's memory now (Table::resident_bytes)
  std::int64_t wheel_bytes = 0;
  std::int64_t memory_limit = 0;
  std::int64_t table_slots = 0;     // the table fully grown
  std::int64_t table_slots_now = 0;
};

}  // namespace ferrite::store
