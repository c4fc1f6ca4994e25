// What a protocol session sees of the engine: the Exec environment of the worker it runs on,
// and the Session / DatagramHandler interfaces every protocol implements.
//
// A session is created when a connection is accepted and lives as long as it. The worker hands
// it every byte the peer sent that has not been consumed yet; the session parses and executes
// every complete request in one pass, appends the replies to one output buffer (sent once per
// loop iteration), and returns how many bytes it consumed. An incomplete request is simply left
// unconsumed: the worker offers it again, with more bytes after it, next time.
//
// Codecs (src/proto) parse and encode; sessions (src/engine/<protocol>) run the parsed requests
// on the store through the worker's Context. Nothing here does I/O, so every session is tested
// by feeding it bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/buffer.h"
#include "core/compiler.h"
#include "core/durability.h"
#include "core/loop_hook.h"
#include "core/cluster_view.h"
#include "core/persist_control.h"
#include "core/net.h"
#include "engine/conn_registry.h"
#include "engine/control.h"
#include "engine/stats.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::engine {

// A setting that may change while the workers run: a std::atomic whose plain reads and writes
// are relaxed (a worker needs the new value soon, not ordered with anything else), so a reader
// keeps writing `settings.max_reply_bytes` and pays no more than for a plain load.
template <typename T>
class LiveValue {
 public:
  constexpr LiveValue(T v = T{}) noexcept : v_(v) {}  // NOLINT: implicit, as for the plain field
  LiveValue(const LiveValue&) = delete;
  LiveValue& operator=(const LiveValue&) = delete;
  operator T() const noexcept { return load(); }  // NOLINT: reads as the plain field did
  LiveValue& operator=(T v) noexcept {
    store(v);
    return *this;
  }
  T load() const noexcept { return v_.load(std::memory_order_relaxed); }
  void store(T v) noexcept { v_.store(v, std::memory_order_relaxed); }

 private:
  std::atomic<T> v_;
};

// The connection-buffer budget (server.max_conn_buffer_bytes): the bytes all connections of all
// workers may hold in buffers beyond their base (worker.cc's kConnBaseBytes each), shared as one
// pool that each worker takes from in chunks and hands surplus back to, as the store's
// ItemMemory::charge does: the atomic is touched once per chunk, not once per request. A charge
// always succeeds (it is for memory a buffer already has) and may take the pool below zero; a
// worker that finds no room left (room() <= 0) stops its connections from growing: see
// "Back-pressure and limits" in docs/engine.md.
class ConnBudget {
 public:
  static constexpr std::size_t kDefaultBytes = std::size_t{32} << 20;
  explicit ConnBudget(std::size_t limit = kDefaultBytes) noexcept { set_limit(limit, 1); }
  ConnBudget(const ConnBudget&) = delete;
  ConnBudget& operator=(const ConnBudget&) = delete;

  // At start-up or live: the pool moves by the difference (below zero when lowered under what is
  // held: the workers then let nothing grow until enough was given back).
  void set_limit(std::size_t bytes, unsigned workers) noexcept {
    std::int64_t chunk = static_cast<std::int64_t>(bytes / 8 / (workers == 0 ? 1 : workers));
    chunk = chunk < kMinChunk ? kMinChunk : chunk > kMaxChunk ? kMaxChunk : chunk;
    chunk_.store(chunk, std::memory_order_relaxed);
    const std::size_t old = limit_.exchange(bytes, std::memory_order_relaxed);
    pool_.fetch_add(static_cast<std::int64_t>(bytes) - static_cast<std::int64_t>(old),
                    std::memory_order_relaxed);
  }
  std::size_t limit() const noexcept { return limit_.load(std::memory_order_relaxed); }
  // Bytes a worker holding `credit` may still charge before the budget is spent.
  std::int64_t room(std::int64_t credit) const noexcept {
    return credit + pool_.load(std::memory_order_relaxed);
  }
  void charge(std::int64_t& credit, std::int64_t bytes) noexcept {
    if (credit >= bytes) {
      credit -= bytes;
      return;
    }
    const std::int64_t short_by = bytes - credit;
    const std::int64_t avail = pool_.load(std::memory_order_relaxed) - short_by;
    const std::int64_t chunk = chunk_.load(std::memory_order_relaxed);
    const std::int64_t take = short_by + (avail <= 0 ? 0 : avail < chunk ? avail : chunk);
    pool_.fetch_sub(take, std::memory_order_relaxed);
    credit += take - bytes;
  }
  void uncharge(std::int64_t& credit, std::int64_t bytes) noexcept {
    credit += bytes;
    const std::int64_t chunk = chunk_.load(std::memory_order_relaxed);
    if (credit > 2 * chunk) {
      pool_.fetch_add(credit - chunk, std::memory_order_relaxed);
      credit = chunk;
    }
  }
  // A worker's whole credit back to the pool (when it stops).
  void return_credit(std::int64_t& credit) noexcept {
    if (credit != 0) pool_.fetch_add(credit, std::memory_order_relaxed);
    credit = 0;
  }

