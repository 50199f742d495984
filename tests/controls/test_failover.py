"""Failover controls: asynchronous replication loses acknowledged writes when the primary dies.

MariaDB with an asynchronous GTID replica: writers add unique elements on the primary, the primary
is killed with SIGKILL mid-write, the replica is promoted (it applies what it had received, then
``RESET SLAVE ALL``), and the final read comes from the new primary. seekdb's standby the same way,
with ``ALTER SYSTEM ACTIVATE STANDBY``. chaoscert's ``set``
checker must report lost acknowledged adds and the claim ``data_loss = 0`` must be violated.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from chaos.claims import Claims, evaluate
from chaos.recorder import Recorder
from checkers.formats import read_history
from checkers.history import Op
from checkers.registry import CheckOptions, get_checker
from checkers.sla import sla_figures
from clusters.endpoint import Endpoint
from tests.integration.test_databases import db_cluster
from workloads.mysql import classify, connect

pytestmark = [pytest.mark.db, pytest.mark.root]
WRITERS = 4
WRITE_SECONDS = 4.0


def _writer(process: int, endpoint: Endpoint, recorder: Recorder, stop: threading.Event, start: int) -> None:
    """Autocommit-style adds of start, start + WRITERS, ... recorded as invoke then ok/fail/info."""
    conn, element = None, start
    while not stop.is_set():
        recorder.record(Op(0, 0, "invoke", process, "add", element))
        try:
            if conn is None:
                conn = connect(endpoint, timeout=2.0, database="jepsen")
            with conn.cursor() as cur:
                cur.execute("INSERT INTO sets (e) VALUES (%s)", (element,))
            conn.commit()
            recorder.record(Op(0, 0, "ok", process, "add", element))
        except Exception as e:
            outcome = classify(e, committing=True)
            recorder.record(Op(0, 0, outcome.type, process, "add", element, error=outcome.error))
            conn = None
            if outcome.type == "info":
                return  # Jepsen's rule: a process with an indeterminate op is done
            time.sleep(0.05)
        element += WRITERS


def _mariadb_async(root: str):
    from clusters.mariadb import MariaDBAsync

    db = MariaDBAsync(root)

    def prepare(primary, replica):
        db.sql(primary, "CREATE TABLE jepsen.sets (e BIGINT PRIMARY KEY)")
        db.wait_caught_up(replica)

    return db, prepare, db.promote


def _seekdb_standby(root: str):
    from clusters.seekdb import SeekDB

    db = SeekDB(Path(root), standby=True)

    def prepare(primary, replica):
        db._sql(primary, "CREATE DATABASE IF NOT EXISTS jepsen")
        db._sql(primary, "CREATE TABLE jepsen.sets (e BIGINT PRIMARY KEY)")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the table must exist on the standby before the writes
            try:
                db._sql(replica, "SELECT count(*) FROM jepsen.sets")
                return
            except Exception:
                time.sleep(0.5)
        raise AssertionError("the table never appeared on the standby")

    return db, prepare, db.promote


@pytest.mark.parametrize("make", [_mariadb_async, _seekdb_standby],
                         ids=["mariadb-async", "seekdb-standby"])
def test_failover_loses_acknowledged_writes(tmp_path: Path, make):
    history_path = tmp_path / "history.jsonl"
    made = {}
    with db_cluster("netns", lambda root: made.setdefault("db", make(root))[0], 2) as (db, nodes):
        _, prepare, promote = made["db"]
        primary, replica = nodes
        prepare(primary, replica)
        stop = threading.Event()
        with Recorder(history_path) as recorder:
            threads = [threading.Thread(target=_writer, args=(p, db.endpoint(primary), recorder, stop, p))
                       for p in range(WRITERS)]
            for t in threads:
                t.start()
            time.sleep(WRITE_SECONDS)
            recorder.record(Op(0, 0, "info", "nemesis", "kill", [primary.name]))
            db.kill(primary)
            recorder.record(Op(0, 0, "info", "nemesis", "kill", [primary.name]))
            stop.set()
            for t in threads:
                t.join(10)
            recorder.record(Op(0, 0, "info", "nemesis", "promote", [replica.name]))
            promote(replica)
            recorder.record(Op(0, 0, "info", "nemesis", "promote", [replica.name]))
            recorder.record(Op(0, 0, "invoke", WRITERS, "read", None))
            conn = connect(db.endpoint(replica), timeout=5.0, database="jepsen")
            with conn.cursor() as cur:
                cur.execute("SELECT e FROM sets ORDER BY e")
                elements = [int(r[0]) for r in cur.fetchall()]
            conn.close()
            recorder.record(Op(0, 0, "ok", WRITERS, "read", elements))

    history = read_history(history_path)
    result = get_checker("set")(history, CheckOptions())
    acked = sum(1 for p in history.pairs() if p.f == "add" and p.type == "ok")
    print(f"{make.__name__} failover: {acked} acknowledged adds, {result.details.get('lost-count')} lost "
          f"after promoting the replica; {len(elements)} elements on the new primary")
    assert acked > 100
    assert result.valid is False and result.details["lost-count"] > 0
    verdicts = evaluate(Claims({"data_loss": 0}), sla_figures(history), {"set": result})
    assert [v.verdict for v in verdicts] == ["violated"]
