// The kernel driver: sockets through one io_uring per worker.
//
// - TCP: a multishot accept per listening socket (each worker has its own SO_REUSEPORT socket,
//   so the kernel spreads connections), a recv per connection from a ring of provided buffers
//   (multishot; one buffer per poll for a connection that fills whole buffers, so that a bulk
//   sender cannot pour megabytes into the worker before it can pause it), one send per
//   connection in flight (the worker gathers a loop iteration's replies).
// - UDP: a multishot recvmsg per socket from its own provided-buffer ring; replies through
//   sendmsg, their bytes copied into a send arena (a ring) until their completions come.
// - Nothing allocates after construction except the connection table growing to a new high.
//
// Received bytes stay in the provided buffer until the next poll(), which hands the buffers back
// to the kernel: the worker reads them in place. Only as many buffers as the polls need are
// posted (64 to start, doubling when a poll used half of them or the kernel ran out), and the
// ones given back are posted again first: the receive buffers a worker touches stay few and warm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/io.h"

namespace ferrite::uring {

struct DriverConfig {
  unsigned sq_entries = 1024;
  unsigned recv_buffers = 512;          // TCP receive buffers at most (a power of two)
  unsigned recv_buffer_size = 16384;
  unsigned datagram_buffers = 128;      // UDP receive buffers at most (a power of two)
  unsigned datagram_buffer_size = 65536 + 512;  // a whole UDP datagram plus its header and address
  // Reply datagrams in flight at most, the bytes they may hold together, and the largest one.
  // A reply of up to server.max_reply_bytes (4 MiB: ~3000 datagrams of 1400 bytes) fits whole.
  unsigned datagram_send_slots = 4096;
  std::size_t datagram_send_bytes = std::size_t{16} << 20;
  unsigned datagram_send_size = 65536;
};

class UringDriver final : public io::Driver {
 public:
  // Throws std::system_error when the ring or its buffers cannot be set up.
  explicit UringDriver(const DriverConfig& config = {});
  ~UringDriver() override;
  UringDriver(const UringDriver&) = delete;
  UringDriver& operator=(const UringDriver&) = delete;

  // Takes ownership of a bound socket: listening TCP (stream) or UDP (datagram).
  void add_listener(int fd, std::uint16_t tag, bool datagram);

  std::size_t poll(io::Event* events, std::size_t max, int wait_us) override;
  void send(io::ConnId conn, const char* data, std::size_t len) override;
  bool send_datagram(std::uint16_t tag, const io::Endpoint& to, const char* data, std::size_t len) override;
  bool datagram_room(std::size_t count, std::size_t bytes) const noexcept override;
  void pause(io::ConnId conn) override;
  void resume(io::ConnId conn) override;
  void close(io::ConnId conn) override;
  void stop_listening() override;
  io::Endpoint local_address(io::ConnId conn) const override;
  // Writes the driver's eventfd, whose read the ring always has armed.
  void wake() noexcept override;

  std::size_t open_connections() const noexcept;
  // TCP receive buffers the kernel may pick from after each poll (the rest wait unused).
  std::size_t stream_buffers_posted() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferrite::uring
