#include "uring_driver.h"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <system_error>
#include <vector>

namespace ferrite::uring {
namespace {

// user_data: the operation in the top byte, the connection / listener / slot index below.
enum Op : std::uint64_t { kAccept = 1, kRecv, kSend, kRecvMsg, kSendMsg, kCancel, kWake };
constexpr std::uint64_t ud(Op op, std::uint32_t index) { return (static_cast<std::uint64_t>(op) << 56) | index; }
constexpr Op ud_op(std::uint64_t u) { return static_cast<Op>(u >> 56); }
constexpr std::uint32_t ud_index(std::uint64_t u) { return static_cast<std::uint32_t>(u); }

constexpr unsigned kStreamGroup = 0;
constexpr unsigned kDatagramGroup = 1;

[[noreturn]] void fail(int err, const char* what) { throw std::system_error(err, std::system_category(), what); }

// A ring of provided buffers the kernel picks from (one group).
//
// The kernel takes buffers from the ring's head in order, and a buffer given back goes to its
// tail, so a ring with all its buffers posted would cycle through every one of them: each
// receive would land in a buffer no cache has seen for a while, and every page of every buffer
// would end up resident (512 TCP buffers of 16 KiB are 8 MiB per worker). So only `posted` of
// the buffers are in the ring; the others wait on a stack, and the buffers given back at a poll
// are the ones posted again. The working set is the few buffers a poll needs. `posted` doubles
// (up to every buffer) when a poll used more than half of them or the kernel ran out (ENOBUFS).
struct BufferRing {
  static constexpr unsigned kFirstPosted = 64;

  io_uring_buf_ring* ring = nullptr;
  char* base = nullptr;
  unsigned count = 0, size = 0, mask = 0;
  unsigned posted = 0;  // buffers in the ring after each recycle()
  bool starved = false;  // the kernel found the ring empty since the last recycle()
  std::size_t ring_bytes = 0, base_bytes = 0;
  std::vector<std::uint16_t> used;   // handed out since the last poll: give back next time
  std::vector<std::uint16_t> spare;  // neither in the ring nor handed out; the top was used last

