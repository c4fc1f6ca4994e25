// Read-modify-write commands from several workers on the same keys: every update lands exactly
// once (the versioned retry loops), as Redis's single thread guarantees.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/resp/resp_session.h"
#include "engine/session.h"
#include "store/hash_value.h"
#include "store/store.h"

namespace ferrite::engine {
namespace {

int scale() {
  const char* s = std::getenv("FERRITE_TEST_SCALE");
  const int v = s != nullptr ? std::atoi(s) : 1;
  return v > 0 ? v : 1;
}

// head + i + tail + CRLF.
std::string request(std::string_view head, int i, const std::string& tail) {
  std::string s(head);
  s += std::to_string(i);
  s += tail;
  s += "\r\n";
  return s;
}

class Workers {
 public:
  Workers() {
    store::StoreConfig cfg;
    cfg.memory_limit = std::size_t{64} << 20;
    cfg.max_contexts = 5;
    // Two partitions: each worker's keys are spread over both, as on a two-node machine.
    store_ = std::make_unique<store::Partitions>(cfg, 2);
    shared_.store = store_.get();
  }

  // Runs request(i) for i in [0, times) on each of `workers` threads (each with its own context,
  // session and counters, as workers are); returns how many replies started with `prefix`.
  int run(int workers, int times, const std::function<std::string(int)>& request, std::string_view prefix) {
    std::atomic<int> matched{0};
    std::vector<std::unique_ptr<WorkerStats>> stats;
    for (int w = 0; w < workers; ++w) stats.push_back(std::make_unique<WorkerStats>());
    std::vector<std::thread> threads;
    for (int w = 0; w < workers; ++w) {
      threads.emplace_back([&, w] {
        auto ctx = std::make_unique<store::PartitionedContext>(*store_, static_cast<unsigned>(w) % 2);
        Exec ex{shared_, *ctx, *stats[static_cast<std::size_t>(w)], static_cast<unsigned>(w)};
        ConnInfo info;
        info.id = static_cast<std::uint64_t>(w) + 1;
        auto session = make_resp_session(info);
        Buffer out;
        for (int i = 0; i < times; ++i) {
          ctx->set_now(store_->now_ms());
          const std::string req = request(i);
          out.clear();
          EXPECT_EQ(session->feed(req, out, ex), req.size());
          EXPECT_NE(out.view()[0], '-') << out.view();
          if (out.view().substr(0, prefix.size()) == prefix) matched.fetch_add(1);
          ctx->tick();
          ctx->quiescent();
        }
        ctx->offline();
      });
    }
    for (auto& t : threads) t.join();
    return matched.load();
  }

  std::string hash_field(std::string_view key, std::string_view field) {
    auto ctx = std::make_unique<store::PartitionedContext>(*store_, 0);
    ctx->set_now(store_->now_ms());
    const store::ItemView it = ctx->get(key);
    std::string_view v;
    return it && store::hash::find(it.value(), field, &v) ? std::string(v) : std::string("(nil)");
  }
  std::size_t hash_len(std::string_view key) {
    auto ctx = std::make_unique<store::PartitionedContext>(*store_, 0);
    ctx->set_now(store_->now_ms());
    const store::ItemView it = ctx->get(key);
    return it ? store::hash::count(it.value()) : 0;
  }

  std::string get(std::string_view key) {
    auto ctx = std::make_unique<store::PartitionedContext>(*store_, 0);
    ctx->set_now(store_->now_ms());
    const store::ItemView it = ctx->get(key);
    return it ? std::string(it.value()) : std::string("(nil)");
  }

 private:
  std::unique_ptr<store::Partitions> store_;
  Shared shared_;
};

TEST(RespConcurrency, AppendLandsOncePerRequest) {
  Workers w;
  const int n = 2000 * scale();
  w.run(
      4, n, [](int) { return std::string("APPEND k x\r\n"); }, "");
  EXPECT_EQ(w.get("k").size(), static_cast<std::size_t>(4 * n));
}

TEST(RespConcurrency, IncrbyfloatLandsOncePerRequest) {
  Workers w;
  const int n = 2000 * scale();
  w.run(
      4, n, [](int) { return std::string("INCRBYFLOAT k 1\r\n"); }, "");
  EXPECT_EQ(w.get("k"), std::to_string(4 * n));
}

TEST(RespConcurrency, GetdelReturnsEachValueOnce) {
  Workers w;
  const int n = 1000 * scale();
  w.run(
      1, n, [](int i) { return request("SET k", i, " v"); }, "");
  // Four workers race to take every key: exactly one gets each value, the others nil.
  const int got = w.run(
      4, n, [](int i) { return request("GETDEL k", i, ""); }, "$1\r\n");
  EXPECT_EQ(got, n);
}

TEST(RespConcurrency, HashWritesLandOncePerRequest) {
  // HINCRBY, HINCRBYFLOAT and HSET on fields of one hash from four workers: every write lands
  // (each rewrites the whole item over the version it read, and reads again when it lost).
  Workers w;
  const int n = 1000 * scale();
  w.run(
      4, n,
      [](int i) {
        return std::string(i % 3 == 0 ? "HINCRBY h n 1" : i % 3 == 1 ? "HINCRBYFLOAT h x 1" : "HSETNX h f") +
               (i % 3 == 2 ? std::to_string(i) + " v\r\n" : "\r\n");
      },
      "");
  const int thirds = (n + 2) / 3;  // i % 3 == 0 for i in [0, n)
  const int x = (n + 1) / 3;
  EXPECT_EQ(w.hash_field("h", "n"), std::to_string(4 * thirds));
  EXPECT_EQ(w.hash_field("h", "x"), std::to_string(4 * x));
  EXPECT_EQ(w.hash_len("h"), 2u + static_cast<std::size_t>(n / 3));  // n, x and every distinct fI
}

TEST(RespConcurrency, MsetnxSucceedsOnce) {
  Workers w;
  const int n = 500 * scale();
  const int won = w.run(
      4, n, [](int i) { return request("MSETNX a", i, " 1 b" + std::to_string(i) + " 1"); }, ":1");
  EXPECT_EQ(won, n);
}

}  // namespace
}  // namespace ferrite::engine
