// Client-side codecs: encode a GET or SET request, and recognise the reply at the front of the
// received bytes. Replies come back in request order (on TCP, and within one UDP reply stream), so
// the caller passes what it expects: the operation, key and request id of its oldest request in
// flight (protocols without request ids ignore the id).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::bench {

// kGet and kSet are every codec's; the others are RESP's only (resp_types.h).
enum class Op : std::uint8_t { kGet, kSet, kMultiIncr, kHSet, kHGet };

// What a run sends: GET/SET (any protocol), or one of the RESP type workloads (resp_types.h):
// MULTI + 10 INCR + EXEC transactions, or HSET/HGET of 10-field hashes.
enum class Workload : std::uint8_t { kGetSet, kMultiIncr, kHash };

enum class ReplyStatus : std::uint8_t {
  kIncomplete,  // not all of the reply has arrived yet
  kHit,         // GET (HGET) found the key (field); value is set
  kMiss,        // GET (HGET) did not find it
  kStored,      // a write succeeded: SET, HSET, a MULTI/EXEC transaction
  kError,       // the server answered with an error reply (message says which); stream still in sync
  kBad,         // not a valid reply to this request: the stream cannot be trusted any more
};

struct Reply {
  ReplyStatus status = ReplyStatus::kIncomplete;
  std::size_t consumed = 0;  // bytes of the reply (valid unless kIncomplete)
  std::string_view value;    // kHit: the value
  std::string_view message;  // kError/kBad: what was wrong (points into the input or a literal)
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual void encode_get(Buffer& out, std::string_view key, std::uint32_t id) const = 0;
  virtual void encode_set(Buffer& out, std::string_view key, std::string_view value,
                          std::uint32_t id) const = 0;
  // Looks at the front of `in` for the reply to request `id`, `op` (kGet or kSet) on `key`.
  virtual Reply parse(std::string_view in, Op op, std::string_view key, std::uint32_t id) const = 0;
  // Bytes a request adds to the output (the UDP loop packs datagrams with it).
  virtual std::size_t request_size(Op op, std::size_t key_size, std::size_t value_size) const = 0;
};

// memcached text protocol: "get <key>" and "set <key> 0 0 <n>".
std::unique_ptr<Codec> make_memcache_codec();
// RESP2: GET and SET as arrays of bulk strings (RESP3 null "_" also accepted as a miss).
std::unique_ptr<Codec> make_resp_codec();
// Ferrite's binary protocol (src/proto/binary): GET and SET with request ids, for TCP, and for UDP
// inside the datagram framing the load loop adds.
std::unique_ptr<Codec> make_binary_codec();

// Longest reply header line accepted before the reply is declared garbled.
inline constexpr std::size_t kMaxLine = 1024;
// Largest value length accepted in a reply header.
inline constexpr std::uint64_t kMaxValueBytes = 256u << 20;

}  // namespace ferrite::bench
