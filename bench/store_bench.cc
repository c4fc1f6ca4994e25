// Store throughput: Ferrite's table against the textbook LRU cache
// (std::unordered_map<std::string, std::list<...>::iterator> + std::list + std::mutex).
//
//   BM_Ferrite_Get/<keys>        ctx->get(key), one key at a time
//   BM_Ferrite_GetBatch/<keys>   ctx->get_batch() over kBatch keys (hash, prefetch, resolve)
//   BM_Ferrite_Set/<keys>        ctx->set(key, value), one key at a time (overwrites)
//   BM_Ferrite_SetBatch/<keys>   make_key + ctx->prefetch() for kBatch keys, then ctx->set() each
//   BM_Reference_Get/<keys>      lock, find, move to front, copy the value out, unlock
//   BM_Reference_GetBatch/<keys> the same with the lock held once per kBatch keys
//   BM_Reference_Set/<keys>      lock, find, overwrite the value, move to front, unlock
//
// each at 1M and 10M keys (16-byte keys, 32-byte values, every key present: GETs hit), on one and
// two threads ("/threads:2"). items_per_second is the throughput of all threads together (real
// time), so per core = items_per_second / threads.
//
// Every thread reads its keys from one pre-generated trace of uniformly random key choices laid
// out back to back (like keys arriving in a receive buffer); nothing is formatted or allocated
// in the timed loop, and the key's hash is computed in the loop (make_key / std::hash).
//
// Each timed iteration is one "worker loop turn" of kBatch (32) requests:
//   ctx->set_now(store.now_ms()); <32 requests>; ctx->quiescent(); and every 16th turn ctx->tick().
//
// Run only some:  ferrite-store-bench --benchmark_filter='Ferrite_GetBatch/1000000'
//                 ferrite-store-bench --benchmark_filter='Reference|Ferrite_Get/'
// See bench/RESULTS.md and bench/run.sh for the settings the published figures use.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "store/store.h"

namespace {

using ferrite::bench::format_key;
using ferrite::bench::kKeyLen;
using ferrite::bench::splitmix64;
using ferrite::bench::uniform_below;
using ferrite::bench::value32;
namespace fs = ferrite::store;

constexpr std::size_t kBatch = 32;       // requests per loop turn (and per get_batch)
constexpr std::size_t kTickEvery = 16;   // turns between tick() calls
constexpr std::size_t kTraceLen = std::size_t{1} << 22;  // 4M requests = 64 MiB of keys

// ---------------------------------------------------------------------------------------------
// Shared inputs: the request trace (random picks among `nkeys` keys), built once per key count.

struct Trace {
  std::size_t nkeys = 0;
  std::vector<char> bytes;  // kTraceLen keys of kKeyLen bytes, back to back

