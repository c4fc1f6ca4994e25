#include "persist/record.h"

#include <cstring>

#include "persist/crc32c.h"

namespace ferrite::persist {
namespace {

template <typename T>
char* put(char* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);  // little-endian hosts only (x86-64), as the format says
  return p + sizeof v;
}

template <typename T>
T get(const char* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

char* put_bytes(char* p, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

void seal(char* start, std::uint32_t crc_body) noexcept {
  // crc_body covers bytes 4.. (len, type, body), all written before it was computed.
  put<std::uint32_t>(start, crc_body);
}

}  // namespace

std::size_t record_size(const Record& r) noexcept {
  switch (r.type) {
    case RecordType::kSet: return set_record_size(r.key.size(), r.value.size());
    case RecordType::kDelete: return delete_record_size(r.key.size());
    case RecordType::kTouch: return touch_record_size(r.key.size());
    case RecordType::kFlush: return kFlushRecordSize;
  }
  return 0;
}

std::size_t encode_set_head(const Record& r, char* out, std::uint32_t* crc_so_far) noexcept {
  const std::size_t total = set_record_size(r.key.size(), r.value.size());
  char* p = out + 4;
  p = put<std::uint32_t>(p, static_cast<std::uint32_t>(total - kRecordHeader));
  p = put<std::uint8_t>(p, static_cast<std::uint8_t>(RecordType::kSet));
  p = put<std::uint8_t>(p, r.item_type);
  p = put<std::uint8_t>(p, 0);
  p = put<std::uint16_t>(p, static_cast<std::uint16_t>(r.key.size()));
  p = put<std::uint32_t>(p, r.flags);
  p = put<std::uint64_t>(p, r.version);
  p = put<std::uint64_t>(p, r.deadline_ms);
  p = put<std::uint32_t>(p, static_cast<std::uint32_t>(r.value.size()));
  p = put_bytes(p, r.key);
  *crc_so_far = crc32c(out + 4, static_cast<std::size_t>(p - (out + 4)));
  return static_cast<std::size_t>(p - out);
}

void finish_set(char* record_start, std::uint32_t crc_with_value) noexcept {
  put<std::uint32_t>(record_start, crc_with_value);
}

std::size_t encode(const Record& r, char* out) noexcept {
  const std::size_t total = record_size(r);
  if (r.type == RecordType::kSet) {
    std::uint32_t crc = 0;
    const std::size_t head = encode_set_head(r, out, &crc);
    put_bytes(out + head, r.value);
    finish_set(out, crc32c_extend(crc, r.value.data(), r.value.size()));
    return total;
  }
  char* p = out + 4;
  p = put<std::uint32_t>(p, static_cast<std::uint32_t>(total - kRecordHeader));
  p = put<std::uint8_t>(p, static_cast<std::uint8_t>(r.type));
  switch (r.type) {
    case RecordType::kDelete:
      p = put<std::uint64_t>(p, r.version);
      p = put<std::uint16_t>(p, static_cast<std::uint16_t>(r.key.size()));
      p = put_bytes(p, r.key);
      break;
    case RecordType::kTouch:
      p = put<std::uint64_t>(p, r.version);
      p = put<std::uint64_t>(p, r.deadline_ms);
      p = put<std::uint16_t>(p, static_cast<std::uint16_t>(r.key.size()));
      p = put_bytes(p, r.key);
      break;
    case RecordType::kFlush: p = put<std::uint64_t>(p, r.deadline_ms); break;
    case RecordType::kSet: break;  // above
  }
  seal(out, crc32c(out + 4, static_cast<std::size_t>(p - (out + 4))));
  return total;
}

const char* decode_status_name(DecodeStatus s) noexcept {
  switch (s) {
    case DecodeStatus::kOk: return "ok";
    case DecodeStatus::kShort: return "torn record (fewer bytes than its header announces)";
    case DecodeStatus::kBadLength: return "impossible record length or field";
    case DecodeStatus::kBadCrc: return "checksum mismatch";
    case DecodeStatus::kBadType: return "unknown record type";
  }
  return "unknown";
}

DecodeStatus decode(std::string_view in, Record* rec, std::size_t* used) noexcept {
  if (in.size() < kRecordHeader) return DecodeStatus::kShort;
  const char* p = in.data();
  const auto crc = get<std::uint32_t>(p);
  const auto len = get<std::uint32_t>(p + 4);
  if (len == 0 || len > kMaxBody) return DecodeStatus::kBadLength;
  if (in.size() - kRecordHeader < len) return DecodeStatus::kShort;
  if (crc32c(p + 4, 4 + std::size_t{len}) != crc) return DecodeStatus::kBadCrc;
  const char* b = p + kRecordHeader;
  const char* end = b + len;
  Record r;
  r.type = static_cast<RecordType>(static_cast<std::uint8_t>(*b));
  ++b;
  auto need = [&](std::size_t n) { return static_cast<std::size_t>(end - b) >= n; };
  switch (r.type) {
    case RecordType::kSet: {
      if (!need(kSetFixed - 1)) return DecodeStatus::kBadLength;
      r.item_type = get<std::uint8_t>(b);
      if (get<std::uint8_t>(b + 1) != 0) return DecodeStatus::kBadLength;  // the reserved byte
      const auto klen = get<std::uint16_t>(b + 2);
      r.flags = get<std::uint32_t>(b + 4);
      r.version = get<std::uint64_t>(b + 8);
      r.deadline_ms = get<std::uint64_t>(b + 16);
      const auto vlen = get<std::uint32_t>(b + 24);
      b += kSetFixed - 1;
      if (klen == 0 || static_cast<std::size_t>(end - b) != std::size_t{klen} + vlen) return DecodeStatus::kBadLength;
      r.key = {b, klen};
      r.value = {b + klen, vlen};
      break;
    }
    case RecordType::kDelete: {
      if (!need(10)) return DecodeStatus::kBadLength;
      r.version = get<std::uint64_t>(b);
      const auto klen = get<std::uint16_t>(b + 8);
      b += 10;
      if (klen == 0 || static_cast<std::size_t>(end - b) != klen) return DecodeStatus::kBadLength;
      r.key = {b, klen};
      break;
    }
    case RecordType::kTouch: {
      if (!need(18)) return DecodeStatus::kBadLength;
      r.version = get<std::uint64_t>(b);
      r.deadline_ms = get<std::uint64_t>(b + 8);
      const auto klen = get<std::uint16_t>(b + 16);
      b += 18;
      if (klen == 0 || static_cast<std::size_t>(end - b) != klen) return DecodeStatus::kBadLength;
      r.key = {b, klen};
      break;
    }
    case RecordType::kFlush:
      if (static_cast<std::size_t>(end - b) != 8) return DecodeStatus::kBadLength;
      r.deadline_ms = get<std::uint64_t>(b);
      break;
    default: return DecodeStatus::kBadType;
  }
  *rec = r;
  *used = kRecordHeader + len;
  return DecodeStatus::kOk;
}

}  // namespace ferrite::persist
