"""The daemon's snapshots (docs/persistence.md, "Snapshots in the daemon"): BGSAVE, SAVE,
BGREWRITEAOF and LASTSAVE with persist.mode snapshot, aof and both; what a snapshot holds after
kill -9; the AOF's rewrite under a write load keeps every acknowledged write (fsync = always); the
schedule by changes; a graceful stop's final snapshot."""

import os
import signal
import time

import pytest

import harness
import persist_util
from conftest import ferrited_only


@pytest.fixture(params=ferrited_only())
def folder(request):
    yield from persist_util.data_folder('ferrite_snapshots_')


def sets(folder, mode, extra=()):
    return ['persist.mode=' + mode, 'persist.dir=' + folder] + list(extra)


def wait_saved(r, saves, seconds=30):
    """Until INFO persistence counts `saves` snapshots and none is in progress (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        info = r.info('persistence')
        if info['rdb_saves'] >= saves and info['rdb_bgsave_in_progress'] == 0:
            return info
        time.sleep(0.02)
    raise AssertionError('no snapshot %d within %d s: %r' % (saves, seconds, r.info('persistence')))


def manifest(folder):
    with open(os.path.join(folder, 'MANIFEST')) as f:
        return f.read().splitlines()


def restart_after_kill(server, folder, mode):
    server.signal(signal.SIGKILL)
    server.wait(10)
    server = harness.start_ferrited(sets=sets(folder, mode))
    r = harness.resp_client(server)
    persist_util.wait_loaded(r)
    return server, r


@pytest.mark.parametrize('mode', ['snapshot', 'both'])
def test_bgsave_then_kill_9_loads_the_snapshot(folder, mode):
    server = harness.start_ferrited(sets=sets(folder, mode))
    try:
        r = harness.resp_client(server)
        before = r.lastsave()
        persist_util.write_keys(r, 3000)
        persist_util.write_keys(r, 10, prefix='ttl', ttl=1000)
        assert r.info('persistence')['rdb_changes_since_last_save'] >= 3010
        assert r.bgsave() is True
        info = wait_saved(r, 1)
        assert info['rdb_last_bgsave_status'] == 'ok'
        assert info['rdb_changes_since_last_save'] == 0
        assert info['rdb_last_save_items'] == 3010
        assert r.lastsave() >= before
        assert 'snapshot snap-0000000001.fsnap' in manifest(folder)
        server, r = restart_after_kill(server, folder, mode)
        assert r.dbsize() == 3010
        assert r.get('k2999') == b'v2999'
        assert 990 <= r.ttl('ttl3') <= 1000
        assert r.info('persistence')['aof_enabled'] == (1 if mode == 'both' else 0)
    finally:
        harness.stop_checked(server)


def test_snapshot_mode_keeps_what_the_last_save_held_and_a_graceful_stop_saves(folder):
    server = harness.start_ferrited(sets=sets(folder, 'snapshot'))
    try:
        r = harness.resp_client(server)
        persist_util.write_keys(r, 500)
        assert r.save() is True
        persist_util.write_keys(r, 500, prefix='late')  # after the snapshot: lost to kill -9 (no AOF)
        server, r = restart_after_kill(server, folder, 'snapshot')
        assert r.dbsize() == 500
        assert r.get('late0') is None
        persist_util.write_keys(r, 200, prefix='graceful')
    finally:
        harness.stop_checked(server)
    assert 'snapshot 2 started (shutdown)' in server.stderr_text(), server.stderr_text()
    server = harness.start_ferrited(sets=sets(folder, 'snapshot'))
    try:
        r = harness.resp_client(server)
        persist_util.wait_loaded(r)
        assert r.dbsize() == 700
        assert r.get('graceful199') == b'v199'
        # Only the base the manifest names is left.
        assert sorted(os.listdir(folder)) == ['MANIFEST', 'snap-0000000002.fsnap']
    finally:
        harness.stop_checked(server)


def test_rewrite_under_load_keeps_every_acknowledged_write(folder):
    """fsync = always with BGREWRITEAOF twice while four writers run, then kill -9: every
    acknowledged write is there (the fuzzy base plus the segments after the rewrite's start)."""
    mode_sets = sets(folder, 'aof', ['persist.fsync=always', 'persist.aof_rewrite_percent=0'])
    server = harness.start_ferrited(sets=mode_sets)
    with persist_util.AckedWriters(server, delete_every=7) as writers:
        r = harness.resp_client(server)
        time.sleep(0.3)
        assert r.bgrewriteaof() is True
        wait_saved(r, 1)
        time.sleep(0.2)
        assert r.bgrewriteaof() is True
        wait_saved(r, 2)
        time.sleep(0.2)
        lines = manifest(folder)
        assert 'snapshot snap-0000000002.fsnap' in lines
        server.signal(signal.SIGKILL)
        server.wait(10)
    # The first rewrite's base and the segments before the second one are gone.
    names = os.listdir(folder)
    assert 'snap-0000000001.fsnap' not in names
    assert 'aof-0000000001.seg' not in names
    server = harness.start_ferrited(sets=mode_sets)
    try:
        r = harness.resp_client(server)
        persist_util.wait_loaded(r)
        writers.assert_all_present(r)
    finally:
        harness.stop_checked(server)
    assert 'after its base snapshot' in server.stderr_text()


def test_a_snapshot_is_taken_once_enough_keys_changed(folder):
    server = harness.start_ferrited(sets=sets(folder, 'both', ['persist.snapshot_changes=100',
                                                                'persist.snapshot_interval=0']))
    try:
        r = harness.resp_client(server)
        persist_util.write_keys(r, 50)
        time.sleep(0.5)
        assert r.info('persistence')['rdb_saves'] == 0
        persist_util.write_keys(r, 60, prefix='more')
        info = wait_saved(r, 1, seconds=10)
        assert info['rdb_last_save_items'] >= 100
    finally:
        harness.stop_checked(server)
    assert 'started (persist.snapshot_changes)' in server.stderr_text()


def test_without_persistence_the_commands_say_so():
    server = harness.start_ferrited()
    try:
        r = harness.resp_client(server)
        for cmd in ('SAVE', 'BGSAVE', 'BGREWRITEAOF'):
            with pytest.raises(Exception, match='persistence is off'):
                r.execute_command(cmd)
        assert abs(r.lastsave().timestamp() - time.time()) < 3600
    finally:
        harness.stop_checked(server)
