// Several threads, each with its own Context, on one store. Every value written is
// self-validating, so a torn or freed-and-reused value shows up as a bad segment; every view is
// read in full again right before quiescent(), so (under ASan/TSan especially) memory freed
// before the grace period ends is caught.
//
// Value format: a whole number of 16-byte segments, each
//   [0]      0xA5 magic (so a value is never numeric)
//   [1..3]   key id (24 bits)
//   [4..7]   writer tag (thread, sequence)
//   [8..11]  segment index
//   [12..15] FNV-1a of bytes 0..11
// append/prepend add whole segments, so every state of a key is valid.
//
// Loop counts scale with FERRITE_TEST_SCALE and drop tenfold under a sanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/rng.h"
#include "store/store.h"
#include "store_test_util.h"

namespace ferrite::store {
namespace {

using testing::key_n;
using testing::scaled;

constexpr std::uint64_t kT0 = 1000;
constexpr std::size_t kSeg = 16;
constexpr unsigned kThreads = 3;

std::uint32_t fnv32(const unsigned char* p, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

std::string make_value(std::uint32_t key_id, std::uint32_t tag, std::size_t segments) {
  std::string v(segments * kSeg, '\0');
  auto* p = reinterpret_cast<unsigned char*>(v.data());
  for (std::uint32_t s = 0; s < segments; ++s, p += kSeg) {
    p[0] = 0xA5;
    p[1] = static_cast<unsigned char>(key_id);
    p[2] = static_cast<unsigned char>(key_id >> 8);
    p[3] = static_cast<unsigned char>(key_id >> 16);
    std::memcpy(p + 4, &tag, 4);
    std::memcpy(p + 8, &s, 4);
    const std::uint32_t sum = fnv32(p, 12);
    std::memcpy(p + 12, &sum, 4);
  }
  return v;
}

// Empty string when valid, else what is wrong.
std::string check_value(std::string_view v, std::uint32_t key_id) {
  if (v.empty() || v.size() % kSeg != 0) return "bad length " + std::to_string(v.size());
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  for (std::size_t off = 0; off < v.size(); off += kSeg, p += kSeg) {
    std::uint32_t sum;
    std::memcpy(&sum, p + 12, 4);
    if (p[0] != 0xA5 || sum != fnv32(p, 12)) return key_n("corrupt segment at offset ", off);
    const std::uint32_t id = p[1] | (p[2] << 8) | (p[3] << 16);
    if (id != key_id) return key_n("segment of key ", id) + key_n(" in key ", key_id);
  }
  return {};
}

// A checksum over the whole value, to see that a held view did not change before quiescent().
std::uint32_t whole_sum(std::string_view v) {
  return fnv32(reinterpret_cast<const unsigned char*>(v.data()), v.size()) ^
         static_cast<std::uint32_t>(v.size());
}

std::string data_key(std::uint32_t id) { return key_n("data:", id); }

// Errors from worker threads: a count plus the first few messages.
class Errors {
 public:
  void add(const std::string& what) {
    if (count_.fetch_add(1) < 10) {
      std::lock_guard<std::mutex> lock(mu_);
      messages_ += what + "\n";
    }
  }
  std::size_t count() const { return count_.load(); }
  std::string messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  std::atomic<std::size_t> count_{0};
  mutable std::mutex mu_;
  std::string messages_;
};

// A view held until the next quiescent point, with what it looked like when taken.
struct Held {
  ItemView view;
  std::uint32_t key_id;
  std::uint32_t sum;
};

// Re-reads every held view (it must be unchanged), then passes a quiescent point.
void verify_and_quiesce(Context& ctx, std::vector<Held>& held, Errors& errors) {
  for (const Held& h : held) {
    if (whole_sum(h.view.value()) != h.sum) {
      errors.add(key_n("view of key ", h.key_id) + " changed before quiescent()");
    }
  }
  held.clear();
  ctx.quiescent();
}

std::string summary(const Store& store) {
  const StoreStats s = store.stats();
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "store: items %lld, bytes_used %lld of %lld (items %lld, retired %lld), evictions %lld, "
                "no_memory %lld",
                static_cast<long long>(s.items), static_cast<long long>(s.bytes_used),
                static_cast<long long>(s.memory_limit), static_cast<long long>(s.item_bytes),
                static_cast<long long>(s.retired_bytes), static_cast<long long>(s.evictions),
                static_cast<long long>(s.no_memory));
  return buf;
}

StoreConfig roomy_config() {
  StoreConfig c;
  c.memory_limit = std::size_t{64} << 20;
  c.max_contexts = kThreads + 1;            // one per thread, plus the main thread
  c.max_item_size = std::size_t{64} << 10;  // bounds append growth: 256 keys x 64 KiB << limit
  return c;
}

void run_threads(unsigned n, const std::function<void(unsigned)>& body) {
  std::vector<std::thread> threads;
  std::atomic<unsigned> ready{0};
  for (unsigned t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < n) std::this_thread::yield();
      body(t);
    });
  }
  for (auto& th : threads) th.join();
}

