#include "engine/worker.h"

#include "engine/worker_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "core/clock.h"

namespace ferrite::engine {

namespace {

constexpr std::size_t kEventsPerPoll = 256;
constexpr std::uint64_t kIdleSweepEveryMs = 1000;
// How long an adaptive worker keeps polling after its last event before it sleeps in the
// driver. Short: on a box whose cores are shared (clients, other services), every microsecond
// spun after each request is taken from someone else; 256 empty polls (~250 us) per wake-up made
// a worker at 20k requests/s spin a whole core.
constexpr std::uint64_t kSpinNs = 20'000;
// How often the store's tick() runs at most (a DPDK profile found 21% of a busy-polling worker's
// time in it when it ran every iteration).
constexpr std::uint64_t kTickNs = 100'000;
// How stale the store clock (milliseconds) may get on a busy worker before it is read again.
constexpr std::uint64_t kClockNs = 100'000;
constexpr int kSleepUs = 10'000;
// A reply buffer that grew past this for one big reply is shrunk back after it was sent (to
// nothing while the connection-buffer budget is spent); a quiet connection's, at the next sweep.
constexpr std::size_t kKeepBufferBytes = 256 << 10;
constexpr std::size_t kQuietBufferBytes = 4 << 10;
// What a connection may hold in buffers without a charge to the budget: it can always get this
// much, so no connection waits for another (the budget bounds what goes beyond it).
constexpr std::int64_t kConnBaseBytes = 32 << 10;
// While the budget is spent, a feed adds replies up to this much (at least one request runs).
constexpr std::size_t kSpentReplyBytes = 16 << 10;
// A connection whose input is held back reads no more once it holds this much of it.
constexpr std::size_t kHeldInputBytes = 16 << 10;
// A connection waiting this long for the budget with an incomplete request and nothing owed is
// refused (its protocol's out-of-memory error, then closed): what is spent is given back, so
// connections stuck waiting for each other's budget cannot deadlock.
constexpr std::uint64_t kBudgetWaitMs = 2000;
// Waiters let in per iteration: one for each kWakeBytes of room (at least one).
constexpr std::int64_t kWakeBytes = 64 << 10;
// While replies are parked for the disk (or connections wait for a congested persistence ring),
// an idle worker sleeps at most this long: the persistence thread's wake() interrupts the wait
// through the driver (io::Driver::wake); the bound is for a driver that cannot be woken.
constexpr int kDiskWaitUs = 1000;
// Evictions per second by one worker that make an eviction-storm event.
constexpr std::int64_t kEvictionStormPerSecond = 10'000;

}  // namespace

Worker::Worker(Shared& shared, const WorkerOptions& options, const Services& services, io::Driver& driver,
               WorkerStats& stats, io::Driver* fast_path)
    : shared_(shared), options_(options), services_(services), driver_(driver), fast_path_(fast_path), stats_(stats) {
  ctx_ = std::make_unique<store::PartitionedContext>(*shared_.store, options_.partition);
  ctx_->set_now(shared_.store->now_ms());
  if (options_.observer != nullptr) ctx_->set_observer(options_.observer);
  if (options_.observer_of) {
    for (unsigned p = 0; p < shared_.store->count(); ++p) ctx_->set_observer(p, options_.observer_of(p));
  }
  if (options_.handover != nullptr && options_.handover->partitions() > 1 && options_.polling == Polling::kBusy) {
    handover_ = options_.handover;
  }
  burst_keys_.resize(kEventsPerPoll);
  burst_key_.resize(kEventsPerPoll);
  exec_ = std::make_unique<Exec>(Exec{shared_, *ctx_, stats_, options_.id, options_.control});
  exec_->loop_hook = options_.loop_hook;
  datagram_handlers_.resize(options_.services.size());
  for (std::size_t tag = 0; tag < options_.services.size(); ++tag) {
    const Services::DatagramFactory make = services_.datagram(options_.services[tag]);
    if (make != nullptr) datagram_handlers_[tag] = make();
  }
  datagram_out_.buf.reserve(64 << 10);
  datagram_out_.ends.reserve(1024);
  dirty_.reserve(1024);
  waiters_.reserve(1024);
  woken_.reserve(1024);
  durability_ = options_.durability;
  if (durability_ != nullptr) {
    exec_->durability = durability_;
    parked_.reserve(1024);
    congested_.reserve(256);
    congested_next_.reserve(256);
    durability_->set_waker(this);
  }
}

Worker::~Worker() {
  if (durability_ != nullptr) durability_->set_waker(nullptr);
  conns_.clear();  // sessions before the context they used
  exec_.reset();
  ctx_.reset();
}

Worker::Conn& Worker::conn(io::ConnId id) {
  if (id >= conns_.size()) conns_.resize(id + 1);
  if (!conns_[id]) conns_[id] = std::make_unique<Conn>();
  return *conns_[id];
}

bool Worker::budget_spent() const noexcept { return shared_.settings.conn_buffers.room(credit_) <= 0; }

std::int64_t Worker::settle(Conn& c, std::int64_t before) {
  const std::int64_t grew = buffer_bytes() - before;
  c.held += grew;
  const std::int64_t want = c.held > kConnBaseBytes ? c.held - kConnBaseBytes : 0;
  const std::int64_t d = want - c.charged;
  if (d == 0) return grew;
  if (d > 0) {
    shared_.settings.conn_buffers.charge(credit_, d);
  } else {
    shared_.settings.conn_buffers.uncharge(credit_, -d);
  }
  c.charged = want;
  stats_.conn_buffer_bytes.add(d);
  return grew;
}

void Worker::release_all(Conn& c) {
  if (c.charged != 0) {
    shared_.settings.conn_buffers.uncharge(credit_, c.charged);
    stats_.conn_buffer_bytes.sub(c.charged);
  }
  c.charged = 0;
  c.held = 0;
  c.budget_wait = false;
}

bool Worker::backpressured(const Conn& c) const noexcept {
  std::size_t owed = c.out[c.cur].size();
  if (c.sending) owed += c.out[c.cur ^ 1].size() - c.sent;
  return owed >= shared_.settings.max_reply_bytes;
}

void Worker::run(const std::atomic<bool>& stop, std::uint64_t drain_ms) {
  io::Event events[kEventsPerPoll];
  const std::uint64_t spin_cycles = ns_to_cycles(kSpinNs);
  std::uint64_t last_busy = cycles();
  const std::uint64_t tick_cycles = ns_to_cycles(kTickNs);
  std::uint64_t last_tick = 0;
  std::uint64_t drain_deadline = 0;
  if (options_.loop_hook != nullptr) options_.loop_hook->busy();
  // The store clock (clock_gettime) is read at most every kClockNs while busy, and after every
  // wait: its unit is the millisecond, and a busy worker loops every few microseconds.
  const std::uint64_t clock_cycles = ns_to_cycles(kClockNs);
  std::uint64_t now = shared_.store->now_ms();
  std::uint64_t last_clock = cycles();
  for (;;) {
    const std::uint64_t t0 = cycles();
    if (t0 - last_clock >= clock_cycles) {
      now = shared_.store->now_ms();
      last_clock = t0;
    }
    ctx_->set_now(now);

    if (!draining_ && stop.load(std::memory_order_relaxed)) {
      draining_ = true;
      drain_deadline = now + drain_ms;
      driver_.stop_listening();
      if (fast_path_ != nullptr) fast_path_->stop_listening();
    }
    if (draining_) {
      // Close every connection that owes nothing (or all of them once the time is up).
      bool any_open = false;
      for (std::size_t id = 0; id < conns_.size(); ++id) {
        if (!conns_[id] || !conns_[id]->open) continue;
        any_open = true;
        Conn& c = *conns_[id];
        if (!c.closing && ((!c.sending && c.out[c.cur].empty()) || now >= drain_deadline)) {
          c.closing = true;
          driver_.close(static_cast<io::ConnId>(id));
        }
      }
      if (!any_open || now >= drain_deadline + 1000) break;
    }

    // A fast-path queue has nothing to sleep on: with one, the worker never waits.
    int wait_us = 0;
    if (options_.polling == Polling::kAdaptive && fast_path_ == nullptr && t0 - last_busy > spin_cycles &&
        control_req_ == nullptr) {
      wait_us = draining_ ? 1000 : kSleepUs;
    }
    const bool disk_wait = wait_us > 0 && (parked_head_ < parked_.size() || !congested_.empty());
    if (disk_wait) {
      disk_sleeping_.store(true, std::memory_order_seq_cst);
      wait_us = woken_by_disk_.load(std::memory_order_seq_cst) ? 0 : std::min(wait_us, kDiskWaitUs);
    }
    LoopHook* const hook = options_.loop_hook;
    if (wait_us > 0) {
      ctx_->offline();
      if (hook != nullptr) hook->idle();
    }
    std::size_t n = driver_.poll(events, kEventsPerPoll, wait_us);
    if (disk_wait) disk_sleeping_.store(false, std::memory_order_relaxed);
    const std::uint64_t t1 = cycles();
    if (wait_us > 0) {
      if (hook != nullptr) hook->busy();
      ctx_->online();
      // The requests just received are timed (TTLs) by the clock after the wait, not before it.
      now = shared_.store->now_ms();
      last_clock = t1;
      ctx_->set_now(now);
    }

    serve_events(events, n, driver_);
    if (!waiters_.empty() && !budget_spent()) wake_waiters();
    if (parked_head_ < parked_.size()) release_parked();
    if (!congested_.empty() && !disk_congested()) resume_congested();
    flush_dirty();
    if (fast_path_ != nullptr) {
      // Only datagrams come from here (events valid until its next poll, so handled at once).
      const std::size_t m = fast_path_->poll(events, kEventsPerPoll, 0);
      serve_events(events, m, *fast_path_);
      n += m;
    }
    if (handover_ != nullptr) n += serve_handed_over();

    if (now >= next_idle_sweep_ms_) {
      next_idle_sweep_ms_ = now + kIdleSweepEveryMs;
      sweep_idle();
      if (!waiters_.empty()) refuse_waiters();
    }
    if (options_.control != nullptr) {
      serve_control();
      if (now >= next_second_ms_) {
        next_second_ms_ = now + 1000;
        every_second(now);
      }
    }
    // The store's housekeeping (expiry, headroom, flush sweeps, the fragmentation check) on a
    // time base: a busy worker loops every few microseconds, far more often than it needs.
    if (t0 - last_tick >= tick_cycles) {
      last_tick = t0;
      ctx_->tick();
      copy_packet_counts();
    }
    if (hook != nullptr) hook->tick();
    ctx_->quiescent();

    stats_.loop_iterations.add();
    const std::uint64_t t2 = cycles();
    if (n > 0) {
      last_busy = t2;
      stats_.busy_iterations.add();
      stats_.cycles_busy.add(static_cast<std::int64_t>(t2 - t1));
    }
    stats_.cycles_total.add(static_cast<std::int64_t>(t2 - t0));
  }
  if (options_.loop_hook != nullptr) options_.loop_hook->idle();  // serves no more
  // A table-wide request cut short: its asker (which gave up on it, or is stopping too) frees it.
  if (control_req_ != nullptr) control_req_->done.store(true, std::memory_order_release);
  control_req_ = nullptr;
  // Anything still open is closed by the driver's destructor; account for it here.
  for (auto& c : conns_) {
    if (c && c->open) {
      c->open = false;
      c->session.reset();
      release_all(*c);
      stats_.connections_current.sub();
      stats_.connections_closed.add();
      shared_.connections.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  shared_.settings.conn_buffers.return_credit(credit_);
}

void Worker::handle(const io::Event& ev) {
  switch (ev.type) {
    case io::EventType::kAccepted: on_accept(ev); break;
    case io::EventType::kData:
      stats_.bytes_read.add(ev.len);
      on_data(ev.conn, ev.data, ev.len);
      break;
    case io::EventType::kPeerClosed: on_peer_closed(ev.conn); break;
    case io::EventType::kSent: on_sent(ev.conn, ev.res); break;
    case io::EventType::kClosed: on_closed(ev.conn); break;
    case io::EventType::kDatagram: break;  // never here: serve_events runs datagrams, with their keys
  }
}

void Worker::on_accept(const io::Event& ev) {
  Conn& c = conn(ev.conn);
  const std::int64_t before = buffer_bytes();
  accept(ev, c);
  settle(c, before);
}

void Worker::accept(const io::Event& ev, Conn& c) {
  c.open = true;
  c.service = ev.tag < options_.services.size() ? options_.services[ev.tag] : Service::kMemcache;
  c.session.reset();
  c.pending.clear();
  c.out[0].clear();
  c.out[1].clear();
  c.cur = 0;
  c.sending = false;
  c.sent = 0;
  c.paused = false;
  c.close_after_flush = false;
  c.closing = false;
  c.dirty = false;
  c.stalled = false;
  c.capped = false;
  c.budget_wait = false;
  c.disk_wait = false;
  c.park_pos = 0;
  c.held = 0;
  c.charged = 0;
  c.info = ConnInfo{};
  c.info.id = shared_.next_connection_id.fetch_add(1, std::memory_order_relaxed);
  if (ev.peer != nullptr) format_endpoint(*ev.peer, c.info.peer, sizeof(c.info.peer));
  const io::Endpoint local = driver_.local_address(ev.conn);
  format_endpoint(local, c.info.local, sizeof(c.info.local));
  c.info.created_unix_ms = exec_->unix_ms();
  c.info.last_active_ms = ctx_->now_ms();
  c.last_request_ms = c.info.last_active_ms;
  if (shared_.conns != nullptr) {
    const ConnAddress peer = ev.peer != nullptr ? ConnAddress::from(ev.peer->addr, ev.peer->len) : ConnAddress{};
    shared_.conns->open(options_.id, ev.conn, c.info.id, peer, ConnAddress::from(local.addr, local.len),
                        static_cast<std::uint32_t>(c.info.last_active_ms / 1000));
  }

  stats_.connections_accepted.add();
  stats_.connections_current.add();
  shared_.total_connections.fetch_add(1, std::memory_order_relaxed);
  const std::int64_t open = shared_.connections.fetch_add(1, std::memory_order_relaxed) + 1;
  if (open > static_cast<std::int64_t>(shared_.settings.max_connections) || draining_) {
    stats_.connections_refused.add();
    c.out[c.cur].append(services_.stream(c.service).refusal);
    c.close_after_flush = true;
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(ev.conn);
    }
    return;
  }
  const StreamService& service = services_.stream(c.service);
  if (!service.by_first_bytes && service.make != nullptr) c.session = service.make(c.info, {});
}

std::size_t Worker::run_session(io::ConnId id, Conn& c, std::string_view in) {
  if (!c.session) {
    // A service that picks its session by the connection's first bytes (or one that has none).
    const StreamService& service = services_.stream(c.service);
    if (service.by_first_bytes && service.make != nullptr) c.session = service.make(c.info, in);
    if (!c.session) {
      c.close_after_flush = true;
      return in.size();
    }
  }
  exec_->conn_id = c.info.id;
  // The replies this feed may add: up to max_reply_bytes while the budget has room for them,
  // kSpentReplyBytes once it is spent.
  const std::int64_t room = shared_.settings.conn_buffers.room(credit_);
  std::size_t cap = kSpentReplyBytes;
  if (room > 0) cap += c.out[c.cur].size() + static_cast<std::size_t>(room);
  exec_->reply_cap = cap;
  exec_->refresh_gate();
  const std::uint64_t written = durability_ != nullptr ? durability_->written() : 0;
  const std::uint64_t done = exec_->requests_done;
  const std::size_t n = c.session->feed(in, c.out[c.cur], *exec_);
  exec_->reply_cap = ~std::size_t{0};
  if (durability_ != nullptr && durability_->wait_for_disk()) {
    // The batch wrote: its replies (and whatever follows them on this connection) wait until
    // its last write is durable. Positions only grow, so parked_ stays in position order.
    const std::uint64_t now_written = durability_->written();
    if (now_written != written) {
      c.park_pos = now_written;
      parked_.push_back(Parked{id, now_written});
      stats_.replies_parked.add();
    }
  }
  c.capped = cap < shared_.settings.max_reply_bytes && c.out[c.cur].size() >= cap;
  if (exec_->requests_done != done) c.last_request_ms = ctx_->now_ms();  // idle counts from here
  if (c.session->closing()) c.close_after_flush = true;
  return n;
}

void Worker::on_data(io::ConnId id, const char* data, std::size_t len) {
  Conn& c = conn(id);
  if (!c.open || c.closing) return;
  c.info.bytes_in += len;
  c.info.last_active_ms = ctx_->now_ms();
  if (c.close_after_flush) return;  // after quit or a fatal error, input is ignored

  const std::int64_t before = buffer_bytes();
  const bool direct = c.pending.empty();
  std::string_view in(data, len);
  if (!direct) {
    c.pending.append(data, len);
    in = c.pending.view();
  }
  std::size_t consumed = 0;
  if (!backpressured(c) && !held_for_disk(id, c)) consumed = run_session(id, c, in);
  if (direct) {
    if (consumed < in.size()) c.pending.append(in.substr(consumed));
  } else {
    c.pending.consume(consumed);
  }
  const bool grew = settle(c, before) > 0;
  regulate(id, c, consumed, grew);

  if (!c.dirty && (!c.out[c.cur].empty() || c.close_after_flush)) {
    c.dirty = true;
    dirty_.push_back(id);
  }
  if (shared_.conns != nullptr) {
    shared_.conns->note(options_.id, id, c.pending.empty() ? ConnState::kWaiting : ConnState::kNread,
                        static_cast<std::uint32_t>(c.info.last_active_ms / 1000));
  }
}

// After a connection's input ran (or could not): holds its input back, or lets it in again.
//   - held back: replies at max_reply_bytes, or the feed stopped at the budget's reply cap,
//     with input left over. Counted as a back-pressure stall once per episode; the driver stops
//     reading once kHeldInputBytes of it wait.
//   - the budget is spent and the connection holds charged bytes with input pending or just
//     grew (an incomplete request, in `pending` or inside the session as an HTTP body is):
//     it stops reading until the budget has room (a waiter), or is refused after
//     kBudgetWaitMs (refuse_waiters).
//   - a single incomplete request over max_request_bytes that nothing held back: closed.
void Worker::regulate(io::ConnId id, Conn& c, std::size_t consumed, bool grew) {
  if (c.close_after_flush || c.closing) return;
  const EngineSettings& s = shared_.settings;
  const bool held_back = !c.pending.empty() && (backpressured(c) || c.capped || c.disk_wait);
  if (held_back && !c.stalled) stats_.backpressure_stalls.add();
  c.stalled = held_back;
  if (c.pending.size() > s.max_request_bytes && !held_back && consumed == 0) {
    // One request larger than anything we accept, still incomplete: the session did not
    // refuse it, so the connection goes (memcached and Redis close such connections too).
    const std::int64_t before = buffer_bytes();
    const Proto p = c.session ? c.session->proto() : Proto::kMemcacheText;
    stats_.protocol_errors[static_cast<std::size_t>(p)].add();
    c.close_after_flush = true;
    c.pending.clear();
    c.pending.shrink_to(0);
    settle(c, before);
    return;
  }
  bool hold = held_back && c.pending.size() > kHeldInputBytes;
  bool for_budget = false;
  if (c.charged > 0 && budget_spent()) {
    // Give back what is not in use first: reply buffers not in flight and empty, and the
    // input buffer's room beyond what it holds.
    const std::int64_t before = buffer_bytes();
    if (c.out[c.cur].empty()) c.out[c.cur].shrink_to(0);
    if (!c.sending) c.out[c.cur ^ 1].shrink_to(0);
    c.pending.shrink_to(c.pending.size());
    settle(c, before);
    if (c.charged > 0 && (grew || !c.pending.empty())) hold = for_budget = true;
  }
  if (c.pending.size() > s.max_request_bytes) hold = true;
  if (hold) {
    if (for_budget && !c.budget_wait) {
      c.budget_wait = true;
      c.wait_since_ms = ctx_->now_ms();
      waiters_.push_back(id);
      stats_.conn_buffer_waits.add();
    }
    if (!c.paused) {
      c.paused = true;
      driver_.pause(id);
    }
    return;
  }
  c.budget_wait = false;
  if (c.paused) {
    c.paused = false;
    driver_.resume(id);
  }
}

void Worker::resume_input(io::ConnId id) {
  Conn& c = conn(id);
  if (!c.open || c.close_after_flush || c.closing) return;
  const std::int64_t before = buffer_bytes();
  std::size_t n = 0;
  if (!c.pending.empty() && !backpressured(c) && !held_for_disk(id, c)) {
    n = run_session(id, c, c.pending.view());
    c.pending.consume(n);
  }
  const bool grew = settle(c, before) > 0;
  regulate(id, c, n, grew);
  if (!c.dirty && (!c.out[c.cur].empty() || c.close_after_flush)) {
    c.dirty = true;
    dirty_.push_back(id);
  }
}

// The budget has room again: the connections that waited for it go on, first come first, as
// many as the room would let each take kWakeBytes (the rest wait for the next iteration).
void Worker::wake_waiters() {
  const std::int64_t room = shared_.settings.conn_buffers.room(credit_);
  std::size_t n = static_cast<std::size_t>(room / kWakeBytes);
  if (n == 0) n = 1;
  woken_.clear();
  std::size_t i = 0;
  for (; i < waiters_.size() && woken_.size() < n; ++i) {
    const Conn& c = conn(waiters_[i]);
    if (c.open && c.budget_wait) woken_.push_back(waiters_[i]);
  }
  waiters_.erase(waiters_.begin(), waiters_.begin() + static_cast<std::ptrdiff_t>(i));
  for (const io::ConnId id : woken_) {
    Conn& c = conn(id);
    if (!c.open || !c.budget_wait) continue;
    c.budget_wait = false;
    resume_input(id);
  }
  woken_.clear();
}

// Connections that waited kBudgetWaitMs for a budget still spent, with an incomplete request and
// nothing owed, are refused: what they hold goes back, so the others can go on.
void Worker::refuse_waiters() {
  // Forget the connections that no longer wait (closed, or let in again).
  std::size_t keep = 0;
  for (const io::ConnId id : waiters_) {
    const Conn& c = conn(id);
    if (c.open && c.budget_wait) waiters_[keep++] = id;
  }
  waiters_.resize(keep);
  if (!budget_spent()) return;
  const std::uint64_t now = ctx_->now_ms();
  for (const io::ConnId id : waiters_) {
    Conn& c = conn(id);
    if (c.closing || c.close_after_flush || c.sending || !c.out[c.cur].empty() ||
        now - c.wait_since_ms < kBudgetWaitMs) {
      continue;
    }
    const std::int64_t before = buffer_bytes();
    // In the session's protocol (a connection has its session once it sent a byte, so one that
    // waits here has one).
    if (c.session) c.out[c.cur].append(c.session->out_of_memory_reply());
    c.close_after_flush = true;
    c.budget_wait = false;
    c.pending.clear();
    c.pending.shrink_to(0);
    settle(c, before);
    stats_.conn_buffer_refusals.add();
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(id);
    }
  }
  flush_dirty();
}

// fsync = always and the persistence ring is full: the connection's requests wait (buffered, its
// reads paused once kHeldInputBytes wait) until it has room (resume_congested).
bool Worker::held_for_disk(io::ConnId id, Conn& c) {
  if (FERRITE_LIKELY(durability_ == nullptr) || !disk_congested()) return false;
  if (!c.disk_wait) {
    c.disk_wait = true;
    congested_.push_back(id);
    stats_.disk_stalls.add();
  }
  return true;
}

void Worker::resume_congested() {
  congested_next_.swap(congested_);
  congested_.clear();
  for (const io::ConnId id : congested_next_) {
    Conn& c = conn(id);
    if (!c.open || !c.disk_wait) continue;
    c.disk_wait = false;
    resume_input(id);  // may find the ring full again: back into congested_
  }
  congested_next_.clear();
}

// The parked replies whose writes are durable go out (flush_dirty); once the append-only file
// failed, the connections whose replies wait for writes not on disk are closed instead: those
// replies must never be sent as successes, and they cannot be told apart from the others in the
// connection's reply buffer.
void Worker::release_parked() {
  woken_by_disk_.store(false, std::memory_order_relaxed);
  const bool failed = durability_->failed();
  for (; parked_head_ < parked_.size(); ++parked_head_) {
    const Parked p = parked_[parked_head_];
    Conn& c = conn(p.id);
    if (!c.open || c.park_pos != p.pos) continue;  // closed, or parked again further on
    if (durability_->durable(p.pos)) {
      c.park_pos = 0;
      if (!c.dirty) {
        c.dirty = true;
        dirty_.push_back(p.id);
      }
    } else if (failed) {
      const std::int64_t before = buffer_bytes();
      c.park_pos = 0;
      c.out[c.cur].clear();
      c.pending.clear();
      settle(c, before);
      stats_.parked_closed.add();
      begin_close(p.id);
    } else {
      break;  // the later ones are further on
    }
  }
  if (parked_head_ == parked_.size()) {
    parked_.clear();
    parked_head_ = 0;
  }
}

void Worker::on_sent(io::ConnId id, int res) {
  Conn& c = conn(id);
  if (!c.open || !c.sending) return;
  Buffer& b = c.out[c.cur ^ 1];
  if (res <= 0) {
    begin_close(id);
    return;
  }
  stats_.bytes_written.add(res);
  c.info.bytes_out += static_cast<std::uint64_t>(res);
  c.sent += static_cast<std::size_t>(res);
  if (c.sent < b.size()) {
    driver_.send(id, b.data() + c.sent, b.size() - c.sent);
    return;
  }
  const std::int64_t before = buffer_bytes();
  b.clear();
  b.shrink_to(budget_spent() ? 0 : kKeepBufferBytes);
  settle(c, before);
  c.sending = false;
  c.sent = 0;
  resume_input(id);
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(id);
  }
}

