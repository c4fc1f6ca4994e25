#include "proto/resp/resp_parser.h"

#include <algorithm>
#include <cstring>

#include "proto/resp/resp_number.h"

namespace ferrite::proto::resp {

namespace {
// C isspace() in the C locale: what separates inline words.
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}
const char* find(std::string_view in, std::size_t from, char c) noexcept {
  if (from >= in.size()) return nullptr;
  return static_cast<const char*>(std::memchr(in.data() + from, c, in.size() - from));
}
}  // namespace

namespace {
// A count in plain digits ending in CRLF at in[pos]: 1 to 9 digits, no leading zero (a lone "0"
// is fine). Returns the position after the CRLF, or 0.
std::size_t peek_count(std::string_view in, std::size_t pos, std::int64_t* value) noexcept {
  std::int64_t v = 0;
  std::size_t i = pos;
  for (; i < in.size() && i - pos < 10 && in[i] >= '0' && in[i] <= '9'; ++i) v = v * 10 + (in[i] - '0');
  const std::size_t digits = i - pos;
  if (digits == 0 || digits > 9 || (digits > 1 && in[pos] == '0')) return 0;
  if (in.size() - i < 2 || in[i] != '\r' || in[i + 1] != '\n') return 0;
  *value = v;
  return i + 2;
}
}  // namespace

std::size_t peek_request(std::string_view in, std::string_view* key) noexcept {
  *key = {};
  if (in.empty() || in[0] != '*') return 0;
  std::int64_t argc = 0;
  std::size_t pos = peek_count(in, 1, &argc);
  if (pos == 0 || argc < 1 || argc > kMaxMultibulkLength) return 0;
  std::string_view second;
  for (std::int64_t i = 0; i < argc; ++i) {
    if (pos >= in.size() || in[pos] != '$') return 0;
    std::int64_t len = 0;
    pos = peek_count(in, pos + 1, &len);
    if (pos == 0 || static_cast<std::uint64_t>(len) + 2 > in.size() - pos) return 0;
    const auto n = static_cast<std::size_t>(len);
    if (in[pos + n] != '\r' || in[pos + n + 1] != '\n') return 0;
    if (i == 1) second = in.substr(pos, n);
    pos += n + 2;
  }
  *key = second;
  return pos;
}

void RequestParser::reset() noexcept {
  mode_ = Mode::kIdle;
  error_ = ParseError::kNone;
  pos_ = 0;
  scan_ = 0;
  remaining_ = 0;
  bulk_len_ = -1;
  consumed_ = 0;
  refs_.clear();
  views_.clear();
  scratch_.clear();
}

ParseStatus RequestParser::fail(ParseError e, char byte) noexcept {
  error_ = e;
  bad_byte_ = byte;
  return ParseStatus::kError;
}

void RequestParser::finish(std::string_view in, std::size_t consumed) {
  consumed_ = consumed;
  views_.clear();
  for (const ArgRef& r : refs_) {
    const char* base = r.scratch ? scratch_.data() : in.data();
    views_.emplace_back(base + r.off, r.len);
  }
  mode_ = Mode::kDone;
}

ParseStatus RequestParser::parse(std::string_view in, std::size_t max_request_bytes,
                                 std::size_t max_bulk_bytes) {
  if (max_request_bytes > kMaxRequestBytes) max_request_bytes = kMaxRequestBytes;  // offsets are 32-bit
  if (mode_ == Mode::kDone) reset();
  if (mode_ == Mode::kSkip) return parse_skip(in);
  if (mode_ == Mode::kIdle) {
    if (in.empty()) return ParseStatus::kIncomplete;
    mode_ = in[0] == '*' ? Mode::kMultibulk : Mode::kInline;
    pos_ = mode_ == Mode::kMultibulk ? 1 : 0;
    scan_ = 0;
    remaining_ = 0;
    bulk_len_ = -1;
    refs_.clear();
    scratch_.clear();
  }
  return mode_ == Mode::kInline ? parse_inline(in, max_request_bytes)
                                : parse_multibulk(in, max_request_bytes, max_bulk_bytes);
}

ParseStatus RequestParser::begin_skip(std::string_view in, ParseError why, std::size_t from,
                                      std::uint64_t skip) {
  mode_ = Mode::kSkip;
  error_ = why;
  pos_ = from;
  scan_ = 0;
  skip_left_ = skip;
  bulk_len_ = skip > 0 ? 0 : -1;  // 0: in a bulk's data; -1: at a header
  refs_.clear();
  views_.clear();
  return parse_skip(in);
}

