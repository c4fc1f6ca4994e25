// The command line: --config, --set, --help, --describe-config, --version, and its errors.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "server/options.h"
#include "server_test_util.h"

namespace ferrite::server {
namespace {

struct Outcome {
  CommandLine result;
  ServerConfig config;
  std::string out, err;
};

Outcome run(std::vector<std::string> args) {
  args.insert(args.begin(), "ferrited");
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  Outcome r;
  std::ostringstream out, err;
  r.result = parse_command_line(static_cast<int>(args.size()), argv.data(), &r.config, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(CommandLine, NoArgumentsRunOnTheDefaults) {
  const Outcome r = run({});
  EXPECT_TRUE(r.result.run);
  EXPECT_EQ(r.result.config_path, "");
  EXPECT_EQ(r.config.values, ConfigValues());
  EXPECT_EQ(r.config.workers, std::min<std::size_t>(available_cpus().size(), 64));
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
}

TEST(CommandLine, ConfigFileThenSets) {
  const testing::TempFile file("cli.toml", "[server]\nworkers = 1\npolicy = \"lfu\"\n");
  const Outcome r = run({"--set", "listen.http=", "--config", file.path(), "--set=server.policy=clock"});
  ASSERT_TRUE(r.result.run) << r.err;
  EXPECT_EQ(r.result.config_path, file.path());
  EXPECT_EQ(r.config.workers, 1u);
  EXPECT_EQ(r.config.store.policy, store::EvictionPolicy::kClock);
  EXPECT_FALSE(r.config.listener(Listener::kHttp).enabled());

  const Outcome same = run({"--config=" + file.path()});
  ASSERT_TRUE(same.result.run) << same.err;
  EXPECT_EQ(same.config.store.policy, store::EvictionPolicy::kLfu);
}

TEST(CommandLine, DefaultFileRunsLikeNoFile) {
  const Outcome with_file = run({"--config", testing::default_config_path()});
  const Outcome without = run({});
  ASSERT_TRUE(with_file.result.run) << with_file.err;
  EXPECT_EQ(with_file.config.digest(), without.config.digest());
}

TEST(CommandLine, HelpDescribeAndVersionPrintAndExitZero) {
  for (const char* flag : {"--help", "-h"}) {
    const Outcome r = run({flag});
    EXPECT_FALSE(r.result.run);
    EXPECT_EQ(r.result.exit_status, 0);
    EXPECT_EQ(r.out, usage());
    EXPECT_EQ(r.err, "");
  }
  EXPECT_NE(usage().find("--describe-config"), std::string::npos);
  const Outcome d = run({"--describe-config"});
  EXPECT_FALSE(d.result.run);
  EXPECT_EQ(d.result.exit_status, 0);
  EXPECT_EQ(d.out, describe_config());
  const Outcome v = run({"--version"});
  EXPECT_FALSE(v.result.run);
  EXPECT_EQ(v.result.exit_status, 0);
  EXPECT_EQ(v.out, "ferrited " + std::string(server_version()) + "\n");
  EXPECT_EQ(server_version(), "0.1.0");
}

TEST(CommandLine, RestoreNamesAnArchive) {
  const Outcome r = run({"--set", "persist.mode=aof", "--restore", "/backups/today", "--restore-force"});
  ASSERT_TRUE(r.result.run) << r.err;
  EXPECT_EQ(r.result.restore_path, "/backups/today");
  EXPECT_TRUE(r.result.restore_force);
  const Outcome plain = run({"--restore=/backups/today", "--set", "persist.mode=aof"});
  ASSERT_TRUE(plain.result.run) << plain.err;
  EXPECT_EQ(plain.result.restore_path, "/backups/today");
  EXPECT_FALSE(plain.result.restore_force);
  EXPECT_FALSE(run({}).result.restore_force);
}

TEST(CommandLine, ArgumentErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  const Case cases[] = {
      {{"--frobnicate"}, "ferrited: unknown option \"--frobnicate\" (see ferrited --help)\n"},
      {{"ferrite.toml"},
       "ferrited: unexpected argument \"ferrite.toml\" (a configuration file goes after --config)\n"},
      {{"--config"}, "ferrited: --config needs a value\n"},
      {{"--set"}, "ferrited: --set needs a value\n"},
      {{"--config="}, "ferrited: --config needs a file name\n"},
      {{"--config", "a.toml", "--config", "b.toml"},
       "ferrited: --config given twice (one file; override single keys with --set)\n"},
      {{"--help", "--bogus"}, "ferrited: unknown option \"--bogus\" (see ferrited --help)\n"},
      {{"--restore"}, "ferrited: --restore needs a value\n"},
      {{"--restore="}, "ferrited: --restore needs an archive folder\n"},
      {{"--restore-force"}, "ferrited: --restore-force is an option of --restore\n"},
      {{"--restore", "/a", "--restore", "/b"}, "ferrited: --restore given twice (one archive)\n"},
      {{"--restore", "/backup"},
       "ferrited: --restore needs persistence on (persist.mode = aof, snapshot or both): with it off nothing "
       "would load the restored folder\n"},
  };
  for (const Case& c : cases) {
    const Outcome r = run(c.args);
    EXPECT_FALSE(r.result.run) << c.err;
    EXPECT_EQ(r.result.exit_status, 2) << c.err;
    EXPECT_EQ(r.err, c.err);
    EXPECT_EQ(r.out, "");
  }
}

TEST(CommandLine, ConfigurationErrorsAreAllReportedAndExitTwo) {
  const testing::TempFile file("bad.toml", "[server]\nmemroy = \"1GiB\"\n");
  const Outcome r = run({"--config", file.path(), "--set", "server.policy=lru", "--set", "oops"});
  EXPECT_FALSE(r.result.run);
  EXPECT_EQ(r.result.exit_status, 2);
  EXPECT_EQ(r.err, "ferrited: " + file.path() +
                       ":2: server.memroy: unknown key (did you mean \"server.memory\"?)\n"
                       "ferrited: --set server.policy: \"lru\" is not allowed; expected one of clock, lfu\n"
                       "ferrited: --set \"oops\": expected section.key=value, such as server.workers=2\n");

  const Outcome missing = run({"--config", "/nonexistent/ferrite.toml"});
  EXPECT_EQ(missing.result.exit_status, 2);
  EXPECT_EQ(
      missing.err,
      "ferrited: /nonexistent/ferrite.toml: cannot read the configuration file: No such file or directory\n");

  const Outcome resolve = run({"--set", "listen.resp=127.0.0.1:11211"});
  EXPECT_EQ(resolve.result.exit_status, 2);
  EXPECT_EQ(resolve.err,
            "ferrited: listen.resp: \"127.0.0.1:11211\" overlaps listen.memcache (\"127.0.0.1:11211\") on "
            "TCP port 11211; expected a port of its own\n");
}

}  // namespace
}  // namespace ferrite::server
