// The Prometheus exposition: values from the workers' and the store's counters, and the whole
// output accepted by `promtool check metrics` (Prometheus's own parser and linter).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
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
