// memcached's `stats` groups from the engine's and the store's counters.
//
// Field names, order and meanings follow memcached 1.6 where Ferrite has the same figure; fields
// whose meaning has no counterpart here (slab rebalancing, LRU segments, read buffers, ...) are
// left out rather than reported as zeros that would mislead. How each figure is derived:
//
//   cmd_get        get-type requests (one per key) of every protocol, plus gat (memcached
//                  counts gat as both a get and a touch)
//   cmd_set        every storage request: set, add, replace, append, prepend, cas
//   cmd_touch      touch + gat requests
//   cmd_meta       requests of the meta protocol
//   get_hits/...   the sessions' hit/miss counts of get-type requests (WorkerStats)
//   rejected_connections, bytes_read, bytes_written: worker counters, placed by the McSlot
//                  column of FERRITE_WORKER_COUNTERS (engine/stats.h)
//   get_expired, get_flushed, delete_*, cas_*, touch_*, evictions: the store's counters
//   incr_*/decr_*  the store counts incr and decr together (memcached semantics only, not
//                  Redis INCRBY); they are split between incr and decr in proportion to the
//                  memcached protocols' incr and decr requests, which is exact whenever a
//                  server sees only one of the two, and a close estimate otherwise
//   total_items    successful stores of any kind (including incr/decr rewrites)
//   reclaimed      expired items whose memory was freed (lazily or by the timing wheel);
//                  crawler_reclaimed: those the timing wheel found (memcached's LRU crawler)
//   bytes          live items by allocator usable size
//
// Groups: "" (general), "settings", "items" and "slabs" (the store has no slab classes: both
// describe it as one class, number 1), "sizes" (always "sizes_status disabled", as memcached
// without -o track_sizes), "conns" (every listener and connection, as conns() below says).
// Anything else returns false.
#include "engine/memcache_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>

namespace ferrite::engine {
namespace {

class Emitter {
 public:
  explicit Emitter(const std::function<void(std::string_view, std::string_view)>& emit) : emit_(emit) {}

  void text(std::string_view name, std::string_view value) const { emit_(name, value); }
  void num(std::string_view name, std::int64_t v) const {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    emit_(name, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void unum(std::string_view name, std::uint64_t v) const {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    emit_(name, std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  }
  void timeval(std::string_view name, const ::timeval& tv) const {
    char buf[48];
    const int n = std::snprintf(buf, sizeof(buf), "%ld.%06ld", static_cast<long>(tv.tv_sec),
                                static_cast<long>(tv.tv_usec));
    emit_(name, std::string_view(buf, n > 0 ? static_cast<std::size_t>(n) : 0));
  }

 private:
  const std::function<void(std::string_view, std::string_view)>& emit_;
};

std::int64_t req(const StatsTotals& t, Proto p, Op op) {
  return t.requests[static_cast<std::size_t>(p)][static_cast<std::size_t>(op)];
}

// incr/decr requests of the memcached protocols (Redis INCR is counted under Op::k_incr too,
// but the store does not count it in incr_hits/incr_misses).
std::int64_t memcache_requests(const StatsTotals& t, Op op) {
  return req(t, Proto::kMemcacheText, op) + req(t, Proto::kMemcacheMeta, op) +
         req(t, Proto::kMemcacheBinary, op) + req(t, Proto::kMemcacheUdp, op);
}

// `total` split in proportion part : (part + other); all of it to `part` when neither was seen.
std::int64_t share(std::int64_t total, std::int64_t part, std::int64_t other) {
  if (part + other <= 0) return other > 0 ? 0 : total;
  return static_cast<std::int64_t>(static_cast<long double>(total) * static_cast<long double>(part) /
                                       static_cast<long double>(part + other) +
                                   0.5L);
}

// host and port of a listener's configured address ("host:port", "[v6]:port", possibly quoted).
struct Endpoint {
  std::string host;
  std::uint64_t port = 0;
};
Endpoint configured(const Exec& ex, ServerSetting key) {
  Endpoint e;
  if (ex.shared.config == nullptr) return e;
  const std::string value = ex.shared.config->get(key);
  std::string_view v = value;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  const auto colon = v.rfind(':');
  if (v.empty() || colon == std::string_view::npos) return e;
  std::string_view host = v.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string_view port = v.substr(colon + 1);
  std::uint64_t p = 0;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), p);
  if (r.ec != std::errc() || r.ptr != port.data() + port.size()) return e;
  e.host.assign(host);
  e.port = p;
  return e;
}

// The worker counters FERRITE_WORKER_COUNTERS places in `slot`, in its order.
void worker_counters(const StatsTotals& t, McSlot slot, const Emitter& out) {
  for (const WorkerCounter& c : kWorkerCounters) {
    if (c.mc_slot == slot) out.num(c.mc_name, t.*c.total);
  }
}

void general(Exec& ex, const Emitter& out) {
  StatsTotals t;
  sum_stats(ex.shared, t);
  const store::StoreStats s = ex.store().stats();
  const EngineSettings& cfg = ex.settings();
  const std::uint64_t unix_ms = ex.unix_ms();

  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);

