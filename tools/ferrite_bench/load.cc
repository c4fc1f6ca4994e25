#include "load.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

#include "proto/binary/udp.h"
#include "resp_types.h"

namespace ferrite::bench {

namespace {

constexpr std::uint64_t kMs = 1000000;
constexpr std::uint64_t kRetryNs = 100 * kMs;        // wait before reconnecting
constexpr std::uint64_t kHousekeepingNs = 10 * kMs;  // timeout and reconnect checks
constexpr std::size_t kRecvChunk = 64 * 1024;
constexpr std::size_t kMaxDatagram = 65536;
constexpr int kMaxEvents = 64;

struct Pending {
  std::uint64_t t;  // send time (closed loop) or scheduled time (--rate), ns
  std::uint64_t key;
  std::uint32_t id;  // request id (binary protocol)
  Op op;
  bool measured;
  std::uint8_t field;  // HGET: the field asked for
};

char key_prefix(Workload w) {
  switch (w) {
    case Workload::kMultiIncr:
      return 'c';
    case Workload::kHash:
      return 'h';
    case Workload::kGetSet:
      break;
  }
  return 'k';
}

std::string errno_text(const char* what, int err) { return std::string(what) + ": " + std::strerror(err); }

}  // namespace

std::uint64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void Stats::add(const Stats& o) {
  latency.merge(o.latency);
  send_lag.merge(o.send_lag);
  ops += o.ops;
  gets += o.gets;
  hits += o.hits;
  misses += o.misses;
  sets += o.sets;
  sent_gets += o.sent_gets;
  sent_sets += o.sent_sets;
  err_reply += o.err_reply;
  err_bad += o.err_bad;
  err_value += o.err_value;
  err_timeout += o.err_timeout;
  err_conn += o.err_conn;
  connects += o.connects;
  connect_failures += o.connect_failures;
  udp_ignored += o.udp_ignored;
  last_ns = std::max(last_ns, o.last_ns);
  if (first_error.empty()) first_error = o.first_error;
  aborted = aborted || o.aborted;
}

struct Worker::Conn {
  enum class State : std::uint8_t { kClosed, kConnecting, kReady };

  std::uint32_t index = 0;  // global connection number
  int fd = -1;
  State state = State::kClosed;
  bool want_out = false;
  Buffer in;
  Buffer out;  // TCP: unsent requests; UDP: the request datagram
  std::size_t out_sent = 0;
  std::vector<Pending> ring;  // requests in flight, oldest at head
  std::uint32_t mask = 0;
  std::uint32_t head = 0;
  std::uint32_t count = 0;
  std::uint32_t next_id = 0;
  std::uint16_t datagram_id = 0;
  proto::binary::Reassembler reassembler;
  std::uint64_t last_progress = 0;  // last reply, or when the oldest in-flight request was sent
  std::uint64_t connect_started = 0;
  std::uint64_t retry_at = 0;
  std::uint64_t due_base = 0;  // --rate: scheduled time of request n is due_base + n * interval
  std::uint64_t due_n = 0;

