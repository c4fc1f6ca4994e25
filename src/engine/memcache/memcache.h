// memcached's text protocol and meta commands on one TCP connection, and memcached's UDP frame
// around the same commands.
//
// The TCP session speaks what memcached 1.6 speaks on an ASCII connection: the classic commands
// (get/gets/gat/gats, set/add/replace/append/prepend/cas, delete, incr/decr, touch, flush_all,
// version, verbosity, quit, stats) and the meta commands (mg/ms/md/ma/mn/me), mixed freely. The
// memcache service (memcache_service()) gives a connection to this session unless its first byte
// is 0x80 (the binary protocol's request magic), as memcached does.
//
// The UDP handler takes one request datagram (8-byte frame header + commands, which must fit in
// that one datagram), runs its commands, and splits the replies into datagrams of at most
// settings().udp_max_datagram bytes after their own 8-byte header. Datagrams no longer than the
// header are dropped and counted in WorkerStats::datagrams_dropped; a multi-datagram request is
// answered "SERVER_ERROR multi-packet request not supported", and a reply that would pass
// max_reply_bytes, 65535 datagrams or the reflection bound "SERVER_ERROR out of memory writing
// get response" (one datagram each, memcached's words).
//
// Behaviour, limits and where Ferrite differs from memcached: see executor.h.
#pragma once

#include <memory>

#include "engine/session.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_memcache_text_session(const ConnInfo& info);
// The memcache TCP listener's service: text + meta, or the binary protocol for a connection whose
// first byte is the binary request magic (memcached's rule); refused in memcached's words.
StreamService memcache_service();
std::unique_ptr<DatagramHandler> make_memcache_udp_handler();

}  // namespace ferrite::engine
