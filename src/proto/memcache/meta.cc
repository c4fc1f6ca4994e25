#include "proto/memcache/meta.h"

#include "proto/memcache/text.h"

namespace ferrite::proto::memcache {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr int sextet(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

const char* parse_meta_flags(const std::string_view* flags, std::size_t n, std::string_view* key,
                             char* key_buf, MetaFlags* out) noexcept {
  bool seen[127] = {};
  bool has_error = false;
  const char* err = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view t = flags[i];
    const auto o = static_cast<unsigned char>(t[0]);
    if (o >= 127 || seen[o]) return "CLIENT_ERROR duplicate flag";
    seen[o] = true;
    const std::string_view arg = t.substr(1);
    switch (o) {
      case 'b': {
        out->b = true;
        std::size_t len = 0;
        if (!base64_decode(*key, key_buf, &len)) {
          err = "CLIENT_ERROR error decoding key";
          has_error = true;
        } else {
          *key = std::string_view(key_buf, len);
        }
        break;
      }
      case 'N':
        out->has_N = true;
        out->pos_N = static_cast<std::uint8_t>(i + 1);
        if (!parse_i32(arg, &out->vivify_ttl)) {
          err = "CLIENT_ERROR bad token in command line format";
          has_error = true;
        }
        break;
      case 'T':
        out->has_T = true;
        out->pos_T = static_cast<std::uint8_t>(i + 1);
        if (!parse_i32(arg, &out->ttl)) {
          err = "CLIENT_ERROR bad token in command line format";
          has_error = true;
        }
        break;
      case 'R':
        out->has_R = true;
        if (!parse_i32(arg, &out->recache_ttl)) {
          err = "CLIENT_ERROR bad token in command line format";
          has_error = true;
        }
        break;
      case 'O':
        out->has_O = true;
        out->opaque = t;
        break;
      case 'P':  // proxy hints, ignored by the server
      case 'L':
        break;
      case 'c':
        out->c = true;
        break;
      case 'f':
        out->f = true;
        break;
      case 'h':
        out->h = true;
        break;
      case 'k':
        out->k = true;
        break;
      case 'l':
        out->l = true;
        break;
      case 'q':
        out->q = true;
        break;
      case 's':
        out->s = true;
        break;
      case 't':
        out->t = true;
        break;
      case 'u':
        out->u = true;
        break;
      case 'v':
        out->v = true;
        break;
      case 'I':
        out->invalidate = true;
        break;
      case 'F':
        out->has_F = true;
        if (!parse_u32(arg, &out->client_flags)) has_error = true;  // memcached keeps the message
        break;
      case 'C':
        out->has_C = true;
        if (!parse_u64(arg, &out->cas)) {
          err = "CLIENT_ERROR bad token in command line format";
          has_error = true;
        }
        break;
      case 'M':
        out->has_M = true;
        if (t.size() != 2) {
          err = "CLIENT_ERROR incorrect length for M token";
          has_error = true;
        } else {
          out->mode = t[1];
        }
        break;
      case 'J':
        out->has_J = true;
        if (!parse_u64(arg, &out->initial)) {
          err = "CLIENT_ERROR invalid numeric initial value";
          has_error = true;
        }
        break;
      case 'D':
        out->has_D = true;
        if (!parse_u64(arg, &out->delta)) {
          err = "CLIENT_ERROR invalid numeric delta value";
          has_error = true;
        }
        break;
      default:
        return "CLIENT_ERROR invalid flag";
    }
  }
  if (!has_error) return nullptr;
  return err != nullptr ? err : "CLIENT_ERROR bad command line format";
}

bool base64_decode(std::string_view in, char* out, std::size_t* out_len) noexcept {
  if (in.empty() || in.size() % 4 != 0) return false;
  std::size_t o = 0;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int s[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        s[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;  // data after padding
      s[j] = sextet(c);
      if (s[j] < 0) return false;
    }
    const std::uint32_t v = static_cast<std::uint32_t>(s[0] << 18 | s[1] << 12 | s[2] << 6 | s[3]);
    out[o++] = static_cast<char>(v >> 16);
    if (pad < 2) out[o++] = static_cast<char>(v >> 8);
    if (pad < 1) out[o++] = static_cast<char>(v);
  }
  *out_len = o;
  return o > 0;
}

std::size_t base64_encode(std::string_view in, char* out) noexcept {
  std::size_t o = 0;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(in[k]));
  };
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out[o++] = kAlphabet[v >> 18 & 63];
    out[o++] = kAlphabet[v >> 12 & 63];
    out[o++] = kAlphabet[v >> 6 & 63];
    out[o++] = kAlphabet[v & 63];
  }
  const std::size_t left = in.size() - i;
  if (left > 0) {
    std::uint32_t v = byte(i) << 16;
    if (left == 2) v |= byte(i + 1) << 8;
    out[o++] = kAlphabet[v >> 18 & 63];
    out[o++] = kAlphabet[v >> 12 & 63];
    out[o++] = left == 2 ? kAlphabet[v >> 6 & 63] : '=';
    out[o++] = '=';
  }
  return o;
}

void append_meta_key(Buffer& out, std::string_view key, bool binary) {
  out.append(" k", 2);
  if (!binary) {
    out.append(key);
    return;
  }
  char* p = out.prepare(base64_encoded_size(key.size()));
  out.advance(base64_encode(key, p));
  out.append(" b", 2);
}

}  // namespace ferrite::proto::memcache
