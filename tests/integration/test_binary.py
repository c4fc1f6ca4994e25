"""Ferrite's binary protocol over TCP and UDP (ferrited only), with an encoder written from
docs/protocol.md: GET/SET/ADD/REPLACE/DELETE/INCR/DECR/TOUCH/NOOP/STATS, flags Q K T, CAS,
pipelining, errors, and several requests per datagram."""

import os
import random
import socket
import struct
import time

import pytest

import harness
import ferritebin as fb
from ferritebin import request


@pytest.fixture(scope='module')
def server(ferrited):
    return ferrited


@pytest.fixture
def conn(server):
    s = harness.connect(server.addr('binary'))
    yield s
    s.close()


@pytest.fixture
def udp(server):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(server.addr('binary_udp'))
    yield s
    s.close()


def call(sock, data):
    sock.sendall(data)
    return fb.read_reply(sock)


def memcache_get(server, key):
    return harness.exchange(server.addr('memcache'), b'get %s\r\n' % key, b'END\r\n')


# ---- TCP ----------------------------------------------------------------------------------------

def test_set_get(conn, key):
    k = key().encode()
    r = call(conn, request(fb.SET, k, b'bar', ttl=300, rid=1, cflags=42))
    assert (r.opcode, r.status, r.rid, r.key, r.value, r.ttl, r.cflags) == (
        fb.SET, fb.OK, 1, b'', b'', 0, 0)
    assert r.cas != 0
    set_cas = r.cas
    r = call(conn, request(fb.GET, k, flags=fb.K, rid=2))
    assert (r.opcode, r.status, r.rid, r.flags, r.key, r.value, r.cflags, r.cas) == (
        fb.GET, fb.OK, 2, fb.K, k, b'bar', 42, set_cas)
    assert 290 <= r.ttl <= 300
    r = call(conn, request(fb.GET, k, rid=3))
    assert (r.key, r.value) == (b'', b'bar')  # no K: no key


def test_get_miss(conn, key):
    r = call(conn, request(fb.GET, key().encode(), rid=9))
    assert (r.opcode, r.status, r.rid, r.key, r.value) == (fb.GET, fb.NOT_FOUND, 9, b'', b'')
    r = call(conn, request(fb.GET, key().encode(), flags=fb.K, rid=10))
    assert (r.status, r.key) == (fb.NOT_FOUND, key().encode())


def test_shared_with_memcache(server, conn, key):
    k = key().encode()
    assert call(conn, request(fb.SET, k, b'hello', cflags=7)).status == fb.OK
    assert memcache_get(server, k) == b'VALUE %s 7 5\r\nhello\r\nEND\r\n' % k
    harness.exchange(server.addr('memcache'), b'set %s 3 0 2\r\nmc\r\n' % k, b'\r\n')
    r = call(conn, request(fb.GET, k))
    assert (r.value, r.cflags) == (b'mc', 3)


def test_no_ttl_and_ttl_rules(conn, key):
    k = key().encode()
    call(conn, request(fb.SET, k, b'v'))
    assert call(conn, request(fb.GET, k)).ttl == 0
    call(conn, request(fb.SET, k, b'v', ttl=int(time.time()) + 1000))  # absolute
    assert 991 <= call(conn, request(fb.GET, k)).ttl <= 1001
    call(conn, request(fb.SET, k, b'v', ttl=int(time.time()) - 10))  # absolute, in the past
    assert call(conn, request(fb.GET, k)).status == fb.NOT_FOUND


def test_cas(conn, key):
    k = key().encode()
    assert call(conn, request(fb.SET, k, b'x', cas=5)).status == fb.NOT_FOUND
    cas = call(conn, request(fb.SET, k, b'a')).cas
    assert call(conn, request(fb.SET, k, b'b', cas=cas + 1)).status == fb.EXISTS
    r = call(conn, request(fb.SET, k, b'b', cas=cas))
    assert r.status == fb.OK and r.cas != cas
    assert call(conn, request(fb.GET, k)).value == b'b'
    assert call(conn, request(fb.DELETE, k, cas=cas)).status == fb.EXISTS
    assert call(conn, request(fb.DELETE, k, cas=r.cas)).status == fb.OK


def test_add_replace(conn, key):
    k = key().encode()
    assert call(conn, request(fb.REPLACE, k, b'r')).status == fb.NOT_STORED
    assert call(conn, request(fb.ADD, k, b'a')).status == fb.OK
    assert call(conn, request(fb.ADD, k, b'b')).status == fb.NOT_STORED
    assert call(conn, request(fb.REPLACE, k, b'c')).status == fb.OK
    assert call(conn, request(fb.GET, k)).value == b'c'


