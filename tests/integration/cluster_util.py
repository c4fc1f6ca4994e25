"""Starting a fleet on loopback for the cluster tests: N ferrited with [cluster] on (one shared
key, the first node as every other's seed), or, to show a test is right, a Redis Cluster of N
redis-server made with `redis-cli --cluster create`. Every wait is bounded; every process is
stopped by PID."""

import os
import subprocess
import tempfile
import time

import harness

KEY = 'test-cluster-key'


def _cluster_info(server):
    import redis
    host, port = server.addr('resp')
    r = redis.Redis(host=host, port=port, socket_timeout=harness.IO_TIMEOUT)
    try:
        text = r.execute_command('CLUSTER', 'INFO')
    finally:
        r.close()
    if isinstance(text, bytes):
        text = text.decode()
    return dict(line.split(':', 1) for line in text.split('\r\n') if ':' in line)


def wait_converged(servers, seconds=30):
    """Until every node says cluster_state:ok and knows exactly len(servers) nodes (bounded)."""
    deadline = time.monotonic() + seconds
    infos = []
    while time.monotonic() < deadline:
        infos = [_cluster_info(s) for s in servers]
        if all(i.get('cluster_state') == 'ok' and int(i.get('cluster_known_nodes', 0)) == len(servers)
               and int(i.get('cluster_slots_ok', 0)) == 16384 for i in infos):
            return infos
        time.sleep(0.1)
    raise AssertionError('the nodes did not converge in %d s: %r' % (seconds, infos))


def _slot_owner_ports(server):
    r = harness.resp_client(server)
    try:
        slots = r.execute_command('CLUSTER', 'SLOTS')
    finally:
        r.close()
    return {int(primary[1]) for _, _, primary, *_ in slots}, sum(int(e) - int(b) + 1 for b, e, *_ in slots)


def wait_map_over(servers, seconds=30):
    """Until each of `servers` maps all 16384 slots to these servers alone, e.g. after another
    node died (bounded)."""
    want = {s.port('resp') for s in servers}
    deadline = time.monotonic() + seconds
    seen = []
    while time.monotonic() < deadline:
        seen = [_slot_owner_ports(s) for s in servers]
        if all(owners <= want and covered == 16384 for owners, covered in seen):
            return
        time.sleep(0.1)
    raise AssertionError('the map did not settle on %s in %d s: %r' % (sorted(want), seconds, seen))


class Fleet:
    """N servers forming one cluster; `servers[i].addr('resp')` etc.; stop() stops them all
    (checked: a ferrited that died or did not exit 0 fails the test)."""

    def __init__(self, kind, servers, workdir, seed_port=None):
        self.kind = kind
        self.servers = servers
        self.workdir = workdir
        self.seed_port = seed_port  # ferrited: the first node's gossip port, every node's seed

    def startup_nodes(self):
        return [harness.parse_hostport('%s:%d' % s.addr('resp')) for s in self.servers]

    def stop(self):
        try:
            for s in self.servers:
                if self.kind == 'ferrited':
                    harness.stop_checked(s)
                else:
                    s.stop()
        finally:
            self.workdir.cleanup()


def ferrited_node_sets(workdir, index, gossip_port, seed_port, extra=()):
    return ['cluster.enabled=true',
            'cluster.key=' + KEY,
            'cluster.gossip=%s:%d' % (harness.HOST, gossip_port),
            'cluster.seeds=%s:%d' % (harness.HOST, seed_port),
            'cluster.state_file=' + os.path.join(workdir, 'node%d.state' % index)] + list(extra)


def start_ferrited_fleet(n, extra=()):
    workdir = tempfile.TemporaryDirectory(prefix='ferrite-fleet-')
    servers = []
    try:
        ports = [harness.free_port(udp_too=True) for _ in range(n)]
        for i in range(n):
            servers.append(harness.start_ferrited(
                sets=ferrited_node_sets(workdir.name, i, ports[i], ports[0], extra)))
        wait_converged(servers)
    except BaseException:
        for s in servers:
            s.stop()
        workdir.cleanup()
        raise
    return Fleet('ferrited', servers, workdir, ports[0])


def add_ferrited_node(fleet, index, extra=()):
    """Starts one more node that joins `fleet` through its seed (not waited for)."""
    return harness.start_ferrited(sets=ferrited_node_sets(
        fleet.workdir.name, index, harness.free_port(udp_too=True), fleet.seed_port, extra))


def _redis_cluster_port():
    """A free port whose cluster bus port (port + 10000) is free too."""
    import socket
    for _ in range(100):
        port = harness.free_port()
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((harness.HOST, port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError('no free port pair found')


def start_redis_fleet(n):
    """A Redis Cluster of n primaries (no replicas), made by redis-cli --cluster create."""
    workdir = tempfile.TemporaryDirectory(prefix='ferrite-redis-fleet-')
    servers = []
    try:
        for i in range(n):
            servers.append(harness.start_redis(port=_redis_cluster_port(), extra=[
                '--cluster-enabled', 'yes',
                '--cluster-config-file', os.path.join(workdir.name, 'nodes%d.conf' % i)]))
        addrs = ['%s:%d' % s.addr('resp') for s in servers]
        subprocess.run(['redis-cli', '--cluster', 'create'] + addrs + ['--cluster-replicas', '0',
                                                                       '--cluster-yes'],
                       check=True, capture_output=True, timeout=60)
        wait_converged(servers)
    except BaseException:
        for s in servers:
            s.stop()
        workdir.cleanup()
        raise
    return Fleet('redis', servers, workdir)


def start_fleet(kind, n, extra=()):
    return start_ferrited_fleet(n, extra) if kind == 'ferrited' else start_redis_fleet(n)
