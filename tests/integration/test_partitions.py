"""Store partitions (server.partitions, ferrited only): two partitions forced on this one-node
machine, busy-polling workers handing UDP datagrams to the worker of their key's partition.
Every key set over any protocol is found over every other; the handover is counted in /metrics
and the partitions are listed in the management plane's stats; bad partition settings stop the
start-up with a message naming them."""

import socket
import urllib.request

import pytest

import harness
import ferritebin as fb
from ferritebin import request

KEYS = 600


@pytest.fixture(scope='module')
def server():
    if harness.ferrited_path() is None:
        pytest.skip('FERRITED is not set')
    yield from harness.serving(harness.start_ferrited(sets=['server.partitions=2', 'server.poll=busy']))


def metrics(server):
    host, port = server.addr('http')
    with urllib.request.urlopen('http://%s:%d/metrics' % (host, port), timeout=harness.IO_TIMEOUT) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line and not line.startswith('#'):
            name, _, value = line.rpartition(' ')
            values[name] = float(value)
    return values


def udp_socket(server, listener):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(server.addr(listener))
    return s


def memcache_udp(sock, rid, payload):
    """One memcached UDP request (8-byte frame header); the reply payload (one datagram)."""
    sock.send(fb.FRAME.pack(rid, 0, 1, 0) + payload)
    while True:
        d = sock.recv(65536)
        if fb.FRAME.unpack(d[:8])[0] == rid:
            return d[8:]


def test_keys_over_udp_found_over_every_protocol(server):
    before = metrics(server).get('ferrite_datagrams_handed_over_total', 0)
    b = udp_socket(server, 'binary_udp')
    m = udp_socket(server, 'memcache_udp')
    try:
        for i in range(KEYS):
            key = b'part:b:%d' % i
            _, stream = fb.udp_exchange(b, i % 65536, request(fb.SET, key, b'v%d' % i, rid=i))
            assert [r.status for r in fb.decode_stream(stream)] == [fb.OK], key
            key = b'part:m:%d' % i
            assert memcache_udp(m, i % 65536, b'set %s 0 0 %d\r\nv%d\r\n' % (key, len(b'%d' % i) + 1, i)) \
                == b'STORED\r\n', key
        for i in range(KEYS):
            key = b'part:m:%d' % i
            _, stream = fb.udp_exchange(b, i % 65536, request(fb.GET, key, rid=i))
            got = fb.decode_stream(stream)
            assert (got[0].status, got[0].value) == (fb.OK, b'v%d' % i), key
            key = b'part:b:%d' % i
            assert memcache_udp(m, i % 65536, b'get %s\r\n' % key) == \
                b'VALUE %s 0 %d\r\nv%d\r\nEND\r\n' % (key, len(b'%d' % i) + 1, i), key
    finally:
        b.close()
        m.close()
    # The same keys over TCP (memcached text), which reads either partition directly.
    sock = harness.connect(server.addr('memcache'))
    try:
        for i in range(0, KEYS, 7):
            for key in (b'part:b:%d' % i, b'part:m:%d' % i):
                sock.sendall(b'get %s\r\n' % key)
                assert harness.recv_until(sock, b'END\r\n') == \
                    b'VALUE %s 0 %d\r\nv%d\r\nEND\r\n' % (key, len(b'%d' % i) + 1, i)
    finally:
        sock.close()
    after = metrics(server)
    assert after['ferrite_store_partitions'] == 2
    # One client socket lands on one worker; about half its keys belong to the other partition.
    handed = after['ferrite_datagrams_handed_over_total'] - before
    assert 4 * KEYS * 0.3 < handed < 4 * KEYS * 0.7, handed
    assert after['ferrite_handover_full_total'] == 0
    assert after['ferrite_items'] >= 2 * KEYS


def test_tcp_requests_span_partitions(server):
    # Multi-key requests whose keys live in both partitions: MSET / MGET / DEL over RESP.
    sock = harness.connect(server.addr('resp'))
    try:
        keys = [b'span:%d' % i for i in range(100)]
        args = [b'MSET'] + [x for k in keys for x in (k, k + b'!')]
        sock.sendall(b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))
        assert harness.recv_until(sock, b'\r\n') == b'+OK\r\n'
        args = [b'MGET'] + keys
        sock.sendall(b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))
        want = b'*100\r\n' + b''.join(b'$%d\r\n%s!\r\n' % (len(k) + 1, k) for k in keys)
        assert harness.recv_exact(sock, len(want)) == want
        args = [b'DEL'] + keys
        sock.sendall(b'*%d\r\n' % len(args) + b''.join(b'$%d\r\n%s\r\n' % (len(a), a) for a in args))
        assert harness.recv_until(sock, b'\r\n') == b':100\r\n'
    finally:
        sock.close()


@pytest.mark.parametrize('sets,words', [
    (['server.partitions=3'], ['server.partitions', '3', 'workers']),
    (['server.partitions=17'], ['server.partitions', '17']),
    (['server.partitions=2', 'server.memory=8MiB'], ['server.memory', 'per partition']),
])
def test_bad_partition_settings_stop_the_start_up(sets, words):
    if harness.ferrited_path() is None:
        pytest.skip('FERRITED is not set')
    result = harness.run_to_exit(harness.ferrited_argv(sets=sets))
    err = result.stderr.decode('utf-8', 'replace')
    assert result.returncode == 2, err
    for w in words:
        assert w in err, err
    assert b'ferrited ready' not in result.stdout