def test_delete(conn, key):
    k = key().encode()
    call(conn, request(fb.SET, k, b'v'))
    r = call(conn, request(fb.DELETE, k, rid=4))
    assert (r.opcode, r.status, r.rid, r.cas) == (fb.DELETE, fb.OK, 4, 0)
    assert call(conn, request(fb.DELETE, k)).status == fb.NOT_FOUND
    assert call(conn, request(fb.GET, k)).status == fb.NOT_FOUND


def test_incr_decr(server, conn, key):
    k = key().encode()
    assert call(conn, request(fb.INCR, k, fb.incr_value(1))).status == fb.NOT_FOUND
    r = call(conn, request(fb.INCR, k, fb.incr_value(1, 10), ttl=100, cflags=5))
    assert (r.status, r.counter()) == (fb.OK, 10)  # created: the delta is not applied
    assert call(conn, request(fb.INCR, k, fb.incr_value(5))).counter() == 15
    assert memcache_get(server, k) == b'VALUE %s 5 2\r\n15\r\nEND\r\n' % k  # decimal text
    assert call(conn, request(fb.DECR, k, fb.incr_value(100))).counter() == 0
    assert call(conn, request(fb.INCR, k, fb.incr_value(2 ** 64 - 1))).counter() == 2 ** 64 - 1
    assert call(conn, request(fb.INCR, k, fb.incr_value(3))).counter() == 2  # wraps
    call(conn, request(fb.SET, key('t').encode(), b'text'))
    assert call(conn, request(fb.INCR, key('t').encode(), fb.incr_value(1))).status == (
        fb.NON_NUMERIC)
    assert call(conn, request(fb.INCR, k, b'\x00' * 3)).status == fb.BAD_REQUEST


def test_touch_and_get_with_t(conn, key):
    k = key().encode()
    assert call(conn, request(fb.TOUCH, k, ttl=100)).status == fb.NOT_FOUND
    call(conn, request(fb.SET, k, b'v', ttl=5))
    assert call(conn, request(fb.TOUCH, k, ttl=1000)).status == fb.OK
    assert 990 <= call(conn, request(fb.GET, k)).ttl <= 1000
    r = call(conn, request(fb.GET, k, flags=fb.T, ttl=50))
    assert (r.status, r.value) == (fb.OK, b'v') and 40 <= r.ttl <= 50
    assert 40 <= call(conn, request(fb.GET, k)).ttl <= 50


def test_quiet_requests_then_noop(conn, key):
    a, b = key('a').encode(), key('b').encode()
    batch = (request(fb.SET, a, b'A', flags=fb.Q, rid=1) + request(fb.SET, b, b'B', flags=fb.Q,
                                                                    rid=2) +
             request(fb.GET, a, flags=fb.Q, rid=3) + request(fb.GET, key('miss').encode(),
                                                             flags=fb.Q, rid=4) +
             request(fb.GET, b, flags=fb.Q | fb.K, rid=5) +
             request(fb.ADD, a, b'x', flags=fb.Q, rid=6) +  # NOT_STORED is not an error
             request(fb.GET, b'', flags=fb.Q, rid=7) +  # BAD_REQUEST: errors always come
             request(fb.DELETE, a, flags=fb.Q, rid=8) + request(fb.NOOP, flags=fb.Q, rid=9))
    conn.sendall(batch)
    got = [fb.read_reply(conn) for _ in range(5)]
    assert [(r.rid, r.status, r.key, r.value) for r in got] == [
        (3, fb.OK, b'', b'A'), (5, fb.OK, b, b'B'), (6, fb.NOT_STORED, b'', b''),
        (7, fb.BAD_REQUEST, b'', b'key required'), (9, fb.OK, b'', b'')]
    assert harness.recv_for(conn, 0.2) == b''


def test_pipeline_many_in_one_send(conn, key):
    batch, expected = [], []
    for i in range(500):
        k = key('p%d' % i).encode()
        batch.append(request(fb.SET, k, b'v%d' % i, rid=3 * i, cflags=i))
        batch.append(request(fb.GET, k, rid=3 * i + 1))
        batch.append(request(fb.INCR, key('ctr').encode(), fb.incr_value(1, 1), rid=3 * i + 2))
        expected += [(3 * i, fb.SET, fb.OK, b''), (3 * i + 1, fb.GET, fb.OK, b'v%d' % i),
                     (3 * i + 2, fb.INCR, fb.OK, struct.pack('>Q', i + 1))]
    conn.sendall(b''.join(batch))
    got = [fb.read_reply(conn) for _ in range(len(expected))]
    assert [(r.rid, r.opcode, r.status, r.value) for r in got] == expected


