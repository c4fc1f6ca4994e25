#include "engine/resp/resp_session.h"

#include <cstring>

#include "core/clock.h"
#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_resp_session(const ConnInfo& info) {
  return std::make_unique<resp::RespSession>(info);
}

StreamService resp_service() {
  return {[](const ConnInfo& info, std::string_view) { return make_resp_session(info); }, false,
          "-ERR max number of clients reached\r\n"};  // redis-server --maxclients
}

namespace resp {

namespace {
char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
}  // namespace

bool iequals(std::string_view s, std::string_view lower_case) noexcept {
  if (s.size() != lower_case.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_case[i]) return false;
  }
  return true;
}

bool iequals_both(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

void reply_arity(Call& c) {
  Buffer& out = c.w.buffer();
  out.append("-ERR wrong number of arguments for '");
  out.append(c.cmd->name);
  out.append("' command\r\n");
}

RespSession::RespSession(const ConnInfo& info)
    : Session(info), rng_((info.id + 1) * 0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(this)) {}

std::size_t RespSession::feed(std::string_view in, Buffer& out, Exec& ex) {
  const std::size_t reply_cap = ex.reply_limit();
  const std::size_t request_cap = ex.settings().max_request_bytes;
  const std::size_t bulk_cap = ex.store().max_item_size();
  std::size_t off = 0;
  std::size_t ahead = 0;  // bytes from `off` on whose requests' keys were prefetched
  while (off < in.size() && !closing() && out.size() < reply_cap) {
    const std::string_view rest = in.substr(off);
    if (parser_.skipping()) {
      // Mid-way through an over-limit request: its bytes go as they come (nothing buffered).
      const proto::resp::ParseStatus st = parser_.parse(rest, request_cap, bulk_cap);
      if (st == proto::resp::ParseStatus::kIncomplete) break;
      if (st == proto::resp::ParseStatus::kSkipping) {
        off += parser_.consumed();
        continue;
      }
      if (st == proto::resp::ParseStatus::kRefused) {
        off += parser_.consumed();
        refuse(out, ex);
        continue;
      }
      fatal(out, ex);
      return in.size();
    }
    if (mget_left_ > 0) {
      const std::size_t used = mget_keys(rest, out, ex);
      if (used == 0) break;
      off += used;
      ahead = ahead > used ? ahead - used : 0;
      continue;
    }
    if (ahead == 0) ahead = prefetch_pipeline(rest, proto::resp::peek_request, ex);
    if (const std::size_t used = mget_begin(rest, out, ex); used > 0) {
      off += used;
      ahead = ahead > used ? ahead - used : 0;
      continue;
    }
    const proto::resp::ParseStatus st = parser_.parse(rest, request_cap, bulk_cap);
    if (st == proto::resp::ParseStatus::kIncomplete) break;
    if (st == proto::resp::ParseStatus::kSkipping || st == proto::resp::ParseStatus::kRefused) {
      off += parser_.consumed();
      ahead = 0;
      if (st == proto::resp::ParseStatus::kRefused) refuse(out, ex);
      continue;
    }
    if (st == proto::resp::ParseStatus::kError) {
      fatal(out, ex);
      return in.size();
    }
    pending_input_ = rest.size();
    off += parser_.consumed();
    ahead = ahead > parser_.consumed() ? ahead - parser_.consumed() : 0;
    if (!parser_.args().empty()) execute(parser_.args(), out, ex);
  }
  return off;
}

// Redis answers a protocol error and closes the connection.
void RespSession::fatal(Buffer& out, Exec& ex) {
  scratch_.clear();
  scratch_.append("ERR ");
  parser_.error_message(scratch_);
  proto::resp::Writer(out, resp_).error(scratch_.view());
  ex.protocol_error(Proto::kResp);
  ex.count(Proto::kResp, Op::k_error);
  parser_.reset();
  close_after_reply();
}

// An over-limit request, swallowed whole: its error, and the connection goes on.
void RespSession::refuse(Buffer& out, Exec& ex) {
  scratch_.clear();
  scratch_.append("ERR ");
  parser_.error_message(scratch_);
  proto::resp::Writer(out, resp_).error(scratch_.view());
  ex.count(Proto::kResp, Op::k_error);
}

std::size_t RespSession::mget_begin(std::string_view in, Buffer& out, Exec& ex) {
  // "*<count>\r\n$4\r\nMGET\r\n" (any case), count in plain digits: the form clients send.
  // In MULTI an MGET is queued; while gated (loading) it goes through execute()'s checks.
  if (in.size() < 16 || in[0] != '*' || in_multi_ || ex.gated) return 0;
  std::size_t i = 1;
  std::int64_t count = 0;
  while (i < in.size() && i < 9 && in[i] >= '0' && in[i] <= '9') count = count * 10 + (in[i++] - '0');
  if (i == 1 || in[1] == '0' || in.size() < i + 14 || in.substr(i, 6) != "\r\n$4\r\n" ||
      !iequals(in.substr(i + 6, 4), "mget") || in.substr(i + 10, 2) != "\r\n") {
    return 0;
  }
  // No key is the parser's arity error; too many its multibulk error.
  if (count < 2 || count > proto::resp::kMaxMultibulkLength) return 0;
  parser_.reset();  // it may hold the progress of this very request, seen incomplete before
  mget_left_ = count - 1;
  mget_first_ = true;
  mget_start_ = cycles();
  static const std::string_view kName = find_command("mget")->name;
  last_command_ = kName;
  ++commands_;
  proto::resp::Writer(out, resp_).array(static_cast<std::size_t>(count - 1));
  return i + 12;
}

std::size_t RespSession::mget_keys(std::string_view in, Buffer& out, Exec& ex) {
  const std::size_t request_cap = ex.settings().max_request_bytes;
  // Frame the complete bulks at the front (one batch at most), as the parser would. A bad one
  // after some good ones ends the batch: those are answered first, the error comes next call.
  std::size_t n = 0, pos = 0;
  while (n < kMgetBatch && static_cast<std::int64_t>(n) < mget_left_ && pos < in.size()) {
    if (n > 0 && in[pos] != '$') break;
    if (in[pos] != '$') {
      scratch_.clear();
      scratch_.append("ERR Protocol error: expected '$', got '");
      scratch_.push_back(in[pos]);
      scratch_.push_back('\'');
      mget_fail(out, ex, scratch_.view());
      return in.size();
    }
    const void* cr = std::memchr(in.data() + pos, '\r', in.size() - pos);
    if (cr == nullptr) {
      if (n == 0 && in.size() - pos > proto::resp::kInlineMaxSize) {
        mget_fail(out, ex, "ERR Protocol error: too big bulk count string");
        return in.size();
      }
      break;
    }
    const auto r = static_cast<std::size_t>(static_cast<const char*>(cr) - in.data());
    if (r + 1 >= in.size()) break;
    std::int64_t len = 0;
    const bool number = proto::resp::parse_i64(in.substr(pos + 1, r - pos - 1), &len) && len >= 0 &&
                        len <= proto::resp::kMaxBulkLength;
    if (!number || static_cast<std::uint64_t>(len) + 4 > request_cap) {
      if (n > 0) break;
      scratch_.clear();
      scratch_.append("ERR ");
      scratch_.append(number ? proto::resp::kRequestTooLargeMessage : "Protocol error: invalid bulk length");
      mget_fail(out, ex, scratch_.view());
      return in.size();
    }
    const auto end = r + 2 + static_cast<std::size_t>(len) + 2;  // the 2 bytes after it unseen, as Redis
    if (end > in.size()) break;
    mget_keys_[n] = store::make_key(in.substr(r + 2, static_cast<std::size_t>(len)));
    mget_ends_[n++] = end;
    pos = end;
  }
  if (n == 0) return 0;
  ex.ctx.get_batch(std::span<const store::KeyRef>(mget_keys_, n), mget_items_);
  const std::size_t reply_cap = ex.reply_limit();
  proto::resp::Writer w(out, resp_);
  std::size_t done = 0;
  // The first key always (the caller checked the cap), then until the cap.
  while (done < n && (done == 0 || out.size() < reply_cap)) {
    const store::ItemView& it = mget_items_[done];
    ex.note_key(mget_keys_[done].key);  // where it is answered: a key framed again is not counted twice
    if (it && it.is_string()) {  // a key of another type is nil to MGET, as in Redis
      ex.hit(Proto::kResp);
      w.bulk(it.value());
    } else {
      ex.miss(Proto::kResp);
      w.null();
    }
    if (mget_first_) {
      ex.count(Proto::kResp, Op::k_get, mget_start_);
      mget_first_ = false;
    } else {
      ex.count(Proto::kResp, Op::k_get);
    }
    ++done;
  }
  mget_left_ -= static_cast<std::int64_t>(done);
  return mget_ends_[done - 1];
}

void RespSession::mget_fail(Buffer& out, Exec& ex, std::string_view message) {
  // The array already begun stays short: Redis would have refused the request before any reply,
  // but here the keys before the bad one were answered as they came.
  proto::resp::Writer(out, resp_).error(message);
  ex.protocol_error(Proto::kResp);
  ex.count(Proto::kResp, Op::k_error);
  mget_left_ = 0;
  close_after_reply();
}

void RespSession::execute(std::span<const std::string_view> argv, Buffer& out, Exec& ex) {
  const std::uint64_t start = cycles();
  Call c{ex, ex.ctx, proto::resp::Writer(out, resp_), argv, nullptr, Op::k_error};
  const CommandSpec* cmd = find_command(argv[0]);
  if (cmd == nullptr) {
    reply_unknown(c, false);
    multi_dirty_ = in_multi_;  // an error while queueing: EXEC will abort
    ex.count(Proto::kResp, Op::k_error, start);
    return;
  }
  if (!cmd->subcommands.empty() && argv.size() > 1) {
    const CommandSpec* sub = find_subcommand(*cmd, argv[1]);
    if (sub == nullptr) {
      reply_unknown(c, true);
      multi_dirty_ = in_multi_;
      ex.count(Proto::kResp, Op::k_error, start);
      return;
    }
    cmd = sub;
  }
  c.cmd = cmd;
  last_command_ = cmd->name;
  const auto argc = static_cast<int>(argv.size());
  if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity || cmd->handler == nullptr) {
    reply_arity(c);
    multi_dirty_ = in_multi_;
    ex.count(Proto::kResp, Op::k_error, start);
    return;
  }
  if (FERRITE_UNLIKELY(ex.gated) && refused(c)) {
    multi_dirty_ = in_multi_;  // Redis flags the transaction too: EXEC answers EXECABORT
    ex.count(Proto::kResp, Op::k_error, start);
    return;
  }
  c.op = cmd->op;
  ++commands_;
  // In MULTI: queued (counted, and its keys noted, when EXEC runs it), unless it is one that
  // runs at once.
  if (FERRITE_UNLIKELY(in_multi_) && queue_command(c)) return;
  run(c);
  for (unsigned i = 1; i < c.times; ++i) ex.count(Proto::kResp, c.op);
  ex.count(Proto::kResp, c.op, start);
}

