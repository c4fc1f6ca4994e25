#include "proto/memcache/text.h"

#include <cstring>

namespace ferrite::proto::memcache {
namespace {

constexpr bool is_c_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

// strtoull's core over a token: leading whitespace, optional sign, decimal digits, then the end
// of the token or whitespace. Sets `magnitude` (the digits' value) and `negative`; false when
// there are no digits, when the digits overflow 64 bits, or when something else follows.
bool scan_number(std::string_view s, std::uint64_t* magnitude, bool* negative) noexcept {
  std::size_t i = 0;
  while (i < s.size() && is_c_space(s[i])) ++i;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    *negative = s[i] == '-';
    ++i;
  }
  const std::size_t start = i;
  std::uint64_t v = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;  // ERANGE
    v = v * 10 + d;
  }
  if (i == start) return false;
  if (i < s.size() && !is_c_space(s[i])) return false;
  *magnitude = v;
  return true;
}

// strtoul/strtoull with memcached's check: a '-' that makes the value negative as a signed
// number is refused.
bool scan_unsigned(std::string_view s, std::uint64_t* out) noexcept {
  std::uint64_t m = 0;
  bool neg = false;
  if (!scan_number(s, &m, &neg)) return false;
  const std::uint64_t v = neg ? 0 - m : m;
  if (neg && static_cast<std::int64_t>(v) < 0) return false;
  *out = v;
  return true;
}

}  // namespace

Command classify(std::string_view n) noexcept {
  if (n.size() == 2 && n[0] == 'm') {
    switch (n[1]) {
      case 'g':
        return Command::kMetaGet;
      case 's':
        return Command::kMetaSet;
      case 'd':
        return Command::kMetaDelete;
      case 'a':
        return Command::kMetaArithmetic;
      case 'n':
        return Command::kMetaNoop;
      case 'e':
        return Command::kMetaDebug;
      default:
        return Command::kUnknown;
    }
  }
  if (n == "get" || n == "bget") return Command::kGet;
  if (n == "gets") return Command::kGets;
  if (n == "set") return Command::kSet;
  if (n == "delete") return Command::kDelete;
  if (n == "incr") return Command::kIncr;
  if (n == "decr") return Command::kDecr;
  if (n == "gat") return Command::kGat;
  if (n == "gats") return Command::kGats;
  if (n == "add") return Command::kAdd;
  if (n == "replace") return Command::kReplace;
  if (n == "append") return Command::kAppend;
  if (n == "prepend") return Command::kPrepend;
  if (n == "cas") return Command::kCas;
  if (n == "touch") return Command::kTouch;
  if (n == "flush_all") return Command::kFlushAll;
  if (n == "version") return Command::kVersion;
  if (n == "verbosity") return Command::kVerbosity;
  if (n == "quit") return Command::kQuit;
  if (n == "stats") return Command::kStats;
  if (n == "shutdown") return Command::kShutdown;
  return Command::kUnknown;
}

bool is_meta(Command c) noexcept { return c >= Command::kMetaGet; }

LineStatus next_line(std::string_view in, std::size_t* scan_from, Line* line) noexcept {
  std::size_t from = *scan_from < in.size() ? *scan_from : in.size();
  const void* nl = std::memchr(in.data() + from, '\n', in.size() - from);
  if (nl == nullptr) {
    *scan_from = in.size();
    if (in.size() <= kMaxLineWithoutNewline) return LineStatus::kNeedMore;
    // Only a multi-get may be this long (memcached's try_read_command_ascii).
    std::size_t i = 0;
    while (i < in.size() && in[i] == ' ') ++i;
    if (i > kMaxMultigetLeadingSpaces) return LineStatus::kTooLong;
    const std::string_view s = in.substr(i);
    if (s.substr(0, 4) == "get " || s.substr(0, 5) == "gets ") return LineStatus::kNeedMore;
    return LineStatus::kTooLong;
  }
  *scan_from = 0;
  const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
  std::size_t len = end;
  if (len > 1 && in[len - 1] == '\r') --len;
  std::string_view text = in.substr(0, len);
  if (const void* z = std::memchr(text.data(), '\0', text.size()); z != nullptr) {
    text = text.substr(0, static_cast<std::size_t>(static_cast<const char*>(z) - text.data()));
  }
  line->text = text;
  line->consumed = end + 1;
  return LineStatus::kComplete;
}

std::size_t peek_command(std::string_view in, std::string_view* key) noexcept {
  *key = {};
  std::size_t scan = 0;
  Line line;
  if (next_line(in, &scan, &line) != LineStatus::kComplete) return 0;
  Tokens t;
  tokenize(line.text, &t);
  if (t.count < 2) return line.consumed;
  const Command c = classify(t.tok[0]);
  // The token holding a storage command's data length, if any.
  const std::size_t data_token = is_storage(c) ? 4 : c == Command::kMetaSet ? 2 : 0;
  *key = (c == Command::kGat || c == Command::kGats) ? (t.count > 2 ? t.tok[2] : std::string_view()) : t.tok[1];
  if (data_token == 0) return line.consumed;
  std::int32_t len = 0;
  if (t.count <= data_token || !parse_i32(t.tok[data_token], &len) || len < 0) return line.consumed;
  const std::size_t need = line.consumed + static_cast<std::size_t>(len) + 2;
  if (need > in.size()) {
    *key = {};
    return 0;
  }
  return need;
}

void tokenize(std::string_view line, Tokens* t) noexcept {
  t->count = 0;
  t->has_rest = false;
  t->rest = {};
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (i < n) {
    while (i < n && line[i] == ' ') ++i;
    if (i == n) break;
    const std::size_t start = i;
    while (i < n && line[i] != ' ') ++i;
    t->tok[t->count++] = line.substr(start, i - start);
    if (t->count == kMaxTokens - 1) {
      // memcached stops after the delimiter that follows the 23rd token.
      if (i < n && i + 1 < n) {
        t->has_rest = true;
        t->rest = line.substr(i + 1);
      }
      return;
    }
  }
}

bool KeyIterator::next(std::string_view* key) noexcept {
  std::size_t i = 0;
  while (i < rest_.size() && rest_[i] == ' ') ++i;
  if (i == rest_.size()) {
    rest_ = {};
    return false;
  }
  std::size_t j = i;
  while (j < rest_.size() && rest_[j] != ' ') ++j;
  *key = rest_.substr(i, j - i);
  rest_ = rest_.substr(j);
  return true;
}

bool parse_i32(std::string_view s, std::int32_t* out) noexcept {
  std::uint64_t m = 0;
  bool neg = false;
  if (!scan_number(s, &m, &neg)) return false;
  // strtol's range is [-2^63, 2^63 - 1].
  if (neg ? m > (std::uint64_t{1} << 63) : m > (std::uint64_t{1} << 63) - 1) return false;
  const std::uint64_t v = neg ? 0 - m : m;
  *out = static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return true;
}

bool parse_u32(std::string_view s, std::uint32_t* out) noexcept {
  std::uint64_t v = 0;
  if (!scan_unsigned(s, &v)) return false;
  *out = static_cast<std::uint32_t>(v);
  return true;
}

bool parse_u64(std::string_view s, std::uint64_t* out) noexcept { return scan_unsigned(s, out); }

}  // namespace ferrite::proto::memcache
