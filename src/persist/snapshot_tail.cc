#include "persist/snapshot_tail.h"

#include <immintrin.h>
#include <sys/mman.h>

#include <cstring>
#include <new>

#include "persist/crc32c.h"
#include "persist/record.h"
#include "persist/snapshot_format.h"

namespace ferrite::persist {
namespace {

// Contexts per store: store::kMaxContexts (src/store/store_internal.h), which this module does
// not include; ids beyond it are refused (counted as dropped) rather than trusted.
constexpr unsigned kRingsPerPartition = 64;
constexpr std::size_t kHeadScratch = kRecordHeader + kSetFixed + kMaxKey;

}  // namespace

// One context's ring of entries (u64 sequence + record). Single producer (the context's
// thread), single consumer (the snapshot thread); byte positions grow without wrapping.
struct SnapshotTail::Ring {
  alignas(64) std::atomic<std::uint64_t> tail{0};  // producer publishes
  std::uint64_t head_cache = 0;                    // producer's view of head
  std::atomic<bool> busy{false};                   // a capture is under way (close() waits)
  alignas(64) std::atomic<std::uint64_t> head{0};  // consumer releases
  char* buf = nullptr;  // mmap'ed (mask + 1 bytes): page-aligned, so drained pages can be given back
  std::unique_ptr<char[]> head_scratch;  // a set record's head, for the CRC before the copy
  std::size_t mask = 0;

  void write(std::uint64_t pos, const char* src, std::size_t n) noexcept {
    const std::size_t at = pos & mask;
    const std::size_t first = std::min(n, mask + 1 - at);
    std::memcpy(buf + at, src, first);
    if (first < n) std::memcpy(buf, src + first, n - first);
  }
  void read(std::uint64_t pos, char* dst, std::size_t n) const noexcept {
    const std::size_t at = pos & mask;
    const std::size_t first = std::min(n, mask + 1 - at);
    std::memcpy(dst, buf + at, first);
    if (first < n) std::memcpy(dst + first, buf, n - first);
  }
  // Room for n more bytes (producer side).
  bool room(std::uint64_t t, std::size_t n) noexcept {
    if (t + n - head_cache <= mask + 1) return true;
    head_cache = head.load(std::memory_order_acquire);
    return t + n - head_cache <= mask + 1;
  }
};

SnapshotTail::SnapshotTail(const store::Store& clock, unsigned partitions, std::size_t ring_bytes)
    : clock_(clock),
      partitions_(partitions == 0 ? 1 : partitions),
      ring_bytes_([ring_bytes] {
        std::size_t n = 4096;
        while (n < ring_bytes) n *= 2;
        return n;
      }()),
      observers_(new Forward[partitions_]) {
  for (unsigned p = 0; p < partitions_; ++p) {
    observers_[p].tail = this;
    observers_[p].partition = p;
  }
  // The rings themselves (positions and flags) live as long as the tail, so a worker may look
  // at its ring at any time; their buffers exist only between open() and release().
  rings_.reset(new Ring[std::size_t{partitions_} * kRingsPerPartition]);
}

SnapshotTail::~SnapshotTail() { release(); }

SnapshotTail::Ring* SnapshotTail::ring(unsigned partition, unsigned context_id) noexcept {
  if (partition >= partitions_ || context_id >= kRingsPerPartition) return nullptr;
  return &rings_[std::size_t{partition} * kRingsPerPartition + context_id];
}

void SnapshotTail::open() {
  close();
  release();
  for (std::size_t i = 0; i < std::size_t{partitions_} * kRingsPerPartition; ++i) {
    Ring& r = rings_[i];
    // Untouched (and not resident) until a worker writes; drain() gives drained pages back.
    void* mem = mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) throw std::bad_alloc();
    madvise(mem, ring_bytes_, MADV_NOHUGEPAGE);
    r.buf = static_cast<char*>(mem);
    r.head_scratch.reset(new char[kHeadScratch]);
    r.mask = ring_bytes_ - 1;
    r.head.store(0, std::memory_order_relaxed);
    r.tail.store(0, std::memory_order_relaxed);
    r.head_cache = 0;
  }
  dropped_.store(0, std::memory_order_relaxed);
  capturing_.store(true, std::memory_order_seq_cst);
}

void SnapshotTail::close() noexcept {
  capturing_.store(false, std::memory_order_seq_cst);
  for (std::size_t i = 0; i < std::size_t{partitions_} * kRingsPerPartition; ++i) {
    while (rings_[i].busy.load(std::memory_order_seq_cst)) _mm_pause();  // a capture never blocks
  }
}

void SnapshotTail::release() noexcept {
  capturing_.store(false, std::memory_order_seq_cst);
  close();
  for (std::size_t i = 0; i < std::size_t{partitions_} * kRingsPerPartition; ++i) {
    if (rings_[i].buf != nullptr) munmap(rings_[i].buf, rings_[i].mask + 1);
    rings_[i].buf = nullptr;
    rings_[i].head_scratch.reset();
  }
}

