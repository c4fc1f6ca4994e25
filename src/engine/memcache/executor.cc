// The classic text commands; the meta commands are in executor_meta.cc.
#include "engine/memcache/executor.h"

#include <climits>
#include <cstring>
#include <span>

#include "core/clock.h"
#include "engine/memcache_semantics.h"
#include "engine/memcache_stats.h"
#include "proto/memcache/reply.h"

namespace ferrite::engine::memcache {

using proto::memcache::Command;
using proto::memcache::LineStatus;
using proto::memcache::Tokens;
namespace mc = proto::memcache;

namespace {

constexpr std::string_view kBadFormat = "CLIENT_ERROR bad command line format";
constexpr std::string_view kTooLarge = "SERVER_ERROR object too large for cache";
constexpr std::string_view kNoMemory = "SERVER_ERROR out of memory storing object";
constexpr std::string_view kBadChunk = "CLIENT_ERROR bad data chunk";
constexpr std::string_view kBadExptime = "CLIENT_ERROR invalid exptime argument";
constexpr std::string_view kWrongType = kWrongTypeError;

Op op_of(Command c) noexcept {
  switch (c) {
    case Command::kSet:
      return Op::k_set;
    case Command::kAdd:
      return Op::k_add;
    case Command::kReplace:
      return Op::k_replace;
    case Command::kAppend:
      return Op::k_append;
    case Command::kPrepend:
      return Op::k_prepend;
    case Command::kCas:
      return Op::k_cas;
    case Command::kIncr:
      return Op::k_incr;
    case Command::kDecr:
      return Op::k_decr;
    default:
      return Op::k_other;
  }
}

store::SetMode mode_of(Command c) noexcept {
  switch (c) {
    case Command::kAdd:
      return store::SetMode::kAdd;
    case Command::kReplace:
      return store::SetMode::kReplace;
    case Command::kAppend:
      return store::SetMode::kAppend;
    case Command::kPrepend:
      return store::SetMode::kPrepend;
    case Command::kCas:
      return store::SetMode::kCas;
    default:
      return store::SetMode::kSet;
  }
}

// Where the keys of a get line start: after the command and, for gat/gats, the exptime.
std::string_view keys_after(const mc::Line& line, std::string_view token) noexcept {
  const auto end = static_cast<std::size_t>(token.data() - line.text.data()) + token.size();
  return line.text.substr(end);
}

}  // namespace

Executor::Executor(Mode mode) noexcept : mode_(mode) {}

void Executor::reset(std::size_t budget) noexcept {
  closing_ = false;
  scan_ = 0;
  swallow_ = 0;
  budget_ = budget;
  overflow_ = false;
  get_resume_ = 0;
  long_get_ = 0;
  long_get_nul_ = false;
  skip_line_ = false;
  get_first_ = true;
}

std::size_t Executor::run(std::string_view in, Buffer& out, Exec& ex) {
  std::size_t pos = 0;
  std::size_t ahead = 0;  // bytes from `pos` on whose commands' keys were prefetched
  while (pos < in.size() && !closing_ && !overflow_) {
    if (swallow_ > 0) {
      const std::size_t n = std::min<std::uint64_t>(swallow_, in.size() - pos);
      swallow_ -= n;
      pos += n;
      ahead = ahead > n ? ahead - n : 0;
      continue;
    }
    if (mode_ == Mode::kStream && out.size() >= ex.reply_limit()) break;
    if (mode_ == Mode::kStream && ahead == 0) ahead = prefetch_pipeline(in.substr(pos), mc::peek_command, ex);
    const std::size_t used = step(in.substr(pos), out, ex);
    // A datagram's replies past the budget (stats, or many small replies): the rest is not run.
    if (mode_ == Mode::kDatagram && out.size() > budget_) overflow_ = true;
    if (used == 0) break;
    pos += used;
    ahead = ahead > used ? ahead - used : 0;
  }
  return pos;
}

void Executor::reply(Buffer& out, std::string_view line, bool noreply) {
  if (!noreply) mc::append_line(out, line);
}

void Executor::fail(Buffer& out, Exec& ex, bool meta, std::uint64_t start, std::string_view line,
                    bool noreply) {
  const Proto p = meta ? meta_proto() : text_proto();
  reply(out, line, noreply);
  ex.protocol_error(p);
  ex.count(p, Op::k_error, start);
}

bool Executor::over_limits(const Request& r, const Exec& ex, std::size_t n) const noexcept {
  const std::size_t max_item = ex.shared.store->max_item_size();
  return n > max_item || r.line.consumed + n + 2 > ex.settings().max_request_bytes;
}

std::size_t Executor::too_large(const Request& r, Buffer& out, Exec& ex, std::string_view key, std::size_t n,
                                bool remove_old, bool noreply) {
  // memcached removes the old value of a failed set, so that no stale value is read after it.
  if (remove_old) unlink_after_failed_set(ex.ctx, key);
  fail(out, ex, mc::is_meta(r.cmd), r.start, kTooLarge, noreply);
  swallow_ = static_cast<std::uint64_t>(n) + 2;
  return r.line.consumed;
}

store::Status Executor::apply_store(Exec& ex, std::string_view key, std::string_view value,
                                    const store::SetRequest& req, std::uint64_t* cas) {
  // A set that could not be stored leaves no old value behind (memcached unlinks it): text `set`
  // and meta `ms` in set mode, the commands in kSet mode here.
  const store::SetResult res = memcache_set(ex.ctx, key, value, req, req.mode == store::SetMode::kSet);
  *cas = res.cas;
  return res.status;
}

std::size_t Executor::step(std::string_view in, Buffer& out, Exec& ex) {
  if (skip_line_) {
    const void* nl = std::memchr(in.data(), '\n', in.size());
    if (nl == nullptr) return in.size();
    skip_line_ = false;
    return static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) + 1;
  }
  if (long_get_ != 0) return long_get(in, out, ex);
  mc::Line line;
  switch (mc::next_line(in, &scan_, &line)) {
    case LineStatus::kComplete:
      break;
    case LineStatus::kNeedMore:
      // Past kMaxLineWithoutNewline only a get/gets line waits: served as its keys arrive
      // (while loading, refused at once and the rest of its line skipped).
      if (mode_ == Mode::kStream && in.size() > mc::kMaxLineWithoutNewline) {
        if (FERRITE_UNLIKELY(ex.gated && ex.loading)) {
          scan_ = 0;
          mc::append_line(out, kLoadingError);
          ex.count(text_proto(), Op::k_error);
          skip_line_ = true;
          return step(in, out, ex);
        }
        return begin_long_get(in);
      }
      return 0;
    case LineStatus::kTooLong:
      fail(out, ex, false, cycles(), "CLIENT_ERROR line too long");
      closing_ = true;
      return 0;
  }
  const std::uint64_t start = cycles();
  Tokens t;
  mc::tokenize(line.text, &t);
  if (t.count == 0 || t.tok[0].size() < 2) {
    fail(out, ex, false, start, "ERROR");
    return line.consumed;
  }
  const Command cmd = mc::classify(t.tok[0]);
  const Request r{cmd, t, line, in, start};
  if (FERRITE_UNLIKELY(ex.gated)) {
    if (const std::size_t used = gate(r, out, ex); used > 0) return used;
  }
  switch (cmd) {
    case Command::kGet:
    case Command::kGets:
    case Command::kGat:
    case Command::kGats:
      return retrieve(r, out, ex);
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      return store(r, out, ex);
    case Command::kDelete:
      return remove(r, out, ex);
    case Command::kIncr:
    case Command::kDecr:
      return arith(r, out, ex);
    case Command::kTouch:
      return touch(r, out, ex);
    case Command::kFlushAll:
      return flush_all(r, out, ex);
    case Command::kVerbosity:
      return verbosity(r, out, ex);
    case Command::kStats:
      return stats(r, out, ex);
    case Command::kVersion:
      out.append("VERSION ", 8);
      mc::append_line(out, ex.settings().memcache_version);
      ex.count(text_proto(), Op::k_noop, start);
      return line.consumed;
    case Command::kQuit:
      ex.count(text_proto(), Op::k_other, start);
      closing_ = true;
      return line.consumed;
    case Command::kShutdown:
      // memcached without -A (Ferrite stops on SIGTERM or from the management socket).
      mc::append_line(out, "ERROR: shutdown not enabled");
      ex.count(text_proto(), Op::k_other, start);
      return line.consumed;
    case Command::kMetaNoop:
      mc::append_line(out, "MN");
      ex.count(meta_proto(), Op::k_noop, start);
      return line.consumed;
    case Command::kMetaGet:
      return meta_get(r, out, ex);
    case Command::kMetaSet:
      return meta_set(r, out, ex);
    case Command::kMetaDelete:
      return meta_delete(r, out, ex);
    case Command::kMetaArithmetic:
      return meta_arith(r, out, ex);
    case Command::kMetaDebug:
      return meta_debug(r, out, ex);
    case Command::kUnknown:
      break;
  }
  if (t.last().substr(0, 5) == "HTTP/") {
    // An HTTP client on the memcache port: memcached closes without a reply.
    ex.protocol_error(text_proto());
    ex.count(text_proto(), Op::k_error, start);
    closing_ = true;
    return line.consumed;
  }
  if (std::size_t consumed = 0; lru_crawler(r, out, ex, &consumed)) return consumed;
  fail(out, ex, mc::is_meta(cmd), start, "ERROR");
  return line.consumed;
}

