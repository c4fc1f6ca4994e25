"""Fixtures: the server under test.

By default every test runs against ferrited ($FERRITED; meson sets it). FERRITE_TEST_PEERS=1 also
runs the tests that have a reference server (memcached, redis-server) against it, which is how a
test is shown to be right; FERRITE_TEST_PEERS=only runs them against the reference servers alone.
Each test module starts its own servers and stops them when it is done, by PID, even when a test
failed.
"""

import contextlib
import itertools
import os

import pytest

import harness
import respwire

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


stop_checked = harness.stop_checked  # used by test modules as conftest.stop_checked


@pytest.fixture(scope='module', params=server_kinds('memcached'))
def mc_server(request):
    """A server speaking the memcached protocols (ferrited or memcached)."""
    yield from harness.serving(start(request.param))


@pytest.fixture(scope='module', params=server_kinds('redis'))
def resp_server(request):
    """A server speaking RESP (ferrited or redis-server)."""
    yield from harness.serving(start(request.param))


@pytest.fixture(scope='module', params=ferrited_only())
def ferrited(request):
    """ferrited alone, for what has no reference server (HTTP, the binary protocol, start-up)."""
    yield from harness.serving(start(request.param))


# RESP clients on the `server` fixture of the test module that asks for them (a module with a
# fixture of the same name uses its own).
@pytest.fixture
def r(server):
    """redis-py (RESP2), closed after the test."""
    with contextlib.closing(harness.resp_client(server)) as client:
        yield client


@pytest.fixture
def conn(server):
    """A raw RESP connection (respwire.Conn: exact bytes, RESP3), closed after the test."""
    with contextlib.closing(respwire.Conn(server.addr('resp'))) as c:
        yield c


_key_counter = itertools.count()


@pytest.fixture
def key():
    """Makes keys unique to one test, so tests sharing a server do not see each other's data."""
    prefix = 't%d_' % next(_key_counter)

    def make(name='k'):
        return prefix + name

    return make
