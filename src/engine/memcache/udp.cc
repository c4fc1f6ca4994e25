// The memcache UDP handler: one request datagram (frame header + commands) in, the replies out in
// datagrams of at most settings().udp_max_datagram payload bytes, each behind its own header.
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
    // memcached ignores datagrams of no more than the header, and serves only requests that fit
    // in one datagram (total == 1); the sequence number and reserved field are not checked.
    if (in.size() <= mc::kUdpHeaderSize || !mc::parse_udp_header(in, &h) || h.total != 1) {
      ex.stats.datagrams_dropped.add();
      return;
    }
    exec_.reset();
    payload_.clear();
    exec_.run(in.substr(mc::kUdpHeaderSize), payload_, ex);
    if (payload_.empty()) return;
    const std::size_t chunk = ex.settings().udp_max_datagram > 0 ? ex.settings().udp_max_datagram : 1;
    const std::size_t count = (payload_.size() + chunk - 1) / chunk;
    if (count > 0xffff) {  // the header cannot number that many datagrams
      ex.stats.datagrams_dropped.add();
      return;
    }
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
  memcache::Executor exec_{memcache::Executor::Mode::kDatagram};
  Buffer payload_;
};

}  // namespace

std::unique_ptr<DatagramHandler> make_memcache_udp_handler() { return std::make_unique<UdpHandler>(); }

}  // namespace ferrite::engine
