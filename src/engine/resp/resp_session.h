// The RESP (Redis protocol) session: RESP2 and RESP3 over one TCP connection, answering as
// redis-server 7.0 does (replies and error strings byte for byte; HELLO reports "redis" 7.0.0,
// INFO adds ferrite_version). Commands: strings (GET, SET with every option, SETNX, SETEX,
// PSETEX, GETSET, GETDEL, GETEX, MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE,
// INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT), keys (DEL, UNLINK, EXISTS, TYPE, EXPIRE, PEXPIRE,
// EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST, DBSIZE, FLUSHALL, FLUSHDB),
// connection and server (PING, ECHO, SELECT, QUIT, RESET, TIME, HELLO, AUTH, CLIENT, CONFIG,
// COMMAND, INFO).
//
// Where Ferrite differs from redis-server, on purpose or by its design:
// - One database of strings: SELECT of another index fails, TYPE is "string" or "none".
// - Keys are 1..server.max_key_size bytes ("-ERR key is too long (the limit is 250 bytes)",
//   "-ERR empty keys are not supported"; reads of such keys find nothing). Values are at most
//   server.max_item_size (proto-max-bulk-len): beyond it SET, APPEND and SETRANGE answer Redis's
//   "string exceeds maximum allowed size (proto-max-bulk-len)".
// - A bulk over server.max_item_size in a request gets that same error, and a request whose
//   bulks fit but whose whole passes EngineSettings::max_request_bytes gets "-ERR request larger
//   than the server's limit (proto-max-bulk-len + 64 KiB)": either one once the request's bytes
//   have been swallowed as they came (never buffered), and the connection goes on (Redis answers
//   "Protocol error: invalid bulk length" and closes). A bulk over 512 MB, proto-max-bulk-len's
//   ceiling, is "invalid bulk length" and closes, as in Redis. A multibulk count above 1048576 is
//   invalid (Redis 7 allows up to INT_MAX). In an inline request a NUL byte is an ordinary byte.
// - Except MGET as a multibulk request: it is served as its keys arrive (its array header first,
//   then each key's value once its bulk is complete, pausing at max_reply_bytes until the peer
//   reads), so MGET of 100,000 keys works as in Redis and a reply of 1,000 copies of a 1 MB
//   value is never held whole. A malformed bulk among its keys ends the array short with the
//   protocol error, then the connection closes (Redis would refuse the request before any reply).
// - TTLs are kept to the millisecond for about 24 days from the store's start, to the second
//   beyond, and at most about 68 years ahead (the store's expiry encoding).
// - MULTI/EXEC/WATCH as Redis 7 (resp_multi.cc; "RESP: transactions" in docs/protocol.md), but
//   WATCH does not see a change of TTL alone, and a queue or an EXEC reply past 64 MiB is refused.
// - Each key of MSET is stored atomically but not the set of them; MSETNX is all or nothing by
//   deleting what it added when a key appears meanwhile. FLUSHALL ASYNC runs synchronously.
// - No passwords: AUTH and HELLO AUTH behave like a Redis whose default user is nopass.
// - CLIENT LIST shows this connection only (a worker sees its own connections); COMMAND DOCS is
//   an empty map; INFO's keyspace line reports expires=0,avg_ttl=0 (the store does not count keys
//   with a TTL); CONFIG SET applies several pairs in order, not atomically.
#pragma once

#include <memory>

#include "engine/session.h"

namespace ferrite::engine {

// A session for one accepted connection on the RESP listener. `info` must outlive it.
std::unique_ptr<Session> make_resp_session(const ConnInfo& info);
// The RESP listener's service: a RespSession per connection, refused in Redis's words.
StreamService resp_service();

}  // namespace ferrite::engine
