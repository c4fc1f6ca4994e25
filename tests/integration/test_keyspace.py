"""Keyspace and admin commands with real clients: redis-py's scan_iter over 100k keys while other
clients write and the table grows, KEYS, RENAME, COPY, OBJECT, MEMORY USAGE, the FLUSHALL +
FUNCTION FLUSH reset, and redis-cli --scan, --bigkeys, --memkeys and --hotkeys (LFU policy)."""

import os
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import pytest
import redis

import harness
from conftest import ferrited_only, start


@pytest.fixture(scope='module', params=ferrited_only())
def server(request):
    yield from harness.serving(start(request.param, sets=('server.memory=256MiB',)))


@pytest.fixture(scope='module', params=ferrited_only())
def lfu_server(request):
    yield from harness.serving(start(request.param, sets=('server.policy=lfu',)))


def client(server):
    host, port = server.addr('resp')
    return redis.Redis(host=host, port=port, socket_timeout=30)


def cli(server, *args):
    path = shutil.which('redis-cli')
    if path is None:
        pytest.fail('redis-cli not found (Debian package redis-tools)')
    host, port = server.addr('resp')
    result = subprocess.run([path, '-h', host, '-p', str(port)] + list(args),
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert result.returncode == 0, result
    return result.stdout.decode('utf-8', 'replace')


def fill(r, names, value=b'v'):
    for i in range(0, len(names), 5000):
        p = r.pipeline(transaction=False)
        for name in names[i:i + 5000]:
            p.set(name, value)
        p.execute()


def test_scan_iter_sees_every_key_while_others_write(server, key):
    r = client(server)
    r.flushall()
    stable = [key('stable:%d' % i) for i in range(100000)]
    fill(r, stable)
    slots_before = int(r.info('keyspace').get('db0', {}).get('keys', 0))
    assert slots_before == len(stable)
    stop = threading.Event()
    written = [0, 0]
    errors = []

    def writer(n):
        w = client(server)
        i = 0
        try:
            while not stop.is_set() and i < 400000:
                p = w.pipeline(transaction=False)
                for j in range(i, i + 1000):
                    p.set(key('w%d:%d' % (n, j)), b'x' * 20)
                    if j % 4 == 0:
                        p.delete(key('w%d:%d' % (n, j // 2)))
                p.execute()
                i += 1000
            written[n] = i
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    try:
        seen = set()
        deadline = time.monotonic() + 120
        for name in r.scan_iter(count=500):
            seen.add(name)
            assert time.monotonic() < deadline
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert sum(written) >= 2000, written  # the writers ran during the scan
    missing = [n for n in stable if n.encode() not in seen]
    assert not missing, '%d keys present throughout were not returned, e.g. %s' % (
        len(missing), missing[:5])
    # Also with MATCH: every stable key, nothing else.
    matched = set(r.scan_iter(match=key('stable:*'), count=1000))
    assert matched == {n.encode() for n in stable}
    r.flushall()


def test_keys_randomkey_and_type_filter(server, key):
    r = client(server)
    r.mset({key('a1'): 1, key('a2'): 2, key('b1'): 3})
    assert sorted(r.keys(key('a*'))) == [key('a1').encode(), key('a2').encode()]
    assert sorted(r.keys(key('[ab]1'))) == [key('a1').encode(), key('b1').encode()]
    assert r.randomkey() is not None
    assert set(r.scan_iter(match=key('*'), _type='string')) == {
        key('a1').encode(), key('a2').encode(), key('b1').encode()}
    assert list(r.scan_iter(match=key('*'), _type='hash')) == []
    with pytest.raises(redis.ResponseError, match='invalid cursor'):
        r.execute_command('SCAN', 'notanumber')


def test_rename_copy_touch(server, key):
    r = client(server)
    r.set(key('src'), 'value', ex=100)
    assert r.rename(key('src'), key('dst'))
    assert r.get(key('src')) is None
    assert r.get(key('dst')) == b'value'
    assert 95 <= r.ttl(key('dst')) <= 100
    with pytest.raises(redis.ResponseError, match='no such key'):
        r.rename(key('src'), key('x'))
    r.set(key('taken'), 'x')
    assert r.renamenx(key('dst'), key('taken')) is False
    assert r.copy(key('dst'), key('copy')) is True
    assert r.copy(key('dst'), key('copy')) is False
    assert r.copy(key('taken'), key('copy'), replace=True) is True
    assert r.get(key('copy')) == b'x'
    with pytest.raises(redis.ResponseError, match='DB index is out of range'):
        r.copy(key('dst'), key('copy2'), destination_db=1)
    assert r.touch(key('dst'), key('copy'), key('nothing')) == 2


def test_object_and_memory_usage(server, key):
    r = client(server)
    r.set(key('n'), 12345)
    r.set(key('s'), 'short')
    r.set(key('l'), 'x' * 1000)
    assert r.object('encoding', key('n')) == b'int'
    assert r.object('encoding', key('s')) == b'embstr'
    assert r.object('encoding', key('l')) == b'raw'
    assert r.object('refcount', key('n')) == 1
    assert r.object('encoding', key('missing')) is None
    assert isinstance(r.object('idletime', key('n')), int)
    with pytest.raises(redis.ResponseError, match='An LFU maxmemory policy is not selected'):
        r.object('freq', key('n'))
    small, large = r.memory_usage(key('s')), r.memory_usage(key('l'), samples=5)
    assert 16 < small < 100, small
    assert 1000 < large < 1200, large
    assert r.memory_usage(key('missing')) is None


def test_flushall_function_flush_reset(server, key):
    """What test harnesses send to reset a server between tests."""
    r = client(server)
    r.set(key(), 1)
    assert r.flushall() is True
    assert r.function_flush() in (True, b'OK')
    assert r.script_flush() is True
    assert r.function_list() == []
    assert r.script_exists('a' * 40) == [False]
    assert r.dbsize() == 0
    with pytest.raises(redis.ResponseError, match='scripting is not supported'):
        r.eval('return 1', 0)
    assert r.execute_command('WAIT', 0, 0) == 0


def test_redis_cli_scan_bigkeys_memkeys(server, key):
    r = client(server)
    r.flushall()
    names = [key('cli:%d' % i) for i in range(3000)]
    fill(r, names)
    r.set(key('biggest'), 'x' * 5000)
    out = cli(server, '--scan')
    assert set(out.split()) == set(names) | {key('biggest')}
    out = cli(server, '--scan', '--pattern', key('cli:1*'))
    assert set(out.split()) == {n for n in names if n.startswith(key('cli:1'))}
    out = cli(server, '--bigkeys')
    assert "Biggest string found '\"%s\"' has 5000 bytes" % key('biggest') in out, out
    assert '3001 strings' in out, out
    out = cli(server, '--memkeys')
    assert "Biggest string found '\"%s\"'" % key('biggest') in out, out
    r.flushall()


def test_redis_cli_hotkeys_under_lfu(lfu_server, key):
    r = client(lfu_server)
    assert r.config_get('maxmemory-policy') == {'maxmemory-policy': 'allkeys-lfu'}
    for i in range(50):
        r.set(key('cold%d' % i), 1)
    r.set(key('hot'), 1)
    p = r.pipeline(transaction=False)
    for _ in range(3000):
        p.get(key('hot'))
    p.execute()
    assert r.object('freq', key('hot')) > r.object('freq', key('cold1'))
    out = cli(lfu_server, '--hotkeys')
    assert 'hot key found with counter' in out, out
    summary = out[out.index('summary'):]
    assert key('hot') in summary.split('keyname: ')[1].split('\n')[0], out
    # CLIENT NO-TOUCH: reads that leave the counter alone.
    c = client(lfu_server)
    assert c.execute_command('CLIENT', 'NO-TOUCH', 'on') == b'OK'
    before = c.object('freq', key('cold2'))
    for _ in range(200):
        c.get(key('cold2'))
    assert c.object('freq', key('cold2')) == before


def test_client_list_and_kill_across_workers(server):
    """The daemon runs two workers: CLIENT LIST on one connection lists every connection, and
    CLIENT KILL closes connections whichever worker serves them."""
    me = client(server)
    others = [client(server) for _ in range(6)]
    ids = [o.client_id() for o in others]
    my_id = me.client_id()
    listed = {c['id'] for c in me.client_list()}
    assert set(str(i) for i in ids + [my_id]) <= listed, (ids, listed)
    mine = [c for c in me.client_list() if c['id'] == str(my_id)][0]
    assert mine['cmd'] == 'client|list'
    # ADDR of another connection, as CLIENT LIST printed it.
    addr = [c['addr'] for c in me.client_list() if c['id'] == str(ids[0])][0]
    assert me.client_kill(addr) is True
    for i in ids[1:4]:
        assert me.client_kill_filter(_id=i) == 1
    assert me.client_kill_filter(_id=ids[4], skipme=True) == 1
    assert me.client_kill_filter(_id=987654321) == 0
    with pytest.raises(redis.ResponseError, match='No such client'):
        me.client_kill('1.2.3.4:5')
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = {c['id'] for c in me.client_list()}
        if not left & {str(i) for i in ids[:5]}:
            break
        time.sleep(0.05)
    assert not left & {str(i) for i in ids[:5]}, left
    for o in others[:5]:
        # The socket the client had (redis-py would quietly reconnect): closed by the server.
        sock = o.connection_pool._available_connections[0]._sock
        sock.settimeout(5)
        try:
            data = sock.recv(1)
        except ConnectionResetError:
            data = b''
        assert data == b''
    assert others[5].ping() is True
    assert me.ping() is True


@pytest.fixture(scope='module', params=ferrited_only())
def mgmt_server(request, tmp_path_factory):
    sock = tmp_path_factory.mktemp('mgmt') / 'ferrite.sock'
    yield from harness.serving(start(request.param, sets=('mgmt.socket=%s' % sock,)))


def test_slowlog_and_latency_from_the_daemons_slow_request_log(mgmt_server):
    r = client(mgmt_server)
    assert r.slowlog_reset() is True
    assert r.execute_command('LATENCY', 'RESET') in (0, 1)
    assert r.execute_command('LATENCY', 'LATEST') == []
    assert r.execute_command('DEBUG', 'SLEEP', '0.05') == b'OK'  # 50 ms: over the 10 ms threshold
    deadline = time.monotonic() + 10
    while r.slowlog_len() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the management thread drains the workers' events each round
    assert r.slowlog_len() >= 1
    entry = r.slowlog_get(1)[0]
    assert entry['duration'] >= 50000, entry
    assert entry['command'] == b'other resp', entry
    assert abs(entry['start_time'] - time.time()) < 60
    latest = r.execute_command('LATENCY', 'LATEST')
    assert len(latest) == 1 and latest[0][0] == b'command', latest
    assert latest[0][2] >= 50 and latest[0][3] >= latest[0][2], latest
    assert r.execute_command('LATENCY', 'RESET') == 1
    assert r.execute_command('LATENCY', 'LATEST') == []
    assert r.slowlog_len() >= 1  # LATENCY RESET leaves the slow log
    assert r.slowlog_reset() is True
    assert r.slowlog_len() == 0
    with pytest.raises(redis.ResponseError, match='count should be greater than or equal to -1'):
        r.execute_command('SLOWLOG', 'GET', '-2')


def test_slowlog_without_a_management_plane_is_empty(server):
    r = client(server)
    assert r.slowlog_len() == 0
    assert r.slowlog_get() == []
    assert r.execute_command('LATENCY', 'LATEST') == []


def mc_dump(server, command=b'lru_crawler metadump all\r\n'):
    host, port = server.addr('memcache')
    with harness.connect((host, port)) as s:
        s.sendall(command)
        return harness.recv_until(s, b'END\r\n')


def test_memcached_metadump(server, key):
    from pymemcache.client.base import Client
    host, port = server.addr('memcache')
    # Replies awaited (pymemcache's default is noreply): the dump runs on another connection, which
    # may be another worker's, and would race sets still queued on this one.
    mc = Client((host, port), default_noreply=False)
    client(server).flushall()
    names = [key('md:%d' % i) for i in range(20000)]
    for i in range(0, len(names), 1000):
        mc.set_many({n: b'v' * 10 for n in names[i:i + 1000]}, expire=0)
    mc.set(key('ttl'), b'x', expire=500)
    client(server).set(key('odd key/\xe9'), 'y')  # any bytes through RESP
    out = mc_dump(server)
    assert out.endswith(b'END\r\n')
    lines = out[:-5].decode().splitlines()
    pattern = re.compile(r'^key=(\S+) exp=(-?\d+) la=(\d+) cas=(\d+) fetch=(yes|no) cls=(\d+) size=(\d+)$')
    found = {}
    for line in lines:
        m = pattern.match(line)
        assert m, line
        found[urllib.parse.unquote_to_bytes(m.group(1))] = m
    expected = {n.encode() for n in names} | {key('ttl').encode(), key('odd key/\xe9').encode()}
    assert set(found) <= expected
    # A cache may evict while 20k keys arrive in bursts after a flush (a shard that cannot grow yet
    # evicts from a full pair of buckets): a key missing from the dump must be missing from the
    # cache too. Every key still there was listed. (The 200 keys once missing here were the tail of
    # the sets, sent noreply and not yet run when the dump began.)
    missing = sorted(expected - set(found))
    assert len(missing) < len(expected) // 10, len(missing)
    still_there = [k for k in missing if mc.get(k.decode(errors='surrogateescape')) is not None] \
        if all(b' ' not in k and len(k) <= 250 for k in missing) else missing
    assert not still_there, still_there[:10]
    assert found[names[0].encode()].group(2) == '-1'
    assert abs(int(found[key('ttl').encode()].group(2)) - (time.time() + 500)) < 30
    assert 'odd%20key%2F%C3%A9' in out.decode()
    assert int(found[names[0].encode()].group(7)) >= 16 + len(names[0]) + 10
    assert mc_dump(server, b'lru_crawler metadump hash\r\n').count(b'\n') == len(lines) + 1
    host, port = server.addr('memcache')
    with harness.connect((host, port)) as s:
        s.sendall(b'lru_crawler crawl all\r\nversion\r\n')
        assert harness.recv_until(s, b'\r\n', timeout=5).startswith(b'ERROR\r\n')


def test_memcached_tool_keys(server, key):
    tool = '/usr/share/memcached/scripts/memcached-tool'
    if not os.path.exists(tool) or shutil.which('perl') is None:
        pytest.fail('memcached-tool (Debian package memcached) or perl not found')
    r = client(server)
    r.flushall()
    names = {key('tool:%d' % i) for i in range(500)}
    fill(r, sorted(names))
    host, port = server.addr('memcache')
    result = subprocess.run(['perl', tool, '%s:%d' % (host, port), 'keys'], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result
    listed = {line.split()[0][len('key='):] for line in result.stdout.decode().splitlines()
              if line.startswith('key=')}
    assert listed == {n.replace(':', '%3A') for n in names}
