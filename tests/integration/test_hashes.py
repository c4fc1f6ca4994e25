"""Hashes through redis-py (HSET with a mapping, HGETALL, HINCRBYFLOAT, HRANDFIELD, HSCAN, the TTL
kept by writes, WRONGTYPE both ways) and, on ferrited, a hash key read through the other protocols
(pymemcache, HTTP, the Ferrite binary protocol over TCP and UDP): each answers its own error, never
the encoding. The redis-py expectations are redis-server 7.0's (FERRITE_TEST_PEERS=1 checks them)."""

import http.client
import socket
import time

import pytest
import redis
from pymemcache.client.base import Client as MemcacheClient
from pymemcache.exceptions import MemcacheServerError

import ferritebin as fb
import harness


@pytest.fixture(scope='module')
def server(resp_server):
    return resp_server


@pytest.fixture
def ferrited_server(server):
    if not server.is_ferrited:
        pytest.skip('the other protocols are ferrited\'s')
    return server


def test_hset_mapping_and_reads(r, key):
    h = key()
    assert r.hset(h, mapping={'a': '1', 'b': '2', 'c': '3'}) == 3
    assert r.hset(h, 'a', 'one') == 0
    assert r.hgetall(h) == {b'a': b'one', b'b': b'2', b'c': b'3'}
    assert r.hget(h, 'b') == b'2'
    assert r.hget(h, 'zz') is None
    assert r.hmget(h, ['a', 'zz', 'c']) == [b'one', None, b'3']
    assert r.hlen(h) == 3
    assert sorted(r.hkeys(h)) == [b'a', b'b', b'c']
    assert sorted(r.hvals(h)) == [b'2', b'3', b'one']
    assert r.hexists(h, 'a') and not r.hexists(h, 'zz')
    assert r.hstrlen(h, 'a') == 3
    assert r.hsetnx(h, 'a', 'x') == 0 and r.hsetnx(h, 'd', 'x') == 1
    assert r.hdel(h, 'a', 'b', 'zz') == 2
    assert r.type(h) == b'hash'
    assert r.hdel(h, 'c', 'd') == 2
    assert r.exists(h) == 0
    assert r.hgetall(h) == {}


def test_counters(r, key):
    h = key()
    assert r.hincrby(h, 'n', 5) == 5
    assert r.hincrby(h, 'n', -8) == -3
    assert r.hincrbyfloat(h, 'f', 10.5) == 10.5
    assert r.hincrbyfloat(h, 'f', 0.1) == pytest.approx(10.6)
    assert r.hget(h, 'f') == b'10.6'
    r.hset(h, 's', 'abc')
    with pytest.raises(redis.ResponseError, match='^hash value is not an integer$'):
        r.hincrby(h, 's', 1)
    with pytest.raises(redis.ResponseError, match='^hash value is not a float$'):
        r.hincrbyfloat(h, 's', 1.0)
    r.hset(h, 'big', str(2**63 - 1))
    with pytest.raises(redis.ResponseError, match='^increment or decrement would overflow$'):
        r.hincrby(h, 'big', 1)


def test_hrandfield(r, key):
    h = key()
    fields = {('f%d' % i).encode(): ('v%d' % i).encode() for i in range(10)}
    r.hset(h, mapping=fields)
    assert r.hrandfield(h) in fields
    picked = r.hrandfield(h, 4)
    assert len(picked) == 4 and len(set(picked)) == 4 and set(picked) <= set(fields)
    assert sorted(r.hrandfield(h, 20)) == sorted(fields)
    repeated = r.hrandfield(h, -25)
    assert len(repeated) == 25 and set(repeated) <= set(fields)
    flat = r.hrandfield(h, 3, withvalues=True)
    assert len(flat) == 6
    for f, v in zip(flat[::2], flat[1::2]):
        assert fields[f] == v
    assert r.hrandfield(key('none')) is None
    assert r.hrandfield(key('none'), 3) == []


