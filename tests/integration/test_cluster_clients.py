"""Redis Cluster clients against a fleet of ferrited on loopback (docs/cluster.md): redis-py's
RedisCluster writes and reads 100k keys on 3 and 5 nodes, `redis-cli --cluster check` is clean,
`redis-cli -c` follows MOVED, multi-key commands over several slots get CROSSSLOT, every node
serves the same map, and the client follows the map when a node joins or dies. With
FERRITE_TEST_PEERS the tests that do not change the membership also run against a Redis Cluster
of redis-server made by `redis-cli --cluster create`."""

import signal
import subprocess
import threading
import time

import pytest

import cluster_util
import harness
from conftest import ferrited_only, server_kinds

KEYS = 100_000


def cluster_client(fleet):
    from redis.cluster import ClusterNode, RedisCluster
    nodes = [ClusterNode(host, port) for host, port in fleet.startup_nodes()]
    return RedisCluster(startup_nodes=nodes, socket_timeout=harness.IO_TIMEOUT,
                        socket_connect_timeout=harness.IO_TIMEOUT)


@pytest.fixture(scope='module', params=[(k, n) for k in server_kinds('redis') for n in (3, 5)],
                ids=lambda p: '%s-%d' % p)
def fleet(request):
    kind, n = request.param
    if kind == 'ferrited' and harness.ferrited_path() is None:
        pytest.skip('FERRITED is not set')
    f = cluster_util.start_fleet(kind, n)
    try:
        yield f
    finally:
        f.stop()


