"""Fixtures: the server under test.

By default every test runs against ferrited ($FERRITED; meson sets it). FERRITE_TEST_PEERS=1 also
runs the tests that have a reference server (memcached, redis-server) against it, which is how a
test is shown to be right; FERRITE_TEST_PEERS=only runs them against the reference servers alone.
Each test module starts its own servers and stops them when it is done, by PID, even when a test
failed.
"""

import os
import itertools

import pytest

import harness

_MODES = {'': ('ferrited',), '0': ('ferrited',), '1': ('ferrited', 'peer'), 'only': ('peer',)}


def server_kinds(peer):
    """Which servers a test with reference server `peer` runs against."""
    mode = os.environ.get('FERRITE_TEST_PEERS', '')
    if mode not in _MODES:
        raise pytest.UsageError('FERRITE_TEST_PEERS must be empty, 0, 1 or only; not %r' % mode)
    return [peer if k == 'peer' else k for k in _MODES[mode]]


def ferrited_only():
    """For tests of ferrited's own behaviour (no reference server): empty in `only` mode."""
    return [k for k in server_kinds('peer') if k == 'ferrited']


def start(kind, sets=()):
    if kind == 'ferrited':
        if harness.ferrited_path() is None:
            pytest.skip('FERRITED is not set (meson sets it; or export FERRITED=<builddir>/'
                        'src/server/ferrited)')
        return harness.start_ferrited(sets=sets)
    if kind == 'memcached':
        return harness.start_memcached()
    if kind == 'redis':
        return harness.start_redis()
    raise ValueError(kind)


def stop_checked(server):
    """Stops a server; a ferrited that died during the tests, or did not exit 0 on SIGTERM, fails
    the module."""
    alive = server.alive()
    status = server.stop()
    stderr = server.stderr_text()[-8000:]
    if server.is_ferrited:
        assert alive, 'ferrited died during the tests (status %s); its stderr:\n%s' % (
            status, stderr)
        assert status == 0, 'ferrited exited with %s on SIGTERM; its stderr:\n%s' % (status, stderr)


@pytest.fixture(scope='module', params=server_kinds('memcached'))
def mc_server(request):
    """A server speaking the memcached protocols (ferrited or memcached)."""
    server = start(request.param)
    try:
        yield server
    finally:
        stop_checked(server)


@pytest.fixture(scope='module', params=server_kinds('redis'))
def resp_server(request):
    """A server speaking RESP (ferrited or redis-server)."""
    server = start(request.param)
    try:
        yield server
    finally:
        stop_checked(server)


@pytest.fixture(scope='module', params=ferrited_only())
def ferrited(request):
    """ferrited alone, for what has no reference server (HTTP, the binary protocol, start-up)."""
    server = start(request.param)
    try:
        yield server
    finally:
        stop_checked(server)


_key_counter = itertools.count()


@pytest.fixture
def key():
    """Makes keys unique to one test, so tests sharing a server do not see each other's data."""
    prefix = 't%d_' % next(_key_counter)

    def make(name='k'):
        return prefix + name

    return make