 private:
  static constexpr std::int64_t kMinChunk = 16 << 10;
  static constexpr std::int64_t kMaxChunk = 1 << 20;
  std::atomic<std::size_t> limit_{0};
  std::atomic<std::int64_t> chunk_{kMinChunk};
  alignas(64) std::atomic<std::int64_t> pool_{0};
};

// Engine-wide settings (from the [server] section and friends); read-only on the workers except
// where noted. The LiveValue and atomic ones change while the workers run (server::LiveConfig).
struct EngineSettings {
  std::string version = "0.1.0";          // Ferrite's version (HTTP, /info, ferrite_version fields)
  // What memcached's `version` and `stats` report: the memcached release whose protocol we speak.
  // Clients parse it (libmemcached refuses a major version of 0, and gates features on 1.6).
  std::string memcache_version = "1.6.21";
  unsigned workers = 1;
  // Across all workers; beyond it accepts are refused (lowering it live closes no connection).
  LiveValue<std::size_t> max_connections{4096};
  LiveValue<std::size_t> max_reply_bytes{4u << 20};  // unsent reply bytes per connection before reads pause
  // One request's buffered bytes: the store's max_item_size + 64 KiB (CONFIG SET proto-max-bulk-len
  // changes both while the workers run).
  LiveValue<std::size_t> max_request_bytes{(1u << 20) + (64u << 10)};
  LiveValue<std::uint64_t> idle_timeout_ms{0};  // 0 = never, else since the last complete request
  // server.max_conn_buffer_bytes and the budget it sets (shared state, not only a setting).
  ConnBudget conn_buffers;
  std::size_t udp_max_datagram = 1400;    // payload bytes of one reply datagram
  // Reflection safety: the reply datagrams to one request datagram may total at most this many
  // times its size, unless the sender is on loopback or in udp_allow (a forged source cannot make
  // us amplify traffic towards a victim). 0 = no bound. One bound for every driver.
  std::size_t udp_reply_factor = 3;
  std::vector<Ipv4Prefix> udp_allow;      // set before the workers start
  std::atomic<int> verbosity{0};          // memcached `verbosity`; the log level
  // Requests slower than this (executing, not queueing) become slow-request events; 0 = none.
  std::atomic<std::uint64_t> slow_request_ns{10'000'000};
};

// The server settings the engine itself reads or changes (RESP CONFIG's Redis names, memcached's
// stats settings), by id: their names live in the server's settings table only (server/settings.h).
enum class ServerSetting : std::uint8_t {
  kMemory,             // server.memory
  kPolicy,             // server.policy
  kMaxItemSize,        // server.max_item_size
  kMaxConnections,     // server.max_connections
  kIdleTimeout,        // server.idle_timeout
  kListenMemcache,     // listen.memcache
  kListenMemcacheUdp,  // listen.memcache_udp
  kListenResp,         // listen.resp
};

// Runtime access to the configuration for CONFIG GET/SET and the management plane; implemented by
// the server. Not on the hot path (it may allocate and take locks).
class ConfigAccess {
 public:
  virtual ~ConfigAccess() = default;
  // Every key (Ferrite's dotted names) matching the glob, with its current value as text.
  virtual std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const = 0;
  // Changes a key that can change live; returns "" on success or what was wrong.
  virtual std::string set(std::string_view key, std::string_view value) = 0;
  // The same for a setting the engine names by id: its current value as text, and a live change.
  virtual std::string get(ServerSetting key) const = 0;
  virtual std::string set(ServerSetting key, std::string_view value) = 0;
};

// The daemon's slow-request log (kept by the management plane from the workers' slow-request
// events: mgmt/events.h), for RESP SLOWLOG and LATENCY. Not on the hot path: a request only
// pushes its event into its worker's ring; these calls may take a lock.
struct SlowEntry {
  std::uint64_t id = 0;  // the event's sequence number
  std::uint64_t unix_ms = 0;
  std::uint64_t latency_ns = 0;
  Proto proto = Proto::kResp;
  Op op = Op::k_other;
  unsigned worker = 0;
};
class SlowlogAccess {
 public:
  virtual ~SlowlogAccess() = default;
  // The newest `n` entries kept, newest first.
  virtual void slow_latest(std::size_t n, std::vector<SlowEntry>* out) const = 0;
  virtual std::size_t slow_len() const = 0;
  virtual void slow_reset() = 0;
};