  Pending& front() { return ring[head]; }
  void pop() {
    head = (head + 1) & mask;
    --count;
  }
};

Worker::Worker(const LoadConfig& cfg, const Codec& codec, std::uint32_t thread_index)
    : cfg_(cfg),
      codec_(codec),
      keyspace_(cfg.keys, cfg.key_size, cfg.value_size, key_prefix(cfg.workload)),
      chooser_(cfg.keys, cfg.zipf, cfg.theta),
      rng_(cfg.seed * 0x9E3779B97F4A7C15ull + thread_index + 1),
      key_buf_(cfg.key_size),
      value_buf_(cfg.value_size + 16) {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  switch (cfg.workload) {
    case Workload::kGetSet:
      break;
    case Workload::kMultiIncr:
      // Every operation is a transaction; the preload SETs each counter to 0.
      op_read_ = op_write_ = Op::kMultiIncr;
      keys_buf_.resize(std::size_t{resp_types::kIncrs} * cfg.key_size);
      break;
    case Workload::kHash:
      op_read_ = Op::kHGet;
      op_write_ = op_preload_ = Op::kHSet;
      values_buf_.resize(std::size_t{resp_types::kFields} * cfg.value_size + 16);
      break;
  }
  const double f = std::clamp(cfg.set_fraction, 0.0, 1.0);
  set_threshold_ = f >= 1.0 ? ~std::uint64_t{0} : static_cast<std::uint64_t>(f * 0x1.0p64);
  depth_run_ = cfg.pipeline;
  depth_preload_ = cfg.preload_pipeline;
  if (cfg.udp) {
    // As many requests per datagram as fit when all of them are SETs (so the mix is not bent).
    const std::size_t per = codec.request_size(Op::kSet, cfg.key_size, cfg.value_size);
    const std::size_t room = cfg.udp_max_datagram > proto::binary::kFrameSize
                                 ? cfg.udp_max_datagram - proto::binary::kFrameSize
                                 : 0;
    const auto fit = static_cast<std::uint32_t>(std::max<std::size_t>(1, room / per));
    depth_run_ = std::min(depth_run_, fit);
    depth_preload_ = std::min(depth_preload_, fit);
    datagram_buf_.resize(kMaxDatagram);
  }
  const std::uint32_t depth = std::max(depth_run_, depth_preload_);
  std::uint32_t cap = 1;
  while (cap < depth) cap <<= 1;
  for (std::uint32_t i = thread_index; i < cfg.connections; i += cfg.threads) {
    auto c = std::make_unique<Conn>();
    c->index = i;
    c->ring.resize(cap);
    c->mask = cap - 1;
    conns_.push_back(std::move(c));
  }
}

Worker::~Worker() {
  for (auto& c : conns_) {
    if (c->fd >= 0) close(c->fd);
  }
  if (epfd_ >= 0) close(epfd_);
}

void Worker::note_error(std::string_view why) {
  if (stats_->first_error.empty()) stats_->first_error.assign(why.substr(0, 200));
}

void Worker::set_events(Conn& c, bool want_out) {
  if (c.want_out == want_out) return;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0u);
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = want_out;
}

void Worker::start_connect(Conn& c, std::uint64_t now) {
  const int type = cfg_.udp ? SOCK_DGRAM : SOCK_STREAM;
  c.fd = socket(cfg_.addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ++stats_->connect_failures;
    note_error(errno_text("socket", errno));
    c.retry_at = now + kRetryNs;
    return;
  }
  if (!cfg_.udp) {
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.ptr = &c;
  epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
  c.want_out = true;
  c.state = Conn::State::kConnecting;
  c.connect_started = now;
  if (connect(c.fd, reinterpret_cast<const sockaddr*>(&cfg_.addr), cfg_.addr_len) == 0) {
    finish_connect(c, now);
  } else if (errno != EINPROGRESS) {
    ++stats_->connect_failures;
    note_error(errno_text("connect", errno));
    close(c.fd);
    c.fd = -1;
    c.state = Conn::State::kClosed;
    c.retry_at = now + kRetryNs;
  }
}

void Worker::finish_connect(Conn& c, std::uint64_t now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    ++stats_->connect_failures;
    note_error(errno_text("connect", err));
    close(c.fd);
    c.fd = -1;
    c.state = Conn::State::kClosed;
    c.retry_at = now + kRetryNs;
    return;
  }
  c.state = Conn::State::kReady;
  set_events(c, false);
  ++stats_->connects;
  no_conn_since_ = 0;
}

void Worker::drop_inflight(Conn& c, std::uint64_t Stats::*counter) {
  stats_->*counter += c.count;
  inflight_ -= c.count;
  c.count = 0;
  c.head = 0;
}