def test_split_at_every_byte(conn, key):
    data = request(fb.SET, key().encode(), b'slow', rid=1) + request(fb.GET, key().encode(),
                                                                      rid=2)
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(0.002)
    assert fb.read_reply(conn).status == fb.OK
    assert fb.read_reply(conn).value == b'slow'


def test_errors_keep_the_connection(conn, key):
    r = call(conn, request(0x7f, key().encode(), b'xyz', rid=11))
    assert (r.opcode, r.status, r.rid) == (0x7f, fb.UNKNOWN_OPCODE, 11)
    r = call(conn, request(fb.GET, key().encode(), flags=0x08, rid=12))
    assert (r.status, r.rid) == (fb.BAD_REQUEST, 12)
    r = call(conn, request(fb.GET, key().encode(), reserved=1, rid=13))
    assert r.status == fb.BAD_REQUEST
    r = call(conn, request(fb.NOOP, b'k', rid=14))  # NOOP takes no key
    assert r.status == fb.BAD_REQUEST
    r = call(conn, request(fb.GET, b'k' * 251, rid=15))
    assert (r.status, r.rid) == (fb.KEY_TOO_LONG, 15)
    r = call(conn, request(fb.SET, b'k' * 250, b'v', rid=16))
    assert r.status == fb.OK
    assert call(conn, request(fb.NOOP, rid=17)).rid == 17


def test_too_large_is_answered_from_the_header(conn, key):
    """TOO_LARGE comes as soon as the header arrives; the value is skipped as it streams."""
    size = (1 << 20) + 1
    full = request(fb.SET, key().encode(), b'x' * size, rid=21)
    conn.sendall(full[:32 + len(key())])
    r = fb.read_reply(conn)  # the value has not been sent: only an answer from the header comes
    assert (r.status, r.rid) == (fb.TOO_LARGE, 21)
    conn.sendall(full[32 + len(key()):] + request(fb.NOOP, rid=22))
    r = fb.read_reply(conn)
    assert (r.opcode, r.rid) == (fb.NOOP, 22)
    assert call(conn, request(fb.GET, key().encode())).status == fb.NOT_FOUND


def test_largest_value(conn, key):
    value = random.Random(4).randbytes(1 << 20)
    assert call(conn, request(fb.SET, key().encode(), value)).status == fb.OK
    assert call(conn, request(fb.GET, key().encode())).value == value


def test_bad_magic_gets_bad_version_and_close(server):
    with harness.connect(server.addr('binary')) as s:
        s.sendall(b'get foo\r\n')
        data = harness.recv_all_until_close(s)
    [r] = fb.decode_stream(data)
    assert (r.opcode, r.status, r.rid, r.version, r.value) == (
        0, fb.BAD_VERSION, 0, 1, b'bad magic or version')
    with harness.connect(server.addr('binary')) as s:
        s.sendall(request(fb.NOOP, version=2))
        [r] = fb.decode_stream(harness.recv_all_until_close(s))
        assert (r.status, r.version) == (fb.BAD_VERSION, 1)


def test_stats(server, conn):
    r = call(conn, request(fb.STATS, rid=8))
    assert (r.opcode, r.status, r.rid) == (fb.STATS, fb.OK, 8)
    pairs = fb.stats_pairs(r.value)
    assert int(pairs[b'pid']) == server.pid
    assert b'curr_items' in pairs and b'version' in pairs
    r = call(conn, request(fb.STATS, b'settings'))
    assert r.status == fb.OK and fb.stats_pairs(r.value)
    assert call(conn, request(fb.STATS, b'nosuchgroup')).status == fb.NOT_FOUND


# ---- UDP ----------------------------------------------------------------------------------------

