// A hierarchical timing wheel for active expiry, one per worker context.
//
// Entries are cheap handles, 8 bytes: the hash bits that place the key in the table, its tag and
// the low 16 bits of the item's version. When an entry comes due the context looks the item up by (place, tag),
// skips it unless the version still matches, and then trusts the item's own deadline: expired
// items are removed, touched ones are put back at their new deadline. So overwritten, deleted
// or touched items never need their old entry found and cancelled.
//
// Five levels of 64 slots over 8 ms ticks reach about 99 days; a later deadline waits in the
// last slot of the top level and is re-filed when that slot comes round. A slot that comes due
// (or a higher-level slot that rolls over) is spliced whole onto a pending list in O(1); the
// context drains that list a bounded number of entries per tick(), so a million keys expiring
// in the same second never stall a request.
//
// Blocks of 62 entries come from the general heap and are charged to the store's budget
// through the owning context, so the wheel's memory counts against the limit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferrite::store {

struct WheelEntry {
  std::uint32_t place;  // the hash bits that place the key in the table (Table::place_bits)
  std::uint16_t tag;
  std::uint16_t version16;
};
static_assert(sizeof(WheelEntry) == 8, "wheel entries are 8-byte handles");

class TimingWheel {
 public:
  static constexpr unsigned kLevels = 5;
  static constexpr unsigned kSlotBits = 6;
  static constexpr unsigned kSlots = 1u << kSlotBits;
  static constexpr unsigned kTickShift = 3;  // 8 ms ticks
  static constexpr std::size_t kBlockEntries = 62;
  static constexpr std::size_t kBlockBytes = 512;

  // Called to charge (true = granted) or uncharge block memory against the store's budget.
  using ChargeFn = bool (*)(void* owner, std::int64_t delta) noexcept;

  TimingWheel(std::uint64_t now_ms, ChargeFn charge, void* owner) noexcept;
  ~TimingWheel();
  TimingWheel(const TimingWheel&) = delete;
  TimingWheel& operator=(const TimingWheel&) = delete;

  // Files an entry due at deadline_ms. False when no memory could be had for it.
  bool insert(WheelEntry e, std::uint64_t deadline_ms) noexcept;
  // Moves every slot due by now_ms onto the pending list (at most max_ticks steps per call;
  // a step jumps over empty slots to the next occupied one or page boundary).
  void advance(std::uint64_t now_ms, std::size_t max_ticks = 4096) noexcept;
  // Takes up to n due entries.
  std::size_t pop_pending(WheelEntry* out, std::size_t n) noexcept;

  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return blocks_ * kBlockBytes; }

  struct Block;  // defined in wheel.cc

 private:
  Block* take_block() noexcept;
  void put_block(Block* b) noexcept;
  bool push(Block** list, WheelEntry e) noexcept;
  bool push_slot(unsigned level, std::uint64_t slot, WheelEntry e) noexcept;
  void splice_to_pending(unsigned level, unsigned slot) noexcept;

  std::uint64_t tick_;
  Block* slots_[kLevels][kSlots] = {};
  std::uint64_t occupied_[kLevels] = {};  // bit i: slots_[level][i] holds entries
  Block* pending_ = nullptr;
  Block* free_ = nullptr;
  std::size_t free_count_ = 0;
  std::size_t count_ = 0;
  std::size_t blocks_ = 0;
  ChargeFn charge_;
  void* owner_;
};

}  // namespace ferrite::store
