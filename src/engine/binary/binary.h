// The Ferrite binary protocol (docs/protocol.md) on the engine: a TCP session and a UDP handler.
#pragma once

#include <memory>

#include "engine/session.h"

namespace ferrite::engine {

// A session for one TCP connection of the binary protocol (Proto::kBinary).
std::unique_ptr<Session> make_binary_session(const ConnInfo& info);
// The binary TCP listener's service: a session per connection; a refused one is closed unanswered.
StreamService binary_service();

// The handler of the binary protocol's UDP listener (Proto::kBinaryUdp); one per worker.
// Appends its reply datagrams to the DatagramOut it is given (it does not clear it); counts a
// malformed request datagram in datagrams_dropped and protocol_errors and answers nothing.
std::unique_ptr<DatagramHandler> make_binary_udp_handler();

}  // namespace ferrite::engine
