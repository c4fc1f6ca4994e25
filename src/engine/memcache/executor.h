// Runs memcached text and meta commands on the store: the engine of the memcache TCP session and
// of the memcache UDP handler.
//
// Replies, errors and limits are memcached 1.6's (checked against memcached 1.6.18):
//   - a bad token count or an unknown command: "ERROR"; bad arguments: "CLIENT_ERROR ..."
//     (the data block of a storage command with a bad command line is NOT skipped: memcached
//     reads it as the next command line); a value over the item size limit (or that would make
//     the request exceed settings().max_request_bytes): "SERVER_ERROR object too large for cache",
//     its data block is skipped as it arrives (never buffered), and a set (or ms) also removes the
//     key's old value, as memcached does; a data block not followed by "\r\n": "CLIENT_ERROR bad
//     data chunk"; the store out of memory: "SERVER_ERROR out of memory storing object";
//   - classic commands with "noreply" as their last token send nothing, errors included;
//     meta commands with 'q' suppress only the nominal reply (mg: EN; ms/md: HD; ma: HD/VA of an
//     existing counter), errors are always sent;
//   - 2048 bytes without a newline: "CLIENT_ERROR line too long" and the connection closes
//     (memcached closes without a word), unless the line is a get/gets: a get line of any length
//     is served as it arrives (its complete keys answered and consumed, so nothing but the
//     current key is buffered), END at its newline; a key over 250 bytes in it answers
//     "CLIENT_ERROR bad command line format" and the rest of the line is skipped (values sent
//     before it stay sent; memcached buffers the whole line and drops them); an unknown command
//     whose last token starts with "HTTP/" closes the connection (memcached's guard against HTTP
//     clients);
//   - a multi-key get whose values pass settings().max_reply_bytes stops at the cap and goes on
//     from the next key once the peer has read (memcached sends values by reference instead);
//     over UDP, a reply that would pass max_reply_bytes, 65535 datagrams or the reflection bound
//     is answered "SERVER_ERROR out of memory writing get response" alone, in one datagram
//     (memcached's words when it cannot build a reply), and a request of several datagrams
//     "SERVER_ERROR multi-packet request not supported" (memcached's text);
//   - keys up to 250 bytes, split on ' ' only (memcached does not reject control characters).
//
// Where the store has no counterpart of a memcached item feature (accepted, not reported):
//   - mg h/l (hit-before, last access) are accepted but return no token; u (no LRU bump) is
//     accepted and the hit still counts for eviction;
//   - the stale/win machinery: mg N creates the empty item and returns W to the client that
//     created it, but later clients get no Z; R never wins; md I deletes the item (clients then
//     miss and recache) instead of marking it stale; ms I is ignored (a lower CAS is EX);
//   - a key stored with mg/ms b comes back base64-encoded only to requests that say b;
//   - me prints "ME <key> exp=<ttl or -1> cas=<cas> size=<bytes>" (memcached also prints la,
//     fetch and cls, which the store does not track).
// Other differences from memcached 1.6.18:
//   - the item size limit is the store's max_item_size for the value alone (memcached counts its
//     item header too, so it refuses a value of exactly 1 MiB; Ferrite stores it);
//   - incr/decr store the new number's digits (memcached pads a shorter result with spaces);
//   - a multi-get refused for a long key drops only its own values (memcached also drops the
//     replies of earlier commands of the same read);
//   - ms in append/prepend mode with N creates a missing item (newer memcached does; 1.6.18
//     answers NS);
//   - "stats reset", "stats detail", "stats cachedump" and the admin commands (slabs, lru,
//     lru_crawler but its metadump, watch, cache_memlimit) answer ERROR; "shutdown" answers memcached's
//     "ERROR: shutdown not enabled"; `version` reports settings().memcache_version.
//
// Metrics: one request per command (Op by command), except multi-key gets: one per key (with
// one latency sample per command); hits/misses per key of get/gets/gat/gats/mg. Requests
// answered with ERROR/CLIENT_ERROR (and too-large values) count as Op::k_error and as protocol
// errors. Classic commands count under Proto::kMemcacheText, meta ones under kMemcacheMeta, all
// of them under kMemcacheUdp when they came over UDP.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/buffer.h"
#include "engine/session.h"
#include "proto/memcache/meta.h"
#include "proto/memcache/text.h"
#include "store/store.h"