  void setup(io_uring* uring, unsigned group, unsigned n, unsigned bytes) {
    count = n;
    size = bytes;
    mask = static_cast<unsigned>(io_uring_buf_ring_mask(n));
    ring_bytes = n * sizeof(io_uring_buf);
    void* r = mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (r == MAP_FAILED) fail(errno, "mmap (buffer ring)");
    ring = static_cast<io_uring_buf_ring*>(r);
    base_bytes = static_cast<std::size_t>(n) * bytes;
    void* b = mmap(nullptr, base_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (b == MAP_FAILED) fail(errno, "mmap (receive buffers)");
    base = static_cast<char*>(b);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(ring);
    reg.ring_entries = n;
    reg.bgid = static_cast<std::uint16_t>(group);
    const int rc = io_uring_register_buf_ring(uring, &reg, 0);
    if (rc < 0) fail(-rc, "io_uring_register_buf_ring");
    io_uring_buf_ring_init(ring);
    used.reserve(n);
    spare.reserve(n);
    for (unsigned i = n; i > 0; --i) spare.push_back(static_cast<std::uint16_t>(i - 1));
    posted = n < kFirstPosted ? n : kFirstPosted;
    post(posted);
  }
  char* at(unsigned id) const { return base + static_cast<std::size_t>(id) * size; }
  // Moves `k` buffers from the top of the stack into the ring.
  void post(unsigned k) {
    int i = 0;
    for (; k > 0 && !spare.empty(); --k, ++i) {
      const std::uint16_t id = spare.back();
      spare.pop_back();
      io_uring_buf_ring_add(ring, at(id), size, id, static_cast<int>(mask), i);
    }
    io_uring_buf_ring_advance(ring, i);
  }
  void recycle() {
    if (used.empty() && !starved) return;
    const auto handed = static_cast<unsigned>(used.size());
    spare.insert(spare.end(), used.begin(), used.end());
    used.clear();
    unsigned more = 0;
    if ((starved || handed * 2 > posted) && posted < count) {
      more = posted < count - posted ? posted : count - posted;
      posted += more;
    }
    starved = false;
    post(handed + more);
  }
  void teardown() {
    if (ring != nullptr) munmap(ring, ring_bytes);
    if (base != nullptr) munmap(base, base_bytes);
    ring = nullptr;
    base = nullptr;
  }
};

struct Conn {
  int fd = -1;
  bool open = false;
  bool recv_armed = false;
  // Receives one buffer per arm (re-armed at the next poll) rather than multishot: a connection
  // that fills whole buffers (a bulk sender) takes one buffer per poll, so the worker can stop
  // reading it (pause) before it has taken more than it may hold; a multishot receive would
  // drain its whole socket buffer (megabytes) into the ring at once. New connections start so;
  // one whose receive came back short (its socket drained) goes multishot.
  bool bulk = true;
  bool switching = false;  // a multishot receive is being cancelled to go one buffer at a time
  bool send_inflight = false;
  bool paused = false;
  bool closing = false;
  bool rearm_queued = false;
};

struct Listener {
  int fd = -1;
  std::uint16_t tag = 0;
  bool datagram = false;
  bool armed = false;
  msghdr msg{};  // recvmsg multishot template: the name length tells the kernel how much room
};

// One datagram in flight: its sendmsg header and where its bytes are in the send arena.
struct SendSlot {
  msghdr msg{};
  iovec iov{};
  io::Endpoint to;
  std::size_t bytes = 0;  // arena bytes it holds (its length, plus the tail skipped to wrap)
  bool done = false;      // its completion came (retired once every older slot's has too)
};

}  // namespace

struct UringDriver::Impl {
  DriverConfig cfg;
  io_uring ring{};
  bool deferred = false;  // IORING_SETUP_DEFER_TASKRUN
  BufferRing stream, dgram;
  std::vector<Conn> conns;
  std::vector<io::ConnId> free_conns;
  std::vector<io::ConnId> rearm, finished;
  // A deque: a listener never moves. An armed recvmsg SQE points at its listener's msghdr, which
  // the kernel reads only when the SQE is submitted (the next poll); a vector's reallocation
  // while the next listener was added left the earlier ones' SQEs pointing at freed memory, and
  // that listener then received with whatever name length the heap held (0: every datagram
  // dropped as truncated).
  std::deque<Listener> listeners;
  // Datagrams in flight: slots used in order as a ring (slot = seq % size), their bytes taken in
  // order from one arena, also a ring. A completion marks its slot done; the oldest done slots
  // give their bytes back. So a reply of many small datagrams needs only their bytes, not a
  // 64 KiB slot each (256 fixed slots cut a 715-datagram reply short).
  std::vector<SendSlot> slots;
  std::uint64_t slot_head = 0;  // next slot to use
  std::uint64_t slot_tail = 0;  // oldest slot in flight
  char* arena = nullptr;
  std::size_t arena_bytes = 0;
  std::size_t arena_head = 0;       // where the next datagram's bytes go
  std::size_t arena_used = 0;       // bytes held by slots in flight
  std::vector<io::Endpoint> peers;  // one per event of the current poll
  bool listening = true;
  std::size_t open = 0;
  // wake(): an eventfd whose 8-byte read stays armed in the ring (re-armed after each completion).
  int wake_fd = -1;
  std::uint64_t wake_value = 0;
  bool wake_armed = false;

  io_uring_sqe* sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (s == nullptr) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
      if (s == nullptr) fail(EBUSY, "io_uring_get_sqe");
    }
    return s;
  }