// What every worker shares: the store (its partitions), the settings, and each worker's counters.
struct Shared {
  store::Partitions* store = nullptr;
  EngineSettings settings;
  ConfigAccess* config = nullptr;                   // may be null (tests)
  std::vector<const WorkerStats*> worker_stats;     // one per worker, index = worker id
  std::vector<WorkerControl*> controls;             // one per worker (may be empty: tests)
  std::uint64_t start_unix_ms = 0;                  // for uptime
  std::atomic<std::uint64_t> next_connection_id{1};
  std::atomic<std::int64_t> connections{0};         // open connections, all workers
  std::atomic<std::int64_t> total_connections{0};   // accepted since start
  std::atomic<bool> shutdown_requested{false};
  ConnRegistry* conns = nullptr;                    // listeners and connections, for stats conns (may be null: tests)
  // The slow log, while the management plane runs (null without mgmt.socket: SLOWLOG is empty).
  std::atomic<SlowlogAccess*> slowlog{nullptr};
  std::atomic<std::uint64_t> latency_reset_after{0};  // LATENCY RESET: slow entries up to this id are past
  // While the daemon loads its persistence folder (set before the workers start, cleared when
  // recovery ends): keyed requests get their protocol's "loading" answer (Exec::gated).
  std::atomic<bool> loading{false};
  // Recovery's progress while loading, in thousandths (INFO persistence's loading_progress).
  std::atomic<std::uint32_t> loading_permille{0};
  // Whether the append-only file is on ([persist] mode aof or both), for INFO persistence; set by
  // the server before the workers start.
  bool aof_enabled = false;
  // The snapshot thread (SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, INFO persistence), or null with
  // persist.mode = off; set by the server before the workers start.
  PersistControl* persist = nullptr;
  // The fleet (docs/cluster.md), set by the server before the workers start. routing is read on
  // every keyed request (lock-free; disabled, or null in tests, when [cluster] enabled is off);
  // cluster answers the admin commands (CLUSTER SLOTS, NODES, ...) and is null without a cluster.
  const SlotRouting* routing = nullptr;
  ClusterControl* cluster = nullptr;
};

// Why a request is not run: the answer a session gives instead (Exec::gate). Every protocol maps
// each onto its own words (docs/persistence.md, "In the worker").
enum class Refusal : std::uint8_t {
  kNone,
  kLoading,      // the daemon is loading its persistence folder: keyed requests wait
  kWriteFailed,  // fsync = always and the append-only file cannot be written: writes are refused
};

// The worker a session runs on. One per worker thread.
struct Exec {
  Shared& shared;
  store::PartitionedContext& ctx;  // every keyed call goes to the key's partition
  WorkerStats& stats;
  unsigned worker_id = 0;
  WorkerControl* control = nullptr;  // events and the hot-key sketch; null in codec tests
  // The running datagram's first key as the worker hashed it (for its burst's prefetch and the
  // handover), or empty: handlers take its hash from here instead of hashing it again.
  store::KeyRef first_key{};
  // The connection whose input is being run (its ConnInfo id), 0 for a datagram.
  std::uint64_t conn_id = 0;
  // For the running datagram: the most reply bytes (all its datagrams, headers included) the
  // reflection bound allows (udp.reply_factor times the request, for a sender off loopback and
  // outside udp.allow; else no bound). A handler stops building before it would pass this or
  // settings().max_reply_bytes, and answers its protocol's error instead.
  std::size_t datagram_reply_bytes = static_cast<std::size_t>(-1);
  // Where a stream session stops adding replies this call (it runs no further request once
  // out.size() reaches reply_limit()): settings().max_reply_bytes, or less while the worker's
  // connection-buffer budget is spent. Set by the worker before each feed.
  std::size_t reply_cap = ~std::size_t{0};
  // Requests counted so far (count()): the worker tells a complete request from a trickle of bytes.
  std::uint64_t requests_done = 0;
  // The worker's durability (src/persist's append-only file behind core/durability.h), or null
  // without persistence.
  Durability* durability = nullptr;
  // The worker's loop hook (the append-only file's order watermark), or null: a request that
  // blocks its worker (SAVE) tells it the worker is idle meanwhile (wait_off_loop).
  LoopHook* loop_hook = nullptr;
  // Set by the worker before each feed (and datagram): requests may be refused (loading, or
  // writes while the append-only file fails under fsync = always). A session tests this one byte
  // per request and asks gate() only when it is set.
  bool gated = false;
  bool loading = false;        // shared.loading, as read for this feed
  bool writes_failed = false;  // durability->wait_for_disk() && durability->failed(), for this feed

