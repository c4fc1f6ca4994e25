// An item: one key and its value, in one allocation from the store's mimalloc arena.
//
// Layout (8-byte aligned; all integers little-endian, host order):
//
//   offset size  field     meaning                                            mutability
//   0      7     version   56-bit version: CAS unique today, room for an HLC  immutable
//   7      1     access    CLOCK reference bit, or LFU log counter            relaxed atomic
//   8      4     expiry    0 = never; else an encoded deadline (see below)    relaxed atomic
//   12     4     shape     bit 31: has flags; bit 30: long lengths;            immutable
//                          short form: key_len in bits 22..29,
//                                      value_len in bits 0..21 (< 4 MiB)
//   16     8     [long]    u32 value_len, u16 key_len, u16 type               immutable
//   ..     4     [flags]   the client's 32-bit flags, present only when != 0  immutable
//   ..           key bytes, then value bytes
//
// Type: what the value holds (ItemType). A string item (type 0) takes whichever form its lengths
// allow; an item of any other type (a hash: its value is the encoding of src/store/hash_value.h)
// always takes the long form and keeps its type in the long form's u16, so the common string
// item stays 16 bytes and type() is one branch. Every copy of an item (move_block) copies the
// long form whole, type included.
//
// The common item (key < 256 bytes, value < 4 MiB, flags 0) pays 16 bytes of header. With the
// table's 6.4 bytes per slot, a 16-byte key and 32-byte value cost 64 bytes of item (exactly a
// mimalloc size class) plus about 7 bytes of table: 23 bytes of overhead where memcached pays 56.
//
// Items are immutable once published in the table, except for `access` (readers mark hits) and
// `expiry` (touch). Every other change builds a new item and swaps the table's reference, so
// lock-free readers always see a whole item; the old one is freed after a QSBR grace period.
//
// Expiry encoding: bit 31 clear: a deadline in milliseconds on the store clock (up to ~24 days
// ahead of the store's start); bit 31 set: in seconds (up to ~68 years). An item is expired when
// now_ms >= deadline_ms, the boundary memcached uses.
//
// Version: the low 6 bits are the writing context's id, so two contexts never issue the same
// version; above them a per-context counter kept strictly increasing per key (a new version is
// always greater than the one it replaces). 56 bits are wide enough for a hybrid logical clock
// (40-bit milliseconds + 10-bit logical + 6-bit node-local writer) when replication needs one.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ferrite::store {

inline constexpr std::uint64_t kVersionMask = (std::uint64_t{1} << 56) - 1;
inline constexpr std::uint32_t kShapeHasFlags = 1u << 31;
inline constexpr std::uint32_t kShapeLong = 1u << 30;
inline constexpr std::uint32_t kShortKeyMax = 255;
inline constexpr std::uint32_t kShortValueMax = (1u << 22) - 1;
inline constexpr std::uint32_t kExpirySeconds = 1u << 31;

// What an item's value holds. Stored in the item (see above); never changes while it is linked.
enum class ItemType : std::uint16_t { kString = 0, kHash = 1 };

// "string", "hash" (Redis's TYPE names); "unknown" for a value outside the enum.
inline const char* type_name(ItemType t) noexcept {
  switch (t) {
    case ItemType::kString: return "string";
    case ItemType::kHash: return "hash";
  }
  return "unknown";
}

struct Item {
  std::uint8_t version_bytes[7];
  std::uint8_t access;
  std::uint32_t expiry;
  std::uint32_t shape;

  // Bytes an item with these lengths needs (before the allocator rounds it up).
  static std::size_t footprint(std::size_t key_len, std::size_t value_len, std::uint32_t flags,
                               ItemType type = ItemType::kString) noexcept {
    const bool is_long = key_len > kShortKeyMax || value_len > kShortValueMax || type != ItemType::kString;
    return sizeof(Item) + (is_long ? 8 : 0) + (flags != 0 ? 4 : 0) + key_len + value_len;
  }

  // Lays out a fresh item in `mem` (at least footprint() bytes); the caller fills the value.
  static Item* init(void* mem, std::string_view key, std::size_t value_len, std::uint32_t flags,
                    std::uint64_t version, std::uint32_t expiry_code, std::uint8_t access0,
                    ItemType type = ItemType::kString) noexcept {
    auto* it = static_cast<Item*>(mem);
    it->set_version(version);
    it->access = access0;
    it->expiry = expiry_code;
    const bool is_long = key.size() > kShortKeyMax || value_len > kShortValueMax || type != ItemType::kString;
    std::uint32_t shape = flags != 0 ? kShapeHasFlags : 0;
    char* p = reinterpret_cast<char*>(it + 1);
    if (is_long) {
      shape |= kShapeLong;
      const auto vlen = static_cast<std::uint32_t>(value_len);
      const auto klen = static_cast<std::uint16_t>(key.size());
      const auto t = static_cast<std::uint16_t>(type);
      std::memcpy(p, &vlen, 4);
      std::memcpy(p + 4, &klen, 2);
      std::memcpy(p + 6, &t, 2);
      p += 8;
    } else {
      shape |= (static_cast<std::uint32_t>(key.size()) << 22) | static_cast<std::uint32_t>(value_len);
    }
    it->shape = shape;
    if (flags != 0) {
      std::memcpy(p, &flags, 4);
      p += 4;
    }
    if (!key.empty()) std::memcpy(p, key.data(), key.size());
    return it;
  }

