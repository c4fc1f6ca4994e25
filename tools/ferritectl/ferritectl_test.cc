// ferritectl's parts that need no daemon: the command line, the request lines it sends, and the
// rendering of replies.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "mgmt/json_reader.h"
#include "backup.h"
#include "options.h"
#include "persist/manifest.h"
#include "persist/record.h"
#include "persist/segment.h"
#include "render.h"
#include "verify.h"

namespace ferrite::ctl {
namespace {

int parse(std::vector<std::string> args, Options& o) {
  args.insert(args.begin(), "ferritectl");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return parse_options(static_cast<int>(argv.size()), argv.data(), o);
}

TEST(Options, GlobalOptionsGoAnywhere) {
  Options o;
  EXPECT_EQ(parse({"--json", "keys", "hot", "5", "--socket=/tmp/x.sock"}, o), -1);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.socket, "/tmp/x.sock");
  EXPECT_EQ(o.command, (std::vector<std::string>{"keys", "hot", "5"}));
  Options t;
  EXPECT_EQ(parse({"top", "-n", "3", "--interval", "0.5", "-s", "/s"}, t), -1);
  EXPECT_EQ(t.iterations, 3u);
  EXPECT_DOUBLE_EQ(t.interval_s, 0.5);
  EXPECT_EQ(t.socket, "/s");
}

TEST(Options, UsageErrorsExit2) {
  Options o;
  EXPECT_EQ(parse({}, o), kExitUsage);
  Options a;
  EXPECT_EQ(parse({"--frob", "info"}, a), kExitUsage);
  Options b;
  EXPECT_EQ(parse({"info", "--count", "3"}, b), kExitUsage);  // a watch option
  Options c;
  EXPECT_EQ(parse({"top", "--interval", "fast"}, c), kExitUsage);
  Options d;
  EXPECT_EQ(parse({"watch", "now"}, d), kExitUsage);
  Options e;
  EXPECT_EQ(parse({"info", "--socket"}, e), kExitUsage);
}

TEST(Options, ValuesAndRepeats) {
  Options o;
  EXPECT_EQ(parse({"-s", "/a", "--socket", "/b", "-j", "--json", "info"}, o), -1);
  EXPECT_EQ(o.socket, "/b");  // the last one counts
  EXPECT_TRUE(o.json);
  Options w;
  EXPECT_EQ(parse({"watch", "--backlog=5", "--count", "2"}, w), -1);
  EXPECT_EQ(w.backlog, 5u);
  EXPECT_EQ(w.count, 2u);
  EXPECT_EQ(w.command, (std::vector<std::string>{"watch"}));
  Options e;
  EXPECT_EQ(parse({"info", "-s", ""}, e), kExitUsage);
  Options n;
  EXPECT_EQ(parse({"top", "--iterations", "0"}, n), kExitUsage);
  Options h;
  EXPECT_EQ(parse({"--help", "frobnicate"}, h), kExitOk);
}

TEST(Options, RawTakesEveryWordAsItIs) {
  Options o;
  EXPECT_EQ(parse({"raw", "/keys/hot", "--json"}, o), -1);
  EXPECT_FALSE(o.json);
  Options s;
  EXPECT_EQ(parse({"--socket", "raw", "-j", "raw", "/x", "-s", "y"}, s), -1);
  EXPECT_EQ(s.socket, "raw");
  EXPECT_TRUE(s.json);
  EXPECT_EQ(s.command, (std::vector<std::string>{"raw", "/x", "-s", "y"}));
  std::string error;
  EXPECT_EQ(request_line(o.command, &error), "/keys/hot --json");
}

TEST(RequestLine, MirrorsTheSocketsPaths) {
  std::string e;
  EXPECT_EQ(request_line({"info"}, &e), "/info");
  EXPECT_EQ(request_line({"config"}, &e), "/config");
  EXPECT_EQ(request_line({"config", "get", "server.*"}, &e), "/config get server.*");
  EXPECT_EQ(request_line({"config", "set", "server.memory", "64MiB"}, &e), "/config set server.memory 64MiB");
  EXPECT_EQ(request_line({"keys", "hot"}, &e), "/keys/hot");
  EXPECT_EQ(request_line({"keys", "big", "3"}, &e), "/keys/big 3");
  EXPECT_EQ(request_line({"slowlog", "reset"}, &e), "/slowlog reset");
  EXPECT_EQ(request_line({"latency", "resp"}, &e), "/latency resp");
  EXPECT_EQ(request_line({"shutdown"}, &e), "/shutdown");
}

TEST(RequestLine, RefusesWhatIsNotACommand) {
  std::string e;
  EXPECT_EQ(request_line({"infos"}, &e), "");
  EXPECT_EQ(e, "unknown command \"infos\"");
  EXPECT_EQ(request_line({"info", "x"}, &e), "");
  EXPECT_EQ(request_line({"keys", "cold"}, &e), "");
  EXPECT_EQ(e, "unknown keys subcommand \"cold\"; expected hot or big");
  EXPECT_EQ(request_line({"config", "set", "k"}, &e), "");
  EXPECT_EQ(request_line({"config", "get", "a\nb"}, &e), "");
  EXPECT_EQ(e, "arguments cannot contain line breaks");
}

TEST(Render, TablesAlignColumns) {
  Table t({"NAME", ">N"});
  t.row({"a", "1"});
  t.row({"long name", "12345"});
  EXPECT_EQ(t.str(), "NAME           N\na              1\nlong name  12345\n");
}

TEST(Render, HumanUnits) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(64.0 * 1024 * 1024), "64.0 MiB");
  EXPECT_EQ(human_duration(0.25), "250ms");
  EXPECT_EQ(human_duration(187), "3m07s");
  EXPECT_EQ(human_duration(7500), "2h05m");
  EXPECT_EQ(percent(0.953), "95.3%");
  EXPECT_EQ(printable(std::string("a\0b\\", 4)), "a\\x00b\\\\");
}

