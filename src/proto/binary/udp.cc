#include "proto/binary/udp.h"

#include <algorithm>

#include "proto/binary/codec.h"

namespace ferrite::proto::binary {

void encode_frame(const Frame& f, char* out) noexcept {
  store_be16(out, f.datagram_id);
  store_be16(out + 2, f.seq);
  store_be16(out + 4, f.count);
  store_be16(out + 6, f.reserved);
}

bool decode_frame(std::string_view datagram, Frame* out) noexcept {
  if (datagram.size() < kFrameSize) return false;
  out->datagram_id = load_be16(datagram.data());
  out->seq = load_be16(datagram.data() + 2);
  out->count = load_be16(datagram.data() + 4);
  out->reserved = load_be16(datagram.data() + 6);
  return true;
}

void begin_request_datagram(Buffer& out, std::uint16_t datagram_id) {
  out.clear();
  encode_frame(Frame{datagram_id, 0, 1, 0}, out.prepare(kFrameSize));
  out.advance(kFrameSize);
}

std::size_t split_replies(std::string_view stream, std::span<const std::uint32_t> reply_ends,
                          std::size_t max_datagram, std::uint16_t datagram_id, Buffer& out,
                          std::vector<std::uint32_t>& ends) {
  if (stream.empty() || max_datagram <= kFrameSize) return 0;
  const std::size_t payload = max_datagram - kFrameSize;
  const std::size_t first = ends.size();

  // Pass 1: where each datagram's piece ends in the stream (pushed to `ends` for now).
  std::size_t room = payload, pos = 0;
  const auto place = [&](std::size_t end) {
    std::size_t len = end - pos;
    if (len <= room) {
      room -= len;
    } else if (room < payload && len <= payload) {  // fits in an empty datagram: start one
      ends.push_back(static_cast<std::uint32_t>(pos));
      room = payload - len;
    } else {  // larger than a datagram: fill the room left, then whole datagrams
      while (len > room) {
        pos += room;
        len -= room;
        ends.push_back(static_cast<std::uint32_t>(pos));
        room = payload;
      }
      room -= len;
    }
    pos = end;
  };
  for (const std::uint32_t e : reply_ends) {
    const std::size_t end = std::clamp<std::size_t>(e, pos, stream.size());
    if (end > pos) place(end);
  }
  if (pos < stream.size()) place(stream.size());
  if (room < payload) ends.push_back(static_cast<std::uint32_t>(pos));
  const std::size_t count = ends.size() - first;
  if (count > 0xFFFF) {
    ends.resize(first);
    return 0;
  }

  // Pass 2: frame and copy each piece; turn the stream offsets into offsets in `out`.
  const std::size_t base = out.size();
  char* p = out.prepare(count * kFrameSize + stream.size());
  std::size_t from = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t to = ends[first + i];
    encode_frame(Frame{datagram_id, static_cast<std::uint16_t>(i), static_cast<std::uint16_t>(count), 0}, p);
    std::copy(stream.data() + from, stream.data() + to, p + kFrameSize);
    p += kFrameSize + (to - from);
    ends[first + i] = static_cast<std::uint32_t>(base + (i + 1) * kFrameSize + to);
    from = to;
  }
  out.advance(count * kFrameSize + stream.size());
  return count;
}

void Reassembler::start(std::uint16_t datagram_id) noexcept {
  id_ = datagram_id;
  count_ = 0;
  received_ = 0;
  in_order_ = true;
  pieces_.clear();
  stream_.clear();
  index_.clear();
}

Reassembler::Result Reassembler::add(std::string_view datagram) {
  Frame f;
  if (!decode_frame(datagram, &f) || f.datagram_id != id_ || f.count == 0 || f.seq >= f.count ||
      f.reserved != 0 || complete()) {
    return Result::kIgnored;
  }
  if (count_ == 0) {
    count_ = f.count;
    index_.assign(f.count, Piece{});
  } else if (f.count != count_ || index_[f.seq].present) {
    return Result::kIgnored;
  }
  const std::string_view payload = datagram.substr(kFrameSize);
  index_[f.seq] = Piece{pieces_.size(), payload.size(), true};
  pieces_.append(payload);
  in_order_ = in_order_ && f.seq == received_;
  if (++received_ < count_) return Result::kPartial;
  if (!in_order_) {
    stream_.clear();
    stream_.reserve(pieces_.size());
    for (const Piece& piece : index_) stream_.append(pieces_.data() + piece.offset, piece.length);
  }
  return Result::kComplete;
}

std::string_view Reassembler::stream() const noexcept {
  if (!complete()) return {};
  return in_order_ ? pieces_.view() : stream_.view();
}

}  // namespace ferrite::proto::binary
