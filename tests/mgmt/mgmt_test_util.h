// A fake engine for the management plane's tests: a real store, per-worker stats and controls,
// a ConfigAccess with a few keys, and "workers" that serve their inboxes on their own threads the
// way engine::Worker does (clients, hot keys, big keys, flush).
#pragma once

#include <fnmatch.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/size.h"
#include "engine/control.h"
#include "engine/session.h"
#include "../engine_test_util.h"
#include "mgmt/json_reader.h"
#include "mgmt/log.h"
#include "mgmt/plane.h"
#include "store/partitions.h"
#include "store/store.h"

namespace ferrite::mgmt {

// A stand-in for the daemon's configuration: server.memory and log.level change live, and
// server.policy plays a key that needs a restart (in ferrited it is live; server.workers is not).
class FakeConfig final : public engine::testing::NamedConfig {
 public:
  using NamedConfig::get;
  using NamedConfig::set;
  explicit FakeConfig(store::Partitions* store) : store_(store) {}
  std::vector<std::pair<std::string, std::string>> get(std::string_view glob) const override {
    std::vector<std::pair<std::string, std::string>> out;
    const std::string pattern(glob);
    for (const auto& kv : values_) {
      if (fnmatch(pattern.c_str(), kv.first.c_str(), 0) == 0) out.push_back(kv);
    }
    return out;
  }
  std::string set(std::string_view key, std::string_view value) override {
    for (auto& [k, v] : values_) {
      if (k != key) continue;
      if (k == "server.policy") return k + ": cannot change while ferrited runs";
      if (k == "server.memory") {
        const auto bytes = parse_size(value);
        if (!bytes) return k + ": \"" + std::string(value) + "\" is not a size";
        if (std::string e = store_->set_memory_limit(*bytes); !e.empty()) return k + ": " + e;
        v = format_size(*bytes);
        return "";
      }
      v = value;
      return "";
    }
    return std::string(key) + ": unknown key";
  }

 private:
  store::Partitions* store_;
  std::vector<std::pair<std::string, std::string>> values_ = {
      {"server.memory", "32MiB"}, {"server.policy", "clock"}, {"log.level", "info"}};
};

class FakeEngine {
 public:
  explicit FakeEngine(unsigned workers, std::size_t memory = 32u << 20) {
    store::StoreConfig sc;
    sc.memory_limit = memory;
    sc.max_contexts = workers + 1;  // + the test thread
    store_ = std::make_unique<store::Partitions>(sc, 1);
    config_ = std::make_unique<FakeConfig>(store_.get());
    shared.store = store_.get();
    shared.config = config_.get();
    shared.settings.workers = workers;
    shared.settings.version = "9.9.9";
    shared.start_unix_ms = 1;
    for (unsigned i = 0; i < workers; ++i) {
      stats.push_back(std::make_unique<engine::WorkerStats>());
      shared.worker_stats.push_back(stats.back().get());
      controls.push_back(std::make_unique<engine::WorkerControl>());
      shared.controls.push_back(controls.back().get());
    }
    client_rows.resize(workers);
  }
  ~FakeEngine() { stop(); }

  // Starts the workers' threads (hot keys noted and rows set before this are what they report).
  void start() {
    stop_ = false;
    for (unsigned i = 0; i < controls.size(); ++i) threads_.emplace_back([this, i] { serve(i); });
  }
  void stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  engine::Shared shared;
  std::vector<std::unique_ptr<engine::WorkerStats>> stats;
  std::vector<std::unique_ptr<engine::WorkerControl>> controls;
  std::vector<std::vector<engine::ClientRow>> client_rows;  // per worker
  std::atomic<int> answered{0};

 private:
  void serve(unsigned id) {
    auto ctx = store_->at(0).attach();
    while (!stop_.load()) {
      ctx->set_now(store_->now_ms());
      engine::ControlRequest* req = nullptr;
      while (controls[id]->inbox.pop(&req)) {
        answer(id, *ctx, *req);
        answered.fetch_add(1);
        req->done.store(true, std::memory_order_release);
      }
      ctx->tick();
      ctx->quiescent();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  void answer(unsigned id, store::Context& ctx, engine::ControlRequest& req) {
    switch (req.kind) {
      case engine::ControlRequest::Kind::kClients:
        req.clients = client_rows[id];
        break;
      case engine::ControlRequest::Kind::kHotKeys:
        controls[id]->hot.snapshot(&req.hot);
        break;
      case engine::ControlRequest::Kind::kBigKeys: {
        struct Top {
          std::vector<engine::BigKey>* out;
          std::size_t limit;
        } top{&req.big, req.limit};
        ctx.scan(
            &req.cursor, req.scan_buckets,
            [](void* arg, const store::ItemView& it) {
              auto& t = *static_cast<Top*>(arg);
              if (t.out->size() < t.limit) {
                t.out->push_back(engine::BigKey{std::string(it.key()), it.value().size()});
                return;
              }
              std::size_t min_i = 0;
              for (std::size_t i = 1; i < t.out->size(); ++i)
                if ((*t.out)[i].value_bytes < (*t.out)[min_i].value_bytes) min_i = i;
              if ((*t.out)[min_i].value_bytes < it.value().size())
                (*t.out)[min_i] = engine::BigKey{std::string(it.key()), it.value().size()};
            },
            &top);
        break;
      }
      case engine::ControlRequest::Kind::kFlush:
        ctx.flush(0);
        ctx.sweep_flushed();
        break;
    }
  }

  std::unique_ptr<store::Partitions> store_;
  std::unique_ptr<FakeConfig> config_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

// Parses a reply line; fails the test when it is not one JSON object with a boolean "ok".
inline JsonValue parse_reply(const std::string& json) {
  std::string error;
  auto v = parse_json(json, &error);
  EXPECT_TRUE(v.has_value()) << error << " in " << json;
  if (!v) return JsonValue();
  EXPECT_TRUE(v->is_object()) << json;
  EXPECT_TRUE((*v)["ok"].is_bool()) << json;
  return *v;
}

}  // namespace ferrite::mgmt