TEST(Render, RepliesBecomeTables) {
  std::string error;
  auto hot = mgmt::parse_json(
      R"({"sample_every":8,"decay":"counts halve every 10 s","keys":[{"key":"user:1","count":800,"error":8,"workers":[0,1]}]})",
      &error);
  ASSERT_TRUE(hot) << error;
  const std::string out = render({"keys", "hot"}, *hot);
  EXPECT_NE(out.find("user:1"), std::string::npos);
  EXPECT_NE(out.find("800"), std::string::npos);
  EXPECT_NE(out.find("0,1"), std::string::npos);
  auto cfg = mgmt::parse_json(R"({"server.memory":"64MiB"})", &error);
  EXPECT_EQ(render({"config", "set", "server.memory", "64MiB"}, *cfg), "server.memory = 64MiB\n");
  auto ev = mgmt::parse_json(
      R"({"seq":3,"time":"2024-01-01T00:00:00.000Z","event":"eviction_storm","worker":1,"evictions":25000})",
      &error);
  EXPECT_EQ(render_event(*ev),
            "2024-01-01T00:00:00.000Z  eviction_storm  worker=1 evictions=25000 in the last second\n");
  auto sig = mgmt::parse_json(
      R"({"seq":4,"time":"2024-01-01T00:00:01.000Z","event":"signal","source":"mgmt","signal":"HUP","action":"ignored"})",
      &error);
  EXPECT_EQ(render_event(*sig), "2024-01-01T00:00:01.000Z  signal  SIGHUP ignored\n");
}

TEST(Options, VerifyTakesAPathAndTruncateIsItsOwn) {
  Options o;
  EXPECT_EQ(parse({"verify", "/var/lib/ferrite", "--truncate", "--json"}, o), -1);
  EXPECT_TRUE(o.truncate);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.command, (std::vector<std::string>{"verify", "/var/lib/ferrite"}));
  Options a;
  EXPECT_EQ(parse({"verify"}, a), kExitUsage);
  Options b;
  EXPECT_EQ(parse({"info", "--truncate"}, b), kExitUsage);
}

