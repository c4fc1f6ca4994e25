// The Ferrite binary protocol: wire layout and codec, for the server and for clients (the load
// generator, the client SDK). docs/protocol.md is the specification; its test vectors are checked
// against this code by tests/binary/vectors_test.cc.
//
// Every message, request or reply, is a 32-byte header followed by the key and then the value.
// All integers are big-endian (network order). The layout (WireHeader below):
//
//   off size  request                          reply
//   0   1     magic 0xFE                       magic 0xFD
//   1   1     version (1)                      version the server speaks (1)
//   2   1     opcode                           opcode of the request
//   3   1     flags (Q, K, T)                  flags of the request
//   4   2     key length                       key length (0 unless K was set)
//   6   2     0 (reserved)                     status
//   8   4     value length                     value length
//   12  4     TTL: memcached exptime rules     remaining TTL in seconds (GET; 0 = none)
//   16  4     request id (opaque)              the request's id, echoed
//   20  4     client flags (SET family)        client flags of the item (GET)
//   24  8     CAS to compare (0 = none)        CAS of the item (GET, SET family, INCR/DECR)
//   32  key length + value length bytes: the key, then the value
//
// The codec only frames and encodes: which fields each opcode uses and how the server answers
// are the session's business (src/engine/binary) and the document's.
//
// Client use (allocation-free once the Buffer has grown):
//   Buffer out;
//   encode_request(out, Request{.opcode = Opcode::kGet, .request_id = 7, .key = "k"});
//   ... send out ...; receive into `in` ...
//   Reply r;
//   DecodeResult d = decode_reply(in, &r);   // kOk: r views `in`; consume d.size bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::binary {

inline constexpr std::uint8_t kRequestMagic = 0xFE;
inline constexpr std::uint8_t kReplyMagic = 0xFD;
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kMaxKeyLength = 0xFFFF;  // the wire limit; the server's is 250

// The header as laid out on the wire: byte arrays, so there is no padding and no alignment.
struct WireHeader {
  unsigned char magic;
  unsigned char version;
  unsigned char opcode;
  unsigned char flags;
  unsigned char key_length[2];
  unsigned char status[2];
  unsigned char value_length[4];
  unsigned char ttl[4];
  unsigned char request_id[4];
  unsigned char client_flags[4];
  unsigned char cas[8];
};
static_assert(sizeof(WireHeader) == kHeaderSize);
static_assert(offsetof(WireHeader, magic) == 0);
static_assert(offsetof(WireHeader, version) == 1);
static_assert(offsetof(WireHeader, opcode) == 2);
static_assert(offsetof(WireHeader, flags) == 3);
static_assert(offsetof(WireHeader, key_length) == 4);
static_assert(offsetof(WireHeader, status) == 6);
static_assert(offsetof(WireHeader, value_length) == 8);
static_assert(offsetof(WireHeader, ttl) == 12);
static_assert(offsetof(WireHeader, request_id) == 16);
static_assert(offsetof(WireHeader, client_flags) == 20);
static_assert(offsetof(WireHeader, cas) == 24);

enum class Opcode : std::uint8_t {
  kGet = 0x01,      // key -> value, client flags, CAS, remaining TTL
  kSet = 0x02,      // key, value, client flags, TTL; CAS != 0: only if the item's CAS matches
  kAdd = 0x03,      // SET only if the key is absent
  kReplace = 0x04,  // SET only if the key is present
  kDelete = 0x05,   // key; CAS != 0: only if it matches
  kIncr = 0x06,     // key, value = delta (8 bytes) [+ initial value (8 bytes)] -> value = new value
  kDecr = 0x07,     // as INCR; stops at 0
  kTouch = 0x08,    // key, TTL: sets a new TTL
  kNoop = 0x09,     // always answered, even among quiet requests: a pipeline barrier
  kStats = 0x0A,    // key = group ("" = general) -> value = name/value pairs (see StatsReader)
};
// Names for logs and tests: "GET", "SET", ...; "UNKNOWN" for any other byte.
std::string_view opcode_name(Opcode op) noexcept;

