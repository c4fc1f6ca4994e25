// How side threads (the management plane) see and steer a worker without ever blocking it:
//
// - Events: each worker pushes typed events (slow requests, refused connections, eviction
//   storms) into its own SPSC ring; the management thread drains them. A full ring drops the
//   event and counts it.
// - Requests: the management thread posts a ControlRequest into a worker's SPSC inbox; the worker
//   picks it up between loop iterations, fills in the answer from state only it may touch (its
//   connections, its hot-key sketch, its store context) and marks it done.
// - Hot keys: a space-saving sketch per worker of the keys requests name, sampled.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/counter.h"
#include "core/hash.h"
#include "core/spsc_ring.h"
#include "engine/stats.h"

namespace ferrite::engine {

// --- events ------------------------------------------------------------------------------------

enum class EventType : std::uint16_t {
  kSlowRequest,         // a = latency ns, b = proto << 8 | op
  kConnectionsRefused,  // a = refused in the last second (over server.max_connections)
  kEvictionStorm,       // a = evictions in the last second by this worker's context
  kConfigChanged,       // text = "key=value" (pushed by the management thread itself)
  kNoMemory,            // a = writes refused for want of memory in the last second
  kSignal,              // text = the signal's name ("HUP"): taken and ignored by the main thread
};
std::string_view event_type_name(EventType t) noexcept;

struct Event {
  std::uint64_t unix_ms = 0;
  EventType type = EventType::kSlowRequest;
  std::uint16_t worker = 0;
  std::int64_t a = 0, b = 0;
  char text[64] = {};
};

// --- hot keys ----------------------------------------------------------------------------------

// Space-saving top-k (Metwally et al.): k counters; a key not tracked replaces the smallest
// counter and inherits its count as its error bound. Sampled: one request in kSampleEvery is
// counted at random (counts are scaled back when read).
class HotKeys {
 public:
  static constexpr std::size_t kSlots = 64;
  static constexpr unsigned kSampleEvery = 8;
  static constexpr std::size_t kMaxKey = 64;  // longer keys are tracked by their first 64 bytes
  static_assert((kSampleEvery & (kSampleEvery - 1)) == 0, "a power of two");

  void note(std::string_view key) noexcept {
    // A random one in kSampleEvery (xorshift), not every kSampleEvery-th: a fixed stride
    // aliases with periodic request patterns such as pipelines.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    if ((rng_ & (kSampleEvery - 1)) != 0) return;
    const std::uint64_t h = hash_key(key.substr(0, kMaxKey));
    std::size_t min_i = 0;
    for (std::size_t i = 0; i < used_; ++i) {
      if (slots_[i].hash == h) {
        ++slots_[i].count;
        return;
      }
      if (slots_[i].count < slots_[min_i].count) min_i = i;
    }
    Slot* s;
    std::uint64_t base = 0;
    if (used_ < kSlots) {
      s = &slots_[used_++];
    } else {
      s = &slots_[min_i];
      base = s->count;
    }
    s->hash = h;
    s->count = base + 1;
    s->error = base;
    s->len = static_cast<std::uint8_t>(key.size() < kMaxKey ? key.size() : kMaxKey);
    key.copy(s->key, s->len);
  }

  struct Entry {
    std::string key;
    std::uint64_t count;  // estimated requests (sampled count x kSampleEvery)
    std::uint64_t error;  // the estimate may be this much too high
  };
  // The tracked keys (the worker's thread only; the management plane asks through a request).
  void snapshot(std::vector<Entry>* out) const {
    for (std::size_t i = 0; i < used_; ++i) {
      out->push_back(Entry{std::string(slots_[i].key, slots_[i].len), slots_[i].count * kSampleEvery,
                           slots_[i].error * kSampleEvery});
    }
  }
  // Halves every count: called once a window so that the sketch follows the current load.
  void decay() noexcept {
    for (std::size_t i = 0; i < used_; ++i) {
      slots_[i].count /= 2;
      slots_[i].error /= 2;
    }
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint64_t count = 0;
    std::uint64_t error = 0;
    std::uint8_t len = 0;
    char key[kMaxKey];
  };
  std::array<Slot, kSlots> slots_{};
  std::size_t used_ = 0;
  std::uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

// --- requests ------------------------------------------------------------------------------------

struct ClientRow {
  std::uint64_t id = 0;
  std::string peer, local;
  std::string_view protocol;   // proto_name(), or "memcache" before the first byte decides
  std::uint64_t age_ms = 0, idle_ms = 0;
  std::uint64_t bytes_in = 0, bytes_out = 0;
  std::size_t pending_bytes = 0, reply_bytes = 0;  // buffered input / unsent replies
  unsigned worker = 0;
};

struct BigKey {
  std::string key;
  std::size_t value_bytes = 0;
};

struct ControlRequest {
  enum class Kind : std::uint8_t {
    kClients,  // -> clients
    kHotKeys,  // -> hot
    kBigKeys,  // -> big: the `limit` largest items among `scan_buckets` buckets from `cursor`
    kFlush,    // flush_all now, then sweep the flushed items out (so that the item count is exact)
  };
  // kBigKeys and kFlush touch the whole table: the worker answers them over many loop turns, a
  // bounded number of buckets a turn, serving its clients in between (it does not sleep while
  // one is unfinished), and keeps its progress in the request.
  Kind kind = Kind::kClients;
  std::size_t limit = 20;
  std::uint64_t cursor = 0;        // kBigKeys: in/out; 0 again when the table was covered
  std::size_t scan_buckets = 1 << 16;  // kBigKeys: buckets still to visit (counts down)
  bool flushed = false;                // kFlush: the flush is done, the sweep goes on
  std::vector<ClientRow> clients;
  std::vector<HotKeys::Entry> hot;
  std::vector<BigKey> big;  // kBigKeys: a min-heap on value_bytes while the scan runs
  std::atomic<bool> done{false};
};

// Connections another thread asks this worker to close (RESP CLIENT KILL on any worker): ids
// posted into free cells by any thread (a CAS from 0), taken by the owning worker at its next
// loop turn. Full cells make post() fail (the caller reports the client as not killed).
class KillBox {
 public:
  static constexpr std::size_t kCells = 32;
  bool post(std::uint64_t conn_id) noexcept {
    for (auto& cell : cells_) {
      std::uint64_t empty = 0;
      if (cell.compare_exchange_strong(empty, conn_id, std::memory_order_release, std::memory_order_relaxed)) {
        pending_.fetch_add(1, std::memory_order_release);
        return true;
      }
    }
    return false;
  }
  // The worker: one relaxed load when nothing is posted.
  template <typename Fn>
  void take(Fn&& fn) noexcept {
    if (pending_.load(std::memory_order_acquire) == 0) return;
    for (auto& cell : cells_) {
      const std::uint64_t id = cell.exchange(0, std::memory_order_acquire);
      if (id != 0) {
        pending_.fetch_sub(1, std::memory_order_relaxed);
        fn(id);
      }
    }
  }

 private:
  std::atomic<std::uint32_t> pending_{0};
  std::array<std::atomic<std::uint64_t>, kCells> cells_{};
};

// A worker's side of the management plane.
struct WorkerControl {
  WorkerControl() : events(1024), inbox(16) {}
  SpscRing<Event> events;               // worker -> management thread
  SpscRing<ControlRequest*> inbox;      // management thread -> worker
  HotKeys hot;                          // the worker's own; read through kHotKeys requests
  KillBox kills;                        // CLIENT KILL from any worker
  Counter events_dropped;
};

}  // namespace ferrite::engine