  std::string_view key(std::size_t i) const noexcept {
    return {bytes.data() + (i & (kTraceLen - 1)) * kKeyLen, kKeyLen};
  }
};

std::unique_ptr<Trace> make_trace(std::size_t nkeys) {
  auto t = std::make_unique<Trace>();
  t->nkeys = nkeys;
  t->bytes.resize(kTraceLen * kKeyLen);
  std::uint64_t seed = 0x5EED0000ull + nkeys;
  for (std::size_t i = 0; i < kTraceLen; ++i) {
    format_key(uniform_below(splitmix64(seed), nkeys), t->bytes.data() + i * kKeyLen);
  }
  return t;
}

const Trace& trace_for(std::size_t nkeys) {
  static std::mutex mu;
  static std::map<std::size_t, std::unique_ptr<Trace>> traces;
  std::lock_guard<std::mutex> lock(mu);
  auto& t = traces[nkeys];
  if (!t) t = make_trace(nkeys);
  return *t;
}

// Each thread starts at its own place in the trace.
std::size_t trace_start(int thread_index) {
  return static_cast<std::size_t>(thread_index) * (kTraceLen / 2 + 12345);
}

// ---------------------------------------------------------------------------------------------
// Ferrite: one store per key count, pre-filled with every key, shared by the threads.

struct FerriteEnv {
  std::unique_ptr<fs::Store> store;
  const Trace* trace = nullptr;
};

fs::StoreConfig ferrite_config(std::size_t nkeys) {
  fs::StoreConfig cfg;
  // 10M items need ~0.7 GiB; 2 GiB keeps the benchmark free of eviction at both sizes.
  cfg.memory_limit = std::size_t{2} << 30;
  // Size the table for the key count with room to spare (~70% load) rather than for
  // memory_limit / item_size_hint, so both sizes see a realistically loaded table.
  cfg.table_slots = nkeys + nkeys / 2;
  cfg.policy = fs::EvictionPolicy::kClock;
  // One context per benchmark thread (the prefill's context is gone before they attach).
  cfg.max_contexts = 2;
  return cfg;
}

FerriteEnv& ferrite_env(std::size_t nkeys) {
  static std::mutex mu;
  static std::map<std::size_t, FerriteEnv> envs;
  std::lock_guard<std::mutex> lock(mu);
  auto it = envs.find(nkeys);
  if (it != envs.end()) return it->second;
  FerriteEnv env;
  env.store = std::make_unique<fs::Store>(ferrite_config(nkeys));
  {
    auto ctx = env.store->attach();
    char key[kKeyLen];
    for (std::size_t i = 0; i < nkeys; ++i) {
      if ((i & 63) == 0) {
        ctx->set_now(env.store->now_ms());
        ctx->quiescent();
        ctx->tick();
      }
      format_key(i, key);
      const auto r = ctx->set(std::string_view(key, kKeyLen), value32());
      if (r.status != fs::Status::kOk) {
        std::fprintf(stderr, "prefill: set #%zu failed: %s\n", i, fs::status_name(r.status));
        std::abort();
      }
    }
    ctx->quiescent();
  }
  const auto st = env.store->stats();
  if (st.items != static_cast<std::int64_t>(nkeys) || st.evictions != 0) {
    std::fprintf(stderr, "prefill: expected %zu items and no evictions, store has %lld items, %lld evictions\n",
                 nkeys, static_cast<long long>(st.items), static_cast<long long>(st.evictions));
  }
  env.trace = &trace_for(nkeys);
  return envs.emplace(nkeys, std::move(env)).first->second;
}

void add_store_counters(benchmark::State& state, const fs::Store& store) {
  if (state.thread_index() != 0) return;
  const auto st = store.stats();
  // Only thread 0 reports these, and counters are summed over threads: plain counters.
  state.counters["items"] = benchmark::Counter(static_cast<double>(st.items));
  state.counters["evictions"] = benchmark::Counter(static_cast<double>(st.evictions));
}

// Counts hits whose value's first byte is not 0 (reading the value, as a client would).
std::uint64_t value_hit(std::string_view value) { return static_cast<unsigned char>(value[0]) != 0; }

// The share of the kBatch operations per iteration that hit, averaged over threads.
void add_hit_ratio(benchmark::State& state, std::uint64_t hits) {
  benchmark::DoNotOptimize(hits);
  state.counters["hit%"] = benchmark::Counter(
      100.0 * static_cast<double>(hits) / static_cast<double>(state.iterations() * kBatch),
      benchmark::Counter::kAvgThreads);
}

// One Ferrite benchmark thread: each iteration, `batch(ctx, trace, pos)` makes kBatch requests
// from the trace at pos (advancing it) between set_now and quiescent, as a worker's loop turn
// does; a tick every kTickEvery turns. Then the store's counters (thread 0).
template <typename Batch>
void run_ferrite(benchmark::State& state, Batch&& batch) {
  auto& env = ferrite_env(static_cast<std::size_t>(state.range(0)));
  fs::Store& store = *env.store;
  const Trace& trace = *env.trace;
  auto ctx = store.attach();
  std::size_t pos = trace_start(state.thread_index());
  std::size_t turns = 0;
  for (auto _ : state) {
    ctx->set_now(store.now_ms());
    batch(*ctx, trace, pos);
    ctx->quiescent();
    if (++turns % kTickEvery == 0) ctx->tick();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
  ctx.reset();
  add_store_counters(state, store);
}

void BM_Ferrite_Get(benchmark::State& state) {
  std::uint64_t hits = 0;
  run_ferrite(state, [&](auto& ctx, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      const fs::ItemView v = ctx.get(trace.key(pos++));
      if (v) hits += value_hit(v.value());
    }
  });
  add_hit_ratio(state, hits);
}

void BM_Ferrite_GetBatch(benchmark::State& state) {
  std::uint64_t hits = 0;
  fs::KeyRef keys[kBatch];
  fs::ItemView out[kBatch];
  run_ferrite(state, [&](auto& ctx, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) keys[i] = fs::make_key(trace.key(pos++));
    ctx.get_batch(std::span<const fs::KeyRef>(keys, kBatch), out);
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (out[i]) hits += value_hit(out[i].value());
    }
  });
  add_hit_ratio(state, hits);
}

