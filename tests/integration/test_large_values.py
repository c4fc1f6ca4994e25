"""Large values on every protocol (docs/engine.md, "Large values"): values up to
server.max_item_size (Redis's proto-max-bulk-len, CONFIG GET/SET) are stored and read back;
an over-limit value gets the protocol's own error, its bytes are swallowed as they arrive, and the
connection serves its next request; a client announcing far more than the limit and sending
slowly does not make the daemon reserve it.
"""

import http.client
import socket
import struct
import time

import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient
from pymemcache.exceptions import MemcacheServerError

import harness
import ferritebin as fb

MiB = 1 << 20
LIMIT = 16 * MiB  # server.max_item_size's automatic value with the default server.memory (1GiB)
TOO_LARGE_RESP = 'string exceeds maximum allowed size (proto-max-bulk-len)'

pytestmark = pytest.mark.skipif(harness.ferrited_path() is None, reason='FERRITED is not set')


@pytest.fixture(scope='module')
def server():
    # The default memory (1GiB) and no server.max_item_size: the limits a new user gets.
    yield from harness.serving(harness.start_ferrited(sets=['server.memory=1GiB']))


def rclient(server):
    host, port = server.addr('resp')
    return redis.Redis(host=host, port=port, socket_timeout=60, single_connection_client=True)