def test_udp_several_requests_per_datagram(udp, key):
    a, b = key('a').encode(), key('b').encode()
    payload = (request(fb.SET, a, b'A', rid=1) + request(fb.SET, b, b'BB', rid=2, cflags=9) +
               request(fb.GET, a, rid=3) + request(fb.GET, b, flags=fb.K, rid=4) +
               request(fb.DELETE, a, rid=5) + request(fb.GET, a, rid=6) +
               request(fb.INCR, key('c').encode(), fb.incr_value(2, 40), rid=7) +
               request(fb.INCR, key('c').encode(), fb.incr_value(2), rid=8) +
               request(fb.NOOP, rid=9))
    datagrams, stream = fb.udp_exchange(udp, 0x1234, payload)
    got = fb.decode_stream(stream)
    assert [(r.rid, r.status) for r in got] == [
        (1, fb.OK), (2, fb.OK), (3, fb.OK), (4, fb.OK), (5, fb.OK), (6, fb.NOT_FOUND), (7, fb.OK),
        (8, fb.OK), (9, fb.OK)]
    assert (got[2].value, got[3].key, got[3].value, got[3].cflags) == (b'A', b, b'BB', 9)
    assert (got[6].counter(), got[7].counter()) == (40, 42)
    assert all(len(d) <= 1400 for d in datagrams)


def test_udp_reply_spans_datagrams(server, conn, udp, key):
    value = random.Random(6).randbytes(5000)
    call(conn, request(fb.SET, key().encode(), value))
    datagrams, stream = fb.udp_exchange(udp, 77, request(fb.GET, key().encode(), rid=1) +
                                        request(fb.NOOP, rid=2))
    assert len(datagrams) >= 4
    assert all(len(d) <= 1400 for d in datagrams)
    got = fb.decode_stream(stream)
    assert [(r.rid, r.value) for r in got] == [(1, value), (2, b'')]


def test_udp_quiet_only_gets_no_datagram(udp, key):
    udp.send(fb.FRAME.pack(5, 0, 1, 0) + request(fb.SET, key().encode(), b'q', flags=fb.Q))
    with pytest.raises(socket.timeout):
        udp.settimeout(0.5)
        udp.recv(65536)
    udp.settimeout(harness.IO_TIMEOUT)
    _, stream = fb.udp_exchange(udp, 6, request(fb.GET, key().encode(), rid=1))
    assert fb.decode_stream(stream)[0].value == b'q'


@pytest.mark.parametrize('name,datagram', [
    ('shorter than a frame', b'\x00\x01\x00'),
    ('sequence not 0', fb.FRAME.pack(1, 1, 1, 0) + request(fb.NOOP)),
    ('count not 1', fb.FRAME.pack(1, 0, 2, 0) + request(fb.NOOP)),
    ('reserved not 0', fb.FRAME.pack(1, 0, 1, 1) + request(fb.NOOP)),
    ('no request', fb.FRAME.pack(1, 0, 1, 0)),
    ('truncated request', fb.FRAME.pack(1, 0, 1, 0) + request(fb.NOOP)[:20]),
    ('trailing bytes', fb.FRAME.pack(1, 0, 1, 0) + request(fb.NOOP) + b'x'),
    ('bad magic', fb.FRAME.pack(1, 0, 1, 0) + request(fb.NOOP, magic=0x80)),
    ('set then truncated', fb.FRAME.pack(1, 0, 1, 0) + request(fb.SET, b'udp-dropped', b'v') +
     request(fb.NOOP)[:10]),
])
def test_udp_malformed_datagram_is_dropped(udp, name, datagram):
    udp.send(datagram)
    udp.settimeout(0.5)
    with pytest.raises(socket.timeout):
        udp.recv(65536)
    udp.settimeout(harness.IO_TIMEOUT)
    _, stream = fb.udp_exchange(udp, 2, request(fb.GET, b'udp-dropped', rid=1))
    assert fb.decode_stream(stream)[0].status == fb.NOT_FOUND  # nothing of it was run


def test_udp_errors_answered_one_by_one(udp):
    payload = (request(0x55, rid=1) + request(fb.GET, b'k' * 251, rid=2) +
               request(fb.GET, b'', rid=3) + request(fb.NOOP, rid=4))
    _, stream = fb.udp_exchange(udp, 3, payload)
    assert [(r.rid, r.status) for r in fb.decode_stream(stream)] == [
        (1, fb.UNKNOWN_OPCODE), (2, fb.KEY_TOO_LONG), (3, fb.BAD_REQUEST), (4, fb.OK)]


def test_udp_many_datagrams_from_one_socket(udp, key):
    for i in range(200):
        payload = request(fb.SET, key('%d' % i).encode(), os.urandom(16), flags=fb.Q) + \
            request(fb.GET, key('%d' % i).encode(), rid=i)
        _, stream = fb.udp_exchange(udp, i, payload)
        [r] = fb.decode_stream(stream)
        assert (r.rid, r.status, len(r.value)) == (i, fb.OK, 16)
