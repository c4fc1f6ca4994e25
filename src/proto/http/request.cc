#include "proto/http/request.h"

#include <algorithm>
#include <cstring>

namespace ferrite::proto::http {
namespace {

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case-insensitive equality against a lower-case literal.
bool iequals(std::string_view s, std::string_view lower_literal) noexcept {
  if (s.size() != lower_literal.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_literal[i]) return false;
  }
  return true;
}

RequestReader& reader_of(http_parser* p) noexcept { return *static_cast<RequestReader*>(p->data); }

}  // namespace

std::string_view HeaderValue::value() const noexcept {
  std::string_view v(data, len);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

const http_parser_settings RequestReader::kSettings = {
    .on_message_begin = &RequestReader::on_message_begin,
    .on_url = &RequestReader::on_url,
    .on_status = nullptr,
    .on_header_field = &RequestReader::on_header_field,
    .on_header_value = &RequestReader::on_header_value,
    .on_headers_complete = &RequestReader::on_headers_complete,
    .on_body = &RequestReader::on_body,
    .on_message_complete = &RequestReader::on_message_complete,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
};

RequestReader::RequestReader() noexcept : parser_{} {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

ParseResult RequestReader::parse(std::string_view in) {
  // http_parser takes an empty input as the end of the stream; there is nothing to do anyway.
  if (failed_) return {Event::kError, 0};
  if (in.empty()) return {Event::kNeedMore, 0};
  event_ = Event::kNeedMore;
  const std::size_t n = http_parser_execute(&parser_, &kSettings, in.data(), in.size());
  const http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_PAUSED) {  // the callbacks pause at the head's and the message's end
    http_parser_pause(&parser_, 0);
    return {event_, n};
  }
  // Every byte is consumed unless something is wrong (the reader declines protocol upgrades, so
  // http_parser never stops early for one).
  if (err != HPE_OK || n != in.size()) {
    failed_ = true;
    return {Event::kError, n};
  }
  // The caller's input goes away after this call: keep what the body view points at.
  if (body_view_.data() != nullptr) {
    body_.append(body_view_);
    body_view_ = {};
  }
  return {Event::kNeedMore, n};
}

bool RequestReader::expects_continue() const noexcept {
  return expect_.present && !expect_.overflow && iequals(expect_.value(), "100-continue");
}

int RequestReader::error_status() const noexcept {
  switch (HTTP_PARSER_ERRNO(&parser_)) {
    case HPE_HEADER_OVERFLOW:
      return 431;
    case HPE_INVALID_TRANSFER_ENCODING:
      return 501;
    default:
      return 400;
  }
}

const char* RequestReader::error_text() const noexcept {
  const http_errno err = HTTP_PARSER_ERRNO(&parser_);
  if (err == HPE_OK) return "request stopped early";
  // http_parser reports a chunk size over 2^64 - 1 as HPE_INVALID_CONTENT_LENGTH ("invalid
  // character in content-length header"); past the head of a chunked message it can only be that.
  if (err == HPE_INVALID_CONTENT_LENGTH && head_done_ && chunked()) return "invalid chunk size: too large";
  return http_errno_description(err);
}

void RequestReader::begin_message() noexcept {
  in_message_ = true;
  head_done_ = false;
  in_value_ = false;
  field_len_ = 0;
  current_ = nullptr;
  url_.clear();
  url_too_long_ = false;
  ttl_ = {};
  expect_ = {};
  declared_length_ = 0;
  keep_body_ = false;
  body_too_large_ = false;
  body_limit_ = 0;
  body_size_ = 0;
  body_view_ = {};
  body_.clear();
  // One huge value should not pin its buffer to the connection for good.
  body_.shrink_to(kBodyKeepCapacity);
}

void RequestReader::add_body(const char* at, std::size_t n) {
  if (!keep_body_) return;
  if (n > body_limit_ - body_size_) {
    body_too_large_ = true;
    keep_body_ = false;
    body_view_ = {};
    body_.clear();
    return;
  }
  body_size_ += n;
  if (body_view_.data() == nullptr && body_.empty()) {
    body_view_ = {at, n};  // the common case: the whole body in one piece of input, no copy
    return;
  }
  if (body_view_.data() != nullptr) {
    body_.append(body_view_);
    body_view_ = {};
  }
  body_.append(at, n);
}

int RequestReader::on_message_begin(http_parser* p) {
  reader_of(p).begin_message();
  return 0;
}

int RequestReader::on_url(http_parser* p, const char* at, std::size_t n) {
  RequestReader& r = reader_of(p);
  if (r.url_too_long_) return 0;
  if (n > kMaxUrl - r.url_.size()) {
    r.url_too_long_ = true;
    r.url_.clear();
    return 0;
  }
  r.url_.append(at, n);
  return 0;
}

int RequestReader::on_header_field(http_parser* p, const char* at, std::size_t n) {
  RequestReader& r = reader_of(p);
  if (r.head_done_) return 0;  // chunked trailers: the head was already acted on
  if (r.in_value_) {           // a new field begins
    r.in_value_ = false;
    r.field_len_ = 0;
  }
  if (r.field_len_ > kMaxFieldName) return 0;
  if (n > kMaxFieldName - r.field_len_) {
    r.field_len_ = kMaxFieldName + 1;
    return 0;
  }
  std::memcpy(r.field_ + r.field_len_, at, n);
  r.field_len_ = static_cast<std::uint8_t>(r.field_len_ + n);
  return 0;
}

int RequestReader::on_header_value(http_parser* p, const char* at, std::size_t n) {
  RequestReader& r = reader_of(p);
  if (r.head_done_) return 0;
  if (!r.in_value_) {  // the first piece of this field's value: which field is it?
    r.in_value_ = true;
    r.current_ = nullptr;
    if (r.field_len_ <= kMaxFieldName) {
      const std::string_view name(r.field_, r.field_len_);
      if (iequals(name, "x-ttl")) {
        r.current_ = &r.ttl_;
      } else if (iequals(name, "expect")) {
        r.current_ = &r.expect_;
      }
    }
    if (r.current_ != nullptr) {
      *r.current_ = {};
      r.current_->present = true;
    }
  }
  HeaderValue* v = r.current_;
  if (v == nullptr || v->overflow) return 0;
  const std::size_t room = kMaxHeaderValue - v->len;
  const std::size_t take = std::min(room, n);
  std::memcpy(v->data + v->len, at, take);
  v->len = static_cast<std::uint8_t>(v->len + take);
  if (take < n) v->overflow = true;
  return 0;
}

int RequestReader::on_headers_complete(http_parser* p) {
  RequestReader& r = reader_of(p);
  r.head_done_ = true;
  r.declared_length_ = (p->flags & F_CONTENTLENGTH) != 0 ? p->content_length : 0;
  // Ferrite speaks HTTP/1.1 only: it declines Upgrade (h2c, websocket) by ignoring it, as RFC
  // 7230 6.7 allows, and treats CONNECT as an ordinary request (answered 405). Without this
  // http_parser would stop at the head and treat the rest of the stream as another protocol.
  p->upgrade = 0;
  r.event_ = Event::kHead;
  http_parser_pause(p, 1);
  return 0;
}

int RequestReader::on_body(http_parser* p, const char* at, std::size_t n) {
  reader_of(p).add_body(at, n);
  return 0;
}

int RequestReader::on_message_complete(http_parser* p) {
  RequestReader& r = reader_of(p);
  r.in_message_ = false;
  r.event_ = Event::kMessage;
  http_parser_pause(p, 1);
  return 0;
}

}  // namespace ferrite::proto::http