std::size_t Executor::gate(const Request& r, Buffer& out, Exec& ex) {
  const bool meta = mc::is_meta(r.cmd);
  bool keyed = true, write = false;
  std::size_t len_token = 0;  // the data block's length token, for a command that has one
  switch (r.cmd) {
    case Command::kGet:
    case Command::kGets:
    case Command::kMetaDebug:
      break;
    case Command::kMetaGet:
      // mg with T (touch) or N (vivify on miss) changes the store.
      for (std::size_t i = 2; i < r.t.count; ++i) {
        if (r.t.tok[i].starts_with('T') || r.t.tok[i].starts_with('N')) write = true;
      }
      break;
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
      write = true;
      len_token = 4;
      break;
    case Command::kMetaSet:
      write = true;
      len_token = 2;
      break;
    case Command::kGat:
    case Command::kGats:
    case Command::kDelete:
    case Command::kIncr:
    case Command::kDecr:
    case Command::kTouch:
    case Command::kMetaDelete:
    case Command::kMetaArithmetic:
      write = true;
      break;
    case Command::kFlushAll:
      keyed = false;
      write = true;
      break;
    default:
      return 0;  // version, stats, verbosity, quit, mn, ...: always answered
  }
  const Refusal why = ex.gate(keyed, write);
  if (why == Refusal::kNone) return 0;
  const std::size_t used = r.line.consumed;
  if (len_token != 0) {
    // The data block is skipped as it comes; a bad length is the command's own error.
    std::int32_t vlen = -1;
    if (r.t.count <= len_token || !mc::parse_i32(r.t.tok[len_token], &vlen) || vlen < 0 || vlen > INT_MAX - 2) {
      return 0;
    }
    swallow_ = static_cast<std::uint64_t>(vlen) + 2;
  }
  // Classic noreply silences errors too (memcached's rule); meta q never silences one.
  const bool noreply = !meta && r.t.last() == "noreply";
  const Proto p = meta ? meta_proto() : text_proto();
  if (!noreply) {
    if (why == Refusal::kLoading) {
      mc::append_line(out, kLoadingError);
    } else {
      out.append(kWriteFailedError);
      mc::append_line(out, ex.write_failure());
    }
  }
  ex.count(p, Op::k_error, r.start);
  return used;
}