void Worker::fail(Conn& c, std::uint64_t now, std::uint64_t Stats::*first, std::uint64_t Stats::*rest,
                  std::string_view why) {
  note_error(why);
  if (c.count > 0) {
    stats_->*first += 1;
    c.pop();
    --inflight_;
    drop_inflight(c, rest);
  }
  c.head = 0;
  if (c.fd >= 0) close(c.fd);
  c.fd = -1;
  c.state = Conn::State::kClosed;
  c.in.clear();
  c.out.clear();
  c.out_sent = 0;
  c.retry_at = now + kRetryNs;
  const bool any_up = std::any_of(conns_.begin(), conns_.end(),
                                  [](const auto& x) { return x->state == Conn::State::kReady; });
  if (!any_up && no_conn_since_ == 0) no_conn_since_ = now;
}

void Worker::push(Conn& c, Op op, std::uint64_t key, std::uint64_t t, bool measured) {
  const std::string_view k = keyspace_.key(key, key_buf_.data());
  const std::uint32_t id = c.next_id++;
  std::uint8_t field = 0;
  switch (op) {
    case Op::kGet:
      codec_.encode_get(c.out, k, id);
      ++stats_->sent_gets;
      break;
    case Op::kSet:
      // multi-incr preloads its counters with 0, for INCR.
      codec_.encode_set(c.out, k,
                        cfg_.workload == Workload::kMultiIncr ? std::string_view("0")
                                                              : keyspace_.value(key, value_buf_.data()),
                        id);
      ++stats_->sent_sets;
      break;
    case Op::kMultiIncr: {
      // Ten different keys: key .. key + 9, wrapping (options insist on at least ten keys).
      std::string_view keys[resp_types::kIncrs];
      for (std::uint32_t i = 0; i < resp_types::kIncrs; ++i) {
        std::uint64_t n = key + i;
        if (n >= cfg_.keys) n -= cfg_.keys;
        keys[i] = keyspace_.key(n, keys_buf_.data() + std::size_t{i} * cfg_.key_size);
      }
      resp_types::encode_multi_incr(c.out, keys);
      ++stats_->sent_sets;
      break;
    }
    case Op::kHSet: {
      std::string_view values[resp_types::kFields];
      for (std::uint32_t j = 0; j < resp_types::kFields; ++j) {
        values[j] = keyspace_.value(resp_types::field_value_index(key, j),
                                    values_buf_.data() + std::size_t{j} * cfg_.value_size);
      }
      resp_types::encode_hset(c.out, k, values);
      ++stats_->sent_sets;
      break;
    }
    case Op::kHGet:
      // Multiply-shift: a field uniform in [0, kFields).
      field = static_cast<std::uint8_t>(((rng_.next() >> 32) * resp_types::kFields) >> 32);
      resp_types::encode_hget(c.out, k, field);
      ++stats_->sent_gets;
      break;
  }
  if (c.count == 0) c.last_progress = now_ns();
  c.ring[(c.head + c.count) & c.mask] = Pending{t, key, id, op, measured, field};
  ++c.count;
  ++inflight_;
  if (measured) ++issued_measured_;
}

bool Worker::issuing_done(std::uint64_t now) const {
  if (phase_ == Phase::kPreload) return preload_next_ >= preload_end_;
  if (sched_.quota != 0 && issued_measured_ >= sched_.quota) return true;
  if (sched_.end_ns == 0 || now < sched_.end_ns) return false;
  if (cfg_.rate <= 0) return true;
  // --rate: requests scheduled before the end but not sent yet (the server fell behind) are
  // still owed to a connection that is up.
  for (const auto& c : conns_) {
    if (c->state != Conn::State::kReady) continue;
    const auto due = c->due_base + static_cast<std::uint64_t>(static_cast<double>(c->due_n) * interval_ns_);
    if (due < sched_.end_ns) return false;
  }
  return true;
}

