"""Backup and restore (docs/persistence.md, "Backup and restore"): `ferritectl backup` of a live
ferrited's folder (persist.mode = aof, fsync = always) while clients keep writing, then
`ferrited --restore` of the archive into a new folder: the restored node holds exactly the source's
content at one point of the backup (a content digest: its sorted key/value pairs equal the writes
up to a cut), and that point is after every write acknowledged before the backup started."""

import hashlib
import os
import subprocess
import tempfile
import threading
import time

import pytest

import harness
import persist_util
from conftest import ferrited_only

WRITERS = 3


def ferritectl_path():
    path = os.environ.get('FERRITECTL', '')
    if path:
        return path
    ferrited = harness.ferrited_path()
    if ferrited:  # <build>/src/server/ferrited -> <build>/tools/ferritectl/ferritectl
        guess = os.path.join(os.path.dirname(ferrited), '..', '..', 'tools', 'ferritectl', 'ferritectl')
        if os.access(guess, os.X_OK):
            return os.path.normpath(guess)
    return None


@pytest.fixture(params=ferrited_only())
def workdir(request):
    if harness.ferrited_path() is None or ferritectl_path() is None:
        pytest.skip('needs FERRITED and FERRITECTL (or ferritectl in the same build)')
    with tempfile.TemporaryDirectory(prefix='ferrite_backup_') as d:
        yield d


def persist_sets(folder):
    return ['persist.mode=aof', 'persist.dir=' + folder, 'persist.fsync=always',
            'persist.segment_bytes=1MiB']


def value(t, i):
    return ('v%d:%d:' % (t, i)) + 'x' * (1500 + i % 50)


class Writers:
    """WRITERS connections, each setting w<t>:<i> for i = 0, 1, ... one at a time; acked[t] is the
    last i whose reply came back (everything up to it is on disk: fsync = always)."""

    def __init__(self, server):
        self.server = server
        self.acked = [-1] * WRITERS
        self.sent = [-1] * WRITERS
        self.stop = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self._run, args=(t,)) for t in range(WRITERS)]

    def _run(self, t):
        try:
            r = harness.resp_client(self.server)
            deadline = time.monotonic() + 30
            i = 0
            while not self.stop.is_set() and time.monotonic() < deadline and i < 200000:
                self.sent[t] = i
                assert r.set('w%d:%d' % (t, i), value(t, i)) is True
                self.acked[t] = i
                i += 1
        except Exception as e:  # reported by the test
            self.errors.append(repr(e))

    def __enter__(self):
        for th in self.threads:
            th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for th in self.threads:
            th.join(timeout=30)


def digest(pairs):
    h = hashlib.sha256()
    for k, v in sorted(pairs.items()):
        h.update(k + b'\0' + v + b'\0')
    return h.hexdigest()


def content(r):
    out = {}
    for k in r.scan_iter(count=1000):
        out[k] = r.get(k)
    return out


def test_a_backup_under_load_restores_the_content_at_its_point(workdir):
    source = os.path.join(workdir, 'data')
    archive = os.path.join(workdir, 'archive')
    restored = os.path.join(workdir, 'restored')
    server = harness.start_ferrited_with_mgmt(workdir, sets=persist_sets(source))
    try:
        with Writers(server) as w:
            deadline = time.monotonic() + 10
            # 3 x 400 values of 1.5 KB: the 1 MiB segments rotated at least once.
            while min(w.acked) < 400 and time.monotonic() < deadline and not w.errors:
                time.sleep(0.01)
            assert not w.errors, w.errors
            acked_before = list(w.acked)
            assert min(acked_before) >= 0, 'the writers did not start'
            out = subprocess.run([ferritectl_path(), '--socket', server.sock, 'backup', archive],
                                 capture_output=True, timeout=60)
            sent_after = list(w.sent)
        assert not w.errors, w.errors
        assert out.returncode == 0, out.stderr.decode()
        assert out.stdout.decode().startswith('OK %s: backup of %s: ' % (archive, source)), out.stdout
        segments = int(out.stdout.decode().split(' segments')[0].rsplit(' ', 1)[1])
        assert segments >= 2, out.stdout
        assert max(sent_after[t] - acked_before[t] for t in range(WRITERS)) > 0, 'no write during the backup'
    finally:
        harness.stop_checked(server)
    assert not [n for n in os.listdir(source) if n.startswith('.backup-')], 'a staging folder was left behind'

    node = harness.start_ferrited(sets=persist_sets(restored), extra=['--restore', archive])
    try:
        r = harness.resp_client(node)
        persist_util.wait_loaded(r)
        got = content(r)
    finally:
        harness.stop_checked(node)
    assert 'restored %s into %s' % (archive, restored) in node.stderr_text()

    # The cut of each writer: its writes reach the file in order, so the archive holds a prefix
    # w<t>:0 .. w<t>:cut[t] of each; every write acknowledged before the backup started is in it,
    # none sent after it ended is.
    cut = []
    for t in range(WRITERS):
        have = [int(k.split(b':')[1]) for k in got if k.startswith(b'w%d:' % t)]
        cut.append(max(have) if have else -1)
        assert cut[t] >= acked_before[t], (t, cut[t], acked_before[t])
        assert cut[t] <= sent_after[t], (t, cut[t], sent_after[t])
    print('backup: acknowledged before %s, cut %s, sent at its end %s; %s' %
          (acked_before, cut, sent_after, out.stdout.decode().strip()))
    want = {('w%d:%d' % (t, i)).encode(): value(t, i).encode() for t in range(WRITERS) for i in range(cut[t] + 1)}
    assert len(got) == len(want)
    assert digest(got) == digest(want)


