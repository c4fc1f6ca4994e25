// RESP reply encoder for both protocol versions. The session picks the version (HELLO); each
// method writes the RESP3 type or its RESP2 equivalent, as redis-server does:
//
//   type            RESP3                 RESP2
//   null            _                     $-1 (null bulk) / *-1 (null array)
//   map of n pairs  %n, then 2n elements  *2n, the same elements flattened
//   set of n        ~n                    *n
//   double          ,1.5                  $3 1.5 (bulk)
//   boolean         #t / #f               :1 / :0
//   verbatim text   =len txt:...          $len ... (bulk)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"

namespace ferrite::proto::resp {

class Writer {
 public:
  Writer(Buffer& out, int version) noexcept : out_(&out), resp3_(version == 3) {}

  Buffer& buffer() noexcept { return *out_; }
  bool resp3() const noexcept { return resp3_; }

  // +text (the text must not hold CR or LF).
  void simple(std::string_view s) {
    char* p = out_->prepare(s.size() + 3);
    p[0] = '+';
    copy(p + 1, s);
    p[s.size() + 1] = '\r';
    p[s.size() + 2] = '\n';
    out_->advance(s.size() + 3);
  }
  // -message: `message` starts with the error code ("ERR ...", "WRONGPASS ..."). User input quoted
  // in it is made safe as Redis does: CR and LF become spaces, and a NUL ends the message (Redis
  // formats its errors as C strings).
  void error(std::string_view message);
  void integer(std::int64_t v) {
    out_->push_back(':');
    out_->append_int(v);
    crlf();
  }
  void bulk(std::string_view s) {
    header('$', s.size());
    char* p = out_->prepare(s.size() + 2);
    copy(p, s);
    p[s.size()] = '\r';
    p[s.size() + 1] = '\n';
    out_->advance(s.size() + 2);
  }
  void null() { out_->append(resp3_ ? std::string_view("_\r\n") : std::string_view("$-1\r\n")); }
  void null_array() { out_->append(resp3_ ? std::string_view("_\r\n") : std::string_view("*-1\r\n")); }
  void array(std::size_t n) { header('*', n); }
  void map(std::size_t pairs) {
    if (resp3_) {
      header('%', pairs);
    } else {
      header('*', pairs * 2);
    }
  }
  void set(std::size_t n) { header(resp3_ ? '~' : '*', n); }
  void boolean(bool b);
  void dbl(double v);
  // Text with a format tag ("txt"), such as INFO; a bulk string in RESP2.
  void verbatim(std::string_view format, std::string_view text);

  void header(char type, std::size_t n) {
    out_->push_back(type);
    out_->append_uint(n);
    crlf();
  }

 private:
  void crlf() {
    char* p = out_->prepare(2);
    p[0] = '\r';
    p[1] = '\n';
    out_->advance(2);
  }
  static void copy(char* dst, std::string_view s) noexcept {
    if (!s.empty()) __builtin_memcpy(dst, s.data(), s.size());
  }

  Buffer* out_;
  bool resp3_;
};

}  // namespace ferrite::proto::resp
