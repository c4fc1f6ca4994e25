#include "core/cluster_view.h"

namespace ferrite {

namespace {

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t crc = i << 8;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x8000U) != 0 ? (crc << 1) ^ 0x1021U : crc << 1;
    t[i] = static_cast<std::uint16_t>(crc);
  }
  return t;
}

constexpr std::array<std::uint16_t, 256> kCrc16 = make_crc16_table();

}  // namespace

std::uint16_t crc16_xmodem(std::string_view bytes) noexcept {
  std::uint16_t crc = 0;
  for (const char ch : bytes) {
    const auto byte = static_cast<std::uint8_t>(ch);
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16[((crc >> 8) ^ byte) & 0xFFU]);
  }
  return crc;
}

std::uint16_t key_hash_slot(std::string_view key) noexcept {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16_xmodem(key) & (kClusterSlots - 1));
}

SlotRouting::SlotRouting() {
  for (auto& w : words_) w.store(pack(Slot{}), std::memory_order_relaxed);
}

std::uint16_t SlotRouting::add_endpoint(const ClusterEndpoint& e) noexcept {
  const std::uint16_t n = count_.load(std::memory_order_relaxed);
  if (n >= kMaxEndpoints) return kNone;  // kMaxEndpoints < kNone: an index is never kNone
  endpoints_[n] = e;
  count_.store(static_cast<std::uint16_t>(n + 1), std::memory_order_release);
  return n;
}

}  // namespace ferrite
