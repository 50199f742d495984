"""The nemeses on a real 3-node Galera cluster in network namespaces, each effect seen from outside:
a clock bump shows in ``NOW()`` on that node only; a partitioned node goes non-Primary and comes back
Primary after the heal; a paused node stops answering and answers again once resumed; packet loss on
a node makes its clients' queries slower."""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from chaos.nemesis.package import build_nemesis
from clusters.ledger import Ledger
from tests.conftest import require
from tests.helpers import heal_error
from tests.integration.galera_probe import query_seconds, wait_status

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
        package = build_nemesis("partition,clock,pause,packet", db, nodes, random.Random(2), ledger=ledger, interval=10,
                                duration=2)
        db.setup(nodes)
        try:
            with package.healing(heal_error):
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


def test_partitioned_node_goes_non_primary_and_back(galera) -> None:
    db, nodes, nemesis = galera
    assert db.status(nodes["n3"], "wsrep_cluster_status")["wsrep_cluster_status"] == "Primary"
    nemesis.invoke("start-partition", {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]})
    try:
        cut = wait_status(db, nodes["n3"], "non-Primary", 30)
        assert db.status(nodes["n1"], "wsrep_cluster_status")["wsrep_cluster_status"] == "Primary"
    finally:
        nemesis.invoke("stop-partition", None)
    healed = wait_status(db, nodes["n3"], "Primary", 60)
    print(f"galera: n3 non-Primary {cut:.1f} s after the partition, Primary {healed:.1f} s after the heal")


def test_paused_node_stops_answering_then_resumes(galera) -> None:
    db, nodes, nemesis = galera
    assert query_seconds(db, nodes["n3"]) is not None
    nemesis.invoke("pause", ["n3"])
    paused = time.monotonic()
    try:
        assert query_seconds(db, nodes["n3"], timeout=2) is None
        # a stopped member stalls the whole cluster until it is evicted (evs suspect timeout, ~5 s)
        while query_seconds(db, nodes["n1"], timeout=2) is None:
            assert time.monotonic() - paused < 30, "n1 never answered while n3 was paused"
        print(f"galera: n3 paused; n1 answers again {time.monotonic() - paused:.1f} s after the pause")
    finally:
        nemesis.invoke("resume", None)
    resumed = time.monotonic()
    while query_seconds(db, nodes["n3"]) is None:  # evicted while stopped: it rejoins first
        assert time.monotonic() - resumed < 60, "n3 never answered after it was resumed"
    print(f"galera: n3 answers again {time.monotonic() - resumed:.1f} s after the resume")


def test_packet_loss_slows_the_nodes_clients(galera) -> None:
    db, nodes, nemesis = galera
    before = sorted(query_seconds(db, nodes["n2"]) or 3.0 for _ in range(20))
    nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"loss": 0.4}})
    try:
        during = sorted(query_seconds(db, nodes["n2"]) or 3.0 for _ in range(20))
    finally:
        nemesis.invoke("stop-packet", None)
    print(f"\ngalera n2 connect+SELECT 1, 20 tries: median {before[10]:.3f} s, worst {before[-1]:.3f} s before; "
          f"median {during[10]:.3f} s, worst {during[-1]:.3f} s with 40% packet loss")
    assert during[10] > 0.2 and during[10] > 5 * before[10]  # a lost SYN or segment costs a retransmission
