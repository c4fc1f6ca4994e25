// The worker's connection record, shared by the worker's source files (worker.cc: connections,
// back-pressure and the loop; worker_control.cc: the management plane's requests;
// worker_datagram.cc: datagrams and their handover). Nothing outside src/engine/worker*.cc sees it.
#pragma once

#include <cstdint>
#include <memory>

#include "core/buffer.h"
#include "engine/worker.h"

namespace ferrite::engine {

struct Worker::Conn {
  bool open = false;
  Service service = Service::kMemcache;
  std::unique_ptr<Session> session;
  ConnInfo info;
  Buffer pending;          // input not consumed yet (an incomplete request, or held back)
  Buffer out[2];           // out[cur] is filled; the other may be in flight
  unsigned cur = 0;
  bool sending = false;    // out[cur ^ 1] is in flight
  std::size_t sent = 0;    // bytes of the in-flight buffer already sent
  bool paused = false;     // the driver stopped reading (back-pressure)
  bool close_after_flush = false;
  bool closing = false;    // driver.close() called
  bool dirty = false;      // in dirty_: has replies to send or a close to start
  bool stalled = false;    // input held back (replies at their cap): counted once per episode
  bool capped = false;     // the last feed stopped at the budget's reply cap (Exec::reply_cap)
  bool budget_wait = false;  // paused until the connection-buffer budget has room (in waiters_)
  bool disk_wait = false;    // input held back while the persistence ring is congested (in congested_)
  // Durability: out[cur] is held (not sent) until this write position is durable; 0 = not parked.
  std::uint64_t park_pos = 0;
  std::uint64_t wait_since_ms = 0;
  std::uint64_t last_request_ms = 0;  // store clock: when its last complete request ran
  // Buffer bytes this connection holds (its own buffers and its session's, as measured around
  // everything that runs for it: core/buffer.h's buffer_bytes()), and the part of them beyond
  // kConnBaseBytes charged to the budget.
  std::int64_t held = 0;
  std::int64_t charged = 0;
};

}  // namespace ferrite::engine
