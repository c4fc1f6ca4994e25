// The management socket over a real unix socket: its mode, several requests per connection,
// streams, limits, and what happens to socket files left behind.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include "mgmt/server.h"
#include "mgmt_test_util.h"

namespace ferrite::mgmt {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ferrite-mgmt-XXXXXX";
    const char* d = mkdtemp(tmpl);
    EXPECT_NE(d, nullptr);
    path_ = d != nullptr ? d : "/tmp";
  }
  ~TempDir() {
    // Only what the tests make: the socket (maybe), a plain file (maybe), a subdirectory (maybe).
    ::unlink((path_ + "/d/f.sock").c_str());
    ::rmdir((path_ + "/d").c_str());
    ::unlink((path_ + "/f.sock").c_str());
    ::rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Reads until `lines` newlines arrived, the peer closed, or 5 s passed.
std::string read_lines(int fd, std::size_t lines, bool* closed = nullptr) {
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  if (closed != nullptr) *closed = false;
  while (static_cast<std::size_t>(std::count(got.begin(), got.end(), '\n')) < lines &&
         std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (closed != nullptr) *closed = true;
      break;
    }
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t nl; (nl = s.find('\n', start)) != std::string::npos; start = nl + 1)
    out.push_back(s.substr(start, nl - start));
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : engine_(2), path_(dir_.path() + "/d/f.sock") {}
  void start() {
    PlaneOptions o;
    o.socket_path = path_;
    server_ = std::make_unique<Server>(engine_.shared, std::move(o), log_);
    server_->start();
  }

  Logger log_{nullptr, [](std::string_view) {}};
  TempDir dir_;
  FakeEngine engine_;
  std::string path_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, SocketIsOnlyForItsOwner) {
  start();
  struct stat st {};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ServerTest, AnswersSeveralRequestsPerConnectionInOrder) {
  start();
  const int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  send_all(fd, "/info\n/nope\n\n/config get log.level\r\n/help /flush\n");
  const auto lines = split_lines(read_lines(fd, 4));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(parse_reply(lines[0])["path"].as_string(), "/info");
  EXPECT_FALSE(parse_reply(lines[1])["ok"].as_bool());
  EXPECT_EQ(parse_reply(lines[2])["data"]["log.level"].as_string(), "info");
  EXPECT_EQ(parse_reply(lines[3])["data"]["path"].as_string(), "/flush");
  // A request split across writes.
  send_all(fd, "/conf");
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  send_all(fd, "ig\n");
  EXPECT_TRUE(parse_reply(split_lines(read_lines(fd, 1)).at(0))["ok"].as_bool());
  ::close(fd);
}

TEST_F(ServerTest, ALastRequestWithoutNewlineIsAnsweredAtEndOfInput) {
  start();
  const int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  send_all(fd, "/info");
  ::shutdown(fd, SHUT_WR);
  bool closed = false;
  const std::string got = read_lines(fd, 2, &closed);
  EXPECT_TRUE(closed);
  ASSERT_EQ(split_lines(got).size(), 1u);
  EXPECT_TRUE(parse_reply(split_lines(got)[0])["ok"].as_bool());
  ::close(fd);
}

TEST_F(ServerTest, AnOverlongLineIsRefusedAndTheConnectionClosed) {
  start();
  const int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  send_all(fd, "/info " + std::string(Server::kMaxLine + 100, 'x'));
  bool closed = false;
  const std::string got = read_lines(fd, 2, &closed);
  EXPECT_TRUE(closed);
  const auto lines = split_lines(got);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(parse_reply(lines[0])["error"].as_string().find("request line longer than"), std::string::npos);
  ::close(fd);
}

TEST_F(ServerTest, EventsStreamDeliversWhatWorkersPush) {
  start();
  const int fd = connect_to(path_);
  ASSERT_GE(fd, 0);
  send_all(fd, "/events\n");
  auto lines = split_lines(read_lines(fd, 1));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(parse_reply(lines[0])["data"]["streaming"].as_bool());
  engine::Event e;
  e.unix_ms = 1;
  e.type = engine::EventType::kEvictionStorm;
  e.worker = 1;
  e.a = 25000;
  ASSERT_TRUE(engine_.controls[1]->events.push(e));
  // A config change made on another connection reaches the stream too.
  const int other = connect_to(path_);
  send_all(other, "/config set log.level warn\n");
  ASSERT_EQ(split_lines(read_lines(other, 1)).size(), 1u);
  ::close(other);
  lines = split_lines(read_lines(fd, 2));
  ASSERT_EQ(lines.size(), 2u);
  std::string error;
  auto storm = parse_json(lines[0], &error);
  auto change = parse_json(lines[1], &error);
  ASSERT_TRUE(storm && change) << error;
  // The order between the two is the order they reached the history.
  if ((*storm)["event"].as_string() != "eviction_storm") std::swap(storm, change);
  EXPECT_EQ((*storm)["event"].as_string(), "eviction_storm");
  EXPECT_EQ((*storm)["worker"].as_int(), 1);
  EXPECT_EQ((*storm)["evictions"].as_int(), 25000);
  EXPECT_EQ((*change)["event"].as_string(), "config_changed");
  EXPECT_EQ((*change)["source"].as_string(), "mgmt");
  EXPECT_EQ((*change)["key"].as_string(), "log.level");
  EXPECT_EQ((*change)["value"].as_string(), "warn");
  ::close(fd);
}

TEST_F(ServerTest, AStaleSocketFileIsReplaced) {
  ASSERT_EQ(::mkdir((dir_.path() + "/d").c_str(), 0700), 0);
  {
    // A socket bound and closed: the file stays, nobody listens.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path_.data(), path_.size());
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a), 0);
    ::close(fd);
  }
  start();
  const int fd = connect_to(path_);
  EXPECT_GE(fd, 0);
  ::close(fd);
}

TEST_F(ServerTest, ALiveSocketOrAPlainFileIsNotReplaced) {
  start();
  PlaneOptions o;
  o.socket_path = path_;
  Server second(engine_.shared, std::move(o), log_);
  try {
    second.start();
    ADD_FAILURE() << "a second server took a live socket";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "mgmt.socket: " + path_ + ": another ferrited is serving this socket");
  }
  const std::string plain = dir_.path() + "/f.sock";
  std::ofstream(plain) << "not a socket";
  PlaneOptions o2;
  o2.socket_path = plain;
  Server third(engine_.shared, std::move(o2), log_);
  EXPECT_THROW(third.start(), std::runtime_error);
  struct stat st {};
  EXPECT_EQ(::lstat(plain.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(ServerTest, StopRemovesTheSocket) {
  start();
  server_->stop();
  struct stat st {};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0);
  EXPECT_EQ(connect_to(path_), -1);
}

TEST_F(ServerTest, ShutdownIsAnsweredBeforeTheDaemonStops) {
  start();
  const int fd = connect_to(path_);
  send_all(fd, "/shutdown\n");
  const auto lines = split_lines(read_lines(fd, 1));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(parse_reply(lines[0])["data"]["shutting_down"].as_bool());
  EXPECT_TRUE(engine_.shared.shutdown_requested.load());
  ::close(fd);
}

}  // namespace
}  // namespace ferrite::mgmt
