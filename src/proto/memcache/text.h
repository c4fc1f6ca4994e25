// memcached's text protocol (doc/protocol.txt): command lines, their tokens and numbers, with the
// rules memcached 1.6 applies (checked against memcached 1.6.18):
//
//   - a command line ends at '\n'; one '\r' before it is dropped when the line has more than one
//     byte; the line ends at its first NUL (memcached tokenizes C strings);
//   - tokens are separated by ' ' only (a tab is part of a token); at most 23 tokens are split
//     off, the rest of the line stays one unsplit remainder (memcached's MAX_TOKENS = 24, the
//     last being its terminal token), which only multi-key gets read further;
//   - 2048 bytes without a newline close the connection, unless the line is a get/gets (after at
//     most 100 leading spaces): a multi-get line may be longer;
//   - numbers are parsed like strtol/strtoul/strtoull: optional leading whitespace and sign,
//     decimal digits, then the end of the token or whitespace; 32-bit fields are truncated from
//     the 64-bit value (memcached's safe_strtol/safe_strtoul do the same); a '-' on an unsigned
//     field that makes it negative as a signed number is refused.
// Pure functions over buffers: no store, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ferrite::proto::memcache {

inline constexpr std::size_t kMaxKeyLength = 250;  // memcached's KEY_MAX_LENGTH
inline constexpr std::size_t kMaxTokens = 24;      // memcached's MAX_TOKENS (with terminal)
inline constexpr std::size_t kMaxLineWithoutNewline = 2048;
inline constexpr std::size_t kMaxMultigetLeadingSpaces = 100;
inline constexpr std::size_t kMaxMetaTokens = 20;    // memcached's MFLAG_MAX_OPT_LENGTH
inline constexpr std::size_t kMaxOpaqueLength = 32;  // the O token, its letter included
inline constexpr int kMaxVerbosity = 2;              // memcached's MAX_VERBOSITY_LEVEL

enum class Command : std::uint8_t {
  kUnknown,
  // classic text commands
  kGet,
  kGets,
  kGat,
  kGats,
  kSet,
  kAdd,
  kReplace,
  kAppend,
  kPrepend,
  kCas,
  kDelete,
  kIncr,
  kDecr,
  kTouch,
  kFlushAll,
  kVersion,
  kVerbosity,
  kQuit,
  kStats,
  kShutdown,
  // meta commands
  kMetaGet,
  kMetaSet,
  kMetaDelete,
  kMetaArithmetic,
  kMetaNoop,
  kMetaDebug,
};

// The command a first token names (case-sensitive, as memcached); "bget" is memcached's old
// alias of get.
Command classify(std::string_view name) noexcept;
bool is_meta(Command c) noexcept;
// set, add, replace, append, prepend, cas: the classic commands followed by a data block.
constexpr bool is_storage(Command c) noexcept { return c >= Command::kSet && c <= Command::kCas; }
static_assert(static_cast<int>(Command::kCas) - static_cast<int>(Command::kSet) == 5,
              "the storage commands are kSet..kCas, in a row");

enum class LineStatus : std::uint8_t {
  kComplete,  // `line` and `consumed` are set
  kNeedMore,  // no newline yet: wait for more bytes
  kTooLong,   // over 2048 bytes without a newline and not a multi-get: close the connection
};

struct Line {
  std::string_view text;     // without "\r\n", cut at the first NUL
  std::size_t consumed = 0;  // bytes up to and including '\n'
};

// Frames the command line at the front of `in`. `scan_from` is how many bytes of `in` are known
// to hold no '\n' (from an earlier call on the same growing input); it is updated.
LineStatus next_line(std::string_view in, std::size_t* scan_from, Line* line) noexcept;

// A command line split as memcached's tokenize_command splits it.
struct Tokens {
  std::string_view tok[kMaxTokens - 1];
  std::size_t count = 0;  // tokens split off (at most 23)
  bool has_rest = false;  // bytes remain after the 23rd token
  std::string_view rest;  // those bytes (may start with spaces)

  // memcached's ntokens: the tokens plus its terminal token.
  std::size_t ntokens() const noexcept { return count + 1; }
  // memcached's tokens[ntokens - 2]: the last token split off ("" if none).
  std::string_view last() const noexcept { return count == 0 ? std::string_view() : tok[count - 1]; }
};
void tokenize(std::string_view line, Tokens* t) noexcept;

// Iterates the keys of a multi-key get, with no limit on their number.
class KeyIterator {
 public:
  explicit KeyIterator(std::string_view keys) : rest_(keys) {}
  bool next(std::string_view* key) noexcept;

 private:
  std::string_view rest_;
};

// A cheap look ahead, for prefetching the keys of pipelined commands before they run: the bytes
// the command at the front of `in` takes (its line, and for a storage command its data block and
// "\r\n" when all of it is there) and its key in *key (the second word; gat/gats: the third;
// empty for a command without one). 0 when no complete line is there, or a storage command's
// data is not all there. It only frames: what the command means is left to the executor.
std::size_t peek_command(std::string_view in, std::string_view* key) noexcept;

// memcached's safe_strtol: a 64-bit strtol truncated to 32 bits.
bool parse_i32(std::string_view s, std::int32_t* out) noexcept;
// memcached's safe_strtoul: a 64-bit strtoul truncated to 32 bits; "-N" refused.
bool parse_u32(std::string_view s, std::uint32_t* out) noexcept;
// memcached's safe_strtoull.
bool parse_u64(std::string_view s, std::uint64_t* out) noexcept;

}  // namespace ferrite::proto::memcache
