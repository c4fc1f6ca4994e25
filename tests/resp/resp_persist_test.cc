// RESP's persistence commands (resp_persist.cc) over a scripted PersistControl: SAVE, BGSAVE,
// BGREWRITEAOF, LASTSAVE, their errors, INFO persistence's fields, SAVE refused in MULTI, and the
// answers with persistence off.
#include <gtest/gtest.h>

#include <string>

#include "core/durability.h"
#include "core/persist_control.h"
#include "resp_test_util.h"

namespace ferrite::engine::resp_test {
namespace {

class FakePersist final : public PersistControl {
 public:
  std::string start_save() override {
    ++bg_calls;
    if (status_.in_progress) return "Background save already in progress";
    status_.in_progress = true;
    return "";
  }
  std::string start_rewrite(bool* scheduled) override {
    *scheduled = status_.in_progress;
    if (*scheduled) status_.rewrite_scheduled = true;
    status_.in_progress = true;
    return aof_error;
  }
  std::string save() override {
    ++save_calls;
    if (!save_error.empty()) return save_error;
    ++status_.saves;
    status_.last_save_unix_ms = 1'700'000'123'456;
    return "";
  }
  SaveStatus status() const override { return status_; }

  SaveStatus status_;
  std::string save_error;
  std::string aof_error;
  int save_calls = 0, bg_calls = 0;
};

struct PersistConn : Conn {
  PersistConn() { h.shared().persist = &fake; }
  FakePersist fake;
};

TEST(RespPersist, SaveWaitsForItsSnapshotAndAnswersOkOrTheError) {
  PersistConn c;
  EXPECT_EQ(c.run("SAVE\r\n"), "+OK\r\n");
  EXPECT_EQ(c.fake.save_calls, 1);
  EXPECT_EQ(c.run("LASTSAVE\r\n"), ":1700000123\r\n");
  c.fake.save_error = "create /data/snap-0000000002.fsnap.tmp: No space left on device";
  EXPECT_EQ(c.run("SAVE\r\n"), "-ERR create /data/snap-0000000002.fsnap.tmp: No space left on device\r\n");
  EXPECT_EQ(c.run("SAVE now\r\n"), "-ERR wrong number of arguments for 'save' command\r\n");
  EXPECT_EQ(c.fake.save_calls, 2);
}

TEST(RespPersist, BackgroundSaveStartsOnceAtATime) {
  PersistConn c;
  EXPECT_EQ(c.run("BGSAVE\r\n"), "+Background saving started\r\n");
  EXPECT_EQ(c.run("BGSAVE\r\n"), "-ERR Background save already in progress\r\n");
  EXPECT_EQ(c.run("BGSAVE SCHEDULE\r\n"), "-ERR Background save already in progress\r\n");
  EXPECT_EQ(c.run("BGSAVE now\r\n"), "-ERR syntax error\r\n");
  EXPECT_EQ(c.fake.bg_calls, 3);
  EXPECT_EQ(c.run("BGREWRITEAOF\r\n"), "+Background append only file rewriting scheduled\r\n");
  PersistConn d;
  EXPECT_EQ(d.run("BGREWRITEAOF\r\n"), "+Background append only file rewriting started\r\n");
  PersistConn e;
  e.fake.aof_error = "there is no append-only file to rewrite (persist.mode is \"snapshot\")";
  EXPECT_EQ(e.run("BGREWRITEAOF\r\n"),
            "-ERR there is no append-only file to rewrite (persist.mode is \"snapshot\")\r\n");
}

TEST(RespPersist, SaveInsideATransactionIsRefusedAndAbortsIt) {
  PersistConn c;
  EXPECT_EQ(c.run("MULTI\r\nSET a 1\r\nSAVE\r\nEXEC\r\n"),
            crlf({"+OK", "+QUEUED", "-ERR Command not allowed inside a transaction",
                  "-EXECABORT Transaction discarded because of previous errors."}));
  EXPECT_EQ(c.fake.save_calls, 0);
  EXPECT_EQ(c.run("GET a\r\n"), "$-1\r\n");
  // BGSAVE may be queued (Redis allows it too).
  EXPECT_EQ(c.run("MULTI\r\nBGSAVE\r\nEXEC\r\n"), crlf({"+OK", "+QUEUED", "*1", "+Background saving started"}));
}

TEST(RespPersist, InfoPersistenceShowsTheSnapshotThreadsState) {
  PersistConn c;
  c.fake.status_.aof = true;
  c.fake.status_.in_progress = true;
  c.fake.status_.saves = 3;
  c.fake.status_.last_ok = false;
  c.fake.status_.last_save_unix_ms = 1'700'000'000'000;
  c.fake.status_.last_duration_ms = 2'600;
  c.fake.status_.last_bytes = 12345;
  c.fake.status_.changes_since_save = 42;
  const std::string info = c.run("INFO persistence\r\n");
  for (const char* field : {"rdb_changes_since_last_save:42\r\n", "rdb_bgsave_in_progress:1\r\n",
                            "rdb_last_save_time:1700000000\r\n", "rdb_last_bgsave_status:err\r\n",
                            "rdb_last_bgsave_time_sec:3\r\n", "rdb_saves:3\r\n", "rdb_last_save_bytes:12345\r\n",
                            "aof_rewrite_in_progress:1\r\n", "aof_last_bgrewrite_status:err\r\n"}) {
    EXPECT_NE(info.find(field), std::string::npos) << field << " in " << info;
  }
}

// A durability that says every write is on disk (fsync = always) or not.
class FakeDurability final : public Durability {
 public:
  explicit FakeDurability(bool always) : always_(always) {}
  std::uint64_t written() const noexcept override { return 0; }
  bool durable(std::uint64_t) const noexcept override { return true; }
  bool wait_for_disk() const noexcept override { return always_; }
  bool congested() const noexcept override { return false; }
  bool failed() const noexcept override { return false; }
  const char* failure() const noexcept override { return nullptr; }
  void set_waker(Waker*) noexcept override {}

