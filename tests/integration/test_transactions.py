"""MULTI / EXEC / DISCARD / WATCH / UNWATCH through redis-py (transactional and plain pipelines,
r.transaction, pipe.watch / pipe.multi) and raw RESP against a daemon of two workers: WATCH
conflicts from another connection, from expiry and from FLUSHALL, EXECABORT, and an invariant
(two keys always moved together) checked with MGET and with MULTI GET GET EXEC by readers while
writers on connections spread over both workers move amounts between them. Every expectation is
redis-server 7.0's behaviour (FERRITE_TEST_PEERS=1 checks them against it)."""

import contextlib
import threading
import time
import uuid

import pytest
import redis

import harness
from respwire import Error


@pytest.fixture(scope='module')
def server(resp_server):
    return resp_server


@pytest.fixture
def r2(server):
    """A second redis-py client (the conftest's `r` is the first)."""
    with contextlib.closing(harness.resp_client(server)) as c:
        yield c


@pytest.fixture
def key():
    return 'tx:' + uuid.uuid4().hex


def test_transactional_pipeline(r, key):
    pipe = r.pipeline()  # transaction=True: MULTI ... EXEC
    pipe.set(key, 1).incr(key).get(key).mget(key, key + ':none').delete(key + ':none')
    assert pipe.execute() == [True, 2, b'2', [b'2', None], 0]
    assert r.get(key) == b'2'


def test_plain_pipeline(r, key):
    pipe = r.pipeline(transaction=False)
    pipe.set(key, 'v').append(key, 'w').get(key)
    assert pipe.execute() == [True, 2, b'vw']


def test_runtime_error_inside_exec(r, key):
    r.set(key, 'abc')
    pipe = r.pipeline()
    pipe.incr(key).set(key + ':2', 'x').get(key)
    results = pipe.execute(raise_on_error=False)
    assert isinstance(results[0], redis.ResponseError)
    assert results[1:] == [True, b'abc']
    assert r.get(key + ':2') == b'x'


def test_execabort(r, conn, key):
    assert conn.call('MULTI') == b'OK'
    assert conn.call('SET', key, 'v') == b'QUEUED'
    assert err(conn.call('SET', key)) == b"ERR wrong number of arguments for 'set' command"
    assert err(conn.call('EXEC')) == b'EXECABORT Transaction discarded because of previous errors.'
    assert r.get(key) is None
    pipe = r.pipeline()
    pipe.set(key, 'v').execute_command('NOSUCHCOMMAND', 'x')
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.get(key) is None


def err(reply):
    assert isinstance(reply, Error), 'expected an error, got %r' % (reply,)
    return reply.args[0]


def test_errors_of_misplaced_commands(conn):
    assert err(conn.call('EXEC')) == b'ERR EXEC without MULTI'
    assert err(conn.call('DISCARD')) == b'ERR DISCARD without MULTI'
    assert conn.call('MULTI') == b'OK'
    assert err(conn.call('MULTI')) == b'ERR MULTI calls can not be nested'
    assert err(conn.call('WATCH', 'x')) == b'ERR WATCH inside MULTI is not allowed'
    assert conn.call('PING') == b'QUEUED'
    assert conn.call('EXEC') == [b'PONG']
    assert conn.call('MULTI') == b'OK'
    assert conn.call('DISCARD') == b'OK'


def test_watch_conflict_from_another_connection(r, r2, key):
    r.set(key, 1)
    with r.pipeline() as pipe:
        pipe.watch(key)
        assert pipe.get(key) == b'1'  # immediate mode after WATCH
        r2.set(key, 5)
        pipe.multi()
        pipe.incr(key)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get(key) == b'5'
    # Untouched: the transaction goes through.
    with r.pipeline() as pipe:
        pipe.watch(key)
        value = int(pipe.get(key))
        pipe.multi()
        pipe.set(key, value + 1)
        assert pipe.execute() == [True]
    assert r.get(key) == b'6'


def test_transaction_helper_retries_until_it_wins(r, r2, key):
    r.set(key, 0)
    attempts = []

    def add_one(pipe):
        value = int(pipe.get(key))
        attempts.append(value)
        if len(attempts) == 1:
            r2.incr(key)  # another client wins the first round
        pipe.multi()
        pipe.set(key, value + 1)

    assert r.transaction(add_one, key) == [True]
    assert len(attempts) == 2
    assert r.get(key) == b'2'


def test_watch_conflict_from_expiry(r, key):
    r.set(key, 1, px=150)
    r.set(key + ':gone', 1, px=1)
    time.sleep(0.05)
    with r.pipeline() as pipe:
        pipe.watch(key, key + ':gone')  # :gone has expired already: it does not abort EXEC
        time.sleep(0.3)  # key expires while watched: it does
        pipe.multi()
        pipe.get(key)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    with r.pipeline() as pipe:
        pipe.watch(key + ':gone')
        pipe.multi()
        pipe.get(key + ':gone')
        assert pipe.execute() == [None]