  void arm_wake() {
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, wake_fd, &wake_value, sizeof wake_value, 0);
    io_uring_sqe_set_data64(s, ud(kWake, 0));
    wake_armed = true;
  }
  void arm_accept(std::uint32_t li) {
    Listener& l = listeners[li];
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, ud(kAccept, li));
    l.armed = true;
  }
  void arm_recvmsg(std::uint32_t li) {
    Listener& l = listeners[li];
    io_uring_sqe* s = sqe();
    io_uring_prep_recvmsg_multishot(s, l.fd, &l.msg, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kDatagramGroup;
    io_uring_sqe_set_data64(s, ud(kRecvMsg, li));
    l.armed = true;
  }
  void arm_recv(io::ConnId id) {
    Conn& c = conns[id];
    io_uring_sqe* s = sqe();
    if (c.bulk) {
      io_uring_prep_recv(s, c.fd, nullptr, cfg.recv_buffer_size, 0);
    } else {
      io_uring_prep_recv_multishot(s, c.fd, nullptr, 0, 0);
    }
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kStreamGroup;
    io_uring_sqe_set_data64(s, ud(kRecv, id));
    c.recv_armed = true;
  }
  void queue_rearm(io::ConnId id) {
    Conn& c = conns[id];
    if (!c.rearm_queued) {
      c.rearm_queued = true;
      rearm.push_back(id);
    }
  }
  // Closes the socket once no operation refers to it any more.
  void maybe_finish(io::ConnId id) {
    Conn& c = conns[id];
    if (!c.closing || c.recv_armed || c.send_inflight || c.fd < 0) return;
    ::close(c.fd);
    c.fd = -1;
    finished.push_back(id);
  }
  io::ConnId new_conn(int fd) {
    io::ConnId id;
    if (!free_conns.empty()) {
      id = free_conns.back();
      free_conns.pop_back();
    } else {
      id = static_cast<io::ConnId>(conns.size());
      conns.emplace_back();
    }
    conns[id] = Conn{};
    conns[id].fd = fd;
    conns[id].open = true;
    ++open;
    return id;
  }
};

