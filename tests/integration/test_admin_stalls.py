"""Management work that touches the whole table (the big-key scan, flush and its sweep) runs in a
worker a bounded number of buckets per loop turn, serving the worker's clients in between, and the
management socket answers a crowd of clients without refusing any.

No timing is asserted: a scan's spread is seen in the workers' loop counters (a table of B
buckets needs at least B / 64 loop turns; the test asks for B / 512), and the clients served
during it are checked for correct answers. bench figures (client latency during a scan of 1.9M
items) are in the commit history, not here."""

import json
import socket

import pytest

import harness
from conftest import ferrited_only

ITEMS = 400000
SLOTS_PER_BUCKET = 10  # src/store/table.h kSlotsPerBucket
BIG = {b'big-%02d' % i: 3000 + 100 * i for i in range(10)}  # key -> value size


class Mgmt:
    """One connection to the management socket: request line in, parsed JSON reply out."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(harness.IO_TIMEOUT)
        self.sock.connect(path)
        self.buf = b''

    def ask(self, line):
        self.sock.sendall(line.encode() + b'\n')
        while b'\n' not in self.buf:
            chunk = self.sock.recv(1 << 20)
            assert chunk, 'the management socket closed'
            self.buf += chunk
        reply, _, self.buf = self.buf.partition(b'\n')
        return json.loads(reply)

    def data(self, line):
        reply = self.ask(line)
        assert reply['ok'] is True, reply
        return reply['data']

    def close(self):
        self.sock.close()


@pytest.fixture(scope='module', params=ferrited_only())
def daemon(request, tmp_path_factory):
    yield from harness.serving(
        harness.start_ferrited_with_mgmt(tmp_path_factory.mktemp('admin'), sets=['server.memory=256MiB']))


def fill(server):
    """ITEMS small items (noreply, pipelined) and the BIG ones; returns the item count."""
    with harness.connect(server.addr('memcache')) as s:
        batch = []
        for i in range(ITEMS):
            batch.append(b'set small:%07d 0 0 8 noreply\r\n%08d\r\n' % (i, i))
            if len(batch) == 4000:
                s.sendall(b''.join(batch))
                batch = []
        for k, n in BIG.items():
            batch.append(b'set %s 0 0 %d noreply\r\n%s\r\n' % (k, n, b'b' * n))
        s.sendall(b''.join(batch) + b'mn\r\n')
        assert harness.recv_until(s, b'MN\r\n', timeout=120) == b'MN\r\n'


def loop_turns(m):
    return m.data('/stats')['total']['loop_iterations_total']


def buckets(m):
    return m.data('/stats')['store']['table_slots_now'] // SLOTS_PER_BUCKET


class Getter(harness.BackgroundLoad):
    """A client reading known keys in a loop on its own connections (one per worker, as the
    kernel spreads them), checking every value, until stopped."""

    def __init__(self, server, allow_miss=False):
        super().__init__(10 ** 6)
        self.allow_miss = allow_miss
        self.conns = [harness.connect(server.addr('memcache')) for _ in range(4)]
        self.start()

    def round(self, i):
        s = self.conns[i % len(self.conns)]
        n = i * 7919 % ITEMS
        s.sendall(b'get small:%07d\r\n' % n)
        reply = harness.recv_until(s, b'END\r\n')
        hit = b'VALUE small:%07d 0 8\r\n%08d\r\nEND\r\n' % (n, n)
        if reply != hit and not (self.allow_miss and reply == b'END\r\n'):
            return reply[-200:]
        return None

    def close(self):
        for s in self.conns:
            s.close()


def test_big_key_scan_runs_over_many_loop_turns_and_finds_the_largest(daemon):
    fill(daemon)
    m = Mgmt(daemon.sock)
    try:
        b = buckets(m)
        assert b * SLOTS_PER_BUCKET >= ITEMS
        before = loop_turns(m)
        data = m.data('/keys/big 10')
        turns = loop_turns(m) - before
        assert data['complete'] is True
        want = sorted(BIG.items(), key=lambda kv: -kv[1])
        assert [(k['key'].encode(), k['value_bytes']) for k in data['keys']] == want
        # The quiet daemon looped once per turn of the scan (and now and then when idle): a scan
        # done in a few turns stalled its worker's clients for the whole of each.
        assert turns >= b // 512, (turns, b)

        # The same under a client load: every get answered right, the same keys found.
        getter = Getter(daemon)
        try:
            data = m.data('/keys/big 1000')
        finally:
            gets = getter.stop()
        assert gets > 0
        assert data['complete'] is True
        assert len(data['keys']) == 1000
        assert [(k['key'].encode(), k['value_bytes']) for k in data['keys'][:10]] == want
        assert all(k['value_bytes'] == 8 for k in data['keys'][10:])
    finally:
        m.close()


def test_flush_sweeps_over_many_loop_turns(daemon):
    fill(daemon)
    m = Mgmt(daemon.sock)
    try:
        assert m.data('/stats')['store']['items'] >= ITEMS
        b = buckets(m)
        before = loop_turns(m)
        data = m.data('/flush')
        turns = loop_turns(m) - before
        assert data == {'flushed': True, 'items': 0}
        assert turns >= b // 512, (turns, b)
    finally:
        m.close()
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'get small:0000001 big-00\r\nset after 0 0 1\r\nx\r\nget after\r\n')
        assert harness.recv_until(s, b'END\r\nSTORED\r\nVALUE after 0 1\r\nx\r\nEND\r\n') == (
            b'END\r\nSTORED\r\nVALUE after 0 1\r\nx\r\nEND\r\n')


def test_flush_under_client_load_answers_every_client(daemon):
    fill(daemon)
    getter = Getter(daemon, allow_miss=True)  # a get racing the flush finds the key or not
    m = Mgmt(daemon.sock)
    try:
        data = m.data('/flush')
    finally:
        m.close()
        gets = getter.stop()
    assert gets > 0
    assert data == {'flushed': True, 'items': 0}
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'get small:0000002\r\n')
        assert harness.recv_until(s, b'END\r\n') == b'END\r\n'


def test_hundred_concurrent_management_clients_all_answered(daemon):
    conns = []
    try:
        for _ in range(100):  # all connected at once, none answered yet
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(harness.IO_TIMEOUT)
            s.connect(daemon.sock)
            conns.append(s)
        for s in conns:
            s.sendall(b'/info\n')
        for s in conns:
            reply = json.loads(harness.recv_until(s, b'\n'))
            assert reply['ok'] is True, reply
            assert reply['data']['workers'] == 2
    finally:
        for s in conns:
            s.close()


def test_clients_beyond_those_served_at_once_wait_their_turn(daemon):
    """More connections than the management thread serves at once (256): the rest wait in the
    listen backlog and are answered as the first ones close, none refused."""
    conns = []
    try:
        for _ in range(300):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(harness.IO_TIMEOUT)
            s.connect(daemon.sock)
            s.sendall(b'/info\n')
            conns.append(s)
        for i, s in enumerate(conns):
            reply = json.loads(harness.recv_until(s, b'\n'))
            assert reply['ok'] is True, (i, reply)
            s.close()
    finally:
        for s in conns:
            s.close()