TEST(StoreConcurrency, MixedOperationsNeverTearValues) {
  Store store(roomy_config());
  constexpr std::uint32_t kKeys = 256;
  const std::size_t ops = scaled(60'000, 2000);
  Errors errors;
  std::atomic<std::uint64_t> hits{0}, no_memory{0};

  run_threads(kThreads, [&](unsigned t) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    Rng rng(0x1234 + t);
    std::vector<Held> held;
    std::uint32_t seq = 0;
    auto tag = [&] { return (t << 24) | (++seq & 0xFFFFFF); };
    auto segments = [&] { return rng.next() % 16 == 0 ? 1 + rng.next() % 4000 : 1 + rng.next() % 48; };
    auto hold = [&](ItemView v, std::uint32_t id, const char* op) {
      if (!v) return;
      const std::string bad = check_value(v.value(), id);
      if (!bad.empty()) errors.add(std::string(op) + key_n(" key ", id) + ": " + bad);
      if (v.key() != data_key(id)) errors.add(std::string(op) + ": view has the wrong key");
      held.push_back({v, id, whole_sum(v.value())});
      hits.fetch_add(1, std::memory_order_relaxed);
    };
    auto expect = [&](Status st, std::initializer_list<Status> ok, const char* op) {
      for (Status s : ok) {
        if (s == st) return;
      }
      if (st == Status::kNoMemory) {  // counted apart from corruption: the store is far from full
        no_memory.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      errors.add(std::string(op) + " returned " + status_name(st));
    };

    for (std::size_t i = 0; i < ops; ++i) {
      const auto id = static_cast<std::uint32_t>(rng.next() % kKeys);
      const std::string key = data_key(id);
      const unsigned op = static_cast<unsigned>(rng.next() % 100);
      if (op < 35) {
        hold(ctx->get(key), id, "get");
      } else if (op < 55) {
        SetRequest req;
        req.flags = id;
        const SetResult r = ctx->set(key, make_value(id, tag(), segments()), req);
        expect(r.status, {Status::kOk}, "set");
      } else if (op < 63) {
        SetRequest req;
        req.mode = SetMode::kAppend;
        expect(ctx->set(key, make_value(id, tag(), 1 + rng.next() % 8), req).status,
               {Status::kOk, Status::kNotStored, Status::kTooLarge}, "append");
      } else if (op < 67) {
        SetRequest req;
        req.mode = SetMode::kPrepend;
        expect(ctx->set(key, make_value(id, tag(), 1 + rng.next() % 8), req).status,
               {Status::kOk, Status::kNotStored, Status::kTooLarge}, "prepend");
      } else if (op < 70) {
        SetRequest req;
        req.mode = SetMode::kAdd;
        req.flags = id;
        expect(ctx->set(key, make_value(id, tag(), segments()), req).status,
               {Status::kOk, Status::kNotStored}, "add");
      } else if (op < 75) {
        expect(ctx->del(key), {Status::kOk, Status::kNotFound}, "delete");
      } else if (op < 80) {
        expect(ctx->touch(key, rng.next() % 2 ? 0 : kT0 + 1'000'000'000), {Status::kOk, Status::kNotFound},
               "touch");
      } else if (op < 83) {
        hold(ctx->gat(key, 0), id, "gat");
      } else if (op < 92) {
        // cas: read, then store only if unchanged.
        ItemView v = ctx->get(key);
        hold(v, id, "cas-get");
        SetRequest req;
        req.mode = SetMode::kCas;
        req.flags = id;
        req.cas = v ? v.cas() : 12345;
        expect(ctx->set(key, make_value(id, tag(), segments()), req).status,
               {Status::kOk, Status::kExists, Status::kNotFound}, "cas");
      } else if (op < 95) {
        expect(ctx->incr(key, 1).status, {Status::kNonNumeric, Status::kNotFound}, "incr on data");
      } else {
        std::string names[4];
        KeyRef refs[4];
        std::uint32_t ids[4];
        for (int k = 0; k < 4; ++k) {
          ids[k] = static_cast<std::uint32_t>(rng.next() % kKeys);
          names[k] = data_key(ids[k]);
          refs[k] = make_key(names[k]);
        }
        ItemView out[4];
        ctx->get_batch(refs, out);
        for (int k = 0; k < 4; ++k) hold(out[k], ids[k], "get_batch");
      }
      if (i % 8 == 7) {
        ctx->tick();
        verify_and_quiesce(*ctx, held, errors);
      }
    }
    verify_and_quiesce(*ctx, held, errors);
  });

  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
  EXPECT_EQ(no_memory.load(), 0u) << "stores refused with kNoMemory although the live data (at most "
                                     "256 keys x 64 KiB) is a quarter of the limit; "
                                  << summary(store);
  EXPECT_GT(hits.load(), ops / 10) << "the mix hardly ever found anything: the test is not testing";
  EXPECT_LE(store.bytes_used(), store.memory_limit());
  // Every surviving value is still whole.
  auto ctx = store.attach();
  ctx->set_now(kT0);
  for (std::uint32_t id = 0; id < kKeys; ++id) {
    ItemView v = ctx->get(data_key(id));
    if (v) {
      EXPECT_EQ(check_value(v.value(), id), "") << id;
      EXPECT_EQ(v.flags(), id);
    }
  }
  ctx->quiescent();
}

// The smallest multi-context workload: two contexts, each overwriting its own key with a few bytes.
// Nothing is ever close to the limit, so every write must succeed.
TEST(StoreConcurrency, TinyWorkingSetNeverRefused) {
  Store store(roomy_config());
  const std::size_t writes = scaled(50'000, 1000);
  std::atomic<std::uint64_t> refused{0};
  run_threads(2, [&](unsigned t) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    const std::string key = key_n("own:", t);
    std::uint64_t mine = 0;
    for (std::size_t i = 0; i < writes; ++i) {
      if (ctx->set(key, std::to_string(i)).status != Status::kOk) ++mine;
      ctx->quiescent();
    }
    refused.fetch_add(mine);
  });
  EXPECT_EQ(refused.load(), 0u) << "of " << 2 * writes << " writes; " << summary(store);
  EXPECT_EQ(store.stats().items, 2);
  EXPECT_EQ(store.stats().evictions, 0);
}

TEST(StoreConcurrency, IncrementsAreNeverLost) {
  Store store(roomy_config());
  constexpr unsigned kCounters = 8;
  const std::size_t per_thread = scaled(20'000, 500);
  {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    for (unsigned c = 0; c < kCounters; ++c) {
      ASSERT_EQ(ctx->set(key_n("ctr:", c), "0").status, Status::kOk);
    }
  }
  Errors errors;
  run_threads(kThreads, [&](unsigned t) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    Rng rng(77 + t);
    bool overflow = false;
    // Each thread adds 1 to every counter per_thread times (memcached incr), and to every signed
    // counter per_thread times (Redis INCRBY, whose first increment creates the key).
    for (std::size_t i = 0; i < per_thread; ++i) {
      const auto rotation = static_cast<unsigned>(rng.next());  // every counter once, in a varying order
      for (unsigned c = 0; c < kCounters; ++c) {
        const unsigned k = (c + rotation) % kCounters;
        const ArithResult r = ctx->incr(key_n("ctr:", k), 1);
        if (r.status != Status::kOk) errors.add(std::string("incr: ") + status_name(r.status));
      }
      const unsigned s = static_cast<unsigned>(rng.next() % 2);
      const ArithResult r = ctx->incr_signed(key_n("sctr:", s), i % 2 ? 3 : -1, &overflow);
      if (r.status != Status::kOk) errors.add(std::string("incr_signed: ") + status_name(r.status));
      if (i % 4 == 3) {
        ctx->tick();
        ctx->quiescent();
      }
    }
    // Balance the signed counters so that their totals are known: per_thread ops spread over
    // two keys; add what each thread did to a fixed third key too.
    for (std::size_t i = 0; i < per_thread; ++i) {
      const ArithResult r = ctx->incr_signed("sctr:total", i % 2 ? 3 : -1, &overflow);
      if (r.status != Status::kOk) errors.add(std::string("incr_signed total: ") + status_name(r.status));
      if (i % 4 == 3) ctx->quiescent();
    }
    ctx->quiescent();
  });
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);

  auto ctx = store.attach();
  ctx->set_now(kT0);
  const std::uint64_t expected = std::uint64_t{kThreads} * per_thread;
  for (unsigned c = 0; c < kCounters; ++c) {
    ItemView v = ctx->get(key_n("ctr:", c));
    ASSERT_TRUE(v);
    EXPECT_EQ(std::string(v.value()), std::to_string(expected)) << "counter " << c;
  }
  // Each thread's i-th signed op adds 3 for odd i and -1 for even i.
  const std::int64_t per =
      static_cast<std::int64_t>(per_thread / 2) * 3 - static_cast<std::int64_t>((per_thread + 1) / 2);
  const std::int64_t signed_expected = per * kThreads;
  ItemView total = ctx->get("sctr:total");
  ASSERT_TRUE(total);
  EXPECT_EQ(std::string(total.value()), std::to_string(signed_expected));
  ItemView s0 = ctx->get("sctr:0"), s1 = ctx->get("sctr:1");
  std::int64_t sum = 0;
  if (s0) sum += std::stoll(std::string(s0.value()));
  if (s1) sum += std::stoll(std::string(s1.value()));
  EXPECT_EQ(sum, signed_expected);
  ctx->quiescent();
}

// get + set(kCas) retry loops, mixed with plain incr on the same counters: none is lost.
TEST(StoreConcurrency, CasIncrementsAreNeverLost) {
  Store store(roomy_config());
  constexpr unsigned kCounters = 2;  // few, so that CAS conflicts are frequent
  const std::size_t per_thread = scaled(30'000, 1000);
  {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    for (unsigned c = 0; c < kCounters; ++c) ctx->set(key_n("cas:", c), "0");
  }
  Errors errors;
  std::atomic<std::uint64_t> retries{0};
  run_threads(kThreads, [&](unsigned t) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    Rng rng(991 + t);
    for (std::size_t i = 0; i < per_thread; ++i) {
      const std::string key = "cas:" + std::to_string(rng.next() % kCounters);
      if (i % 3 == 2) {
        // A plain incr on the same key must invalidate concurrent CAS readers.
        const ArithResult r = ctx->incr(key, 1);
        if (r.status != Status::kOk) errors.add(std::string("incr: ") + status_name(r.status));
      } else {
        for (int attempt = 0;; ++attempt) {
          ItemView v = ctx->get(key);
          if (!v) {
            errors.add("counter vanished");
            break;
          }
          const std::uint64_t n = std::stoull(std::string(v.value()));
          SetRequest req;
          req.mode = SetMode::kCas;
          req.cas = v.cas();
          const Status st = ctx->set(key, std::to_string(n + 1), req).status;
          ctx->quiescent();
          if (st == Status::kOk) break;
          if (st != Status::kExists) {
            errors.add(std::string("cas: ") + status_name(st));
            break;
          }
          retries.fetch_add(1, std::memory_order_relaxed);
          if (attempt > 100000) {
            errors.add("cas retry loop does not converge");
            break;
          }
        }
      }
      if (i % 4 == 3) {
        ctx->tick();
        ctx->quiescent();
      }
    }
    ctx->quiescent();
  });
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
  std::printf("cas retries: %llu\n", static_cast<unsigned long long>(retries.load()));

  auto ctx = store.attach();
  ctx->set_now(kT0);
  std::uint64_t total = 0;
  for (unsigned c = 0; c < kCounters; ++c) {
    ItemView v = ctx->get(key_n("cas:", c));
    ASSERT_TRUE(v);
    total += std::stoull(std::string(v.value()));
  }
  ctx->quiescent();
  EXPECT_EQ(total, std::uint64_t{kThreads} * per_thread);
}

// The interleaving the CAS loops above rely on, made deterministic: context A reads, context B
// writes, A's cas must fail (a touch by B does not change the CAS, so A's cas still matches).
TEST(StoreConcurrency, CasAcrossContextsSeesInterleavedWrites) {
  Store store(roomy_config());
  auto a = store.attach();
  auto b = store.attach();
  a->set_now(kT0);
  b->set_now(kT0);
  bool overflow = false;
  const std::function<Status()> writes[] = {
      [&] { return b->set("k", "1").status; },
      [&] { return b->incr("k", 1).status; },
      [&] { return b->incr_signed("k", 1, &overflow).status; },
      [&] {
        SetRequest req;
        req.mode = SetMode::kAppend;
        return b->set("k", "0", req).status;
      },
      [&] { return b->del("k"); },
  };
  for (std::size_t w = 0; w < std::size(writes); ++w) {
    SCOPED_TRACE(w);
    ASSERT_EQ(a->set("k", "5").status, Status::kOk);
    ItemView v = a->get("k");
    ASSERT_TRUE(v);
    const std::uint64_t cas = v.cas();
    a->quiescent();
    ASSERT_EQ(writes[w](), Status::kOk);
    b->quiescent();
    SetRequest req;
    req.mode = SetMode::kCas;
    req.cas = cas;
    const Status st = a->set("k", "6", req).status;
    EXPECT_EQ(st, w == 4 ? Status::kNotFound : Status::kExists);
  }
  ASSERT_EQ(a->set("k", "5").status, Status::kOk);
  ItemView v = a->get("k");
  ASSERT_TRUE(v);
  const std::uint64_t cas = v.cas();
  a->quiescent();
  ASSERT_EQ(b->touch("k", kT0 + 100'000), Status::kOk);
  SetRequest req;
  req.mode = SetMode::kCas;
  req.cas = cas;
  EXPECT_EQ(a->set("k", "6", req).status, Status::kOk);
  a->quiescent();
  b.reset();
  a.reset();
}

// Writers replace values of varying sizes; readers verify every byte, hold views across a few
// reads and re-verify them right before quiescent().
void readers_vs_writers(const StoreConfig& config, std::size_t max_segments) {
  Store store(config);
  constexpr std::uint32_t kKeys = 64;
  constexpr unsigned kWriters = 1, kReaders = 2;
  const std::size_t writes = scaled(30'000, 1000);
  Errors errors;
  std::atomic<bool> writers_done{false};
  std::atomic<std::uint64_t> verified{0};
  {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    for (std::uint32_t id = 0; id < kKeys; ++id) ctx->set(data_key(id), make_value(id, 0, 1));
  }
  std::atomic<unsigned> writers_left{kWriters};
  run_threads(kWriters + kReaders, [&](unsigned t) {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    Rng rng(4242 + t);
    if (t < kWriters) {
      for (std::size_t i = 0; i < writes; ++i) {
        const auto id = static_cast<std::uint32_t>(rng.next() % kKeys);
        const std::size_t segs = rng.next() % 32 == 0 ? 1 + rng.next() % max_segments : 1 + rng.next() % 64;
        const Status st = ctx->set(data_key(id), make_value(id, static_cast<std::uint32_t>(i), segs)).status;
        if (st != Status::kOk) errors.add(std::string("set: ") + status_name(st));
        if (i % 16 == 0) ctx->del(data_key(static_cast<std::uint32_t>(rng.next() % kKeys)));
        if (i % 4 == 3) {
          ctx->tick();
          ctx->quiescent();
        }
      }
      if (writers_left.fetch_sub(1) == 1) writers_done.store(true);
    } else {
      std::vector<Held> held;
      std::size_t i = 0;
      while (!writers_done.load(std::memory_order_relaxed)) {
        const auto id = static_cast<std::uint32_t>(rng.next() % kKeys);
        ItemView v = ctx->get(data_key(id));
        if (v) {
          const std::string bad = check_value(v.value(), id);
          if (!bad.empty()) errors.add(key_n("reader, key ", id) + ": " + bad);
          held.push_back({v, id, whole_sum(v.value())});
          verified.fetch_add(1, std::memory_order_relaxed);
        }
        if (++i % 6 == 0) verify_and_quiesce(*ctx, held, errors);
      }
      verify_and_quiesce(*ctx, held, errors);
    }
  });
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
  EXPECT_GT(verified.load(), 0u);
  EXPECT_LE(store.bytes_used(), store.memory_limit());
}

TEST(StoreConcurrency, ReadersVersusWritersOfVaryingSizes) {
  StoreConfig c;
  c.memory_limit = std::size_t{64} << 20;
  c.max_contexts = kThreads + 1;  // one per thread, plus the main thread
  readers_vs_writers(c, 4000);    // up to 64 KiB
}

TEST(StoreConcurrency, ReadersVersusWritersUnderEviction) {
  // A small limit: writers evict constantly, so items readers are looking at get freed.
  StoreConfig c;
  c.memory_limit = std::size_t{8} << 20;
  c.max_contexts = kThreads + 1;  // one per thread, plus the main thread
  readers_vs_writers(c, 16000);   // up to 256 KiB: 64 keys of that do not fit in 8 MiB
}

// One thread holds a view without passing a quiescent point while another overwrites and deletes
// the key and keeps ticking: the view must read the original bytes until the holder quiesces.
TEST(StoreConcurrency, ViewSurvivesOverwriteUntilQuiescent) {
  StoreConfig c;
  c.memory_limit = std::size_t{16} << 20;
  c.max_contexts = kThreads + 1;  // one per thread, plus the main thread
  Store store(c);
  const int rounds = static_cast<int>(scaled(20, 3));
  Errors errors;
  std::atomic<int> round{0};    // set by the holder: the round it holds a view for
  std::atomic<int> churned{0};  // set by the writer: the last round it churned
  std::atomic<bool> stop{false};
  std::thread holder([&] {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    for (int r = 1; r <= rounds; ++r) {
      const std::string value = make_value(7, static_cast<std::uint32_t>(r), 2000);
      ctx->set("victim", value);
      ItemView v = ctx->get("victim");
      if (!v) {
        errors.add("victim missing right after set");
        continue;
      }
      const std::uint32_t sum = whole_sum(v.value());
      round.store(r);
      // Give the writer time to overwrite, delete, tick and pass many quiescent points.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (churned.load() < r && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      if (whole_sum(v.value()) != sum || !check_value(v.value(), 7).empty()) {
        errors.add(key_n("held view changed in round ", r));
      }
      ctx->quiescent();
    }
    stop.store(true);
  });
  std::thread writer([&] {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    int seen = 0;
    while (!stop.load()) {
      const int r = round.load();
      if (r == seen) {
        ctx->quiescent();
        std::this_thread::yield();
        continue;
      }
      for (int i = 0; i < 200; ++i) {
        ctx->set("victim", make_value(7, 1000 + i, 1 + i % 50));
        if (i % 50 == 0) ctx->del("victim");
        // Unrelated churn so that allocations reuse freed memory.
        ctx->set(key_n("filler:", i % 20), make_value(8, i, 2000));
        ctx->tick();
        ctx->quiescent();
      }
      seen = r;
      churned.store(r);
    }
  });
  holder.join();
  writer.join();
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
}

// An offline context does not hold reclamation back: with a small limit, a writer keeps
// replacing large values while another attached context sits offline.
TEST(StoreConcurrency, OfflineContextDoesNotBlockReclamation) {
  StoreConfig c;
  c.memory_limit = std::size_t{8} << 20;
  c.max_contexts = kThreads + 1;  // one per thread, plus the main thread
  Store store(c);
  std::atomic<bool> offline{false}, done{false};
  Errors errors;
  std::thread idle([&] {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    ctx->quiescent();
    ctx->offline();
    offline.store(true);
    while (!done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ctx->online();
    ctx->set("idle", "back");
    ItemView v = ctx->get("idle");
    if (!v || v.value() != "back") errors.add("context did not work after online()");
    ctx->quiescent();
  });
  while (!offline.load()) std::this_thread::yield();
  {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    const std::string big(256 << 10, 'b');
    const std::size_t n = scaled(4 * c.memory_limit / big.size(), 40);
    for (std::size_t i = 0; i < n; ++i) {
      const Status st = ctx->set(key_n("big:", i % 8), big).status;
      if (st != Status::kOk) errors.add(std::string("set: ") + status_name(st));
      ctx->tick();
      ctx->quiescent();
      if (store.bytes_used() > store.memory_limit()) errors.add("bytes_used above the limit");
    }
    const StoreStats s = store.stats();
    EXPECT_LT(s.retired_bytes, static_cast<std::int64_t>(c.memory_limit / 2))
        << "retired items pile up while the other context is offline";
  }
  done.store(true);
  idle.join();
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
}

// Regression: overwrites from one thread leave freed blocks in the heap of the thread that
// allocated the old items; the fragmentation relief used to see that slack and evict whole pages
// of live items although the store was far below its limit.
TEST(StoreConcurrency, CrossThreadOverwritesFarBelowTheLimitNeverEvict) {
  StoreConfig c;
  c.memory_limit = std::size_t{256} << 20;
  c.max_contexts = kThreads + 1;
  Store store(c);
  const std::size_t keys = scaled(400'000, 40'000);
  auto overwrite = [&](Context& ctx, std::uint64_t seed) {
    Rng rng(seed);
    for (std::size_t i = 0; i < keys; ++i) {
      ctx.set(key_n("x:", static_cast<long long>(rng.next() % keys)), "fedcba9876543210fedcba9876543210");
      if (i % 32 == 31) {
        ctx.tick();
        ctx.quiescent();
      }
    }
  };
  // The main thread fills (its heap holds every item), then overwrites alongside a new thread
  // each round, which frees the main thread's blocks from the other heap.
  auto main_ctx = store.attach();
  main_ctx->set_now(kT0);
  for (std::size_t k = 0; k < keys; ++k) {
    main_ctx->set(key_n("x:", static_cast<long long>(k)), "0123456789abcdef0123456789abcdef");
    if (k % 32 == 31) main_ctx->quiescent();
  }
  for (int round = 0; round < 4; ++round) {
    std::thread other([&] {
      auto ctx = store.attach();
      ctx->set_now(kT0);
      overwrite(*ctx, 100 + round);
    });
    overwrite(*main_ctx, 200 + round);
    other.join();
  }
  main_ctx->quiescent();
  const StoreStats st = store.stats();
  EXPECT_EQ(st.evictions, 0) << summary(store);
  EXPECT_EQ(st.items, static_cast<std::int64_t>(keys));
  main_ctx.reset();
}

// Regression: each context's allocator heap owns the segments it allocates in, and a block is
// reusable only by its owner. One thread fills the store (its heap takes every segment of the
// arena); then a writer on another thread, while the first only runs its loop, used to be
// refused for good ("out of memory") although the budget had room. Now the full context gives
// segments back (give_back) and the second one keeps its own heap in room: after the first
// loop iterations, the writes are stored.
TEST(StoreConcurrency, WriterOnAnotherThreadAfterOneFilledTheArenaIsServed) {
  StoreConfig c;
  c.memory_limit = std::size_t{128} << 20;
  c.max_contexts = 2;
  Store store(c);
  const std::string value(1000, 'v');
  auto filler = store.attach();
  filler->set_now(kT0);
  // Small values, then larger ones that need pages of another size: the filler's heap takes
  // every segment of the arena.
  for (const std::size_t size : {std::size_t{1000}, std::size_t{20'000}}) {
    const std::string fill_value(size, 'f');
    for (std::size_t k = 0; k < c.memory_limit * 2 / size; ++k) {
      filler->set(key_n("fill:", static_cast<long long>(k)), fill_value);
      if (k % 32 == 31) {
        filler->tick();
        filler->quiescent();
      }
    }
  }
  std::atomic<bool> done{false};
  std::thread writer([&] {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    const std::size_t writes = scaled(60'000, 12'000);
    std::size_t refused_early = 0, refused_late = 0;
    for (std::size_t k = 0; k < writes; ++k) {
      if (ctx->set(key_n("other:", static_cast<long long>(k)), value).status != Status::kOk) {
        ++(k < writes / 4 ? refused_early : refused_late);
      }
      if (k % 32 == 31) {
        ctx->tick();
        ctx->quiescent();
      }
    }
    // Once the segments have moved, a refusal is rare: a write whose heap ran out of room in
    // the ticks between two counts of it, with nothing unlinked before to wait for.
    EXPECT_LE(refused_late, writes / 2000) << "refused in the first quarter: " << refused_early << summary(store);
    // The first quarter waits for the filler's loop to give segments back: on a loaded box a
    // sanitized build's filler gets less of the CPU (an ASan run with a build beside it refused
    // 1,829 of 12,000), so the bound there is looser; before the fix all of them were refused.
    EXPECT_LT(refused_early, testing::kSanitized ? writes / 5 : writes / 8) << summary(store);
    done.store(true);
  });
  // The first context goes on with its loop (no writes), as an idle worker does.
  while (!done.load()) {
    filler->tick();
    filler->quiescent();
    std::this_thread::yield();
  }
  writer.join();
  const StoreStats st = store.stats();
  EXPECT_GE(st.segments_given, 1) << summary(store);
  EXPECT_LE(st.bytes_used, st.memory_limit);
  filler.reset();
}

// The table grows shard by shard while readers and writers run. Readers look up keys that are
// always there (stored before, overwritten with the same value meanwhile): every lookup must
// hit, whichever array of the key's shard it reads, frozen or new. Writers add keys, which
// makes every shard grow several times, and read each one back at once. Nothing may be evicted
// (the store is far below its memory limit) and every key must be there at the end.
TEST(StoreConcurrency, GrowingTableNeverLosesOrHidesAKey) {
  StoreConfig c;
  c.memory_limit = std::size_t{128} << 20;  // a table of 2M slots: it starts with 16k
  c.max_contexts = 5;
  Store store(c);
  const std::size_t stable = scaled(20'000, 4'000);
  const std::size_t per_writer = scaled(150'000, 15'000);
  {
    auto ctx = store.attach();
    ctx->set_now(kT0);
    for (std::size_t k = 0; k < stable; ++k) {
      ASSERT_EQ(ctx->set(key_n("stable:", static_cast<long long>(k)), make_value(static_cast<std::uint32_t>(k), 0, 1)).status,
                Status::kOk);
      if (k % 64 == 63) ctx->quiescent();
    }
  }
  const std::size_t slots_before = static_cast<std::size_t>(store.stats().table_slots_now);
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> misses{0}, bad{0}, lookups{0}, own_misses{0};
  std::vector<std::thread> threads;
  for (unsigned r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      auto ctx = store.attach();
      ctx->set_now(kT0);
      Rng rng(7 + r);
      for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const std::size_t k = rng.next() % stable;
        const ItemView v = ctx->get(key_n("stable:", static_cast<long long>(k)));
        if (!v) {
          misses.fetch_add(1, std::memory_order_relaxed);
        } else if (v.value() != make_value(static_cast<std::uint32_t>(k), 0, 1)) {
          bad.fetch_add(1, std::memory_order_relaxed);
        }
        lookups.fetch_add(1, std::memory_order_relaxed);
        if (i % 16 == 15) {
          ctx->tick();
          ctx->quiescent();
        }
      }
    });
  }
  std::vector<std::thread> writers;
  for (unsigned w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      auto ctx = store.attach();
      ctx->set_now(kT0);
      for (std::size_t i = 0; i < per_writer; ++i) {
        const std::string key = key_n(w == 0 ? "a:" : "b:", static_cast<long long>(i));
        if (ctx->set(key, "0123456789abcdef0123456789abcdef").status != Status::kOk || !ctx->get(key)) {
          own_misses.fetch_add(1, std::memory_order_relaxed);
        }
        if (i % 8 == 0) {  // the stable keys are rewritten too, with the same value
          const std::size_t k = i % stable;
          ctx->set(key_n("stable:", static_cast<long long>(k)), make_value(static_cast<std::uint32_t>(k), 0, 1));
        }
        if (i % 32 == 31) {
          ctx->tick();
          ctx->quiescent();
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  stop.store(true);
  for (auto& t : threads) t.join();

  auto ctx = store.attach();
  ctx->set_now(kT0);
  std::size_t missing = 0;
  for (std::size_t i = 0; i < per_writer; ++i) {
    missing += ctx->get(key_n("a:", static_cast<long long>(i))) ? 0 : 1;
    missing += ctx->get(key_n("b:", static_cast<long long>(i))) ? 0 : 1;
    if (i % 64 == 63) ctx->quiescent();
  }
  ctx->quiescent();
  const StoreStats st = store.stats();
  EXPECT_GT(lookups.load(), 0u);
  EXPECT_EQ(misses.load(), 0u) << "of " << lookups.load() << " lookups of keys that were always there";
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(own_misses.load(), 0u);
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(st.evictions, 0) << summary(store) << ", table-full evictions " << st.table_full_evictions
                            << ", growths " << st.table_growths;
  EXPECT_EQ(st.items, static_cast<std::int64_t>(stable + 2 * per_writer));
  EXPECT_GT(st.table_growths, 0);
  EXPECT_GT(static_cast<std::size_t>(st.table_slots_now), slots_before);
  EXPECT_LT(st.table_slots_now, st.table_slots);
  ctx.reset();
}

// server.policy changes live: one thread flips the policy back and forth while writers fill a
// small store many times over and read back what they wrote (so both policies' hit paths and
// hand passes meet items whose access byte the other policy wrote). Eviction must keep working:
// the store stays within its limit, writes are (almost) never refused, every value read is whole.
TEST(StoreConcurrency, PolicySwitchesUnderLoad) {
  StoreConfig c;
  c.memory_limit = std::size_t{8} << 20;
  c.max_contexts = kThreads + 1;
  Store store(c);
  // Per thread: 3 threads x ~250 B x 120k is 11 times the limit; at least 3.5 times it (40k)
  // under a sanitizer, so that the store evicts for most of the run there too.
  const std::size_t writes = scaled(120'000, 40'000);
  Errors errors;
  std::atomic<std::uint64_t> refused{0}, hits{0};
  std::atomic<unsigned> writers_left{kThreads};
  std::atomic<std::uint64_t> switches{0};
  run_threads(kThreads + 1, [&](unsigned t) {
    if (t == kThreads) {  // the operator: CONFIG SET server.policy, over and over
      while (writers_left.load() > 0) {
        store.set_policy(switches.fetch_add(1) % 2 == 0 ? EvictionPolicy::kLfu : EvictionPolicy::kClock);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
      return;
    }
    auto ctx = store.attach();
    ctx->set_now(kT0);
    Rng rng(777 + t);
    const std::uint32_t base = t << 20;  // key ids per thread (24 bits in the value)
    std::uint64_t mine = 0;
    for (std::size_t i = 0; i < writes; ++i) {
      const auto id = base + static_cast<std::uint32_t>(i);
      const Status st = ctx->set(data_key(id), make_value(id, t, 12)).status;
      if (st == Status::kNoMemory) {
        ++mine;
      } else if (st != Status::kOk) {
        errors.add(std::string("set: ") + status_name(st));
      }
      // Re-read a recent key now and then: hits set reference bits or raise counters.
      if (i > 64 && i % 3 == 0) {
        const auto back = base + static_cast<std::uint32_t>(i - 1 - rng.next() % 64);
        ItemView v = ctx->get(data_key(back));
        if (v) {
          const std::string bad = check_value(v.value(), back);
          if (!bad.empty()) errors.add(key_n("key ", back) + ": " + bad);
          hits.fetch_add(1, std::memory_order_relaxed);
        }
      }
      if (i % 4 == 3) {
        ctx->tick();
        ctx->quiescent();
      }
      if (i % 1024 == 0 && store.bytes_used() > store.memory_limit()) {
        errors.add(key_n("bytes_used above the limit: ", static_cast<long long>(store.bytes_used())));
      }
    }
    ctx->quiescent();
    refused.fetch_add(mine);
    writers_left.fetch_sub(1);
  });
  const StoreStats s = store.stats();
  std::printf("%llu policy switches; %zu writes, %llu refused, %llu hits; %s\n",
              static_cast<unsigned long long>(switches.load()), kThreads * writes,
              static_cast<unsigned long long>(refused.load()), static_cast<unsigned long long>(hits.load()),
              summary(store).c_str());
  EXPECT_EQ(errors.count(), 0u) << errors.messages() << summary(store);
  EXPECT_GE(switches.load(), 2u);
  EXPECT_LE(store.bytes_used(), store.memory_limit());
  EXPECT_GT(s.evictions, static_cast<std::int64_t>(kThreads * writes / 2)) << summary(store);
  EXPECT_LE(refused.load(), kThreads * writes / 100) << summary(store);
  EXPECT_GT(hits.load(), 0u);
}

}  // namespace
}  // namespace ferrite::store