// Swallows an over-limit request: bulks' data as far as it has arrived, headers once whole. What
// it passed over is given back as consumed() at once, so nothing of the request stays buffered.
ParseStatus RequestParser::parse_skip(std::string_view in) {
  for (;;) {
    if (bulk_len_ >= 0) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(skip_left_, in.size() - pos_));
      pos_ += n;
      skip_left_ -= n;
      if (skip_left_ > 0) break;
      bulk_len_ = -1;
      --remaining_;
    }
    if (remaining_ == 0) {
      consumed_ = pos_;
      mode_ = Mode::kDone;
      return ParseStatus::kRefused;
    }
    const char* cr = find(in, pos_, '\r');
    if (cr == nullptr) {
      if (in.size() - pos_ > kInlineMaxSize) return fail(ParseError::kTooBigBulkCount);
      break;
    }
    const auto r = static_cast<std::size_t>(cr - in.data());
    if (r + 1 >= in.size()) break;
    if (in[pos_] != '$') return fail(ParseError::kExpectedDollar, in[pos_]);
    std::int64_t len = 0;
    if (!parse_i64(in.substr(pos_ + 1, r - pos_ - 1), &len) || len < 0 || len > kMaxBulkLength) {
      return fail(ParseError::kInvalidBulkLength);
    }
    pos_ = r + 2;
    skip_left_ = static_cast<std::uint64_t>(len) + 2;
    bulk_len_ = 0;
  }
  consumed_ = pos_;
  pos_ = 0;
  return consumed_ > 0 ? ParseStatus::kSkipping : ParseStatus::kIncomplete;
}

ParseStatus RequestParser::parse_inline(std::string_view in, std::size_t max_request_bytes) {
  const char* nl = find(in, pos_, '\n');
  if (nl == nullptr) {
    if (in.size() > kInlineMaxSize || in.size() > max_request_bytes) return fail(ParseError::kTooBigInline);
    pos_ = in.size();  // the next call looks only at the new bytes
    return ParseStatus::kIncomplete;
  }
  const auto end = static_cast<std::size_t>(nl - in.data());
  std::size_t line_end = end;
  if (line_end > 0 && in[line_end - 1] == '\r') --line_end;
  refs_.clear();
  scratch_.clear();
  if (!split_inline(in.substr(0, line_end))) return fail(ParseError::kUnbalancedQuotes);
  finish(in, end + 1);
  return ParseStatus::kComplete;
}

// Redis's sdssplitargs over one line: words separated by spaces; "double quotes" with \xHH, \n,
// \r, \t, \b, \a and \<any> escapes; 'single quotes' with \' only; a closing quote must be
// followed by a space or the end of the line. Words without quotes are views into the line.
bool RequestParser::split_inline(std::string_view line) {
  const std::size_t n = line.size();
  std::size_t p = 0;
  for (;;) {
    while (p < n && is_space(line[p])) ++p;
    if (p == n) return true;
    const std::size_t start = p;
    bool in_double = false, in_single = false, done = false, copied = false;
    std::size_t scratch_start = 0;
    auto to_scratch = [&]() {
      if (copied) return;
      copied = true;
      scratch_start = scratch_.size();
      scratch_.append(line.data() + start, p - start);
    };
    while (!done) {
      if (in_double) {
        if (p == n) return false;  // unterminated quotes
        if (line[p] == '\\' && p + 3 < n && line[p + 1] == 'x' && is_hex(line[p + 2]) &&
            is_hex(line[p + 3])) {
          scratch_.push_back(static_cast<char>(hex_value(line[p + 2]) * 16 + hex_value(line[p + 3])));
          p += 3;
        } else if (line[p] == '\\' && p + 1 < n) {
          ++p;
          char c = line[p];
          switch (c) {
            case 'n':
              c = '\n';
              break;
            case 'r':
              c = '\r';
              break;
            case 't':
              c = '\t';
              break;
            case 'b':
              c = '\b';
              break;
            case 'a':
              c = '\a';
              break;
            default:
              break;
          }
          scratch_.push_back(c);
        } else if (line[p] == '"') {
          if (p + 1 < n && !is_space(line[p + 1])) return false;  // closing quote must be followed by a space
          done = true;
        } else {
          scratch_.push_back(line[p]);
        }
      } else if (in_single) {
        if (p == n) return false;
        if (line[p] == '\\' && p + 1 < n && line[p + 1] == '\'') {
          ++p;
          scratch_.push_back('\'');
        } else if (line[p] == '\'') {
          if (p + 1 < n && !is_space(line[p + 1])) return false;
          done = true;
        } else {
          scratch_.push_back(line[p]);
        }
      } else if (p == n) {
        done = true;
      } else {
        switch (line[p]) {
          case ' ':
          case '\n':
          case '\r':
          case '\t':
            done = true;
            break;
          case '"':
            to_scratch();
            in_double = true;
            break;
          case '\'':
            to_scratch();
            in_single = true;
            break;
          default:
            break;
        }
      }
      if (done && !copied) {
        refs_.push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(p - start), false});
      } else if (done) {
        refs_.push_back({static_cast<std::uint32_t>(scratch_start),
                         static_cast<std::uint32_t>(scratch_.size() - scratch_start), true});
      }
      if (p < n) ++p;
    }
  }
}

