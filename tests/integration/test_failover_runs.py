"""``--nemesis failover`` on real primary/replica databases with the set workload: the primary is
killed, the replica promoted, the clients follow it (acknowledged adds after the failover), the
fault period is in the SLA figures, and the old primary rejoins at the heal."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from chaos.runner import RunSpec, run
from checkers.formats import read_history
from checkers.sla import faults_of
from tests.conftest import have_seekdb, require

pytestmark = [pytest.mark.db, pytest.mark.root]



CASES: dict[str, dict[str, Any]] = {
    "mariadb-async": {"db": "mariadb-async"},
    "seekdb-standby": {"db": "seekdb", "db_options": {"standby": True}},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_failover_and_clients_follow_the_new_primary(tmp_path: Path, case: str) -> None:
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
    assert results["checkers"]["set"]["valid?"] in (True, False)  # lost writes are possible: async
    print(f"{case}: {len(after)} adds acknowledged after the failover; set "
          f"{results['checkers']['set']['valid?']}, lost {results['checkers']['set'].get('lost-count')}; "
          f"recoveries {results['figures']['sla']['recoveries']}")
