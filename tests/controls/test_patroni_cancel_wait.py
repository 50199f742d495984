"""Patroni's documented hole in ``synchronous_mode_strict``, found on a real cluster in every CI run.

3 nodes (PostgreSQL 15, Patroni 3.0, etcd) in network namespaces, the set workload following the
leader through ``GET /primary``, and the ``cancel-wait`` fault: the leader's synchronous standby is
cut off the leader's port, the commits waiting for it are cancelled (each COMMIT then returns ok,
committed on the leader only), and the leader crashes. The standby takes over without them: the
set checker must report exactly those inserts lost. The same crash without the cancel loses
nothing (tests/integration/test_patroni.py). About 90 s."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chaos.run.runner import RunSpec, run
from checkers.formats import read_history
from tests.conftest import require

pytestmark = [pytest.mark.db, pytest.mark.root]


def test_cancelled_synchronous_commits_are_acknowledged_then_lost(tmp_path: Path) -> None:
    require(os.geteuid() == 0, "the netns backend needs root")
    require(shutil.which("patroni") is not None, "patroni is not installed (apt-get install patroni)")
    spec = RunSpec(db="patroni", backend="netns", nodes=3, workload="set", nemesis="cancel-wait", time_limit=40,
                   nemesis_interval=30, nemesis_down=15, nemesis_quiet=10, concurrency="8", rate=100, op_timeout=3,
                   seed=2, results_dir=tmp_path,
                   db_options={"synchronous_mode_strict": True, "ttl": 10, "loop_wait": 2, "retry_timeout": 4})
    outcome = run(spec, say=print)
    results = json.loads((outcome.directory / "results.json").read_text())
    assert "error" not in results, results["error"]
    history = read_history(outcome.directory / "history.jsonl")
    start = next(op for op in history.nemesis_ops() if op.f == "start-cancel-wait" and isinstance(op.value, dict))
    began = max(op.time for op in history.nemesis_ops() if op.f == "start-cancel-wait" and op.time < start.time)
    s = results["checkers"]["set"]
    print(f"fault {start.value}; set lost {s['lost-count']} of {s['acknowledged-count']} acknowledged")
    assert start.value["cancelled"] > 0, "no commit waited for the cut-off standby"
    assert s["valid?"] is False and s["lost-count"] > 0
    held = {p.value for p in history.pairs(client=True) if p.f == "add" and p.type == "ok"
            and began <= p.complete.time <= start.time and p.complete.extra["served-by"] == start.value["leader"]}
    assert set(s["lost"]) <= held  # only inserts the old leader acknowledged during the hold
