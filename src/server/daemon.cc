#include "server/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "core/clock.h"
#include "persist/folder.h"
#include "persist/manifest.h"
#include "server/partition_plan.h"
#include "uring_driver.h"

namespace ferrite::server {
namespace {

sockaddr_storage make_address(const ListenerSpec& l, socklen_t* len) {
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, l.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(l.port);
    *len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, l.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(l.port);
    *len = sizeof(sockaddr_in6);
  } else {
    throw std::runtime_error("listen." + l.name + ": '" + l.host + "' is not a numeric IPv4 or IPv6 address");
  }
  return ss;
}

std::string describe(const ListenerSpec& l) {
  return l.host.find(':') != std::string::npos ? "[" + l.host + "]:" + std::to_string(l.port)
                                               : l.host + ":" + std::to_string(l.port);
}

// One socket of listener `l`, bound (and listening for TCP).
int open_socket(const ListenerSpec& l) {
  socklen_t len = 0;
  const sockaddr_storage ss = make_address(l, &len);
  const int fd = socket(ss.ss_family, (l.datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("listen." + l.name + ": socket: " + std::strerror(errno));
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("listen." + l.name + ": " + describe(l) + ": " +
                             (err == EADDRINUSE ? std::string("address already in use") : std::strerror(err)));
  }
  if (!l.datagram && listen(fd, 1024) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("listen." + l.name + ": " + describe(l) + ": listen: " + std::strerror(err));
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace

Daemon::Daemon(const DaemonSpec& spec, const engine::Services& services, engine::ConfigAccess* config)
    : spec_(spec), services_(services) {
  store::StoreConfig sc = spec_.store;
  // Every worker attaches to every partition; recovery's threads (one per worker) too, while the
  // workers wait.
  // The snapshot thread attaches one more for its walk (and loading a base snapshot at start
  // takes up to 8 threads, recovery's appliers after them).
  unsigned contexts = spec_.workers + (spec_.snapshots ? 1 : 0);
  if (spec_.recover) contexts += std::max(spec_.workers, 8u);
  sc.max_contexts = std::min(contexts, 64u);
  const PartitionPlan plan = plan_partitions(spec_.workers, spec_.partitions, spec_.cpus);
  store_ = std::make_unique<store::Partitions>(sc, plan.count, plan.node);
  partition_of_worker_ = plan.of_worker;
  if (plan.count > 1) handover_ = std::make_unique<engine::Handover>(plan.of_worker, plan.count);
  shared_.store = store_.get();
  shared_.config = config;
  shared_.settings.version = spec_.version;
  shared_.settings.workers = spec_.workers;
  shared_.settings.max_connections = spec_.max_connections;
  shared_.settings.max_reply_bytes = spec_.max_reply_bytes;
  shared_.settings.max_request_bytes = sc.max_item_size + (64u << 10);
  shared_.settings.idle_timeout_ms = spec_.idle_timeout_ms;
  shared_.start_unix_ms = unix_ms();
  if (spec_.aof) {
    persist::AofOptions ao = spec_.aof_options;
    ao.workers = spec_.workers;
    aof_ = std::make_unique<persist::AofWriter>(ao, store_->at(0));  // the partitions share one clock
    shared_.aof_enabled = true;
  }
  if (spec_.snapshots) {
    persist::SnapshotterOptions so = spec_.snapshot_options;
    so.dir = spec_.persist_dir;
    // Changes since the last snapshot: stores and deletes of every worker (INFO's
    // rdb_changes_since_last_save, persist.snapshot_changes).
    so.mutations = [this] {
      const store::StoreStats st = store_->stats();
      return static_cast<std::uint64_t>(st.sets + st.delete_hits + st.incr_hits + st.touch_hits);
    };
    so.log = [this](const char* level, const std::string& line) { log(level, line); };
    if (!aof_) tail_ = std::make_unique<persist::SnapshotTail>(store_->at(0), store_->count());
    snapshotter_ = std::make_unique<persist::Snapshotter>(so, *store_, aof_.get(), tail_.get());
    shared_.persist = snapshotter_.get();
  }
  conns_ = std::make_unique<engine::ConnRegistry>(spec_.workers);
  shared_.conns = conns_.get();
  for (unsigned i = 0; i < spec_.workers; ++i) {
    stats_.push_back(std::make_unique<engine::WorkerStats>());
    shared_.worker_stats.push_back(stats_.back().get());
    controls_.push_back(std::make_unique<engine::WorkerControl>());
    shared_.controls.push_back(controls_.back().get());
  }
}

Daemon::~Daemon() {
  stop();
  for (auto& per_worker : fds_)
    for (int fd : per_worker)
      if (fd >= 0) ::close(fd);
}

bool Daemon::on_fast_path(const ListenerSpec& l) const noexcept { return spec_.dpdk && l.datagram; }

void Daemon::start() {
  if (spec_.dpdk) {
    // First: the exception interfaces must carry their addresses before a listener can bind one.
#ifdef FERRITE_HAVE_DPDK
    DpdkPlaneSpec ds = spec_.dpdk_spec;
    ds.workers = spec_.workers;
    ds.worker_cpus = spec_.cpus;
    ds.udp.clear();
    for (std::size_t li = 0; li < spec_.listeners.size(); ++li) {
      if (on_fast_path(spec_.listeners[li]) && spec_.listeners[li].port == 0) {
        throw std::invalid_argument("listen." + spec_.listeners[li].name +
                                    ": port 0 with the dpdk driver; expected the UDP port the fast path serves");
      }
      if (on_fast_path(spec_.listeners[li])) {
        ds.udp.push_back(DpdkPlaneSpec::Udp{spec_.listeners[li].port, static_cast<std::uint16_t>(li)});
      }
    }
    dpdk_ = std::make_unique<DpdkPlane>(ds);
#else
    throw std::invalid_argument("server.driver: \"dpdk\" is not available: this ferrited was built without DPDK "
                                "(meson -Ddpdk=enabled with Debian's dpdk-dev); expected \"uring\"");
#endif
  }
  // Bind everything before any worker starts, so that a port in use fails the start-up with
  // its name. A listener on port 0 takes the port the first socket got for all the others.
  fds_.assign(spec_.workers, std::vector<int>(spec_.listeners.size(), -1));
  for (std::size_t li = 0; li < spec_.listeners.size(); ++li) {
    ListenerSpec& l = spec_.listeners[li];
    if (on_fast_path(l)) continue;
    for (unsigned w = 0; w < spec_.workers; ++w) {
      fds_[w][li] = open_socket(l);
      if (l.port == 0) l.port = bound_port(fds_[w][li]);
    }
  }
  // The listeners, as `stats conns` lists them: one entry each, whichever worker's socket.
  const auto start_s = static_cast<std::uint32_t>(store_->now_ms() / 1000);
  for (std::size_t li = 0; li < spec_.listeners.size(); ++li) {
    if (spec_.workers == 0 || fds_[0][li] < 0) continue;
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fds_[0][li], reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
    conns_->add_listener(shared_.next_connection_id.fetch_add(1), engine::ConnAddress::from(ss, len),
                         spec_.listeners[li].datagram, start_s);
  }
  // A folder to load: the workers start answering "loading" (Shared::loading) and a thread loads
  // it; the append-only file starts after it (recover_main), so that the folder's last segment
  // is still the last one when its torn tail is cut. No worker mutates the store meanwhile.
  const bool recovering = spec_.recover && ::access(persist::path_in(spec_.persist_dir, persist::kManifestName).c_str(), F_OK) == 0;
  if (recovering) shared_.loading.store(true);
  // The append-only file: its folder, a new segment in the manifest, its thread; before any
  // worker can mutate the store.
  if (aof_ && !recovering) {
    if (std::string err = aof_->start(); !err.empty()) throw std::runtime_error(err);
  }
  if (!recovering) {
    if (std::string err = start_snapshotter(); !err.empty()) throw std::runtime_error(err);
  }
  for (unsigned w = 0; w < spec_.workers; ++w) threads_.emplace_back([this, w] { worker_main(w); });
  while (ready_.load() < spec_.workers && !failed_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (failed_.load()) {
    stop();
    throw std::runtime_error(failure());
  }
  if (recovering) recovery_ = std::thread([this] { recover_main(); });
}

void Daemon::worker_main(unsigned id) {
  if (!spec_.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(spec_.cpus[id % spec_.cpus.size()], &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  }
  char name[16];
  std::snprintf(name, sizeof(name), "ferrite-w%u", id);
  pthread_setname_np(pthread_self(), name);
  try {
    uring::UringDriver driver;
    engine::WorkerOptions opts;
    opts.id = id;
    opts.polling = spec_.polling;
    opts.control = controls_[id].get();
    opts.partition = partition_of_worker_[id];
    opts.handover = handover_.get();
    if (aof_) {
      opts.observer = &aof_->producer(id);
      opts.loop_hook = &aof_->producer(id);
      opts.durability = &aof_->durability(id);  // replies parked under fsync = always
    } else if (tail_) {
      opts.observer_of = [this](unsigned p) { return tail_->observer(p); };
    }
    for (std::size_t li = 0; li < spec_.listeners.size(); ++li) {
      opts.services.push_back(spec_.listeners[li].service);
      if (fds_[id][li] < 0) continue;  // served by the fast path
      driver.add_listener(fds_[id][li], static_cast<std::uint16_t>(li), spec_.listeners[li].datagram);
      fds_[id][li] = -1;  // the driver owns it now
    }
    std::unique_ptr<io::Driver> fast;
    if (dpdk_) {
      fast = dpdk_->make_driver(id);
      opts.polling = engine::Polling::kBusy;  // a NIC queue has nothing to sleep on
    }
    engine::Worker worker(shared_, opts, services_, driver, *stats_[id], fast.get());
    ready_.fetch_add(1);
    worker.run(stop_);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (failure_.empty()) failure_ = std::string("worker ") + std::to_string(id) + ": " + e.what();
    failed_.store(true);
  }
}

std::string Daemon::bound_addresses() const {
  std::string s;
  for (const ListenerSpec& l : spec_.listeners) {
    if (!s.empty()) s += ' ';
    if (on_fast_path(l)) {
      // Served at each port's dpdk.address, whatever host the listener names.
      for (std::size_t i = 0; i < spec_.dpdk_spec.ports.size(); ++i) {
        std::string host = spec_.dpdk_spec.ports[i].address.text();
        host.resize(host.find('/'));
        s += (i > 0 ? " " : "") + l.name + "=dpdk:" + host + ":" + std::to_string(l.port);
      }
      continue;
    }
    s += l.name + "=" + describe(l);
  }
  return s;
}

std::string Daemon::failure() const {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  return failure_;
}

std::string Daemon::start_snapshotter() {
  if (!snapshotter_) return "";
  return snapshotter_->start();
}

void Daemon::stop(bool final_snapshot) {
  if (recovery_.joinable()) recovery_.join();  // a load is not cut short: it ends first
  stop_.store(true);
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  // The workers are gone: a last snapshot is the store as they left it (never after a failed
  // start or load: the store may hold part of the folder).
  if (snapshotter_) snapshotter_->stop(final_snapshot && !failed_.load());
  // Every record the workers handed over is written and synced (a failing disk is given 10 s).
  if (aof_) aof_->stop();
}

}  // namespace ferrite::server
