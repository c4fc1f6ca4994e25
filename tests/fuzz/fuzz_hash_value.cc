// Fuzz target for the hash encoding (store/hash_value.h). Two halves, by the first byte:
//   - decode: the input as an encoding. Reading it, finding a field, validating it, indexing it
//     and rebuilding from it never read out of bounds (ASan) nor crash; whatever validate()
//     accepts reads back as exactly count() pairs and survives a rebuild unchanged.
//   - build: the input as a script of HSET/HDEL steps on a model (std::map): after each step
//     the encoding validates and decodes to the model.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "store/hash_value.h"

namespace {

namespace hash = ferrite::store::hash;

void check(bool ok) {
  if (!ok) std::abort();
}

void decode_half(std::string_view in) {
  hash::Scratch s;
  hash::Reader r(in);
  hash::Pair p;
  std::size_t n = 0;
  std::vector<hash::Pair> pairs;
  while (r.next(&p)) {
    ++n;
    pairs.push_back(p);
  }
  std::string_view v;
  hash::find(in, "field", &v);
  hash::index_pairs(in, s);
  const bool valid = hash::validate(in);
  if (!valid || n > hash::kMaxCheckedFields) return;  // duplicates are checked that far
  check(n == hash::count(in));
  check(r.ok() && r.offset() == in.size());
  // Rebuilding a valid hash with its own pairs changes nothing.
  const std::string copy(in);
  check(hash::set(copy, pairs, s) == 0);
  check(s.out == copy);
  for (const hash::Pair& q : pairs) {
    check(hash::find(copy, q.field, &v) && v == q.value);
  }
}

void build_half(std::string_view in) {
  hash::Scratch s;
  std::map<std::string, std::string> model;
  std::string enc;
  std::size_t pos = 0;
  auto take = [&](std::size_t max) {
    const std::size_t len = pos < in.size() ? static_cast<unsigned char>(in[pos++]) % (max + 1) : 0;
    const std::string_view t = in.substr(std::min(pos, in.size()), len);
    pos += t.size();
    return t;
  };
  while (pos < in.size()) {
    const auto op = static_cast<unsigned char>(in[pos++]);
    const std::size_t n = 1 + op % 40;  // both sides of the index's linear limit (16)
    std::vector<std::string> strings;
    for (std::size_t i = 0; i < 2 * n; ++i) strings.emplace_back(take(op & 0x80 ? 200 : 3));
    if ((op & 0x40) == 0) {
      std::vector<hash::Pair> pairs;
      std::size_t added = 0;
      for (std::size_t i = 0; i < n; ++i) {
        pairs.push_back({strings[2 * i], strings[2 * i + 1]});
        added += model.count(strings[2 * i]) == 0 && model.emplace(strings[2 * i], "").second;
        model[strings[2 * i]] = strings[2 * i + 1];
      }
      check(hash::set(enc, pairs, s) == added);
    } else {
      std::vector<std::string_view> fields(strings.begin(), strings.begin() + static_cast<long>(n));
      std::size_t removed = 0;
      for (const std::string_view f : fields) removed += model.erase(std::string(f));
      const std::size_t got = hash::del(enc, fields, s);
      check(got == removed);
      if (got == 0) continue;
    }
    enc = s.out;
    check(hash::validate(enc));
    std::map<std::string, std::string> back;
    hash::Reader r(enc);
    hash::Pair p;
    while (r.next(&p)) back.emplace(std::string(p.field), std::string(p.value));
    check(back == model);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    build_half(in);
  } else {
    decode_half(in);
  }
  return 0;
}
