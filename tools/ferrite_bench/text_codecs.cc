// The memcached text and RESP client codecs.
#include <charconv>
#include <cstring>

#include "codec.h"

namespace ferrite::bench {

namespace {

// Length of the line at the front of `in` without its "\r\n", or npos while it is incomplete;
// sets `too_long` when no "\r\n" appears within kMaxLine bytes.
std::size_t line_length(std::string_view in, bool& too_long) {
  const std::size_t limit = in.size() < kMaxLine ? in.size() : kMaxLine;
  const void* nl = std::memchr(in.data(), '\n', limit);
  too_long = false;
  if (nl == nullptr) {
    too_long = in.size() >= kMaxLine;
    return std::string_view::npos;
  }
  const auto pos = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
  if (pos == 0 || in[pos - 1] != '\r') {
    too_long = true;  // a bare "\n": not a line either protocol sends
    return std::string_view::npos;
  }
  return pos - 1;
}

bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

Reply bad(std::string_view why) { return {ReplyStatus::kBad, 0, {}, why}; }
Reply incomplete() { return {}; }

class MemcacheCodec final : public Codec {
 public:
  void encode_get(Buffer& out, std::string_view key, std::uint32_t /*id*/) const override {
    out.append("get ");
    out.append(key);
    out.append("\r\n");
  }

  void encode_set(Buffer& out, std::string_view key, std::string_view value,
                  std::uint32_t /*id*/) const override {
    out.append("set ");
    out.append(key);
    out.append(" 0 0 ");
    out.append_uint(value.size());
    out.append("\r\n");
    out.append(value);
    out.append("\r\n");
  }

  std::size_t request_size(Op op, std::size_t key_size, std::size_t value_size) const override {
    return op == Op::kGet ? 6 + key_size : 4 + key_size + 7 + 20 + 2 + value_size + 2;
  }

  Reply parse(std::string_view in, Op op, std::string_view key, std::uint32_t /*id*/) const override {
    bool too_long = false;
    const std::size_t n = line_length(in, too_long);
    if (n == std::string_view::npos)
      return too_long ? bad("reply line too long or not CRLF-terminated") : incomplete();
    const std::string_view line = in.substr(0, n);
    if (line == "ERROR" || line.starts_with("CLIENT_ERROR ") || line.starts_with("SERVER_ERROR ")) {
      return {ReplyStatus::kError, n + 2, {}, line};
    }
    if (op == Op::kSet) {
      if (line == "STORED") return {ReplyStatus::kStored, n + 2, {}, {}};
      if (line == "NOT_STORED") return {ReplyStatus::kError, n + 2, {}, line};
      return bad(line);
    }
    if (line == "END") return {ReplyStatus::kMiss, n + 2, {}, {}};
    // VALUE <key> <flags> <bytes> [<cas>]
    if (!line.starts_with("VALUE ")) return bad(line);
    std::string_view rest = line.substr(6);
    std::string_view fields[4];
    int count = 0;
    while (!rest.empty() && count < 4) {
      const std::size_t sp = rest.find(' ');
      fields[count++] = rest.substr(0, sp);
      if (sp == std::string_view::npos) {
        rest = {};
      } else {
        rest.remove_prefix(sp + 1);
      }
    }
    std::uint64_t flags = 0;
    std::uint64_t bytes = 0;
    if (count < 3 || !rest.empty() || !parse_u64(fields[1], flags) || !parse_u64(fields[2], bytes) ||
        bytes > kMaxValueBytes) {
      return bad(line);
    }
    if (fields[0] != key) return bad("VALUE for another key");
    const std::size_t data_at = n + 2;
    const std::size_t end_at = data_at + bytes;
    if (in.size() < end_at + 7) return incomplete();
    if (in.substr(end_at, 7) != "\r\nEND\r\n") return bad("value not followed by CRLF END CRLF");
    return {ReplyStatus::kHit, end_at + 7, in.substr(data_at, bytes), {}};
  }
};

class RespCodec final : public Codec {
 public:
  void encode_get(Buffer& out, std::string_view key, std::uint32_t /*id*/) const override {
    out.append("*2\r\n$3\r\nGET\r\n");
    bulk(out, key);
  }

  void encode_set(Buffer& out, std::string_view key, std::string_view value,
                  std::uint32_t /*id*/) const override {
    out.append("*3\r\n$3\r\nSET\r\n");
    bulk(out, key);
    bulk(out, value);
  }

  std::size_t request_size(Op op, std::size_t key_size, std::size_t value_size) const override {
    return op == Op::kGet ? 14 + 25 + key_size : 14 + 2 * 25 + key_size + value_size;
  }

  Reply parse(std::string_view in, Op op, std::string_view /*key*/, std::uint32_t /*id*/) const override {
    bool too_long = false;
    const std::size_t n = line_length(in, too_long);
    if (n == std::string_view::npos)
      return too_long ? bad("reply line too long or not CRLF-terminated") : incomplete();
    const std::string_view line = in.substr(0, n);
    if (line.empty()) return bad("empty reply line");
    switch (line[0]) {
      case '-':
        return {ReplyStatus::kError, n + 2, {}, line};
      case '+':
        if (op == Op::kSet && line == "+OK") return {ReplyStatus::kStored, n + 2, {}, {}};
        return bad(line);
      case '_':
        if (op == Op::kGet && line == "_") return {ReplyStatus::kMiss, n + 2, {}, {}};
        return bad(line);
      case '$': {
        if (op != Op::kGet) return bad(line);
        if (line == "$-1") return {ReplyStatus::kMiss, n + 2, {}, {}};
        std::uint64_t bytes = 0;
        if (!parse_u64(line.substr(1), bytes) || bytes > kMaxValueBytes) return bad(line);
        const std::size_t data_at = n + 2;
        const std::size_t end_at = data_at + bytes;
        if (in.size() < end_at + 2) return incomplete();
        if (in.substr(end_at, 2) != "\r\n") return bad("bulk string not followed by CRLF");
        return {ReplyStatus::kHit, end_at + 2, in.substr(data_at, bytes), {}};
      }
      default:
        return bad(line);
    }
  }

 private:
  static void bulk(Buffer& out, std::string_view s) {
    out.push_back('$');
    out.append_uint(s.size());
    out.append("\r\n");
    out.append(s);
    out.append("\r\n");
  }
};

}  // namespace

std::unique_ptr<Codec> make_memcache_codec() { return std::make_unique<MemcacheCodec>(); }
std::unique_ptr<Codec> make_resp_codec() { return std::make_unique<RespCodec>(); }

}  // namespace ferrite::bench
