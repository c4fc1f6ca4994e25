// The management plane's commands against a fake engine: replies are valid JSON with the fields
// documented, errors say what was wrong, and requests reach the workers through their inboxes.
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <vector>

#include "core/clock.h"
#include "mgmt/plane.h"
#include "mgmt_test_util.h"

namespace ferrite::mgmt {
namespace {

class PlaneTest : public ::testing::Test {
 protected:
  PlaneTest() : engine_(2) {
    PlaneOptions o;
    o.socket_path = "/tmp/test.sock";
    o.listeners = "memcache=127.0.0.1:11211 resp=127.0.0.1:6379";
    o.config_digest = [] { return std::string("0123456789abcdef"); };
    o.worker_timeout = std::chrono::milliseconds(2000);
    plane_ = std::make_unique<Plane>(engine_.shared, std::move(o), log_);
  }

  JsonValue ask(std::string_view line) {
    const Reply r = plane_->handle(line);
    EXPECT_FALSE(r.json.empty()) << line;
    EXPECT_EQ(r.json.find('\n'), std::string::npos) << "one line per reply";
    return parse_reply(r.json);
  }
  JsonValue ok(std::string_view line) {
    JsonValue v = ask(line);
    EXPECT_TRUE(v["ok"].as_bool()) << line << " -> " << v["error"].as_string();
    return v["data"];
  }
  std::string error(std::string_view line) {
    JsonValue v = ask(line);
    EXPECT_FALSE(v["ok"].as_bool()) << line;
    return v["error"].as_string();
  }