 private:
  bool always_;
};

TEST(RespPersist, WaitaofAnswersForTheLocalFileUnderFsyncAlways) {
  PersistConn c;
  c.h.shared().aof_enabled = true;
  EXPECT_EQ(c.run("WAITAOF 1 0 0\r\n"),
            "-ERR WAITAOF numlocal needs persist.fsync = always here (each reply then waits for its fsync)\r\n");
  FakeDurability always(true);
  c.h.exec().durability = &always;
  EXPECT_EQ(c.run("SET a 1\r\nWAITAOF 1 0 100\r\nWAITAOF 0 0 0\r\n"), crlf({"+OK", "*2", ":1", ":0", "*2", ":0", ":0"}));
  FakeDurability everysec(false);
  c.h.exec().durability = &everysec;
  EXPECT_EQ(c.run("WAITAOF 1 0 0\r\n"),
            "-ERR WAITAOF numlocal needs persist.fsync = always here (each reply then waits for its fsync)\r\n");
  c.h.exec().durability = nullptr;
}

TEST(RespPersist, WithPersistenceOffTheCommandsSaySo) {
  Conn c;
  const std::string off =
      "-ERR persistence is off (persist.mode = off): there is no folder to save to; set persist.mode to "
      "snapshot, aof or both\r\n";
  EXPECT_EQ(c.run("SAVE\r\n"), off);
  EXPECT_EQ(c.run("BGSAVE\r\n"), off);
  EXPECT_EQ(c.run("BGREWRITEAOF\r\n"), off);
  const std::string last = c.run("LASTSAVE\r\n");
  ASSERT_EQ(last[0], ':');
  EXPECT_EQ(std::stoull(last.substr(1)), c.h.shared().start_unix_ms / 1000);
  const std::string info = c.run("INFO persistence\r\n");
  EXPECT_NE(info.find("rdb_bgsave_in_progress:0\r\n"), std::string::npos);
  EXPECT_NE(info.find("rdb_last_bgsave_status:ok\r\n"), std::string::npos);
}

}  // namespace
}  // namespace ferrite::engine::resp_test