// A persistence folder in a temporary directory: a MANIFEST naming segment 1 with two records.
class VerifyFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "ferritectl_verify_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    persist::Manifest m;
    m.generation = 3;
    m.segments = {1};
    ASSERT_EQ(persist::store_manifest(dir_, m), "");
    std::string seg(persist::kSegmentHeader, '\0');
    persist::encode_segment_header({1, 0}, seg.data());
    for (const char* key : {"a", "b"}) {
      persist::Record r;
      r.key = key;
      r.value = "value";
      std::string bytes(persist::record_size(r), '\0');
      persist::encode(r, bytes.data());
      seg += bytes;
    }
    segment_ = seg;
    write(segment_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string seg_path() const { return dir_ + "/" + persist::segment_file_name(1); }
  void write(const std::string& bytes) const {
    std::ofstream(seg_path(), std::ios::binary | std::ios::trunc) << bytes;
  }
  std::string dir_, segment_;
};

TEST(Options, BackupAndRestoreTakeTheirOwnOptions) {
  Options o;
  EXPECT_EQ(parse({"backup", "/backups/today"}, o), -1);
  EXPECT_FALSE(o.dir_given);
  Options d;
  EXPECT_EQ(parse({"backup", "/backups/today", "--dir", "/var/lib/ferrite"}, d), -1);
  EXPECT_EQ(d.dir, "/var/lib/ferrite");
  Options r;
  EXPECT_EQ(parse({"restore", "/backups/today", "--dir=/var/lib/ferrite", "--force", "--json"}, r), -1);
  EXPECT_TRUE(r.force);
  EXPECT_EQ(r.command, (std::vector<std::string>{"restore", "/backups/today"}));
  Options a;
  EXPECT_EQ(parse({"restore", "/backups/today"}, a), kExitUsage);  // no --dir
  Options b;
  EXPECT_EQ(parse({"backup"}, b), kExitUsage);
  Options c;
  EXPECT_EQ(parse({"backup", "/x", "--force"}, c), kExitUsage);
  Options e;
  EXPECT_EQ(parse({"info", "--dir", "/x"}, e), kExitUsage);
  Options f;
  EXPECT_EQ(parse({"restore", "/x", "--dir"}, f), kExitUsage);
}

TEST_F(VerifyFolder, GoodFolderPrintsTheCounts) {
  std::ostringstream out;
  EXPECT_EQ(run_verify(dir_, false, false, out), kExitOk);
  EXPECT_EQ(out.str(), "OK " + dir_ + ": generation 3, 1 segments, 2 records, " +
                           std::to_string(segment_.size()) + " bytes\n");
  std::ostringstream js;
  EXPECT_EQ(run_verify(dir_, false, true, js), kExitOk);
  std::string error;
  auto v = mgmt::parse_json(js.str(), &error);
  ASSERT_TRUE(v) << error;
  EXPECT_TRUE((*v)["ok"].as_bool());
  EXPECT_EQ((*v)["records"].as_uint(), 2u);
  EXPECT_TRUE((*v)["error"].is_null());
}

TEST_F(VerifyFolder, DamageNamesTheFileAndOffset) {
  std::string bad = segment_;
  bad[bad.size() - 2] ^= 1;
  write(bad);
  const std::size_t second = persist::kSegmentHeader + (segment_.size() - persist::kSegmentHeader) / 2;
  std::ostringstream out;
  EXPECT_EQ(run_verify(dir_, true, false, out), kExitVerifyDamaged);
  EXPECT_EQ(out.str(), "BAD " + seg_path() + ": offset " + std::to_string(second) + ": bad record: " +
                           persist::decode_status_name(persist::DecodeStatus::kBadCrc) + "\n");
  std::ostringstream js;
  EXPECT_EQ(run_verify(dir_, false, true, js), kExitVerifyDamaged);
  std::string error;
  auto v = mgmt::parse_json(js.str(), &error);
  ASSERT_TRUE(v) << error;
  EXPECT_FALSE((*v)["ok"].as_bool());
  EXPECT_EQ((*v)["error"]["file"].as_string(), seg_path());
  EXPECT_EQ((*v)["error"]["offset"].as_uint(), second);
}