std::size_t Executor::retrieve(const Request& r, Buffer& out, Exec& ex) {
  const Proto p = text_proto();
  if (r.t.ntokens() < 3) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool with_cas = r.cmd == Command::kGets || r.cmd == Command::kGats;
  const bool touch = r.cmd == Command::kGat || r.cmd == Command::kGats;
  std::uint64_t deadline = 0;
  std::string_view keys = keys_after(r.line, r.t.tok[0]);
  if (touch) {
    std::int32_t exptime = 0;
    if (!mc::parse_i32(r.t.tok[1], &exptime)) {
      fail(out, ex, false, r.start, kBadExptime);
      return r.line.consumed;
    }
    deadline = memcache_deadline(exptime, ex);
    keys = keys_after(r.line, r.t.tok[1]);
  }
  if (get_resume_ == 0) {
    // memcached answers a line with a key that is too long with only the error (it drops the
    // values it had found before it); checking first also keeps gat from touching any key.
    mc::KeyIterator it(keys);
    std::string_view k;
    while (it.next(&k)) {
      if (k.size() > mc::kMaxKeyLength) {
        fail(out, ex, false, r.start, kBadFormat);
        return r.line.consumed;
      }
    }
    get_first_ = true;
    get_start_ = r.start;
  } else {
    keys = r.line.text.substr(get_resume_);  // the keys it stopped before at the reply cap
  }
  const Op op = touch ? Op::k_gat : Op::k_get;
  std::size_t stop = 0;
  if (!serve_keys(keys, r.line.text.data(), with_cas, touch, deadline, out, ex, &stop)) {
    if (wrongtype_) {  // the error line ended the reply
      wrongtype_ = false;
      get_resume_ = 0;
      return r.line.consumed;
    }
    if (overflow_) return r.line.consumed;  // a datagram: its handler answers the error
    get_resume_ = stop;                     // the rest once the peer has read
    return 0;
  }
  get_resume_ = 0;
  if (get_first_) ex.count(p, op, r.start);  // "gat <exptime>" with no key: memcached answers END
  mc::append_line(out, "END");
  return r.line.consumed;
}

