"""``--nemesis failover`` on real primary/replica databases with the set workload: the primary is
killed, the replica promoted, the clients follow it (acknowledged adds after the failover), the
fault period is in the SLA figures, and the old primary rejoins at the heal. Neither adapter fences
it: it comes back a second writable primary, so the runner reads the set on each primary at the
end and the ``set`` checker reports the split brain (divergent final reads; the old primary lacks
every add acknowledged after the failover)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from chaos.run.runner import RunSpec, run
from checkers.formats import read_history
from checkers.sla import faults_of
from tests.conftest import have_seekdb, require

pytestmark = [pytest.mark.db, pytest.mark.root]


CASES: dict[str, dict[str, Any]] = {
    "mariadb-async": {"db": "mariadb-async"},
    "seekdb-standby": {"db": "seekdb", "db_options": {"standby": True}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failover_clients_follow_the_new_primary_and_the_split_brain_shows(tmp_path: Path, case: str) -> None:
    require(os.geteuid() == 0, "the netns backend needs root")
    if case.startswith("seekdb"):
        require(have_seekdb(), "seekdb is not installed (pip install pylibseekdb)")
    spec = RunSpec(backend="netns", nodes=2, workload="set", nemesis="failover", time_limit=14, nemesis_interval=8,
                   nemesis_down=4, concurrency="4", rate=200, op_timeout=3, seed=3, results_dir=tmp_path,
                   **CASES[case])
    outcome = run(spec, say=print)
    results = json.loads((outcome.directory / "results.json").read_text())
    assert "error" not in results, results["error"]
    history = read_history(outcome.directory / "history.jsonl")
    failover = next(f for f in faults_of(history) if f.kind == "failover")
    assert failover.nodes == ["n1", "n2"] and failover.end_ns is not None  # rejoined at the heal
    after = [p for p in history.pairs() if p.f == "add" and p.type == "ok" and p.invoke.time > failover.start_ns]
    assert len(after) > 10, "the clients did not follow the promoted node"
    s = results["checkers"]["set"]
    print(f"{case}: {len(after)} adds acknowledged after the failover; set {s['valid?']}, lost {s.get('lost-count')} "
          f"(per node {({n: len(e) for n, e in s['lost-by-node'].items()})}), divergent {s['divergent']}; "
          f"recoveries {results['figures']['sla']['recoveries']}")
    assert [r["node"] for r in s["final-reads"]] == ["n1", "n2"]  # two primaries after the rejoin: a read on each
    failed_over = [op.time for op in history.nemesis_ops() if op.f == "failover"][-1]  # the clients use n2 from then
    to_n2 = {p.value for p in after if p.invoke.time > failed_over}
    assert to_n2 and to_n2 <= set(s["lost-by-node"]["n1"])
    assert s["divergent"] is True and s["valid?"] is False
