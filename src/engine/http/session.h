// The HTTP/1.1 API on the engine: one session per connection of the http listener.
//
//   GET    /cache/{key}   200 with the value (application/octet-stream); 404 on a miss
//   HEAD   /cache/{key}   the same head, no body
//   PUT    /cache/{key}   the body is the value; X-TTL: seconds from now (absent or 0: no expiry;
//                         no memcached-style absolute times). 201 Created for a new key, 204 No
//                         Content for an overwrite (RFC 7231 4.3.4)
//   DELETE /cache/{key}   204; 404 on a miss
//   GET    /health        200 "ok\n" (text/plain)
//   GET    /metrics       the Prometheus exposition (engine/metrics.h)
//
// {key} is the percent-decoded rest of the path after "/cache/" (slashes included, the query
// string not; any byte may be sent as %XX). Errors, each with a one-line text/plain body:
//   400  bad percent-encoding, empty key, X-TTL not a whole number of seconds, invalid target
//   400  malformed request (http_parser's description as the body), and the connection closes
//   404  any other path (also CONNECT and OPTIONS *)
//   405  other methods, with Allow: "GET, HEAD, PUT, DELETE" (/cache) or "GET, HEAD"
//   413  a value over the store's max_item_size: the body is skipped as it streams, never
//        buffered; with `Expect: 100-continue` the 413 comes instead of the 100, and closes
//   414  a key over the store's max key size, or a request-target over 4 KiB
//   417  an Expect other than 100-continue
//   431  a head over 80 KiB (http_parser's limit), and closes
//   501  a transfer coding other than chunked, and closes
//   505  a version other than HTTP/1.x, and closes
//   507  Insufficient Storage: the store could not make room for the value (retry later)
// Keep-alive as HTTP/1.1 says (HTTP/1.0: only with `Connection: keep-alive`, echoed back);
// pipelining (replies in order in one output buffer); chunked request bodies; Expect:
// 100-continue. Responses are HTTP/1.1 with Date and, except 204, Content-Length.
//
// Counted as Proto::kHttp: GET and HEAD /cache as get (with a hit or a miss), PUT set (507
// included), DELETE delete, /metrics stats, /health noop, every other error above as error;
// malformed requests (400 with a close, 431, 501, 505) also in protocol_errors.
#pragma once

#include <memory>

#include "engine/session.h"

namespace ferrite::engine {

std::unique_ptr<Session> make_http_session(const ConnInfo& info);
// The HTTP listener's service: an HttpSession per connection, refused with a 503.
StreamService http_service();

}  // namespace ferrite::engine
