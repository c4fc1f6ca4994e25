// A worker without I/O for session tests: a small store, one attached context, the engine's
// shared state and counters, and feed() which hands bytes to a session the way the worker does
// (unconsumed bytes are kept and offered again with the next chunk).
//
// The store has FERRITE_TEST_PARTITIONS partitions (default 1): the session tests run a second
// time with 2 (tests/meson.build), so that every protocol's commands are checked with keys spread
// over partitions as well.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/session.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::engine::testing {

// The dotted name of each ServerSetting, as the server's settings table spells it
// (tests/server/server_live_config_test.cc checks LiveConfig against this list).
inline std::string_view server_setting_name(ServerSetting s) noexcept {
  switch (s) {
    case ServerSetting::kMemory: return "server.memory";
    case ServerSetting::kPolicy: return "server.policy";
    case ServerSetting::kMaxItemSize: return "server.max_item_size";
    case ServerSetting::kMaxConnections: return "server.max_connections";
    case ServerSetting::kIdleTimeout: return "server.idle_timeout";
    case ServerSetting::kListenMemcache: return "listen.memcache";
    case ServerSetting::kListenMemcacheUdp: return "listen.memcache_udp";
    case ServerSetting::kListenResp: return "listen.resp";
  }
  return "";
}
inline constexpr ServerSetting kAllServerSettings[] = {
    ServerSetting::kMemory,         ServerSetting::kPolicy,         ServerSetting::kMaxItemSize,
    ServerSetting::kMaxConnections, ServerSetting::kIdleTimeout,    ServerSetting::kListenMemcache,
    ServerSetting::kListenMemcacheUdp, ServerSetting::kListenResp};

// A tests' stand-in ConfigAccess that keeps its settings by name: the engine's ids are the names
// above, as in the server.
class NamedConfig : public ConfigAccess {
 public:
  using ConfigAccess::get;
  using ConfigAccess::set;
  std::string get(ServerSetting key) const override {
    const auto kv = get(server_setting_name(key));
    return kv.empty() ? "" : kv.front().second;
  }
  std::string set(ServerSetting key, std::string_view value) override {
    return set(server_setting_name(key), value);
  }
};

// A Durability whose append-only file failed (fsync = always): writes are refused (Exec::gate).
class FailedDisk final : public Durability {
 public:
  std::uint64_t written() const noexcept override { return 0; }
  bool durable(std::uint64_t /*pos*/) const noexcept override { return false; }
  bool wait_for_disk() const noexcept override { return true; }
  bool congested() const noexcept override { return false; }
  bool failed() const noexcept override { return true; }
  const char* failure() const noexcept override { return "No space left on device"; }
  void set_waker(Waker* /*w*/) noexcept override {}
};

class SessionHarness {
 public:
  explicit SessionHarness(std::size_t memory = std::size_t{64} << 20, std::size_t max_item = std::size_t{1} << 20) {
    store::StoreConfig cfg;
    cfg.memory_limit = memory;
    cfg.max_item_size = max_item;
    cfg.max_contexts = 1;
    const unsigned partitions = test_partitions();
    cfg.memory_limit = std::max(cfg.memory_limit, store::kMinMemory * partitions);
    store_ = std::make_unique<store::Partitions>(cfg, partitions);
    shared_.store = store_.get();
    shared_.worker_stats.push_back(&stats_);
    shared_.start_unix_ms = store_->to_unix_ms(store_->now_ms());
    ctx_ = std::make_unique<store::PartitionedContext>(*store_, 0);
    ctx_->set_now(store_->now_ms());
    exec_ = std::make_unique<Exec>(Exec{shared_, *ctx_, stats_, 0});
    info_.id = 1;
    std::string_view peer = "127.0.0.1:40000";
    peer.copy(info_.peer, sizeof(info_.peer) - 1);
  }
  ~SessionHarness() {
    exec_.reset();
    ctx_.reset();
  }

  Exec& exec() { return *exec_; }
  Shared& shared() { return shared_; }
  WorkerStats& stats() { return stats_; }
  store::Partitions& store() { return *store_; }
  store::PartitionedContext& ctx() { return *ctx_; }
  static unsigned test_partitions() {
    const char* v = std::getenv("FERRITE_TEST_PARTITIONS");
    return v != nullptr && std::atoi(v) > 0 ? static_cast<unsigned>(std::atoi(v)) : 1;
  }
  const ConnInfo& info() const { return info_; }

  // Feeds `input` in chunks of `chunk` bytes (0: all at once) and returns every reply byte.
  // Ends the loop iteration (tick + quiescent) after each chunk, as the worker does.
  std::string feed(Session& s, std::string_view input, std::size_t chunk = 0) {
    std::string replies;
    if (chunk == 0) chunk = input.size() == 0 ? 1 : input.size();
    for (std::size_t off = 0; off < input.size(); off += chunk) {
      pending_.append(input.substr(off, chunk));
      drain(s, replies);
      if (s.closing()) break;
    }
    return replies;
  }
  // Bytes the session has not consumed yet.
  std::string_view pending() const { return pending_.view(); }
  void clear_pending() { pending_.clear(); }

  // Persistence states the worker reads before each feed (Exec::refresh_gate): the daemon
  // loading its folder; the append-only file failed under fsync = always.
  void set_loading(bool on) {
    shared_.loading = on;
    exec_->refresh_gate();
  }
  void fail_writes(bool on) {
    exec_->durability = on ? &failed_disk_ : nullptr;
    exec_->refresh_gate();
  }

  // Moves the store clock forward (TTL tests).
  void advance_ms(std::uint64_t ms) { ctx_->set_now(ctx_->now_ms() + ms); }
  void end_iteration() {
    ctx_->tick();
    ctx_->quiescent();
  }

  // From here on the session's own size checks read the item limit (1 MiB) of a second store,
  // while the store it writes to refuses values over `limit`: what a session meets when another
  // connection lowers the limit between its check and its write. The store's refusal (kTooLarge)
  // is then the session's to answer (memcached's failed-set rule: engine/memcache_semantics.h).
  void store_refuses_over(std::size_t limit) {
    store::StoreConfig cfg;
    cfg.memory_limit = store::kMinMemory;
    cfg.max_item_size = std::size_t{1} << 20;
    lenient_ = std::make_unique<store::Partitions>(cfg, 1);
    shared_.store = lenient_.get();
    store_->set_max_item_size(limit);
  }

 private:
  void drain(Session& s, std::string& replies) {
    out_.clear();
    // A session may stop early when its output is over the cap (also in the middle of a request,
    // which it then leaves unconsumed); the worker calls again after sending, so loop while it
    // makes progress: consumes input or answers.
    for (;;) {
      const std::size_t n = s.feed(pending_.view(), out_, *exec_);
      pending_.consume(n);
      const bool answered = !out_.empty();
      replies.append(out_.data(), out_.size());
      out_.clear();
      if ((n == 0 && !answered) || pending_.empty() || s.closing()) break;
    }
    end_iteration();
  }

  std::unique_ptr<store::Partitions> store_;
  Shared shared_;
  WorkerStats stats_;
  std::unique_ptr<store::PartitionedContext> ctx_;
  std::unique_ptr<Exec> exec_;
  ConnInfo info_;
  Buffer pending_;
  Buffer out_;
  std::unique_ptr<store::Partitions> lenient_;  // store_refuses_over()
  FailedDisk failed_disk_;                      // fail_writes()
};

}  // namespace ferrite::engine::testing
