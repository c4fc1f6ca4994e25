// The management socket: a unix stream socket (mode 0600) served by one thread, the management
// thread, which runs the Plane's commands and drains the workers' event rings.
//
// The thread polls the listening socket and its clients with a 100 ms timeout; each round it
// reads requests (one per line, several per connection, answered in order, one JSON document per
// line), drains events, samples the counters once a second, feeds `/events` streams, and writes
// what it owes without blocking (a client that does not read is cut off once it owes 16 MiB).
// Workers never wait for it: it reads their counters and reaches them only through their rings.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/session.h"
#include "mgmt/log.h"
#include "mgmt/plane.h"

namespace ferrite::mgmt {

class Server {
 public:
  static constexpr std::size_t kMaxClients = 256;          // served at once; more wait in the backlog
  static constexpr std::size_t kMaxLine = 64 << 10;        // longest request line
  static constexpr std::size_t kMaxOwed = 16u << 20;       // unsent bytes before a client is cut off
  static constexpr std::size_t kMaxStreamOwed = 1u << 20;  // an /events stream drops events beyond it

  // `options.socket_path` is where to listen. Logs go to `log` (which must outlive this object).
  Server(engine::Shared& shared, PlaneOptions options, const Logger& log);
  // Stops the thread; the Plane's requests that a worker never answered are freed here, so destroy
  // this after the workers have stopped.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Creates the socket (a stale socket file left by a dead daemon is replaced; a live one, or a
  // file that is not a socket, is an error) and starts the thread. Throws std::runtime_error:
  // "mgmt.socket: /run/ferrite/ferrited.sock: ...".
  void start();
  // Stops the thread (sending what it can of what it owes) and removes the socket file.
  void stop();
  // From another thread (the main thread's signals): `e` goes into the event history on the
  // management thread's next round, for /events streams. Not logged again.
  void post(const engine::Event& e);

 private:
  struct Client;
  void run();
  void accept_clients();
  bool read_client(Client& c);
  bool answer_lines(Client& c);
  void feed_stream(Client& c);
  bool write_client(Client& c);

  std::string path_;
  const Logger& log_;
  std::unique_ptr<Plane> plane_;
  int listen_fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::vector<std::unique_ptr<Client>> clients_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex posted_mutex_;  // the main thread and the management thread, rarely
  std::vector<engine::Event> posted_;
};

}  // namespace ferrite::mgmt