  // What a request with a key (`keyed`) that changes the store or not (`write`) must hear
  // instead of running; only meaningful while `gated`. A request with neither (version, stats,
  // PING) always runs.
  Refusal gate(bool keyed, bool write) const noexcept {
    if (loading && (keyed || write)) return Refusal::kLoading;
    if (writes_failed && write) return Refusal::kWriteFailed;
    return Refusal::kNone;
  }
  // The reason the append-only file gave (a static string), for kWriteFailed's reply.
  const char* write_failure() const noexcept {
    const char* f = durability != nullptr ? durability->failure() : nullptr;
    return f != nullptr ? f : "unknown error";
  }
  // Reads shared.loading and the durability's state into gated/loading/writes_failed (the
  // worker, before each feed; tests call it after changing them).
  void refresh_gate() noexcept {
    loading = shared.loading.load(std::memory_order_relaxed);
    writes_failed = durability != nullptr && durability->wait_for_disk() && durability->failed();
    gated = loading || writes_failed;
  }

  // Runs `wait` (which blocks: SAVE waiting for its snapshot) with this worker out of the loop:
  // its store context offline (grace periods go on without it), its loop hook idle (the
  // append-only file's order does not wait for it); the store clock is read again after.
  template <typename Fn>
  auto wait_off_loop(Fn&& wait) {
    ctx.offline();
    if (loop_hook != nullptr) loop_hook->idle();
    auto result = wait();
    if (loop_hook != nullptr) loop_hook->busy();
    ctx.online();
    ctx.set_now(shared.store->now_ms());
    return result;
  }

  store::Partitions& store() const noexcept { return *shared.store; }
  // `key` hashed: the worker's hash when `key` is that very first key (the same bytes of the
  // same datagram), else a new one.
  store::KeyRef key_ref(std::string_view key) const noexcept {
    return !key.empty() && key.data() == first_key.key.data() && key.size() == first_key.key.size()
               ? first_key
               : store::make_key(key);
  }
  const EngineSettings& settings() const noexcept { return shared.settings; }
  std::size_t reply_limit() const noexcept {
    const std::size_t cap = shared.settings.max_reply_bytes;
    return reply_cap < cap ? reply_cap : cap;
  }
  std::uint64_t now_ms() const noexcept { return ctx.now_ms(); }  // store clock
  std::uint64_t unix_ms() const noexcept { return shared.store->to_unix_ms(ctx.now_ms()); }

  // Counts one request (and its latency from `start_cycles`, a core/clock.h cycles() reading).
  void count(Proto p, Op op, std::uint64_t start_cycles) noexcept;
  void count(Proto p, Op op) noexcept {
    ++requests_done;
    stats.requests[static_cast<std::size_t>(p)][static_cast<std::size_t>(op)].add();
  }
  // A key a request named (get or set): feeds the hot-key sketch (sampled).
  void note_key(std::string_view key) noexcept {
    if (control != nullptr) control->hot.note(key);
  }
  void hit(Proto p) noexcept { stats.hits[static_cast<std::size_t>(p)].add(); }
  void miss(Proto p) noexcept { stats.misses[static_cast<std::size_t>(p)].add(); }
  void protocol_error(Proto p) noexcept { stats.protocol_errors[static_cast<std::size_t>(p)].add(); }
};

// A stream's look ahead: over the next pipelined requests at the start of `in` (up to 16; `peek`
// frames one and names its key, 0 when it cannot), prefetches their keys' buckets and then their
// items, so that a pipeline's cache misses overlap as a datagram burst's do. Returns the bytes it
// looked over (0: nothing it could frame).
using PeekFn = std::size_t (*)(std::string_view in, std::string_view* key) noexcept;
std::size_t prefetch_pipeline(std::string_view in, PeekFn peek, Exec& ex) noexcept;

// memcached's exptime: 0 never; negative already expired; up to 30 days relative seconds; above
// that an absolute Unix time in seconds (in the past: already expired). Returns a store deadline.
std::uint64_t memcache_deadline(std::int64_t exptime, const Exec& ex) noexcept;