void Worker::issue(Conn& c, std::uint64_t now) {
  if (c.state != Conn::State::kReady) return;
  if (phase_ == Phase::kRun && now < sched_.start_ns) return;
  if (cfg_.udp) {
    // One request datagram in flight per socket; a new one starts when the last is answered.
    if (c.count > 0 || !c.out.empty()) return;
    proto::binary::begin_request_datagram(c.out, ++c.datagram_id);
    c.reassembler.start(c.datagram_id);
  }
  if (phase_ == Phase::kPreload) {
    while (c.count < depth_preload_ && preload_next_ < preload_end_)
      push(c, op_preload_, preload_next_++, now, true);
  } else if (cfg_.rate > 0) {
    while (c.count < depth_run_) {
      const auto due = c.due_base + static_cast<std::uint64_t>(static_cast<double>(c.due_n) * interval_ns_);
      if (due > now || (sched_.end_ns != 0 && due >= sched_.end_ns)) break;
      const bool measured = due >= sched_.measure_ns;
      if (measured && sched_.quota != 0 && issued_measured_ >= sched_.quota) break;
      const Op op = pick_op();
      push(c, op, chooser_.next(rng_), due, measured);
      ++c.due_n;
      if (measured) stats_->send_lag.record(now - due);
    }
  } else {
    while (c.count < depth_run_ && !issuing_done(now)) {
      const Op op = pick_op();
      push(c, op, chooser_.next(rng_), now, now >= sched_.measure_ns);
    }
  }
  if (cfg_.udp && c.count == 0) c.out.clear();  // nothing to send: drop the frame
}

void Worker::flush(Conn& c, std::uint64_t now) {
  if (c.state != Conn::State::kReady) return;
  while (c.out_sent < c.out.size()) {
    const ssize_t n =
        send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);  // a datagram goes whole or not at all
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_events(c, true);
      return;
    }
    fail(c, now, &Stats::err_conn, &Stats::err_conn, errno_text("send", errno));
    return;
  }
  c.out.clear();
  c.out_sent = 0;
  set_events(c, false);
}

std::size_t Worker::complete(Conn& c, std::string_view data, std::uint64_t now, std::string* bad) {
  Stats& st = *stats_;
  std::size_t off = 0;
  while (c.count > 0) {
    const Pending& p = c.front();
    const std::string_view key = keyspace_.key(p.key, key_buf_.data());
    const Reply r = resp_types::is_resp_type_op(p.op) ? resp_types::parse(data.substr(off), p.op)
                                                      : codec_.parse(data.substr(off), p.op, key, p.id);
    if (r.status == ReplyStatus::kIncomplete) break;
    if (r.status == ReplyStatus::kBad) {
      *bad = "bad reply: " + std::string(r.message.substr(0, 120));
      break;
    }
    bool ok = true;
    switch (r.status) {
      case ReplyStatus::kError:
        ++st.err_reply;
        note_error(r.message);
        ok = false;
        break;
      case ReplyStatus::kHit:
        if (!(p.op == Op::kGet && keyspace_.value_matches(p.key, r.value)) &&
            !(p.op == Op::kHGet &&
              keyspace_.value_matches(resp_types::field_value_index(p.key, p.field), r.value))) {
          ++st.err_value;
          std::string why(p.op == Op::kHGet ? "HGET " : "GET ");
          why.append(key);
          if (p.op == Op::kHGet) why.append(" ").append(resp_types::field_name(p.field));
          why.append(": the value is not the one stored");
          note_error(why);
          ok = false;
        } else if (p.measured) {
          ++st.hits;
          ++st.gets;
        }
        break;
      case ReplyStatus::kMiss:
        if (p.measured) {
          ++st.misses;
          ++st.gets;
        }
        break;
      default:  // kStored
        if (p.measured) ++st.sets;
        break;
    }
    if (ok && p.measured) {
      ++st.ops;
      st.latency.record(now - p.t);
      st.last_ns = now;
    }
    off += r.consumed;
    c.pop();
    --inflight_;
    c.last_progress = now;
  }
  return off;
}

