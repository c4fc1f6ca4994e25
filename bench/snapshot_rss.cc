// ferrite-snapshot-rss: what a fork-less snapshot costs in memory and time. Fills a store
// (--items values of --value bytes, random letters), starts --writers threads updating random
// keys as fast as they can (--throttle-us between batches of 64), then takes a snapshot while
// they run and samples the process's RSS every 2 ms: the RSS before (the highest over the
// second before the snapshot) and the highest during it, the snapshot's time, size and tail,
// the writers' rate without and with the snapshot, and the load of the file into a fresh store.
//
//   ferrite-snapshot-rss --items 2000000 --value 200 --writers 2 --dir /tmp
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "persist/snapshot.h"
#include "persist/snapshot_format.h"

namespace {

using namespace ferrite;
using Clock = std::chrono::steady_clock;

struct Args {
  std::uint64_t items = 2'000'000;
  std::size_t value = 200;
  unsigned writers = 2;
  unsigned throttle_us = 0;
  unsigned load_threads = 2;
  unsigned warmup_s = 10;
  std::size_t memory_mib = 0;  // the store's limit; 0: twice the data
  int level = 3;
  std::string dir = "/tmp";
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--items") a.items = std::strtoull(v, nullptr, 10);
    else if (k == "--value") a.value = std::strtoull(v, nullptr, 10);
    else if (k == "--writers") a.writers = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--throttle-us") a.throttle_us = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--load-threads") a.load_threads = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--memory-mib") a.memory_mib = std::strtoull(v, nullptr, 10);
    else if (k == "--warmup-s") a.warmup_s = static_cast<unsigned>(std::strtoul(v, nullptr, 10));
    else if (k == "--level") a.level = std::atoi(v);
    else if (k == "--dir") a.dir = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

void fill_value(std::mt19937_64& rng, std::string& v, std::size_t n) {
  v.resize(n);
  // Letters from a small alphabet: compressible about as much as typical cached text.
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t r = rng();
    for (std::size_t j = 0; j < 8 && i + j < n; ++j) v[i + j] = static_cast<char>('a' + ((r >> (j * 8)) & 15));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  store::StoreConfig c;
  c.memory_limit = a.memory_mib != 0 ? a.memory_mib << 20
                                     : std::max<std::size_t>(std::size_t{1} << 30, a.items * (a.value + 96) * 2);
  c.max_contexts = a.writers + 4;
  c.table_slots = a.items + a.items / 2;
  store::Partitions parts(c, 1);
  char key[bench::kKeyLen];
  {
    store::PartitionedContext ctx(parts, 0);
    ctx.set_now(parts.now_ms());
    std::mt19937_64 rng(1);
    std::string v;
    for (std::uint64_t i = 0; i < a.items; ++i) {
      bench::format_key(i, key);
      fill_value(rng, v, a.value);
      ctx.set(std::string_view(key, sizeof key), v);
      if (i % 1024 == 0) {
        ctx.tick();
        ctx.quiescent();
      }
    }
    ctx.quiescent();
    ctx.offline();
  }
  const std::size_t rss_filled = bench::rss_bytes();
  persist::SnapshotTail tail(parts.at(0), 1, std::size_t{64} << 20);
  std::atomic<bool> run{true};
  std::atomic<std::uint64_t> ops{0};
  std::vector<std::thread> writers;
  for (unsigned w = 0; w < a.writers; ++w) {
    writers.emplace_back([&, w] {
      store::PartitionedContext ctx(parts, 0);
      ctx.at(0).set_observer(tail.observer(0));
      std::mt19937_64 rng(100 + w);
      std::string v;
      fill_value(rng, v, a.value);
      char k[bench::kKeyLen];
      while (run.load(std::memory_order_relaxed)) {
        ctx.set_now(parts.now_ms());
        for (int i = 0; i < 64; ++i) {
          bench::format_key(rng() % a.items, k);
          v[rng() % v.size()] = static_cast<char>('a' + rng() % 16);
          ctx.set(std::string_view(k, sizeof k), v);
        }
        ops.fetch_add(64, std::memory_order_relaxed);
        ctx.tick();
        ctx.quiescent();
        if (a.throttle_us != 0) {
          ctx.offline();
          std::this_thread::sleep_for(std::chrono::microseconds(a.throttle_us));
          ctx.online();
        }
      }
      ctx.offline();
    });
  }
  // The update load alone until the store's memory settles (old values freed as new ones are
  // written), then the RSS's highest over two seconds: the baseline.
  std::this_thread::sleep_for(std::chrono::seconds(a.warmup_s));
  std::size_t rss_before = 0;
  const std::uint64_t ops0 = ops.load();
  const auto tb = Clock::now();
  while (Clock::now() - tb < std::chrono::seconds(2)) {
    rss_before = std::max(rss_before, bench::rss_bytes());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double rate_before = static_cast<double>(ops.load() - ops0) / 2.0;

  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> rss_peak{0};
  std::thread sampler([&] {
    while (sampling.load()) {
      const std::size_t r = bench::rss_bytes();
      if (r > rss_peak.load()) rss_peak.store(r);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  persist::SnapshotOptions opt;
  opt.level = a.level;
  const std::uint64_t ops1 = ops.load();
  const persist::SnapshotResult r = persist::write_snapshot(parts, &tail, a.dir, 1, opt);
  const double rate_during = static_cast<double>(ops.load() - ops1) / std::max(r.seconds, 1e-9);
  sampling.store(false);
  sampler.join();
  // The control: as long again under the same load without a snapshot, its highest RSS.
  std::size_t rss_control = 0;
  const auto tc = Clock::now();
  while (Clock::now() - tc < std::chrono::duration<double>(std::max(r.seconds, 2.0))) {
    rss_control = std::max(rss_control, bench::rss_bytes());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  run.store(false);
  for (auto& t : writers) t.join();
  if (!r.error.empty()) {
    std::fprintf(stderr, "snapshot failed: %s\n", r.error.c_str());
    return 1;
  }
  const double mib = 1024.0 * 1024.0;
  std::printf("items %llu x %zu B values, %u writers\n", static_cast<unsigned long long>(a.items), a.value, a.writers);
  std::printf("rss filled %.1f MiB, under updates %.1f MiB, peak during snapshot %.1f MiB: +%.1f MiB (%.2f%%)\n",
              static_cast<double>(rss_filled) / mib, static_cast<double>(rss_before) / mib,
              static_cast<double>(rss_peak.load()) / mib,
              (static_cast<double>(rss_peak.load()) - static_cast<double>(rss_before)) / mib,
              100.0 * (static_cast<double>(rss_peak.load()) - static_cast<double>(rss_before)) /
                  static_cast<double>(rss_before));
  std::printf("control (same load, no snapshot, %.1f s after it): peak %.1f MiB\n", std::max(r.seconds, 2.0),
              static_cast<double>(rss_control) / mib);
  std::printf("snapshot %.2f s: %llu items, %llu tail records, raw %.1f MiB, file %.1f MiB (%.2fx), %.0f MiB/s raw\n",
              r.seconds, static_cast<unsigned long long>(r.items), static_cast<unsigned long long>(r.tail_records),
              static_cast<double>(r.raw_bytes) / mib, static_cast<double>(r.file_bytes) / mib,
              static_cast<double>(r.raw_bytes) / static_cast<double>(std::max<std::uint64_t>(r.file_bytes, 1)),
              static_cast<double>(r.raw_bytes) / mib / r.seconds);
  std::printf("writer sets/s: %.0f before, %.0f during the snapshot; store evictions %lld\n", rate_before, rate_during,
              static_cast<long long>(parts.stats().evictions));

  store::Partitions dst(c, 1);
  const persist::LoadResult l = persist::load_snapshot(r.path, dst, {.threads = a.load_threads});
  if (!l.error.empty()) {
    std::fprintf(stderr, "load failed: %s\n", l.error.c_str());
    return 1;
  }
  std::printf("load %.2f s on %u threads: %llu items + %llu tail records, %.2f GB/s raw\n", l.seconds, a.load_threads,
              static_cast<unsigned long long>(l.loaded), static_cast<unsigned long long>(l.tail_applied),
              static_cast<double>(r.raw_bytes) / 1e9 / l.seconds);
  std::filesystem::remove(r.path);
  return 0;
}
