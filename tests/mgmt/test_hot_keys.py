"""`ferritectl keys hot` under each protocol's traffic alone: every keyed request on every
listener (memcached text, meta, binary and UDP; RESP; HTTP; Ferrite binary over TCP and UDP)
feeds the hot-key sketch. The DPDK fast path is covered by tests/dpdk (DpdkWorkerTest).

Run by meson (FERRITED and FERRITECTL set), or by hand:
  FERRITED=build/x/src/server/ferrited FERRITECTL=build/x/tools/ferritectl/ferritectl \\
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/mgmt/test_hot_keys.py
"""

import http.client
import json
import os
import socket
import struct
import sys


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import harness  # noqa: E402  (tests/integration/harness.py)
import ferritebin as fb  # noqa: E402
import respwire  # noqa: E402
from conftest import ctl, needs_ferritectl  # noqa: E402

N = 400  # requests at the hot key: one in 8 is sampled, counts are scaled back


pytestmark = needs_ferritectl


def hot_keys(daemon):
    r = ctl(daemon, '--json', 'keys', 'hot', '64')
    assert r.returncode == 0, (r.stdout, r.stderr)
    return {k['key']: k['count'] for k in json.loads(r.stdout)['data']['keys']}


def check_hot(daemon, key):
    hot = hot_keys(daemon)
    assert key in hot, hot
    assert hot[key] >= N // 4, hot  # ~N; far below only if most requests did not feed it


def recv_count(sock, marker, n):
    data = b''
    while data.count(marker) < n:
        chunk = sock.recv(1 << 16)
        assert chunk, 'connection closed'
        data += chunk
    return data


def send_and_read(addr, payload, read):
    """One connection: sends `payload`, then read(socket) takes the replies; closes."""
    s = harness.connect(addr)
    try:
        s.sendall(payload)
        return read(s)
    finally:
        s.close()


def send_and_count(addr, payload, marker, n):
    """One connection: sends `payload`, reads until `marker` came `n` times, closes."""
    return send_and_read(addr, payload, lambda s: recv_count(s, marker, n))


def test_memcache_text_multi_get(daemon):
    send_and_count(daemon.addr('memcache'), b'get cool:1 hot:mc:text cool:2\r\n' * N, b'END\r\n', N)
    check_hot(daemon, 'hot:mc:text')


def test_memcache_text_set(daemon):
    send_and_count(daemon.addr('memcache'), b'set hot:mc:set 0 0 1\r\nx\r\n' * N, b'STORED\r\n', N)
    check_hot(daemon, 'hot:mc:set')


def test_memcache_meta(daemon):
    send_and_count(daemon.addr('memcache'), b'mg hot:mc:meta v\r\n' * N + b'mn\r\n', b'MN\r\n', 1)
    check_hot(daemon, 'hot:mc:meta')


def test_memcache_binary(daemon):
    k = b'hot:mc:binary'
    get = struct.pack('>BBHBBHIIQ', 0x80, 0x00, len(k), 0, 0, 0, len(k), 0, 0) + k

    def read(s):
        for _ in range(N):
            h = harness.recv_exact(s, 24)
            harness.recv_exact(s, struct.unpack('>I', h[8:12])[0])

    send_and_read(daemon.addr('memcache'), get * N, read)
    check_hot(daemon, 'hot:mc:binary')


def test_memcache_udp(daemon):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.connect(daemon.addr('memcache_udp'))
        for i in range(N):
            s.send(struct.pack('>HHHH', i, 0, 1, 0) + b'get hot:mc:udp\r\n')
            s.recv(65536)
    finally:
        s.close()
    check_hot(daemon, 'hot:mc:udp')


def test_resp_commands_by_key_spec(daemon):
    s = harness.connect(daemon.addr('resp'))
    try:
        # GET (one key), MGET (every argument a key: the streamed MGET path), MSET (every other).
        s.sendall(respwire.encode('GET', 'hot:resp:get') * N)
        recv_count(s, b'$-1\r\n', N)
        s.sendall(respwire.encode('MGET', 'cool', 'hot:resp:mget') * N)
        recv_count(s, b'*2\r\n', N)
        s.sendall(respwire.encode('MSET', 'hot:resp:mset', 'v', 'cool', 'hot:resp:value') * N)
        recv_count(s, b'+OK\r\n', N)
    finally:
        s.close()
    hot = hot_keys(daemon)
    for key in ('hot:resp:get', 'hot:resp:mget', 'hot:resp:mset'):
        assert hot.get(key, 0) >= N // 4, (key, hot)
    assert 'hot:resp:value' not in hot  # a value is not a key


def test_http(daemon):
    host, port = daemon.addr('http')
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(N):
            conn.request('GET', '/cache/hot:http')
            conn.getresponse().read()
    finally:
        conn.close()
    check_hot(daemon, 'hot:http')


def test_ferrite_binary_tcp(daemon):

    def read(s):
        for _ in range(N):
            fb.read_reply(s)

    send_and_read(daemon.addr('binary'), b''.join(fb.request(fb.GET, b'hot:fb:tcp', rid=i) for i in range(N)), read)
    check_hot(daemon, 'hot:fb:tcp')


def test_ferrite_binary_udp(daemon):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(daemon.addr('binary_udp'))
        for i in range(N // 10):
            payload = b''.join(fb.request(fb.SET if j == 0 else fb.GET, b'hot:fb:udp', b'v' if j == 0 else b'')
                               for j in range(10))
            fb.udp_exchange(s, i + 1, payload)
    finally:
        s.close()
    check_hot(daemon, 'hot:fb:udp')