  std::vector<std::string> lines_;
  Logger log_{nullptr, [this](std::string_view l) { lines_.emplace_back(l); }};
  FakeEngine engine_;
  std::unique_ptr<Plane> plane_;
};

TEST_F(PlaneTest, HelpListsEveryCommandWithItsArguments) {
  const JsonValue help = ok("/help");
  ASSERT_TRUE(help.is_array());
  std::vector<std::string> paths;
  for (const JsonValue& c : help.items()) {
    paths.push_back(c["path"].as_string());
    EXPECT_FALSE(c["help"].as_string().empty());
    EXPECT_TRUE(c["args"].is_string());
  }
  for (const char* p : {"/help", "/info", "/stats", "/metrics", "/config", "/keys/hot", "/keys/big",
                        "/clients", "/latency", "/slowlog", "/flush", "/shutdown", "/events"}) {
    EXPECT_NE(std::find(paths.begin(), paths.end(), p), paths.end()) << p;
  }
  EXPECT_EQ(ok("/help /keys/hot")["args"].as_string(), "[COUNT]");
  EXPECT_NE(error("/help /nope").find("unknown command"), std::string::npos);
}

TEST_F(PlaneTest, BadRequestsSayWhatWasWrong) {
  EXPECT_EQ(error("/confg"), "unknown command \"/confg\" (did you mean /config?); /help lists the commands");
  EXPECT_NE(error("info").find("a request is a path"), std::string::npos);
  EXPECT_EQ(error("/info extra"), "/info: too many arguments; usage: /info");
  EXPECT_EQ(error("/keys/hot 0"), "/keys/hot: COUNT must be a whole number from 1 to 1000; got \"0\"");
  EXPECT_EQ(error("/keys/hot ten"), "/keys/hot: COUNT must be a whole number from 1 to 1000; got \"ten\"");
  EXPECT_NE(error("/latency gopher").find("unknown protocol \"gopher\"; expected one of memcache_text"),
            std::string::npos);
  EXPECT_NE(error("/config frob").find("unknown subcommand \"frob\""), std::string::npos);
  // Bytes that are not UTF-8 are escaped in the error, so the reply stays valid JSON.
  EXPECT_NE(error("/\xff\xfe").find("\\u00ff"), std::string::npos);
  JsonValue v = ask("/nope");
  EXPECT_EQ(v["path"].as_string(), "/nope");
}

TEST_F(PlaneTest, BlankLinesGetNoReply) {
  EXPECT_TRUE(plane_->handle("").json.empty());
  EXPECT_TRUE(plane_->handle("  \r").json.empty());
  EXPECT_TRUE(ok("/info\r").is_object());  // a CRLF line is fine
}

TEST_F(PlaneTest, InfoDescribesTheServer) {
  const JsonValue info = ok("/info");
  EXPECT_EQ(info["version"].as_string(), "9.9.9");
  EXPECT_EQ(info["workers"].as_int(), 2);
  EXPECT_EQ(info["driver"].as_string(), "uring");
  EXPECT_EQ(info["config_digest"].as_string(), "0123456789abcdef");
  EXPECT_EQ(info["mgmt_socket"].as_string(), "/tmp/test.sock");
  EXPECT_EQ(info["listeners"]["resp"].as_string(), "127.0.0.1:6379");
  EXPECT_GT(info["uptime_seconds"].as_double(), 0.0);
  EXPECT_FALSE(info["build"].as_string().empty());
  EXPECT_EQ(info["memory_limit_bytes"].as_uint(), 32u << 20);
}

TEST_F(PlaneTest, StatsSumsTheWorkersAndListsEachOne) {
  using engine::Op;
  using engine::Proto;
  auto& w0 = *engine_.stats[0];
  auto& w1 = *engine_.stats[1];
  w0.requests[static_cast<int>(Proto::kResp)][static_cast<int>(Op::k_get)].add(3);
  w1.requests[static_cast<int>(Proto::kResp)][static_cast<int>(Op::k_get)].add(4);
  w1.requests[static_cast<int>(Proto::kMemcacheText)][static_cast<int>(Op::k_set)].add(5);
  w0.hits[static_cast<int>(Proto::kResp)].add(2);
  w1.misses[static_cast<int>(Proto::kResp)].add(1);
  w0.connections_current.add(1);
  w1.connections_current.add(2);
  w0.latency[static_cast<int>(Proto::kResp)][static_cast<int>(Op::k_get)].record(1500);

  const JsonValue s = ok("/stats");
  EXPECT_EQ(s["total"]["requests_total"]["resp"]["get"].as_int(), 7);
  EXPECT_EQ(s["total"]["requests_total"]["memcache_text"]["set"].as_int(), 5);
  EXPECT_EQ(s["total"]["requests"].as_int(), 12);
  EXPECT_EQ(s["total"]["hits_total"]["resp"].as_int(), 2);
  EXPECT_EQ(s["total"]["misses_total"]["resp"].as_int(), 1);
  EXPECT_EQ(s["total"]["hits_total"]["binary_udp"].as_int(), 0);  // every protocol listed
  EXPECT_EQ(s["total"]["connections"].as_int(), 3);
  ASSERT_EQ(s["workers"].size(), 2u);
  EXPECT_EQ(s["workers"][0]["worker"].as_int(), 0);
  EXPECT_EQ(s["workers"][0]["requests_total"]["resp"]["get"].as_int(), 3);
  EXPECT_EQ(s["workers"][1]["requests_total"]["resp"]["get"].as_int(), 4);
  EXPECT_TRUE(s["workers"][1]["busy_ratio"].is_number());
  const JsonValue& h = s["total"]["request_duration_seconds"]["resp"]["get"];
  EXPECT_EQ(h["count"].as_int(), 1);
  ASSERT_EQ(h["buckets"].size(), engine::kLatencyBuckets);
  EXPECT_EQ(h["buckets"][1].as_int(), 1);  // 1.5 us: the (1 us, 2 us] bucket
  EXPECT_EQ(s["latency_bounds_seconds"].size(), engine::kLatencyBoundsNs.size());
  EXPECT_EQ(s["store"]["memory_limit_bytes"].as_uint(), 32u << 20);
  EXPECT_TRUE(s["store"]["evictions"].is_number());
  EXPECT_FALSE(s["store"].contains("items_delta"));
  EXPECT_TRUE(s["rates"]["hit_ratio_1m"].is_null());  // no samples yet
}

// Each row of FERRITE_WORKER_COUNTERS is a field of /stats (ferritectl stats), summed in "total"
// and each worker's own in "workers", and in /metrics (ferritectl metrics) when its Show column
// says so: a counter added to the table is checked here without a new test.
TEST_F(PlaneTest, StatsAndMetricsListEveryWorkerCounter) {
  using engine::kWorkerCounters;
  using engine::Show;
  const auto value = [](std::size_t row, std::size_t worker) {
    return static_cast<std::int64_t>((row + 1) * (worker == 0 ? 1000 : 1));
  };
  for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
    for (std::size_t wi = 0; wi < 2; ++wi) {
      (engine_.stats[wi].get()->*kWorkerCounters[i].counter).add(value(i, wi));
    }
  }
  const JsonValue s = ok("/stats");
  const std::string text = "\n" + ok("/metrics")["text"].as_string();
  const auto seconds = [](std::int64_t cycles) {
    return static_cast<double>(engine::cycles_to_ns(static_cast<std::uint64_t>(cycles))) / 1e9;
  };
  for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
    const engine::WorkerCounter& c = kWorkerCounters[i];
    SCOPED_TRACE(std::string(c.name));
    const std::string name(c.stats_name);
    ASSERT_TRUE(s["total"].contains(name));
    if (c.show == Show::kWorkerSeconds) {
      EXPECT_NEAR(s["total"][name].as_double(), seconds(value(i, 0) + value(i, 1)), 1e-9);
      EXPECT_NEAR(s["workers"][0][name].as_double(), seconds(value(i, 0)), 1e-9);
      EXPECT_NEAR(s["workers"][1][name].as_double(), seconds(value(i, 1)), 1e-9);
      EXPECT_NE(text.find("\n" + std::string(c.metric) + "{worker=\"1\"} "), std::string::npos);
      continue;
    }
    EXPECT_EQ(s["total"][name].as_int(), value(i, 0) + value(i, 1));
    EXPECT_EQ(s["workers"][0][name].as_int(), value(i, 0));
    EXPECT_EQ(s["workers"][1][name].as_int(), value(i, 1));
    const std::string line =
        "\n" + std::string(c.metric) + " " + std::to_string(value(i, 0) + value(i, 1)) + "\n";
    // The fake engine's store has one partition.
    EXPECT_EQ(text.find(line) != std::string::npos, c.show == Show::kEverywhere) << line;
  }
  // The example: the reflection bound's counter, from its table row alone.
  const std::string drops = "udp_reflection_drops_total";
  EXPECT_EQ(s["total"][drops].as_int(), s["workers"][0][drops].as_int() + s["workers"][1][drops].as_int());
  EXPECT_NE(text.find("\nferrite_udp_reflection_drops_total "), std::string::npos);
}

