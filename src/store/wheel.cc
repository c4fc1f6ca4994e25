#include "store/wheel.h"

#include <cstdlib>
#include <new>

namespace ferrite::store {

struct TimingWheel::Block {
  Block* next;
  std::uint32_t count;
  std::uint32_t pad;
  WheelEntry e[kBlockEntries];
};
static_assert(sizeof(TimingWheel::Block) == TimingWheel::kBlockBytes);

namespace {
constexpr std::size_t kKeepFree = 16;
}

TimingWheel::TimingWheel(std::uint64_t now_ms, ChargeFn charge, void* owner) noexcept
    : tick_(now_ms >> kTickShift), charge_(charge), owner_(owner) {}

TimingWheel::~TimingWheel() {
  auto drop = [this](Block* b) {
    while (b != nullptr) {
      Block* next = b->next;
      std::free(b);
      charge_(owner_, -static_cast<std::int64_t>(kBlockBytes));
      b = next;
    }
  };
  for (auto& level : slots_) {
    for (Block* b : level) drop(b);
  }
  drop(pending_);
  drop(free_);
}

TimingWheel::Block* TimingWheel::take_block() noexcept {
  if (free_ != nullptr) {
    Block* b = free_;
    free_ = b->next;
    --free_count_;
    b->next = nullptr;
    b->count = 0;
    return b;
  }
  if (!charge_(owner_, static_cast<std::int64_t>(kBlockBytes))) return nullptr;
  auto* b = static_cast<Block*>(std::malloc(sizeof(Block)));
  if (b == nullptr) {
    charge_(owner_, -static_cast<std::int64_t>(kBlockBytes));
    return nullptr;
  }
  ++blocks_;
  b->next = nullptr;
  b->count = 0;
  return b;
}

void TimingWheel::put_block(Block* b) noexcept {
  if (free_count_ < kKeepFree) {
    b->next = free_;
    free_ = b;
    ++free_count_;
    return;
  }
  std::free(b);
  --blocks_;
  charge_(owner_, -static_cast<std::int64_t>(kBlockBytes));
}

bool TimingWheel::push(Block** list, WheelEntry e) noexcept {
  Block* head = *list;
  if (head == nullptr || head->count == kBlockEntries) {
    Block* b = take_block();
    if (b == nullptr) return false;
    b->next = head;
    *list = b;
    head = b;
  }
  head->e[head->count++] = e;
  ++count_;
  return true;
}

bool TimingWheel::insert(WheelEntry e, std::uint64_t deadline_ms) noexcept {
  // Round up: an entry never comes due before its deadline.
  const std::uint64_t due = (deadline_ms + (1u << kTickShift) - 1) >> kTickShift;
  if (due <= tick_) return push(&pending_, e);
  for (unsigned level = 0; level + 1 < kLevels; ++level) {
    const unsigned above = kSlotBits * (level + 1);
    if ((due >> above) == (tick_ >> above)) {
      return push_slot(level, due >> (kSlotBits * level), e);
    }
  }
  // The top level wraps: a deadline less than one rotation ahead goes in its own slot, which
  // rolls over before it is due; a later one waits in the slot that rolls over last.
  constexpr unsigned kTopShift = kSlotBits * (kLevels - 1);
  const std::uint64_t diff = (due >> kTopShift) - (tick_ >> kTopShift);
  const std::uint64_t slot = diff < kSlots ? (due >> kTopShift) : (tick_ >> kTopShift) + kSlots - 1;
  return push_slot(kLevels - 1, slot, e);
}

bool TimingWheel::push_slot(unsigned level, std::uint64_t slot, WheelEntry e) noexcept {
  const auto i = static_cast<unsigned>(slot & (kSlots - 1));
  if (!push(&slots_[level][i], e)) return false;
  occupied_[level] |= std::uint64_t{1} << i;
  return true;
}

void TimingWheel::splice_to_pending(unsigned level, unsigned slot) noexcept {
  Block* b = slots_[level][slot];
  if (b == nullptr) return;
  slots_[level][slot] = nullptr;
  occupied_[level] &= ~(std::uint64_t{1} << slot);
  Block* tail = b;
  while (tail->next != nullptr) tail = tail->next;
  tail->next = pending_;
  pending_ = b;
}

void TimingWheel::advance(std::uint64_t now_ms, std::size_t max_ticks) noexcept {
  const std::uint64_t target = now_ms >> kTickShift;
  for (std::size_t n = 0; tick_ < target && n < max_ticks; ++n) {
    if (count_ == 0) {
      tick_ = target;
      return;
    }
    // Jump to the next tick where something happens: an occupied level-0 slot in this page,
    // or the page boundary, where higher levels may roll over.
    std::uint64_t next = (tick_ | (kSlots - 1)) + 1;
    const unsigned cur = tick_ & (kSlots - 1);
    const std::uint64_t later = cur == kSlots - 1 ? 0 : occupied_[0] & (~std::uint64_t{0} << (cur + 1));
    if (later != 0) next = (tick_ & ~std::uint64_t{kSlots - 1}) + static_cast<unsigned>(__builtin_ctzll(later));
    if (next > target) {
      tick_ = target;
      return;
    }
    tick_ = next;
    for (unsigned level = 1; level < kLevels; ++level) {
      const unsigned shift = kSlotBits * level;
      if ((tick_ & ((std::uint64_t{1} << shift) - 1)) != 0) break;
      splice_to_pending(level, static_cast<unsigned>((tick_ >> shift) & (kSlots - 1)));
    }
    splice_to_pending(0, static_cast<unsigned>(tick_ & (kSlots - 1)));
  }
}

std::size_t TimingWheel::pop_pending(WheelEntry* out, std::size_t n) noexcept {
  std::size_t got = 0;
  while (got < n && pending_ != nullptr) {
    Block* b = pending_;
    while (got < n && b->count > 0) out[got++] = b->e[--b->count];
    if (b->count == 0) {
      pending_ = b->next;
      put_block(b);
    }
  }
  count_ -= got;
  return got;
}

}  // namespace ferrite::store
