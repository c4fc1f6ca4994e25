// A hash encoded in one value (see hash_value.h).
#include "store/hash_value.h"

#include <cstring>

#include "core/hash.h"

namespace ferrite::store::hash {

namespace {

// Reads a varint at in[*pos]; false if it runs past the end, is longer than 5 bytes, is not in
// its shortest form or does not fit in 32 bits.
bool get_varint(std::string_view in, std::size_t* pos, std::uint32_t* out) noexcept {
  std::uint64_t v = 0;
  std::size_t p = *pos;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    if (p >= in.size()) return false;
    const auto b = static_cast<std::uint8_t>(in[p++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      // Canonical only (no trailing zero groups), and 32 bits: one encoding per hash.
      if (v > 0xFFFFFFFFu || (b == 0 && shift != 0)) return false;
      *pos = p;
      *out = static_cast<std::uint32_t>(v);
      return true;
    }
  }
  return false;
}

std::size_t varint_size(std::size_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void append_varint(std::string& out, std::size_t v) {
  char buf[kMaxVarint];
  out.append(buf, put_varint(static_cast<std::uint32_t>(v), buf));
}

void append_pair(std::string& out, std::string_view f, std::string_view v) {
  append_varint(out, f.size());
  out.append(f);
  append_varint(out, v.size());
  out.append(v);
}

std::size_t pair_size(std::string_view f, std::string_view v) noexcept {
  return varint_size(f.size()) + f.size() + varint_size(v.size()) + v.size();
}

// Field equality: length, then the last byte (fields often share a prefix: "f1", "f2"), then the
// rest.
inline bool same(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && (a.empty() || (a.back() == b.back() && std::memcmp(a.data(), b.data(), a.size()) == 0));
}

// An index over a small set of strings: linear for a few, open addressing beyond.
constexpr std::size_t kLinearMax = 16;
constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

template <typename Get>
class FieldIndex {
 public:
  FieldIndex(std::size_t n, Get get, std::vector<std::uint32_t>& table) : n_(n), get_(get), table_(table) {
    if (n_ <= kLinearMax) return;
    std::size_t cap = 16;
    while (cap < n_ * 2) cap <<= 1;
    mask_ = cap - 1;
    table_.assign(cap, kEmpty);
    for (std::size_t i = 0; i < n_; ++i) {  // a later duplicate replaces the earlier one
      const std::string_view f = get_(i);
      for (std::size_t h = hash_key(f) & mask_;; h = (h + 1) & mask_) {
        if (table_[h] == kEmpty || same(get_(table_[h]), f)) {
          table_[h] = static_cast<std::uint32_t>(i);
          break;
        }
      }
    }
  }
  // The last index whose string equals f, or kEmpty.
  std::uint32_t find(std::string_view f) const noexcept {
    if (n_ <= kLinearMax) {
      for (std::size_t i = n_; i-- > 0;) {
        if (same(get_(i), f)) return static_cast<std::uint32_t>(i);
      }
      return kEmpty;
    }
    for (std::size_t h = hash_key(f) & mask_;; h = (h + 1) & mask_) {
      const std::uint32_t i = table_[h];
      if (i == kEmpty || same(get_(i), f)) return i;
    }
  }

 private:
  std::size_t n_;
  Get get_;
  std::vector<std::uint32_t>& table_;
  std::size_t mask_ = 0;
};

}  // namespace

std::size_t put_varint(std::uint32_t v, char* out) noexcept {
  std::size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  return n;
}

Reader::Reader(std::string_view encoded) noexcept : in_(encoded) {
  if (!get_varint(in_, &pos_, &count_)) {
    ok_ = false;
    count_ = 0;
  }
}

bool Reader::next(Pair* out) noexcept {
  if (!ok_ || seen_ == count_) return false;
  std::size_t p = pos_;
  std::uint32_t fl = 0, vl = 0;
  if (p >= in_.size()) {
    ok_ = false;
    return false;
  }
  if (!get_varint(in_, &p, &fl) || fl > in_.size() - p) {
    ok_ = false;
    return false;
  }
  const std::string_view f = in_.substr(p, fl);
  p += fl;
  if (!get_varint(in_, &p, &vl) || vl > in_.size() - p) {
    ok_ = false;
    return false;
  }
  out->field = f;
  out->value = in_.substr(p, vl);
  pos_ = p + vl;
  ++seen_;
  return true;
}

bool validate(std::string_view encoded) noexcept {
  Reader r(encoded);
  if (!r.ok()) return false;
  std::uint32_t n = 0;
  Pair p;
  // Duplicates: checked pairwise among the first kMaxCheckedFields (O(n^2) bounded).
  while (r.next(&p)) {
    if (n < kMaxCheckedFields) {
      Reader again(encoded);
      Pair q;
      for (std::uint32_t i = 0; i < n && again.next(&q); ++i) {
        if (q.field == p.field) return false;
      }
    }
    ++n;
  }
  return r.ok() && n == r.count() && r.offset() == encoded.size();
}

std::uint32_t count(std::string_view encoded) noexcept { return Reader(encoded).count(); }

bool find(std::string_view encoded, std::string_view field, std::string_view* value) noexcept {
  Reader r(encoded);
  Pair p;
  while (r.next(&p)) {
    if (same(p.field, field)) {
      *value = p.value;
      return true;
    }
  }
  return false;
}

std::size_t set(std::string_view old, std::span<const Pair> pairs, Scratch& s) {
  const std::size_t m = pairs.size();
  auto get = [&](std::size_t i) { return pairs[i].field; };
  const FieldIndex<decltype(get)> idx(m, get, s.index);
  // marks[i]: 1 = pair i is the last of its field (the one that counts); 2 = and the field was
  // found in `old`.
  s.marks.assign(m, 0);
  for (std::size_t i = 0; i < m; ++i) {
    if (idx.find(pairs[i].field) == i) s.marks[i] = 1;
  }
  Reader r(old);
  std::size_t size = 0, n = 0;
  Pair p;
  s.matches.clear();
  if (!old.empty()) {
    while (r.next(&p)) {
      const std::uint32_t j = idx.find(p.field);
      s.matches.push_back(j);
      if (j != kEmpty) {
        s.marks[j] = 2;
        size += pair_size(p.field, pairs[j].value);
      } else {
        size += pair_size(p.field, p.value);
      }
      ++n;
    }
  }
  std::size_t added = 0;
  for (std::size_t i = 0; i < m; ++i) {
    if (s.marks[i] == 1) {
      ++added;
      size += pair_size(pairs[i].field, pairs[i].value);
    }
  }
  n += added;
  s.out.clear();
  s.out.reserve(kMaxVarint + size);
  append_varint(s.out, n);
  if (!old.empty()) {
    Reader again(old);
    for (std::size_t k = 0; k < s.matches.size() && again.next(&p); ++k) {
      const std::uint32_t j = s.matches[k];
      append_pair(s.out, p.field, j != kEmpty ? pairs[j].value : p.value);
    }
  }
  for (std::size_t i = 0; i < m; ++i) {
    if (s.marks[i] == 1) append_pair(s.out, pairs[i].field, pairs[i].value);
  }
  return added;
}

std::size_t del(std::string_view old, std::span<const std::string_view> fields, Scratch& s) {
  auto get = [&](std::size_t i) { return fields[i]; };
  const FieldIndex<decltype(get)> idx(fields.size(), get, s.index);
  Reader r(old);
  Pair p;
  std::size_t removed = 0, kept = 0, size = 0;
  while (r.next(&p)) {
    if (idx.find(p.field) != kEmpty) {
      ++removed;
    } else {
      ++kept;
      size += pair_size(p.field, p.value);
    }
  }
  if (removed == 0) return 0;
  s.out.clear();
  s.out.reserve(kMaxVarint + size);
  append_varint(s.out, kept);
  Reader again(old);
  while (again.next(&p)) {
    if (idx.find(p.field) == kEmpty) append_pair(s.out, p.field, p.value);
  }
  return removed;
}

bool index_pairs(std::string_view encoded, Scratch& s) {
  Reader r(encoded);
  s.offsets.clear();
  Pair p;
  for (std::size_t at = r.offset(); r.next(&p); at = r.offset()) s.offsets.push_back(static_cast<std::uint32_t>(at));
  return r.ok();
}

}  // namespace ferrite::store::hash
