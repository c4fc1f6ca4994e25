// memcached's binary protocol (memcached doc/protocol-binary.txt, "BinaryProtocolRevamped"):
// the 24-byte packet header, the per-opcode extras, request validation and response encoding.
//
// Every packet, request or response:
//
//   offset  size  request                  response
//        0     1  magic 0x80               magic 0x81
//        1     1  opcode                   opcode (echoed)
//        2     2  key length               key length
//        4     1  extras length            extras length
//        5     1  data type (0: raw)       data type (0)
//        6     2  vbucket id               status
//        8     4  total body length        total body length  (extras + key + value)
//       12     4  opaque                   opaque (echoed)
//       16     8  CAS                      CAS
//       24        extras, key, value
//
// All integers are big-endian. Quiet opcodes (…Q) suppress the success reply (for get-type
// commands: the miss reply); errors are always sent. Pure functions over buffers: no store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::memcache_binary {

inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::uint8_t kRequestMagic = 0x80;
inline constexpr std::uint8_t kResponseMagic = 0x81;
// incr/decr expiration meaning "do not create a missing key".
inline constexpr std::uint32_t kNoCreate = 0xffffffff;

enum class Opcode : std::uint8_t {
  kGet = 0x00,
  kSet = 0x01,
  kAdd = 0x02,
  kReplace = 0x03,
  kDelete = 0x04,
  kIncrement = 0x05,
  kDecrement = 0x06,
  kQuit = 0x07,
  kFlush = 0x08,
  kGetQ = 0x09,
  kNoop = 0x0a,
  kVersion = 0x0b,
  kGetK = 0x0c,
  kGetKQ = 0x0d,
  kAppend = 0x0e,
  kPrepend = 0x0f,
  kStat = 0x10,
  kSetQ = 0x11,
  kAddQ = 0x12,
  kReplaceQ = 0x13,
  kDeleteQ = 0x14,
  kIncrementQ = 0x15,
  kDecrementQ = 0x16,
  kQuitQ = 0x17,
  kFlushQ = 0x18,
  kAppendQ = 0x19,
  kPrependQ = 0x1a,
  kVerbosity = 0x1b,
  kTouch = 0x1c,
  kGat = 0x1d,
  kGatQ = 0x1e,
  kGatK = 0x23,
  kGatKQ = 0x24,
};

enum class Status : std::uint16_t {
  kSuccess = 0x0000,
  kKeyNotFound = 0x0001,
  kKeyExists = 0x0002,
  kValueTooLarge = 0x0003,
  kInvalidArguments = 0x0004,
  kItemNotStored = 0x0005,
  kNonNumeric = 0x0006,
  kUnknownCommand = 0x0081,
  kOutOfMemory = 0x0082,
  kNotSupported = 0x0083,  // Ferrite: a get/append/incr on a key holding a hash (Redis's WRONGTYPE)
  // Ferrite: the daemon is loading its persistence folder, or a write is refused while the
  // append-only file cannot be written (fsync = always); the client may retry later.
  kTemporaryFailure = 0x0086,
};

// The text memcached puts in an error response's body (clients show it).
std::string_view status_message(Status s) noexcept;

struct Header {
  std::uint8_t magic = 0;
  std::uint8_t opcode = 0;
  std::uint16_t key_len = 0;
  std::uint8_t extras_len = 0;
  std::uint8_t data_type = 0;
  std::uint16_t vbucket = 0;  // the status in a response
  std::uint32_t body_len = 0;
  std::uint32_t opaque = 0;
  std::uint64_t cas = 0;

  // Bytes of value after extras and key; only meaningful once check_request() accepted them.
  std::size_t value_len() const noexcept { return body_len - extras_len - key_len; }
  std::size_t packet_len() const noexcept { return kHeaderSize + body_len; }
};

// Decodes the first kHeaderSize bytes of `in` (which must hold at least that many).
Header parse_header(std::string_view in) noexcept;
// Appends a 24-byte header.
void append_header(Buffer& out, const Header& h);

// What an opcode is, for the session's dispatch.
enum class Command : std::uint8_t {
  kUnknown,
  kGet,     // get, getq, getk, getkq
  kStore,   // set, add, replace (and quiet forms)
  kConcat,  // append, prepend (and quiet forms)
  kDelete,
  kArith,  // increment, decrement (and quiet forms)
  kTouch,
  kGat,  // gat, gatq, gatk, gatkq
  kFlush,
  kNoop,
  kVersion,
  kStat,
  kQuit,
  kVerbosity,
};
struct OpcodeInfo {
  Command command = Command::kUnknown;
  Opcode base = Opcode::kGet;  // the loud form (kSetQ -> kSet)
  bool quiet = false;
  bool returns_key = false;  // getk, getkq, gatk, gatkq
};
OpcodeInfo opcode_info(std::uint8_t opcode) noexcept;

// A request header's verdict, memcached's rules:
enum class Check : std::uint8_t {
  kOk,
  kBadLengths,      // key + extras longer than the body: "unknown command", then close
  kUnknownCommand,  // answered "unknown command"; the body is skipped
  kInvalid,         // lengths not allowed for the opcode, or key too long: "invalid arguments", close
};
Check check_request(const Header& h, std::size_t max_key) noexcept;

// Extras of set/add/replace (8 bytes), incr/decr (20), touch/gat (4), flush (0 or 4), verbosity (4).
struct StoreExtras {
  std::uint32_t flags = 0;
  std::uint32_t expiration = 0;
};
struct ArithExtras {
  std::uint64_t delta = 0;
  std::uint64_t initial = 0;
  std::uint32_t expiration = 0;
};
StoreExtras parse_store_extras(std::string_view extras) noexcept;  // extras.size() == 8
ArithExtras parse_arith_extras(std::string_view extras) noexcept;  // extras.size() == 20
std::uint32_t parse_u32_extras(std::string_view extras) noexcept;  // extras.size() == 4

// Appends a response header; the caller appends extras, key and value (body_len bytes).
void append_response_header(Buffer& out, std::uint8_t opcode, Status status, std::uint8_t extras_len,
                            std::uint16_t key_len, std::uint32_t body_len, std::uint32_t opaque,
                            std::uint64_t cas);
// A whole response with the given parts.
void append_response(Buffer& out, std::uint8_t opcode, Status status, std::uint32_t opaque, std::uint64_t cas,
                     std::string_view extras, std::string_view key, std::string_view value);
// An error response: no extras, no key, status_message() as the body, CAS 0.
void append_error(Buffer& out, std::uint8_t opcode, Status status, std::uint32_t opaque);

// A request packet (for clients, tests and fuzz corpora).
void append_request(Buffer& out, std::uint8_t opcode, std::string_view extras, std::string_view key,
                    std::string_view value, std::uint32_t opaque = 0, std::uint64_t cas = 0);

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

}  // namespace ferrite::proto::memcache_binary
