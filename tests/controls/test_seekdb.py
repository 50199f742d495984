"""seekdb controls: what a single node keeps through kill -9 (by hand: every acknowledged write)."""

from __future__ import annotations

import pytest

from tests.conftest import have_seekdb, require
from tests.controls.isolation import run_isolation

pytestmark = [pytest.mark.db, pytest.mark.slow]



def test_kill9_single_node_loses_nothing(run_control):
    """Negative control: kills happen, transfers are acknowledged, none is missing afterwards."""
    require(have_seekdb(), "pylibseekdb (the seekdb binary) is not installed")
    outcome, results = run_control("seekdb-kill-negative")
    r = results["bank"]
    kills = [x for x in r["figures"]["sla"]["recoveries"] if x["fault"]["kind"] == "kill"]
    assert len(kills) >= 2, "the nemesis must have killed the node at least twice"
    bank = r["figures"]["bank"]
    assert bank["transfers-acknowledged"] > 100
    assert bank["transfers-acknowledged-missing"] == 0
    assert bank["money-delta"] == 0
    assert r["checkers"]["bank"]["valid?"] is True and r["checkers"]["bank-log"]["valid?"] is True
    verdicts = {v["claim"]: v["verdict"] for v in r["claims"]["verdicts"]}
    assert verdicts == {"data_loss": "certified"}
    assert outcome.exit_code == 0


@pytest.mark.root
def test_serializable_smoke_run_no_anomaly_but_write_skew(tmp_path):
    """OceanBase documents its SERIALIZABLE as Oracle-style snapshot isolation: write skew (G2-item) is
    allowed, nothing else is. The verdict at snapshot-isolation must be valid."""
    require(have_seekdb(), "pylibseekdb (the seekdb binary) is not installed")
    # 4 clients: with 10 on the hot keys, row lock waits held it to 1-12 txn/s (21 commits in 15 s once)
    control = run_isolation(tmp_path, "seekdb", "serializable", "snapshot-isolation", seconds=15, clients="4")
    assert control.committed > 50  # 302 to 497 in 15 s on a quiet machine
    assert control.result.valid is True
    assert control.kinds <= {"G2-item"}, control.anomalies