bool RespSession::refused(Call& c) {
  switch (c.ex.gate(!has_flag(c.cmd->flags, "loading"), has_flag(c.cmd->flags, "write"))) {
    case Refusal::kNone:
      return false;
    case Refusal::kLoading:
      c.w.error("LOADING Ferrite is loading the dataset in memory");
      return true;
    case Refusal::kWriteFailed:
      scratch_.clear();
      scratch_.append("MISCONF Errors writing to the AOF file: ");
      scratch_.append(std::string_view(c.ex.write_failure()));
      c.w.error(scratch_.view());
      return true;
  }
  return false;
}

bool has_flag(const char* flags, std::string_view word) noexcept {
  std::string_view rest(flags);
  while (!rest.empty()) {
    const std::size_t sp = rest.find(' ');
    if (rest.substr(0, sp) == word) return true;
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return false;
}

// Every key the command's key spec names feeds the hot-key sketch (sampled; no allocation): one
// place for every keyed command, those added later included.
// Runs one command's handler: its keys feed the hot-key sketch, and a NO-TOUCH client's reads
// leave the items' access bytes alone (all but TOUCH's, as in Redis). EXEC runs its queue here too.
void RespSession::run(Call& c) {
  note_keys(*c.cmd, c.argv, c.ex);
  if (no_touch_ && c.cmd->handler != &RespSession::cmd_touch) {  // CLIENT NO-TOUCH (resp_admin.cc)
    c.ctx.set_no_touch(true);
    (this->*(c.cmd->handler))(c);
    c.ctx.set_no_touch(false);
  } else {
    (this->*(c.cmd->handler))(c);
  }
}

void RespSession::note_keys(const CommandSpec& cmd, std::span<const std::string_view> argv,
                            Exec& ex) noexcept {
  for_each_key(cmd.key_spec, argv, [&ex](std::string_view key) { ex.note_key(key); });
}

// Redis 7's words: "unknown command 'foo', with args beginning with: 'a' 'b' " (the arguments
// quoted up to 128 bytes in all), or "unknown subcommand 'foo'. Try CONFIG HELP.".
void RespSession::reply_unknown(Call& c, bool subcommand) {
  scratch_.clear();
  if (subcommand) {
    scratch_.append("ERR unknown subcommand '");
    scratch_.append(cstr(c.argv[1]).substr(0, 128));
    scratch_.append("'. Try ");
    for (const char ch : cstr(c.argv[0]))
      scratch_.push_back(ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 'a' + 'A') : ch);
    scratch_.append(" HELP.");
  } else {
    scratch_.append("ERR unknown command '");
    scratch_.append(cstr(c.argv[0]).substr(0, 128));
    scratch_.append("', with args beginning with: ");
    const std::size_t args_start = scratch_.size();
    for (std::size_t i = 1; i < c.argv.size(); ++i) {
      const std::size_t used = scratch_.size() - args_start;
      if (used >= 128) break;
      scratch_.push_back('\'');
      scratch_.append(cstr(c.argv[i]).substr(0, 128 - used));
      scratch_.append("' ");
    }
  }
  c.w.error(scratch_.view());
}

}  // namespace resp
}  // namespace ferrite::engine
