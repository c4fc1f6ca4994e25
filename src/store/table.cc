#include "store/table.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>
#include <stdexcept>

#include "store/memory.h"

namespace ferrite::store {

namespace {
constexpr std::size_t kMinBuckets = 16;
constexpr std::size_t kMaxBuckets = std::size_t{1} << 32;

std::size_t bucket_count(std::size_t slots) noexcept {
  return std::clamp<std::size_t>((slots + kSlotsPerBucket - 1) / kSlotsPerBucket, kMinBuckets, kMaxBuckets - 1);
}
}  // namespace

std::size_t Table::bytes_for(std::size_t slots) noexcept { return bucket_count(slots) * sizeof(Bucket); }

Table::Table(std::size_t slots, int numa_node) : n_(static_cast<std::uint32_t>(bucket_count(slots))) {
  // Anonymous memory is zero: every slot starts empty, every version even. Pages become
  // resident as buckets are first written.
  void* p = mmap(nullptr, bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, bytes(), MADV_HUGEPAGE);
  prefer_node(p, bytes(), numa_node);
  buckets_ = static_cast<Bucket*>(p);
}

Table::~Table() { munmap(buckets_, bytes()); }

}  // namespace ferrite::store
