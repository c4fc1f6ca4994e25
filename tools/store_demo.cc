// ferrite-store-demo: runs the store the way a worker core would, until the daemon (ferrited)
// exists. It fills a store at a memory limit with a Zipf-skewed get/set mix and prints live
// figures once a second: ops/s, hit ratio, items, memory used against the limit, evictions.
//
//   ferrite-store-demo [--memory MiB] [--policy clock|lfu] [--seconds N] [--keys N]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "store/store.h"

namespace {

void usage() {
  std::puts(
      "usage: ferrite-store-demo [--memory MiB] [--policy clock|lfu] [--seconds N] [--keys N]\n"
      "  Drives one store context with a Zipf(0.99) 90:10 get:set mix of 16-byte keys and\n"
      "  32..512-byte values, and prints ops/s, hit ratio, items, memory and evictions each second.");
}

// Zipf sampler over [0, n) by inverting a precomputed CDF (fine for a demo's key counts).
class Zipf {
 public:
  Zipf(std::size_t n, double s) : cdf_(n) {
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / std::pow(static_cast<double>(i + 1), s);
    for (double& c : cdf_) c /= sum;
  }
  std::size_t operator()(ferrite::Rng& rng) const {
    const double u = rng.next_double();
    std::size_t lo = 0, hi = cdf_.size() - 1;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (cdf_[mid] < u) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

 private:
  std::vector<double> cdf_;
};

}  // namespace

int main(int argc, char** argv) {
  std::size_t memory_mib = 256, keys = 2'000'000;
  long seconds = 10;
  ferrite::store::StoreConfig cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--memory" && v) {
      memory_mib = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--seconds" && v) {
      seconds = std::strtol(v, nullptr, 10), ++i;
    } else if (a == "--keys" && v) {
      keys = std::strtoull(v, nullptr, 10), ++i;
    } else if (a == "--policy" && v) {
      if (std::strcmp(v, "lfu") == 0) {
        cfg.policy = ferrite::store::EvictionPolicy::kLfu;
      } else if (std::strcmp(v, "clock") != 0) {
        std::fprintf(stderr, "ferrite-store-demo: --policy takes clock or lfu, not '%s'\n", v);
        return 2;
      }
      ++i;
    } else {
      std::fprintf(stderr, "ferrite-store-demo: unknown argument '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (keys == 0) keys = 1;
  cfg.memory_limit = memory_mib << 20;
  try {
    ferrite::store::Store store(cfg);
    auto ctx = store.attach();
    std::printf("store: limit %zu MiB, %zu table slots (%zu MiB), policy %s, %zu keys, %ld s\n", memory_mib,
                store.table_slots(), store.table_bytes() >> 20,
                cfg.policy == ferrite::store::EvictionPolicy::kClock ? "clock" : "lfu", keys, seconds);
    Zipf zipf(keys, 0.99);
    ferrite::Rng rng(42);
    std::string value(512, 'v');
    char key[32];
    std::uint64_t ops = 0, last_ops = 0;
    auto last = store.now_ms();
    const auto end = last + static_cast<std::uint64_t>(seconds) * 1000;
    std::int64_t last_hits = 0, last_misses = 0;
    for (;;) {
      ctx->set_now(store.now_ms());
      for (int i = 0; i < 256; ++i, ++ops) {
        std::snprintf(key, sizeof key, "key:%012zu", zipf(rng));
        if (rng.next() % 10 == 0) {
          ctx->set(key, std::string_view(value).substr(0, 32 + rng.next() % 480));
        } else if (!ctx->get(key)) {
          ctx->set(key, std::string_view(value).substr(0, 32 + rng.next() % 480));  // cache-aside fill
        }
      }
      ctx->tick();
      ctx->quiescent();
      const auto now = store.now_ms();
      if (now - last >= 1000) {
        const auto s = store.stats();
        const auto hits = s.get_hits - last_hits, misses = s.get_misses - last_misses;
        std::printf("ops/s %9.0f  hit %5.1f%%  items %9lld  used %6.1f/%zu MiB  evictions %lld\n",
                    static_cast<double>(ops - last_ops) * 1000.0 / static_cast<double>(now - last),
                    hits + misses ? 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0,
                    static_cast<long long>(s.items), static_cast<double>(s.bytes_used) / (1 << 20), memory_mib,
                    static_cast<long long>(s.evictions));
        std::fflush(stdout);
        last = now, last_ops = ops, last_hits = s.get_hits, last_misses = s.get_misses;
        if (now >= end) break;
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferrite-store-demo: %s\n", e.what());
    return 1;
  }
  return 0;
}