UringDriver::UringDriver(const DriverConfig& config) : impl_(std::make_unique<Impl>()) {
  Impl& d = *impl_;
  d.cfg = config;
  io_uring_params p{};
  // Deferred task work: completions are run when this thread asks for them (poll), not by
  // interrupting it whenever one arrives.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = config.sq_entries * 8;
  int rc = io_uring_queue_init_params(config.sq_entries, &d.ring, &p);
  d.deferred = rc >= 0;
  if (rc < 0) {
    p = io_uring_params{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE;
    p.cq_entries = config.sq_entries * 8;
    rc = io_uring_queue_init_params(config.sq_entries, &d.ring, &p);
  }
  if (rc < 0) {
    p = io_uring_params{};  // older kernels: no single-issuer hint
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = config.sq_entries * 8;
    rc = io_uring_queue_init_params(config.sq_entries, &d.ring, &p);
  }
  if (rc < 0) fail(-rc, "io_uring_queue_init");
  d.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);  // without one, wake() does nothing
  d.stream.setup(&d.ring, kStreamGroup, config.recv_buffers, config.recv_buffer_size);
  d.dgram.setup(&d.ring, kDatagramGroup, config.datagram_buffers, config.datagram_buffer_size);
  d.arena_bytes = std::max<std::size_t>(config.datagram_send_bytes, config.datagram_send_size);
  void* m = mmap(nullptr, d.arena_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (m == MAP_FAILED) fail(errno, "mmap (datagram send arena)");
  d.arena = static_cast<char*>(m);
  d.slots.resize(std::max(1u, config.datagram_send_slots));
}

UringDriver::~UringDriver() {
  Impl& d = *impl_;
  for (Conn& c : d.conns)
    if (c.fd >= 0) ::close(c.fd);
  for (Listener& l : d.listeners)
    if (l.fd >= 0) ::close(l.fd);
  io_uring_queue_exit(&d.ring);
  if (d.wake_fd >= 0) ::close(d.wake_fd);
  d.stream.teardown();
  d.dgram.teardown();
  if (d.arena != nullptr) munmap(d.arena, d.arena_bytes);
}

void UringDriver::add_listener(int fd, std::uint16_t tag, bool datagram) {
  Impl& d = *impl_;
  const auto li = static_cast<std::uint32_t>(d.listeners.size());
  d.listeners.push_back(Listener{});
  Listener& l = d.listeners.back();
  l.fd = fd;
  l.tag = tag;
  l.datagram = datagram;
  l.msg.msg_namelen = sizeof(sockaddr_storage);
  if (datagram) {
    d.arm_recvmsg(li);
  } else {
    d.arm_accept(li);
  }
}

std::size_t UringDriver::poll(io::Event* events, std::size_t max, int wait_us) {
  Impl& d = *impl_;
  if (d.peers.size() < max) d.peers.resize(max);
  d.stream.recycle();
  d.dgram.recycle();
  for (const io::ConnId id : d.rearm) {
    Conn& c = d.conns[id];
    c.rearm_queued = false;
    if (c.open && !c.closing && !c.paused && !c.recv_armed) d.arm_recv(id);
  }
  d.rearm.clear();
  for (std::uint32_t li = 0; li < d.listeners.size(); ++li) {
    Listener& l = d.listeners[li];
    if (d.listening && !l.armed && l.fd >= 0) {
      if (l.datagram) {
        d.arm_recvmsg(li);
      } else {
        d.arm_accept(li);
      }
    }
  }

  std::size_t n = 0;
  while (!d.finished.empty() && n < max) {
    const io::ConnId id = d.finished.back();
    d.finished.pop_back();
    d.conns[id].open = false;
    d.free_conns.push_back(id);
    --d.open;
    events[n++] = io::Event{io::EventType::kClosed, 0, id, 0, nullptr, 0, nullptr};
  }

  if (d.wake_fd >= 0 && !d.wake_armed) d.arm_wake();
  if (n == 0 && wait_us > 0 && io_uring_cq_ready(&d.ring) == 0) {
    __kernel_timespec ts{};
    ts.tv_sec = wait_us / 1'000'000;
    ts.tv_nsec = static_cast<long long>(wait_us % 1'000'000) * 1000;
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&d.ring, &cqe, 1, &ts, nullptr);
  } else if (d.deferred) {
    io_uring_submit_and_get_events(&d.ring);  // runs the deferred completions too
  } else {
    io_uring_submit(&d.ring);
  }

  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  io_uring_for_each_cqe(&d.ring, head, cqe) {
    if (n >= max) break;
    ++seen;
    const std::uint64_t u = io_uring_cqe_get_data64(cqe);
    const std::uint32_t idx = ud_index(u);
    const int res = cqe->res;
    const bool more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    switch (ud_op(u)) {
      case kAccept: {
        Listener& l = d.listeners[idx];
        if (!more) l.armed = false;
        if (res < 0) break;  // EMFILE and friends: re-armed on the next poll
        if (!d.listening) {
          ::close(res);
          break;
        }
        const int one = 1;
        setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        const io::ConnId id = d.new_conn(res);
        d.arm_recv(id);
        io::Endpoint& peer = d.peers[n];
        peer.len = sizeof(peer.addr);
        if (getpeername(res, reinterpret_cast<sockaddr*>(&peer.addr), &peer.len) != 0) peer.len = 0;
        events[n++] = io::Event{io::EventType::kAccepted, l.tag, id, 0, nullptr, 0, &peer};
        break;
      }
      case kRecv: {
        Conn& c = d.conns[idx];
        if (!more) c.recv_armed = false;
        if (res > 0 && (cqe->flags & IORING_CQE_F_BUFFER) != 0) {
          const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
          d.stream.used.push_back(bid);
          const bool full = static_cast<unsigned>(res) >= d.cfg.recv_buffer_size;
          if (!full) {
            c.bulk = false;
          } else if (!c.bulk) {
            c.bulk = true;  // a bulk sender: end the multishot receive, then one buffer at a time
            if (more && !c.switching && !c.paused && !c.closing) {
              c.switching = true;
              io_uring_sqe* s = d.sqe();
              io_uring_prep_cancel64(s, ud(kRecv, idx), 0);
              io_uring_sqe_set_data64(s, ud(kCancel, idx));
            }
          }
          if (!more) c.switching = false;
          if (!c.closing) {
            events[n++] = io::Event{io::EventType::kData, 0, idx, res, d.stream.at(bid), static_cast<std::uint32_t>(res), nullptr};
          }
          if (!more && !c.closing && !c.paused) d.queue_rearm(idx);
        } else if (res == -ENOBUFS || res == -ECANCELED) {
          if (res == -ENOBUFS) d.stream.starved = true;
          if (!more) c.switching = false;
          if (!c.closing && !c.paused) d.queue_rearm(idx);
        } else if (!more && !c.closing) {
          events[n++] = io::Event{io::EventType::kPeerClosed, 0, idx, res, nullptr, 0, nullptr};
        }
        d.maybe_finish(idx);
        break;
      }
      case kSend: {
        Conn& c = d.conns[idx];
        c.send_inflight = false;
        if (!c.closing) events[n++] = io::Event{io::EventType::kSent, 0, idx, res, nullptr, 0, nullptr};
        d.maybe_finish(idx);
        break;
      }
      case kRecvMsg: {
        Listener& l = d.listeners[idx];
        if (!more) l.armed = false;
        if (res == -ENOBUFS) d.dgram.starved = true;
        if (res <= 0 || (cqe->flags & IORING_CQE_F_BUFFER) == 0) break;
        const auto bid = static_cast<std::uint16_t>(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        d.dgram.used.push_back(bid);
        if (!d.listening) break;
        io_uring_recvmsg_out* out = io_uring_recvmsg_validate(d.dgram.at(bid), res, &l.msg);
        if (out == nullptr || (out->flags & MSG_TRUNC) != 0) break;  // truncated: not ours to guess
        io::Endpoint& peer = d.peers[n];
        peer.len = out->namelen > sizeof(peer.addr) ? sizeof(peer.addr) : out->namelen;
        std::memcpy(&peer.addr, io_uring_recvmsg_name(out), peer.len);
        const char* payload = static_cast<const char*>(io_uring_recvmsg_payload(out, &l.msg));
        const auto len = io_uring_recvmsg_payload_length(out, res, &l.msg);
        events[n++] = io::Event{io::EventType::kDatagram, l.tag, 0, 0, payload, len, &peer};
        break;
      }
      case kSendMsg:
        d.slots[idx].done = true;
        while (d.slot_tail != d.slot_head && d.slots[d.slot_tail % d.slots.size()].done) {
          SendSlot& old = d.slots[d.slot_tail % d.slots.size()];
          old.done = false;
          d.arena_used -= old.bytes;
          ++d.slot_tail;
        }
        break;
      case kCancel:
        break;
      case kWake:  // wake(): the wait is over; the read is armed again on the next poll
        d.wake_armed = false;
        break;
    }
  }
  io_uring_cq_advance(&d.ring, seen);
  return n;
}

void UringDriver::wake() noexcept {
  const int fd = impl_->wake_fd;
  if (fd < 0) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);  // EAGAIN: a wake is pending already
}

