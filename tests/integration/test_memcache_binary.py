"""memcached binary protocol on the memcache port (the server tells it from text by the first
byte, 0x80), raw sockets. Expectations are memcached 1.6's replies."""

import struct

import pytest

import harness

REQ, RES = 0x80, 0x81
GET, SET, ADD, REPLACE, DELETE, INCR, DECR, QUIT, FLUSH, GETQ, NOOP, VERSION, GETK, GETKQ = (
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d)
APPEND, PREPEND, STAT, SETQ, TOUCH, GAT = 0x0e, 0x0f, 0x10, 0x11, 0x1c, 0x1d
OK, NOT_FOUND, EXISTS, TOO_LARGE, INVALID, NOT_STORED, NON_NUMERIC = 0, 1, 2, 3, 4, 5, 6
UNKNOWN_COMMAND = 0x81
HEADER = struct.Struct('>BBHBBHIIQ')


def request(opcode, key=b'', value=b'', extras=b'', opaque=0, cas=0):
    body = len(extras) + len(key) + len(value)
    return HEADER.pack(REQ, opcode, len(key), len(extras), 0, 0, body, opaque, cas) + \
        extras + key + value


def set_request(opcode, key, value, flags=0, expiry=0, opaque=0, cas=0):
    return request(opcode, key, value, struct.pack('>II', flags, expiry), opaque, cas)


class Response:
    def __init__(self, header, body):
        (magic, self.opcode, keylen, extlen, _, self.status, bodylen, self.opaque,
         self.cas) = HEADER.unpack(header)
        assert magic == RES
        assert len(body) == bodylen
        self.extras = body[:extlen]
        self.key = body[extlen:extlen + keylen]
        self.value = body[extlen + keylen:]

    def __repr__(self):
        return 'Response(op=%#x status=%#x opaque=%d key=%r value=%r)' % (
            self.opcode, self.status, self.opaque, self.key, self.value[:50])


def read_response(sock, timeout=harness.IO_TIMEOUT):
    header = harness.recv_exact(sock, 24, timeout)
    bodylen = HEADER.unpack(header)[6]
    return Response(header, harness.recv_exact(sock, bodylen, timeout))


@pytest.fixture
def conn(mc_server):
    s = harness.connect(mc_server.addr('memcache'))
    yield s
    s.close()


def call(sock, data):
    sock.sendall(data)
    return read_response(sock)


def test_set_get(conn, key):
    k = key().encode()
    r = call(conn, set_request(SET, k, b'value', flags=0xdeadbeef, opaque=11))
    assert (r.opcode, r.status, r.opaque) == (SET, OK, 11)
    assert r.cas != 0
    set_cas = r.cas
    r = call(conn, request(GET, k, opaque=12))
    assert (r.opcode, r.status, r.opaque, r.value, r.key) == (GET, OK, 12, b'value', b'')
    assert r.extras == struct.pack('>I', 0xdeadbeef)
    assert r.cas == set_cas
    r = call(conn, request(GETK, k))
    assert (r.status, r.key, r.value) == (OK, k, b'value')


def test_get_miss(conn, key):
    r = call(conn, request(GET, key().encode(), opaque=5))
    assert (r.opcode, r.status, r.opaque, r.value) == (GET, NOT_FOUND, 5, b'Not found')


def test_quiet_gets_pipeline_ends_with_noop(conn, key):
    ka, kb = key('a').encode(), key('b').encode()
    conn.sendall(set_request(SETQ, ka, b'A', opaque=1) + set_request(SETQ, kb, b'BB', opaque=2))
    batch = (request(GETQ, ka, opaque=10) + request(GETQ, key('miss').encode(), opaque=11) +
             request(GETKQ, kb, opaque=12) + request(GETKQ, key('miss2').encode(), opaque=13) +
             request(GET, key('miss3').encode(), opaque=14) + request(NOOP, opaque=15))
    conn.sendall(batch)
    got = [read_response(conn) for _ in range(4)]
    assert [(r.opcode, r.status, r.opaque, r.key, r.value) for r in got] == [
        (GETQ, OK, 10, b'', b'A'),
        (GETKQ, OK, 12, kb, b'BB'),
        (GET, NOT_FOUND, 14, b'', b'Not found'),
        (NOOP, OK, 15, b'', b''),
    ]
    assert harness.recv_for(conn, 0.2) == b''


