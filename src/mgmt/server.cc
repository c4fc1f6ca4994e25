#include "mgmt/server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "core/clock.h"

namespace ferrite::mgmt {

struct Server::Client {
  int fd = -1;
  std::string in;
  std::string out;
  std::size_t sent = 0;  // of `out`
  bool closing = false;  // close once `out` is sent
  bool streaming = false;
  std::uint64_t next_seq = 0;
  std::uint64_t lost = 0;  // events not sent to a slow stream since the last one sent
};

Server::Server(engine::Shared& shared, PlaneOptions options, const Logger& log)
    : path_(options.socket_path),
      log_(log),
      plane_(std::make_unique<Plane>(shared, std::move(options), log)) {}

Server::~Server() { stop(); }

namespace {

std::runtime_error socket_error(const std::string& path, const std::string& what) {
  return std::runtime_error("mgmt.socket: " + path + ": " + what);
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  return a;
}

// Whether a daemon is listening on the socket file at `path`.
bool someone_listens(const sockaddr_un& a) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return live;
}

}  // namespace

void Server::start() {
  if (path_.empty()) throw socket_error(path_, "empty path");
  if (path_.size() >= sizeof(sockaddr_un::sun_path))
    throw socket_error(path_, "path too long for a unix socket");
  const sockaddr_un addr = address_of(path_);
  // Its directory (one level) when missing: systemd's RuntimeDirectory= makes /run/ferrite, but a
  // daemon started by hand may not have it.
  if (const std::size_t slash = path_.rfind('/'); slash != std::string::npos && slash > 0) {
    const std::string dir = path_.substr(0, slash);
    if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
      throw socket_error(path_, "cannot create its directory " + dir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw socket_error(path_, "exists and is not a socket; not replacing it");
    if (someone_listens(addr)) throw socket_error(path_, "another ferrited is serving this socket");
    ::unlink(path_.c_str());  // stale: left by a daemon that did not stop cleanly
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd_ < 0) throw socket_error(path_, std::string("socket: ") + std::strerror(errno));
  // Created 0600 (umask around bind: the socket file takes its mode from it; no other thread of
  // the daemon creates files), then chmod in case the file system ignores that.
  const mode_t old_mask = ::umask(0177);
  const int bound = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int bind_errno = errno;
  ::umask(old_mask);
  if (bound != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    throw socket_error(path_, std::string("bind: ") + std::strerror(bind_errno));
  }
  ::chmod(path_.c_str(), 0600);
  // A deep backlog: clients beyond kMaxClients (a burst of scripts, a slow /keys/big holding the
  // thread) wait there to be accepted rather than be refused.
  if (::listen(listen_fd_, SOMAXCONN) != 0 || ::stat(path_.c_str(), &st) != 0) {
    const int err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(path_.c_str());
    throw socket_error(path_, std::string("listen: ") + std::strerror(err));
  }
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
  log_.write(LogLine(Level::kInfo, "mgmt", unix_ms()).kv("event", "listening").kv("socket", path_));
}

void Server::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (auto& c : clients_) ::close(c->fd);
  clients_.clear();
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    // Only our own socket file: another daemon may have replaced it meanwhile.
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) ::unlink(path_.c_str());
  }
}

void Server::post(const engine::Event& e) {
  std::lock_guard<std::mutex> lock(posted_mutex_);
  if (posted_.size() < 1024) posted_.push_back(e);  // a flood of signals is bounded
}

