// ferrited: loads the configuration, binds the listeners, starts one worker per core, prints
// the ready line, and stops cleanly on SIGINT, SIGTERM or SIGQUIT. The other signals an
// operator or a supervisor may send are taken too (see kSignals): logged and ignored, never the
// default action of killing the daemon with its cache.
#include <signal.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <utility>

#include "core/clock.h"
#include "engine/binary/binary.h"
#include "engine/http/session.h"
#include "engine/memcache/memcache.h"
#include "engine/resp/resp_session.h"
#include "engine/worker.h"
#include "mgmt/events.h"
#include "mgmt/log.h"
#include "mgmt/server.h"
#include "persist/backup.h"
#include "server/config.h"
#include "server/daemon.h"
#include "server/live_config.h"
#include "server/options.h"

namespace ferrite::server {
namespace {

engine::Services all_services() {
  engine::Services s;
  s.stream(engine::Service::kMemcache) = engine::memcache_service();
  s.stream(engine::Service::kResp) = engine::resp_service();
  s.stream(engine::Service::kHttp) = engine::http_service();
  s.stream(engine::Service::kBinary) = engine::binary_service();
  s.datagram(engine::Service::kMemcacheUdp) = engine::make_memcache_udp_handler;
  s.datagram(engine::Service::kBinaryUdp) = engine::make_binary_udp_handler;
  return s;
}

engine::Service service_of(Listener l) {
  switch (l) {
    case Listener::kMemcache: return engine::Service::kMemcache;
    case Listener::kMemcacheUdp: return engine::Service::kMemcacheUdp;
    case Listener::kResp: return engine::Service::kResp;
    case Listener::kHttp: return engine::Service::kHttp;
    case Listener::kBinary: return engine::Service::kBinary;
    case Listener::kBinaryUdp: return engine::Service::kBinaryUdp;
    case Listener::kCount: break;
  }
  return engine::Service::kMemcache;
}

DaemonSpec spec_of(const ServerConfig& c) {
  DaemonSpec d;
  d.store = c.store;
  d.workers = c.workers;
  d.partitions = c.partitions;
  d.polling = c.poll == PollMode::kBusy ? engine::Polling::kBusy : engine::Polling::kAdaptive;
  // Workers are pinned when their cores are theirs: with busy polling, or when server.cpus names
  // the cores. An adaptive worker on a shared box is left to the scheduler: pinned, it waits for
  // its one core while another is idle (measured: millisecond tails under a loaded 2-core box).
  if (d.polling == engine::Polling::kBusy || !c.values.get(Key::kCpus).empty() || c.driver == Driver::kDpdk) {
    for (unsigned cpu : c.worker_cpus) d.cpus.push_back(static_cast<int>(cpu));
  }
  for (std::size_t i = 0; i < kListenerCount; ++i) {
    const auto l = static_cast<Listener>(i);
    const ListenAddress& a = c.listener(l);
    if (!a.enabled()) continue;
    d.listeners.push_back(ListenerSpec{std::string(listener_name(l)), service_of(l), a.host, a.port, listener_is_udp(l)});
  }
  d.max_connections = c.max_connections;
  d.max_reply_bytes = c.max_reply_bytes;
  d.idle_timeout_ms = c.idle_timeout_ms;
  d.version = std::string(server_version());
  if (c.persist.mode != PersistMode::kOff) {
    d.recover = true;
    d.persist_dir = c.persist.dir;
    d.load_damaged = c.persist.load_damaged;
    d.snapshots = true;  // SAVE, BGSAVE, BGREWRITEAOF, and the AOF's rewrites
    persist::SnapshotterOptions& so = d.snapshot_options;
    so.scheduled = c.persist.snapshots();
    so.interval_ms = c.persist.snapshot_interval_s * 1000;
    so.changes = c.persist.snapshot_changes;
    so.rewrite_percent = c.persist.aof() ? c.persist.aof_rewrite_percent : 0;
    so.rewrite_min_bytes = c.persist.aof_rewrite_min_bytes;
    so.cold_dir = c.persist.cold_dir;
    so.cold_interval_ms = c.persist.cold_interval_s * 1000;
    so.retention = c.persist.retention;
  }
  if (c.persist.aof()) {
    d.aof = true;
    d.aof_options.dir = c.persist.dir;
    d.aof_options.fsync = c.persist.fsync;
    d.aof_options.ring_bytes = c.persist.ring_bytes;
    d.aof_options.segment_bytes = c.persist.segment_bytes;
  }
  if (c.driver == Driver::kDpdk) {
    // Busy polling and pinned: a NIC queue has nothing to sleep on.
    d.dpdk = true;
    d.polling = engine::Polling::kBusy;
    d.dpdk_spec.eal_args = c.dpdk.eal_args;
    for (const ServerConfig::Dpdk::Port& p : c.dpdk.ports) {
      d.dpdk_spec.ports.push_back(DpdkPlaneSpec::Port{p.id, p.address, p.exception_iface});
    }
    d.dpdk_spec.mbufs = c.dpdk.mbufs;
  }
  return d;
}

// The asynchronous signals ferrited takes (sigwait in the main thread; blocked in every other
// thread): what each does is in docs/operations.md. Left to their default action: job control
// (SIGTSTP, SIGTTIN, SIGTTOU stop the process until SIGCONT), the faults (SIGSEGV, SIGBUS,
// SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS: a real one must end the process with its core), the
// ones ignored by default (SIGCHLD, SIGWINCH, SIGURG, SIGCONT) and the real-time signals
// (glibc uses some itself). SIGPIPE is ignored (a closed peer is an error value on its socket).
enum class SignalAction : std::uint8_t { kStop, kIgnore };
struct SignalSpec {
  int sig;
  const char* name;
  SignalAction action;
  const char* why;  // logged with an ignored signal
};
constexpr SignalSpec kSignals[] = {
    {SIGINT, "INT", SignalAction::kStop, ""},
    {SIGTERM, "TERM", SignalAction::kStop, ""},
    {SIGQUIT, "QUIT", SignalAction::kStop, ""},
    {SIGHUP, "HUP", SignalAction::kIgnore,
     "no configuration is re-read and logs go to stderr, which has no file to reopen"},
    {SIGUSR1, "USR1", SignalAction::kIgnore, "no meaning"},
    {SIGUSR2, "USR2", SignalAction::kIgnore, "no meaning"},
    {SIGALRM, "ALRM", SignalAction::kIgnore, "no timer set"},
    {SIGVTALRM, "VTALRM", SignalAction::kIgnore, "no timer set"},
    {SIGPROF, "PROF", SignalAction::kIgnore, "no profiling timer set"},
    {SIGIO, "IO", SignalAction::kIgnore, "no asynchronous I/O set"},
    {SIGPWR, "PWR", SignalAction::kIgnore, "no meaning"},
    {SIGXCPU, "XCPU", SignalAction::kIgnore, "the soft CPU time limit is no reason to drop the cache"},
    {SIGXFSZ, "XFSZ", SignalAction::kIgnore, "a write over the file size limit fails on its own"},
    {SIGSTKFLT, "STKFLT", SignalAction::kIgnore, "no meaning"},
};

const SignalSpec* signal_spec(int sig) noexcept {
  for (const SignalSpec& s : kSignals)
    if (s.sig == sig) return &s;
  return nullptr;
}

void log_line(const char* level, const std::string& msg) {
  char ts[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %s ferrited: %s\n", ts, level, msg.c_str());
}

int run(int argc, char** argv) {
  ServerConfig config;
  const CommandLine cl = parse_command_line(argc, argv, &config, std::cout, std::cerr);
  if (!cl.run) return cl.exit_status;

  // --restore: the archive goes into persist.dir before anything starts (recovery then loads it).
  if (!cl.restore_path.empty()) {
    persist::RestoreResult rr;
    const std::string err = persist::restore_folder(cl.restore_path, config.persist.dir, cl.restore_force, &rr);
    if (!err.empty()) {
      log_line("error", "--restore " + cl.restore_path + " into " + config.persist.dir + " failed: " + err +
                            (rr.target_occupied ? " (--restore-force moves the old files aside)" : ""));
      return 1;
    }
    log_line("info", "restored " + cl.restore_path + " into " + config.persist.dir + ": generation " +
                         std::to_string(rr.archive.manifest.generation) + ", " +
                         std::to_string(rr.archive.manifest.segments.size()) + " segments, " +
                         std::to_string(rr.archive.records) + " records" +
                         (rr.replaced.empty() ? std::string() : ", the old files moved to " + rr.replaced));
  }

  // Signals are taken by this thread alone (sigwait): block them before any thread exists, so
  // that every thread inherits the mask. One arriving during start-up waits until the loop below.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (const SignalSpec& s : kSignals) sigaddset(&sigs, s.sig);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  LiveConfig live(config, nullptr, nullptr);
  std::unique_ptr<Daemon> daemon;
  try {
    DaemonSpec spec = spec_of(config);
    spec.log = &log_line;  // recovery's progress and warnings
    daemon = std::make_unique<Daemon>(spec, all_services(), &live);
    live.set_targets(&daemon->shared().settings, &daemon->store());
    live.set_aof(daemon->aof());
    config.apply_to(daemon->shared().settings);
    daemon->start();
  } catch (const std::invalid_argument& e) {
    std::cerr << "ferrited: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ferrited: " << e.what() << "\n";
    return 1;
  }

  // The management socket: after the workers serve, before the ready line (so a client may use
  // it as soon as that line is out); stopped before the daemon, destroyed after it (see
  // mgmt::Server::~Server).
  mgmt::Logger mgmt_log(&daemon->shared().settings.verbosity);
  std::unique_ptr<mgmt::Server> mgmt;
  if (!config.mgmt_socket.empty()) {
    mgmt::PlaneOptions mo;
    mo.socket_path = config.mgmt_socket;
    mo.driver = std::string(kDriverChoices[static_cast<std::size_t>(config.driver)]);
    mo.listeners = daemon->bound_addresses();
    mo.config_digest = [&live] { return live.digest(); };
    mo.aof = daemon->aof();
    try {
      mgmt = std::make_unique<mgmt::Server>(daemon->shared(), std::move(mo), mgmt_log);
      mgmt->start();
    } catch (const std::exception& e) {
      std::cerr << "ferrited: " << e.what() << "\n";
      mgmt.reset();
      daemon->stop();
      return 1;
    }
  }

  std::printf("ferrited ready %s\n", daemon->bound_addresses().c_str());
  std::fflush(stdout);
  const unsigned parts = daemon->store().count();
  log_line("info", "serving with " + std::to_string(config.workers) + " workers, memory limit " +
                       config.values.get(Key::kMemory) +
                       (parts > 1 ? " in " + std::to_string(parts) + " partitions" : std::string()) +
                       ", config digest " + config.digest());
  if (const std::string dp = daemon->dpdk_description(); !dp.empty()) log_line("info", dp);

  const SignalSpec* stop_signal = nullptr;
  for (;;) {
    timespec ts{0, 200'000'000};
    const int sig = sigtimedwait(&sigs, nullptr, &ts);
    if (const SignalSpec* s = sig > 0 ? signal_spec(sig) : nullptr; s != nullptr) {
      if (s->action == SignalAction::kStop) {
        stop_signal = s;
        break;
      }
      const std::uint64_t now = unix_ms();
      mgmt_log.write(mgmt::LogLine(mgmt::Level::kInfo, "server", now)
                         .kv("event", "signal")
                         .kv("signal", s->name)
                         .kv("action", "ignored")
                         .kv("why", s->why));
      if (mgmt) mgmt->post(mgmt::make_signal_event(now, s->name));  // for `ferritectl watch`
      continue;
    }
    if (daemon->shared().shutdown_requested.load()) break;
    if (daemon->failed()) {
      log_line("error", daemon->failure());
      if (mgmt) mgmt->stop();
      daemon->stop();
      return 1;
    }
  }
  log_line("info", std::string("stopping on ") + (stop_signal != nullptr
                                                      ? std::string("SIG") + stop_signal->name
                                                      : std::string("/shutdown (management socket)")));
  if (mgmt) mgmt->stop();
  daemon->stop(/*final_snapshot=*/true);
  log_line("info", "stopped");
  return 0;
}

}  // namespace
}  // namespace ferrite::server

int main(int argc, char** argv) { return ferrite::server::run(argc, argv); }
