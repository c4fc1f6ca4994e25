// The Prometheus exposition: values from the workers' and the store's counters, and the whole
// output accepted by `promtool check metrics` (Prometheus's own parser and linter).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string>
#include <string_view>

#include "engine/metrics.h"
#include "engine_test_util.h"

namespace ferrite::engine {
namespace {

using testing::SessionHarness;

// promtool from PATH, or Debian's path; "" when it is not installed.
std::string find_promtool() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      const std::string p = (dir.empty() ? std::string(".") : dir) + "/promtool";
      if (access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return access("/usr/bin/promtool", X_OK) == 0 ? "/usr/bin/promtool" : "";
}

// Runs `promtool check metrics` on `text`; returns its exit status and sets *output.
int promtool_check(const std::string& promtool, std::string_view text, std::string* output) {
  char path[] = "/tmp/ferrite_metrics_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  {
    std::ofstream f(path, std::ios::binary);
    f.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  close(fd);
  const std::string cmd = "'" + promtool + "' check metrics < '" + path + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output->append(buf, n);
  const int status = pclose(p);
  unlink(path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The value of the sample line that starts with `series` + " ", or "" if there is none.
std::string sample(const std::string& text, std::string_view series) {
  const std::string key = "\n" + std::string(series) + " ";
  const std::size_t at = text.find(key);
  if (at == std::string::npos) return "";
  const std::size_t start = at + key.size();
  return text.substr(start, text.find('\n', start) - start);
}

class MetricsTest : public ::testing::Test {
 protected:
  MetricsTest() {
    Exec& ex = h_.exec();
    ex.count(Proto::kHttp, Op::k_get, 0);
    ex.count(Proto::kHttp, Op::k_get, 0);
    ex.count(Proto::kResp, Op::k_set);  // counted without a latency
    ex.hit(Proto::kHttp);
    ex.miss(Proto::kHttp);
    ex.miss(Proto::kResp);
    ex.protocol_error(Proto::kMemcacheText);
    h_.stats().connections_accepted.add(3);
    h_.stats().connections_current.add(2);
    h_.stats().connections_refused.add(1);
    h_.stats().bytes_read.add(1000);
    h_.stats().bytes_written.add(2000);
    h_.ctx().set("a", "1");
    h_.ctx().set("b", "22");
    h_.shared().settings.version = "1.2.3-\"test\"";
    write_metrics(h_.shared(), out_);
    text_ = "\n" + std::string(out_.view());
  }

  SessionHarness h_;
  Buffer out_;
  std::string text_;
};

TEST_F(MetricsTest, ReportsWorkerCounters) {
  EXPECT_EQ(sample(text_, "ferrite_requests_total{protocol=\"http\",op=\"get\"}"), "2");
  EXPECT_EQ(sample(text_, "ferrite_requests_total{protocol=\"resp\",op=\"set\"}"), "1");
  EXPECT_EQ(sample(text_, "ferrite_requests_total{protocol=\"http\",op=\"set\"}"), "");  // zero: left out
  EXPECT_EQ(sample(text_, "ferrite_hits_total{protocol=\"http\"}"), "1");
  EXPECT_EQ(sample(text_, "ferrite_misses_total{protocol=\"http\"}"), "1");
  EXPECT_EQ(sample(text_, "ferrite_misses_total{protocol=\"resp\"}"), "1");
  EXPECT_EQ(sample(text_, "ferrite_misses_total{protocol=\"binary_udp\"}"), "0");
  EXPECT_EQ(sample(text_, "ferrite_protocol_errors_total{protocol=\"memcache_text\"}"), "1");
  EXPECT_EQ(sample(text_, "ferrite_connections"), "2");
  EXPECT_EQ(sample(text_, "ferrite_connections_total"), "3");
  EXPECT_EQ(sample(text_, "ferrite_connections_rejected_total"), "1");
  EXPECT_EQ(sample(text_, "ferrite_network_read_bytes_total"), "1000");
  EXPECT_EQ(sample(text_, "ferrite_network_written_bytes_total"), "2000");
  EXPECT_EQ(sample(text_, "ferrite_build_info{version=\"1.2.3-\\\"test\\\"\"}"), "1");
  EXPECT_NE(sample(text_, "ferrite_worker_busy_seconds_total{worker=\"0\"}"), "");
}

TEST_F(MetricsTest, ReportsStoreFigures) {
  const store::StoreStats s = h_.store().stats();
  EXPECT_EQ(sample(text_, "ferrite_items"), "2");
  EXPECT_EQ(sample(text_, "ferrite_memory_used_bytes"), std::to_string(s.bytes_used));
  EXPECT_EQ(sample(text_, "ferrite_memory_limit_bytes"), std::to_string(std::size_t{64} << 20));
  EXPECT_EQ(sample(text_, "ferrite_evictions_total"), "0");
  EXPECT_EQ(sample(text_, "ferrite_expirations_total"), "0");
}

TEST_F(MetricsTest, HistogramIsCumulative) {
  const std::string lbl = "protocol=\"http\",op=\"get\"";
  // Both requests took well under a second (the latency is measured from cycle 0 here, so they
  // land in whatever bucket; only the shape is checked).
  EXPECT_EQ(sample(text_, "ferrite_request_duration_seconds_count{" + lbl + "}"), "2");
  EXPECT_EQ(sample(text_, "ferrite_request_duration_seconds_bucket{" + lbl + ",le=\"+Inf\"}"), "2");
  EXPECT_NE(sample(text_, "ferrite_request_duration_seconds_bucket{" + lbl + ",le=\"1e-06\"}"), "");
  EXPECT_NE(sample(text_, "ferrite_request_duration_seconds_bucket{" + lbl + ",le=\"1\"}"), "");
  EXPECT_NE(sample(text_, "ferrite_request_duration_seconds_sum{" + lbl + "}"), "");
  long last = 0;
  std::size_t buckets = 0;
  for (std::size_t at = text_.find("\nferrite_request_duration_seconds_bucket{" + lbl);
       at != std::string::npos; at = text_.find("\nferrite_request_duration_seconds_bucket{" + lbl, at + 1)) {
    const long v = std::stol(text_.substr(text_.find("} ", at) + 2));
    EXPECT_GE(v, last);
    last = v;
    ++buckets;
  }
  EXPECT_EQ(buckets, kLatencyBuckets);
  // resp/set was counted without a latency: no histogram series for it.
  EXPECT_EQ(text_.find("ferrite_request_duration_seconds_count{protocol=\"resp\""), std::string::npos);
}

TEST_F(MetricsTest, EveryFamilyHasHelpAndType) {
  for (std::size_t at = text_.find("\n# TYPE "); at != std::string::npos;
       at = text_.find("\n# TYPE ", at + 1)) {
    const std::size_t name_at = at + 8;
    const std::string name = text_.substr(name_at, text_.find(' ', name_at) - name_at);
    EXPECT_NE(text_.find("\n# HELP " + name + " "), std::string::npos) << name;
  }
}

TEST_F(MetricsTest, PromtoolAcceptsTheExposition) {
  const std::string promtool = find_promtool();
  ASSERT_NE(promtool, "") << "promtool is not installed (Debian package prometheus; tools/test installs it)";
  std::string output;
  EXPECT_EQ(promtool_check(promtool, out_.view(), &output), 0) << output << "\n--- exposition:\n"
                                                               << out_.view();
  EXPECT_EQ(output, "") << output;
}

// Each row of FERRITE_WORKER_COUNTERS is in /metrics as its Show column says, with its HELP,
// TYPE and the workers' sum: a counter added to the table is checked here without a new test.
TEST(Metrics, EveryWorkerCounterIsExportedAsItsRowSays) {
  for (const unsigned partitions : {1u, 2u}) {
    store::StoreConfig cfg;
    cfg.memory_limit = store::kMinMemory * 2;
    cfg.max_contexts = 1;
    store::Partitions store(cfg, partitions);
    WorkerStats w0, w1;
    Shared shared;
    shared.store = &store;
    shared.worker_stats = {&w0, &w1};
    for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
      (w0.*kWorkerCounters[i].counter).add(1000 * static_cast<std::int64_t>(i + 1));
      (w1.*kWorkerCounters[i].counter).add(static_cast<std::int64_t>(i + 1));
    }
    Buffer out;
    write_metrics(shared, out);
    const std::string text = "\n" + std::string(out.view());
    for (std::size_t i = 0; i < std::size(kWorkerCounters); ++i) {
      const WorkerCounter& c = kWorkerCounters[i];
      SCOPED_TRACE(std::string(c.name) + ", partitions " + std::to_string(partitions));
      const std::string metric(c.metric);
      const std::string type_line = "\n# TYPE " + metric + " " + std::string(metric_type_name(c.type)) + "\n";
      const bool shown = c.show == Show::kEverywhere || c.show == Show::kWorkerSeconds ||
                         (c.show == Show::kPartitioned && partitions > 1);
      if (!shown) {
        EXPECT_EQ(text.find("\n# TYPE " + metric + " "), std::string::npos);
        EXPECT_EQ(text.find("\n" + metric), std::string::npos);
        continue;
      }
      EXPECT_NE(text.find("\n# HELP " + metric + " " + std::string(c.help) + type_line), std::string::npos);
      const std::int64_t v0 = 1000 * static_cast<std::int64_t>(i + 1), v1 = static_cast<std::int64_t>(i + 1);
      if (c.show != Show::kWorkerSeconds) {
        EXPECT_EQ(sample(text, metric), std::to_string(v0 + v1));
        continue;
      }
      const std::int64_t per_worker[] = {v0, v1};
      for (std::size_t wi = 0; wi < 2; ++wi) {  // TSC cycles, per worker, in seconds
        char want[32];
        const double s = static_cast<double>(cycles_to_ns(static_cast<std::uint64_t>(per_worker[wi]))) / 1e9;
        const auto r = std::to_chars(want, want + sizeof want, s);
        EXPECT_EQ(sample(text, metric + "{worker=\"" + std::to_string(wi) + "\"}"),
                  std::string(want, static_cast<std::size_t>(r.ptr - want)));
      }
    }
  }
}

// udp_reflection_drops is one row of the table and nothing else: it reaches /metrics from there.
TEST(Metrics, UdpReflectionDropsComeFromTheCounterTable) {
  const auto row = std::find_if(std::begin(kWorkerCounters), std::end(kWorkerCounters),
                                [](const WorkerCounter& c) { return c.name == "udp_reflection_drops"; });
  ASSERT_NE(row, std::end(kWorkerCounters));
  EXPECT_EQ(row->metric, "ferrite_udp_reflection_drops_total");
  EXPECT_EQ(row->show, Show::kEverywhere);
  SessionHarness h;
  h.stats().udp_reflection_drops.add(5);
  Buffer out;
  write_metrics(h.shared(), out);
  const std::string text = "\n" + std::string(out.view());
  EXPECT_NE(text.find("\n# TYPE ferrite_udp_reflection_drops_total counter\n"), std::string::npos);
  EXPECT_EQ(sample(text, "ferrite_udp_reflection_drops_total"), "5");
}

// The one Prometheus writer (the management plane's families use it too): label escaping and
// the special float values.
TEST(Metrics, WriterEscapesLabelsAndSpellsSpecialValues) {
  Buffer out;
  PromWriter w(out);
  w.family("x_ratio", "gauge", "A ratio.");
  w.sample("x_ratio", {{"a", "q\"b\\s\nn"}, {"b", "2"}}, 0.25);
  w.sample("x_ratio", {}, std::nan(""));
  w.sample("x_ratio", {}, std::numeric_limits<double>::infinity());
  w.sample("x_ratio", {}, -std::numeric_limits<double>::infinity());
  w.scalar("x_total", "counter", "A count.", std::int64_t{-3});
  EXPECT_EQ(out.view(),
            "# HELP x_ratio A ratio.\n# TYPE x_ratio gauge\n"
            "x_ratio{a=\"q\\\"b\\\\s\\nn\",b=\"2\"} 0.25\n"
            "x_ratio NaN\nx_ratio +Inf\nx_ratio -Inf\n"
            "# HELP x_total A count.\n# TYPE x_total counter\nx_total -3\n");
}

TEST(Metrics, PromtoolAcceptsAnIdleServer) {
  const std::string promtool = find_promtool();
  ASSERT_NE(promtool, "") << "promtool is not installed (Debian package prometheus; tools/test installs it)";
  SessionHarness h;
  Buffer out;
  write_metrics(h.shared(), out);
  std::string output;
  EXPECT_EQ(promtool_check(promtool, out.view(), &output), 0) << output << "\n--- exposition:\n"
                                                              << out.view();
}

}  // namespace
}  // namespace ferrite::engine