// Request flags (the header's flags byte). Bits not listed are reserved: the server answers
// BAD_REQUEST when one is set.
namespace flag {
inline constexpr std::uint8_t kQuiet = 0x01;    // Q: no reply on success, nor on a GET miss
inline constexpr std::uint8_t kWithKey = 0x02;  // K: the reply carries the key
inline constexpr std::uint8_t kTouch = 0x04;    // T: GET also sets the TTL (get-and-touch)
inline constexpr std::uint8_t kKnown = kQuiet | kWithKey | kTouch;
}  // namespace flag

enum class Status : std::uint16_t {
  kOk = 0x0000,             // OK
  kNotFound = 0x0001,       // NF: no such key (GET, DELETE, TOUCH, INCR/DECR, SET with a CAS)
  kExists = 0x0002,         // EX: CAS mismatch
  kNotStored = 0x0003,      // NS: ADD on a present key, REPLACE on a missing one
  kTooLarge = 0x0004,       // TL: value over the item size limit (its bytes are skipped)
  kNonNumeric = 0x0005,     // NN: INCR/DECR on a value that is not a decimal u64
  kKeyTooLong = 0x0006,     // KL: key over the key length limit (its bytes are skipped)
  kBadRequest = 0x0007,     // BR: malformed: bad lengths for the opcode, reserved bits set, ...
  kUnknownOpcode = 0x0008,  // UO: the opcode is not known (the message is skipped)
  kNoMemory = 0x0009,       // OM: the store could not make room
  kBadVersion = 0x000A,     // BV: bad magic or unsupported version (TCP: then the server closes)
  kWrongType = 0x000B,      // WT: GET/INCR/DECR on a key holding a hash (written over RESP)
  kLoading = 0x000C,        // LD: the server is loading its persistence folder; retry later
  kWriteFailed = 0x000D,    // WF: a write refused: the append-only file cannot be written (fsync = always)
};
// "OK", "NOT_FOUND", ...; "UNKNOWN" for other values.
std::string_view status_name(Status s) noexcept;

// A decoded header in host order (what the raw helpers below read and write).
struct Header {
  std::uint8_t magic = kRequestMagic;
  std::uint8_t version = kVersion;
  std::uint8_t opcode = 0;
  std::uint8_t flags = 0;
  std::uint16_t key_length = 0;
  std::uint16_t status = 0;
  std::uint32_t value_length = 0;
  std::uint32_t ttl = 0;
  std::uint32_t request_id = 0;
  std::uint32_t client_flags = 0;
  std::uint64_t cas = 0;

  std::size_t message_size() const noexcept { return kHeaderSize + key_length + std::size_t{value_length}; }
};

struct Request {
  Opcode opcode = Opcode::kNoop;
  std::uint8_t flags = 0;
  std::uint32_t ttl = 0;
  std::uint32_t request_id = 0;
  std::uint32_t client_flags = 0;
  std::uint64_t cas = 0;
  std::string_view key;
  std::string_view value;
  std::uint16_t reserved = 0;  // the status field of a request; must be 0
};

struct Reply {
  Opcode opcode = Opcode::kNoop;
  std::uint8_t flags = 0;
  Status status = Status::kOk;
  std::uint32_t ttl = 0;
  std::uint32_t request_id = 0;
  std::uint32_t client_flags = 0;
  std::uint64_t cas = 0;
  std::string_view key;
  std::string_view value;
  std::uint8_t version = kVersion;  // the version the peer speaks
};

enum class DecodeStatus : std::uint8_t {
  kOk,          // one whole message decoded
  kNeedMore,    // incomplete: wait for more bytes
  kBadMagic,    // the first byte is not the expected magic
  kBadVersion,  // the second byte is not kVersion
};