def test_restore_refuses_an_occupied_folder_and_a_damaged_archive(workdir):
    source = os.path.join(workdir, 'data')
    archive = os.path.join(workdir, 'archive')
    server = harness.start_ferrited(sets=persist_sets(source))
    try:
        r = harness.resp_client(server)
        for i in range(100):
            r.set('k%d' % i, 'v%d' % i)
    finally:
        harness.stop_checked(server)
    out = subprocess.run([ferritectl_path(), 'backup', archive, '--dir', source], capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()

    # ferrited --restore into the source folder (it holds a MANIFEST): refused without --restore-force.
    res = harness.run_to_exit(harness.ferrited_argv(sets=persist_sets(source), extra=['--restore', archive]))
    assert res.returncode == 1
    assert b'--restore-force' in res.stderr and b'refusing to replace it' in res.stderr, res.stderr
    # ferritectl restore likewise (exit 8), then with --force.
    out = subprocess.run([ferritectl_path(), 'restore', archive, '--dir', source], capture_output=True, timeout=60)
    assert out.returncode == 8, out
    out = subprocess.run([ferritectl_path(), 'restore', archive, '--dir', source, '--force'],
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    assert any(n.startswith('.replaced-') for n in os.listdir(source))

    # A damaged archive: the file is named, nothing is restored.
    seg = sorted(n for n in os.listdir(archive) if n.endswith('.seg'))[-1]
    path = os.path.join(archive, seg)
    with open(path, 'r+b') as f:
        f.seek(os.path.getsize(path) - 1)
        b = f.read(1)
        f.seek(os.path.getsize(path) - 1)
        f.write(bytes([b[0] ^ 1]))
    fresh = os.path.join(workdir, 'fresh')
    res = harness.run_to_exit(harness.ferrited_argv(sets=persist_sets(fresh), extra=['--restore', archive]))
    assert res.returncode == 1
    assert path.encode() in res.stderr, res.stderr
    assert not os.path.exists(os.path.join(fresh, 'MANIFEST'))


def test_a_relative_persist_dir_is_the_daemons(workdir):
    """persist.dir relative to the daemon's working directory: ferritectl finds it (/proc/<pid>/cwd)."""
    source = os.path.join(workdir, 'data')
    relative = os.path.relpath(source)
    assert not relative.startswith('/')
    archive = os.path.join(workdir, 'archive')
    server = harness.start_ferrited_with_mgmt(workdir, sets=persist_sets(relative))
    try:
        r = harness.resp_client(server)
        for i in range(50):
            assert r.set('k%d' % i, 'v%d' % i) is True
        out = subprocess.run([ferritectl_path(), '--socket', server.sock, '--json', 'backup', archive],
                             capture_output=True, timeout=60)
    finally:
        harness.stop_checked(server)
    assert out.returncode == 0, out.stderr.decode()
    import json
    report = json.loads(out.stdout)
    assert report['ok'] and report['records'] == 50, report
    assert os.path.realpath(report['source']) == os.path.realpath(os.path.join(os.getcwd(), relative))
