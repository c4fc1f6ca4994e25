// The append-only file's producer: a worker's side (persist/aof.h), run on the worker's thread.
#include <algorithm>
#include <cstring>
#include <new>

#include "core/clock.h"
#include "core/compiler.h"
#include "persist/aof.h"
#include "persist/aof_internal.h"
#include "persist/record.h"

namespace ferrite::persist {

using aof_detail::kIdle;
using aof_detail::kStampMask;
using aof_detail::tsc_now;

namespace {

std::size_t round_up_pow2(std::size_t n) noexcept {
  std::size_t p = 64 << 10;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The producer (a worker's thread)

AofProducer::AofProducer(AofWriter& writer, unsigned worker, std::size_t ring_bytes, std::size_t overflow_slots,
                         std::size_t batch_bytes)
    : writer_(writer),
      worker_(worker),
      cap_(round_up_pow2(ring_bytes)),
      mask_(cap_ - 1),
      max_entry_(std::min(cap_ / 4, batch_bytes)),
      ring_(new char[cap_]),
      state_(kIdle),
      heap_(overflow_slots) {}

AofProducer::~AofProducer() {
  HeapRecord r;
  while (heap_.pop(&r)) delete[] r.bytes;
}

std::uint64_t AofProducer::stamp() const noexcept {
  if (writer_.tsc_) return tsc_now();
  return writer_.counter_.fetch_add(1, std::memory_order_relaxed);
}

bool AofProducer::wait_for_disk() const noexcept { return writer_.fsync() == FsyncPolicy::kAlways; }

bool AofProducer::congested() const noexcept {
  // No room for the largest record the ring takes, or records wait on the heap.
  const std::uint64_t used = published_.load(std::memory_order_relaxed) - consumed_.load(std::memory_order_acquire);
  return cap_ - used < max_entry_ || !heap_empty();
}

bool AofProducer::failed() const noexcept { return writer_.failure() != nullptr; }

const char* AofProducer::failure() const noexcept {
  const char* f = writer_.failure();
  return f != nullptr ? f : "";
}

void AofProducer::tick() noexcept {
  state_.store(writer_.now_stamp(), std::memory_order_release);
}

void AofProducer::idle() noexcept {
  state_.store(kIdle | writer_.now_stamp(), std::memory_order_release);
}

void AofProducer::busy() noexcept {
  // Keeps the watermark the writer may have moved forward while this worker slept: every
  // stamp taken after this read-modify-write is later than it.
  state_.fetch_and(kStampMask, std::memory_order_acq_rel);
}

std::size_t AofProducer::encode_into(char* out, store::MutationKind kind, const store::Item* item,
                                     bool tombstone) const noexcept {
  Record r;
  switch (kind) {
    case store::MutationKind::kStore: {
      r.type = RecordType::kSet;
      r.item_type = static_cast<std::uint8_t>(item->type());
      r.flags = item->flags();
      r.version = item->version();
      r.deadline_ms = writer_.clock_.to_unix_ms(store::decode_expiry(item->load_expiry()));
      r.key = item->key();
      r.value = item->value();
      break;
    }
    case store::MutationKind::kTouch:
      r.type = RecordType::kTouch;
      r.version = item->version();
      r.deadline_ms = writer_.clock_.to_unix_ms(store::decode_expiry(item->load_expiry()));
      r.key = item->key();
      break;
    case store::MutationKind::kDelete:
    case store::MutationKind::kEvict:
      r.type = RecordType::kDelete;
      r.version = tombstone ? 0 : item->version();  // 0: the key, whatever its version
      r.key = item->key();
      break;
    case store::MutationKind::kFlush:
      r.type = RecordType::kFlush;
      r.deadline_ms = unix_ms();
      break;
    case store::MutationKind::kExpire:
      return 0;
  }
  return encode(r, out);
}

void AofProducer::on_mutation(unsigned /*context_id*/, store::MutationKind kind, const store::Item* item) noexcept {
  std::size_t size = 0;
  switch (kind) {
    case store::MutationKind::kStore: size = set_record_size(item->key_len(), item->value_len()); break;
    case store::MutationKind::kTouch: size = touch_record_size(item->key_len()); break;
    case store::MutationKind::kDelete:
    case store::MutationKind::kEvict: size = delete_record_size(item->key_len()); break;
    case store::MutationKind::kFlush: size = kFlushRecordSize; break;
    case store::MutationKind::kExpire: return;  // set records carry absolute deadlines
  }
  // Taken under the key's bucket locks (the store calls in there): see "Order across workers".
  const std::uint64_t st = stamp();
  const bool large = ((kEntryHeader + size + 7) & ~std::size_t{7}) > max_entry_;
  if (FERRITE_LIKELY(!large) && FERRITE_LIKELY(push(st, kind, item, size))) return;
  // Too large for the ring, or the ring is full under always (never dropped there: congested()
  // says stop): the heap.
  if ((large || writer_.fsync() == FsyncPolicy::kAlways) && heap_push(st, item, kind, size)) return;
  // The ring is full (everysec, no), or the heap took nothing. A new value or deadline that
  // cannot be written goes in as a delete of its key, when that small record fits: after a
  // restart the key is then missing, never back with an older value (for a cache, a miss is
  // safe and a stale hit is not).
  if ((kind == store::MutationKind::kStore || kind == store::MutationKind::kTouch) &&
      push(st, store::MutationKind::kDelete, item, delete_record_size(item->key_len()), true)) {
    tombstones_.store(tombstones_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  drop();
}

bool AofProducer::push(std::uint64_t st, store::MutationKind kind, const store::Item* item, std::size_t size,
                       bool tombstone) noexcept {
  const std::size_t entry = (kEntryHeader + size + 7) & ~std::size_t{7};
  std::size_t pos = head_ & mask_;
  std::size_t to_end = cap_ - pos;
  const std::size_t need = entry + (to_end < entry ? to_end : 0);
  if (cap_ - (head_ - tail_cache_) < need) {
    tail_cache_ = consumed_.load(std::memory_order_acquire);
    if (cap_ - (head_ - tail_cache_) < need) return false;
  }
  if (to_end < entry) {  // pad to the ring's end; the entry starts at its beginning
    const auto pad = static_cast<std::uint32_t>(to_end) | kPadFlag;
    std::memcpy(ring_.get() + pos, &pad, 4);
    head_ += to_end;
    pos = 0;
  }
  char* e = ring_.get() + pos;
  const auto e32 = static_cast<std::uint32_t>(entry);
  const auto r32 = static_cast<std::uint32_t>(size);
  std::memcpy(e, &e32, 4);
  std::memcpy(e + 4, &r32, 4);
  std::memcpy(e + 8, &st, 8);
  encode_into(e + kEntryHeader, kind, item, tombstone);
  head_ += entry;
  ++accepted_;
  published_.store(head_, std::memory_order_release);
  return true;
}

bool AofProducer::heap_empty() const noexcept {
  return heap_published_.load(std::memory_order_acquire) == heap_taken_.load(std::memory_order_acquire);
}

bool AofProducer::heap_push(std::uint64_t st, const store::Item* item, store::MutationKind kind,
                            std::size_t size) noexcept {
  HeapRecord* slot = heap_.claim();
  char* bytes = slot != nullptr ? new (std::nothrow) char[size] : nullptr;
  if (bytes == nullptr) return false;
  encode_into(bytes, kind, item);
  slot->stamp = st;
  slot->bytes = bytes;
  slot->len = static_cast<std::uint32_t>(size);
  heap_.publish();
  heap_published_.store(heap_published_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  slow_.store(slow_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  ++accepted_;
  return true;
}

void AofProducer::drop() noexcept {
  drops_.store(drops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  writer_.incomplete_.store(true, std::memory_order_relaxed);
}

}  // namespace ferrite::persist