def test_watch_conflict_from_flushall(r, r2, key):
    r.set(key, 1)
    with r.pipeline() as pipe:
        pipe.watch(key)
        r2.flushall()
        pipe.multi()
        pipe.set(key, 2)
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert r.get(key) is None


def test_unwatch_and_discard_forget_watches(r, r2, conn, key):
    r.set(key, 1)
    assert conn.call('WATCH', key) == b'OK'
    assert conn.call('UNWATCH') == b'OK'
    r2.set(key, 2)
    assert conn.call('MULTI') == b'OK'
    assert conn.call('GET', key) == b'QUEUED'
    assert conn.call('EXEC') == [b'2']
    assert conn.call('WATCH', key) == b'OK'
    assert conn.call('MULTI') == b'OK'
    assert conn.call('DISCARD') == b'OK'
    r2.set(key, 3)
    assert conn.call('MULTI') == b'OK'
    assert conn.call('GET', key) == b'QUEUED'
    assert conn.call('EXEC') == [b'3']


def test_resp3_exec_and_watch_abort(r2, conn, key):
    conn.call('HELLO', '3')
    assert conn.call('WATCH', key) == b'OK'
    assert conn.call('MULTI') == b'OK'
    assert conn.call('GET', key) == b'QUEUED'
    r2.set(key, 'x')
    assert conn.call('EXEC') is None  # RESP3 null
    assert conn.call('MULTI') == b'OK'
    assert conn.call('GET', key) == b'QUEUED'
    assert conn.call('EXEC') == [b'x']


def test_moves_are_atomic_to_every_client_on_both_workers(server):
    """Movers transfer amounts between the keys of pairs (MULTI/EXEC, and WATCH-based optimistic
    transactions); readers check with MGET and with MULTI GET GET EXEC that each pair's sum never
    changes. 16 connections: SO_REUSEPORT spreads them over both workers."""
    pairs = 4
    total = 1000
    tag = uuid.uuid4().hex
    keys = [('inv:%s:%d:a' % (tag, i), 'inv:%s:%d:b' % (tag, i)) for i in range(pairs)]
    clients = [harness.resp_client(server) for _ in range(16)]
    try:
        # SO_REUSEPORT spreads the 16 connections by their ports' hash: all on one worker has a
        # probability of 2^-15. (CLIENT LIST lists every worker's connections, so it cannot tell.)
        for c in clients:
            c.ping()
        for a, b in keys:
            clients[0].mset({a: total, b: 0})
        stop = time.monotonic() + 3.0
        failures = []
        counts = {'multi': 0, 'watch': 0, 'mget': 0, 'exec_read': 0, 'watch_aborts': 0}
        lock = threading.Lock()

        def bump(name, n=1):
            with lock:
                counts[name] += n

        def mover(c, seed):
            i = seed
            while time.monotonic() < stop:
                a, b = keys[i % pairs]
                amount = (i % 7) + 1
                pipe = c.pipeline()
                pipe.decrby(a, amount).incrby(b, amount)
                pipe.execute()
                bump('multi')
                i += 3

        def optimistic(c, seed):
            i = seed
            while time.monotonic() < stop:
                a, b = keys[i % pairs]
                with c.pipeline() as pipe:
                    try:
                        pipe.watch(a, b)
                        va, vb = int(pipe.get(a)), int(pipe.get(b))
                        pipe.multi()
                        pipe.set(a, va - 2).set(b, vb + 2)
                        pipe.execute()
                        bump('watch')
                    except redis.WatchError:
                        bump('watch_aborts')
                i += 1

        def mget_reader(c, seed):
            i = seed
            while time.monotonic() < stop:
                a, b = keys[i % pairs]
                va, vb = c.mget(a, b)
                if int(va) + int(vb) != total:
                    failures.append(('mget', a, va, vb))
                bump('mget')
                i += 1

        def exec_reader(c, seed):
            i = seed
            while time.monotonic() < stop:
                a, b = keys[i % pairs]
                pipe = c.pipeline()
                va, vb = pipe.get(a).get(b).execute()
                if int(va) + int(vb) != total:
                    failures.append(('exec', a, va, vb))
                bump('exec_read')
                i += 1

        roles = [mover] * 5 + [optimistic] * 3 + [mget_reader] * 4 + [exec_reader] * 4
        threads = [threading.Thread(target=role, args=(c, n)) for n, (role, c) in enumerate(zip(roles, clients))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads)
        assert failures == []
        assert counts['multi'] > 0 and counts['watch'] > 0, counts
        assert counts['mget'] > 0 and counts['exec_read'] > 0, counts
        for a, b in keys:
            va, vb = clients[0].mget(a, b)
            assert int(va) + int(vb) == total
    finally:
        for c in clients:
            c.close()
