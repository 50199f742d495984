"""The shipped suites run for real, each at a small time scale: a release-gate exit code (never an
error), one results folder per test with every checker's verdict, every claim judged, and the SLA
figures (availability, RTO per fault) the claims were judged on."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from chaos.run.suite import load_suite, run_suite
from checkers.formats import read_history
from checkers.sla import faults_of
from tests.conftest import have_seekdb, require

pytestmark = [pytest.mark.db, pytest.mark.root]
ROOT = Path(__file__).resolve().parents[2]



# suite file -> (time scale, what it needs); each suite runs in about a minute at that scale
SUITES = {
    "three-zeros-galera.toml": (0.1, lambda: shutil.which("mariadbd") or shutil.which("mysqld")),
    "three-zeros-seekdb.toml": (0.15, have_seekdb),
    "etcd-linearizable.toml": (0.2, lambda: shutil.which("etcd")),
    "seekdb-failover.toml": (0.5, have_seekdb),
}


@pytest.mark.parametrize("name", sorted(SUITES))
def test_shipped_suite_runs(tmp_path: Path, name: str) -> None:
    scale, needs = SUITES[name]
    require(os.geteuid() == 0, "the netns backend needs root")
    require(bool(needs()), f"{name} needs its database installed (scripts/setup.sh)")
    suite = load_suite(ROOT / "suites" / name, time_scale=scale, results_dir=tmp_path)
    outcome = run_suite(suite, tmp_path, say=print)
    assert outcome.exit_code in (0, 1, 2), outcome.statuses  # a verdict, not an error
    assert set(outcome.statuses) == {t.name for t in suite.tests}
    summary = json.loads((outcome.directory / "suite.json").read_text())
    errors = {test: json.loads((outcome.directory / run / "results.json").read_text()).get("error")
              for test, run in summary["runs"].items()}
    assert not any(errors.values()), errors  # the whole message: a setup error carries the nodes' log lines
    assert summary["exit-code"] == outcome.exit_code and (outcome.directory / "junit.xml").exists()
    for test in suite.tests:
        run_dir = outcome.directory / summary["runs"][test.name]
        results = json.loads((run_dir / "results.json").read_text())
        assert set(results["checkers"]) >= set(test.spec.bundle.checkers)
        verdicts = {v["claim"]: v for v in results["claims"]["verdicts"]}
        assert set(verdicts) == set(test.claims.values)
        sla = results["figures"]["sla"]
        assert 0 < sla["availability"]["ratio"] <= 1 and sla["faults"], "faults were injected and measured"
        rto: dict[str, float | None] = {}
        for r in sla["recoveries"]:  # the worst per fault kind; None = never recovered
            kind, ns = r["fault"]["kind"], r["rto-ns"]
            rto[kind] = None if ns is None or (kind in rto and rto[kind] is None) else max(ns, rto.get(kind) or 0)
        print(f"{name} {test.name}: {outcome.statuses[test.name]}; availability "
              f"{sla['availability']['ratio']:.4f}; worst RTO per fault kind (s) "
              f"{ {k: None if v is None else round(v / 1e9, 3) for k, v in rto.items()} }; claims "
              f"{ {k: v['verdict'] for k, v in verdicts.items()} }")
        if "rto_seconds" in verdicts:  # the verdict agrees with the per-fault figures it was judged on
            limit = test.claims.values["rto_seconds"] * 1e9
            seen = [r for r in sla["recoveries"] if r["observed"]]
            over = [r for r in seen if r["rto-ns"] is None or r["rto-ns"] > limit]
            verdict = verdicts["rto_seconds"]["verdict"]
            assert verdict != "certified" or (seen and not over and len(seen) == len(sla["recoveries"])), verdict
            assert verdict != "violated" or over, verdict
    if name == "seekdb-failover.toml":  # the clients followed the promoted standby and kept writing
        [test] = suite.tests
        history = read_history(outcome.directory / summary["runs"][test.name] / "history.jsonl")
        [failover] = [f for f in faults_of(history) if f.kind == "failover"][:1]
        assert len(failover.nodes) == 2, failover  # [old primary, promoted standby]
        after = [p for p in history.pairs() if p.f == "add" and p.type == "ok" and p.invoke.time > failover.start_ns]
        assert len(after) > 10, "no acknowledged write on the promoted standby"
