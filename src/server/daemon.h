// The running appliance: listener sockets bound up front, one pinned worker thread per core
// (each with its own io_uring driver, its DPDK driver with server.driver = "dpdk", and its store
// context), and an orderly stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "engine/worker.h"
#include "server/dpdk_plane.h"
#include "engine/handover.h"
#include "persist/aof.h"
#include "persist/snapshot_tail.h"
#include "persist/snapshotter.h"
#include "store/partitions.h"

namespace ferrite::server {

struct ListenerSpec {
  std::string name;        // the config key's short name: "memcache", "resp", ...
  engine::Service service;
  std::string host;        // numeric IPv4 or IPv6 (no brackets)
  std::uint16_t port = 0;  // 0: any free port (the same one for every worker)
  bool datagram = false;
};

struct DaemonSpec {
  store::StoreConfig store;
  unsigned workers = 1;
  std::vector<int> cpus;   // worker i runs on cpus[i % size]; empty: not pinned
  unsigned partitions = 0; // server.partitions: 0 = one per NUMA node of the pinned workers
  engine::Polling polling = engine::Polling::kAdaptive;
  std::vector<ListenerSpec> listeners;
  std::size_t max_connections = 4096;
  std::size_t max_reply_bytes = 4u << 20;
  std::uint64_t idle_timeout_ms = 0;
  std::string version;
  // server.driver = "dpdk": the UDP listeners are served by the DPDK fast path (on their ports, at
  // dpdk.address; dpdk.udp and workers/worker_cpus are filled in by the daemon), the TCP ones by
  // the kernel as usual (reached through the exception path).
  bool dpdk = false;
  DpdkPlaneSpec dpdk_spec;
  // persist.mode = aof or both: the append-only file (options.workers is set by the daemon).
  bool aof = false;
  persist::AofOptions aof_options;
  // persist.mode != off: a persistence folder with a MANIFEST in persist_dir is loaded at start
  // (server/recovery.cc): the workers answer "loading" meanwhile. load_damaged is the operator's
  // override (persist.load_damaged). `log` writes one line of the daemon's log (may be null).
  bool recover = false;
  std::string persist_dir;
  bool load_damaged = false;
  // persist.mode != off: the snapshot thread (persist/snapshotter.h: SAVE, BGSAVE, BGREWRITEAOF,
  // the AOF's rewrites); with snapshot or both (snapshots.scheduled) also on its schedule and at
  // a graceful stop. Its dir is persist_dir; its mutations counter is set by the daemon.
  bool snapshots = false;
  persist::SnapshotterOptions snapshot_options;
  void (*log)(const char* level, const std::string& message) = nullptr;
};

class Daemon {
 public:
  Daemon(const DaemonSpec& spec, const engine::Services& services, engine::ConfigAccess* config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds every listener (once per worker, SO_REUSEPORT) and starts the workers; returns when
  // all of them are serving. Throws std::runtime_error naming the listener and the address.
  void start();
  // "memcache=127.0.0.1:11211 resp=..." with the ports actually bound.
  std::string bound_addresses() const;
  // What the DPDK plane runs on ("" without one).
  std::string dpdk_description() const { return dpdk_ ? dpdk_->describe() : std::string(); }
  // Stops accepting, lets the workers send what they owe, joins them; then, when
  // `final_snapshot` (a graceful stop: SIGTERM, ferritectl shutdown) and persist.mode is snapshot
  // or both, takes a last snapshot so the next start is warm; then stops the append-only file.
  void stop(bool final_snapshot = false);

  // Set when a worker died (its error); the daemon should then stop.
  bool failed() const noexcept { return failed_.load(); }
  std::string failure() const;

  engine::Shared& shared() noexcept { return shared_; }
  unsigned workers() const noexcept { return spec_.workers; }
  store::Partitions& store() noexcept { return *store_; }
  // The append-only file (null unless spec.aof): each worker's Durability is aof()->durability(i).
  persist::AofWriter* aof() noexcept { return aof_.get(); }
  // The snapshot thread (null with persist.mode = off).
  persist::Snapshotter* snapshotter() noexcept { return snapshotter_.get(); }
  // Worker -> its home partition.
  unsigned partition_of_worker(unsigned w) const noexcept { return partition_of_worker_[w]; }

 private:
  void worker_main(unsigned id);
  bool on_fast_path(const ListenerSpec& l) const noexcept;

  DaemonSpec spec_;
  engine::Services services_;
  std::unique_ptr<DpdkPlane> dpdk_;
  std::unique_ptr<store::Partitions> store_;
  std::unique_ptr<persist::AofWriter> aof_;  // destroyed after the workers stopped (stop())
  std::unique_ptr<persist::SnapshotTail> tail_;  // persist.mode = snapshot: the workers' observer
  std::unique_ptr<persist::Snapshotter> snapshotter_;
  // Starts the snapshot thread once the append-only file runs (after recovery when there is one).
  std::string start_snapshotter();
  std::vector<unsigned> partition_of_worker_;
  std::unique_ptr<engine::Handover> handover_;  // with more than one partition
  std::unique_ptr<engine::ConnRegistry> conns_;  // for memcached's stats conns
  engine::Shared shared_;
  std::vector<std::unique_ptr<engine::WorkerStats>> stats_;
  std::vector<std::unique_ptr<engine::WorkerControl>> controls_;
  std::vector<std::vector<int>> fds_;  // [worker][listener]
  // Loads the persistence folder (the recovery thread), then starts the append-only file and
  // lets the workers serve (Shared::loading cleared); a refusal fails the daemon (failure()).
  void recover_main();
  void log(const char* level, const std::string& message) const {
    if (spec_.log != nullptr) spec_.log(level, message);
  }
  std::thread recovery_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned> ready_{0};
  std::atomic<bool> failed_{false};
  mutable std::mutex failure_mutex_;
  std::string failure_;
};

}  // namespace ferrite::server