void Worker::on_readable(Conn& c, std::uint64_t now) {
  if (cfg_.udp) {
    on_datagrams(c, now);
    return;
  }
  for (;;) {
    char* p = c.in.prepare(kRecvChunk);
    const ssize_t n = recv(c.fd, p, kRecvChunk, MSG_DONTWAIT);
    if (n > 0) {
      c.in.advance(static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < kRecvChunk) break;
      continue;
    }
    if (n == 0) {
      fail(c, now, &Stats::err_conn, &Stats::err_conn, "connection closed by the server");
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    fail(c, now, &Stats::err_conn, &Stats::err_conn, errno_text("recv", errno));
    return;
  }
  std::string bad;
  const std::size_t off = complete(c, c.in.view(), now, &bad);
  if (!bad.empty()) {
    fail(c, now, &Stats::err_bad, &Stats::err_conn, bad);
    return;
  }
  if (c.count == 0 && off < c.in.size()) {
    fail(c, now, &Stats::err_bad, &Stats::err_conn, "bytes received with no request in flight");
    return;
  }
  c.in.consume(off);
}

void Worker::on_datagrams(Conn& c, std::uint64_t now) {
  for (;;) {
    const ssize_t n = recv(c.fd, datagram_buf_.data(), datagram_buf_.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // ECONNREFUSED: an ICMP port unreachable came back; nothing listens there.
      fail(c, now, &Stats::err_conn, &Stats::err_conn, errno_text("recv", errno));
      return;
    }
    const std::string_view d(datagram_buf_.data(), static_cast<std::size_t>(n));
    if (c.count == 0) {
      ++stats_->udp_ignored;
      continue;
    }
    const auto res = c.reassembler.add(d);
    if (res == proto::binary::Reassembler::Result::kIgnored) {
      ++stats_->udp_ignored;
      continue;
    }
    if (res == proto::binary::Reassembler::Result::kPartial) continue;
    // The whole reply stream of the datagram in flight: one reply per request, in order.
    const std::string_view stream = c.reassembler.stream();
    std::string bad;
    const std::size_t off = complete(c, stream, now, &bad);
    if (bad.empty() && (c.count > 0 || off < stream.size())) {
      bad = c.count > 0 ? "reply datagrams end before the last reply" : "bytes after the last reply";
    }
    if (!bad.empty()) {
      note_error(bad);
      if (c.count > 0) {
        drop_inflight(c, &Stats::err_bad);
      } else {
        ++stats_->err_bad;  // extra bytes: the datagram's replies are suspect, count it once
      }
    }
  }
}

void Worker::housekeeping(std::uint64_t now) {
  last_housekeeping_ = now;
  const auto timeout = static_cast<std::uint64_t>(cfg_.timeout_s * 1e9);
  for (auto& cp : conns_) {
    Conn& c = *cp;
    switch (c.state) {
      case Conn::State::kReady:
        if (c.count > 0 && now - c.last_progress > timeout) {
          if (cfg_.udp) {
            // A datagram (or a piece of its reply) was lost: its requests time out; late pieces
            // are ignored since the next datagram has a new id.
            note_error("timeout: a request datagram was not answered within --timeout");
            drop_inflight(c, &Stats::err_timeout);
            c.out.clear();
            c.out_sent = 0;
          } else {
            fail(c, now, &Stats::err_timeout, &Stats::err_timeout, "timeout: no reply within --timeout");
          }
        }
        break;
      case Conn::State::kConnecting:
        if (now - c.connect_started > timeout) {
          ++stats_->connect_failures;
          note_error("connect: timed out");
          close(c.fd);
          c.fd = -1;
          c.state = Conn::State::kClosed;
          c.retry_at = now + kRetryNs;
        }
        break;
      case Conn::State::kClosed:
        if (now >= c.retry_at && !issuing_done(now)) start_connect(c, now);
        break;
    }
  }
}

void Worker::loop(Phase phase) {
  phase_ = phase;
  stats_ = phase == Phase::kPreload ? &preload_stats_ : &run_stats_;
  issued_measured_ = 0;
  std::uint64_t now = now_ns();
  const std::uint64_t deadline = phase == Phase::kPreload ? preload_deadline_ : sched_.deadline_ns;
  const auto timeout = static_cast<std::uint64_t>(cfg_.timeout_s * 1e9);
  const std::uint32_t depth = phase == Phase::kPreload ? depth_preload_ : depth_run_;
  for (auto& c : conns_) {
    if (c->state == Conn::State::kClosed) start_connect(*c, now);
  }
  if (std::none_of(conns_.begin(), conns_.end(),
                   [](const auto& x) { return x->state == Conn::State::kReady; })) {
    no_conn_since_ = now;
  }
  epoll_event events[kMaxEvents];
  for (;;) {
    now = now_ns();
    if (now >= deadline) {
      for (auto& c : conns_) {
        if (c->count > 0) fail(*c, now, &Stats::err_timeout, &Stats::err_timeout, "time limit reached");
      }
      stats_->aborted = true;
      note_error("time limit reached");
      break;
    }
    if (no_conn_since_ != 0 && now - no_conn_since_ > timeout) {
      stats_->aborted = true;
      note_error("no connection to the server for --timeout");
      break;
    }
    for (auto& c : conns_) {
      issue(*c, now);
      flush(*c, now);
    }
    if (inflight_ == 0 && issuing_done(now)) break;

    std::uint64_t wake = now + kHousekeepingNs;
    if (phase == Phase::kRun) {
      if (now < sched_.start_ns) wake = std::min(wake, sched_.start_ns);
      if (now < sched_.measure_ns) wake = std::min(wake, sched_.measure_ns);
      if (sched_.end_ns != 0 && now < sched_.end_ns) wake = std::min(wake, sched_.end_ns);
      if (cfg_.rate > 0) {
        for (auto& c : conns_) {
          if (c->state != Conn::State::kReady || c->count >= depth || (cfg_.udp && c->count > 0)) continue;
          wake = std::min(
              wake, c->due_base + static_cast<std::uint64_t>(static_cast<double>(c->due_n) * interval_ns_));
        }
      }
    }
    wake = std::min(wake, deadline);
    const std::uint64_t wait = wake > now ? wake - now : 0;
    timespec ts{static_cast<time_t>(wait / 1000000000u), static_cast<long>(wait % 1000000000u)};
    const int n = epoll_pwait2(epfd_, events, kMaxEvents, &ts, nullptr);
    now = now_ns();
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (c.state == Conn::State::kConnecting) {
        finish_connect(c, now);
        continue;
      }
      if (c.state != Conn::State::kReady) continue;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, now);
      if (c.state == Conn::State::kReady && (events[i].events & EPOLLOUT)) flush(c, now);
    }
    if (now - last_housekeeping_ >= kHousekeepingNs) housekeeping(now);
  }
}

