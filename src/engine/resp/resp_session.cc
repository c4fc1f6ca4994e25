#include "engine/resp/resp_session.h"

#include "core/clock.h"
#include "engine/resp/resp_internal.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_resp_session(const ConnInfo& info) {
  return std::make_unique<resp::RespSession>(info);
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

RespSession::RespSession(const ConnInfo& info) : Session(info) {}

std::size_t RespSession::feed(std::string_view in, Buffer& out, Exec& ex) {
  const std::size_t reply_cap = ex.reply_limit();
  const std::size_t request_cap = ex.settings().max_request_bytes;
  std::size_t off = 0;
  std::size_t ahead = 0;  // bytes from `off` on whose requests' keys were prefetched
  while (off < in.size() && !closing() && out.size() < reply_cap) {
    const std::string_view rest = in.substr(off);
    if (ahead == 0) ahead = prefetch_pipeline(rest, proto::resp::peek_request, ex);
    const proto::resp::ParseStatus st = parser_.parse(rest, request_cap);
    if (st == proto::resp::ParseStatus::kIncomplete) break;
    if (st == proto::resp::ParseStatus::kError) {
      // Redis answers a protocol error and closes the connection.
      scratch_.clear();
      scratch_.append("ERR ");
      parser_.error_message(scratch_);
      proto::resp::Writer(out, resp_).error(scratch_.view());
      ex.protocol_error(Proto::kResp);
      ex.count(Proto::kResp, Op::k_error);
      parser_.reset();
      close_after_reply();
      return in.size();
    }
    pending_input_ = rest.size();
    off += parser_.consumed();
    ahead = ahead > parser_.consumed() ? ahead - parser_.consumed() : 0;
    if (!parser_.args().empty()) execute(parser_.args(), out, ex);
  }
  return off;
}

void RespSession::execute(std::span<const std::string_view> argv, Buffer& out, Exec& ex) {
  const std::uint64_t start = cycles();
  Call c{ex, ex.ctx, proto::resp::Writer(out, resp_), argv, nullptr, Op::k_error};
  const CommandSpec* cmd = find_command(argv[0]);
  if (cmd == nullptr) {
    reply_unknown(c, false);
    ex.count(Proto::kResp, Op::k_error, start);
    return;
  }
  if (!cmd->subcommands.empty() && argv.size() > 1) {
    const CommandSpec* sub = find_subcommand(*cmd, argv[1]);
    if (sub == nullptr) {
      reply_unknown(c, true);
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
    ex.count(Proto::kResp, Op::k_error, start);
    return;
  }
  c.op = cmd->op;
  ++commands_;
  (this->*(cmd->handler))(c);
  for (unsigned i = 1; i < c.times; ++i) ex.count(Proto::kResp, c.op);
  ex.count(Proto::kResp, c.op, start);
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