def test_add_replace_cas(conn, key):
    k = key().encode()
    assert call(conn, set_request(REPLACE, k, b'x')).status == NOT_FOUND
    r = call(conn, set_request(ADD, k, b'first'))
    assert r.status == OK
    assert call(conn, set_request(ADD, k, b'again')).status == EXISTS
    assert call(conn, set_request(SET, k, b'c', cas=r.cas + 1)).status == EXISTS
    assert call(conn, set_request(SET, k, b'c', cas=r.cas)).status == OK
    assert call(conn, request(GET, k)).value == b'c'


def test_incr_decr(conn, key):
    k = key().encode()
    extras = struct.pack('>QQI', 5, 100, 0)
    r = call(conn, request(INCR, k, extras=extras))  # missing: created with the initial value
    assert (r.status, r.value) == (OK, struct.pack('>Q', 100))
    r = call(conn, request(INCR, k, extras=extras))
    assert (r.status, r.value) == (OK, struct.pack('>Q', 105))
    r = call(conn, request(DECR, k, extras=struct.pack('>QQI', 1000, 0, 0)))
    assert (r.status, r.value) == (OK, struct.pack('>Q', 0))
    no_create = struct.pack('>QQI', 1, 0, 0xffffffff)
    r = call(conn, request(INCR, key('none').encode(), extras=no_create))
    assert r.status == NOT_FOUND  # expiration all ones: do not create
    call(conn, set_request(SET, key('t').encode(), b'text'))
    r = call(conn, request(INCR, key('t').encode(), extras=extras))
    assert r.status == NON_NUMERIC


def test_append_prepend_delete(conn, key):
    k = key().encode()
    assert call(conn, request(APPEND, k, b'x')).status == NOT_STORED
    call(conn, set_request(SET, k, b'mid'))
    assert call(conn, request(APPEND, k, b'>')).status == OK
    assert call(conn, request(PREPEND, k, b'<')).status == OK
    assert call(conn, request(GET, k)).value == b'<mid>'
    assert call(conn, request(DELETE, k)).status == OK
    assert call(conn, request(DELETE, k)).status == NOT_FOUND


def test_touch_and_gat(conn, key):
    k = key().encode()
    assert call(conn, request(TOUCH, k, extras=struct.pack('>I', 100))).status == NOT_FOUND
    call(conn, set_request(SET, k, b'v', flags=3))
    assert call(conn, request(TOUCH, k, extras=struct.pack('>I', 100))).status == OK
    r = call(conn, request(GAT, k, extras=struct.pack('>I', 100)))
    assert (r.status, r.value, r.extras) == (OK, b'v', struct.pack('>I', 3))


def test_version_and_stat(conn):
    r = call(conn, request(VERSION, opaque=3))
    assert (r.status, r.opaque) == (OK, 3)
    assert r.value[:1].isdigit()
    conn.sendall(request(STAT, opaque=4))
    stats = {}
    for _ in range(1000):
        r = read_response(conn)
        assert (r.opcode, r.status, r.opaque) == (STAT, OK, 4)
        if not r.key:
            break
        stats[r.key] = r.value
    assert b'pid' in stats and b'curr_connections' in stats


def test_unknown_opcode(conn):
    r = call(conn, request(0xfe, opaque=9))
    assert (r.opcode, r.status, r.opaque) == (0xfe, UNKNOWN_COMMAND, 9)
    assert r.value == b'Unknown command'
    assert call(conn, request(NOOP)).status == OK


def test_value_too_large(conn, key):
    k = key().encode()
    r = call(conn, set_request(SET, k, b'x' * ((1 << 20) + 1)))
    assert (r.status, r.value) == (TOO_LARGE, b'Too large.')
    assert call(conn, request(NOOP)).status == OK


def test_quit_closes(conn):
    r = call(conn, request(QUIT, opaque=8))
    assert (r.opcode, r.status, r.opaque) == (QUIT, OK, 8)
    assert harness.recv_all_until_close(conn) == b''


def test_flush(conn, key):
    k = key().encode()
    call(conn, set_request(SET, k, b'v'))
    assert call(conn, request(FLUSH)).status == OK
    assert call(conn, request(GET, k)).status == NOT_FOUND