void SnapshotTail::capture(unsigned partition, unsigned context_id, store::MutationKind kind,
                           const store::Item* item) noexcept {
  // seq_cst: a plain load on x86. With the store's bucket-lock RMW before it, a mutation the
  // walk has not seen either way is captured (docs/persistence.md, "Snapshots").
  if (!capturing_.load(std::memory_order_seq_cst)) return;
  Ring* r = ring(partition, context_id);
  if (r == nullptr) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  r->busy.store(true, std::memory_order_seq_cst);
  if (!capturing_.load(std::memory_order_seq_cst)) {  // close() began: it waits for busy only
    r->busy.store(false, std::memory_order_release);
    return;
  }
  Record rec;
  switch (kind) {
    case store::MutationKind::kStore:
      rec.type = RecordType::kSet;
      rec.item_type = static_cast<std::uint8_t>(item->type());
      rec.flags = item->flags();
      rec.value = item->value();
      break;
    case store::MutationKind::kTouch: rec.type = RecordType::kTouch; break;
    case store::MutationKind::kDelete:
    case store::MutationKind::kExpire:
    case store::MutationKind::kEvict: rec.type = RecordType::kDelete; break;
    case store::MutationKind::kFlush:
      rec.type = RecordType::kFlush;
      rec.deadline_ms = clock_.to_unix_ms(clock_.now_ms());
      break;
  }
  if (item != nullptr && kind != store::MutationKind::kFlush) {
    rec.key = item->key();
    rec.version = item->version();
    rec.deadline_ms = clock_.to_unix_ms(store::decode_expiry(item->load_expiry()));
  }
  const std::uint64_t seq = seq_.fetch_add(1, std::memory_order_relaxed);
  const std::size_t size = record_size(rec);
  const std::uint64_t t = r->tail.load(std::memory_order_relaxed);
  if (rec.key.size() > kMaxKey || size > kMaxBody + kRecordHeader || !r->room(t, kTailSeq + size)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    r->busy.store(false, std::memory_order_release);
    return;
  }
  r->write(t, reinterpret_cast<const char*>(&seq), kTailSeq);
  char* head = r->head_scratch.get();
  if (rec.type == RecordType::kSet) {
    std::uint32_t crc = 0;
    const std::size_t head_len = encode_set_head(rec, head, &crc);
    finish_set(head, crc32c_extend(crc, rec.value.data(), rec.value.size()));
    r->write(t + kTailSeq, head, head_len);
    r->write(t + kTailSeq + head_len, rec.value.data(), rec.value.size());
  } else {
    encode(rec, head);
    r->write(t + kTailSeq, head, size);
  }
  r->tail.store(t + kTailSeq + size, std::memory_order_release);
  r->busy.store(false, std::memory_order_release);
}

std::size_t SnapshotTail::drain_ring(Ring& r, EntryFn fn, void* arg) {
  if (r.buf == nullptr) return 0;
  std::uint64_t h = r.head.load(std::memory_order_relaxed);
  const std::uint64_t t = r.tail.load(std::memory_order_acquire);
  std::size_t n = 0;
  while (h < t) {
    char hdr[kTailSeq + kRecordHeader];
    r.read(h, hdr, sizeof hdr);
    std::uint32_t len = 0;
    std::memcpy(&len, hdr + kTailSeq + 4, 4);
    const std::size_t entry = kTailSeq + kRecordHeader + len;
    const std::size_t at = h & r.mask;
    if (at + entry <= r.mask + 1) {
      fn(arg, {r.buf + at, entry});
    } else {
      if (scratch_.size() < entry) scratch_.resize(entry);
      r.read(h, scratch_.data(), entry);
      fn(arg, {scratch_.data(), entry});
    }
    h += entry;
    ++n;
  }
  // The drained bytes' whole pages go back to the kernel before the producer may reuse them, so
  // the ring costs resident memory only for what is in flight, not its whole size.
  constexpr std::uint64_t kPage = 4096;
  const std::uint64_t from = (r.head.load(std::memory_order_relaxed) + kPage - 1) & ~(kPage - 1);
  const std::uint64_t to = h & ~(kPage - 1);
  if (to > from) {
    const std::uint64_t len = std::min<std::uint64_t>(to - from, r.mask + 1);
    const std::size_t at = from & r.mask;
    const std::size_t first = std::min<std::size_t>(len, r.mask + 1 - at);
    madvise(r.buf + at, first, MADV_DONTNEED);
    if (first < len) madvise(r.buf, len - first, MADV_DONTNEED);
  }
  r.head.store(h, std::memory_order_release);
  return n;
}

std::size_t SnapshotTail::drain(EntryFn fn, void* arg) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::size_t{partitions_} * kRingsPerPartition; ++i) n += drain_ring(rings_[i], fn, arg);
  return n;
}

}  // namespace ferrite::persist
