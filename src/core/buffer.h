// A growable byte buffer for replies and partial requests. It keeps its capacity when cleared,
// so once a connection's buffers have grown to its working size the hot path allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

namespace ferrite {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::size_t capacity) { reserve(capacity); }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : data_(o.data_), size_(o.size_), cap_(o.cap_) {
    o.data_ = nullptr;
    o.size_ = o.cap_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
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
    std::size_t n = cap_ ? cap_ : 256;
    while (n < cap) n *= 2;
    void* p = std::realloc(data_, n);
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<char*>(p);
    cap_ = n;
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
  // Gives memory back when the buffer grew far beyond its usual size (after one huge value).
  void shrink_to(std::size_t cap) noexcept {
    if (cap_ <= cap || size_ > cap) return;
    if (cap == 0) {  // realloc(p, 0) frees p and may return null: do it explicitly
      std::free(data_);
      data_ = nullptr;
      cap_ = 0;
      return;
    }
    void* p = std::realloc(data_, cap);
    if (p == nullptr) return;
    data_ = static_cast<char*>(p);
    cap_ = cap;
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
    char tmp[20];
    int n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    char* out = prepare(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    size_ += static_cast<std::size_t>(n);
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
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace ferrite
