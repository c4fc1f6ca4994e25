"""What the persistence tests share: a temporary data folder, bulk writes, waiting for a load to
end, and writers that keep the list of acknowledged writes to check after a kill -9."""

import os
import tempfile
import threading
import time

import harness


def data_folder(prefix):
    """For a fixture, `yield from persist_util.data_folder('ferrite_x_')`: a persistence folder
    path inside a temporary directory (the folder itself does not exist yet)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield os.path.join(d, 'data')


def write_keys(r, n, prefix='k', ttl=None):
    """SET prefix<i> = v<i> for i < n, pipelined."""
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.set('%s%d' % (prefix, i), 'v%d' % i, ex=ttl)
    pipe.execute()


def wait_loaded(r, seconds=30):
    """Until INFO persistence says the folder is loaded (bounded)."""
    deadline = time.monotonic() + seconds
    while r.info('persistence')['loading'] != 0 and time.monotonic() < deadline:
        time.sleep(0.05)


class AckedWriters:
    """Threads that SET key = key (w<thread>_<i>) until stopped or the daemon dies, keeping the
    keys whose SET was acknowledged. With delete_every, every that many writes one earlier key is
    deleted too (deletes are replayed as well); a key whose delete was in flight when the daemon
    died is dropped from the list: it may or may not have been made durable."""

    def __init__(self, server, threads=4, delete_every=None, limit=200000):
        self.acked = []
        self._server = server
        self._delete_every = delete_every
        self._limit = limit
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(threads)]

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(10)
        return False

    def _run(self, n):
        r = harness.resp_client(self._server)
        i = 0
        while not self._stop.is_set() and i < self._limit:
            key = 'w%d_%d' % (n, i)
            try:
                if r.set(key, key):
                    self.acked.append(key)
            except Exception:  # the daemon was killed mid-request
                return
            if self._delete_every and i % self._delete_every == 0:
                gone = 'w%d_%d' % (n, i - 3)
                try:
                    deleted = r.delete(gone)
                except Exception:  # killed mid-delete
                    if gone in self.acked:
                        self.acked.remove(gone)
                    return
                if deleted:
                    self.acked.remove(gone)
            i += 1

    def assert_all_present(self, r):
        """Every acknowledged write reads back (after a restart)."""
        assert len(self.acked) > 100, len(self.acked)
        values = r.mget(self.acked)
        missing = [k for k, v in zip(self.acked, values) if v != k.encode()]
        assert missing == [], '%d of %d acknowledged writes lost' % (len(missing), len(self.acked))
