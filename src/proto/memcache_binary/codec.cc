#include "proto/memcache_binary/codec.h"

namespace ferrite::proto::memcache_binary {

std::string_view status_message(Status s) noexcept {
  switch (s) {
    case Status::kSuccess:
      return "";
    case Status::kKeyNotFound:
      return "Not found";
    case Status::kKeyExists:
      return "Data exists for key.";
    case Status::kValueTooLarge:
      return "Too large.";
    case Status::kInvalidArguments:
      return "Invalid arguments";
    case Status::kItemNotStored:
      return "Not stored.";
    case Status::kNonNumeric:
      return "Non-numeric server-side value for incr or decr";
    case Status::kUnknownCommand:
      return "Unknown command";
    case Status::kOutOfMemory:
      return "Out of memory";
    case Status::kNotSupported:
      return "Not supported: the key holds a hash (WRONGTYPE)";
    case Status::kTemporaryFailure:
      return "Temporary failure";
  }
  return "Unknown error";
}

Header parse_header(std::string_view in) noexcept {
  const char* p = in.data();
  Header h;
  h.magic = static_cast<std::uint8_t>(p[0]);
  h.opcode = static_cast<std::uint8_t>(p[1]);
  h.key_len = load_be16(p + 2);
  h.extras_len = static_cast<std::uint8_t>(p[4]);
  h.data_type = static_cast<std::uint8_t>(p[5]);
  h.vbucket = load_be16(p + 6);
  h.body_len = load_be32(p + 8);
  h.opaque = load_be32(p + 12);
  h.cas = load_be64(p + 16);
  return h;
}

void append_header(Buffer& out, const Header& h) {
  char* o = out.prepare(kHeaderSize);
  o[0] = static_cast<char>(h.magic);
  o[1] = static_cast<char>(h.opcode);
  o[2] = static_cast<char>(h.key_len >> 8);
  o[3] = static_cast<char>(h.key_len);
  o[4] = static_cast<char>(h.extras_len);
  o[5] = static_cast<char>(h.data_type);
  o[6] = static_cast<char>(h.vbucket >> 8);
  o[7] = static_cast<char>(h.vbucket);
  for (int i = 0; i < 4; ++i) o[8 + i] = static_cast<char>(h.body_len >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) o[12 + i] = static_cast<char>(h.opaque >> (24 - 8 * i));
  for (int i = 0; i < 8; ++i) o[16 + i] = static_cast<char>(h.cas >> (56 - 8 * i));
  out.advance(kHeaderSize);
}

OpcodeInfo opcode_info(std::uint8_t opcode) noexcept {
  using O = Opcode;
  using C = Command;
  switch (static_cast<O>(opcode)) {
    case O::kGet:
      return {C::kGet, O::kGet, false, false};
    case O::kGetQ:
      return {C::kGet, O::kGet, true, false};
    case O::kGetK:
      return {C::kGet, O::kGetK, false, true};
    case O::kGetKQ:
      return {C::kGet, O::kGetK, true, true};
    case O::kSet:
      return {C::kStore, O::kSet, false, false};
    case O::kSetQ:
      return {C::kStore, O::kSet, true, false};
    case O::kAdd:
      return {C::kStore, O::kAdd, false, false};
    case O::kAddQ:
      return {C::kStore, O::kAdd, true, false};
    case O::kReplace:
      return {C::kStore, O::kReplace, false, false};
    case O::kReplaceQ:
      return {C::kStore, O::kReplace, true, false};
    case O::kAppend:
      return {C::kConcat, O::kAppend, false, false};
    case O::kAppendQ:
      return {C::kConcat, O::kAppend, true, false};
    case O::kPrepend:
      return {C::kConcat, O::kPrepend, false, false};
    case O::kPrependQ:
      return {C::kConcat, O::kPrepend, true, false};
    case O::kDelete:
      return {C::kDelete, O::kDelete, false, false};
    case O::kDeleteQ:
      return {C::kDelete, O::kDelete, true, false};
    case O::kIncrement:
      return {C::kArith, O::kIncrement, false, false};
    case O::kIncrementQ:
      return {C::kArith, O::kIncrement, true, false};
    case O::kDecrement:
      return {C::kArith, O::kDecrement, false, false};
    case O::kDecrementQ:
      return {C::kArith, O::kDecrement, true, false};
    case O::kTouch:
      return {C::kTouch, O::kTouch, false, false};
    case O::kGat:
      return {C::kGat, O::kGat, false, false};
    case O::kGatQ:
      return {C::kGat, O::kGat, true, false};
    case O::kGatK:
      return {C::kGat, O::kGatK, false, true};
    case O::kGatKQ:
      return {C::kGat, O::kGatK, true, true};
    case O::kFlush:
      return {C::kFlush, O::kFlush, false, false};
    case O::kFlushQ:
      return {C::kFlush, O::kFlush, true, false};
    case O::kNoop:
      return {C::kNoop, O::kNoop, false, false};
    case O::kVersion:
      return {C::kVersion, O::kVersion, false, false};
    case O::kStat:
      return {C::kStat, O::kStat, false, false};
    case O::kQuit:
      return {C::kQuit, O::kQuit, false, false};
    case O::kQuitQ:
      return {C::kQuit, O::kQuit, true, false};
    case O::kVerbosity:
      return {C::kVerbosity, O::kVerbosity, false, false};
  }
  return {};
}

Check check_request(const Header& h, std::size_t max_key) noexcept {
  const std::uint32_t key = h.key_len, ext = h.extras_len, body = h.body_len;
  if (key + ext > body) return Check::kBadLengths;
  if (key > max_key) return Check::kInvalid;
  const OpcodeInfo info = opcode_info(h.opcode);
  if (info.command == Command::kUnknown) return Check::kUnknownCommand;
  bool ok = false;
  switch (info.command) {
    case Command::kNoop:
    case Command::kVersion:
    case Command::kQuit:
      ok = ext == 0 && key == 0 && body == 0;
      break;
    case Command::kFlush:
      ok = key == 0 && body == ext && (ext == 0 || ext == 4);
      break;
    case Command::kStore:
      ok = ext == 8 && key != 0;
      break;
    case Command::kConcat:
      ok = ext == 0 && key != 0;
      break;
    case Command::kGet:
    case Command::kDelete:
      ok = ext == 0 && key != 0 && body == key;
      break;
    case Command::kArith:
      ok = ext == 20 && key != 0 && body == key + ext;
      break;
    case Command::kTouch:
    case Command::kGat:
      ok = ext == 4 && key != 0 && body == key + ext;
      break;
    case Command::kStat:
      ok = ext == 0 && body == key;
      break;
    case Command::kVerbosity:
      ok = ext == 4 && key == 0 && body == 4;
      break;
    case Command::kUnknown:
      break;
  }
  return ok ? Check::kOk : Check::kInvalid;
}

StoreExtras parse_store_extras(std::string_view extras) noexcept {
  return {load_be32(extras.data()), load_be32(extras.data() + 4)};
}

ArithExtras parse_arith_extras(std::string_view extras) noexcept {
  return {load_be64(extras.data()), load_be64(extras.data() + 8), load_be32(extras.data() + 16)};
}

std::uint32_t parse_u32_extras(std::string_view extras) noexcept { return load_be32(extras.data()); }

void append_response_header(Buffer& out, std::uint8_t opcode, Status status, std::uint8_t extras_len,
                            std::uint16_t key_len, std::uint32_t body_len, std::uint32_t opaque,
                            std::uint64_t cas) {
  Header h;
  h.magic = kResponseMagic;
  h.opcode = opcode;
  h.key_len = key_len;
  h.extras_len = extras_len;
  h.vbucket = static_cast<std::uint16_t>(status);
  h.body_len = body_len;
  h.opaque = opaque;
  h.cas = cas;
  append_header(out, h);
}

void append_response(Buffer& out, std::uint8_t opcode, Status status, std::uint32_t opaque, std::uint64_t cas,
                     std::string_view extras, std::string_view key, std::string_view value) {
  append_response_header(out, opcode, status, static_cast<std::uint8_t>(extras.size()),
                         static_cast<std::uint16_t>(key.size()),
                         static_cast<std::uint32_t>(extras.size() + key.size() + value.size()), opaque, cas);
  out.append(extras);
  out.append(key);
  out.append(value);
}

void append_error(Buffer& out, std::uint8_t opcode, Status status, std::uint32_t opaque) {
  append_response(out, opcode, status, opaque, 0, {}, {}, status_message(status));
}

void append_request(Buffer& out, std::uint8_t opcode, std::string_view extras, std::string_view key,
                    std::string_view value, std::uint32_t opaque, std::uint64_t cas) {
  Header h;
  h.magic = kRequestMagic;
  h.opcode = opcode;
  h.key_len = static_cast<std::uint16_t>(key.size());
  h.extras_len = static_cast<std::uint8_t>(extras.size());
  h.body_len = static_cast<std::uint32_t>(extras.size() + key.size() + value.size());
  h.opaque = opaque;
  h.cas = cas;
  append_header(out, h);
  out.append(extras);
  out.append(key);
  out.append(value);
}

}  // namespace ferrite::proto::memcache_binary
