#include "engine/conn_registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <new>

#include "core/net.h"

namespace ferrite::engine {
namespace {

void pack(const ConnAddress& a, std::atomic<std::uint64_t>* w) noexcept {
  std::uint64_t v[3] = {std::uint64_t{a.family} | std::uint64_t{a.port} << 16, 0, 0};
  std::memcpy(&v[1], a.bytes, sizeof(a.bytes));
  for (int i = 0; i < 3; ++i) w[i].store(v[i], std::memory_order_relaxed);
}

ConnAddress unpack(const std::atomic<std::uint64_t>* w) noexcept {
  std::uint64_t v[3];
  for (int i = 0; i < 3; ++i) v[i] = w[i].load(std::memory_order_relaxed);
  ConnAddress a;
  a.family = static_cast<std::uint16_t>(v[0]);
  a.port = static_cast<std::uint16_t>(v[0] >> 16);
  std::memcpy(a.bytes, &v[1], sizeof(a.bytes));
  return a;
}

}  // namespace

ConnAddress ConnAddress::from(const sockaddr_storage& s, socklen_t len) noexcept {
  ConnAddress a;
  if (len >= sizeof(sockaddr_in) && s.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&s);
    a.family = AF_INET;
    a.port = ntohs(in->sin_port);
    std::memcpy(a.bytes, &in->sin_addr, 4);
  } else if (len >= sizeof(sockaddr_in6) && s.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&s);
    a.family = AF_INET6;
    a.port = ntohs(in6->sin6_port);
    std::memcpy(a.bytes, &in6->sin6_addr, 16);
  }
  return a;
}

io::Endpoint ConnAddress::endpoint() const noexcept {
  io::Endpoint e;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&e.addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    std::memcpy(&in->sin_addr, bytes, 4);
    e.len = sizeof(sockaddr_in);
  } else if (family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, bytes, 16);
    e.len = sizeof(sockaddr_in6);
  }
  return e;
}

ConnRegistry::ConnRegistry(unsigned workers)
    : workers_(workers), chunks_(std::make_unique<std::atomic<Slot*>[]>(std::size_t{workers} * kMaxChunks)) {}

ConnRegistry::~ConnRegistry() {
  for (std::size_t i = 0; i < std::size_t{workers_} * kMaxChunks; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
}

void ConnRegistry::add_listener(std::uint64_t id, const ConnAddress& local, bool datagram, std::uint32_t now_s) {
  ConnRecord r;
  r.id = id;
  r.local = local;
  r.state = datagram ? ConnState::kDatagram : ConnState::kListening;
  r.last_cmd_s = now_s;
  r.opened_s = now_s;
  listeners_.push_back(r);
}

void ConnRegistry::open(unsigned worker, std::uint32_t slot, std::uint64_t id, const ConnAddress& peer,
                        const ConnAddress& local, std::uint32_t now_s) noexcept {
  const std::size_t c = slot / kChunkSlots;
  if (worker >= workers_ || c >= kMaxChunks) {
    unlisted_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::atomic<Slot*>& chunk = chunks_[worker * kMaxChunks + c];
  if (chunk.load(std::memory_order_relaxed) == nullptr) {
    // Readers stop at the first missing chunk: a worker's slots are used from 0 up, so its
    // chunks appear in order.
    Slot* fresh = new (std::nothrow) Slot[kChunkSlots];
    if (fresh == nullptr) {
      unlisted_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    chunk.store(fresh, std::memory_order_release);
  }
  Slot& s = chunk.load(std::memory_order_relaxed)[slot % kChunkSlots];
  const std::uint32_t seq = s.seq.load(std::memory_order_relaxed);
  s.seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s.id.store(id, std::memory_order_relaxed);
  pack(peer, s.peer);
  pack(local, s.local);
  s.last_cmd_s.store(now_s, std::memory_order_relaxed);
  s.opened_s.store(now_s, std::memory_order_relaxed);
  s.state.store(static_cast<std::uint8_t>(ConnState::kWaiting), std::memory_order_relaxed);
  s.seq.store(seq + 2, std::memory_order_release);
}

void ConnRegistry::close(unsigned worker, std::uint32_t slot) noexcept {
  Slot* s = find(worker, slot);
  if (s == nullptr) return;
  const std::uint32_t seq = s->seq.load(std::memory_order_relaxed);
  s->seq.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  s->state.store(static_cast<std::uint8_t>(ConnState::kClosed), std::memory_order_relaxed);
  s->seq.store(seq + 2, std::memory_order_release);
}

bool ConnRegistry::read(const Slot& s, ConnRecord* out) noexcept {
  // The owner holds a slot odd for a handful of stores; a reader that keeps meeting it odd (or
  // changed) gives up on that slot rather than spin.
  for (int attempt = 0; attempt < 64; ++attempt) {
    const std::uint32_t before = s.seq.load(std::memory_order_acquire);
    if ((before & 1) != 0) continue;
    const auto state = static_cast<ConnState>(s.state.load(std::memory_order_relaxed));
    if (state == ConnState::kClosed) return false;
    out->id = s.id.load(std::memory_order_relaxed);
    out->peer = unpack(s.peer);
    out->local = unpack(s.local);
    out->state = state;
    out->last_cmd_s = s.last_cmd_s.load(std::memory_order_relaxed);
    out->opened_s = s.opened_s.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (s.seq.load(std::memory_order_relaxed) == before) return true;
  }
  return false;
}

std::size_t format_conn_address(const ConnAddress& a, bool datagram, char* out, std::size_t cap) noexcept {
  const int n = std::snprintf(out, cap, "%s%s:", datagram ? "udp" : "tcp", a.family == AF_INET6 ? "6" : "");
  if (n < 0 || static_cast<std::size_t>(n) >= cap) return cap == 0 ? 0 : cap - 1;
  return static_cast<std::size_t>(n) + format_endpoint(a.endpoint(), out + n, cap - static_cast<std::size_t>(n));
}

}  // namespace ferrite::engine
