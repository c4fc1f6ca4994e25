// A growable byte buffer for replies and partial requests. It keeps its capacity when cleared,
// so once a connection's buffers have grown to its working size the hot path allocates nothing.
//
// Small capacities (below kMapBytes) come from malloc; larger ones are a mapping of their own
// (mmap, grown and shrunk with mremap), so that memory given back is really returned to the
// system: glibc keeps freed heap chunks (and, after freeing a large block, raises its mmap
// threshold so the next ones come from the heap too), which left hundreds of MiB resident after
// a storm of connections holding large requests had closed. A grown mapping's new pages are not
// touched, so a buffer is resident only as far as it was written.
//
// Every buffer's capacity is counted in a per-thread total (buffer_bytes()): a worker measures
// what running one connection's session added or gave back, its own buffers and those inside the
// session alike, and charges that connection for it (engine/worker.cc).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#include "core/decimal.h"

namespace ferrite {

namespace buffer_detail {
inline thread_local std::int64_t t_bytes = 0;  // capacity of this thread's buffers (see above)
}  // namespace buffer_detail

// The capacity, in bytes, of every Buffer this thread grew, less what it shrank or freed.
inline std::int64_t buffer_bytes() noexcept { return buffer_detail::t_bytes; }

class Buffer {
 public:
  // Capacities from here on are a mapping of their own rather than a heap block.
  static constexpr std::size_t kMapBytes = std::size_t{32} << 10;

  Buffer() = default;
  explicit Buffer(std::size_t capacity) { reserve(capacity); }
  ~Buffer() { release(); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      release();
      data_ = o.data_;
      size_ = o.size_;
      cap_ = o.cap_;
      o.data_ = nullptr;
      o.size_ = o.cap_ = 0;
    }
    return *this;
  }

  char* data() noexcept { return data_; }
  const char* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return size_ == 0; }
  std::string_view view() const noexcept { return {data_, size_}; }
  void clear() noexcept { size_ = 0; }

  void reserve(std::size_t cap) {
    if (cap <= cap_) return;
    std::size_t n;
    if (cap < kMapBytes) {
      n = cap_ ? cap_ : 256;
      while (n < cap) n *= 2;
    } else {
      // Mapped: grow by half (no copy: mremap moves the pages), in whole pages.
      n = cap_ + cap_ / 2;
      if (n < cap) n = cap;
      if (n < kMapBytes) n = kMapBytes;
      n = (n + kPage - 1) & ~(kPage - 1);
    }
    if (!set_capacity(n)) throw std::bad_alloc();
  }
  // Room for n more bytes; returns where they go. Commit them with advance(n).
  char* prepare(std::size_t n) {
    reserve(size_ + n);
    return data_ + size_;
  }
  void advance(std::size_t n) noexcept { size_ += n; }
  void resize(std::size_t n) {
    reserve(n);
    size_ = n;
  }
  // Drops the first n bytes (what was consumed or sent), moving the rest to the front.
  void consume(std::size_t n) noexcept {
    if (n >= size_) {
      size_ = 0;
      return;
    }
    std::memmove(data_, data_ + n, size_ - n);
    size_ -= n;
  }
  // Gives memory back when the buffer grew far beyond its usual size (after one huge value): to
  // the system, for a mapped buffer. 0 frees it.
  void shrink_to(std::size_t cap) noexcept {
    if (cap_ <= cap || size_ > cap) return;
    if (cap >= kMapBytes) cap = (cap + kPage - 1) & ~(kPage - 1);
    if (cap < cap_) set_capacity(cap);
  }
  void append(const void* p, std::size_t n) {
    if (n == 0) return;
    std::memcpy(prepare(n), p, n);
    size_ += n;
  }
  void append(std::string_view s) { append(s.data(), s.size()); }
  void push_back(char c) {
    if (size_ == cap_) reserve(size_ + 1);
    data_[size_++] = c;
  }
  // Decimal text of an unsigned or signed integer.
  void append_uint(std::uint64_t v) {
    char tmp[kU64Chars];
    append(tmp, format_u64(v, tmp));
  }
  void append_int(std::int64_t v) {
    if (v < 0) {
      push_back('-');
      append_uint(0 - static_cast<std::uint64_t>(v));
    } else {
      append_uint(static_cast<std::uint64_t>(v));
    }
  }
  // Big-endian fixed-width integers (network byte order).
  void append_be16(std::uint16_t v) {
    char* o = prepare(2);
    o[0] = static_cast<char>(v >> 8);
    o[1] = static_cast<char>(v);
    size_ += 2;
  }
  void append_be32(std::uint32_t v) {
    char* o = prepare(4);
    for (int i = 0; i < 4; ++i) o[i] = static_cast<char>(v >> (24 - 8 * i));
    size_ += 4;
  }
  void append_be64(std::uint64_t v) {
    char* o = prepare(8);
    for (int i = 0; i < 8; ++i) o[i] = static_cast<char>(v >> (56 - 8 * i));
    size_ += 8;
  }

 private:
  static constexpr std::size_t kPage = 4096;
  static bool mapped(std::size_t cap) noexcept { return cap >= kMapBytes; }

  // ThreadSanitizer does not see mremap: the pages it moves away keep their shadow, and a worker
  // that later maps a buffer at the same address was reported as racing with the one that wrote
  // there before. Under TSan a mapped buffer moves by mmap, copy and munmap instead.
#if defined(__SANITIZE_THREAD__)
  static constexpr bool kTsan = true;
#else
  static constexpr bool kTsan = false;
#endif

  // Moves the contents (size_ <= n bytes) to a block of capacity n; n == 0 frees. False (and
  // nothing changed) when the memory cannot be had.
  bool set_capacity(std::size_t n) noexcept {
    char* p = nullptr;
    if (n == 0) {
      release();
      return true;
    }
    if (mapped(cap_) && mapped(n) && !kTsan) {
      void* m = mremap(data_, cap_, n, MREMAP_MAYMOVE);
      if (m == MAP_FAILED) return false;
      p = static_cast<char*>(m);
    } else if (!mapped(cap_) && !mapped(n)) {
      void* m = std::realloc(data_, n);
      if (m == nullptr) return false;
      p = static_cast<char*>(m);
    } else {
      if (mapped(n)) {
        void* m = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return false;
        p = static_cast<char*>(m);
      } else {
        p = static_cast<char*>(std::malloc(n));
        if (p == nullptr) return false;
      }
      if (size_ != 0) std::memcpy(p, data_, size_);
      const std::size_t keep = size_;
      release();
      size_ = keep;
    }
    buffer_detail::t_bytes += static_cast<std::int64_t>(n) - static_cast<std::int64_t>(cap_);
    data_ = p;
    cap_ = n;
    return true;
  }
  void release() noexcept {
    if (data_ != nullptr) {
      if (mapped(cap_)) {
        munmap(data_, cap_);
      } else {
        std::free(data_);
      }
    }
    buffer_detail::t_bytes -= static_cast<std::int64_t>(cap_);
    data_ = nullptr;
    size_ = cap_ = 0;
  }

  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace ferrite