void Server::run() {
  pthread_setname_np(pthread_self(), "ferrite-mgmt");
  std::vector<pollfd> fds;
  while (!stop_.load(std::memory_order_relaxed)) {
    fds.clear();
    fds.push_back(pollfd{listen_fd_, static_cast<short>(clients_.size() < kMaxClients ? POLLIN : 0), 0});
    for (const auto& c : clients_) {
      short ev = c->closing ? 0 : POLLIN;
      if (c->sent < c->out.size()) ev |= POLLOUT;
      fds.push_back(pollfd{c->fd, ev, 0});
    }
    const int n = ::poll(fds.data(), fds.size(), 100);
    if (n < 0 && errno != EINTR) break;

    if (n > 0 && (fds[0].revents & POLLIN) != 0) accept_clients();
    // Clients present when poll was set up are fds[1..]; accepted ones are read next round.
    const std::size_t polled = fds.size() - 1;
    for (std::size_t i = 0; i < polled && i < clients_.size(); ++i) {
      Client& c = *clients_[i];
      const short re = fds[i + 1].revents;
      if ((re & (POLLIN | POLLHUP | POLLERR)) != 0 && !read_client(c)) {
        c.closing = true;
        c.out.clear();  // the peer is gone (or broke the protocol hard): nothing more to send
        c.sent = 0;
      }
    }
    {
      std::vector<engine::Event> posted;
      {
        std::lock_guard<std::mutex> lock(posted_mutex_);
        posted.swap(posted_);
      }
      for (const engine::Event& e : posted) plane_->record(e);
    }
    plane_->tick(monotonic_ms(), unix_ms());
    for (auto& c : clients_) {
      if (c->streaming && !c->closing) feed_stream(*c);
    }
    std::erase_if(clients_, [this](const std::unique_ptr<Client>& c) {
      const bool keep = write_client(*c) && !(c->closing && c->sent >= c->out.size());
      if (!keep) ::close(c->fd);
      return !keep;
    });
  }
  // Stopping: one last attempt to send what is owed (a /shutdown reply, typically).
  for (auto& c : clients_) write_client(*c);
}

// Accepts up to kMaxClients connections; the others stay in the listen backlog until some close
// (the listening socket is not polled meanwhile).
void Server::accept_clients() {
  while (clients_.size() < kMaxClients) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Client>();
    c->fd = fd;
    clients_.push_back(std::move(c));
  }
}

// Reads what the client sent and answers every complete line. False: the peer closed or failed.
bool Server::read_client(Client& c) {
  char buf[16384];
  for (int round = 0; round < 16; ++round) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0) {
      // The peer is done sending (it may still read: `printf '/info' | socat - UNIX:...`). A last
      // request without its newline is still answered; then the connection closes once the
      // replies are out. A stream simply ends.
      if (c.streaming) return false;
      if (!c.closing && !c.in.empty()) c.in += '\n';
      const bool answered = answer_lines(c);
      c.closing = true;
      return answered;
    }
    if (c.closing || c.streaming) continue;  // a stream takes no more requests: input is ignored
    c.in.append(buf, static_cast<std::size_t>(n));
    if (!answer_lines(c)) return false;
    if (!c.streaming && c.in.size() > kMaxLine) {
      JsonWriter w;
      w.begin_object()
          .field("ok", false)
          .field("path", "")
          .field("error", "request line longer than " + std::to_string(kMaxLine) + " bytes; closing")
          .end_object();
      c.out += w.str();
      c.out += '\n';
      c.in.clear();
      c.closing = true;
    }
  }
  return true;
}

// Answers every complete line in c.in and drops them. False: the client owes too much output.
bool Server::answer_lines(Client& c) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = c.in.find('\n', start);
    if (nl == std::string::npos) break;
    const std::string_view line(c.in.data() + start, nl - start);
    start = nl + 1;
    Reply r = plane_->handle(line);
    if (r.json.empty()) continue;
    c.out += r.json;
    c.out += '\n';
    if (r.stream) {
      c.streaming = true;
      c.next_seq = r.stream_from;
      c.in.clear();
      return true;
    }
    if (c.out.size() - c.sent > kMaxOwed) return false;
  }
  c.in.erase(0, start);
  return true;
}

void Server::feed_stream(Client& c) {
  std::vector<Record> records;
  c.lost += plane_->history().since(c.next_seq, &records);
  for (const Record& r : records) {
    c.next_seq = r.seq + 1;
    if (c.out.size() - c.sent > kMaxStreamOwed) {
      ++c.lost;  // a slow reader: drop rather than grow without bound
      continue;
    }
    if (c.lost != 0) {
      JsonWriter w;
      w.begin_object().field("event", "events_lost").field("count", c.lost).end_object();
      c.out += w.str();
      c.out += '\n';
      c.lost = 0;
    }
    JsonWriter w;
    write_event(r, w);
    c.out += w.str();
    c.out += '\n';
  }
}

// Sends what it can without blocking. False: the peer is gone.
bool Server::write_client(Client& c) {
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c.sent += static_cast<std::size_t>(n);
  }
  c.out.clear();
  c.sent = 0;
  return true;
}

}  // namespace ferrite::mgmt