struct DecodeResult {
  DecodeStatus status = DecodeStatus::kNeedMore;
  // kOk: the message's size in bytes (consume that many). kNeedMore: the size the input must
  // reach before decoding can go on (kHeaderSize until the header is whole, then the message's
  // size). Errors: 0.
  std::size_t size = 0;
  bool ok() const noexcept { return status == DecodeStatus::kOk; }
};

// --- raw header ---------------------------------------------------------------------------
void encode_header(const Header& h, char* out) noexcept;  // writes kHeaderSize bytes
Header read_header(const char* in) noexcept;              // reads kHeaderSize bytes, no checks
// Checks magic and version as soon as their bytes are there, then decodes the header.
// kOk: `*out` holds it and size is the whole message's size (which may exceed in.size()).
DecodeResult decode_header(std::string_view in, std::uint8_t magic, Header* out) noexcept;

// --- whole messages -----------------------------------------------------------------------
// Appends the message. Returns false (appending nothing) when the key is longer than
// kMaxKeyLength or the value longer than 2^32 - 1 bytes.
bool encode_request(Buffer& out, const Request& r);
bool encode_reply(Buffer& out, const Reply& r);
// Decodes the message at the front of `in`; on kOk, key and value view `in`.
DecodeResult decode_request(std::string_view in, Request* out) noexcept;
DecodeResult decode_reply(std::string_view in, Reply* out) noexcept;

// A reply whose value is written in place after its header (STATS): begin_reply() appends the
// header and key and returns the message's offset; append the value; finish_reply() then sets
// the value length from what was appended.
std::size_t begin_reply(Buffer& out, const Reply& r);
void finish_reply(Buffer& out, std::size_t start) noexcept;

// --- INCR / DECR --------------------------------------------------------------------------
// Request value: delta (8 bytes), optionally followed by an initial value (8 bytes): with it a
// missing key is created holding the initial value (and the request's TTL) instead of NOT_FOUND.
// Reply value: the counter's new value (8 bytes). Every number big-endian.
inline constexpr std::size_t kArithSize = 8;
inline constexpr std::size_t kArithWithInitialSize = 16;
struct Arith {
  std::uint64_t delta = 0;
  bool has_initial = false;
  std::uint64_t initial = 0;
};
// Writes the request value to `out` (room for kArithWithInitialSize) and returns its length.
std::size_t encode_arith(const Arith& a, char* out) noexcept;
bool decode_arith(std::string_view value, Arith* out) noexcept;
void encode_counter(std::uint64_t value, char* out) noexcept;  // 8 bytes
bool decode_counter(std::string_view value, std::uint64_t* out) noexcept;

// --- STATS --------------------------------------------------------------------------------
// A STATS reply's value is a sequence of pairs: name length (2), name, value length (2), value.
void append_stat(Buffer& out, std::string_view name, std::string_view value);

class StatsReader {
 public:
  explicit StatsReader(std::string_view value) noexcept : rest_(value) {}
  // The next pair; false at the end or when the rest is malformed (then error() is true).
  bool next(std::string_view* name, std::string_view* value) noexcept;
  bool error() const noexcept { return error_; }

 private:
  std::string_view rest_;
  bool error_ = false;
};

// --- big-endian helpers -------------------------------------------------------------------
inline std::uint16_t load_be16(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((u[0] << 8) | u[1]);
}
inline std::uint32_t load_be32(const char* p) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (std::uint32_t{u[0]} << 24) | (std::uint32_t{u[1]} << 16) | (std::uint32_t{u[2]} << 8) | u[3];
}
inline std::uint64_t load_be64(const char* p) noexcept {
  return (std::uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}
inline void store_be16(char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<char>(v >> 8);
  p[1] = static_cast<char>(v);
}
inline void store_be32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (24 - 8 * i));
}
inline void store_be64(char* p, std::uint64_t v) noexcept {
  store_be32(p, static_cast<std::uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<std::uint32_t>(v));
}

}  // namespace ferrite::proto::binary
