"""`chaoscert run --backend ssh`: a whole test on hosts reached over real SSH (sshd in namespaces
stands in for the user's hosts): etcd's register workload under kills, checked linearizable."""

from __future__ import annotations

import json
import os

import pytest

from chaos.run.runner import RunSpec, run
from clusters.backends import BackendOptions
from clusters.ledger import Ledger
from tests.conftest import require
from tests.integration.test_backends import ssh_stand_in_hosts

pytestmark = [pytest.mark.root, pytest.mark.db]


def test_run_on_ssh_hosts(tmp_path, monkeypatch):
    require(os.geteuid() == 0, "the stand-in SSH hosts are network namespaces: root")
    monkeypatch.setenv("CHAOSCERT_STATE_DIR", str(tmp_path / "state"))
    ledger = Ledger()
    backends: list = []
    try:
        addresses, key, known_hosts = ssh_stand_in_hosts(ledger, tmp_path / "hosts", backends)
        spec = RunSpec(db="etcd", workload="register", backend="ssh", nodes=3, time_limit=8, nemesis_interval=3,
                       concurrency="3", results_dir=tmp_path / "results",
                       backend_options=BackendOptions(ssh_hosts=tuple(addresses), ssh_key=key,
                                                      ssh_known_hosts=known_hosts))
        outcome = run(spec, say=lambda _: None)
    finally:
        for b in reversed(backends):
            assert b.destroy() == []
        assert ledger.release_all() == []
    results = json.loads((outcome.directory / "results.json").read_text())
    assert results.get("error") is None, results.get("error")
    assert results["checkers"]["cas-register"]["valid?"] is True
    kinds = {r["fault"]["kind"] for r in results["figures"]["sla"]["recoveries"]}
    assert "kill" in kinds
    assert results["figures"]["throughput"]["by-type"]["ok"] > 50
