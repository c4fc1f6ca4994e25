// Item layout (store/item.h) alone: init and accessors for the short and long forms, with and
// without flags, footprint(), and the expiry encoding. item.h is header-only, so this suite needs
// nothing but the header.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "store/item.h"

namespace ferrite::store {
namespace {

// An 8-byte-aligned buffer big enough for the item, with a guard pattern after it so that an
// init() writing past footprint() shows up.
class ItemBuffer {
 public:
  ItemBuffer(std::size_t footprint) : size_(footprint), words_((footprint + kGuard + 7) / 8) {
    std::memset(words_.data(), 0xCD, words_.size() * 8);
  }
  void* data() { return words_.data(); }
  bool guard_intact() const {
    const auto* bytes = reinterpret_cast<const unsigned char*>(words_.data());
    for (std::size_t i = size_; i < words_.size() * 8; ++i) {
      if (bytes[i] != 0xCD) return false;
    }
    return true;
  }

 private:
  static constexpr std::size_t kGuard = 32;
  std::size_t size_;
  std::vector<std::uint64_t> words_;
};

struct Built {
  std::unique_ptr<ItemBuffer> buf;
  Item* item;
};

Built build(std::string_view key, std::string_view value, std::uint32_t flags, std::uint64_t version,
            std::uint32_t expiry_code, std::uint8_t access0) {
  const std::size_t fp = Item::footprint(key.size(), value.size(), flags);
  auto buf = std::make_unique<ItemBuffer>(fp);
  Item* it = Item::init(buf->data(), key, value.size(), flags, version, expiry_code, access0);
  if (!value.empty()) std::memcpy(it->value_data(), value.data(), value.size());
  return {std::move(buf), it};
}

TEST(Item, HeaderIsSixteenBytes) {
  EXPECT_EQ(sizeof(Item), 16u);
  EXPECT_EQ(Item::footprint(0, 0, 0), 16u);
}

TEST(Item, FootprintShortForm) {
  EXPECT_EQ(Item::footprint(16, 32, 0), 16u + 16 + 32);  // the 64-byte common item
  EXPECT_EQ(Item::footprint(16, 32, 7), 16u + 4 + 16 + 32);
  EXPECT_EQ(Item::footprint(255, 0, 0), 16u + 255);
  EXPECT_EQ(Item::footprint(1, kShortValueMax, 0), 16u + 1 + kShortValueMax);
}

TEST(Item, FootprintLongForm) {
  // A key over 255 bytes or a value of 4 MiB or more needs the 8-byte length extension.
  EXPECT_EQ(Item::footprint(256, 10, 0), 16u + 8 + 256 + 10);
  EXPECT_EQ(Item::footprint(10, kShortValueMax + 1, 0), 16u + 8 + 10 + kShortValueMax + 1);
  EXPECT_EQ(Item::footprint(65535, 1, 0xFFFFFFFFu), 16u + 8 + 4 + 65535 + 1);
}

TEST(Item, ShortFormRoundTripWithoutFlags) {
  auto b = build("hello", "world!", 0, 42, 0, 0);
  const Item* it = b.item;
  EXPECT_FALSE(it->is_long());
  EXPECT_FALSE(it->has_flags());
  EXPECT_EQ(it->key(), "hello");
  EXPECT_EQ(it->value(), "world!");
  EXPECT_EQ(it->key_len(), 5u);
  EXPECT_EQ(it->value_len(), 6u);
  EXPECT_EQ(it->flags(), 0u);
  EXPECT_EQ(it->version(), 42u);
  EXPECT_EQ(it->load_expiry(), 0u);
  EXPECT_EQ(it->load_access(), 0u);
  // Key right after the 16-byte header when there are no flags.
  EXPECT_EQ(it->key_data(), reinterpret_cast<const char*>(it) + 16);
  EXPECT_TRUE(b.buf->guard_intact());
}

TEST(Item, ShortFormRoundTripWithFlags) {
  for (std::uint32_t flags : {1u, 0xDEADBEEFu, 0xFFFFFFFFu}) {
    auto b = build("k", "v", flags, 7, 1234, 3);
    const Item* it = b.item;
    EXPECT_FALSE(it->is_long());
    EXPECT_TRUE(it->has_flags());
    EXPECT_EQ(it->flags(), flags);
    EXPECT_EQ(it->key(), "k");
    EXPECT_EQ(it->value(), "v");
    EXPECT_EQ(it->load_expiry(), 1234u);
    EXPECT_EQ(it->load_access(), 3u);
    EXPECT_EQ(it->key_data(), reinterpret_cast<const char*>(it) + 20);
    EXPECT_TRUE(b.buf->guard_intact());
  }
}

TEST(Item, ShortFormLimits) {
  const std::string key(kShortKeyMax, 'k');
  const std::string value(kShortValueMax, 'v');
  auto b = build(key, value, 0, 1, 0, 0);
  EXPECT_FALSE(b.item->is_long());
  EXPECT_EQ(b.item->key(), key);
  EXPECT_EQ(b.item->value_len(), kShortValueMax);
  EXPECT_EQ(b.item->value(), value);
  EXPECT_TRUE(b.buf->guard_intact());
}

TEST(Item, LongFormByKey) {
  const std::string key(256, 'K');
  auto b = build(key, "value", 0, 9, 0, 0);
  const Item* it = b.item;
  EXPECT_TRUE(it->is_long());
  EXPECT_FALSE(it->has_flags());
  EXPECT_EQ(it->key_len(), 256u);
  EXPECT_EQ(it->key(), key);
  EXPECT_EQ(it->value(), "value");
  EXPECT_EQ(it->key_data(), reinterpret_cast<const char*>(it) + 24);
  EXPECT_TRUE(b.buf->guard_intact());
}

TEST(Item, LongFormByValueWithFlags) {
  std::string value(kShortValueMax + 1, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>(i * 131 + 7);
  auto b = build("big", value, 0xFFFFFFFFu, 11, 77, 1);
  const Item* it = b.item;
  EXPECT_TRUE(it->is_long());
  EXPECT_TRUE(it->has_flags());
  EXPECT_EQ(it->flags(), 0xFFFFFFFFu);
  EXPECT_EQ(it->key(), "big");
  EXPECT_EQ(it->value_len(), kShortValueMax + 1);
  EXPECT_TRUE(it->value() == value);
  EXPECT_EQ(it->key_data(), reinterpret_cast<const char*>(it) + 28);
  EXPECT_TRUE(b.buf->guard_intact());
}

TEST(Item, LongFormMaximalKey) {
  const std::string key(65535, 'x');
  auto b = build(key, "", 5, 1, 0, 0);
  EXPECT_TRUE(b.item->is_long());
  EXPECT_EQ(b.item->key_len(), 65535u);
  EXPECT_EQ(b.item->key(), key);
  EXPECT_EQ(b.item->value_len(), 0u);
  EXPECT_EQ(b.item->flags(), 5u);
  EXPECT_TRUE(b.buf->guard_intact());
}

TEST(Item, EmptyKeyAndValue) {
  auto b = build("", "", 0, 1, 0, 0);
  EXPECT_EQ(b.item->key_len(), 0u);
  EXPECT_EQ(b.item->value_len(), 0u);
  EXPECT_TRUE(b.item->key().empty());
  EXPECT_TRUE(b.item->value().empty());
}

TEST(Item, VersionIsFiftySixBits) {
  auto b = build("k", "v", 0, kVersionMask, 0, 0xFF);
  EXPECT_EQ(b.item->version(), kVersionMask);
  // The version does not spill into the access byte, and vice versa.
  EXPECT_EQ(b.item->load_access(), 0xFFu);
  b.item->store_access(0);
  EXPECT_EQ(b.item->version(), kVersionMask);
  b.item->set_version(0x00123456789ABCDEull);
  EXPECT_EQ(b.item->version(), 0x00123456789ABCDEull);
  EXPECT_EQ(b.item->load_access(), 0u);
}

TEST(Item, MutableFieldsLeaveTheRestAlone) {
  auto b = build("key", "value", 0x1234, 99, 500, 0);
  b.item->store_access(200);
  b.item->store_expiry(encode_expiry(123456));
  EXPECT_EQ(b.item->load_access(), 200u);
  EXPECT_EQ(decode_expiry(b.item->load_expiry()), 123456u);
  EXPECT_EQ(b.item->version(), 99u);
  EXPECT_EQ(b.item->flags(), 0x1234u);
  EXPECT_EQ(b.item->key(), "key");
  EXPECT_EQ(b.item->value(), "value");
}

TEST(ItemExpiry, ZeroMeansNever) {
  EXPECT_EQ(encode_expiry(0), 0u);
  EXPECT_EQ(decode_expiry(0), 0u);
}

TEST(ItemExpiry, MillisecondFormIsExact) {
  for (std::uint64_t d : {std::uint64_t{1}, std::uint64_t{999}, std::uint64_t{1000},
                          std::uint64_t{86'400'000}, std::uint64_t{kExpirySeconds} - 1}) {
    const std::uint32_t code = encode_expiry(d);
    EXPECT_EQ(code & kExpirySeconds, 0u) << d;
    EXPECT_EQ(decode_expiry(code), d) << d;
  }
}

TEST(ItemExpiry, SecondFormRoundsUp) {
  // From 2^31 ms on, deadlines are kept in whole seconds, rounded up: never expire early.
  const std::uint64_t first = kExpirySeconds;  // 2147483648 ms
  EXPECT_NE(encode_expiry(first) & kExpirySeconds, 0u);
  EXPECT_EQ(decode_expiry(encode_expiry(first)), 2147484000u);
  EXPECT_EQ(decode_expiry(encode_expiry(3'000'000'000)), 3'000'000'000u);  // whole second: exact
  EXPECT_EQ(decode_expiry(encode_expiry(3'000'000'001)), 3'000'001'000u);
  EXPECT_EQ(decode_expiry(encode_expiry(3'000'000'999)), 3'000'001'000u);
  for (std::uint64_t d = first; d < first + 5000; d += 37) {
    const std::uint64_t back = decode_expiry(encode_expiry(d));
    EXPECT_GE(back, d);
    EXPECT_LT(back - d, 1000u);
    EXPECT_EQ(back % 1000, 0u);
  }
}

TEST(ItemExpiry, ClampsFarDeadlines) {
  const std::uint64_t max_ms = std::uint64_t{kExpirySeconds - 1} * 1000;  // ~68 years
  EXPECT_EQ(decode_expiry(encode_expiry(max_ms)), max_ms);
  EXPECT_EQ(decode_expiry(encode_expiry(max_ms + 1)), max_ms);
  EXPECT_EQ(decode_expiry(encode_expiry(std::numeric_limits<std::uint64_t>::max() / 2)), max_ms);
  // Adding 999 to round up must not wrap around for the largest deadlines.
  EXPECT_EQ(decode_expiry(encode_expiry(std::numeric_limits<std::uint64_t>::max() - 2000)), max_ms);
  // A clamped deadline is still a deadline, never "never".
  EXPECT_NE(encode_expiry(std::numeric_limits<std::uint64_t>::max() - 2000), 0u);
}

TEST(ItemExpiry, ClampsWithoutWrapping) {
  // The very largest deadlines (within 999 ms of 2^64, e.g. UINT64_MAX used as "far future")
  // must clamp like every other far deadline, not wrap to a code that decodes as "never" (0).
  const std::uint64_t max_ms = std::uint64_t{kExpirySeconds - 1} * 1000;
  EXPECT_EQ(decode_expiry(encode_expiry(std::numeric_limits<std::uint64_t>::max())), max_ms);
  EXPECT_EQ(decode_expiry(encode_expiry(std::numeric_limits<std::uint64_t>::max() - 500)), max_ms);
}

TEST(ItemExpiry, MonotonicEncoding) {
  // A later deadline never decodes to an earlier one, across the ms/seconds seam.
  std::uint64_t prev = 0;
  for (std::uint64_t d = kExpirySeconds - 3000; d < std::uint64_t{kExpirySeconds} + 3000; d += 7) {
    const std::uint64_t back = decode_expiry(encode_expiry(d));
    EXPECT_GE(back, prev) << d;
    EXPECT_GE(back, d) << d;
    prev = back;
  }
}

}  // namespace
}  // namespace ferrite::store