def test_hscan_iter(r, key):
    h = key()
    fields = {('field:%d' % i): str(i) for i in range(300)}
    r.hset(h, mapping=fields)
    got = dict(r.hscan_iter(h))
    assert got == {k.encode(): v.encode() for k, v in fields.items()}
    matched = dict(r.hscan_iter(h, match='field:1*', count=10))
    assert set(matched) == {k.encode() for k in fields if k.startswith('field:1')}


def test_writes_keep_the_ttl(r, key):
    h = key()
    r.hset(h, 'a', '1')
    assert r.expire(h, 100)
    r.hset(h, 'b', '2')
    r.hdel(h, 'a')
    r.hincrby(h, 'n', 1)
    r.hincrbyfloat(h, 'x', 1.5)
    r.hsetnx(h, 'y', '1')
    assert 98 <= r.ttl(h) <= 100
    assert r.pexpire(h, 300)
    deadline = time.monotonic() + 5
    while r.exists(h) and time.monotonic() < deadline:  # expires as one key
        time.sleep(0.05)
    assert r.exists(h) == 0 and r.hgetall(h) == {}


def test_wrongtype_both_ways(r, key):
    s, h = key('s'), key('h')
    r.set(s, 'v')
    r.hset(h, 'f', 'v')
    for call in (lambda: r.hget(s, 'f'), lambda: r.hset(s, 'f', 'v'), lambda: r.hgetall(s),
                 lambda: r.get(h), lambda: r.append(h, 'x'), lambda: r.incr(h),
                 lambda: r.getdel(h), lambda: r.set(h, 'x', get=True), lambda: r.strlen(h)):
        with pytest.raises(redis.ResponseError,
                           match='^WRONGTYPE Operation against a key holding the wrong kind of value$'):
            call()
    assert r.mget(h, s) == [None, b'v']
    assert r.hgetall(h) == {b'f': b'v'}  # untouched
    assert r.set(h, 'str') is True  # SET works on any type
    assert r.type(h) == b'string' and r.get(h) == b'str'


def test_pipeline_of_hash_commands(r, key):
    h = key()
    p = r.pipeline(transaction=False)
    for i in range(50):
        p.hset(h, 'f%d' % i, i)
    p.hlen(h)
    assert p.execute()[-1] == 50


def test_other_protocols_refuse_a_hash_key(r, ferrited_server, key):
    h = key()
    r.hset(h, mapping={'f': 'v', 'g': 'w'})
    hk = h.encode()
    # memcached text (pymemcache): a server error, and the connection goes on.
    host, port = ferrited_server.addr('memcache')
    mc = MemcacheClient((host, port), timeout=harness.IO_TIMEOUT, connect_timeout=harness.IO_TIMEOUT)
    try:
        with pytest.raises(MemcacheServerError, match='WRONGTYPE'):
            mc.get(h)
        with pytest.raises(MemcacheServerError, match='WRONGTYPE'):
            mc.incr(h, 1)
        assert mc.set(key('plain'), b'x')
        assert mc.get(key('plain')) == b'x'
    finally:
        mc.close()
    # HTTP: 409 with a clear body.
    hhost, hport = ferrited_server.addr('http')
    c = http.client.HTTPConnection(hhost, hport, timeout=harness.IO_TIMEOUT)
    try:
        c.request('GET', '/cache/' + h)
        resp = c.getresponse()
        body = resp.read()
        assert resp.status == 409
        assert body.startswith(b'WRONGTYPE')
    finally:
        c.close()
    # The Ferrite binary protocol, over TCP and UDP.
    with harness.connect(ferrited_server.addr('binary')) as sock:
        sock.sendall(fb.request(fb.GET, hk, rid=7))
        rep = fb.read_reply(sock)
        assert (rep.status, rep.rid) == (fb.WRONG_TYPE, 7)
        assert rep.value.startswith(b'WRONGTYPE')
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.settimeout(harness.IO_TIMEOUT)
    try:
        udp.connect(ferrited_server.addr('binary_udp'))
        _, stream = fb.udp_exchange(udp, 9, fb.request(fb.GET, hk, rid=3))
        got = fb.decode_stream(stream)
        assert [(g.rid, g.status) for g in got] == [(3, fb.WRONG_TYPE)]
    finally:
        udp.close()
    assert r.hgetall(h) == {b'f': b'v', b'g': b'w'}
