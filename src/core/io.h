// The driver interface a worker polls: connections and datagrams as events, sends as requests.
// Protocol-free: a driver moves bytes; the worker (src/engine) decides what they mean.
//
// Implemented by drivers/uring (kernel sockets through one io_uring per worker) and, for the UDP
// fast path, drivers/dpdk. A worker polls each of its drivers once per loop iteration:
//
//   n = driver.poll(events, max, wait_us);   // also submits what the last iteration queued
//   for each event: handle it (data is valid until the next poll of this driver)
//   driver.send(conn, bytes, len) ...        // queued; completes with a kSent event
//
// Not thread-safe: one worker thread owns a driver.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>

namespace ferrite::io {

using ConnId = std::uint32_t;  // a driver's handle for one connection; reused after kClosed

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  // A frame driver's own note of how it reached the peer (the DPDK driver's dpdk::PeerLink: MAC,
  // VLAN, which port), so that another worker's driver of the same kind can answer it (a datagram
  // handed to the worker of its key's partition). Opaque to everything else, which only copies it
  // with the endpoint; socket drivers leave it zero. (The same 16 bytes the typed fields took.)
  std::array<std::uint8_t, 16> link{};
};

enum class EventType : std::uint8_t {
  kAccepted,    // a new connection on listener `tag`; `peer` is set
  kData,        // bytes received on `conn` (`data`, `len`)
  kPeerClosed,  // the peer closed its side (or the connection failed: res < 0)
  kSent,        // the send on `conn` finished: res = bytes sent (may be fewer) or -errno
  kClosed,      // close(conn) finished; the id may be handed out again
  kDatagram,    // a datagram on listener `tag` from `peer`
};

struct Event {
  EventType type;
  std::uint16_t tag = 0;      // the listener's tag (kAccepted, kDatagram)
  ConnId conn = 0;
  std::int32_t res = 0;
  const char* data = nullptr; // kData, kDatagram: valid until the next poll()
  std::uint32_t len = 0;
  const Endpoint* peer = nullptr;  // kAccepted, kDatagram: valid until the next poll()
};

// Packet-level counts of a driver that sees frames (the DPDK driver); socket drivers have none.
enum class PacketCounter : std::uint8_t {
  kRx,                // frames received from the port
  kTx,                // frames sent out of the port
  kTxDropped,         // the TX queue was full
  kArpReplies,        // ARP requests for our address answered
  kIcmpReplies,       // ICMP echo requests answered
  kToKernel,          // frames passed to the kernel (the exception path)
  kFromKernel,        // the kernel's frames sent out of the port
  kExceptionDropped,  // no exception path, or its queue was full
  kMalformed,         // truncated, bad lengths or checksums, impossible sources: dropped
  kNotOurs,           // unicast to another MAC, or our own frame seen again: dropped
  kNoBuffers,         // no mbuf for a reply
  kCount
};
inline constexpr std::size_t kPacketCounterCount = static_cast<std::size_t>(PacketCounter::kCount);
// Metric label values, in PacketCounter order.
inline constexpr const char* kPacketCounterNames[kPacketCounterCount] = {
    "rx", "tx", "tx_dropped", "arp_replies", "icmp_replies", "to_kernel", "from_kernel",
    "exception_dropped", "malformed", "not_ours", "no_buffers"};
using PacketCounts = std::array<std::uint64_t, kPacketCounterCount>;

class Driver {
 public:
  virtual ~Driver() = default;
  // Submits queued work and collects up to `max` events. Waits up to `wait_us` microseconds
  // when nothing is ready (0: never waits).
  virtual std::size_t poll(Event* events, std::size_t max, int wait_us) = 0;
  // Sends `len` bytes on `conn`. The memory must stay untouched until kSent; one send per
  // connection in flight.
  virtual void send(ConnId conn, const char* data, std::size_t len) = 0;
  // Sends one datagram from listener `tag` (copied; no completion event). False when the
  // driver has no room for it now (the caller counts a drop).
  virtual bool send_datagram(std::uint16_t tag, const Endpoint& to, const char* data, std::size_t len) = 0;
  // Whether `count` datagrams of `bytes` in all can be sent now, every one of them: a reply of
  // several datagrams is sent whole or not at all (its header announces how many there are).
  virtual bool datagram_room(std::size_t /*count*/, std::size_t /*bytes*/) const noexcept { return true; }
  // Stops (and restarts) delivering kData on `conn`: back-pressure while replies are unsent.
  virtual void pause(ConnId conn) = 0;
  virtual void resume(ConnId conn) = 0;
  // Closes `conn`: pending receives end, kClosed follows once the driver is done with it.
  virtual void close(ConnId conn) = 0;
  // Stops accepting connections and datagrams (shutdown); connections stay open.
  virtual void stop_listening() = 0;
  // The local address of `conn` (for CLIENT INFO and the like).
  virtual Endpoint local_address(ConnId conn) const = 0;
  // The packet counts so far (cumulative); false for a driver that has none.
  virtual bool packet_counts(PacketCounts* /*out*/) const { return false; }
  // Callable from any thread: a poll() waiting now (or the next one to wait) returns soon, with
  // or without events. A driver without a way to be woken does nothing (its waits are bounded
  // by their wait_us anyway).
  virtual void wake() noexcept {}
};

}  // namespace ferrite::io
