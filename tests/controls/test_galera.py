"""Galera controls: 3 nodes on netns, list-append, 10 clients spread over the nodes (writes on every
node), 10 s, no fault.

By hand through the runner (2 runs each): at REPEATABLE READ every run holds lost-update, internal,
G-single-item and G2-item with ``wsrep_sync_wait`` 0 or 1 (InnoDB's repeatable read on each node, as
on a single MariaDB server). At SERIALIZABLE, G2-item only (write skew across nodes: certification
checks write-write conflicts only, and SERIALIZABLE locks are node-local); ``wsrep_sync_wait=1``
does not change that. Valid under snapshot-isolation is the sound claim at SERIALIZABLE.
"""

from __future__ import annotations

import pytest

from tests.controls.isolation import run_isolation

pytestmark = [pytest.mark.db, pytest.mark.root]


def test_galera_repeatable_read_loses_updates(tmp_path):
    control = run_isolation(tmp_path, "galera", "repeatable-read", "snapshot-isolation", nodes=3, seconds=10,
                            db_options={"sync_wait": 0})
    assert control.committed > 1000
    assert control.result.valid is False
    assert control.kinds >= {"lost-update", "internal", "G-single-item"}, control.anomalies


@pytest.mark.parametrize("sync_wait", [0, 1])
def test_galera_serializable_smoke_run_no_anomaly_but_write_skew(tmp_path, sync_wait):
    control = run_isolation(tmp_path, "galera", "serializable", "snapshot-isolation", nodes=3, seconds=15,
                            db_options={"sync_wait": sync_wait})
    assert control.committed > 50  # 761 to 4,768 by hand, 769 to 1,144 in 10 s today, once only 110 in CI
    assert control.result.valid is True
    assert control.kinds <= {"G2-item"}, control.anomalies
