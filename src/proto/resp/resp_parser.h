// RESP request parser: Redis's multibulk requests (`*N\r\n$len\r\n...`) and inline commands
// (one line of space-separated words with Redis's quoting rules), with redis-server's limits and
// its exact protocol errors.
//
// The parser is resumable: a request that is incomplete leaves its progress (offsets, never
// pointers) in the parser, and the next parse() call, given the same bytes with more after them,
// continues where it stopped. Arguments are views into the input (multibulk, and inline words
// without quotes) or into the parser's scratch buffer (inline words with quotes or escapes); they
// stay valid until the next parse() or reset(). Member arrays keep their capacity, so a warm
// parser allocates nothing.
//
// After kError the connection is finished (Redis replies with the error and closes): the caller
// writes error_message() and closes.
//
// A well-formed multibulk request over the caller's limits (a bulk longer than `max_bulk_bytes`,
// or the request longer than `max_request_bytes`) is not an error that ends the connection: the
// parser swallows the rest of it as it arrives (kSkipping: drop consumed() bytes and call again
// with what follows; nothing of it is kept), then reports kRefused once its last bulk has gone by,
// and the caller answers error_message() and goes on with the next request. Only a malformed
// header met while swallowing is still a kError.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/buffer.h"

namespace ferrite::proto::resp {

// Most arguments one multibulk request may announce (Redis's historical limit).
inline constexpr std::int64_t kMaxMultibulkLength = 1024 * 1024;
// Longest inline line, or multibulk/bulk count line, still waiting for its end (PROTO_INLINE_MAX_SIZE).
inline constexpr std::size_t kInlineMaxSize = 64 * 1024;
// Largest request the parser accepts whatever the caller's limit (its offsets are 32-bit).
inline constexpr std::size_t kMaxRequestBytes = (std::size_t{1} << 32) - 1;

enum class ParseStatus : std::uint8_t {
  kComplete,    // one request (possibly with no arguments: an empty line, `*0`): see consumed()
  kIncomplete,  // need more bytes; nothing consumed
  kError,       // protocol error: see error() / error_message()
  kSkipping,    // swallowing an over-limit request: drop consumed() bytes (maybe 0), call again
  kRefused,     // an over-limit request swallowed whole (consumed() bytes): answer error_message()
};

// Redis's bound on one bulk argument (proto-max-bulk-len's ceiling): beyond it a length is
// invalid, as in Redis; within it but over the server's request limit, the request is too large.
inline constexpr std::int64_t kMaxBulkLength = std::int64_t{512} << 20;
inline constexpr std::string_view kRequestTooLargeMessage =
    "request larger than the server's limit (proto-max-bulk-len + 64 KiB)";
// Redis's words for a string over proto-max-bulk-len (SETRANGE, APPEND), also for a bulk
// argument over it (Redis closes the connection with "invalid bulk length"; Ferrite keeps it).
inline constexpr std::string_view kBulkTooLargeMessage =
    "string exceeds maximum allowed size (proto-max-bulk-len)";

enum class ParseError : std::uint8_t {
  kNone,
  kTooBigInline,            // Protocol error: too big inline request
  kUnbalancedQuotes,        // Protocol error: unbalanced quotes in request
  kTooBigMultibulkCount,    // Protocol error: too big mbulk count string
  kInvalidMultibulkLength,  // Protocol error: invalid multibulk length
  kTooBigBulkCount,         // Protocol error: too big bulk count string
  kExpectedDollar,          // Protocol error: expected '$', got '%c'
  kInvalidBulkLength,       // Protocol error: invalid bulk length
  kRequestTooLarge,         // a well-formed request over max_request_bytes (no Redis equivalent:
                            // Redis's own limits are 512 MB a bulk and 1 GB of query buffer)
  kBulkTooLarge,            // a bulk over max_bulk_bytes: string exceeds maximum allowed size ...
};

// A cheap look ahead, for prefetching the keys of pipelined requests before they run: when `in`
// starts with a complete multibulk request in its plain form (`*N`, then N bulks, every count in
// plain digits without leading zeros), returns the bytes it takes and sets *key to its second
// argument (the key of most commands; empty with fewer than two arguments). Returns 0 for
// anything else (incomplete, inline, malformed or unusual): RequestParser decides those. What it
// accepts the parser accepts too, with the same size and arguments. Never reads past `in`.
std::size_t peek_request(std::string_view in, std::string_view* key) noexcept;

class RequestParser {
 public:
  RequestParser() = default;

  // Parses the request at the start of `in`. A request (with its headers) longer than
  // `max_request_bytes` is refused with kInvalidBulkLength as soon as that is known: a bulk
  // header announcing more than fits, or an incomplete request already holding more bytes.
  // A bulk longer than `max_bulk_bytes` (at most kMaxBulkLength counts) is swallowed and refused
  // (kSkipping, then kRefused with kBulkTooLarge); so is a request whose bulks would pass
  // `max_request_bytes` (kRequestTooLarge).
  ParseStatus parse(std::string_view in, std::size_t max_request_bytes,
                    std::size_t max_bulk_bytes = static_cast<std::size_t>(kMaxBulkLength));
  // Whether an over-limit request is being swallowed (the input is mid-request: no look ahead).
  bool skipping() const noexcept { return mode_ == Mode::kSkip; }

  // After kComplete: bytes the request took (the caller drops them) and its arguments.
  std::size_t consumed() const noexcept { return consumed_; }
  std::span<const std::string_view> args() const noexcept { return {views_.data(), views_.size()}; }

  // After kError or kRefused.
  ParseError error() const noexcept { return error_; }
  // The message Redis sends after "-ERR " (CR and LF are left to the encoder to blank out).
  void error_message(Buffer& out) const;

  // Forgets any partial request (after a complete one this happens by itself on the next parse).
  void reset() noexcept;

 private:
  enum class Mode : std::uint8_t { kIdle, kInline, kMultibulk, kSkip, kDone };
  struct ArgRef {
    std::uint32_t off;
    std::uint32_t len;
    bool scratch;  // in scratch_ rather than the input
  };

  ParseStatus parse_inline(std::string_view in, std::size_t max_request_bytes);
  ParseStatus parse_multibulk(std::string_view in, std::size_t max_request_bytes, std::size_t max_bulk_bytes);
  // Starts swallowing: the bytes before `from` go, then `skip` bytes (a bulk's data and CRLF;
  // 0 = at a bulk header), then the remaining_ - 1 (or remaining_ at a header) bulks after it.
  ParseStatus begin_skip(std::string_view in, ParseError why, std::size_t from, std::uint64_t skip);
  ParseStatus parse_skip(std::string_view in);
  bool split_inline(std::string_view line);
  ParseStatus fail(ParseError e, char byte = 0) noexcept;
  void finish(std::string_view in, std::size_t consumed);

  Mode mode_ = Mode::kIdle;
  ParseError error_ = ParseError::kNone;
  char bad_byte_ = 0;
  std::size_t pos_ = 0;         // next byte to look at
  std::size_t scan_ = 0;        // multibulk: where the search for a bulk header's end resumes
  std::int64_t remaining_ = 0;  // multibulk: arguments still to read
  std::int64_t bulk_len_ = -1;  // multibulk: length of the bulk being read; -1 = at its header
  std::size_t consumed_ = 0;
  std::uint64_t skip_left_ = 0;  // skip mode: bytes of the current bulk (data + CRLF) still to drop
  std::vector<ArgRef> refs_;
  std::vector<std::string_view> views_;
  Buffer scratch_;
};

}  // namespace ferrite::proto::resp
