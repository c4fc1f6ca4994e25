// INFO [section ...]: Redis's sections and field names where Ferrite has the same figure, from
// the engine's counters (summed over every worker) and the store's. Verbatim text in RESP3.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>

#include "engine/resp/resp_internal.h"

namespace ferrite::engine::resp {

namespace {

enum Section : unsigned {
  kServer = 1u << 0,
  kClients = 1u << 1,
  kMemory = 1u << 2,
  kPersistence = 1u << 3,
  kStats = 1u << 4,
  kReplication = 1u << 5,
  kCpu = 1u << 6,
  kModules = 1u << 7,
  kCluster = 1u << 8,
  kKeyspace = 1u << 9,
};
constexpr unsigned kAllSections = (1u << 10) - 1;

struct SectionName {
  std::string_view name;
  unsigned bit;
};
constexpr SectionName kSectionNames[] = {
    {"server", kServer},   {"clients", kClients},         {"memory", kMemory}, {"persistence", kPersistence},
    {"stats", kStats},     {"replication", kReplication}, {"cpu", kCpu},       {"modules", kModules},
    {"cluster", kCluster}, {"keyspace", kKeyspace},
};

void field(Buffer& b, std::string_view name, std::string_view value) {
  b.append(name);
  b.push_back(':');
  b.append(value);
  b.append("\r\n");
}
void field(Buffer& b, std::string_view name, std::int64_t value) {
  b.append(name);
  b.push_back(':');
  b.append_int(value);
  b.append("\r\n");
}

// Redis's bytesToHuman: "1023B", "1.50K", "2.00M", ...
void human_field(Buffer& b, std::string_view name, std::uint64_t n) {
  char buf[48];
  static constexpr char kUnits[] = "KMGTP";
  if (n < 1024) {
    std::snprintf(buf, sizeof(buf), "%lluB", static_cast<unsigned long long>(n));
  } else {
    double d = static_cast<double>(n) / 1024;
    int unit = 0;
    while (d >= 1024 && unit < 4) {
      d /= 1024;
      ++unit;
    }
    std::snprintf(buf, sizeof(buf), "%.2f%c", d, kUnits[unit]);
  }
  field(b, name, buf);
}

void cpu_field(Buffer& b, std::string_view name, const timeval& t) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(t.tv_sec), static_cast<long>(t.tv_usec));
  field(b, name, buf);
}

}  // namespace