  const std::int64_t curr_conns = ex.shared.connections.load(std::memory_order_relaxed);
  const std::int64_t incr_reqs = memcache_requests(t, Op::k_incr);
  const std::int64_t decr_reqs = memcache_requests(t, Op::k_decr);
  const std::int64_t incr_hits = share(s.incr_hits, incr_reqs, decr_reqs);
  const std::int64_t incr_misses = share(s.incr_misses, incr_reqs, decr_reqs);
  std::int64_t meta = 0;
  for (std::size_t o = 0; o < kOpCount; ++o)
    meta += t.requests[static_cast<std::size_t>(Proto::kMemcacheMeta)][o];

  out.num("pid", static_cast<std::int64_t>(getpid()));
  out.unum("uptime", unix_ms > ex.shared.start_unix_ms ? (unix_ms - ex.shared.start_unix_ms) / 1000 : 0);
  out.unum("time", unix_ms / 1000);
  out.text("version", cfg.memcache_version);
  out.text("ferrite_version", cfg.version);
  out.unum("pointer_size", sizeof(void*) * 8);
  out.timeval("rusage_user", ru.ru_utime);
  out.timeval("rusage_system", ru.ru_stime);
  out.unum("max_connections", cfg.max_connections);
  out.num("curr_connections", curr_conns);
  out.num("total_connections", ex.shared.total_connections.load(std::memory_order_relaxed));
  worker_counters(t, McSlot::kConnections, out);
  out.num("connection_structures", curr_conns);
  out.num("cmd_get", t.requests_for(Op::k_get) + t.requests_for(Op::k_gat));
  out.num("cmd_set", t.requests_for(Op::k_set) + t.requests_for(Op::k_add) + t.requests_for(Op::k_replace) +
                         t.requests_for(Op::k_append) + t.requests_for(Op::k_prepend) +
                         t.requests_for(Op::k_cas));
  out.num("cmd_flush", t.requests_for(Op::k_flush));
  out.num("cmd_touch", t.requests_for(Op::k_touch) + t.requests_for(Op::k_gat));
  out.num("cmd_meta", meta);
  out.num("get_hits", t.total_hits());
  out.num("get_misses", t.total_misses());
  out.num("get_expired", s.get_expired);
  out.num("get_flushed", s.get_flushed);
  out.num("delete_misses", s.delete_misses);
  out.num("delete_hits", s.delete_hits);
  out.num("incr_misses", incr_misses);
  out.num("incr_hits", incr_hits);
  out.num("decr_misses", s.incr_misses - incr_misses);
  out.num("decr_hits", s.incr_hits - incr_hits);
  out.num("cas_misses", s.cas_misses);
  out.num("cas_hits", s.cas_hits);
  out.num("cas_badval", s.cas_badval);
  out.num("touch_hits", s.touch_hits);
  out.num("touch_misses", s.touch_misses);
  out.num("store_no_memory", s.no_memory);
  worker_counters(t, McSlot::kTraffic, out);
  out.num("limit_maxbytes", s.memory_limit);
  out.num("accepting_conns", ex.shared.shutdown_requested.load(std::memory_order_relaxed) ||
                                     curr_conns >= static_cast<std::int64_t>(cfg.max_connections)
                                 ? 0
                                 : 1);
  out.unum("threads", cfg.workers);
  out.num("hash_bytes", s.table_resident_bytes);
  out.num("bytes", s.item_bytes);
  out.num("curr_items", s.items);
  out.num("total_items", s.sets);
  out.num("evictions", s.evictions);
  out.num("reclaimed", s.expired_lazy + s.expired_active);
  out.num("crawler_reclaimed", s.expired_active);
}

void settings(Exec& ex, const Emitter& out) {
  const EngineSettings& cfg = ex.settings();
  const store::StoreConfig& sc = ex.store().config();
  const Endpoint tcp = configured(ex, ServerSetting::kListenMemcache);
  const Endpoint udp = configured(ex, ServerSetting::kListenMemcacheUdp);
  out.unum("maxbytes", sc.memory_limit);
  out.unum("maxconns", cfg.max_connections);
  out.unum("tcpport", tcp.port);
  out.unum("udpport", udp.port);
  out.text("inter", tcp.host.empty() ? std::string_view("NULL") : std::string_view(tcp.host));
  out.num("verbosity", cfg.verbosity.load(std::memory_order_relaxed));
  out.text("evictions", "on");
  out.unum("num_threads", cfg.workers);
  out.text("cas_enabled", "yes");
  out.text("binding_protocol", "auto-negotiate");
  out.unum("item_size_max", ex.store().max_item_size());
  out.text("flush_enabled", "yes");
  out.text("hash_algorithm", "xxh3");
  out.unum("idle_timeout", cfg.idle_timeout_ms / 1000);
}

// The store as one slab class (number 1), as long as it holds anything (memcached lists only
// classes in use).
void items(Exec& ex, const Emitter& out) {
  const store::StoreStats s = ex.store().stats();
  if (s.items <= 0) return;
  out.num("items:1:number", s.items);
  out.num("items:1:mem_requested", s.item_bytes);
  out.num("items:1:evicted", s.evictions);
  out.num("items:1:outofmemory", s.no_memory);
  out.num("items:1:reclaimed", s.expired_lazy + s.expired_active);
  out.num("items:1:crawler_reclaimed", s.expired_active);
}

void slabs(Exec& ex, const Emitter& out) {
  StatsTotals t;
  sum_stats(ex.shared, t);
  const store::StoreStats s = ex.store().stats();
  const std::int64_t incr_reqs = memcache_requests(t, Op::k_incr);
  const std::int64_t decr_reqs = memcache_requests(t, Op::k_decr);
  const std::int64_t incr_hits = share(s.incr_hits, incr_reqs, decr_reqs);
  if (s.items > 0) {
    out.num("1:used_chunks", s.items);
    out.num("1:get_hits", s.get_hits);
    out.num("1:cmd_set", s.sets);
    out.num("1:delete_hits", s.delete_hits);
    out.num("1:incr_hits", incr_hits);
    out.num("1:decr_hits", s.incr_hits - incr_hits);
    out.num("1:cas_hits", s.cas_hits);
    out.num("1:cas_badval", s.cas_badval);
    out.num("1:touch_hits", s.touch_hits);
  }
  out.num("active_slabs", s.items > 0 ? 1 : 0);
  out.num("total_malloced", s.bytes_used);
}

// memcached's `stats conns`: for each listener and connection, "<id>:addr", "<id>:listen_addr"
// (connections only), "<id>:state" and "<id>:secs_since_last_cmd". The id is the connection id
// (CLIENT ID's; memcached's is the file descriptor, which here each worker has its own of), the
// listeners' ids below every connection's. States, in memcached's names: conn_listening (a TCP
// listener), conn_read (a UDP listener, as memcached shows its idle UDP "connection"),
// conn_parse_cmd (the connection asking), conn_nread (part of a request buffered: a command
// line waiting for its data block, say), conn_closing, and conn_waiting (idle).
void conns(Exec& ex, const Emitter& out) {
  if (ex.shared.conns == nullptr) return;
  const auto now_s = static_cast<std::uint32_t>(ex.now_ms() / 1000);
  char name[48], value[80];
  auto field = [&](std::uint64_t id, std::string_view what, std::string_view v) {
    const int n = std::snprintf(name, sizeof(name), "%llu:%.*s", static_cast<unsigned long long>(id),
                                static_cast<int>(what.size()), what.data());
    out.text(std::string_view(name, n > 0 ? static_cast<std::size_t>(n) : 0), v);
  };
  ex.shared.conns->for_each([&](const ConnRecord& r) {
    const bool datagram = r.state == ConnState::kDatagram;
    const bool listener = datagram || r.state == ConnState::kListening;
    field(r.id, "addr",
          std::string_view(value, format_conn_address(listener ? r.local : r.peer, datagram, value, sizeof(value))));
    if (!listener) {
      field(r.id, "listen_addr", std::string_view(value, format_conn_address(r.local, false, value, sizeof(value))));
    }
    std::string_view state = "conn_waiting";
    switch (r.state) {
      case ConnState::kListening: state = "conn_listening"; break;
      case ConnState::kDatagram: state = "conn_read"; break;
      case ConnState::kNread: state = "conn_nread"; break;
      case ConnState::kClosing: state = "conn_closing"; break;
      case ConnState::kWaiting:
      case ConnState::kClosed: break;
    }
    if (!listener && r.id == ex.conn_id) state = "conn_parse_cmd";
    field(r.id, "state", state);
    const int n = std::snprintf(value, sizeof(value), "%u", now_s >= r.last_cmd_s ? now_s - r.last_cmd_s : 0u);
    field(r.id, "secs_since_last_cmd", std::string_view(value, n > 0 ? static_cast<std::size_t>(n) : 0));
  });
}

}  // namespace

bool memcache_stats(Exec& ex, std::string_view group,
                    const std::function<void(std::string_view name, std::string_view value)>& emit) {
  const Emitter out(emit);
  if (group.empty()) {
    general(ex, out);
  } else if (group == "settings") {
    settings(ex, out);
  } else if (group == "items") {
    items(ex, out);
  } else if (group == "slabs") {
    slabs(ex, out);
  } else if (group == "sizes") {
    out.text("sizes_status", "disabled");
  } else if (group == "conns") {
    conns(ex, out);
  } else {
    return false;
  }
  return true;
}

}  // namespace ferrite::engine
