// The memcache UDP handler: one request datagram (frame header + commands) in, the replies out in
// datagrams of at most settings().udp_max_datagram payload bytes, each behind its own header.
#include <algorithm>

#include "engine/memcache/executor.h"
#include "engine/memcache/memcache.h"
#include "proto/memcache/reply.h"

namespace ferrite::engine {
namespace {

namespace mc = proto::memcache;

class UdpHandler final : public DatagramHandler {
 public:
  bool first_key(std::string_view in, store::KeyRef* out) const noexcept override {
    // The key is the second word of the first command line ("get k", "mg k v", "set k 0 0 5").
    if (in.size() <= mc::kUdpHeaderSize) return false;
    std::string_view line = in.substr(mc::kUdpHeaderSize, 512);
    const std::size_t space = line.find(' ');
    if (space == std::string_view::npos) return false;
    line.remove_prefix(space + 1);
    const std::size_t end = line.find_first_of(" \r\n");
    if (end == 0 || end == std::string_view::npos) return false;
    *out = store::make_key(line.substr(0, end));
    return true;
  }

  void on_datagram(std::string_view in, DatagramOut& out, Exec& ex) override {
    out.clear();
    mc::UdpHeader h;
    // memcached ignores datagrams of no more than the header; the sequence number and reserved
    // field are not checked.
    if (in.size() <= mc::kUdpHeaderSize || !mc::parse_udp_header(in, &h)) {
      ex.stats.datagrams_dropped.add();
      return;
    }
    if (h.total != 1) {
      // memcached serves only requests that fit in one datagram, and says so.
      ex.protocol_error(Proto::kMemcacheUdp);
      ex.count(Proto::kMemcacheUdp, Op::k_error);
      single(h, kMultiPacket, out);
      return;
    }
    const std::size_t chunk = std::max<std::size_t>(ex.settings().udp_max_datagram, 1);
    // The payload may take at most max_reply_bytes, 65535 datagrams, and (with their headers)
    // the reflection bound; the executor stops before a reply would pass it.
    std::size_t budget = std::min<std::size_t>(ex.settings().max_reply_bytes, chunk * kMaxDatagrams);
    if (ex.datagram_reply_bytes != static_cast<std::size_t>(-1)) {
      const std::size_t r = ex.datagram_reply_bytes;
      const std::size_t whole = r / (chunk + mc::kUdpHeaderSize);  // full datagrams it allows
      const std::size_t tail = r % (chunk + mc::kUdpHeaderSize);
      budget = std::min(budget, whole * chunk + (tail > mc::kUdpHeaderSize ? tail - mc::kUdpHeaderSize : 0));
    }
    exec_.reset(budget);
    payload_.clear();
    exec_.run(in.substr(mc::kUdpHeaderSize), payload_, ex);
    if (exec_.overflowed()) {
      // memcached's words when it cannot build a get's reply; nothing of the reply is sent.
      if (ex.datagram_reply_bytes < ex.settings().max_reply_bytes) ex.stats.udp_reflection_drops.add();
      single(h, kTooLarge, out);
      return;
    }
    if (payload_.empty()) return;
    const std::size_t count = (payload_.size() + chunk - 1) / chunk;  // at most kMaxDatagrams
    const std::string_view body = payload_.view();
    for (std::size_t i = 0; i < count; ++i) {
      const mc::UdpHeader reply{h.request_id, static_cast<std::uint16_t>(i),
                                static_cast<std::uint16_t>(count), 0};
      mc::append_udp_header(out.buf, reply);
      out.buf.append(body.substr(i * chunk, chunk));
      out.end_datagram();
    }
  }

 private:
  static constexpr std::size_t kMaxDatagrams = 0xffff;  // what the header's 16-bit total can say
  static constexpr std::string_view kTooLarge = "SERVER_ERROR out of memory writing get response\r\n";
  static constexpr std::string_view kMultiPacket = "SERVER_ERROR multi-packet request not supported\r\n";

  // A reply of one datagram.
  static void single(const mc::UdpHeader& h, std::string_view text, DatagramOut& out) {
    mc::append_udp_header(out.buf, mc::UdpHeader{h.request_id, 0, 1, 0});
    out.buf.append(text);
    out.end_datagram();
  }

  memcache::Executor exec_{memcache::Executor::Mode::kDatagram};
  Buffer payload_;
};

}  // namespace

std::unique_ptr<DatagramHandler> make_memcache_udp_handler() { return std::make_unique<UdpHandler>(); }

}  // namespace ferrite::engine