void BM_Ferrite_Set(benchmark::State& state) {
  std::uint64_t failures = 0;
  const std::string_view value = value32();
  run_ferrite(state, [&](auto& ctx, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      failures += ctx.set(trace.key(pos++), value).status != fs::Status::kOk;
    }
  });
  state.counters["failed"] = benchmark::Counter(static_cast<double>(failures));
}

void BM_Ferrite_SetBatch(benchmark::State& state) {
  std::uint64_t failures = 0;
  const std::string_view value = value32();
  fs::KeyRef keys[kBatch];
  run_ferrite(state, [&](auto& ctx, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      keys[i] = fs::make_key(trace.key(pos++));
      ctx.prefetch(keys[i]);
    }
    for (std::size_t i = 0; i < kBatch; ++i) {
      failures += ctx.set(keys[i], value).status != fs::Status::kOk;
    }
  });
  state.counters["failed"] = benchmark::Counter(static_cast<double>(failures));
}

// ---------------------------------------------------------------------------------------------
// Reference: the textbook LRU cache. One mutex; a hit moves the entry to the front of the list;
// an insert into a full cache drops the back. Lookups take a string_view (transparent hash) so
// the reference does not pay for building a std::string per request.

class ReferenceLru {
 public:
  explicit ReferenceLru(std::size_t capacity) : capacity_(capacity) { map_.reserve(capacity); }

  // Copies the value into `out` (the lock cannot be held while the caller uses it).
  bool get(std::string_view key, std::string& out) {
    std::lock_guard<std::mutex> lock(mu_);
    return get_locked(key, out);
  }
  bool get_locked(std::string_view key, std::string& out) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    lru_.splice(lru_.begin(), lru_, it->second);
    out.assign(it->second->second);
    return true;
  }

  void set(std::string_view key, std::string_view value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      it->second->second.assign(value);
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    if (map_.size() >= capacity_ && !lru_.empty()) {
      map_.erase(lru_.back().first);
      lru_.pop_back();
    }
    lru_.emplace_front(std::string(key), std::string(value));
    map_.emplace(lru_.front().first, lru_.begin());
  }

  std::mutex& mutex() { return mu_; }
  std::size_t size() const { return map_.size(); }

 private:
  using Entry = std::pair<std::string, std::string>;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  };

  std::size_t capacity_;
  std::mutex mu_;
  std::list<Entry> lru_;
  std::unordered_map<std::string, std::list<Entry>::iterator, Hash, Eq> map_;
};

struct ReferenceEnv {
  std::unique_ptr<ReferenceLru> cache;
  const Trace* trace = nullptr;
};

