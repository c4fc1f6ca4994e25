#include "proto/binary/codec.h"

#include <cstring>

namespace ferrite::proto::binary {

std::string_view opcode_name(Opcode op) noexcept {
  switch (op) {
    case Opcode::kGet:
      return "GET";
    case Opcode::kSet:
      return "SET";
    case Opcode::kAdd:
      return "ADD";
    case Opcode::kReplace:
      return "REPLACE";
    case Opcode::kDelete:
      return "DELETE";
    case Opcode::kIncr:
      return "INCR";
    case Opcode::kDecr:
      return "DECR";
    case Opcode::kTouch:
      return "TOUCH";
    case Opcode::kNoop:
      return "NOOP";
    case Opcode::kStats:
      return "STATS";
  }
  return "UNKNOWN";
}

std::string_view status_name(Status s) noexcept {
  switch (s) {
    case Status::kOk:
      return "OK";
    case Status::kNotFound:
      return "NOT_FOUND";
    case Status::kExists:
      return "EXISTS";
    case Status::kNotStored:
      return "NOT_STORED";
    case Status::kTooLarge:
      return "TOO_LARGE";
    case Status::kNonNumeric:
      return "NON_NUMERIC";
    case Status::kKeyTooLong:
      return "KEY_TOO_LONG";
    case Status::kBadRequest:
      return "BAD_REQUEST";
    case Status::kUnknownOpcode:
      return "UNKNOWN_OPCODE";
    case Status::kNoMemory:
      return "OUT_OF_MEMORY";
    case Status::kBadVersion:
      return "BAD_VERSION";
    case Status::kWrongType:
      return "WRONG_TYPE";
    case Status::kLoading:
      return "LOADING";
    case Status::kWriteFailed:
      return "WRITE_FAILED";
  }
  return "UNKNOWN";
}

void encode_header(const Header& h, char* out) noexcept {
  out[0] = static_cast<char>(h.magic);
  out[1] = static_cast<char>(h.version);
  out[2] = static_cast<char>(h.opcode);
  out[3] = static_cast<char>(h.flags);
  store_be16(out + offsetof(WireHeader, key_length), h.key_length);
  store_be16(out + offsetof(WireHeader, status), h.status);
  store_be32(out + offsetof(WireHeader, value_length), h.value_length);
  store_be32(out + offsetof(WireHeader, ttl), h.ttl);
  store_be32(out + offsetof(WireHeader, request_id), h.request_id);
  store_be32(out + offsetof(WireHeader, client_flags), h.client_flags);
  store_be64(out + offsetof(WireHeader, cas), h.cas);
}

Header read_header(const char* in) noexcept {
  Header h;
  h.magic = static_cast<std::uint8_t>(in[0]);
  h.version = static_cast<std::uint8_t>(in[1]);
  h.opcode = static_cast<std::uint8_t>(in[2]);
  h.flags = static_cast<std::uint8_t>(in[3]);
  h.key_length = load_be16(in + offsetof(WireHeader, key_length));
  h.status = load_be16(in + offsetof(WireHeader, status));
  h.value_length = load_be32(in + offsetof(WireHeader, value_length));
  h.ttl = load_be32(in + offsetof(WireHeader, ttl));
  h.request_id = load_be32(in + offsetof(WireHeader, request_id));
  h.client_flags = load_be32(in + offsetof(WireHeader, client_flags));
  h.cas = load_be64(in + offsetof(WireHeader, cas));
  return h;
}

DecodeResult decode_header(std::string_view in, std::uint8_t magic, Header* out) noexcept {
  if (!in.empty() && static_cast<std::uint8_t>(in[0]) != magic) return {DecodeStatus::kBadMagic, 0};
  if (in.size() >= 2 && static_cast<std::uint8_t>(in[1]) != kVersion) return {DecodeStatus::kBadVersion, 0};
  if (in.size() < kHeaderSize) return {DecodeStatus::kNeedMore, kHeaderSize};
  *out = read_header(in.data());
  return {DecodeStatus::kOk, out->message_size()};
}

namespace {

bool encode_message(Buffer& out, const Header& h, std::string_view key, std::string_view value) {
  if (key.size() > kMaxKeyLength || value.size() > 0xFFFFFFFFu) return false;
  char* p = out.prepare(kHeaderSize + key.size() + value.size());
  encode_header(h, p);
  if (!key.empty()) std::memcpy(p + kHeaderSize, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + kHeaderSize + key.size(), value.data(), value.size());
  out.advance(kHeaderSize + key.size() + value.size());
  return true;
}

Header reply_header(const Reply& r, std::size_t key_length, std::size_t value_length) noexcept {
  Header h;
  h.magic = kReplyMagic;
  h.version = r.version;
  h.opcode = static_cast<std::uint8_t>(r.opcode);
  h.flags = r.flags;
  h.key_length = static_cast<std::uint16_t>(key_length);
  h.status = static_cast<std::uint16_t>(r.status);
  h.value_length = static_cast<std::uint32_t>(value_length);
  h.ttl = r.ttl;
  h.request_id = r.request_id;
  h.client_flags = r.client_flags;
  h.cas = r.cas;
  return h;
}

}  // namespace

bool encode_request(Buffer& out, const Request& r) {
  Header h;
  h.magic = kRequestMagic;
  h.opcode = static_cast<std::uint8_t>(r.opcode);
  h.flags = r.flags;
  h.key_length = static_cast<std::uint16_t>(r.key.size());
  h.status = r.reserved;
  h.value_length = static_cast<std::uint32_t>(r.value.size());
  h.ttl = r.ttl;
  h.request_id = r.request_id;
  h.client_flags = r.client_flags;
  h.cas = r.cas;
  return encode_message(out, h, r.key, r.value);
}

bool encode_reply(Buffer& out, const Reply& r) {
  return encode_message(out, reply_header(r, r.key.size(), r.value.size()), r.key, r.value);
}

DecodeResult decode_request(std::string_view in, Request* out) noexcept {
  Header h;
  const DecodeResult d = decode_header(in, kRequestMagic, &h);
  if (!d.ok()) return d;
  if (in.size() < d.size) return {DecodeStatus::kNeedMore, d.size};
  out->opcode = static_cast<Opcode>(h.opcode);
  out->flags = h.flags;
  out->ttl = h.ttl;
  out->request_id = h.request_id;
  out->client_flags = h.client_flags;
  out->cas = h.cas;
  out->reserved = h.status;
  out->key = in.substr(kHeaderSize, h.key_length);
  out->value = in.substr(kHeaderSize + h.key_length, h.value_length);
  return d;
}

DecodeResult decode_reply(std::string_view in, Reply* out) noexcept {
  Header h;
  const DecodeResult d = decode_header(in, kReplyMagic, &h);
  if (!d.ok()) return d;
  if (in.size() < d.size) return {DecodeStatus::kNeedMore, d.size};
  out->opcode = static_cast<Opcode>(h.opcode);
  out->flags = h.flags;
  out->status = static_cast<Status>(h.status);
  out->ttl = h.ttl;
  out->request_id = h.request_id;
  out->client_flags = h.client_flags;
  out->cas = h.cas;
  out->version = h.version;
  out->key = in.substr(kHeaderSize, h.key_length);
  out->value = in.substr(kHeaderSize + h.key_length, h.value_length);
  return d;
}

std::size_t begin_reply(Buffer& out, const Reply& r) {
  const std::size_t start = out.size();
  encode_message(out, reply_header(r, r.key.size(), 0), r.key, {});
  return start;
}

void finish_reply(Buffer& out, std::size_t start) noexcept {
  char* h = out.data() + start;
  const std::size_t value_length =
      out.size() - start - kHeaderSize - load_be16(h + offsetof(WireHeader, key_length));
  store_be32(h + offsetof(WireHeader, value_length), static_cast<std::uint32_t>(value_length));
}

std::size_t encode_arith(const Arith& a, char* out) noexcept {
  store_be64(out, a.delta);
  if (!a.has_initial) return kArithSize;
  store_be64(out + 8, a.initial);
  return kArithWithInitialSize;
}

bool decode_arith(std::string_view value, Arith* out) noexcept {
  if (value.size() != kArithSize && value.size() != kArithWithInitialSize) return false;
  out->delta = load_be64(value.data());
  out->has_initial = value.size() == kArithWithInitialSize;
  out->initial = out->has_initial ? load_be64(value.data() + 8) : 0;
  return true;
}

void encode_counter(std::uint64_t value, char* out) noexcept { store_be64(out, value); }

bool decode_counter(std::string_view value, std::uint64_t* out) noexcept {
  if (value.size() != 8) return false;
  *out = load_be64(value.data());
  return true;
}

void append_stat(Buffer& out, std::string_view name, std::string_view value) {
  const std::size_t n = name.size() > 0xFFFF ? 0xFFFF : name.size();
  const std::size_t v = value.size() > 0xFFFF ? 0xFFFF : value.size();
  out.append_be16(static_cast<std::uint16_t>(n));
  out.append(name.data(), n);
  out.append_be16(static_cast<std::uint16_t>(v));
  out.append(value.data(), v);
}

bool StatsReader::next(std::string_view* name, std::string_view* value) noexcept {
  if (rest_.empty() || error_) return false;
  const auto field = [this](std::string_view* f) {
    if (rest_.size() < 2) return false;
    const std::size_t n = load_be16(rest_.data());
    if (rest_.size() - 2 < n) return false;
    *f = rest_.substr(2, n);
    rest_.remove_prefix(2 + n);
    return true;
  };
  if (!field(name) || !field(value)) {
    error_ = true;
    rest_ = {};
    return false;
  }
  return true;
}

}  // namespace ferrite::proto::binary