ParseStatus RequestParser::parse_multibulk(std::string_view in, std::size_t max_request_bytes,
                                           std::size_t max_bulk_bytes) {
  if (remaining_ == 0) {
    // The count line: "*<n>\r". Like Redis, only '\r' is looked for, and the byte after it is
    // skipped unseen.
    const char* cr = find(in, pos_, '\r');
    if (cr == nullptr) {
      if (in.size() > kInlineMaxSize) return fail(ParseError::kTooBigMultibulkCount);
      if (in.size() > max_request_bytes) return fail(ParseError::kInvalidMultibulkLength);
      pos_ = in.size();
      return ParseStatus::kIncomplete;
    }
    const auto r = static_cast<std::size_t>(cr - in.data());
    if (r + 1 >= in.size()) {
      pos_ = r;
      return ParseStatus::kIncomplete;
    }
    std::int64_t count = 0;
    if (!parse_i64(in.substr(1, r - 1), &count) || count > kMaxMultibulkLength) {
      return fail(ParseError::kInvalidMultibulkLength);
    }
    pos_ = r + 2;
    if (count <= 0) {  // "*0" or "*-1": an empty request, skipped
      finish(in, pos_);
      return ParseStatus::kComplete;
    }
    remaining_ = count;
    bulk_len_ = -1;
  }
  while (remaining_ > 0) {
    if (bulk_len_ < 0) {
      // The header "$<len>\r": looked for from where the last call stopped looking.
      const char* cr = find(in, scan_ > pos_ ? scan_ : pos_, '\r');
      if (cr == nullptr) {
        if (in.size() - pos_ > kInlineMaxSize) return fail(ParseError::kTooBigBulkCount);
        if (in.size() > max_request_bytes) return begin_skip(in, ParseError::kRequestTooLarge, pos_, 0);
        scan_ = in.size();
        return ParseStatus::kIncomplete;
      }
      const auto r = static_cast<std::size_t>(cr - in.data());
      if (r + 1 >= in.size()) {
        scan_ = r;
        return ParseStatus::kIncomplete;
      }
      if (in[pos_] != '$') return fail(ParseError::kExpectedDollar, in[pos_]);
      std::int64_t len = 0;
      if (!parse_i64(in.substr(pos_ + 1, r - pos_ - 1), &len) || len < 0 || len > kMaxBulkLength) {
        return fail(ParseError::kInvalidBulkLength);
      }
      const auto skip = static_cast<std::uint64_t>(len) + 2;
      if (static_cast<std::uint64_t>(len) > max_bulk_bytes)
        return begin_skip(in, ParseError::kBulkTooLarge, r + 2, skip);
      if (static_cast<std::uint64_t>(len) > max_request_bytes ||
          r + 2 + static_cast<std::size_t>(len) + 2 > max_request_bytes) {
        return begin_skip(in, ParseError::kRequestTooLarge, r + 2, skip);
      }
      pos_ = r + 2;
      bulk_len_ = len;
    }
    // The header check above keeps the whole bulk within max_request_bytes, so waiting for it
    // never holds more than that.
    const auto len = static_cast<std::size_t>(bulk_len_);
    if (in.size() - pos_ < len + 2) return ParseStatus::kIncomplete;
    // Like Redis, the two bytes after the data are skipped without a look.
    refs_.push_back({static_cast<std::uint32_t>(pos_), static_cast<std::uint32_t>(len), false});
    pos_ += len + 2;
    bulk_len_ = -1;
    --remaining_;
  }
  finish(in, pos_);
  return ParseStatus::kComplete;
}

void RequestParser::error_message(Buffer& out) const {
  switch (error_) {
    case ParseError::kNone:
      break;
    case ParseError::kTooBigInline:
      out.append("Protocol error: too big inline request");
      break;
    case ParseError::kUnbalancedQuotes:
      out.append("Protocol error: unbalanced quotes in request");
      break;
    case ParseError::kTooBigMultibulkCount:
      out.append("Protocol error: too big mbulk count string");
      break;
    case ParseError::kInvalidMultibulkLength:
      out.append("Protocol error: invalid multibulk length");
      break;
    case ParseError::kTooBigBulkCount:
      out.append("Protocol error: too big bulk count string");
      break;
    case ParseError::kExpectedDollar:
      out.append("Protocol error: expected '$', got '");
      out.push_back(bad_byte_);
      out.push_back('\'');
      break;
    case ParseError::kInvalidBulkLength:
      out.append("Protocol error: invalid bulk length");
      break;
    case ParseError::kRequestTooLarge:
      out.append(kRequestTooLargeMessage);
      break;
    case ParseError::kBulkTooLarge:
      out.append(kBulkTooLargeMessage);
      break;
  }
}

}  // namespace ferrite::proto::resp