  std::uint64_t version() const noexcept {
    std::uint64_t v = 0;
    std::memcpy(&v, version_bytes, 7);
    return v;
  }
  void set_version(std::uint64_t v) noexcept { std::memcpy(version_bytes, &v, 7); }

  bool is_long() const noexcept { return (shape & kShapeLong) != 0; }
  bool has_flags() const noexcept { return (shape & kShapeHasFlags) != 0; }
  ItemType type() const noexcept {
    if (!is_long()) return ItemType::kString;
    std::uint16_t t;
    std::memcpy(&t, reinterpret_cast<const char*>(this + 1) + 6, 2);
    return static_cast<ItemType>(t);
  }

  std::uint32_t key_len() const noexcept {
    if (!is_long()) return (shape >> 22) & 0xFF;
    std::uint16_t k;
    std::memcpy(&k, reinterpret_cast<const char*>(this + 1) + 4, 2);
    return k;
  }
  std::uint32_t value_len() const noexcept {
    if (!is_long()) return shape & kShortValueMax;
    std::uint32_t v;
    std::memcpy(&v, reinterpret_cast<const char*>(this + 1), 4);
    return v;
  }
  std::uint32_t flags() const noexcept {
    if (!has_flags()) return 0;
    std::uint32_t f;
    std::memcpy(&f, reinterpret_cast<const char*>(this + 1) + (is_long() ? 8 : 0), 4);
    return f;
  }

  const char* key_data() const noexcept {
    return reinterpret_cast<const char*>(this + 1) + (is_long() ? 8 : 0) + (has_flags() ? 4 : 0);
  }
  std::string_view key() const noexcept { return {key_data(), key_len()}; }
  const char* value_data() const noexcept { return key_data() + key_len(); }
  char* value_data() noexcept { return const_cast<char*>(key_data()) + key_len(); }
  std::string_view value() const noexcept { return {value_data(), value_len()}; }

  // Relaxed atomic views of the two mutable fields.
  std::uint8_t load_access() const noexcept {
    return std::atomic_ref<std::uint8_t>(const_cast<std::uint8_t&>(access)).load(std::memory_order_relaxed);
  }
  void store_access(std::uint8_t v) noexcept {
    std::atomic_ref<std::uint8_t>(access).store(v, std::memory_order_relaxed);
  }
  std::uint32_t load_expiry() const noexcept {
    return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(expiry)).load(std::memory_order_relaxed);
  }
  void store_expiry(std::uint32_t v) noexcept {
    std::atomic_ref<std::uint32_t>(expiry).store(v, std::memory_order_relaxed);
  }
};

static_assert(sizeof(Item) == 16, "the item header is 16 bytes");
static_assert(alignof(Item) <= 8, "items are 8-byte aligned so that a 32-bit ref in 8-byte units reaches 32 GiB");
static_assert(offsetof(Item, access) == 7 && offsetof(Item, expiry) == 8 && offsetof(Item, shape) == 12);
static_assert(std::atomic_ref<std::uint8_t>::is_always_lock_free);
static_assert(std::atomic_ref<std::uint32_t>::is_always_lock_free);

// Expiry codes <-> deadlines in store milliseconds. Deadline 0 means "never".
inline std::uint32_t encode_expiry(std::uint64_t deadline_ms) noexcept {
  if (deadline_ms == 0) return 0;
  if (deadline_ms < kExpirySeconds) return static_cast<std::uint32_t>(deadline_ms);
  std::uint64_t secs = deadline_ms / 1000 + (deadline_ms % 1000 != 0);  // round up: never expire early
  if (secs >= kExpirySeconds) secs = kExpirySeconds - 1;
  return kExpirySeconds | static_cast<std::uint32_t>(secs);
}
inline std::uint64_t decode_expiry(std::uint32_t code) noexcept {
  if ((code & kExpirySeconds) == 0) return code;
  return static_cast<std::uint64_t>(code & ~kExpirySeconds) * 1000u;
}

}  // namespace ferrite::store
