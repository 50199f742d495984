"""Histories from real databases (tests/data/regressions/README.md) keep their verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkers.formats import read_history
from checkers.registry import CheckOptions, get_checker
from tests.helpers import held_commit_steps, pg_visible

REGRESSIONS = Path(__file__).parent.parent / "data" / "regressions"


def test_galera_cross_node_write_skew_is_g2_item():
    history = read_history(REGRESSIONS / "galera-serializable-g2-item.jsonl")
    list_append = get_checker("list-append")
    serializable = list_append(history, CheckOptions(consistency_models=("serializable",)))
    assert serializable.valid is False
    assert set(serializable.details["anomalies"]) == {"G2-item"}
    [cycle] = serializable.details["anomalies"]["G2-item"]
    assert sorted(t["process"] for t in cycle["cycle"]) == [6, 7]
    assert sorted((s["type"], s["key"]) for s in cycle["steps"]) == [("rw", 30), ("rw", 32)]
    assert list_append(history, CheckOptions(consistency_models=("snapshot-isolation",))).valid is True


def test_postgres_serializable_cycle_is_g2_item():
    history = read_history(REGRESSIONS / "postgres-serializable-g2-item.jsonl")
    result = get_checker("list-append")(history, CheckOptions(consistency_models=("serializable",)))
    assert result.valid is False
    assert set(result.details["anomalies"]) == {"G2-item"}
    [cycle] = result.details["anomalies"]["G2-item"]
    assert sorted(t["process"] for t in cycle["cycle"]) == [0, 6, 8]
    assert sorted((s["type"], s["key"]) for s in cycle["steps"]) == [("rw", 43), ("rw", 44), ("ww", 44)]


def test_postgres_read_only_anomaly_agrees_with_server_snapshots():
    """Each edge of the cycle matches the xids and snapshots PostgreSQL reported inside each txn."""
    history = read_history(REGRESSIONS / "postgres-serializable-read-only-anomaly.jsonl")
    result = get_checker("list-append")(history, CheckOptions(consistency_models=("serializable",)))
    assert result.valid is False
    assert set(result.details["anomalies"]) == {"G2-item"}
    [cycle] = result.details["anomalies"]["G2-item"]
    txns = {t["index"]: t for t in cycle["cycle"]}
    assert {t["iso"] for t in txns.values()} == {"serializable"}
    assert sorted((t["process"], t["xid"]) for t in txns.values()) == [(3, "791"), (6, None), (9, "792")]
    for step in cycle["steps"]:
        a, b = txns[step["from"]], txns[step["to"]]
        if step["type"] == "rw":  # a missed b's write: b's xid not in a's snapshot
            assert not pg_visible(int(b["xid"]), a["snapshot"])
        else:  # b saw a's write
            assert pg_visible(int(a["xid"]), b["snapshot"])


@pytest.mark.parametrize(("name", "r_on_a"), [("postgres-ssi-held-commit.jsonl", "wr"),
                                              ("postgres-ssi-held-commit-writing-tin.jsonl", "ww")])
def test_postgres_held_commit_schedule_is_g2_item(name, r_on_a):
    """The three-transaction schedules `benchmarks/pg_ssi_repro.py --stall [--r-appends]` forces (W held
    between becoming visible and SSI marking it committed, while P commits) are G2-item, and the
    server's snapshots agree with every edge."""
    history = read_history(REGRESSIONS / name)
    list_append = get_checker("list-append")
    result = list_append(history, CheckOptions(consistency_models=("serializable",)))
    assert result.valid is False
    assert set(result.details["anomalies"]) == {"G2-item"}
    [cycle] = result.details["anomalies"]["G2-item"]
    assert held_commit_steps(cycle) == [("P", "rw", "W", 2), ("R", "rw", "P", 3), ("W", r_on_a, "R", 2)]
    assert list_append(history, CheckOptions(consistency_models=("snapshot-isolation",))).valid is True


def test_patroni_cancel_wait_loses_acknowledged_visible_inserts():
    """Inserts acknowledged by Patroni's leader after their wait for the synchronous standby was
    cancelled, read back on that leader, are gone after the failover: lost by both set checkers."""
    history = read_history(REGRESSIONS / "patroni-sync-strict-cancel-wait.jsonl")
    lost = get_checker("set")(history, CheckOptions())
    assert lost.valid is False and lost.details["lost-count"] == 48
    assert get_checker("set-full")(history, CheckOptions()).details["lost"] == lost.details["lost"]
    acked = {p.value: p.complete for p in history.pairs(client=True) if p.f == "add" and p.type == "ok"}
    assert {acked[e].extra["served-by"] for e in lost.details["lost"]} == {"n1"}
    seen = set().union(*(set(p.complete.value) for p in history.pairs(client=True)
                         if p.f == "read" and p.type == "ok" and p.complete.extra.get("served-by") == "n1"))
    assert len(seen & set(lost.details["lost"])) == 34  # visible on the old leader before it crashed
