// Hit-ratio simulator: CLOCK (the real Store, EvictionPolicy::kClock) and LFU (the real Store,
// kLfu) against an exact LRU at equal memory, cache-aside (get; on a miss, set the 32-byte value
// under its 16-byte key).
//
// Workloads (the same request stream, from a fixed seed, is replayed for every policy):
//   zipf       Zipf(s) over `keys` keys (rank r is key r-1), s = 0.99 by default.
//   zipf+scan  the same Zipf stream; after every `scan_every` Zipf requests, a scan: `scan_len`
//              distinct cold keys, each requested once and never seen before or after.
//              Defaults: scan_every = keys / 2, scan_len = keys / 20 (at 10M keys: a 500k-key scan
//              after every 5M Zipf requests, i.e. 9.1% of requests are scan requests, and each scan
//              is half the size of the cache).
//
// Equal memory: the Store is given memory_limit M = cache_fraction x keys x 64 B, where 64 B is
// what one item of the key space occupies in item memory (16 B header + 16 B key + 32 B value,
// exactly a mimalloc size class). M covers everything the store accounts: items, its table, its
// timing wheels, and the free headroom tick() keeps. The exact LRU is then given a capacity in
// items equal to the mean number of live items the CLOCK store held during the measured phase
// (sampled 16 times). The LRU's own overhead is not charged to it, so the comparison is the
// policies' hit ratio at the same number of cached items (if anything, generous to LRU).
//
// Each run: `warmup` requests (not counted), then `requests` requests (counted); by default one
// scan cycle (scan_every + scan_len requests) of warm-up and two measured, for both workloads
// (at 10M keys: 5.5M + 11M). Every 64
// requests the loop calls ctx->set_now(store.now_ms()), ctx->quiescent() and ctx->tick(), as a
// worker loop would.
//
// Usage: ferrite-hitratio [--keys N] [--requests N] [--warmup N] [--cache-fraction F] [--zipf S]
//                         [--scan-len N] [--scan-every N] [--seed N] [--workload zipf|scan|both|survival]
//                         [--item-size-hint N] [--table-slots N]
//   small:  ferrite-hitratio --keys 2000000 --requests 5000000
//           (the Store's smallest memory_limit is 8 MiB: at 10% that needs >= 1.32M keys)
//   full:   ferrite-hitratio --keys 10000000
//   survival: ferrite-hitratio --workload survival   (a hot set through a scan; see hot_survival)
//   --item-size-hint 64 sizes the table for 64-byte items (the store's default hint, 80, leaves
//   it with fewer slots than the memory limit has room for items of this workload).
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "store/store.h"

namespace {

using ferrite::bench::format_key;
using ferrite::bench::kKeyLen;
using ferrite::bench::splitmix64;
using ferrite::bench::value32;
using ferrite::bench::ZipfSampler;
namespace fs = ferrite::store;

constexpr std::size_t kItemMemory = 64;  // 16 B header + 16 B key + 32 B value
constexpr std::size_t kLoopTurn = 64;    // requests per simulated worker-loop turn

struct Options {
  std::uint64_t keys = 10'000'000;
  std::uint64_t requests = 0;    // 0: two scan cycles (2 x (scan_every + scan_len))
  std::uint64_t warmup = 0;      // 0: one scan cycle (scan_every + scan_len)
  double cache_fraction = 0.10;
  double zipf_s = 0.99;
  std::uint64_t scan_len = 0;    // 0: keys / 20
  std::uint64_t scan_every = 0;  // 0: keys / 2
  std::uint64_t seed = 42;
  std::string workload = "both";
  std::size_t item_size_hint = 0;  // 0: the store's default
  std::size_t table_slots = 0;     // 0: the store's default
};

// The request stream: Zipf ranks, with scans of never-repeated cold keys spliced in.
class Requests {
 public:
  Requests(const Options& o, bool with_scans)
      : zipf_(o.keys, o.zipf_s), keys_(o.keys), scans_(with_scans), scan_len_(o.scan_len),
        scan_every_(o.scan_every), rng_(o.seed) {}

  struct Request {
    std::uint64_t id;
    bool scan;
  };

