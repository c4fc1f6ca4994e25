"""The append-only file of a running ferrited (persist.mode = aof): writes over RESP and memcached,
then a clean stop (SIGTERM); the folder's manifest and segments, decoded here from the format
docs/persistence.md documents (independently of the C++ decoder), replay to what the clients
left in the store, and every record's checksum holds."""

import os
import socket
import struct
import tempfile
import time

import pytest

import harness
import persist_util
from conftest import ferrited_only


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def read_manifest(folder):
    with open(os.path.join(folder, 'MANIFEST'), 'rb') as f:
        text = f.read()
    body, _, last = text.rstrip(b'\n').rpartition(b'\n')
    assert last.startswith(b'crc32c '), text
    assert int(last.split()[1], 16) == crc32c(body + b'\n'), 'manifest checksum'
    lines = body.decode().split('\n')
    assert lines[0] == 'ferrite-manifest 1', lines
    return [int(line.split()[1]) for line in lines if line.startswith('segment ')]


def decode_segment(path, seq):
    """The records of one segment as dicts, checking the header and every checksum."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == b'FRTAOF1\n', path
    version, crc, got_seq, _created = struct.unpack_from('<IIQQ', data, 8)
    assert version == 1 and got_seq == seq
    assert crc == crc32c(data[:12] + data[16:32]), 'segment header checksum'
    records = []
    off = 32
    while off < len(data):
        crc, length = struct.unpack_from('<II', data, off)
        body = data[off + 8:off + 8 + length]
        assert len(body) == length, 'torn record at %d of %s after a clean stop' % (off, path)
        assert crc32c(data[off + 4:off + 8 + length]) == crc, 'bad checksum at %d of %s' % (off, path)
        kind = body[0]
        if kind == 1:
            item_type, reserved, klen, flags, version, deadline, vlen = struct.unpack_from('<BBHIQQI', body, 1)
            assert reserved == 0
            key = body[29:29 + klen]
            value = body[29 + klen:29 + klen + vlen]
            assert 29 + klen + vlen == length
            records.append(dict(type='set', item_type=item_type, key=key, value=value, flags=flags,
                                version=version, deadline=deadline))
        elif kind == 2:
            version, klen = struct.unpack_from('<QH', body, 1)
            records.append(dict(type='delete', version=version, key=body[11:11 + klen]))
        elif kind == 3:
            version, deadline, klen = struct.unpack_from('<QQH', body, 1)
            records.append(dict(type='touch', version=version, deadline=deadline, key=body[19:19 + klen]))
        elif kind == 4:
            records.append(dict(type='flush', at=struct.unpack_from('<Q', body, 1)[0]))
        else:
            raise AssertionError('unknown record type %d at %d of %s' % (kind, off, path))
        off += 8 + length
    return records


def replay(folder):
    items = {}
    records = []
    for seq in read_manifest(folder):
        records += decode_segment(os.path.join(folder, 'aof-%010d.seg' % seq), seq)
    for r in records:
        if r['type'] == 'set':
            items[r['key']] = r
        elif r['type'] == 'delete':
            assert items.get(r['key'], {}).get('version') == r['version'], r
            del items[r['key']]
        elif r['type'] == 'touch':
            items[r['key']] = dict(items[r['key']], deadline=r['deadline'])
        else:
            items.clear()
    return items, records


def memcache(addr, request, terminator):
    return harness.exchange(addr, request, terminator)


@pytest.fixture(params=ferrited_only())
def folder(request):
    yield from persist_util.data_folder('ferrite_aof_')


@pytest.mark.parametrize('fsync', ['always', 'everysec'])
def test_writes_of_every_protocol_replay_to_the_store(folder, fsync):
    server = harness.start_ferrited_with_mgmt(os.path.dirname(folder),
                                              sets=['persist.mode=aof', 'persist.dir=' + folder,
                                                    'persist.fsync=' + fsync, 'persist.segment_bytes=1MiB',
                                                    'persist.ring_bytes=2MiB'])
    try:
        r = harness.resp_client(server)
        mc = server.addr('memcache')
        assert r.set('s1', 'one')
        assert r.set('s2', 'two')
        assert r.delete('s2') == 1
        assert r.incr('counter', 5) == 5
        assert r.incrby('counter', 37) == 42
        assert r.hset('h', mapping={'f1': 'v1', 'f2': 'v2'}) == 2
        assert r.set('ttl', 'x', ex=1000)
        assert r.expire('s1', 2000)
        big = os.urandom(600 << 10)  # over a quarter of the ring: the heap path
        assert r.set('big', big)
        # Many writes, several segments. Their 1.3 MB fit in the ring whole, so none is dropped
        # even if the writer thread gets no CPU meanwhile (under everysec a full ring drops and
        # counts: with a 1 MiB ring, a loaded box lost some of these).

        pipe = r.pipeline(transaction=False)
        for i in range(3000):
            pipe.set('k%d' % (i % 500), 'value-%d-%s' % (i, 'p' * 400))
        pipe.execute()
        assert memcache(mc, b'set m1 7 0 3\r\nabc\r\n', b'\r\n') == b'STORED\r\n'
        assert memcache(mc, b'set m2 0 0 1\r\nz\r\n', b'\r\n') == b'STORED\r\n'
        assert memcache(mc, b'delete m2\r\n', b'\r\n') == b'DELETED\r\n'
        assert memcache(mc, b'set n 0 0 2\r\n10\r\n', b'\r\n') == b'STORED\r\n'
        assert memcache(mc, b'incr n 5\r\n', b'\r\n') == b'15\r\n'
        assert memcache(mc, b'touch m1 3000\r\n', b'\r\n') == b'TOUCHED\r\n'
        expected = {b'k%d' % k: b'value-%d-%s' % (2500 + k, b'p' * 400) for k in range(500)}
        expected.update({b's1': b'one', b'counter': b'42', b'ttl': b'x', b'big': big, b'm1': b'abc', b'n': b'15'})
        hash_before = r.hgetall('h')
        assert mgmt_metrics(server.sock)['ferrite_aof_ring_drops_total'] == 0
    finally:
        harness.stop_checked(server)

    items, records = replay(folder)
    assert set(items) == set(expected) | {b'h'}
    for k, v in expected.items():
        assert items[k]['value'] == v, k
        assert items[k]['item_type'] == 0, k
    assert items[b'h']['item_type'] == 1
    assert hash_before == {b'f1': b'v1', b'f2': b'v2'}
    assert items[b'm1']['flags'] == 7
    now_ms = time.time() * 1000
    for k, seconds in ((b'ttl', 1000), (b's1', 2000), (b'm1', 3000)):
        assert abs(items[k]['deadline'] - (now_ms + seconds * 1000)) < 120_000, (k, items[k]['deadline'])
    assert items[b'k1']['deadline'] == 0
    assert len(read_manifest(folder)) >= 2, 'over 1 MiB of records: the file rotated'
    assert sum(1 for r in records if r['type'] == 'delete') == 2


def test_a_restart_continues_in_a_new_segment(folder):
    for round_ in range(2):
        server = harness.start_ferrited(sets=['persist.mode=aof', 'persist.dir=' + folder])
        try:
            r = harness.resp_client(server)
            # The second start loads the folder first: -LOADING until it is in (bounded).
            persist_util.wait_loaded(r)
            assert r.set('round%d' % round_, 'v')
        finally:
            harness.stop_checked(server)
    assert read_manifest(folder) == [1, 2]
    items, _ = replay(folder)
    assert set(items) == {b'round0', b'round1'}


def test_fsync_changes_live(folder):
    server = harness.start_ferrited(sets=['persist.mode=aof', 'persist.dir=' + folder])
    try:
        r = harness.resp_client(server)
        assert r.config_get('persist.fsync') == {'persist.fsync': 'everysec'}
        assert r.config_set('persist.fsync', 'always')
        assert r.config_get('persist.fsync') == {'persist.fsync': 'always'}
        assert r.set('after', 'switch')
    finally:
        harness.stop_checked(server)
    items, _ = replay(folder)
    assert items[b'after']['value'] == b'switch'


def test_an_unusable_folder_refuses_to_start():
    with tempfile.TemporaryDirectory(prefix='ferrite_aof_') as d:
        blocker = os.path.join(d, 'file')
        open(blocker, 'w').close()
        out = harness.run_to_exit(harness.ferrited_argv(sets=['persist.mode=aof',
                                                              'persist.dir=' + blocker + '/sub']))
        assert out.returncode != 0
        assert (blocker + '/sub').encode() in out.stderr, out.stderr


def mgmt_metrics(sock_path):
    """The management socket's /metrics text as {name{labels}: value}."""
    import json
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(harness.IO_TIMEOUT)
        s.connect(sock_path)
        s.sendall(b'/metrics\n')
        reply = json.loads(harness.recv_until(s, b'\n'))
    out = {}
    for line in reply['data']['text'].splitlines():
        if line and not line.startswith('#'):
            name, _, value = line.rpartition(' ')
            out[name] = float(value)
    return out


def test_metrics_on_the_management_socket(folder):
    server = harness.start_ferrited_with_mgmt(os.path.dirname(folder),
                                              sets=['persist.mode=aof', 'persist.dir=' + folder,
                                                    'persist.fsync=always'])
    try:
        r = harness.resp_client(server)
        for i in range(100):
            assert r.set('m%d' % i, 'v' * 100)
        deadline = time.monotonic() + 10
        while True:
            m = mgmt_metrics(server.sock)
            if m['ferrite_aof_records_total'] >= 100 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        harness.stop_checked(server)
    assert m['ferrite_aof_records_total'] >= 100
    assert m['ferrite_aof_bytes_written_total'] >= 100 * (37 + 2 + 100)
    assert m['ferrite_aof_fsync_duration_seconds_count'] >= 1
    assert m['ferrite_aof_fsync_duration_seconds_bucket{le="+Inf"}'] == m['ferrite_aof_fsync_duration_seconds_count']
    assert m['ferrite_aof_ring_drops_total'] == 0
    assert m['ferrite_aof_failing'] == 0
    assert m['ferrite_aof_segment'] == 1
