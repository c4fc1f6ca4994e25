// ferrite-store-demo: runs the store the way a worker core would, until the daemon (ferrited)
// exists. It fills a store at a memory limit with a Zipf-skewed get/set mix and prints live
// figures once a second: ops/s, hit ratio, items, memory used against the limit, evictions.
//
//   ferrite-store-demo [--config FILE] [--memory SIZE] [--policy clock|lfu] [--seconds N] [--keys N]
//
// --config reads the [store] section of a Ferrite TOML file (configs/ferrite.toml); the other
// flags override it.
#include <toml++/toml.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/size.h"
#include "store/store.h"

namespace {

void usage() {
  std::puts(
      "usage: ferrite-store-demo [--config FILE] [--memory SIZE] [--policy clock|lfu] [--seconds N] [--keys N]\n"
      "  Drives one store context with a Zipf(0.99) 90:10 get:set mix of 16-byte keys and\n"
      "  32..512-byte values, and prints ops/s, hit ratio, items, memory and evictions each second.\n"
      "  --config reads [store] from a Ferrite TOML file (memory, policy, max_key_size,\n"
      "  max_item_size, item_size_hint); SIZE takes B, KiB, MiB, GiB (default 256MiB).");
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "ferrite-store-demo: %s\n", what.c_str());
  std::exit(2);
}

ferrite::store::EvictionPolicy parse_policy(std::string_view v, const char* where) {
  if (v == "clock") return ferrite::store::EvictionPolicy::kClock;
  if (v == "lfu") return ferrite::store::EvictionPolicy::kLfu;
  fail(std::string(where) + ": '" + std::string(v) + "' is not a policy (clock or lfu)");
}

std::uint64_t size_value(const toml::node& n, const std::string& key) {
  if (auto i = n.value<std::int64_t>(); i && *i >= 0) return static_cast<std::uint64_t>(*i);
  if (auto str = n.value<std::string>()) {
    if (auto v = ferrite::parse_size(*str)) return *v;
    fail(key + ": '" + *str + "' is not a size (for example 256MiB, 1GiB, 65536)");
  }
  fail(key + ": expected a size (a number of bytes or a string such as \"256MiB\")");
}

// Applies the [store] section of a TOML file; an unknown key is an error that names it.
void load_config(const char* path, ferrite::store::StoreConfig& cfg) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail(std::string(path) + ": " + std::string(e.description()));
  }
  const toml::table* store = doc["store"].as_table();
  if (store == nullptr) return;
  for (const auto& [k, node] : *store) {
    const std::string key = "store." + std::string(k.str());
    if (k == "memory") {
      cfg.memory_limit = size_value(node, key);
    } else if (k == "max_item_size") {
      cfg.max_item_size = size_value(node, key);
    } else if (k == "max_key_size") {
      cfg.max_key_size = size_value(node, key);
    } else if (k == "item_size_hint") {
      cfg.item_size_hint = size_value(node, key);
    } else if (k == "policy") {
      auto v = node.value<std::string>();
      if (!v) fail(key + ": expected \"clock\" or \"lfu\"");
      cfg.policy = parse_policy(*v, key.c_str());
    } else {
      fail(key + ": unknown setting (known: memory, policy, max_key_size, max_item_size, item_size_hint)");
    }
  }
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
  std::size_t keys = 2'000'000;
  long seconds = 10;
  ferrite::store::StoreConfig cfg;
  cfg.memory_limit = std::size_t{256} << 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    if (v == nullptr) fail("unknown argument '" + a + "' (see --help)");
    ++i;
    if (a == "--config") {
      load_config(v, cfg);
    } else if (a == "--memory") {
      auto m = ferrite::parse_size(v);
      if (!m) fail(std::string("--memory: '") + v + "' is not a size (for example 256MiB)");
      cfg.memory_limit = *m;
    } else if (a == "--seconds") {
      seconds = std::strtol(v, nullptr, 10);
    } else if (a == "--keys") {
      keys = std::strtoull(v, nullptr, 10);
    } else if (a == "--policy") {
      cfg.policy = parse_policy(v, "--policy");
    } else {
      fail("unknown argument '" + a + "' (see --help)");
    }
  }
  if (keys == 0) keys = 1;

  try {
    ferrite::store::Store store(cfg);
    auto ctx = store.attach();
    const std::size_t memory_mib = cfg.memory_limit >> 20;
    std::printf("store: limit %s, %zu table slots (%zu MiB), policy %s, %zu keys, %ld s\n",
                ferrite::format_size(cfg.memory_limit).c_str(), store.table_slots(), store.table_bytes() >> 20,
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
