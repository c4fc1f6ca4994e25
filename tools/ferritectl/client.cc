#include "client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace ferrite::ctl {

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

std::optional<Client> Client::connect(const std::string& path, std::string* error) {
  const std::string head = "cannot connect to " + path + ": ";
  sockaddr_un a{};
  if (path.empty() || path.size() >= sizeof a.sun_path) {
    *error =
        head + "not a usable unix socket path (at most " + std::to_string(sizeof a.sun_path - 1) + " bytes)";
    return std::nullopt;
  }
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = head + std::strerror(errno);
    return std::nullopt;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
    const int err = errno;
    ::close(fd);
    switch (err) {
      case ENOENT:
        *error = head +
                 "no such socket (is ferrited running, with mgmt.socket set to this path? --socket "
                 "chooses another)";
        break;
      case ECONNREFUSED:
        *error = head + "connection refused (ferrited is not running: the socket file is stale)";
        break;
      case EACCES:
      case EPERM:
        *error = head +
                 "permission denied (the socket is mode 0600: run ferritectl as the user ferrited runs "
                 "as, or as root)";
        break;
      case ENOTSOCK:
        *error = head + "not a socket";
        break;
      default:
        *error = head + std::strerror(err);
    }
    return std::nullopt;
  }
  return Client(fd);
}

bool Client::send_line(std::string_view line, std::string* error) {
  std::string data(line);
  data += '\n';
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = std::string("sending the request: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::optional<std::string> Client::read_line(int timeout_ms, const std::atomic<bool>* stop,
                                             std::string* error) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (const std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
      std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 1);
      return line;
    }
    if (stop != nullptr && stop->load()) {
      error->clear();
      return std::nullopt;
    }
    int wait = 100;
    if (timeout_ms >= 0) {
      const auto spent =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      const long left = timeout_ms - spent.count();
      if (left <= 0) {
        *error = "no reply within " + std::to_string(timeout_ms / 1000) + " s";
        return std::nullopt;
      }
      if (left < wait) wait = static_cast<int>(left);
    }
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, wait);
    if (r < 0 && errno != EINTR) {
      *error = std::string("waiting for the reply: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (r <= 0) continue;
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = n == 0 ? "ferrited closed the connection"
                      : std::string("reading the reply: ") + std::strerror(errno);
      return std::nullopt;
    }
    buf_.append(chunk, static_cast<std::size_t>(n));
  }
}

}  // namespace ferrite::ctl