void Executor::count_get_key(Op op, std::uint64_t start, Exec& ex) {
  if (get_first_) {
    ex.count(text_proto(), op, start);
    get_first_ = false;
  } else {
    ex.count(text_proto(), op);
  }
}

bool Executor::serve_keys(std::string_view keys, const char* base, bool with_cas, bool touch,
                          std::uint64_t deadline, Buffer& out, Exec& ex, std::size_t* stop) {
  const Proto p = text_proto();
  const Op op = touch ? Op::k_gat : Op::k_get;
  const std::size_t cap = mode_ == Mode::kStream ? ex.reply_limit() : budget_;
  const std::uint64_t start = get_start_;
  // One key's reply; false (nothing written) when it stops before this key.
  const auto serve = [&](std::string_view key, const store::ItemView& v) {
    if (mode_ == Mode::kStream) {
      if (out.size() >= cap) {
        *stop = static_cast<std::size_t>(key.data() - base);
        return false;
      }
    } else if (v && out.size() + mc::value_reply_bytes(v.key(), v.flags(), v.value(), with_cas, v.cas()) + 5 >
                        cap) {
      overflow_ = true;  // the value and END would not fit: not built at all
      return false;
    }
    if (v && !v.is_string()) {
      mc::append_line(out, kWrongType);
      ex.hit(p);
      count_get_key(op, start, ex);
      wrongtype_ = true;
      return false;
    }
    if (v) {
      mc::append_value(out, v.key(), v.flags(), v.value(), with_cas, v.cas());
      ex.hit(p);
    } else {
      ex.miss(p);
    }
    count_get_key(op, start, ex);
    ex.note_key(key);  // every key of a multi-get feeds the hot-key sketch
    return true;
  };
  mc::KeyIterator it(keys);
  std::string_view k;
  if (touch) {
    while (it.next(&k)) {
      if (mode_ == Mode::kStream && out.size() >= cap) {
        *stop = static_cast<std::size_t>(k.data() - base);
        return false;
      }
      // A hash is refused before its TTL is touched.
      if (const store::ItemView cur = ex.ctx.get(k); cur && !cur.is_string()) {
        if (!serve(k, cur)) return false;
      } else if (!serve(k, ex.ctx.gat(k, deadline))) {
        return false;
      }
    }
    return true;
  }
  bool more = true;
  while (more) {
    std::size_t n = 0;
    while (n < kBatch && (more = it.next(&k))) keys_[n++] = ex.key_ref(k);
    if (n == 0) break;
    ex.ctx.get_batch(std::span<const store::KeyRef>(keys_, n), views_);
    for (std::size_t i = 0; i < n; ++i) {
      if (!serve(keys_[i].key, views_[i])) return false;
    }
  }
  return true;
}