TEST_F(PlaneTest, RatesComeFromOneSecondSamples) {
  using engine::Op;
  using engine::Proto;
  auto& w0 = *engine_.stats[0];
  plane_->tick(10'000, 1);
  w0.requests[static_cast<int>(Proto::kResp)][static_cast<int>(Op::k_get)].add(500);
  w0.hits[static_cast<int>(Proto::kResp)].add(300);
  w0.misses[static_cast<int>(Proto::kResp)].add(100);
  w0.cycles_busy.add(250);
  w0.cycles_total.add(1000);
  plane_->tick(10'500, 1);  // not a second yet: no sample
  EXPECT_EQ(plane_->rates().size(), 1u);
  plane_->tick(11'000, 1);
  EXPECT_EQ(plane_->rates().size(), 2u);
  const JsonValue s = ok("/stats");
  EXPECT_DOUBLE_EQ(s["rates"]["ops_per_second"].as_double(), 500.0);
  EXPECT_DOUBLE_EQ(s["rates"]["hit_ratio_1m"].as_double(), 0.75);
  EXPECT_DOUBLE_EQ(s["workers"][0]["busy_ratio"].as_double(), 0.25);
  EXPECT_DOUBLE_EQ(s["workers"][0]["ops_per_second"].as_double(), 500.0);
  EXPECT_DOUBLE_EQ(s["workers"][1]["busy_ratio"].as_double(), 0.0);
  EXPECT_DOUBLE_EQ(s["rates"]["window_seconds"].as_double(), 1.0);
}

TEST_F(PlaneTest, LatencyEstimatesQuantilesPerProtocolAndOp) {
  using engine::Op;
  using engine::Proto;
  auto& h = engine_.stats[0]->latency[static_cast<int>(Proto::kMemcacheText)][static_cast<int>(Op::k_get)];
  for (int i = 0; i < 990; ++i) h.record(1'500);   // (1, 2] us
  for (int i = 0; i < 10; ++i) h.record(150'000);  // (100, 200] us
  engine_.stats[1]->latency[static_cast<int>(Proto::kResp)][static_cast<int>(Op::k_set)].record(
      3'000'000'000);
  const JsonValue all = ok("/latency");
  EXPECT_EQ(all["unit"].as_string(), "us");
  ASSERT_EQ(all["series"].size(), 2u);
  const JsonValue& mc = all["series"][0];
  EXPECT_EQ(mc["protocol"].as_string(), "memcache_text");
  EXPECT_EQ(mc["op"].as_string(), "get");
  EXPECT_EQ(mc["count"].as_int(), 1000);
  EXPECT_GT(mc["p50_us"].as_double(), 1.0);
  EXPECT_LE(mc["p50_us"].as_double(), 2.0);
  EXPECT_LE(mc["p99_us"].as_double(), 2.0);
  EXPECT_GT(mc["p999_us"].as_double(), 100.0);
  EXPECT_LE(mc["p999_us"].as_double(), 200.0);
  EXPECT_EQ(all["series"][1]["over_1s"].as_int(), 1);
  EXPECT_EQ(ok("/latency resp")["series"].size(), 1u);
  EXPECT_EQ(ok("/latency http")["series"].size(), 0u);
}

TEST_F(PlaneTest, ConfigGetsEveryKeyOrAGlob) {
  const JsonValue all = ok("/config");
  EXPECT_EQ(all.size(), 3u);
  EXPECT_EQ(all["server.memory"].as_string(), "32MiB");
  EXPECT_EQ(ok("/config get")["log.level"].as_string(), "info");
  const JsonValue server = ok("/config get server.*");
  EXPECT_EQ(server.size(), 2u);
  EXPECT_EQ(error("/config get nosuch.key"),
            "/config get: no key matches \"nosuch.key\"; /config lists every key");
}

TEST_F(PlaneTest, ConfigSetChangesALiveKeyAndRecordsTheEvent) {
  const JsonValue r = ok("/config set server.memory 16MiB");
  EXPECT_EQ(r["server.memory"].as_string(), "16MiB");
  EXPECT_EQ(engine_.shared.store->memory_limit(), 16u << 20);
  EXPECT_EQ(ok("/config get server.memory")["server.memory"].as_string(), "16MiB");
  // The change is an event (for /events streams) and a log line.
  std::vector<Record> events;
  plane_->history().since(1, &events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event.type, engine::EventType::kConfigChanged);
  EXPECT_EQ(config_change_of(events[0].event),
            std::make_pair(std::string("server.memory"), std::string("16MiB")));
  ASSERT_FALSE(lines_.empty());
  EXPECT_NE(lines_.back().find(" info mgmt event=config_changed key=server.memory value=16MiB"),
            std::string::npos)
      << lines_.back();
}

TEST_F(PlaneTest, ConfigSetOfAKeyThatCannotChangeLiveFails) {
  EXPECT_EQ(error("/config set server.policy lfu"), "server.policy: cannot change while ferrited runs");
  EXPECT_EQ(error("/config set server.memory"),
            "/config set: expected a key and a value; usage: /config set KEY VALUE");
  EXPECT_EQ(error("/config set no.key 1"), "no.key: unknown key");
  std::vector<Record> events;
  plane_->history().since(1, &events);
  EXPECT_TRUE(events.empty());
}

TEST_F(PlaneTest, HotKeysAreMergedAcrossWorkers) {
  // Sampled one in 8 at random: enough notes that every key is seen.
  for (int i = 0; i < 8000; ++i) {
    engine_.controls[0]->hot.note("hot");
    engine_.controls[1]->hot.note("hot");
    if (i % 4 == 0) engine_.controls[1]->hot.note("warm");
    if (i % 100 == 0) engine_.controls[0]->hot.note(std::to_string(i));
  }
  engine_.start();
  const JsonValue hot = ok("/keys/hot 2");
  ASSERT_EQ(hot["keys"].size(), 2u);
  EXPECT_EQ(hot["keys"][0]["key"].as_string(), "hot");
  EXPECT_EQ(hot["keys"][0]["workers"].size(), 2u);
  EXPECT_NEAR(static_cast<double>(hot["keys"][0]["count"].as_int()), 16000.0, 2000.0);
  EXPECT_EQ(hot["keys"][1]["key"].as_string(), "warm");
  EXPECT_EQ(hot["sample_every"].as_int(), static_cast<std::int64_t>(engine::HotKeys::kSampleEvery));
  EXPECT_GT(ok("/keys/hot")["keys"].size(), 2u);
}

TEST_F(PlaneTest, BigKeysScansTheWholeTable) {
  {
    auto ctx = engine_.shared.store->at(0).attach();
    ctx->set_now(engine_.shared.store->now_ms());
    for (int i = 0; i < 2000; ++i) ctx->set(std::to_string(i), std::string(10, 'x'));
    ctx->set("big1", std::string(100'000, 'b'));
    ctx->set("big2", std::string(50'000, 'b'));
    ctx->set("big3", std::string(70'000, 'b'));
    ctx->quiescent();
  }
  engine_.start();
  PlaneOptions o;
  o.big_keys_buckets = 64;  // several chunks, alternating between the workers
  Plane plane(engine_.shared, std::move(o), log_);
  const JsonValue big = parse_reply(plane.handle("/keys/big 2").json)["data"];
  EXPECT_TRUE(big["complete"].as_bool());
  EXPECT_GT(big["scan_requests"].as_int(), 2);
  ASSERT_EQ(big["keys"].size(), 2u);
  EXPECT_EQ(big["keys"][0]["key"].as_string(), "big1");
  EXPECT_EQ(big["keys"][0]["value_bytes"].as_int(), 100'000);
  EXPECT_EQ(big["keys"][1]["key"].as_string(), "big3");
}

TEST_F(PlaneTest, ClientsListsEveryWorkersConnections) {
  engine::ClientRow a;
  a.id = 7;
  a.peer = "127.0.0.1:5000";
  a.protocol = "resp";
  a.worker = 1;
  a.bytes_in = 10;
  engine::ClientRow b;
  b.id = 3;
  b.peer = "[::1]:6000";
  b.protocol = "memcache_text";
  engine_.client_rows[1] = {a};
  engine_.client_rows[0] = {b};
  engine_.start();
  const JsonValue c = ok("/clients");
  EXPECT_EQ(c["count"].as_int(), 2);
  ASSERT_EQ(c["clients"].size(), 2u);
  EXPECT_EQ(c["clients"][0]["id"].as_int(), 3);  // by id
  EXPECT_EQ(c["clients"][0]["peer"].as_string(), "[::1]:6000");
  EXPECT_EQ(c["clients"][1]["protocol"].as_string(), "resp");
  EXPECT_EQ(c["clients"][1]["worker"].as_int(), 1);
  EXPECT_EQ(c["clients"][1]["bytes_in"].as_int(), 10);
  EXPECT_EQ(ok("/clients 1")["clients"].size(), 1u);
}

TEST_F(PlaneTest, FlushEmptiesTheStore) {
  {
    auto ctx = engine_.shared.store->at(0).attach();
    ctx->set_now(engine_.shared.store->now_ms());
    for (int i = 0; i < 100; ++i) ctx->set(std::to_string(i), "v");
  }
  ASSERT_EQ(engine_.shared.store->stats().items, 100);
  engine_.start();
  const JsonValue f = ok("/flush");
  EXPECT_TRUE(f["flushed"].as_bool());
  EXPECT_EQ(f["items"].as_int(), 0);
}

TEST_F(PlaneTest, AWorkerThatDoesNotAnswerIsNamed) {
  PlaneOptions o;
  o.worker_timeout = std::chrono::milliseconds(50);
  Plane plane(engine_.shared, std::move(o), log_);
  // No worker thread is running: nobody serves the inboxes.
  const JsonValue v = parse_reply(plane.handle("/clients").json);
  EXPECT_FALSE(v["ok"].as_bool());
  EXPECT_EQ(v["error"].as_string(), "/clients: workers 0 and 1 did not answer within 50 ms");
  // The requests stay owned by the plane; once the workers run they are answered and freed, and
  // new requests work.
  engine_.start();
  EXPECT_TRUE(parse_reply(plane.handle("/clients").json)["ok"].as_bool());
  EXPECT_GE(engine_.answered.load(), 4);
}

TEST_F(PlaneTest, ShutdownRaisesTheFlag) {
  EXPECT_FALSE(engine_.shared.shutdown_requested.load());
  EXPECT_TRUE(ok("/shutdown")["shutting_down"].as_bool());
  EXPECT_TRUE(engine_.shared.shutdown_requested.load());
}

engine::Event slow_event(std::uint16_t worker, std::int64_t ns) {
  engine::Event e;
  e.unix_ms = 1'700'000'000'000;
  e.type = engine::EventType::kSlowRequest;
  e.worker = worker;
  e.a = ns;
  e.b = static_cast<std::int64_t>(static_cast<unsigned>(engine::Proto::kResp) << 8 |
                                  static_cast<unsigned>(engine::Op::k_set));
  return e;
}

TEST_F(PlaneTest, SlowlogKeepsTheLatestSlowRequestsNewestFirst) {
  for (int i = 0; i < 130; ++i)
    ASSERT_TRUE(engine_.controls[i % 2]->events.push(slow_event(i % 2, 20'000'000 + i)));
  plane_->tick(1, 1'700'000'000'000);
  const JsonValue s = ok("/slowlog");
  EXPECT_EQ(s["total"].as_int(), 130);
  EXPECT_DOUBLE_EQ(s["threshold_us"].as_double(), 10'000.0);
  ASSERT_EQ(s["entries"].size(), EventHistory::kSlowlogCapacity);
  const JsonValue& newest = s["entries"][0];
  EXPECT_EQ(newest["event"].as_string(), "slow_request");
  EXPECT_EQ(newest["protocol"].as_string(), "resp");
  EXPECT_EQ(newest["op"].as_string(), "set");
  EXPECT_GT(newest["seq"].as_int(), s["entries"][1]["seq"].as_int());
  EXPECT_EQ(newest["time"].as_string(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(ok("/slowlog 5")["entries"].size(), 5u);
  EXPECT_EQ(ok("/slowlog reset")["cleared"].as_int(), 128);
  EXPECT_EQ(ok("/slowlog")["entries"].size(), 0u);
  EXPECT_NE(error("/slowlog all").find("(or reset)"), std::string::npos);
  // Logged at info, at most ten lines per second per type; the rest are counted.
  EXPECT_EQ(
      std::count_if(lines_.begin(), lines_.end(),
                    [](const std::string& l) { return l.find("event=slow_request") != std::string::npos; }),
      10);
}

TEST_F(PlaneTest, EventsStartAStreamAfterTheBacklog) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine_.controls[0]->events.push(slow_event(0, 20'000'000)));
  plane_->tick(1, 1);
  Reply r = plane_->handle("/events");
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.stream_from, 6u);
  r = plane_->handle("/events 3");
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.stream_from, 3u);
  EXPECT_EQ(parse_reply(r.json)["data"]["from_seq"].as_int(), 3);
  r = plane_->handle("/events 100");  // more than kept: from the oldest kept
  EXPECT_EQ(r.stream_from, 1u);
  r = plane_->handle("/events x");
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(parse_reply(r.json)["ok"].as_bool());
}

TEST_F(PlaneTest, MetricsAddTheRateGauges) {
  const JsonValue m = ok("/metrics");
  const std::string& text = m["text"].as_string();
  EXPECT_NE(m["content_type"].as_string().find("version=0.0.4"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ferrite_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("ferrite_worker_busy_ratio{worker=\"1\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("ferrite_hit_ratio_1m NaN\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE ferrite_evictions_per_second_1m gauge"), std::string::npos);
  EXPECT_NE(text.find("ferrite_mgmt_events_dropped_total 0\n"), std::string::npos);
}

TEST(Quantile, InterpolatesWithinTheBucketHoldingTheRank) {
  std::int64_t b[engine::kLatencyBuckets] = {};
  EXPECT_EQ(quantile_ns(b, 0.5), 0.0);
  b[0] = 100;  // (0, 1 us]
  EXPECT_DOUBLE_EQ(quantile_ns(b, 0.5), 500.0);
  EXPECT_DOUBLE_EQ(quantile_ns(b, 1.0), 1000.0);
  b[engine::kLatencyBuckets - 1] = 100;         // over 1 s
  EXPECT_DOUBLE_EQ(quantile_ns(b, 0.99), 1e9);  // the +Inf bucket reports its lower bound
  EXPECT_DOUBLE_EQ(quantile_ns(b, 0.25), 500.0);
}

}  // namespace
}  // namespace ferrite::mgmt
