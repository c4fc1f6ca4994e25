// A worker: one pinned thread, one store context, one or more drivers, run to completion.
//
//   loop:
//     set the store clock
//     poll the driver (submits last iteration's sends; waits only when idle, see Polling),
//     and the fast-path driver if there is one (never waits)
//     for every event: accept / feed the connection's session / account a finished send
//     send each connection's gathered replies (one send per connection per iteration)
//     ctx.tick(); ctx.quiescent()
//
// Connections keep their unconsumed input (an incomplete request) and two reply buffers: one
// being filled by the session while the other is in flight. Back-pressure: while a connection
// has max_reply_bytes unsent, its input is not parsed; once it also holds 16 KiB of unparsed
// input, the driver stops reading it. A connection whose single request outgrows
// max_request_bytes is closed. What connections hold in buffers beyond a small base is charged
// to one budget shared by all workers (EngineSettings::conn_buffers): once it is spent, feeds
// add little output and connections holding charged bytes stop reading until it has room (see
// docs/engine.md, "Back-pressure and limits"). Buffers are freed when drained or quiet.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/durability.h"
#include "core/io.h"
#include "core/loop_hook.h"
#include "engine/handover.h"
#include "engine/session.h"

namespace ferrite::engine {

// What a listener serves.
enum class Service : std::uint8_t {
  kMemcache,     // TCP: memcached text + meta, or binary (the memcache service picks by the first byte)
  kMemcacheUdp,  // UDP: memcached's frame header around text + meta
  kResp,
  kHttp,
  kBinary,
  kBinaryUdp,
  kCount
};
inline constexpr std::size_t kServiceCount = static_cast<std::size_t>(Service::kCount);

// The protocols' constructors, by Service (filled in by the server; an empty entry serves nothing).
struct Services {
  using DatagramFactory = std::unique_ptr<DatagramHandler> (*)();
  StreamService streams[kServiceCount] = {};
  DatagramFactory datagrams[kServiceCount] = {};

