// Connection and server commands: PING, ECHO, SELECT, QUIT, RESET, TIME, HELLO, AUTH, CLIENT.
#include <ctime>
#include <string>

#include "engine/resp/resp_internal.h"
#include "proto/resp/resp_number.h"

namespace ferrite::engine::resp {

namespace {

constexpr std::string_view kErrWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

// Redis's rule for client names and library attributes: printable ASCII without spaces.
bool valid_client_attr(std::string_view s) noexcept {
  for (const char c : s) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

// Ferrite has no users or passwords: like a Redis whose default user has `nopass`, the default
// user accepts any password and no other user exists.
bool auth_ok(std::string_view user) noexcept { return user == "default"; }

}  // namespace

void RespSession::cmd_ping(Call& c) {
  if (c.argc() > 2) {
    reply_arity(c);
    return;
  }
  if (c.argc() == 1) {
    c.w.simple("PONG");
  } else {
    c.w.bulk(c.argv[1]);
  }
}

void RespSession::cmd_echo(Call& c) { c.w.bulk(c.argv[1]); }

void RespSession::cmd_select(Call& c) {
  std::int64_t db = 0;
  if (!proto::resp::parse_i64(c.argv[1], &db)) {
    c.w.error(kErrNotInteger);
  } else if (db < INT32_MIN || db > INT32_MAX) {
    c.w.error("ERR value is out of range, value must between -2147483648 and 2147483647");
  } else if (db != 0) {
    c.w.error("ERR DB index is out of range");  // one database
  } else {
    c.w.simple("OK");
  }
}

void RespSession::cmd_quit(Call& c) {
  c.w.simple("OK");
  close_after_reply();
}

// Back to a fresh connection's state: RESP2, no name.
void RespSession::cmd_reset(Call& c) {
  multi_reset();  // discards a transaction and forgets the watches
  resp_ = 2;
  name_.clear();
  c.w.simple("RESET");
}

void RespSession::cmd_time(Call& c) {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  char buf[24];
  c.w.array(2);
  const auto put = [&](std::uint64_t v) {
    std::size_t n = 0;
    do {
      buf[sizeof(buf) - 1 - n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    c.w.bulk({buf + sizeof(buf) - n, n});
  };
  put(static_cast<std::uint64_t>(ts.tv_sec));
  put(static_cast<std::uint64_t>(ts.tv_nsec / 1000));
}

// HELLO [protover [AUTH username password] [SETNAME clientname]]
void RespSession::cmd_hello(Call& c) {
  std::int64_t version = 0;
  std::size_t next = 1;
  if (c.argc() >= 2) {
    if (!proto::resp::parse_i64(c.argv[1], &version)) {
      c.w.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    next = 2;
    if (version < 2 || version > 3) {
      c.w.error("NOPROTO unsupported protocol version");
      return;
    }
  }
  std::string_view user, name;
  bool has_auth = false, has_name = false;
  for (std::size_t j = next; j < c.argc(); ++j) {
    const std::size_t more = c.argc() - 1 - j;
    const std::string_view opt = c.argv[j];
    if (iequals(opt, "auth") && more >= 2) {
      has_auth = true;
      user = c.argv[j + 1];
      j += 2;
    } else if (iequals(opt, "setname") && more >= 1) {
      name = c.argv[j + 1];
      if (!valid_client_attr(name)) {
        c.w.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
      has_name = true;
      ++j;
    } else {
      scratch_.clear();
      scratch_.append("ERR Syntax error in HELLO option '");
      scratch_.append(cstr(opt));
      scratch_.push_back('\'');
      c.w.error(scratch_.view());
      return;
    }
  }
  if (has_auth && !auth_ok(user)) {
    c.w.error(kErrWrongPass);
    return;
  }
  if (has_name) name_.assign(name);
  if (version != 0) resp_ = static_cast<int>(version);
  proto::resp::Writer w(c.w.buffer(), resp_);
  w.map(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisVersion);
  w.bulk("proto");
  w.integer(resp_);
  w.bulk("id");
  w.integer(static_cast<std::int64_t>(info_.id));
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array(0);
}

void RespSession::cmd_auth(Call& c) {
  if (c.argc() > 3) {
    c.w.error(kErrSyntax);
  } else if (c.argc() == 2) {
    c.w.error(
        "ERR AUTH <password> called without any password configured for the default user. Are you sure your "
        "configuration is correct?");
  } else if (auth_ok(c.argv[1])) {
    c.w.simple("OK");
  } else {
    c.w.error(kErrWrongPass);
  }
}

// --- CLIENT ---------------------------------------------------------------------------------

void RespSession::cmd_client_id(Call& c) { c.w.integer(static_cast<std::int64_t>(info_.id)); }

// This connection as CLIENT LIST describes one, with Redis 7's fields in its order (clients such
// as redis-py expect them all) and the figures this session has: qbuf is the unconsumed input,
// obl and rbs the reply buffer's bytes and capacity, argv-mem the current request's arguments.
// The socket is the worker's, so fd is -1; there is no reply list (oll, omem) nor MULTI.
void RespSession::append_client_line(Call& c, Buffer& out) const {
  const std::uint64_t unix_now = c.ex.unix_ms();
  const std::uint64_t now = c.ex.now_ms();
  const Buffer& reply = c.w.buffer();
  std::uint64_t argv_mem = 0;
  for (const std::string_view a : c.argv) argv_mem += a.size();
  out.append("id=");
  out.append_uint(info_.id);
  out.append(" addr=");
  out.append(std::string_view(info_.peer));
  out.append(" laddr=");
  out.append(std::string_view(info_.local));
  out.append(" fd=-1 name=");
  out.append(name_);
  out.append(" age=");
  out.append_uint(info_.created_unix_ms != 0 && unix_now > info_.created_unix_ms
                      ? (unix_now - info_.created_unix_ms) / 1000
                      : 0);
  out.append(" idle=");
  out.append_uint(
      info_.last_active_ms != 0 && now > info_.last_active_ms ? (now - info_.last_active_ms) / 1000 : 0);
  out.append(in_multi_ ? " flags=x" : " flags=N");  // x: in MULTI
  out.append(" db=0 sub=0 psub=0 ssub=0 multi=");
  out.append_int(in_multi_ ? static_cast<std::int64_t>(tx_cmds_.size()) : -1);
  out.append(" qbuf=");
  out.append_uint(pending_input_);
  out.append(" qbuf-free=0 argv-mem=");
  out.append_uint(argv_mem);
  out.append(" multi-mem=");
  out.append_uint(tx_bytes_.size() + tx_args_.size() * sizeof(ArgRef));
  out.append(" rbs=");
  out.append_uint(reply.capacity());
  out.append(" rbp=");
  out.append_uint(reply.capacity());
  out.append(" obl=");
  out.append_uint(reply.size());
  out.append(" oll=0 omem=0 tot-mem=");
  out.append_uint(sizeof(*this) + reply.capacity() + scratch_.capacity() + name_.capacity() +
                  lib_name_.capacity() + lib_ver_.capacity());
  out.append(" events=r cmd=");
  out.append(last_command_);
  out.append(" user=default redir=-1 resp=");
  out.append_uint(static_cast<std::uint64_t>(resp_));
  out.append(" lib-name=");
  out.append(lib_name_);
  out.append(" lib-ver=");
  out.append(lib_ver_);
  out.append(" tot-net-in=");
  out.append_uint(info_.bytes_in);
  out.append(" tot-net-out=");
  out.append_uint(info_.bytes_out);
  out.append(" tot-cmds=");
  out.append_uint(commands_);
}

void RespSession::reply_client_text(Call& c, bool listed) {
  scratch_.clear();
  if (listed) {
    append_client_line(c, scratch_);
    scratch_.push_back('\n');
  }
  c.w.verbatim("txt", scratch_.view());
}

void RespSession::cmd_client_info(Call& c) { reply_client_text(c, true); }

// CLIENT LIST [TYPE type] [ID id ...]: every connection of the daemon, all workers and all
// protocols (resp_admin.cc: list_clients), in id order.
void RespSession::cmd_client_list(Call& c) {
  bool listed = true;
  std::vector<std::uint64_t> ids;
  if (c.argc() == 4 && iequals(c.argv[2], "type")) {
    const std::string_view type = c.argv[3];
    if (iequals(type, "normal")) {
      listed = true;
    } else if (iequals(type, "master") || iequals(type, "replica") || iequals(type, "slave") ||
               iequals(type, "pubsub")) {
      listed = false;
    } else {
      scratch_.clear();
      scratch_.append("ERR Unknown client type '");
      scratch_.append(cstr(type));
      scratch_.push_back('\'');
      c.w.error(scratch_.view());
      return;
    }
  } else if (c.argc() > 3 && iequals(c.argv[2], "id")) {
    for (std::size_t j = 3; j < c.argc(); ++j) {
      std::int64_t id = 0;
      if (!proto::resp::parse_i64(c.argv[j], &id) || id < 1) {
        c.w.error("ERR Invalid client ID");
        return;
      }
      ids.push_back(static_cast<std::uint64_t>(id));
    }
  } else if (c.argc() != 2) {
    c.w.error(kErrSyntax);
    return;
  }
  scratch_.clear();
  if (listed) list_clients(c, ids.empty() ? nullptr : &ids, scratch_);
  c.w.verbatim("txt", scratch_.view());
}

void RespSession::cmd_client_getname(Call& c) {
  if (name_.empty()) {
    c.w.null();
  } else {
    c.w.bulk(name_);
  }
}

void RespSession::cmd_client_setname(Call& c) {
  if (!valid_client_attr(c.argv[2])) {
    c.w.error("ERR Client names cannot contain spaces, newlines or special characters.");
    return;
  }
  name_.assign(c.argv[2]);
  c.w.simple("OK");
}

// CLIENT SETINFO LIB-NAME|LIB-VER value (Redis 7.2; redis-py sends it on connect).
void RespSession::cmd_client_setinfo(Call& c) {
  const std::string_view attr = c.argv[2], value = c.argv[3];
  std::string* dest = nullptr;
  if (iequals(attr, "lib-name")) {
    dest = &lib_name_;
  } else if (iequals(attr, "lib-ver")) {
    dest = &lib_ver_;
  }
  scratch_.clear();
  if (dest == nullptr) {
    scratch_.append("ERR Unrecognized option '");
    scratch_.append(cstr(attr));
    scratch_.push_back('\'');
    c.w.error(scratch_.view());
    return;
  }
  if (!valid_client_attr(value)) {
    scratch_.append("ERR ");
    scratch_.append(cstr(attr));
    scratch_.append(" cannot contain spaces, newlines or special characters.");
    c.w.error(scratch_.view());
    return;
  }
  dest->assign(value);
  c.w.simple("OK");
}

// CLIENT NO-EVICT ON|OFF: connections are never evicted here, so either setting holds already.
void RespSession::cmd_client_no_evict(Call& c) {
  if (iequals(c.argv[2], "on") || iequals(c.argv[2], "off")) {
    c.w.simple("OK");
  } else {
    c.w.error(kErrSyntax);
  }
}

}  // namespace ferrite::engine::resp