  Request next() noexcept {
    if (scan_left_ > 0) {
      --scan_left_;
      return {keys_ + next_cold_++, true};
    }
    const std::uint64_t rank = zipf_.sample([this] {
      return static_cast<double>(splitmix64(rng_) >> 11) * 0x1.0p-53;
    });
    if (scans_ && ++since_scan_ == scan_every_) {
      since_scan_ = 0;
      scan_left_ = scan_len_;
    }
    return {rank - 1, false};
  }

 private:
  ZipfSampler zipf_;
  std::uint64_t keys_;
  bool scans_;
  std::uint64_t scan_len_, scan_every_;
  std::uint64_t rng_;
  std::uint64_t since_scan_ = 0, scan_left_ = 0, next_cold_ = 0;
};

struct Result {
  std::uint64_t hits = 0, requests = 0;          // measured phase
  std::uint64_t zipf_hits = 0, zipf_requests = 0;  // measured phase, Zipf requests only
  double mean_items = 0;                          // live items during the measured phase
  fs::StoreStats stats{};                         // Store runs: at the end
  double seconds = 0;

  double hit_pct() const { return requests ? 100.0 * static_cast<double>(hits) / static_cast<double>(requests) : 0; }
  double zipf_hit_pct() const {
    return zipf_requests ? 100.0 * static_cast<double>(zipf_hits) / static_cast<double>(zipf_requests) : 0;
  }
};

std::size_t memory_limit_for(const Options& o) {
  return static_cast<std::size_t>(o.cache_fraction * static_cast<double>(o.keys) * kItemMemory);
}

Result run_store(const Options& o, bool with_scans, fs::EvictionPolicy policy) {
  const auto t0 = std::chrono::steady_clock::now();
  fs::StoreConfig cfg;
  cfg.memory_limit = memory_limit_for(o);
  cfg.policy = policy;
  if (o.item_size_hint != 0) cfg.item_size_hint = o.item_size_hint;
  cfg.table_slots = o.table_slots;
  fs::Store store(cfg);
  auto ctx = store.attach();
  Requests reqs(o, with_scans);
  Result r;
  const std::string_view value = value32();
  const std::uint64_t total = o.warmup + o.requests;
  const std::uint64_t sample_every = o.requests / 16 ? o.requests / 16 : 1;
  double item_samples = 0, n_samples = 0;
  char key[kKeyLen];
  for (std::uint64_t i = 0; i < total; ++i) {
    if (i % kLoopTurn == 0) {
      ctx->set_now(store.now_ms());
      ctx->quiescent();
      ctx->tick();
    }
    const bool measured = i >= o.warmup;
    if (measured && (i - o.warmup) % sample_every == sample_every - 1) {
      item_samples += static_cast<double>(store.stats().items);
      n_samples += 1;
    }
    const Requests::Request q = reqs.next();
    format_key(q.id, key);
    const fs::KeyRef k = fs::make_key(std::string_view(key, kKeyLen));
    const bool hit = static_cast<bool>(ctx->get(k));
    if (!hit) ctx->set(k, value);
    if (measured) {
      ++r.requests;
      r.hits += hit;
      if (!q.scan) {
        ++r.zipf_requests;
        r.zipf_hits += hit;
      }
    }
  }
  ctx->quiescent();
  r.mean_items = n_samples > 0 ? item_samples / n_samples : static_cast<double>(store.stats().items);
  r.stats = store.stats();
  ctx.reset();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

// Exact LRU over key ids: a hash map to nodes of an intrusive doubly-linked list kept in an
// array (node 0 is the list head sentinel). get moves a hit to the front; set inserts at the
// front, dropping the back when full.
class ExactLru {
 public:
  explicit ExactLru(std::size_t capacity) : capacity_(capacity), nodes_(capacity + 1) {
    nodes_[0].prev = nodes_[0].next = 0;
    map_.reserve(capacity);
  }

  bool get(std::uint64_t key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    unlink(it->second);
    push_front(it->second);
    return true;
  }

  void set(std::uint64_t key) {
    auto it = map_.find(key);
    if (it != map_.end()) {
      unlink(it->second);
      push_front(it->second);
      return;
    }
    if (capacity_ == 0) return;
    std::uint32_t n;
    if (used_ < capacity_) {
      n = static_cast<std::uint32_t>(++used_);
    } else {
      n = nodes_[0].prev;  // least recently used
      unlink(n);
      map_.erase(nodes_[n].key);
    }
    nodes_[n].key = key;
    push_front(n);
    map_.emplace(key, n);
  }

  std::size_t size() const { return map_.size(); }

 private:
  struct Node {
    std::uint64_t key = 0;
    std::uint32_t prev = 0, next = 0;
  };
  void unlink(std::uint32_t n) {
    nodes_[nodes_[n].prev].next = nodes_[n].next;
    nodes_[nodes_[n].next].prev = nodes_[n].prev;
  }
  void push_front(std::uint32_t n) {
    nodes_[n].prev = 0;
    nodes_[n].next = nodes_[0].next;
    nodes_[nodes_[0].next].prev = n;
    nodes_[0].next = n;
  }

  std::size_t capacity_;
  std::size_t used_ = 0;
  std::vector<Node> nodes_;
  std::unordered_map<std::uint64_t, std::uint32_t> map_;
};

Result run_lru(const Options& o, bool with_scans, std::size_t capacity) {
  const auto t0 = std::chrono::steady_clock::now();
  ExactLru lru(capacity);
  Requests reqs(o, with_scans);
  Result r;
  const std::uint64_t total = o.warmup + o.requests;
  for (std::uint64_t i = 0; i < total; ++i) {
    const Requests::Request q = reqs.next();
    const bool hit = lru.get(q.id);
    if (!hit) lru.set(q.id);
    if (i >= o.warmup) {
      ++r.requests;
      r.hits += hit;
      if (!q.scan) {
        ++r.zipf_requests;
        r.zipf_hits += hit;
      }
    }
  }
  r.mean_items = static_cast<double>(lru.size());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void print_store_detail(const char* workload, const char* name, const Result& r) {
  const auto& s = r.stats;
  std::printf("  detail workload=%s policy=%s hit%%=%.2f mean_items=%.0f items_end=%" PRId64
              " evictions=%" PRId64 " table_full_evictions=%" PRId64 " no_memory=%" PRId64
              " set_failures=%" PRId64 " bytes_used=%" PRId64 " table_slots=%" PRId64 " table_bytes=%" PRId64
              " seconds=%.1f\n",
              workload, name, r.hit_pct(), r.mean_items, s.items, s.evictions, s.table_full_evictions,
              s.no_memory, s.set_failures, s.bytes_used, s.table_slots, s.table_bytes, r.seconds);
}

void run_workload(const Options& o, bool with_scans) {
  const char* name = with_scans ? "zipf+scan" : "zipf";
  const Result clock = run_store(o, with_scans, fs::EvictionPolicy::kClock);
  print_store_detail(name, "clock", clock);
  std::fflush(stdout);
  const Result lfu = run_store(o, with_scans, fs::EvictionPolicy::kLfu);
  print_store_detail(name, "lfu", lfu);
  std::fflush(stdout);
  const auto capacity = static_cast<std::size_t>(clock.mean_items + 0.5);
  const Result lru = run_lru(o, with_scans, capacity);
  std::printf("  detail workload=%s policy=lru hit%%=%.2f capacity_items=%zu (= CLOCK store's mean live items;"
              " LFU store held %.0f) seconds=%.1f\n",
              name, lru.hit_pct(), capacity, lfu.mean_items, lru.seconds);
  std::printf("workload=%s clock=%.2f lfu=%.2f lru=%.2f clock-lru=%+.2f lfu-lru=%+.2f\n", name, clock.hit_pct(),
              lfu.hit_pct(), lru.hit_pct(), clock.hit_pct() - lru.hit_pct(), lfu.hit_pct() - lru.hit_pct());
  if (with_scans) {
    std::printf("workload=%s[zipf-requests-only] clock=%.2f lfu=%.2f lru=%.2f clock-lru=%+.2f lfu-lru=%+.2f\n",
                name, clock.zipf_hit_pct(), lfu.zipf_hit_pct(), lru.zipf_hit_pct(),
                clock.zipf_hit_pct() - lru.zipf_hit_pct(), lfu.zipf_hit_pct() - lru.zipf_hit_pct());
  }
  std::fflush(stdout);
}

// The hot set through a scan (--workload survival): an 8 MiB store of 200-byte values, a hot set of
// ~5% of what it holds read 1000 times each over a warm background filling 80% of it, then a scan
// of one-hit keys `scan_factor` times the store's size; prints the share of the hot set still
// there. CLOCK is expected to lose it to a 3x scan, LFU to keep it through 3x (the unit test
// StoreEviction.LfuKeepsFrequentKeysThroughScan asserts that); the 8x scan shows how long LFU
// holds on as the hand decays its counters.
double hot_survival(fs::EvictionPolicy policy, std::size_t reads_per_key, double scan_factor) {
  constexpr std::size_t kLimit = std::size_t{8} << 20;
  constexpr std::size_t kValue = 200;
  fs::StoreConfig cfg;
  cfg.memory_limit = kLimit;
  cfg.policy = policy;
  fs::Store store(cfg);
  auto ctx = store.attach();
  std::uint64_t ops = 0;
  auto step = [&] {
    if (++ops % 32 == 0) {
      ctx->tick();
      ctx->quiescent();
    }
  };
  char key[48];
  auto key_of = [&](const char* prefix, std::size_t i) {
    const int n = std::snprintf(key, sizeof key, "%s:%08zu", prefix, i);
    return fs::make_key(std::string_view(key, static_cast<std::size_t>(n)));
  };
  const std::string value(kValue, 'v');
  const std::size_t capacity = kLimit / (kValue + 64);
  const std::size_t hot_n = capacity / 20;
  for (std::size_t i = 0; i < hot_n; ++i, step()) ctx->set(key_of("hot", i), value);
  for (std::size_t i = 0; i < capacity * 4 / 5; ++i, step()) ctx->set(key_of("warm", i), value);
  for (std::size_t r = 0; r < reads_per_key; ++r) {
    for (std::size_t i = 0; i < hot_n; ++i, step()) static_cast<void>(ctx->get(key_of("hot", i)));
  }
  const auto scan_n = static_cast<std::size_t>(scan_factor * static_cast<double>(kLimit) / kValue);
  for (std::size_t j = 0; j < scan_n; ++j, step()) ctx->set(key_of("scan", j), value);
  std::size_t alive = 0;
  for (std::size_t i = 0; i < hot_n; ++i) {
    alive += static_cast<bool>(ctx->get(key_of("hot", i)));
    ctx->quiescent();
  }
  ctx.reset();
  return static_cast<double>(alive) / static_cast<double>(hot_n);
}

void run_survival() {
  std::printf("# survival: 8 MiB store, 200 B values, hot set = 5%% of capacity read 1000x each, then a scan\n");
  const double clock_3x = hot_survival(fs::EvictionPolicy::kClock, 1000, 3.0);
  const double lfu_3x = hot_survival(fs::EvictionPolicy::kLfu, 1000, 3.0);
  const double lfu_8x = hot_survival(fs::EvictionPolicy::kLfu, 1000, 8.0);
  std::printf("survival clock_3x=%.3f lfu_3x=%.3f lfu_8x=%.3f\n", clock_3x, lfu_3x, lfu_8x);
  std::fflush(stdout);
}

std::uint64_t parse_u64(const char* s) {
  // Accepts 10000000, 10M, 1e7.
  char* end = nullptr;
  const double d = std::strtod(s, &end);
  double mult = 1;
  if (end != nullptr && (*end == 'k' || *end == 'K')) mult = 1e3;
  if (end != nullptr && (*end == 'm' || *end == 'M')) mult = 1e6;
  return static_cast<std::uint64_t>(d * mult);
}

void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--keys N] [--requests N] [--warmup N] [--cache-fraction F] [--zipf S]\n"
               "          [--scan-len N] [--scan-every N] [--seed N] [--workload zipf|scan|both|survival]\n"
               "          [--item-size-hint N] [--table-slots N]\n"
               "defaults: --keys 10M --cache-fraction 0.10 --zipf 0.99 --scan-len keys/20 --scan-every keys/2\n"
               "          --warmup scan-every+scan-len --requests 2*(scan-every+scan-len) --seed 42 --workload both\n"
               "          --item-size-hint/--table-slots: the store's defaults unless given\n",
               argv0);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--help" || a == "-h") {
      usage(argv[0]);
      return 0;
    } else if (a == "--keys" && has_value) {
      o.keys = parse_u64(argv[++i]);
    } else if (a == "--requests" && has_value) {
      o.requests = parse_u64(argv[++i]);
    } else if (a == "--warmup" && has_value) {
      o.warmup = parse_u64(argv[++i]);
    } else if (a == "--cache-fraction" && has_value) {
      o.cache_fraction = std::strtod(argv[++i], nullptr);
    } else if (a == "--zipf" && has_value) {
      o.zipf_s = std::strtod(argv[++i], nullptr);
    } else if (a == "--scan-len" && has_value) {
      o.scan_len = parse_u64(argv[++i]);
    } else if (a == "--scan-every" && has_value) {
      o.scan_every = parse_u64(argv[++i]);
    } else if (a == "--seed" && has_value) {
      o.seed = parse_u64(argv[++i]);
    } else if (a == "--workload" && has_value) {
      o.workload = argv[++i];
    } else if (a == "--item-size-hint" && has_value) {
      o.item_size_hint = parse_u64(argv[++i]);
    } else if (a == "--table-slots" && has_value) {
      o.table_slots = parse_u64(argv[++i]);
    } else {
      usage(argv[0]);
      return 2;
    }
  }
  if (o.keys == 0 || o.cache_fraction <= 0 || o.cache_fraction > 1 ||
      (o.workload != "zipf" && o.workload != "scan" && o.workload != "both" && o.workload != "survival")) {
    usage(argv[0]);
    return 2;
  }
  if (o.scan_len == 0) o.scan_len = o.keys / 20 ? o.keys / 20 : 1;
  if (o.scan_every == 0) o.scan_every = o.keys / 2 ? o.keys / 2 : 1;
  // Whole scan cycles, so that the measured phase holds the same share of scans as the mix.
  if (o.warmup == 0) o.warmup = o.scan_every + o.scan_len;
  if (o.requests == 0) o.requests = 2 * (o.scan_every + o.scan_len);

  if (o.workload == "survival") {
    run_survival();
    return 0;
  }
  const std::size_t m = memory_limit_for(o);
  std::printf("# keys=%" PRIu64 " warmup=%" PRIu64 " requests=%" PRIu64 " zipf_s=%.2f seed=%" PRIu64
              " cache_fraction=%.3f\n",
              o.keys, o.warmup, o.requests, o.zipf_s, o.seed, o.cache_fraction);
  std::printf("# equal memory: Store memory_limit=%zu B (= %.3f x %" PRIu64
              " keys x 64 B item memory; covers items + table + wheels + headroom);"
              " exact LRU capacity = the CLOCK store's mean live items in the measured phase\n",
              m, o.cache_fraction, o.keys);
  std::printf("# scan mix: after every %" PRIu64 " Zipf requests, %" PRIu64
              " distinct cold keys requested once each (never seen otherwise): %.1f%% of requests\n",
              o.scan_every, o.scan_len,
              100.0 * static_cast<double>(o.scan_len) / static_cast<double>(o.scan_len + o.scan_every));
  std::printf("# hit%% = hits / measured requests; cache-aside: get, and set on a miss; 16 B keys, 32 B values\n");
  std::fflush(stdout);
  try {
    if (o.workload == "zipf" || o.workload == "both") run_workload(o, false);
    if (o.workload == "scan" || o.workload == "both") run_workload(o, true);
  } catch (const std::exception& e) {
    // e.g. the Store refuses a memory_limit below its minimum (8 MiB): raise --keys or
    // --cache-fraction (10% of 1M keys x 64 B = 6.4 MB is too small; 2M keys is enough).
    std::fprintf(stderr, "ferrite-hitratio: %s\n", e.what());
    return 1;
  }
  return 0;
}