namespace ferrite::engine::memcache {

// The answer to a read (get/gets/gat/gats, mg) or a change (append, prepend, incr, decr, ma, ms
// in append/prepend mode) of a key that holds a hash (written over RESP): its encoding is never
// sent as a value. A get line ends at this error, as memcached ends one at an error met while
// answering (no END follows it).
inline constexpr std::string_view kWrongTypeError = "SERVER_ERROR WRONGTYPE the key holds a hash, not a value";

// What a keyed command hears while the daemon loads its persistence folder, and what a write
// hears while the append-only file cannot be written under fsync = always (followed by the
// reason, e.g. "SERVER_ERROR write refused: persistence failed: No space left on device").
// memcached has neither; both are SERVER_ERRORs, so clients treat them as a server-side failure
// of that one request and the connection goes on.
inline constexpr std::string_view kLoadingError = "SERVER_ERROR loading the dataset, try again";
inline constexpr std::string_view kWriteFailedError = "SERVER_ERROR write refused: persistence failed: ";

class Executor {
 public:
  enum class Mode : std::uint8_t {
    kStream,    // a TCP connection: incomplete requests wait, replies obey back-pressure
    kDatagram,  // one UDP datagram: what is incomplete at its end is dropped
  };

  explicit Executor(Mode mode) noexcept;

  // Runs every complete command at the front of `in`, appending replies to `out`; returns the
  // bytes consumed. In stream mode it stops once out.size() >= settings().max_reply_bytes, also
  // in the middle of a multi-key get: the get line is left unconsumed and the next run() goes on
  // from the key it stopped at (so `out` passes the cap by one value at most). In datagram mode
  // it stops before a reply would take `out` past the budget given to reset(): overflowed().
  std::size_t run(std::string_view in, Buffer& out, Exec& ex);

  // Set after quit or a fatal framing error: nothing more is read.
  bool closing() const noexcept { return closing_; }
  // Datagram mode: the replies would have passed the budget (what `out` holds is to be dropped).
  bool overflowed() const noexcept { return overflow_; }
  // Forgets the state of the stream (UDP: before each datagram, with its reply budget in bytes).
  void reset(std::size_t budget = static_cast<std::size_t>(-1)) noexcept;

 private:
  static constexpr std::size_t kBatch = 32;  // keys per get_batch call

  // One command at the front of `in`: returns the bytes consumed, or 0 when more input is needed.
  std::size_t step(std::string_view in, Buffer& out, Exec& ex);

  // What a command handler needs of its line.
  struct Request {
    proto::memcache::Command cmd;
    const proto::memcache::Tokens& t;
    proto::memcache::Line line;
    std::string_view in;  // the input from the start of this line (for data blocks)
    std::uint64_t start;  // cycles() when the command was parsed
  };

  // Classic commands; each returns bytes consumed (0: more input needed, or a get stopped at
  // the reply cap).
  std::size_t retrieve(const Request& r, Buffer& out, Exec& ex);
  // A get/gets line longer than kMaxLineWithoutNewline, served as it arrives: its command word,
  // then (long_get) its keys as far as they are complete, then END at its newline.
  std::size_t begin_long_get(std::string_view in);
  std::size_t long_get(std::string_view in, Buffer& out, Exec& ex);
  // The values of the keys in `keys` (a view into the line starting at `base`). False when it
  // stopped first: at the reply cap (stream mode; *stop = offset from `base` of the first key
  // not served) or because the next value would pass the budget (datagram mode; overflow_ set).
  bool serve_keys(std::string_view keys, const char* base, bool with_cas, bool touch, std::uint64_t deadline,
                  Buffer& out, Exec& ex, std::size_t* stop);
  // Counts one key of a get (the first with the command's latency).
  void count_get_key(Op op, std::uint64_t start, Exec& ex);
  std::size_t store(const Request& r, Buffer& out, Exec& ex);
  std::size_t remove(const Request& r, Buffer& out, Exec& ex);
  std::size_t arith(const Request& r, Buffer& out, Exec& ex);
  std::size_t touch(const Request& r, Buffer& out, Exec& ex);
  std::size_t flush_all(const Request& r, Buffer& out, Exec& ex);
  std::size_t verbosity(const Request& r, Buffer& out, Exec& ex);
  std::size_t stats(const Request& r, Buffer& out, Exec& ex);
  // Meta commands (executor_meta.cc).
  std::size_t meta_get(const Request& r, Buffer& out, Exec& ex);
  std::size_t meta_set(const Request& r, Buffer& out, Exec& ex);
  std::size_t meta_delete(const Request& r, Buffer& out, Exec& ex);
  std::size_t meta_arith(const Request& r, Buffer& out, Exec& ex);
  std::size_t meta_debug(const Request& r, Buffer& out, Exec& ex);
  // lru_crawler metadump all|hash (executor_admin.cc): true when the line is one (answered).
  bool lru_crawler(const Request& r, Buffer& out, Exec& ex, std::size_t* consumed);

