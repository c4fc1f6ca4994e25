// The Ferrite binary protocol over UDP: the 8-byte frame that starts every datagram, the
// server's splitting of a reply stream into datagrams and the client's reassembly.
//
// A request datagram is a frame (seq 0, count 1) followed by one or more whole requests. The
// server answers with the replies to those requests, in order, as one stream of reply messages
// (exactly the bytes a TCP connection would carry) cut into datagrams that each start with a frame
// holding the request datagram's id, the piece's sequence number and the number of pieces:
//
//   off size
//   0   2     datagram id (chosen by the client, echoed in every reply datagram)
//   2   2     sequence number, 0 .. count-1
//   4   2     count: datagrams carrying the reply stream (1 in a request datagram)
//   6   2     reserved, 0
//
// Whole replies are packed greedily; a reply is cut across datagrams only when it does not fit in
// an empty one. A client concatenates the pieces in sequence order and decodes the result like a
// TCP stream (Reassembler does this).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "core/buffer.h"

namespace ferrite::proto::binary {

inline constexpr std::size_t kFrameSize = 8;

struct Frame {
  std::uint16_t datagram_id = 0;
  std::uint16_t seq = 0;
  std::uint16_t count = 1;
  std::uint16_t reserved = 0;
};

void encode_frame(const Frame& f, char* out) noexcept;  // writes kFrameSize bytes
// False when the datagram is shorter than a frame.
bool decode_frame(std::string_view datagram, Frame* out) noexcept;

// Client: clears `out` and starts a request datagram with id `datagram_id`; append the requests
// with encode_request().
void begin_request_datagram(Buffer& out, std::uint16_t datagram_id);

// Server: cuts `stream` (reply messages; message i ends at offset reply_ends[i], the last at
// stream.size()) into datagrams of at most `max_datagram` bytes each, frame included, appending
// them to `out` and each one's end offset in `out` to `ends`. Returns the number of datagrams;
// 0 (appending nothing) when the stream is empty, `max_datagram` leaves no room after the frame,
// or more than 65535 datagrams would be needed.
std::size_t split_replies(std::string_view stream, std::span<const std::uint32_t> reply_ends,
                          std::size_t max_datagram, std::uint16_t datagram_id, Buffer& out,
                          std::vector<std::uint32_t>& ends);

// Client: collects the reply datagrams of one request datagram, in any order, and yields their
// reply stream once every piece is there. Allocates only while its buffers grow to the largest
// reply seen; reuse one object per outstanding request datagram.
class Reassembler {
 public:
  enum class Result : std::uint8_t {
    kPartial,   // accepted; more pieces to come
    kComplete,  // accepted; stream() holds the whole reply stream
    kIgnored,   // not ours (other id), malformed, inconsistent count, duplicate, or after kComplete
  };

  // Waits for the replies to request datagram `datagram_id`, forgetting any earlier one.
  void start(std::uint16_t datagram_id) noexcept;
  Result add(std::string_view datagram);
  // The reply stream (decode it with decode_reply); valid after kComplete until the next start().
  std::string_view stream() const noexcept;

  std::uint16_t datagram_id() const noexcept { return id_; }
  std::uint16_t expected() const noexcept { return count_; }  // 0 until the first piece
  std::uint16_t received() const noexcept { return received_; }
  bool complete() const noexcept { return count_ != 0 && received_ == count_; }

 private:
  struct Piece {
    std::size_t offset = 0;
    std::size_t length = 0;
    bool present = false;
  };
  std::uint16_t id_ = 0;
  std::uint16_t count_ = 0;
  std::uint16_t received_ = 0;
  bool in_order_ = true;  // every piece so far arrived in sequence: pieces_ is the stream
  Buffer pieces_;         // payloads in arrival order
  Buffer stream_;         // payloads in sequence order, when they arrived out of order
  std::vector<Piece> index_;
};

}  // namespace ferrite::proto::binary