  StreamService& stream(Service s) noexcept { return streams[static_cast<std::size_t>(s)]; }
  const StreamService& stream(Service s) const noexcept { return streams[static_cast<std::size_t>(s)]; }
  DatagramFactory& datagram(Service s) noexcept { return datagrams[static_cast<std::size_t>(s)]; }
  DatagramFactory datagram(Service s) const noexcept { return datagrams[static_cast<std::size_t>(s)]; }
};

enum class Polling : std::uint8_t {
  kAdaptive,  // spin while there is work, then sleep in the driver (up to 10 ms) when idle
  kBusy,      // never sleep (an appliance core)
};

struct WorkerOptions {
  unsigned id = 0;
  Polling polling = Polling::kAdaptive;
  // Listener tag -> what it serves (tags are the drivers' listener tags).
  std::vector<Service> services;
  // The management plane's view of this worker (events, requests, hot keys); may be null.
  WorkerControl* control = nullptr;
  // The worker's home partition (its NUMA node's table), and the rings between the partitions'
  // workers: with them, a datagram whose first key belongs to another partition is handed to a
  // worker of that partition (only when busy polling; see engine/handover.h). May be null.
  unsigned partition = 0;
  Handover* handover = nullptr;
  // Persistence (docs/persistence.md), may be null: the observer of this worker's store context
  // (every mutation it makes), and a hook told of each loop turn and of each sleep (the
  // append-only file's order watermark).
  store::MutationObserver* observer = nullptr;
  // Or one observer per partition (persist.mode = snapshot: the snapshot tail's), when set.
  std::function<store::MutationObserver*(unsigned partition)> observer_of;
  LoopHook* loop_hook = nullptr;
  // The worker's durability (the append-only file's per-worker side, core/durability.h); null
  // without persistence. With one whose wait_for_disk() is set (fsync = always), the replies of
  // a batch that wrote are parked until durable(), see "In the worker" in docs/persistence.md.
  Durability* durability = nullptr;
};

class Worker final : private Durability::Waker {
 public:
  // Call on the worker's own thread: the store context is attached here. `stats` is this
  // worker's entry in shared.worker_stats (owned by the caller, so readers never race its birth).
  // `fast_path`, when given, is a second driver that delivers datagrams only (the DPDK driver):
  // it is polled every iteration without waiting, and its datagrams are answered through it.
  // Listener tags are shared: options.services covers the tags of both drivers.
  Worker(Shared& shared, const WorkerOptions& options, const Services& services, io::Driver& driver,
         WorkerStats& stats, io::Driver* fast_path = nullptr);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until `stop` is set, then stops accepting, sends what is owed (for up to
  // `drain_ms`), closes every connection and returns.
  void run(const std::atomic<bool>& stop, std::uint64_t drain_ms = 2000);

  WorkerStats& stats() noexcept { return stats_; }

 private:
  struct Conn;
  // A datagram's first key: none, one of this worker's partition, or one another partition owns
  // (with the handover on).
  enum class BurstKey : std::uint8_t { kNone, kLocal, kRemote };
  BurstKey first_key(const io::Event& ev, store::KeyRef* key) const noexcept;
  void serve_events(const io::Event* events, std::size_t n, io::Driver& from);
  void handle(const io::Event& ev);
  void on_accept(const io::Event& ev);
  void accept(const io::Event& ev, Conn& c);
  void on_data(io::ConnId id, const char* data, std::size_t len);
  void on_sent(io::ConnId id, int res);
  void on_peer_closed(io::ConnId id);
  void on_closed(io::ConnId id);
  void on_datagram(const io::Event& ev, io::Driver& from, BurstKey kind, const store::KeyRef* key);
  bool hand_over(const io::Event& ev, bool fast_path, const store::KeyRef& key);
  // `key`: the datagram's first key, hashed already (or null).
  void serve_datagram(const io::Event& ev, io::Driver& from, const store::KeyRef* key = nullptr);
  std::size_t serve_handed_over();
  DatagramHandler* handler_for(std::uint16_t tag) const noexcept {
    return tag < datagram_handlers_.size() ? datagram_handlers_[tag].get() : nullptr;
  }
  std::size_t run_session(io::ConnId id, Conn& c, std::string_view in);
  // Durability (fsync = always): whether a connection's requests must wait for a full ring; the
  // parked replies released once durable (or their connections closed once it failed).
  bool disk_congested() const noexcept {
    return durability_ != nullptr && durability_->wait_for_disk() && durability_->congested();
  }
  bool held_for_disk(io::ConnId id, Conn& c);
  void release_parked();
  void resume_congested();
  // The persistence thread's wake-up (positions became durable, or the failure state changed):
  // a flag the loop reads, and the driver's own wake when the worker sleeps on parked replies.
  // The flag and disk_sleeping_ are ordered seq_cst on both sides: either the worker sees the
  // flag before it sleeps, or this sees it sleeping.
  void wake() noexcept override {
    woken_by_disk_.store(true, std::memory_order_seq_cst);
    if (disk_sleeping_.load(std::memory_order_seq_cst)) driver_.wake();
  }
  void resume_input(io::ConnId id);
  void regulate(io::ConnId id, Conn& c, std::size_t consumed, bool grew);
  void wake_waiters();
  void refuse_waiters();
  bool budget_spent() const noexcept;
  // Charges (or gives back) what `c` holds beyond its base, after what ran for it since
  // buffer_bytes() was `before`; returns by how much its buffers grew (< 0: shrank).
  std::int64_t settle(Conn& c, std::int64_t before);
  void release_all(Conn& c);
  void flush(io::ConnId id);
  void flush_dirty();
  void begin_close(io::ConnId id);
  void sweep_idle();
  void serve_control();
  // Works on `req` for one loop turn; true once it is answered.
  bool answer(ControlRequest& req);
  void every_second(std::uint64_t now_ms);
  void push_event(EventType type, std::int64_t a);
  void copy_packet_counts();
  bool backpressured(const Conn& c) const noexcept;
  Conn& conn(io::ConnId id);

  Shared& shared_;
  WorkerOptions options_;
  Services services_;
  io::Driver& driver_;
  io::Driver* fast_path_;
  WorkerStats& stats_;
  std::unique_ptr<store::PartitionedContext> ctx_;
  std::unique_ptr<Exec> exec_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<io::ConnId> dirty_;
  std::vector<io::ConnId> waiters_, woken_;  // paused until the connection-buffer budget has room
  std::int64_t credit_ = 0;                  // this worker's share taken from the budget's pool
  std::vector<std::unique_ptr<DatagramHandler>> datagram_handlers_;  // by listener tag
  DatagramOut datagram_out_;
  Handover* handover_ = nullptr;           // set when this worker hands over (busy, partitions > 1)
  // The fast-path burst's first keys (see BurstKey).
  std::vector<store::KeyRef> burst_keys_;
  std::vector<BurstKey> burst_key_;
  std::uint64_t next_idle_sweep_ms_ = 0;
  std::uint64_t next_second_ms_ = 0;
  unsigned seconds_ = 0;
  std::int64_t last_refused_ = 0, last_evictions_ = 0, last_no_memory_ = 0;
  bool draining_ = false;
  ControlRequest* control_req_ = nullptr;  // a table-wide request being answered over several turns
  io::PacketCounts last_packets_{};  // the fast path's counts at the last copy into stats_
  // Durability (options.durability): replies parked until durable, in position order (a
  // connection may have several entries: only the one at its park_pos releases it), from
  // parked_head_ on; connections held back while the ring is congested.
  struct Parked {
    io::ConnId id;
    std::uint64_t pos;
  };
  Durability* durability_ = nullptr;
  std::vector<Parked> parked_;
  std::size_t parked_head_ = 0;
  std::vector<io::ConnId> congested_, congested_next_;
  std::atomic<bool> woken_by_disk_{false};
  std::atomic<bool> disk_sleeping_{false};  // about to wait, or waiting, with replies parked
};

}  // namespace ferrite::engine
