"""The snapshots on the management socket (docs/persistence.md, "Snapshots in the daemon"):
`ferritectl save` takes one and waits for it, `ferritectl persistence` shows the state, /metrics
has the snapshot figures; with persistence off both say so."""

import json
import os

import harness
from conftest import ctl, needs_ferritectl

pytestmark = needs_ferritectl


def test_save_waits_for_the_snapshot_and_persistence_shows_it(tmp_path):
    folder = os.path.join(str(tmp_path), 'data')
    server = harness.start_ferrited_with_mgmt(tmp_path, sets=['persist.mode=snapshot', 'persist.dir=' + folder])
    try:
        r = harness.resp_client(server)
        pipe = r.pipeline(transaction=False)
        for i in range(1000):
            pipe.set('k%d' % i, 'v' * 100)
        pipe.execute()
        out = ctl(server, 'save')
        assert out.returncode == 0, out.stderr
        assert 'last snapshot' in out.stdout and '1000 items' in out.stdout, out.stdout
        assert 'last status         ok' in out.stdout
        assert os.path.exists(os.path.join(folder, 'snap-0000000001.fsnap'))
        state = json.loads(ctl(server, 'persistence', '--json').stdout)['data']
        assert state['saves'] == 1 and state['last_items'] == 1000 and not state['in_progress']
        assert state['snapshots'] is True and state['aof'] is False
        metrics = json.loads(ctl(server, 'metrics', '--json').stdout)['data']['text']
        assert '\nferrite_snapshots_total 1\n' in metrics
        assert '\nferrite_snapshot_last_items 1000\n' in metrics
        assert '\nferrite_loading 0\n' in metrics
        # A second save writes the next one; the first is removed.
        assert ctl(server, 'save', '--json').returncode == 0
        assert sorted(os.listdir(folder)) == ['MANIFEST', 'snap-0000000002.fsnap']
    finally:
        harness.stop_checked(server)


def test_without_persistence_save_fails_and_says_why(daemon):
    out = ctl(daemon, 'save')
    assert out.returncode == 1
    assert 'persistence is off' in out.stderr
    out = ctl(daemon, 'persistence')
    assert out.returncode == 1 and 'persistence is off' in out.stderr
