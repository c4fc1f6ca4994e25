"""Loading the persistence folder at start (docs/persistence.md, "Loading at start" and "In the
worker"): what was written is there after a clean restart and after kill -9 under fsync=always
(every acknowledged write), and a damaged folder refuses to start, naming the file and offset,
unless persist.load_damaged = yes."""

import os
import signal
import time

import pytest

import harness
import persist_util
from conftest import ferrited_only


@pytest.fixture(params=ferrited_only())
def folder(request):
    yield from persist_util.data_folder('ferrite_recovery_')


def persist_sets(folder, fsync='everysec', extra=()):
    return ['persist.mode=aof', 'persist.dir=' + folder, 'persist.fsync=' + fsync] + list(extra)


def test_a_restart_loads_what_was_written(folder):
    server = harness.start_ferrited(sets=persist_sets(folder, 'always'))
    try:
        r = harness.resp_client(server)
        persist_util.write_keys(r, 3000)
        assert r.delete('k7') == 1
        assert r.incrby('n', 5) == 5
    finally:
        harness.stop_checked(server)
    server = harness.start_ferrited(sets=persist_sets(folder))
    try:
        r = harness.resp_client(server)
        persist_util.wait_loaded(r)
        info = r.info('persistence')
        assert info['loading'] == 0 and info['aof_enabled'] == 1
        assert info['aof_last_write_status'] == 'ok'
        assert r.dbsize() == 3000  # 3000 sets, one delete, one counter
        assert r.get('k2999') == b'v2999'
        assert r.get('k7') is None
        assert r.get('n') == b'5'
    finally:
        harness.stop_checked(server)
    assert 'loaded 3002 records' in server.stderr_text(), server.stderr_text()


def test_kill_9_under_fsync_always_keeps_every_acknowledged_write(folder):
    server = harness.start_ferrited(sets=persist_sets(folder, 'always'))
    with persist_util.AckedWriters(server) as writers:
        time.sleep(1.0)
        server.signal(signal.SIGKILL)
        server.wait(10)
    server = harness.start_ferrited(sets=persist_sets(folder))
    try:
        r = harness.resp_client(server)
        persist_util.wait_loaded(r)
        writers.assert_all_present(r)
    finally:
        harness.stop_checked(server)


def test_a_damaged_folder_refuses_to_start_unless_overridden(folder):
    server = harness.start_ferrited(sets=persist_sets(folder))
    try:
        r = harness.resp_client(server)
        persist_util.write_keys(r, 2000)
    finally:
        harness.stop_checked(server)
    segment = os.path.join(folder, 'aof-0000000001.seg')
    size = os.path.getsize(segment)
    with open(segment, 'r+b') as f:
        f.seek(size // 2)
        b = f.read(1)
        f.seek(size // 2)
        f.write(bytes([b[0] ^ 0x10]))
    out = harness.run_to_exit(harness.ferrited_argv(sets=persist_sets(folder)))
    assert out.returncode == 1, out
    assert segment.encode() + b': offset ' in out.stderr, out.stderr
    assert b'persist.load_damaged' in out.stderr
    server = harness.start_ferrited(sets=persist_sets(folder, extra=['persist.load_damaged=yes']))
    try:
        r = harness.resp_client(server)
        persist_util.wait_loaded(r)
        assert 0 < r.dbsize() < 2000
        assert r.get('k0') == b'v0'
    finally:
        harness.stop_checked(server)