  // Parses the meta flags after `first` (the key's token index + 1, or + 2 for ms); on an error
  // returns its line. With 'b', key_ is the decoded key.
  const char* meta_flags(const Request& r, std::size_t first, proto::memcache::MetaFlags* f);
  // The return tokens common to every meta reply: O (opaque) and k (key), in request order; and
  // for mg/ma the others, written by the caller's `each`.
  template <typename Each>
  void meta_tokens(const Request& r, std::size_t first, const proto::memcache::MetaFlags& f, Buffer& out,
                   Each&& each);

  // While Exec::gated: answers `r` with kLoadingError or kWriteFailedError instead of running it
  // (its data block skipped as it streams in) and returns the bytes consumed; 0 when it runs.
  std::size_t gate(const Request& r, Buffer& out, Exec& ex);

  // A reply line, unless the command said noreply.
  static void reply(Buffer& out, std::string_view line, bool noreply);
  // A malformed request: its error line (unless noreply) and the error counters.
  void fail(Buffer& out, Exec& ex, bool meta, std::uint64_t start, std::string_view line,
            bool noreply = false);
  // A value over the limits: the error (unless noreply), the old value of a set removed, and the
  // data block skipped.
  std::size_t too_large(const Request& r, Buffer& out, Exec& ex, std::string_view key, std::size_t n,
                        bool remove_old, bool noreply);
  // Whether a value of n bytes, with the line before it, is over the limits.
  bool over_limits(const Request& r, const Exec& ex, std::size_t n) const noexcept;

  store::Status apply_store(Exec& ex, std::string_view key, std::string_view value,
                            const store::SetRequest& req, std::uint64_t* cas);
  Proto text_proto() const noexcept {
    return mode_ == Mode::kDatagram ? Proto::kMemcacheUdp : Proto::kMemcacheText;
  }
  Proto meta_proto() const noexcept {
    return mode_ == Mode::kDatagram ? Proto::kMemcacheUdp : Proto::kMemcacheMeta;
  }

  const Mode mode_;
  bool closing_ = false;
  // Datagram mode: the most reply bytes, and whether a reply would have passed them.
  std::size_t budget_ = static_cast<std::size_t>(-1);
  bool overflow_ = false;
  std::size_t get_resume_ = 0;   // a get line stopped at the reply cap: offset of its next key
  std::uint8_t long_get_ = 0;    // inside a long get line: 1 get, 2 gets (its keys come next)
  bool long_get_nul_ = false;    // a long get line had a NUL: the rest of it is ignored
  bool wrongtype_ = false;       // serve_keys stopped at a hash key (its error line ends the reply)
  bool skip_line_ = false;       // skipping the rest of a long get line refused for a bad key
  bool dumping_ = false;         // a metadump stopped at the reply cap: it goes on from dump_cursor_
  std::uint64_t dump_cursor_ = 0;
  bool get_first_ = true;        // the current get has counted no key yet
  std::uint64_t get_start_ = 0;  // cycles() when the current long get line started
  std::size_t scan_ = 0;       // bytes at the front of the input known to hold no '\n'
  std::uint64_t swallow_ = 0;  // bytes of a refused data block still to skip
  std::string_view key_;       // the current meta command's key (decoded when base64)
  char key_buf_[proto::memcache::kMaxKeyLength];
  store::KeyRef keys_[kBatch];
  store::ItemView views_[kBatch];
};

}  // namespace ferrite::engine::memcache