void RespSession::cmd_info(Call& c) {
  unsigned want = 0;
  if (c.argc() == 1) want = kAllSections;
  for (std::size_t i = 1; i < c.argc(); ++i) {
    const std::string_view arg = c.argv[i];
    if (iequals(arg, "default") || iequals(arg, "all") || iequals(arg, "everything")) want |= kAllSections;
    for (const SectionName& s : kSectionNames) {
      if (iequals(arg, s.name)) want |= s.bit;
    }
  }
  Exec& ex = c.ex;
  StatsTotals totals;
  sum_stats(ex.shared, totals);
  const store::StoreStats ss = ex.store().stats();
  const std::uint64_t unix_now = ex.unix_ms();
  const std::uint64_t uptime_s =
      unix_now > ex.shared.start_unix_ms ? (unix_now - ex.shared.start_unix_ms) / 1000 : 0;
  std::int64_t commands = 0;
  for (std::size_t p = 0; p < kProtoCount; ++p) {
    for (std::size_t o = 0; o < kOpCount; ++o) {
      if (o != static_cast<std::size_t>(Op::k_error)) commands += totals.requests[p][o];
    }
  }

  Buffer& b = scratch_;
  b.clear();
  auto section = [&](std::string_view title) {
    if (!b.empty()) b.append("\r\n");
    b.append("# ");
    b.append(title);
    b.append("\r\n");
  };
  if (want & kServer) {
    section("Server");
    field(b, "redis_version", kRedisVersion);
    field(b, "ferrite_version", ex.settings().version);
    field(b, "redis_mode", "standalone");
    utsname u{};
    if (uname(&u) == 0) {
      std::string os = std::string(u.sysname) + " " + u.release + " " + u.machine;
      field(b, "os", os);
    }
    field(b, "arch_bits", static_cast<std::int64_t>(sizeof(void*) * 8));
    field(b, "process_id", static_cast<std::int64_t>(getpid()));
    std::string port = "0";
    if (info_.local[0] != '\0') {
      const std::string_view local(info_.local);
      port = std::string(local.substr(local.rfind(':') + 1));
    }
    field(b, "tcp_port", port);
    field(b, "server_time_usec", static_cast<std::int64_t>(unix_now * 1000));
    field(b, "uptime_in_seconds", static_cast<std::int64_t>(uptime_s));
    field(b, "uptime_in_days", static_cast<std::int64_t>(uptime_s / 86400));
    char exe[512];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    field(b, "executable", n > 0 ? std::string_view(exe, static_cast<std::size_t>(n)) : std::string_view());
  }
  if (want & kClients) {
    section("Clients");
    field(b, "connected_clients", ex.shared.connections.load(std::memory_order_relaxed));
    field(b, "maxclients", static_cast<std::int64_t>(ex.settings().max_connections));
    field(b, "blocked_clients", 0);  // no blocking commands
  }
  if (want & kMemory) {
    section("Memory");
    field(b, "used_memory", ss.bytes_used);
    human_field(b, "used_memory_human", static_cast<std::uint64_t>(ss.bytes_used));
    field(b, "maxmemory", ss.memory_limit);
    human_field(b, "maxmemory_human", static_cast<std::uint64_t>(ss.memory_limit));
    field(b, "maxmemory_policy",
          ex.store().policy() == store::EvictionPolicy::kLfu ? "allkeys-lfu" : "allkeys-lru");
    field(b, "mem_allocator", "mimalloc");
  }
  if (want & kPersistence) {
    section("Persistence");
    // While the persistence folder loads (only INFO and the other "loading" commands run then).
    const bool loading = ex.shared.loading.load(std::memory_order_relaxed);
    field(b, "loading", loading ? 1 : 0);
    field(b, "async_loading", 0);
    if (loading) {
      char perc[32];
      std::snprintf(perc, sizeof(perc), "%.2f%%",
                    static_cast<double>(ex.shared.loading_permille.load(std::memory_order_relaxed)) / 10.0);
      field(b, "loading_loaded_perc", perc);
    }
    // The snapshot thread's state (persist.mode != off), else what Redis says with nothing saved.
    SaveStatus st;
    st.last_save_unix_ms = ex.shared.start_unix_ms;
    st.changes_since_save = static_cast<std::uint64_t>(ss.sets + ss.delete_hits);
    if (ex.shared.persist != nullptr) st = ex.shared.persist->status();
    const std::int64_t now_s = static_cast<std::int64_t>(ex.unix_ms() / 1000);
    field(b, "rdb_changes_since_last_save", static_cast<std::int64_t>(st.changes_since_save));
    field(b, "rdb_bgsave_in_progress", st.in_progress ? 1 : 0);
    field(b, "rdb_last_save_time", static_cast<std::int64_t>(st.last_save_unix_ms / 1000));
    field(b, "rdb_last_bgsave_status", st.last_ok ? "ok" : "err");
    field(b, "rdb_last_bgsave_time_sec",
          st.saves > 0 ? static_cast<std::int64_t>((st.last_duration_ms + 500) / 1000) : -1);
    field(b, "rdb_current_bgsave_time_sec",
          st.current_started_unix_ms != 0
              ? now_s - static_cast<std::int64_t>(st.current_started_unix_ms / 1000)
              : -1);
    field(b, "rdb_saves", static_cast<std::int64_t>(st.saves));
    field(b, "rdb_last_save_bytes", static_cast<std::int64_t>(st.last_bytes));
    field(b, "rdb_last_save_items", static_cast<std::int64_t>(st.last_items));
    field(b, "aof_enabled", ex.shared.aof_enabled ? 1 : 0);
    field(b, "aof_rewrite_in_progress", st.aof && st.in_progress ? 1 : 0);
    field(b, "aof_rewrite_scheduled", st.rewrite_scheduled ? 1 : 0);
    field(b, "aof_last_bgrewrite_status", !st.aof || st.last_ok ? "ok" : "err");
    field(b, "aof_last_write_status", ex.durability != nullptr && ex.durability->failed() ? "err" : "ok");
  }
  if (want & kStats) {
    section("Stats");
    std::int64_t ops = 0;
    const std::uint64_t now = ex.now_ms();
    if (ops_sample_ms_ != 0 && now > ops_sample_ms_) {
      ops = (commands - ops_sample_total_) * 1000 / static_cast<std::int64_t>(now - ops_sample_ms_);
    }
    ops_sample_ms_ = now;
    ops_sample_total_ = commands;
    field(b, "total_connections_received", ex.shared.total_connections.load(std::memory_order_relaxed));
    field(b, "total_commands_processed", commands);
    field(b, "instantaneous_ops_per_sec", ops);
    field(b, "total_net_input_bytes", totals.bytes_read);
    field(b, "total_net_output_bytes", totals.bytes_written);
    field(b, "rejected_connections", totals.connections_refused);
    field(b, "expired_keys", ss.expired_lazy + ss.expired_active);
    field(b, "evicted_keys", ss.evictions);
    field(b, "keyspace_hits", totals.total_hits());
    field(b, "keyspace_misses", totals.total_misses());
  }
  if (want & kReplication) {
    section("Replication");
    field(b, "role", "master");
    field(b, "connected_slaves", 0);
    field(b, "master_repl_offset", 0);
  }
  if (want & kCpu) {
    section("CPU");
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    cpu_field(b, "used_cpu_sys", self.ru_stime);
    cpu_field(b, "used_cpu_user", self.ru_utime);
    cpu_field(b, "used_cpu_sys_children", children.ru_stime);
    cpu_field(b, "used_cpu_user_children", children.ru_utime);
  }
  if (want & kModules) section("Modules");
  if (want & kCluster) {
    section("Cluster");
    field(b, "cluster_enabled", 0);
  }
  if (want & kKeyspace) {
    section("Keyspace");
    if (ss.items > 0) {
      // The store does not count keys with a TTL, so expires and avg_ttl are not known here.
      b.append("db0:keys=");
      b.append_int(ss.items);
      b.append(",expires=0,avg_ttl=0\r\n");
    }
  }
  c.w.verbatim("txt", b.view());
}

}  // namespace ferrite::engine::resp