def value_of(n, seed=7):
    # Not one repeated byte: a value the daemon mangles is seen.
    block = bytes((seed + i * 31) & 0xff for i in range(4096))
    return (block * (n // len(block) + 1))[:n]


def test_redis_py_set_get_4mib_and_16mib_with_default_settings(server):
    r = rclient(server)
    assert r.config_get('proto-max-bulk-len') == {'proto-max-bulk-len': str(LIMIT)}
    for n in (4 * MiB, LIMIT):
        v = value_of(n)
        assert r.set('large:%d' % n, v) is True
        assert r.get('large:%d' % n) == v
        assert r.strlen('large:%d' % n) == n


def test_resp_over_limit_is_an_error_and_the_connection_stays(server):
    r = rclient(server)
    cid = r.client_id()
    with pytest.raises(redis.ResponseError, match=r'string exceeds maximum allowed size \(proto-max-bulk-len\)'):
        r.set('large:over', b'x' * (LIMIT + 1))
    assert r.client_id() == cid  # the same connection
    assert r.set('large:after', b'ok') is True and r.get('large:after') == b'ok'
    assert r.get('large:over') is None


def test_resp_pipeline_around_an_over_limit_value(server):
    r = rclient(server)
    p = r.pipeline(transaction=False)
    p.set('large:p1', b'a')
    p.set('large:p2', b'x' * (LIMIT + 1))
    p.get('large:p1')
    out = p.execute(raise_on_error=False)
    assert out[0] is True and out[2] == b'a'
    assert isinstance(out[1], redis.ResponseError) and TOO_LARGE_RESP in str(out[1])


def test_config_set_proto_max_bulk_len(server):
    r = rclient(server)
    try:
        assert r.config_set('proto-max-bulk-len', '2mb') is True
        assert r.config_get('proto-max-bulk-len') == {'proto-max-bulk-len': str(2 * MiB)}
        assert r.config_get('server.max_item_size') == {'server.max_item_size': '2MiB'}
        with pytest.raises(redis.ResponseError, match='proto-max-bulk-len'):
            r.set('large:cfg', b'x' * (2 * MiB + 1))
        assert r.set('large:cfg', b'x' * (2 * MiB)) is True
        # memcached sees the same limit.
        host, port = server.addr('memcache')
        mc = MemcacheClient((host, port), timeout=30, default_noreply=False)
        with pytest.raises(MemcacheServerError, match='object too large for cache'):
            mc.set('large:cfg', b'y' * (2 * MiB + 1))
        assert mc.get('large:cfg') is None  # memcached removes the old value of a refused set
        assert mc.stats('settings')[b'item_size_max'] == 2 * MiB
        mc.close()
        # More than a quarter of server.memory, or more than the ceiling: refused, nothing changes.
        with pytest.raises(redis.ResponseError, match='quarter of server.memory'):
            r.config_set('proto-max-bulk-len', '300mb')
        with pytest.raises(redis.ResponseError):
            r.config_set('proto-max-bulk-len', '1gb')
        assert r.config_get('proto-max-bulk-len') == {'proto-max-bulk-len': str(2 * MiB)}
        # Raised live: a value over the old limit goes through.
        assert r.config_set('proto-max-bulk-len', '20mb') is True
        v = value_of(18 * MiB)
        assert r.set('large:cfg', v) is True and r.get('large:cfg') == v
    finally:
        r.config_set('server.max_item_size', '0')
    assert r.config_get('proto-max-bulk-len') == {'proto-max-bulk-len': str(LIMIT)}


def test_memcache_text_and_meta_over_limit(server):
    mc = MemcacheClient(server.addr('memcache'), timeout=60, default_noreply=False)
    v = value_of(LIMIT)
    assert mc.set('large:mc', v) is True
    assert mc.get('large:mc') == v
    with pytest.raises(MemcacheServerError, match='object too large for cache'):
        mc.set('large:mc2', b'x' * (LIMIT + 1))
    assert mc.set('large:mc2', b'ok') is True and mc.get('large:mc2') == b'ok'
    mc.close()
    # meta: ms with a data block over the limit, then mn on the same connection.
    s = harness.connect(server.addr('memcache'))
    try:
        s.sendall(b'ms large:meta %d T0\r\n' % (LIMIT + 1))
        for _ in range((LIMIT + 1) // MiB):
            s.sendall(b'z' * MiB)
        s.sendall(b'z' * ((LIMIT + 1) % MiB) + b'\r\nmn\r\n')
        assert harness.recv_until(s, b'MN\r\n', timeout=60) == b'SERVER_ERROR object too large for cache\r\nMN\r\n'
    finally:
        s.close()


def test_memcache_meta_and_binary_store_a_value_of_the_limit(server):
    v = value_of(LIMIT, seed=11)
    s = harness.connect(server.addr('memcache'))
    try:
        s.sendall(b'ms large:meta16 %d T0\r\n' % LIMIT + v + b'\r\nmg large:meta16 v\r\n')
        want = b'HD\r\nVA %d\r\n' % LIMIT + v + b'\r\n'
        got = harness.recv_exact(s, len(want), timeout=60)
        assert got[:40] == want[:40] and got == want
    finally:
        s.close()
    # memcached binary (its own connection: the first byte picks a connection's protocol).
    s = harness.connect(server.addr('memcache'))
    try:
        key = b'large:mcb16'
        extras = struct.pack('>II', 0, 0)
        s.sendall(struct.pack('>BBHBBHIIQ', 0x80, 0x01, len(key), len(extras), 0, 0,
                              len(extras) + len(key) + LIMIT, 1, 0) + extras + key + v)
        h = harness.recv_exact(s, 24, timeout=60)
        harness.recv_exact(s, struct.unpack('>I', h[8:12])[0])
        assert struct.unpack('>H', h[6:8])[0] == 0
        s.sendall(struct.pack('>BBHBBHIIQ', 0x80, 0x00, len(key), 0, 0, 0, len(key), 2, 0) + key)
        h = harness.recv_exact(s, 24, timeout=60)
        body = harness.recv_exact(s, struct.unpack('>I', h[8:12])[0], timeout=60)
        assert struct.unpack('>H', h[6:8])[0] == 0 and body[h[4]:] == v
    finally:
        s.close()


def test_memcache_binary_over_limit(server):
    s = harness.connect(server.addr('memcache'))
    try:
        key = b'large:mcb'
        extras = struct.pack('>II', 0, 0)
        body = len(extras) + len(key) + LIMIT + 1
        s.sendall(struct.pack('>BBHBBHIIQ', 0x80, 0x01, len(key), len(extras), 0, 0, body, 5, 0) + extras + key)
        s.sendall(b'x' * (LIMIT + 1))
        s.sendall(struct.pack('>BBHBBHIIQ', 0x80, 0x0a, 0, 0, 0, 0, 0, 6, 0))  # NOOP
        h = harness.recv_exact(s, 24, timeout=60)
        status, blen, opaque = struct.unpack('>H', h[6:8])[0], struct.unpack('>I', h[8:12])[0], struct.unpack('>I', h[12:16])[0]
        harness.recv_exact(s, blen)
        assert (h[1], status, opaque) == (0x01, 0x0003, 5)  # E2BIG
        h = harness.recv_exact(s, 24, timeout=60)
        assert (h[1], struct.unpack('>H', h[6:8])[0], struct.unpack('>I', h[12:16])[0]) == (0x0a, 0, 6)
    finally:
        s.close()


def test_http_over_limit_is_413_and_the_connection_stays(server):
    host, port = server.addr('http')
    conn = http.client.HTTPConnection(host, port, timeout=60)
    try:
        v = value_of(LIMIT)
        conn.request('PUT', '/cache/large:http', body=v)
        resp = conn.getresponse()
        resp.read()
        assert resp.status in (200, 201, 204)
        conn.request('GET', '/cache/large:http')
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == v
        conn.request('PUT', '/cache/large:http2', body=b'x' * (LIMIT + 1))
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 413
        conn.request('GET', '/cache/large:http')  # the same connection
        resp = conn.getresponse()
        assert resp.status == 200 and resp.read() == v
    finally:
        conn.close()


def test_ferrite_binary_large_and_over_limit(server):
    s = harness.connect(server.addr('binary'))
    try:
        v = value_of(LIMIT)
        s.sendall(fb.request(fb.SET, b'large:fb', v, rid=1))
        assert fb.read_reply(s, timeout=60).status == fb.OK
        s.sendall(fb.request(fb.GET, b'large:fb', rid=2))
        r = fb.read_reply(s, timeout=60)
        assert r.status == fb.OK and r.value == v
        s.sendall(fb.request(fb.SET, b'large:fb2', b'x' * (LIMIT + 1), rid=3) + fb.request(fb.NOOP, rid=4))
        r = fb.read_reply(s, timeout=60)
        assert (r.status, r.rid) == (fb.TOO_LARGE, 3)
        assert fb.read_reply(s, timeout=60).rid == 4
    finally:
        s.close()


def trickle(server, listener, header, seconds=2.0, piece=1024, interval=0.02):
    """Sends `header` (announcing 500 MiB), then `piece` bytes every `interval` for `seconds`;
    returns the daemon's RSS growth in KiB and whether the connection is still open."""
    s = harness.connect(server.addr(listener))
    try:
        before = server.rss_kib()
        s.sendall(header)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            s.sendall(b'v' * piece)
            time.sleep(interval)
        grown = server.rss_kib() - before
        s.setblocking(False)
        try:
            closed = s.recv(1 << 16) == b''
        except BlockingIOError:
            closed = False
        return grown, closed
    finally:
        s.close()


ANNOUNCED = 500 * MiB


@pytest.mark.parametrize('listener,header', [
    ('resp', b'*3\r\n$3\r\nSET\r\n$5\r\nlarge\r\n$%d\r\n' % ANNOUNCED),
    ('memcache', b'set large 0 0 %d\r\n' % ANNOUNCED),
    ('http', b'PUT /cache/large HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % ANNOUNCED),
    ('binary', fb.HEADER.pack(fb.REQUEST_MAGIC, fb.VERSION, fb.SET, 0, 5, 0, ANNOUNCED, 0, 1, 0, 0) + b'large'),
])
def test_trickle_of_an_announced_500mib_stays_bounded(server, listener, header):
    grown, _ = trickle(server, listener, header)
    assert grown < 32 * 1024, '%s: RSS grew by %d KiB' % (listener, grown)
    assert server.alive()


def test_trickle_of_a_legal_size_grows_with_what_arrives(server):
    # 16 MiB announced (legal), 100 KiB sent: the pending buffer holds what came, not 16 MiB.
    grown, closed = trickle(server, 'resp', b'*3\r\n$3\r\nSET\r\n$5\r\nlarge\r\n$%d\r\n' % LIMIT, seconds=1.0)
    assert not closed
    assert grown < 8 * 1024, 'RSS grew by %d KiB' % grown


def test_get_of_16mib_copies_once(server):
    """SET then GET of a 16 MiB value on a fresh connection: the daemon's RSS grows by the item
    (16 MiB), the connection's pending input (at most 16 MiB, given back when the request is
    done or charged to the connection budget) and one reply copy (16 MiB), not more."""
    r = rclient(server)
    v = value_of(LIMIT, seed=3)
    before = server.rss_kib()
    assert r.set('large:rss', v) is True
    after_set = server.rss_kib()
    for _ in range(3):
        assert r.get('large:rss') == v
    after_get = server.rss_kib()
    r.close()
    print('RSS growth: SET %d KiB, then 3 GETs %d KiB' % (after_set - before, after_get - after_set))
    assert after_set - before < 3 * LIMIT // 1024
    assert after_get - after_set < 2 * LIMIT // 1024
