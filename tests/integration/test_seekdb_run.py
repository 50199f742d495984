"""Real seekdb: a short kill run end to end, Ctrl-C mid-run, and commit-time errors classified info."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest

from chaos.run.runner import RunSpec, run
from checkers.formats import read_history
from checkers.history import Op
from clusters.ledger import Ledger
from clusters.local import LocalBackend
from clusters.seekdb import SeekDB
from tests.conftest import have_seekdb, require
from workloads.bank import BankOps, BankSpec
from workloads.mysql import MYSQL, classify, connect
from workloads.sql import SqlClient

pytestmark = pytest.mark.db
ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(autouse=True)
def _seekdb():
    require(have_seekdb(), "pylibseekdb (the seekdb binary) is not installed")


def test_short_kill_run_on_seekdb(tmp_path):
    result = run(RunSpec(time_limit=20, nemesis_interval=5, concurrency="4", seed=1, results_dir=tmp_path),
                 say=lambda _: None)
    history = read_history(result.directory / "history.jsonl")
    nemesis = [(op.f, op.value) for op in history.nemesis_ops()]
    assert ("kill", ["n1"]) in nemesis and ("start", ["n1"]) in nemesis
    assert any(p.f == "transfer" and p.type == "ok" for p in history.pairs())
    results = json.loads((result.directory / "results.json").read_text())
    assert results["interrupted"] is False
    assert results["checkers"]["bank"]["valid?"] is True
    assert results["checkers"]["bank-log"]["valid?"] is True
    kills = [r for r in results["figures"]["sla"]["recoveries"] if r["fault"]["kind"] == "kill"]
    assert kills and all(r["rto-ns"] is not None for r in kills)
    assert (tmp_path / "seekdb-bank-kill" / "latest").resolve() == result.directory.resolve()


def _seekdb_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
            if comm == "seekdb" and int(rest[1]) == pid:
                found.append(int(entry.name))
    return found


def test_sigint_mid_run_leaves_no_seekdb_and_a_parseable_history(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "--time-limit", "60", "--nemesis-interval", "5",
                             "--results", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline, servers = time.monotonic() + 60, []
    while time.monotonic() < deadline and not servers:
        servers = _seekdb_children(proc.pid)
        time.sleep(0.2)
    assert servers, "seekdb never started"
    time.sleep(6)  # clients running, a kill happened
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode in (0, 1, 2), err
    assert "interrupted" in out
    for pid in servers:
        assert not Path(f"/proc/{pid}").exists()
    latest = tmp_path / "seekdb-bank-kill" / "latest"
    history = read_history(latest / "history.jsonl")
    assert any(p.type == "ok" for p in history.pairs())
    results = json.loads((latest / "results.json").read_text())
    assert results["interrupted"] is True


def test_lost_connection_during_commit_is_info_and_before_commit_is_fail(tmp_path):
    ledger = Ledger(directory=tmp_path / "state")
    backend = LocalBackend(ledger)
    nodes = backend.create(1, tmp_path)
    db = SeekDB(tmp_path)
    try:
        db.setup(nodes)
        endpoint = db.endpoint(nodes[0])
        spec = BankSpec(accounts=2, total=20)
        setup = SqlClient(MYSQL, BankOps(spec))
        setup.open(endpoint)
        setup.setup()
        conn = connect(endpoint, timeout=1, database="chaoscert")
        with conn.cursor() as cur:
            conn.begin()
            cur.execute("UPDATE bank_accounts SET balance = balance - 1 WHERE id = 0")
            cur.execute("UPDATE bank_accounts SET balance = balance + 1 WHERE id = 1")
        db.pause(nodes[0])  # the server cannot answer COMMIT
        try:
            with pytest.raises(pymysql.err.MySQLError) as raised:
                conn.commit()
            assert classify(raised.value, committing=True).type == "info"
            client = SqlClient(MYSQL, BankOps(spec), timeout=1)  # a transfer whose first statement gets no answer
            client.open(endpoint)
            done = client.invoke(Op(0, 0, "invoke", 0, "transfer", {"from": 0, "to": 1, "amount": 1, "id": 1}))
            assert done.type == "fail", done
        finally:
            db.resume(nodes[0])
    finally:
        db.teardown(nodes)
        backend.destroy()
        assert ledger.release_all() == []
        assert not os.path.exists(ledger.path)