TEST_F(VerifyFolder, TornTailIsReportedThenCut) {
  write(segment_.substr(0, segment_.size() - 3));
  std::ostringstream out;
  EXPECT_EQ(run_verify(dir_, false, false, out), kExitVerifyTorn);
  EXPECT_NE(out.str().find("torn tail: " + seg_path()), std::string::npos) << out.str();
  std::ostringstream cut;
  EXPECT_EQ(run_verify(dir_, true, false, cut), kExitOk);
  EXPECT_NE(cut.str().find("(cut)"), std::string::npos) << cut.str();
  std::ostringstream again;
  EXPECT_EQ(run_verify(dir_, false, false, again), kExitOk);
  EXPECT_NE(again.str().find("1 records"), std::string::npos) << again.str();
}

TEST_F(VerifyFolder, BackupThenRestore) {
  const std::string archive = dir_ + "/../" + std::filesystem::path(dir_).filename().string() + "_archive";
  const std::string target = dir_ + "/../" + std::filesystem::path(dir_).filename().string() + "_target";
  std::ostringstream out, err;
  ASSERT_EQ(run_backup(dir_, archive, false, out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str().rfind("OK " + archive + ": backup of " + dir_ + ": generation 3, 1 segments, 2 records, ", 0),
            0u)
      << out.str();
  std::ostringstream again, again_err;
  EXPECT_EQ(run_backup(dir_, archive, false, again, again_err), kExitBackupFailed);
  EXPECT_NE(again_err.str().find("not empty"), std::string::npos) << again_err.str();

  std::ostringstream js, js_err;
  ASSERT_EQ(run_restore(archive, target, false, true, js, js_err), kExitOk) << js_err.str();
  std::string error;
  auto v = mgmt::parse_json(js.str(), &error);
  ASSERT_TRUE(v) << error;
  EXPECT_TRUE((*v)["ok"].as_bool());
  EXPECT_EQ((*v)["records"].as_uint(), 2u);
  std::ostringstream vout;
  EXPECT_EQ(run_verify(target, false, false, vout), kExitOk) << vout.str();

  std::ostringstream occ, occ_err;
  EXPECT_EQ(run_restore(archive, target, false, false, occ, occ_err), kExitRestoreOccupied);
  EXPECT_NE(occ_err.str().find("--force"), std::string::npos) << occ_err.str();
  std::ostringstream forced, forced_err;
  EXPECT_EQ(run_restore(archive, target, true, false, forced, forced_err), kExitOk) << forced_err.str();
  EXPECT_NE(forced.str().find("moved to " + target + "/.replaced-"), std::string::npos) << forced.str();

  // A damaged archive exits as verify does on a damaged folder, naming the file.
  std::string seg;
  {
    std::ifstream in(archive + "/" + persist::segment_file_name(1), std::ios::binary);
    seg.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  seg[seg.size() - 1] ^= 1;
  std::ofstream(archive + "/" + persist::segment_file_name(1), std::ios::binary | std::ios::trunc) << seg;
  std::ostringstream bad, bad_err;
  EXPECT_EQ(run_restore(archive, target + "2", false, false, bad, bad_err), kExitVerifyDamaged);
  EXPECT_NE(bad_err.str().find(archive + "/" + persist::segment_file_name(1)), std::string::npos) << bad_err.str();
  std::filesystem::remove_all(archive);
  std::filesystem::remove_all(target);
  std::filesystem::remove_all(target + "2");
}

}  // namespace
}  // namespace ferrite::ctl