void UringDriver::send(io::ConnId id, const char* data, std::size_t len) {
  Impl& d = *impl_;
  Conn& c = d.conns[id];
  if (c.closing || c.send_inflight) return;
  io_uring_sqe* s = d.sqe();
  io_uring_prep_send(s, c.fd, data, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, ud(kSend, id));
  c.send_inflight = true;
}

bool UringDriver::datagram_room(std::size_t count, std::size_t bytes) const noexcept {
  const Impl& d = *impl_;
  const std::size_t free_slots = d.slots.size() - static_cast<std::size_t>(d.slot_head - d.slot_tail);
  // Wrapping around the arena may skip up to one datagram's worth of its end.
  return count <= free_slots && bytes + d.cfg.datagram_send_size <= d.arena_bytes - d.arena_used;
}

bool UringDriver::send_datagram(std::uint16_t tag, const io::Endpoint& to, const char* data, std::size_t len) {
  Impl& d = *impl_;
  if (len > d.cfg.datagram_send_size || d.slot_head - d.slot_tail == d.slots.size()) return false;
  // The bytes go at the arena's head, or at its start when they do not fit before its end.
  const std::size_t skip = d.arena_head + len > d.arena_bytes ? d.arena_bytes - d.arena_head : 0;
  if (d.arena_used + skip + len > d.arena_bytes) return false;
  int fd = -1;
  for (const Listener& l : d.listeners) {
    if (l.datagram && l.tag == tag) {
      fd = l.fd;
      break;
    }
  }
  if (fd < 0) return false;
  const auto si = static_cast<std::uint32_t>(d.slot_head % d.slots.size());
  ++d.slot_head;
  SendSlot& slot = d.slots[si];
  if (skip > 0) d.arena_head = 0;
  char* at = d.arena + d.arena_head;
  d.arena_head += len;
  d.arena_used += skip + len;
  slot.bytes = skip + len;
  slot.done = false;
  std::memcpy(at, data, len);
  slot.to = to;
  slot.iov.iov_base = at;
  slot.iov.iov_len = len;
  slot.msg = msghdr{};
  slot.msg.msg_name = &slot.to.addr;
  slot.msg.msg_namelen = to.len;
  slot.msg.msg_iov = &slot.iov;
  slot.msg.msg_iovlen = 1;
  io_uring_sqe* s = d.sqe();
  io_uring_prep_sendmsg(s, fd, &slot.msg, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(s, ud(kSendMsg, si));
  return true;
}

void UringDriver::pause(io::ConnId id) {
  Impl& d = *impl_;
  Conn& c = d.conns[id];
  if (c.paused || c.closing) return;
  c.paused = true;
  if (c.recv_armed) {
    io_uring_sqe* s = d.sqe();
    io_uring_prep_cancel64(s, ud(kRecv, id), 0);
    io_uring_sqe_set_data64(s, ud(kCancel, id));
  }
}

void UringDriver::resume(io::ConnId id) {
  Impl& d = *impl_;
  Conn& c = d.conns[id];
  if (!c.paused || c.closing) return;
  c.paused = false;
  d.queue_rearm(id);
}

void UringDriver::close(io::ConnId id) {
  Impl& d = *impl_;
  Conn& c = d.conns[id];
  if (!c.open || c.closing) return;
  c.closing = true;
  // Ends the multishot receive (it completes with 0) and a send stuck on a full socket.
  ::shutdown(c.fd, SHUT_RDWR);
  if (c.recv_armed) {
    io_uring_sqe* s = d.sqe();
    io_uring_prep_cancel64(s, ud(kRecv, id), 0);
    io_uring_sqe_set_data64(s, ud(kCancel, id));
  }
  d.maybe_finish(id);
}

void UringDriver::stop_listening() {
  Impl& d = *impl_;
  if (!d.listening) return;
  d.listening = false;
  for (Listener& l : d.listeners) {
    if (l.fd < 0) continue;
    io_uring_sqe* s = d.sqe();
    io_uring_prep_cancel_fd(s, l.fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(s, ud(kCancel, 0));
  }
  io_uring_submit(&d.ring);
  for (Listener& l : d.listeners) {
    if (l.fd >= 0) ::close(l.fd);
    l.fd = -1;
  }
}

io::Endpoint UringDriver::local_address(io::ConnId id) const {
  io::Endpoint e;
  const Conn& c = impl_->conns[id];
  e.len = sizeof(e.addr);
  if (c.fd < 0 || getsockname(c.fd, reinterpret_cast<sockaddr*>(&e.addr), &e.len) != 0) e.len = 0;
  return e;
}

std::size_t UringDriver::open_connections() const noexcept { return impl_->open; }
std::size_t UringDriver::stream_buffers_posted() const noexcept { return impl_->stream.posted; }

}  // namespace ferrite::uring