std::size_t Executor::begin_long_get(std::string_view in) {
  std::size_t i = 0;
  while (in[i] == ' ') ++i;  // next_line let at most 100 through, then "get " or "gets "
  const bool gets = in.substr(i, 5) == "gets ";
  long_get_ = gets ? 2 : 1;
  get_first_ = true;
  get_start_ = cycles();
  scan_ = 0;
  return i + (gets ? 5 : 4);
}

std::size_t Executor::long_get(std::string_view in, Buffer& out, Exec& ex) {
  const bool with_cas = long_get_ == 2;
  const void* nl = std::memchr(in.data(), '\n', in.size());
  std::size_t end = 0;       // the complete keys are in in[0, end)
  std::size_t consumed = 0;  // what serving them all takes
  if (long_get_nul_) {
    // Past a NUL: memcached's line ended there (it reads a C string); the rest is ignored.
    end = 0;
    consumed =
        nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) + 1 : in.size();
  } else if (nl != nullptr) {
    end = static_cast<std::size_t>(static_cast<const char*>(nl) - in.data());
    consumed = end + 1;
    if (end > 0 && in[end - 1] == '\r') --end;
  } else {
    const std::size_t space = in.rfind(' ');
    end = space == std::string_view::npos ? 0 : space;
    consumed = space == std::string_view::npos ? 0 : space + 1;
    // The key still arriving can already be too long.
    if (in.size() - consumed > mc::kMaxKeyLength) end = in.size();
  }
  bool nul = false;
  if (!long_get_nul_) {
    const std::size_t upto = nl != nullptr ? end : in.size();
    if (const void* z = std::memchr(in.data(), '\0', upto); z != nullptr) {
      end = static_cast<std::size_t>(static_cast<const char*>(z) - in.data());
      nul = true;  // the key before it is complete
    }
  }
  const std::string_view keys = in.substr(0, end);
  {
    mc::KeyIterator it(keys);
    std::string_view k;
    while (it.next(&k)) {
      if (k.size() > mc::kMaxKeyLength) {
        fail(out, ex, false, get_start_, kBadFormat);
        long_get_ = 0;
        long_get_nul_ = false;
        if (nl != nullptr) return consumed;
        skip_line_ = true;
        return in.size();
      }
    }
  }
  std::size_t stop = 0;
  if (!serve_keys(keys, in.data(), with_cas, false, 0, out, ex, &stop)) {
    if (!wrongtype_) return stop;
    wrongtype_ = false;  // the error line ended the reply: the rest of the line is dropped
    long_get_ = 0;
    const bool ended = nl != nullptr && !long_get_nul_;
    long_get_nul_ = false;
    if (ended) return consumed;
    skip_line_ = true;
    return in.size();
  }
  if (nl == nullptr) {
    if (!nul) return consumed;
    long_get_nul_ = true;
    return in.size();
  }
  long_get_ = 0;
  long_get_nul_ = false;
  if (get_first_) ex.count(text_proto(), Op::k_get, get_start_);
  mc::append_line(out, "END");
  return consumed;
}

