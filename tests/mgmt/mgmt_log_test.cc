// The management plane's log lines (key=value pairs after a timestamp) and the logger that
// follows the live level.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

#include "mgmt/log.h"

namespace ferrite::mgmt {
namespace {

TEST(LogLine, IsTimestampLevelComponentAndPairs) {
  LogLine l(Level::kWarn, "worker", 1'700'000'000'123);
  l.kv("event", "eviction_storm")
      .kv("worker", 1u)
      .kv("n", -5)
      .kv("text", "two words")
      .kv("q", "a\"b\n")
      .kv("e", "");
  EXPECT_EQ(l.str(),
            "2023-11-14T22:13:20.123Z warn worker event=eviction_storm worker=1 n=-5 text=\"two words\" "
            "q=\"a\\\"b\\n\" e=\"\"\n");
}

TEST(Logger, FollowsTheLiveLevel) {
  std::atomic<int> verbosity{1};  // warn
  std::vector<std::string> lines;
  Logger log(&verbosity, [&](std::string_view s) { lines.emplace_back(s); });
  log.write(LogLine(Level::kInfo, "mgmt", 0).kv("a", 1));
  log.write(LogLine(Level::kWarn, "mgmt", 0).kv("a", 2));
  verbosity = 3;
  log.write(LogLine(Level::kDebug, "mgmt", 0).kv("a", 3));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(" warn mgmt a=2"), std::string::npos);
  EXPECT_NE(lines[1].find(" debug mgmt a=3"), std::string::npos);
}

}  // namespace
}  // namespace ferrite::mgmt
