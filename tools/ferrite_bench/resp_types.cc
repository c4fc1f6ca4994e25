#include "resp_types.h"

#include <charconv>
#include <cstring>

namespace ferrite::bench::resp_types {

namespace {

// Nesting and element bounds of the replies accepted (a transaction's is two levels deep).
constexpr int kMaxDepth = 4;
constexpr std::uint64_t kMaxElements = 1u << 20;

enum class Got : std::uint8_t { kOk, kIncomplete, kBad };

// One RESP value at the front of the input (RESP2, and RESP3's simple types, maps and sets).
struct Value {
  char type = 0;
  std::string_view line;  // its first line without the type byte and the CRLF
  std::string_view raw;   // its first line with the type byte (for messages)
  std::string_view bulk;  // bulk strings: the payload
  bool null = false;      // $-1, *-1, _
  std::uint64_t count = 0;  // aggregates: elements
  std::size_t body = 0;     // aggregates: offset of the first element
  std::size_t size = 0;     // bytes of the whole value, nested elements included
};

bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_i64(std::string_view s, std::int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

// Reads the value at the front of `in`; on kBad, *why says what was wrong (into `in` or a literal).
Got read_value(std::string_view in, int depth, Value* v, std::string_view* why) {
  const std::size_t limit = in.size() < kMaxLine ? in.size() : kMaxLine;
  const void* nl = std::memchr(in.data(), '\n', limit);
  if (nl == nullptr) {
    if (in.size() < kMaxLine) return Got::kIncomplete;
    *why = "reply line too long";
    return Got::kBad;
  }
  const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
  if (pos == 0 || in[pos - 1] != '\r') {
    *why = "reply line not CRLF-terminated";
    return Got::kBad;
  }
  if (pos == 1) {
    *why = "empty reply line";
    return Got::kBad;
  }
  *v = Value{};
  v->type = in[0];
  v->raw = in.substr(0, pos - 1);
  v->line = in.substr(1, pos - 2);
  std::size_t at = pos + 1;
  const auto null_value = [&] {  // RESP3's _ and RESP2's $-1 / *-1 (and the other types' -1)
    v->null = true;
    v->size = at;
    return Got::kOk;
  };
  switch (v->type) {
    case '+':
    case '-':
    case ':':
    case ',':
    case '#':
    case '(':
      v->size = at;
      return Got::kOk;
    case '_':
      if (!v->line.empty()) break;
      return null_value();
    case '$':
    case '!':
    case '=': {
      if (v->line == "-1") return null_value();
      std::uint64_t bytes = 0;
      if (!parse_u64(v->line, bytes) || bytes > kMaxValueBytes) break;
      if (in.size() < at + bytes + 2) return Got::kIncomplete;
      if (in.substr(at + bytes, 2) != "\r\n") {
        *why = "bulk string not followed by CRLF";
        return Got::kBad;
      }
      v->bulk = in.substr(at, bytes);
      v->size = at + bytes + 2;
      return Got::kOk;
    }
    case '*':
    case '~':
    case '>':
    case '%': {
      if (v->line == "-1") return null_value();
      std::uint64_t count = 0;
      if (!parse_u64(v->line, count) || count > kMaxElements) break;
      if (depth >= kMaxDepth) {
        *why = "reply nested too deep";
        return Got::kBad;
      }
      v->count = count;
      v->body = at;
      const std::uint64_t elements = v->type == '%' ? 2 * count : count;
      for (std::uint64_t i = 0; i < elements; ++i) {
        Value e;
        const Got g = read_value(in.substr(at), depth + 1, &e, why);
        if (g != Got::kOk) return g;
        at += e.size;
      }
      v->size = at;
      return Got::kOk;
    }
    default:
      break;
  }
  *why = v->raw;
  return Got::kBad;
}

Reply bad(std::string_view why) { return {ReplyStatus::kBad, 0, {}, why}; }

constexpr std::string_view kFieldNames[kFields] = {"f1", "f2", "f3", "f4", "f5",
                                                   "f6", "f7", "f8", "f9", "f10"};

void bulk(Buffer& out, std::string_view s) {
  out.push_back('$');
  out.append_uint(s.size());
  out.append("\r\n");
  out.append(s);
  out.append("\r\n");
}

// Checks EXEC's reply v (at the front of `in`): an array of kIncrs integers. Sets *error to the
// first error in it (when *error is empty) and returns what else is wrong, or an empty view.
std::string_view check_exec(std::string_view in, const Value& v, std::string_view* error) {
  if (v.type != '*') return "EXEC did not answer an array";
  if (v.null) {
    if (error->empty()) *error = "EXEC answered a null array (the transaction was aborted)";
    return {};
  }
  if (v.count != kIncrs) return "EXEC answered an array of another length than the INCRs queued";
  std::size_t at = v.body;
  std::string_view wrong;
  for (std::uint32_t i = 0; i < kIncrs; ++i) {
    Value e;
    std::string_view why;
    read_value(in.substr(at), 1, &e, &why);  // read whole by read_value already: cannot fail
    at += e.size;
    std::int64_t n = 0;
    if (e.type == '-') {
      if (error->empty()) *error = e.raw;
    } else if (e.type != ':' || !parse_i64(e.line, n)) {
      if (wrong.empty()) wrong = "an element of EXEC's array is not an integer";
    }
  }
  return wrong;
}

}  // namespace

std::string_view field_name(std::uint32_t j) noexcept { return kFieldNames[j % kFields]; }

void encode_multi_incr(Buffer& out, const std::string_view* keys) {
  out.append("*1\r\n$5\r\nMULTI\r\n");
  for (std::uint32_t i = 0; i < kIncrs; ++i) {
    out.append("*2\r\n$4\r\nINCR\r\n");
    bulk(out, keys[i]);
  }
  out.append("*1\r\n$4\r\nEXEC\r\n");
}

void encode_hset(Buffer& out, std::string_view key, const std::string_view* values) {
  out.push_back('*');
  out.append_uint(2 + 2 * kFields);
  out.append("\r\n$4\r\nHSET\r\n");
  bulk(out, key);
  for (std::uint32_t j = 0; j < kFields; ++j) {
    bulk(out, kFieldNames[j]);
    bulk(out, values[j]);
  }
}

void encode_hget(Buffer& out, std::string_view key, std::uint32_t field) {
  out.append("*3\r\n$4\r\nHGET\r\n");
  bulk(out, key);
  bulk(out, field_name(field));
}

Reply parse_multi_incr(std::string_view in) {
  std::size_t off = 0;
  std::string_view error;  // the first error reply
  std::string_view wrong;  // the first reply that is not what Redis answers
  for (std::uint32_t i = 0; i < kIncrs + 2; ++i) {
    Value v;
    std::string_view why;
    const std::string_view rest = in.substr(off);
    const Got g = read_value(rest, 0, &v, &why);
    if (g == Got::kIncomplete) return {};
    if (g == Got::kBad) return bad(why);
    off += v.size;
    if (v.type == '-') {
      if (error.empty()) error = v.raw;
      continue;
    }
    if (!wrong.empty()) continue;
    if (i == 0) {
      if (v.type != '+' || v.line != "OK") wrong = "MULTI did not answer +OK";
    } else if (i <= kIncrs) {
      if (v.type != '+' || v.line != "QUEUED") wrong = "INCR after MULTI did not answer +QUEUED";
    } else {
      wrong = check_exec(rest, v, &error);
    }
  }
  if (!error.empty()) return {ReplyStatus::kError, off, {}, error};
  if (!wrong.empty()) return bad(wrong);
  return {ReplyStatus::kStored, off, {}, {}};
}

// Reads one reply into *v. False when it is not a value to judge: *early is then what to
// return (incomplete, bad, or the server's error).
bool read_reply(std::string_view in, Value* v, Reply* early) {
  std::string_view why;
  const Got g = read_value(in, 0, v, &why);
  if (g == Got::kIncomplete) {
    *early = {};
  } else if (g == Got::kBad) {
    *early = bad(why);
  } else if (v->type == '-') {
    *early = {ReplyStatus::kError, v->size, {}, v->raw};
  } else {
    return true;
  }
  return false;
}

Reply parse_hset(std::string_view in) {
  Value v;
  Reply early;
  if (!read_reply(in, &v, &early)) return early;
  std::uint64_t n = 0;
  if (v.type == ':' && parse_u64(v.line, n) && n <= kFields) return {ReplyStatus::kStored, v.size, {}, {}};
  return bad(v.raw);
}

Reply parse_hget(std::string_view in) {
  Value v;
  Reply early;
  if (!read_reply(in, &v, &early)) return early;
  if ((v.type == '$' || v.type == '_') && v.null) return {ReplyStatus::kMiss, v.size, {}, {}};
  if (v.type == '$') return {ReplyStatus::kHit, v.size, v.bulk, {}};
  return bad(v.raw);
}

Reply parse(std::string_view in, Op op) {
  switch (op) {
    case Op::kMultiIncr:
      return parse_multi_incr(in);
    case Op::kHSet:
      return parse_hset(in);
    case Op::kHGet:
      return parse_hget(in);
    default:
      return bad("not a RESP type request");
  }
}

}  // namespace ferrite::bench::resp_types
