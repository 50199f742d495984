"""Histories from real databases (tests/data/regressions/README.md) keep their verdicts."""

from __future__ import annotations

from pathlib import Path

from checkers.formats import read_history
from checkers.registry import CheckOptions, get_checker

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
