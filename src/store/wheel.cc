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
  for (unsigned level = 0; level < kLevels; ++level) {
    const unsigned above = kSlotBits * (level + 1);
    if ((due >> above) == (tick_ >> above)) {
      return push(&slots_[level][(due >> (kSlotBits * level)) & (kSlots - 1)], e);
    }
  }
  // Beyond the top level: park in the top level's slot that rolls over last.
  constexpr unsigned top = kLevels - 1;
  return push(&slots_[top][((tick_ >> (kSlotBits * top)) - 1) & (kSlots - 1)], e);
}

void TimingWheel::splice_to_pending(Block** list) noexcept {
  Block* b = *list;
  if (b == nullptr) return;
  *list = nullptr;
  Block* tail = b;
  while (tail->next != nullptr) tail = tail->next;
  tail->next = pending_;
  pending_ = b;
}

void TimingWheel::advance(std::uint64_t now_ms, std::size_t max_ticks) noexcept {
  const std::uint64_t target = now_ms >> kTickShift;
  if (count_ == 0) {
    if (target > tick_) tick_ = target;
    return;
  }
  for (std::size_t n = 0; tick_ < target && n < max_ticks; ++n) {
    ++tick_;
    for (unsigned level = 1; level < kLevels; ++level) {
      const unsigned shift = kSlotBits * level;
      if ((tick_ & ((std::uint64_t{1} << shift) - 1)) != 0) break;
      splice_to_pending(&slots_[level][(tick_ >> shift) & (kSlots - 1)]);
    }
    splice_to_pending(&slots_[0][tick_ & (kSlots - 1)]);
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
