// ferritectl's connection to the management socket: one request line out, one JSON line back,
// every wait bounded (or interruptible, for streams).
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

namespace ferrite::ctl {

class Client {
 public:
  Client() = default;
  ~Client();
  Client(Client&& o) noexcept : fd_(o.fd_), buf_(std::move(o.buf_)) { o.fd_ = -1; }
  Client& operator=(Client&&) = delete;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Connects to the socket at `path`. On failure returns nothing and sets *error to a message
  // that says why and what to check (no such socket, stale socket, permission).
  static std::optional<Client> connect(const std::string& path, std::string* error);

  bool send_line(std::string_view line, std::string* error);
  // The next line (without its newline). Waits up to timeout_ms (< 0: no limit), checking `stop`
  // every 100 ms when given. Nothing on timeout, end of stream, error or stop (then *error says
  // which; empty when stopped).
  std::optional<std::string> read_line(int timeout_ms, const std::atomic<bool>* stop, std::string* error);

 private:
  explicit Client(int fd) : fd_(fd) {}
  int fd_ = -1;
  std::string buf_;
};

}  // namespace ferrite::ctl
