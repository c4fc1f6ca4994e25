"""A small encoder/decoder of Ferrite's binary protocol, written from docs/protocol.md (not from
the server's code), for the integration tests."""

import struct
import time

import harness

REQUEST_MAGIC, REPLY_MAGIC, VERSION = 0xFE, 0xFD, 1
# magic, version, opcode, flags, key length, status, value length, TTL, id, client flags, CAS
HEADER = struct.Struct('>BBBBHHIIIIQ')
assert HEADER.size == 32
FRAME = struct.Struct('>HHHH')  # UDP: datagram id, sequence, count, reserved

GET, SET, ADD, REPLACE, DELETE, INCR, DECR, TOUCH, NOOP, STATS = range(1, 11)
Q, K, T = 0x01, 0x02, 0x04
(OK, NOT_FOUND, EXISTS, NOT_STORED, TOO_LARGE, NON_NUMERIC, KEY_TOO_LONG, BAD_REQUEST,
 UNKNOWN_OPCODE, OUT_OF_MEMORY, BAD_VERSION, WRONG_TYPE) = range(12)


def request(opcode, key=b'', value=b'', flags=0, ttl=0, rid=0, cflags=0, cas=0, reserved=0,
            version=VERSION, magic=REQUEST_MAGIC):
    return HEADER.pack(magic, version, opcode, flags, len(key), reserved, len(value), ttl, rid,
                       cflags, cas) + key + value


def incr_value(delta, initial=None):
    return struct.pack('>Q', delta) + (b'' if initial is None else struct.pack('>Q', initial))


class Reply:
    def __init__(self, header, body):
        (self.magic, self.version, self.opcode, self.flags, keylen, self.status, vlen, self.ttl,
         self.rid, self.cflags, self.cas) = HEADER.unpack(header)
        assert self.magic == REPLY_MAGIC, 'reply magic %#x' % self.magic
        assert len(body) == keylen + vlen
        self.key, self.value = body[:keylen], body[keylen:]

    def __repr__(self):
        return ('Reply(op=%d status=%d id=%d flags=%#x key=%r value=%r ttl=%d cflags=%d cas=%d)'
                % (self.opcode, self.status, self.rid, self.flags, self.key, self.value[:40],
                   self.ttl, self.cflags, self.cas))

    def counter(self):
        assert len(self.value) == 8
        return struct.unpack('>Q', self.value)[0]


def decode_stream(data):
    """Every whole reply in `data` (a TCP stream or a reassembled UDP reply stream); the bytes
    left over must be none."""
    replies = []
    while data:
        assert len(data) >= 32, 'truncated header: %r' % data
        keylen, vlen = struct.unpack('>H', data[4:6])[0], struct.unpack('>I', data[8:12])[0]
        end = 32 + keylen + vlen
        assert len(data) >= end, 'truncated reply'
        replies.append(Reply(data[:32], data[32:end]))
        data = data[end:]
    return replies


def read_reply(sock, timeout=harness.IO_TIMEOUT):
    header = harness.recv_exact(sock, 32, timeout)
    keylen, vlen = struct.unpack('>H', header[4:6])[0], struct.unpack('>I', header[8:12])[0]
    return Reply(header, harness.recv_exact(sock, keylen + vlen, timeout))


def stats_pairs(value):
    pairs = {}
    while value:
        n = struct.unpack('>H', value[:2])[0]
        name, value = value[2:2 + n], value[2 + n:]
        m = struct.unpack('>H', value[:2])[0]
        pairs[name], value = value[2:2 + m], value[2 + m:]
    return pairs


def udp_exchange(sock, datagram_id, payload, timeout=harness.IO_TIMEOUT):
    """Sends one request datagram; returns (reply datagrams in arrival order, the reassembled
    reply stream). Checks every frame: our id, sequence < count, one count for all, reserved 0."""
    sock.send(FRAME.pack(datagram_id, 0, 1, 0) + payload)
    parts, count, datagrams = {}, None, []
    deadline = time.monotonic() + timeout
    while count is None or len(parts) < count:
        left = deadline - time.monotonic()
        assert left > 0, 'missing reply datagrams: have %s of %s' % (sorted(parts), count)
        sock.settimeout(left)
        d = sock.recv(65536)
        did, seq, n, reserved = FRAME.unpack(d[:8])
        if did != datagram_id:
            continue
        assert reserved == 0 and seq < n and (count is None or n == count)
        assert seq not in parts
        count = n
        parts[seq] = d[8:]
        datagrams.append(d)
    return datagrams, b''.join(parts[i] for i in range(count))
