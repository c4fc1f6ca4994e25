// Every listener and open connection of the server, readable from any thread (memcached's
// `stats conns` runs on whichever worker got the request) while the workers that own the
// connections change them. Neither side takes a lock:
//
// - Each worker owns its slots, indexed by the driver's connection id, in chunks of kChunkSlots
//   allocated when its connection table reaches a new high (never freed before the registry).
// - A slot's fields are relaxed atomics. Its sequence word is odd while the owner rewrites the
//   slot (accept, close), so a reader copies the addresses and the id consistently or tries again;
//   the state and the time of the last command are single words the owner stores as they change
//   (one relaxed store each per read event, to a line no other thread writes).
// - Listeners are registered before the workers start and never change.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/io.h"

namespace ferrite::engine {

enum class ConnState : std::uint8_t {
  kClosed,     // the slot is free
  kWaiting,    // nothing buffered: waiting for the next request
  kNread,      // part of a request is buffered (a command line without its data block, say)
  kClosing,    // being closed
  kListening,  // a TCP listener
  kDatagram,   // a UDP listener
};

// An address as the registry keeps it: family, port (host order), 16 address bytes.
struct ConnAddress {
  std::uint16_t family = 0;  // AF_INET, AF_INET6, or 0 (unknown)
  std::uint16_t port = 0;
  std::uint8_t bytes[16] = {};
  static ConnAddress from(const sockaddr_storage& a, socklen_t len) noexcept;
  io::Endpoint endpoint() const noexcept;
};

struct ConnRecord {
  std::uint64_t id = 0;      // the connection id (CLIENT ID), listeners' ids below every connection's
  ConnAddress peer, local;   // a listener has only `local`
  ConnState state = ConnState::kClosed;
  std::uint32_t last_cmd_s = 0;  // store clock seconds of the last request read (listeners: start)
  std::uint32_t opened_s = 0;    // store clock seconds of the accept (listeners: start)
  unsigned worker = 0;           // the owning worker (for_each fills it in; listeners: 0)
};

class ConnRegistry {
 public:
  static constexpr std::size_t kChunkSlots = 256;
  static constexpr std::size_t kMaxChunks = 4096;  // 1M connections per worker

  explicit ConnRegistry(unsigned workers);
  ~ConnRegistry();
  ConnRegistry(const ConnRegistry&) = delete;
  ConnRegistry& operator=(const ConnRegistry&) = delete;

  // Before any worker starts.
  void add_listener(std::uint64_t id, const ConnAddress& local, bool datagram, std::uint32_t now_s);

  // The owning worker only. open() allocates a chunk the first time a slot of it is used (a new
  // high of the connection table); a slot it cannot have is not listed (counted in unlisted()).
  void open(unsigned worker, std::uint32_t slot, std::uint64_t id, const ConnAddress& peer, const ConnAddress& local,
            std::uint32_t now_s) noexcept;
  void note(unsigned worker, std::uint32_t slot, ConnState state, std::uint32_t now_s) noexcept {
    Slot* s = find(worker, slot);
    if (s == nullptr) return;
    s->state.store(static_cast<std::uint8_t>(state), std::memory_order_relaxed);
    s->last_cmd_s.store(now_s, std::memory_order_relaxed);
  }
  void set_state(unsigned worker, std::uint32_t slot, ConnState state) noexcept {
    if (Slot* s = find(worker, slot)) s->state.store(static_cast<std::uint8_t>(state), std::memory_order_relaxed);
  }
  void close(unsigned worker, std::uint32_t slot) noexcept;

  // Any thread: the listeners, then each worker's open connections. Not for the hot path (it
  // walks every slot).
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const ConnRecord& l : listeners_) fn(l);
    ConnRecord r;
    for (unsigned w = 0; w < workers_; ++w) {
      for (std::size_t c = 0; c < kMaxChunks; ++c) {
        const Slot* chunk = chunks_[w * kMaxChunks + c].load(std::memory_order_acquire);
        if (chunk == nullptr) break;
        for (std::size_t i = 0; i < kChunkSlots; ++i) {
          if (read(chunk[i], &r)) {
            r.worker = w;
            fn(r);
          }
        }
      }
    }
  }

  std::int64_t unlisted() const noexcept { return unlisted_.load(std::memory_order_relaxed); }

 private:
  struct Slot {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint8_t> state{0};
    std::atomic<std::uint32_t> last_cmd_s{0};
    std::atomic<std::uint32_t> opened_s{0};
    std::atomic<std::uint64_t> id{0};
    std::atomic<std::uint64_t> peer[3];
    std::atomic<std::uint64_t> local[3];
  };

  Slot* find(unsigned worker, std::uint32_t slot) const noexcept {
    const std::size_t c = slot / kChunkSlots;
    if (worker >= workers_ || c >= kMaxChunks) return nullptr;
    Slot* chunk = chunks_[worker * kMaxChunks + c].load(std::memory_order_relaxed);
    return chunk == nullptr ? nullptr : &chunk[slot % kChunkSlots];
  }
  static bool read(const Slot& s, ConnRecord* out) noexcept;

  const unsigned workers_;
  std::unique_ptr<std::atomic<Slot*>[]> chunks_;  // workers_ * kMaxChunks
  std::vector<ConnRecord> listeners_;
  std::atomic<std::int64_t> unlisted_{0};
};

// memcached's way of naming an address in `stats conns`: "tcp:127.0.0.1:11211",
// "udp6:[::1]:11211" (core/net.h's format_endpoint after the transport). Writes at most `cap`
// bytes (NUL included); returns the length.
std::size_t format_conn_address(const ConnAddress& a, bool datagram, char* out, std::size_t cap) noexcept;

}  // namespace ferrite::engine