def cli(server, *args, timeout=60):
    host, port = server.addr('resp')
    return subprocess.run(['redis-cli', '-h', host, '-p', str(port)] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def test_redis_py_cluster_writes_and_reads_100k_keys(fleet):
    rc = cluster_client(fleet)
    try:
        pipe = rc.pipeline()
        for i in range(KEYS):
            pipe.set('key:%d' % i, 'value:%d' % i)
            if i % 5000 == 4999:
                assert all(pipe.execute())
        names = ['key:%d' % i for i in range(KEYS)]
        values = []
        for start in range(0, KEYS, 5000):
            values += rc.mget_nonatomic(names[start:start + 5000])
        wrong = [k for k, v in zip(names, values) if v != ('value:' + k[4:]).encode()]
        assert wrong == [], '%d of %d keys did not read back' % (len(wrong), KEYS)
        # Each node holds only the keys of its own slots, and together all of them.
        sizes = [harness.resp_client(s).dbsize() for s in fleet.servers]
        assert sum(sizes) == KEYS, sizes
        assert all(size > 0 for size in sizes), sizes
    finally:
        rc.close()


def test_redis_cli_cluster_check_is_clean(fleet):
    result = cli(fleet.servers[0], '--cluster', 'check', '%s:%d' % fleet.servers[0].addr('resp'))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert '[OK] All nodes agree about slots configuration.' in out, out
    assert '[OK] All 16384 slots covered.' in out, out
    assert '[ERR]' not in out and '[WARNING]' not in out, out


def test_redis_cli_c_follows_moved(fleet):
    for i, server in enumerate(fleet.servers):
        key = 'cli-key-%d' % i
        assert cli(server, '-c', 'SET', key, 'v%d' % i).stdout.strip() == 'OK'
        for other in fleet.servers:
            assert cli(other, '-c', 'GET', key).stdout.strip() == 'v%d' % i
        # Without -c a node that does not own the slot redirects.
        slot = int(cli(server, 'CLUSTER', 'KEYSLOT', key).stdout.strip())
        answers = [cli(s, 'GET', key).stdout.strip() for s in fleet.servers]
        moved = [a for a in answers if a.startswith('MOVED')]
        assert len(moved) == len(fleet.servers) - 1, answers
        assert all(a.split()[1] == str(slot) for a in moved), answers


def test_every_node_serves_the_same_map(fleet):
    maps = []
    for s in fleet.servers:
        r = harness.resp_client(s)
        maps.append(sorted((start, end, tuple((n[0], n[1]) for n in nodes))
                           for start, end, *nodes in r.execute_command('CLUSTER', 'SLOTS')))
        r.close()
    assert all(m == maps[0] for m in maps), maps
    covered = sum(end - start + 1 for start, end, _ in maps[0])
    assert covered == 16384


def test_multi_key_commands_over_several_slots_get_crossslot(fleet):
    import redis
    rc = cluster_client(fleet)
    try:
        assert rc.mset({'{t}a': '1', '{t}b': '2'}) is True  # one hash tag: one slot
        assert rc.mget(['{t}a', '{t}b']) == [b'1', b'2']
    finally:
        rc.close()
    # A raw MSET over two slots on the node owning the first key.
    for s in fleet.servers:
        r = harness.resp_client(s)
        try:
            r.execute_command('MSET', 'a', '1', 'b', '2')  # slots 15495 and 3300
        except redis.ResponseError as e:
            assert str(e).startswith(('CROSSSLOT', 'MOVED')), str(e)
            if str(e).startswith('CROSSSLOT'):
                assert str(e) == "CROSSSLOT Keys in request don't hash to the same slot"
                break
        finally:
            r.close()
    else:
        pytest.fail('no node answered CROSSSLOT')


@pytest.mark.parametrize('kind', ferrited_only())
def test_the_client_follows_a_node_that_joins_under_load(kind):
    """Writes run through RedisCluster while a fourth node joins: none fails (redirects are retried
    by the client), the map moves about a quarter of the slots to the new node, and what is written
    after the join reads back. (Moving a slot's items to its new owner is a later step: keys
    written before the join in the moved slots are not carried over yet.)"""
    fleet = cluster_util.start_fleet(kind, 3)
    extra = None
    errors = []
    written = []
    stop = threading.Event()

    def writer():
        rc = cluster_client(fleet)
        i = 0
        try:
            while not stop.is_set() and i < 200_000:
                key = 'load:%d' % i
                try:
                    rc.set(key, key)
                    written.append(key)
                except Exception as e:  # noqa: BLE001 - every error is a finding
                    errors.append(repr(e))
                    if len(errors) > 20:
                        return
                i += 1
        finally:
            rc.close()

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.5)
        extra = cluster_util.add_ferrited_node(fleet, 3)
        cluster_util.wait_converged(fleet.servers + [extra])
        joined_at = len(written)
        time.sleep(1.0)
    finally:
        stop.set()
        t.join(30)
    try:
        assert errors == [], errors[:5]
        after = written[joined_at:]
        assert len(after) > 50, len(written)
        new_node = harness.resp_client(extra)
        owned = new_node.dbsize()
        assert owned > 0, 'the new node got no writes'
        rc = cluster_client(fleet)
        try:
            values = rc.mget_nonatomic(after)
        finally:
            rc.close()
        assert [v for k, v in zip(after, values) if v != k.encode()] == []
        slots = harness.resp_client(fleet.servers[0]).execute_command('CLUSTER', 'SLOTS')
        mine = sum(end - start + 1 for start, end, primary, *_ in slots
                   if primary[1] == extra.port('resp'))
        assert 16384 / 4 * 0.8 <= mine <= 16384 / 4 * 1.1, mine
    finally:
        if extra is not None:
            harness.stop_checked(extra)
        fleet.stop()


@pytest.mark.parametrize('kind', ferrited_only())
def test_the_client_follows_the_map_when_a_node_dies(kind):
    """kill -9 of one of 3 nodes: once the others declare it dead its slots are theirs, and the
    client's writes succeed again (what the dead node held is lost until replication)."""
    fleet = cluster_util.start_fleet(kind, 3)
    try:
        victim = fleet.servers[2]
        victim.signal(signal.SIGKILL)
        victim.wait(10)
        survivors = fleet.servers[:2]
        cluster_util.wait_map_over(survivors)
        fleet.servers = survivors
        rc = cluster_client(fleet)
        try:
            for i in range(1000):
                assert rc.set('after:%d' % i, i) is True
            assert rc.get('after:999') == b'999'
        finally:
            rc.close()
    finally:
        fleet.stop()
