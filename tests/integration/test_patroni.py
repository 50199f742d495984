"""Patroni's own failover on a real 3-node cluster (PostgreSQL 15, Patroni 3.0, etcd) in network
namespaces: the leader is crashed under the set workload, Patroni elects another one, the clients
find it through ``GET /primary`` and follow it, and in ``synchronous_mode_strict`` no acknowledged
insert is lost. Each run is ~1 minute (ttl 10, loop_wait 2, retry_timeout 4)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chaos.run.runner import RunSpec, run
from tests.conftest import require

pytestmark = [pytest.mark.db, pytest.mark.root]

TUNED = {"ttl": 10, "loop_wait": 2, "retry_timeout": 4}


def _run(tmp_path: Path, nemesis: str, **db_options: object) -> dict:
    require(os.geteuid() == 0, "the netns backend needs root")
    require(shutil.which("patroni") is not None, "patroni is not installed (apt-get install patroni)")
    # one fault (at 8 s, healed at 23 s): a second crash before the cluster has a synchronous standby
    # again would leave writes blocked (strict mode), not test the failover
    spec = RunSpec(db="patroni", backend="netns", nodes=3, workload="set", nemesis=nemesis, time_limit=35,
                   nemesis_interval=60, nemesis_down=15, nemesis_quiet=8, concurrency="6", rate=50, op_timeout=3,
                   seed=5, results_dir=tmp_path, db_options={**TUNED, **db_options})
    results = json.loads((run(spec, say=print).directory / "results.json").read_text())
    assert "error" not in results, results["error"]
    return results


def test_sync_strict_leader_crash_clients_follow_and_nothing_is_lost(tmp_path: Path) -> None:
    results = _run(tmp_path, "kill:primaries", synchronous_mode_strict=True)
    failovers = results["figures"]["failovers"]
    print(json.dumps(failovers, indent=1))
    [crash] = [f for f in failovers if f["fault"] == "kill"]
    assert crash["old"] == crash["value"][0] and crash["new"] not in (None, crash["old"]), "the writes did not move"
    assert crash["moved-ns"] < 25e9
    s = results["checkers"]["set"]
    assert s["acknowledged-count"] > 100 and s["lost-count"] == 0 and s["valid?"] is True
    assert {r["node"] for r in s["final-reads"]} == {"n1", "n2", "n3"}  # the leader's and each replica's


def test_killing_patroni_alone_leaves_postgres_serving_until_the_leader_key_expires(tmp_path: Path) -> None:
    """Without Patroni the old leader's PostgreSQL runs on and still acknowledges writes (replicated to
    its synchronous standby); another node takes the expired leader key and the writes move: none is lost."""
    results = _run(tmp_path, "kill-agent:primaries", synchronous_mode_strict=True)
    [f, *_] = [f for f in results["figures"]["failovers"] if f["fault"] == "kill-agent"]
    print(json.dumps(f))
    assert f["old-accepted"] > 0 and f["moved-ns"] is not None
    assert results["checkers"]["set"]["lost-count"] == 0