void Worker::on_peer_closed(io::ConnId id) {
  Conn& c = conn(id);
  if (!c.open) return;
  const std::int64_t before = buffer_bytes();
  if (c.session) c.session->on_peer_closed(c.pending.view());
  c.pending.clear();
  c.pending.shrink_to(0);
  settle(c, before);
  c.close_after_flush = true;
  if (!c.dirty) {
    c.dirty = true;
    dirty_.push_back(id);
  }
}

void Worker::begin_close(io::ConnId id) {
  Conn& c = conn(id);
  if (c.closing) return;
  c.closing = true;
  if (shared_.conns != nullptr) shared_.conns->set_state(options_.id, id, ConnState::kClosing);
  driver_.close(id);
}

void Worker::on_closed(io::ConnId id) {
  Conn& c = conn(id);
  if (!c.open) return;
  c.open = false;
  if (shared_.conns != nullptr) shared_.conns->close(options_.id, id);
  // Everything it held goes back, to the system too (a slot reused later starts from nothing).
  c.session.reset();
  c.pending.clear();
  c.pending.shrink_to(0);
  for (Buffer& b : c.out) {
    b.clear();
    b.shrink_to(0);
  }
  release_all(c);
  stats_.connections_current.sub();
  stats_.connections_closed.add();
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::flush(io::ConnId id) {
  Conn& c = conn(id);
  c.dirty = false;
  if (!c.open || c.closing || c.park_pos != 0) return;  // parked: release_parked() marks it again
  if (!c.sending && !c.out[c.cur].empty()) {
    c.sending = true;
    c.sent = 0;
    Buffer& b = c.out[c.cur];
    c.cur ^= 1;
    driver_.send(id, b.data(), b.size());
    return;
  }
  if (c.close_after_flush && !c.sending && c.out[c.cur].empty()) begin_close(id);
}

void Worker::flush_dirty() {
  // flush() may not add to dirty_, so a plain loop over the snapshot is safe.
  for (std::size_t i = 0; i < dirty_.size(); ++i) flush(dirty_[i]);
  dirty_.clear();
}

// Once a second: a connection quiet since the last sweep gives back its reply buffers and its
// input buffer's spare room; with server.idle_timeout, one without a complete request for that
// long (a client trickling bytes too, as memcached counts from the last command) is closed.
void Worker::sweep_idle() {
  const std::uint64_t timeout = shared_.settings.idle_timeout_ms;
  const std::uint64_t now = ctx_->now_ms();
  for (std::size_t id = 0; id < conns_.size(); ++id) {
    if (!conns_[id] || !conns_[id]->open) continue;
    Conn& c = *conns_[id];
    if (c.closing || c.sending) continue;
    if (timeout != 0 && now - c.last_request_ms > timeout) {
      stats_.idle_closed.add();
      begin_close(static_cast<io::ConnId>(id));
      continue;
    }
    if (now - c.info.last_active_ms >= kIdleSweepEveryMs && c.out[c.cur].empty()) {
      const std::int64_t before = buffer_bytes();
      c.out[0].shrink_to(kQuietBufferBytes);
      c.out[1].shrink_to(kQuietBufferBytes);
      c.pending.shrink_to(c.pending.size());
      settle(c, before);
    }
  }
}

void Worker::copy_packet_counts() {
  io::PacketCounts now{};
  if (fast_path_ == nullptr || !fast_path_->packet_counts(&now)) return;
  for (std::size_t i = 0; i < io::kPacketCounterCount; ++i) {
    if (now[i] != last_packets_[i]) stats_.packets[i].add(static_cast<std::int64_t>(now[i] - last_packets_[i]));
  }
  last_packets_ = now;
  stats_.has_packets.store(true, std::memory_order_relaxed);
}

void Worker::push_event(EventType type, std::int64_t a) {
  Event e;
  e.unix_ms = exec_->unix_ms();
  e.type = type;
  e.worker = static_cast<std::uint16_t>(options_.id);
  e.a = a;
  if (!options_.control->events.push(e)) options_.control->events_dropped.add();
}

void Worker::every_second(std::uint64_t /*now_ms*/) {
  // Events worth a look, at most one of each kind per second per worker.
  const std::int64_t refused = stats_.connections_refused.get();
  if (refused != last_refused_) push_event(EventType::kConnectionsRefused, refused - last_refused_);
  last_refused_ = refused;
  const std::int64_t evictions = ctx_->evictions();
  if (evictions - last_evictions_ >= kEvictionStormPerSecond) push_event(EventType::kEvictionStorm, evictions - last_evictions_);
  last_evictions_ = evictions;
  const std::int64_t no_memory = ctx_->no_memory();
  if (no_memory != last_no_memory_) push_event(EventType::kNoMemory, no_memory - last_no_memory_);
  last_no_memory_ = no_memory;
  // The hot-key sketch follows the current load: counts halve every 10 seconds.
  if (++seconds_ % 10 == 0) options_.control->hot.decay();
}

}  // namespace ferrite::engine
