"""The nemeses on a real 3-node Galera cluster in network namespaces: a clock bump shows in ``NOW()``
on that node only; a partitioned node goes non-Primary and comes back Primary after the heal."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from chaos.nemesis import build_nemesis
from clusters.ledger import Ledger
from tests.conftest import require

pytestmark = [pytest.mark.root, pytest.mark.db]


@pytest.fixture(scope="module")
def galera(tmp_path_factory):
    require(os.geteuid() == 0 and shutil.which("mariadbd") is not None, "Galera needs root and mariadb-server")
    from clusters.galera import Galera
    from clusters.netns import NetnsBackend

    state = tmp_path_factory.mktemp("galstate")
    ledger = Ledger(directory=state)
    backend = NetnsBackend(ledger)
    run_dir = Path(tempfile.mkdtemp(prefix="chaoscert-nem-", dir="/var/tmp"))  # mysql must reach it
    run_dir.chmod(0o755)
    ledger.record("path", str(run_dir), path=str(run_dir))
    try:
        nodes = backend.create(3, run_dir)
        db = Galera(str(run_dir), sync_wait=1)
        package = build_nemesis("partition,clock", db, nodes, random.Random(2), ledger=ledger, interval=10,
                                duration=2)
        db.setup(nodes)
        try:
            with package.healing():
                yield db, {n.name: n for n in nodes}, package.nemesis
        finally:
            db.teardown(nodes)
    finally:
        assert backend.destroy() == []
        assert ledger.release_all() == []


def skew(db, node) -> float:
    before = time.time()
    (row,) = db.sql(node, "SELECT UNIX_TIMESTAMP(NOW(6))")
    return float(row[0]) - (before + time.time()) / 2


def test_clock_bump_shows_in_now_on_that_node_only(galera) -> None:
    db, nodes, nemesis = galera
    nemesis.invoke("bump-clock", {"n2": 90000})
    try:
        seen = {name: skew(db, n) for name, n in nodes.items()}
        print(f"galera NOW() skew after bump n2 +90 s: {seen}")
        assert 89 < seen["n2"] < 91 and abs(seen["n1"]) < 1 and abs(seen["n3"]) < 1
        assert db.status(nodes["n2"], "wsrep_local_state_comment")["wsrep_local_state_comment"] == "Synced"
    finally:
        nemesis.invoke("reset-clock", ["n2"])
    assert abs(skew(db, nodes["n2"])) < 1


def _wait_status(db, node, want: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if db.status(node, "wsrep_cluster_status").get("wsrep_cluster_status") == want:
            return time.monotonic() - start
        time.sleep(0.2)
    raise AssertionError(f"{node.name} not {want} after {timeout} s")


def test_partitioned_node_goes_non_primary_and_back(galera) -> None:
    db, nodes, nemesis = galera
    assert db.status(nodes["n3"], "wsrep_cluster_status")["wsrep_cluster_status"] == "Primary"
    nemesis.invoke("start-partition", {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]})
    try:
        cut = _wait_status(db, nodes["n3"], "non-Primary", 30)
        assert db.status(nodes["n1"], "wsrep_cluster_status")["wsrep_cluster_status"] == "Primary"
    finally:
        nemesis.invoke("stop-partition", None)
    healed = _wait_status(db, nodes["n3"], "Primary", 60)
    print(f"galera: n3 non-Primary {cut:.1f} s after the partition, Primary {healed:.1f} s after the heal")