std::size_t Executor::store(const Request& r, Buffer& out, Exec& ex) {
  const bool is_cas = r.cmd == Command::kCas;
  const std::size_t base = is_cas ? 7 : 6;
  if (r.t.ntokens() != base && r.t.ntokens() != base + 1) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool noreply = r.t.last() == "noreply";
  const std::string_view key = r.t.tok[1];
  if (key.size() > mc::kMaxKeyLength) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  std::uint32_t flags = 0;
  std::int32_t exptime = 0;
  std::int32_t vlen = 0;
  std::uint64_t cas = 0;
  if (!mc::parse_u32(r.t.tok[2], &flags) || !mc::parse_i32(r.t.tok[3], &exptime) ||
      !mc::parse_i32(r.t.tok[4], &vlen) || (is_cas && !mc::parse_u64(r.t.tok[5], &cas)) || vlen < 0 ||
      vlen > INT_MAX - 2) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  const auto n = static_cast<std::size_t>(vlen);
  if (over_limits(r, ex, n)) return too_large(r, out, ex, key, n, r.cmd == Command::kSet, noreply);
  const std::size_t total = r.line.consumed + n + 2;
  if (r.in.size() < total) return 0;  // the data block is not all here yet
  if (r.in.substr(r.line.consumed + n, 2) != "\r\n") {
    fail(out, ex, false, r.start, kBadChunk, noreply);
    return total;
  }
  ex.note_key(key);  // once the data block is whole (the line is parsed again until it is)
  store::SetRequest req;
  req.mode = mode_of(r.cmd);
  req.flags = flags;
  req.expires_at_ms = memcache_deadline(exptime, ex);
  req.cas = cas;
  req.may_wait = true;  // the value is the request's
  std::uint64_t new_cas = 0;
  std::string_view result;
  switch (apply_store(ex, key, r.in.substr(r.line.consumed, n), req, &new_cas)) {
    case store::Status::kOk:
      result = "STORED";
      break;
    case store::Status::kNotStored:
      result = "NOT_STORED";
      break;
    case store::Status::kExists:
      result = "EXISTS";
      break;
    case store::Status::kNotFound:
      result = "NOT_FOUND";
      break;
    case store::Status::kTooLarge:
      result = kTooLarge;
      break;
    case store::Status::kWrongType:  // append/prepend on a hash
      result = kWrongType;
      break;
    default:
      result = kNoMemory;
      break;
  }
  reply(out, result, noreply);
  ex.count(text_proto(), op_of(r.cmd), r.start);
  return total;
}

std::size_t Executor::remove(const Request& r, Buffer& out, Exec& ex) {
  const std::size_t nt = r.t.ntokens();
  if (nt < 3 || nt > 5) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  bool noreply = false;
  if (nt > 3) {
    // memcached accepts a legacy hold time of 0 only: "delete <key> [0] [noreply]".
    const bool hold_is_zero = r.t.tok[2] == "0";
    noreply = r.t.last() == "noreply";
    const bool valid = (nt == 4 && (hold_is_zero || noreply)) || (nt == 5 && hold_is_zero && noreply);
    if (!valid) {
      fail(out, ex, false, r.start, "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]",
           noreply);
      return r.line.consumed;
    }
  }
  const std::string_view key = r.t.tok[1];
  if (key.size() > mc::kMaxKeyLength) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  ex.note_key(key);
  reply(out, ex.ctx.del(key) == store::Status::kOk ? "DELETED" : "NOT_FOUND", noreply);
  ex.count(text_proto(), Op::k_delete, r.start);
  return r.line.consumed;
}