// Converts a core/clock.h cycles() difference to nanoseconds, and back.
std::uint64_t cycles_to_ns(std::uint64_t cycles) noexcept;
std::uint64_t ns_to_cycles(std::uint64_t ns) noexcept;

// Sums every worker's counters (StatsTotals, engine/stats.h) into `out`.
void sum_stats(const Shared& shared, StatsTotals& out) noexcept;

// Per-connection facts the engine keeps (for CLIENT INFO, stats conns, the management plane).
struct ConnInfo {
  std::uint64_t id = 0;
  char peer[64] = {};           // "127.0.0.1:54321" or "[::1]:54321"
  char local[64] = {};
  std::uint64_t created_unix_ms = 0;
  std::uint64_t last_active_ms = 0;  // store clock
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

class Session {
 public:
  explicit Session(const ConnInfo& info) : info_(info) {}
  virtual ~Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Parses and executes every complete request at the front of `in`, appending replies to `out`.
  // Returns the bytes consumed. May stop early (returning less) once out.size() reaches
  // settings().max_reply_bytes: the worker calls again when the peer has read some replies.
  // A request longer than settings().max_request_bytes that is still incomplete must be refused
  // (error reply or close_after_reply()): the worker closes a connection whose unconsumed input
  // exceeds that cap.
  virtual std::size_t feed(std::string_view in, Buffer& out, Exec& ex) = 0;

  // The peer closed its side; `pending` holds the unconsumed bytes (an incomplete request).
  virtual void on_peer_closed(std::string_view /*pending*/) {}

  // Once set, the worker sends what `out` holds, then closes the connection (quit, fatal errors).
  bool closing() const noexcept { return closing_; }
  const ConnInfo& info() const noexcept { return info_; }
  virtual Proto proto() const noexcept = 0;
  // What a request refused for want of connection-buffer memory hears before its connection is
  // closed, in the protocol's words; empty (the default): closed without a word.
  virtual std::string_view out_of_memory_reply() const noexcept { return {}; }

 protected:
  void close_after_reply() noexcept { closing_ = true; }
  const ConnInfo& info_;

 private:
  bool closing_ = false;
};

// Reply datagrams for one request datagram: contiguous in `buf`, datagram i ends at ends[i].
struct DatagramOut {
  Buffer buf;
  std::vector<std::uint32_t> ends;  // reserved once; cleared per request datagram
  void clear() noexcept {
    buf.clear();
    ends.clear();
  }
  void end_datagram() { ends.push_back(static_cast<std::uint32_t>(buf.size())); }
  std::size_t count() const noexcept { return ends.size(); }
  std::string_view datagram(std::size_t i) const noexcept {
    const std::uint32_t b = i == 0 ? 0 : ends[i - 1];
    return {buf.data() + b, ends[i] - b};
  }
};

// A UDP protocol: one request datagram in, zero or more reply datagrams out. Stateless between
// datagrams. A handler keeps its replies within Exec::datagram_reply_bytes/count (and
// settings().max_reply_bytes) while it builds them; the worker still drops (and counts) a reply
// over its reflection bound or larger than the driver can send whole.
class DatagramHandler {
 public:
  virtual ~DatagramHandler() = default;
  virtual void on_datagram(std::string_view in, DatagramOut& out, Exec& ex) = 0;
  // The datagram's first key, hashed, without running anything: the worker prefetches a burst's
  // keys before running it (buckets, then items: their memory misses overlap instead of coming
  // one after another) and hands a datagram to the partition that owns its first key. Only a
  // hint: false when there is none, no checks beyond what reading the key needs, nothing counted.
  // The key is a view into `in` (the handover carries it as an offset).
  virtual bool first_key(std::string_view /*in*/, store::KeyRef* /*out*/) const noexcept { return false; }
};

// A stream protocol as its listener serves it, provided by the protocol (engine/<protocol>'s
// *_service()) and registered by the server (engine/worker.h's Services), so that the worker
// knows no protocol's bytes.
struct StreamService {
  // Makes a connection's session: at accept with `first` empty, or, when `by_first_bytes`, once
  // the connection's first bytes came (at least one, in `first`), for a service that picks its
  // session by them (memcached's port: binary when the first byte is the binary magic). A null
  // factory, or a null session, closes the connection.
  using Factory = std::unique_ptr<Session> (*)(const ConnInfo& info, std::string_view first);
  Factory make = nullptr;
  bool by_first_bytes = false;
  // What a connection over the connection limit (or accepted while the daemon stops) hears before
  // it is closed, in the protocol's words; empty: closed without a word.
  std::string_view refusal;
};

}  // namespace ferrite::engine
