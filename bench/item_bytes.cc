// Bytes per item: fills a Store with N items (16-byte keys, 32-byte values, flags 0, no TTL) and
// prints what each item costs, by the store's own accounting (bytes_used, which counts items at
// their allocator usable size plus the table and the wheels) and by resident memory (RSS from
// /proc/self/statm before the store is built and after it is filled).
//
// Each configuration runs in a child process of its own so that one run's memory does not blur
// the next one's RSS:
//   default   memory_limit 128 MiB, the table sized by the store (memory_limit / item_size_hint)
//   realistic memory_limit 128 MiB, table_slots = 1.1 x items (the table ~90% full)
//
// Usage: ferrite-item-bytes [--items N] [--memory-limit BYTES] [--table-slots N]
//   With --memory-limit or --table-slots, runs only that one configuration (in-process).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench_util.h"
#include "store/store.h"

namespace {

using ferrite::bench::format_key;
using ferrite::bench::kKeyLen;
using ferrite::bench::kValueLen;
using ferrite::bench::rss_bytes;
using ferrite::bench::value32;
namespace fs = ferrite::store;

int run(const char* label, std::size_t items, std::size_t memory_limit, std::size_t table_slots) {
  // Keys are generated before the first RSS reading so that they do not count.
  std::vector<char> keys(items * kKeyLen);
  for (std::size_t i = 0; i < items; ++i) format_key(i, keys.data() + i * kKeyLen);
  const std::string_view value = value32();

  const std::size_t rss0 = rss_bytes();
  fs::StoreConfig cfg;
  cfg.memory_limit = memory_limit;
  cfg.table_slots = table_slots;
  std::size_t failures = 0;
  std::size_t rss1 = 0;
  {
    fs::Store store(cfg);
    auto ctx = store.attach();
    for (std::size_t i = 0; i < items; ++i) {
      if ((i & 63) == 0) {
        ctx->set_now(store.now_ms());
        ctx->quiescent();
        ctx->tick();
      }
      const auto r = ctx->set(std::string_view(keys.data() + i * kKeyLen, kKeyLen), value);
      failures += r.status != fs::Status::kOk;
    }
    ctx->quiescent();
    rss1 = rss_bytes();
    const auto st = store.stats();
    const double n = static_cast<double>(st.items > 0 ? st.items : 1);
    const double payload = static_cast<double>(kKeyLen + kValueLen);
    const double accounted = static_cast<double>(store.bytes_used()) / n;
    const double rss_per = static_cast<double>(rss1 - rss0) / n;
    std::printf("config=%s items_inserted=%zu items=%" PRId64 " failed_sets=%zu evictions=%" PRId64
                " memory_limit=%zu table_slots=%zu table_bytes=%zu table_load=%.3f\n",
                label, items, st.items, failures, st.evictions, store.memory_limit(), store.table_slots(),
                store.table_bytes(), static_cast<double>(st.items) / static_cast<double>(store.table_slots()));
    std::printf("config=%s item_bytes_per_item=%.2f table_bytes_per_item=%.2f wheel_bytes=%" PRId64
                " retired_bytes=%" PRId64 " bytes_used=%zu\n",
                label, static_cast<double>(st.item_bytes) / n, static_cast<double>(st.table_bytes) / n,
                st.wheel_bytes, st.retired_bytes, store.bytes_used());
    std::printf("config=%s accounted_bytes_per_item=%.2f overhead_accounted=%.2f rss_bytes_per_item=%.2f "
                "overhead_rss=%.2f (payload=%.0f: 16 B key + 32 B value)\n",
                label, accounted, accounted - payload, rss_per, rss_per - payload, payload);
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}

std::size_t parse_size(const char* s) { return static_cast<std::size_t>(std::strtoull(s, nullptr, 0)); }

}  // namespace

int main(int argc, char** argv) {
  std::size_t items = 1'000'000;
  std::size_t memory_limit = 0;
  std::size_t table_slots = 0;
  bool single = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--items" && i + 1 < argc) {
      items = parse_size(argv[++i]);
    } else if (a == "--memory-limit" && i + 1 < argc) {
      memory_limit = parse_size(argv[++i]);
      single = true;
    } else if (a == "--table-slots" && i + 1 < argc) {
      table_slots = parse_size(argv[++i]);
      single = true;
    } else {
      std::fprintf(stderr, "usage: %s [--items N] [--memory-limit BYTES] [--table-slots N]\n", argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  // Enough for the items at ~72 B each, with room for the headroom tick() keeps free.
  const std::size_t default_limit = std::max<std::size_t>(std::size_t{128} << 20, items * 128);
  if (single) return run("custom", items, memory_limit != 0 ? memory_limit : default_limit, table_slots);

  struct Config {
    const char* label;
    std::size_t slots;
  };
  const Config configs[] = {
      {"default_table", 0},
      {"table_1.1x", items + items / 10},
  };
  int rc = 0;
  for (const Config& c : configs) {
    std::fflush(stdout);
    const pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 1;
    }
    if (pid == 0) _exit(run(c.label, items, default_limit, c.slots));
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "config=%s failed (status %d)\n", c.label, status);
      rc = 1;
    }
  }
  return rc;
}