std::size_t Executor::arith(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() != 4 && r.t.ntokens() != 5) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool noreply = r.t.last() == "noreply";
  const std::string_view key = r.t.tok[1];
  if (key.size() > mc::kMaxKeyLength) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  ex.note_key(key);
  std::uint64_t delta = 0;
  if (!mc::parse_u64(r.t.tok[2], &delta)) {
    fail(out, ex, false, r.start, "CLIENT_ERROR invalid numeric delta argument", noreply);
    return r.line.consumed;
  }
  CounterRequest c;  // the text incr/decr: no CAS, a missing key is not created
  c.delta = delta;
  c.decrement = r.cmd == Command::kDecr;
  const CounterResult res = memcache_counter(ex.ctx, key, c);
  switch (res.status) {
    case store::Status::kOk:
      if (!noreply) {
        out.append_uint(res.value);
        mc::append_crlf(out);
      }
      break;
    case store::Status::kNotFound:
      reply(out, "NOT_FOUND", noreply);
      break;
    case store::Status::kNonNumeric:
      reply(out, "CLIENT_ERROR cannot increment or decrement non-numeric value", noreply);
      break;
    case store::Status::kWrongType:
      reply(out, kWrongType, noreply);
      break;
    default:
      reply(out, "SERVER_ERROR out of memory", noreply);
      break;
  }
  ex.count(text_proto(), op_of(r.cmd), r.start);
  return r.line.consumed;
}

std::size_t Executor::touch(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() != 4 && r.t.ntokens() != 5) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool noreply = r.t.last() == "noreply";
  const std::string_view key = r.t.tok[1];
  if (key.size() > mc::kMaxKeyLength) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  ex.note_key(key);
  std::int32_t exptime = 0;
  if (!mc::parse_i32(r.t.tok[2], &exptime)) {
    fail(out, ex, false, r.start, kBadExptime, noreply);
    return r.line.consumed;
  }
  const bool ok = ex.ctx.touch(key, memcache_deadline(exptime, ex)) == store::Status::kOk;
  reply(out, ok ? "TOUCHED" : "NOT_FOUND", noreply);
  ex.count(text_proto(), Op::k_touch, r.start);
  return r.line.consumed;
}

std::size_t Executor::flush_all(const Request& r, Buffer& out, Exec& ex) {
  const std::size_t nt = r.t.ntokens();
  if (nt < 2 || nt > 4) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool noreply = r.t.last() == "noreply";
  std::int32_t exptime = 0;
  if (nt != (noreply ? 3u : 2u) && !mc::parse_i32(r.t.tok[1], &exptime)) {
    fail(out, ex, false, r.start, kBadExptime, noreply);
    return r.line.consumed;
  }
  std::uint64_t delay_ms = 0;
  if (exptime > 0) {
    // A delay uses the exptime rules: up to 30 days relative, beyond that a Unix time.
    const std::uint64_t at = memcache_deadline(exptime, ex);
    delay_ms = at > ex.now_ms() ? at - ex.now_ms() : 0;
  }
  ex.ctx.flush(delay_ms);
  reply(out, "OK", noreply);
  ex.count(text_proto(), Op::k_flush, r.start);
  return r.line.consumed;
}

std::size_t Executor::verbosity(const Request& r, Buffer& out, Exec& ex) {
  if (r.t.ntokens() != 3 && r.t.ntokens() != 4) {
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  const bool noreply = r.t.last() == "noreply";
  std::uint32_t level = 0;
  if (!mc::parse_u32(r.t.tok[1], &level)) {
    fail(out, ex, false, r.start, kBadFormat, noreply);
    return r.line.consumed;
  }
  ex.shared.settings.verbosity.store(level > mc::kMaxVerbosity ? mc::kMaxVerbosity : static_cast<int>(level),
                                     std::memory_order_relaxed);
  reply(out, "OK", noreply);
  ex.count(text_proto(), Op::k_other, r.start);
  return r.line.consumed;
}

std::size_t Executor::stats(const Request& r, Buffer& out, Exec& ex) {
  const std::string_view group = r.t.count >= 2 ? r.t.tok[1] : std::string_view();
  const std::size_t mark = out.size();
  const bool known = memcache_stats(ex, group, [&out](std::string_view name, std::string_view value) {
    mc::append_stat(out, name, value);
  });
  if (!known) {
    out.resize(mark);
    fail(out, ex, false, r.start, "ERROR");
    return r.line.consumed;
  }
  mc::append_line(out, "END");
  ex.count(text_proto(), Op::k_stats, r.start);
  return r.line.consumed;
}

}  // namespace ferrite::engine::memcache