void Worker::preload(std::uint64_t lo, std::uint64_t hi, std::uint64_t deadline_ns) {
  preload_next_ = lo;
  preload_end_ = hi;
  preload_deadline_ = deadline_ns;
  loop(Phase::kPreload);
}

void Worker::run(const Schedule& s) {
  sched_ = s;
  if (cfg_.rate > 0) {
    // Wake-ups on time: the default timer slack (50 us) would show up as send lag.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    // Each connection offers rate / connections, the connections evenly staggered.
    interval_ns_ = 1e9 * static_cast<double>(cfg_.connections) / cfg_.rate;
    for (auto& c : conns_) {
      c->due_base = s.start_ns + static_cast<std::uint64_t>(1e9 * static_cast<double>(c->index) / cfg_.rate);
      c->due_n = 0;
    }
  }
  loop(Phase::kRun);
  if (cfg_.rate > 0 && s.end_ns != 0) {
    // Requests scheduled in the measured window that never went out (their connection was down,
    // or the run was cut short) are load the server was offered and did not serve: errors.
    for (auto& c : conns_) {
      const auto slot = [&](std::uint64_t t) {  // first n whose scheduled time is >= t
        if (t <= c->due_base) return std::uint64_t{0};
        return static_cast<std::uint64_t>(std::ceil(static_cast<double>(t - c->due_base) / interval_ns_));
      };
      const std::uint64_t from = std::max(c->due_n, slot(s.measure_ns));
      const std::uint64_t to = slot(s.end_ns);
      if (to > from) run_stats_.err_conn += to - from;
    }
  }
}

}  // namespace ferrite::bench