ReferenceEnv& reference_env(std::size_t nkeys) {
  static std::mutex mu;
  static std::map<std::size_t, ReferenceEnv> envs;
  std::lock_guard<std::mutex> lock(mu);
  auto it = envs.find(nkeys);
  if (it != envs.end()) return it->second;
  ReferenceEnv env;
  env.cache = std::make_unique<ReferenceLru>(nkeys);  // capacity = every key: no eviction
  char key[kKeyLen];
  for (std::size_t i = 0; i < nkeys; ++i) {
    format_key(i, key);
    env.cache->set(std::string_view(key, kKeyLen), value32());
  }
  env.trace = &trace_for(nkeys);  // the same requests as Ferrite's
  return envs.emplace(nkeys, std::move(env)).first->second;
}

// One reference benchmark thread: each iteration, `batch(cache, trace, pos)` makes kBatch
// requests from the trace at pos (advancing it).
template <typename Batch>
void run_reference(benchmark::State& state, Batch&& batch) {
  auto& env = reference_env(static_cast<std::size_t>(state.range(0)));
  std::size_t pos = trace_start(state.thread_index());
  for (auto _ : state) batch(*env.cache, *env.trace, pos);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBatch));
}

void BM_Reference_Get(benchmark::State& state) {
  std::uint64_t hits = 0;
  std::string value;
  value.reserve(64);
  run_reference(state, [&](ReferenceLru& cache, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (cache.get(trace.key(pos++), value)) hits += value_hit(value);
    }
  });
  add_hit_ratio(state, hits);
}

void BM_Reference_GetBatch(benchmark::State& state) {
  std::uint64_t hits = 0;
  std::string value;
  value.reserve(64);
  run_reference(state, [&](ReferenceLru& cache, const Trace& trace, std::size_t& pos) {
    std::lock_guard<std::mutex> lock(cache.mutex());
    for (std::size_t i = 0; i < kBatch; ++i) {
      if (cache.get_locked(trace.key(pos++), value)) hits += value_hit(value);
    }
  });
  benchmark::DoNotOptimize(hits);
}

void BM_Reference_Set(benchmark::State& state) {
  const std::string_view value = value32();
  run_reference(state, [&](ReferenceLru& cache, const Trace& trace, std::size_t& pos) {
    for (std::size_t i = 0; i < kBatch; ++i) cache.set(trace.key(pos++), value);
  });
}

// Key counts, then threads. Real time: with two threads a waiting mutex sleeps, and CPU time
// would flatter the reference.
void Args(benchmark::internal::Benchmark* b) {
  b->Arg(1'000'000)->Arg(10'000'000)->Threads(1)->Threads(2)->UseRealTime();
}

BENCHMARK(BM_Ferrite_Get)->Apply(Args);
BENCHMARK(BM_Ferrite_GetBatch)->Apply(Args);
BENCHMARK(BM_Ferrite_Set)->Apply(Args);
BENCHMARK(BM_Ferrite_SetBatch)->Apply(Args);
BENCHMARK(BM_Reference_Get)->Apply(Args);
BENCHMARK(BM_Reference_GetBatch)->Apply(Args);
BENCHMARK(BM_Reference_Set)->Apply(Args);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf(
          "ferrite-store-bench: Ferrite store vs a textbook mutex+std::list LRU, 16 B keys, 32 B values.\n"
          "  Benchmarks: BM_{Ferrite,Reference}_{Get,GetBatch,Set,SetBatch}/<keys>[/threads:2]\n"
          "  items_per_second = ops/s of all threads together (real time); per core = / threads.\n"
          "  Run only some:  --benchmark_filter='Ferrite_GetBatch/1000000'\n"
          "                  --benchmark_filter='/1000000/'   (1M keys only; 10M keys take ~3 GiB + fill time)\n"
          "  Noise:          --benchmark_repetitions=3 --benchmark_report_aggregates_only=true\n\n");
      break;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
