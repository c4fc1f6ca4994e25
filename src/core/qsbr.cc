#include "core/qsbr.h"

#include <stdexcept>

namespace ferrite {

Qsbr::Qsbr(unsigned max_threads) : max_threads_(max_threads), slots_(new Slot[max_threads]) {}

unsigned Qsbr::register_thread() {
  std::lock_guard lock(mu_);
  for (unsigned i = 0; i < max_threads_; ++i) {
    if (!slots_[i].used) {
      slots_[i].used = true;
      online(i);
      return i;
    }
  }
  throw std::runtime_error("qsbr: more threads than the configured maximum");
}

void Qsbr::unregister_thread(unsigned id) {
  std::lock_guard lock(mu_);
  offline(id);
  slots_[id].used = false;
}

std::uint64_t Qsbr::safe_below() const noexcept {
  // fetch_add(0) rather than a fence: a full barrier that sanitizers understand.
  std::uint64_t min = const_cast<std::atomic<std::uint64_t>&>(global_).fetch_add(0, std::memory_order_seq_cst);
  for (unsigned i = 0; i < max_threads_; ++i) {
    const std::uint64_t s = slots_[i].seen.load(std::memory_order_acquire);
    if (s != 0 && s < min) min = s;
  }
  return min;
}

}  // namespace ferrite
