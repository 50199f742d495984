"""Failover controls: what asynchronous replication loses when the primary dies, and what an
unfenced old primary does when it comes back.

Writers add unique elements on the primary (autocommit-style, recorded as invoke then ok/fail/info),
the primary is killed with SIGKILL mid-write, the replica is promoted and the final read comes from
the new primary. chaoscert's ``set`` checker and the claim ``data_loss = 0`` give the verdict.

- Replica lagging (positive control, MariaDB and seekdb): the replica reads the set, then is
  partitioned from the primary (iptables, both directions) for ``LAG_SECONDS`` while writes
  continue; the primary is killed and the replica promoted (seekdb: ``ALTER SYSTEM ACTIVATE
  STANDBY``) while the partition still holds, the usual failover: nobody can reach the old primary.
  Asserted: every add invoked after the partition was in place and acknowledged is lost (it cannot
  have reached the replica), so ``set`` is invalid and ``data_loss = 0`` violated by construction,
  not by luck; and nothing the replica had read before the cut is lost. What else is lost
  (acknowledged just before the cut, not yet shipped) is printed, not asserted. Without the
  partition, seekdb loses whatever its log shipping lagged at the kill: 0 to ~300 writes per run,
  so a control on it depended on luck (tests/integration/test_failover_runs.py prints that figure).
- MariaDB, no fault (negative control): ``promote`` applies every event the replica had received
  (``MASTER_GTID_WAIT`` on ``Gtid_IO_Pos``), so all asynchronous replication may still lose is what
  the primary acknowledged but had not yet sent: the last moment before the kill (by hand: 0 of
  16,278 and 0 of 19,587 lost; on a loaded CI machine a few). Losing anything acknowledged earlier
  would be a bug of the adapter's failover or of the checker.
- seekdb split brain (same cluster, after its failover): the old primary restarted comes back
  PRIMARY (its stored role wins over ``--role STANDBY``), so writers add on both nodes, each a
  writable primary, and each node is read at the end. Asserted: both are primaries, each node's
  final read lacks exactly what the other acknowledged (the new primary also lacks what the
  failover lost; the old one, single-node durable through kill -9, lacks nothing else), ``set``
  reports it per node and the final reads as divergent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chaos.nemesis.net import NodeNet
from chaos.nemesis.partition import PartitionNemesis
from chaos.run.recorder import Recorder
from chaos.sla.claims import Claims, evaluate
from checkers.formats import read_history
from checkers.history import History, Op
from checkers.registry import CheckOptions, get_checker
from checkers.result import Result
from checkers.sla import sla_figures
from clusters.endpoint import Endpoint
from clusters.ledger import Ledger
from clusters.remote import Node
from tests.conftest import have_seekdb, require
from tests.integration.test_databases import db_cluster
from workloads.mysql import classify, connect

pytestmark = [pytest.mark.db, pytest.mark.root]
WRITERS = 4
WRITE_SECONDS = 4.0
LAG_SECONDS = 1.5
SPLIT_SECONDS = 2.0
READER = 100  # processes of the reads: READER, READER + 1, ...


def _writer(process: int, endpoint: Endpoint, recorder: Recorder, stop: threading.Event, start: int) -> None:
    """Autocommit-style adds of start, start + WRITERS, ... on one node, recorded (with the node) as
    invoke then ok/fail/info."""
    conn, element, node = None, start, endpoint.node
    while not stop.is_set():
        recorder.record(Op(0, 0, "invoke", process, "add", element, node=node))
        try:
            if conn is None:
                conn = connect(endpoint, timeout=2.0, database="jepsen")
            with conn.cursor() as cur:
                cur.execute("INSERT INTO sets (e) VALUES (%s)", (element,))
            conn.commit()
            recorder.record(Op(0, 0, "ok", process, "add", element, node=node))
        except Exception as e:
            outcome = classify(e, committing=True)
            recorder.record(Op(0, 0, outcome.type, process, "add", element, error=outcome.error, node=node))
            conn = None
            if outcome.type == "info":
                return  # Jepsen's rule: a process with an indeterminate op is done
            time.sleep(0.05)
        element += WRITERS


@contextlib.contextmanager
def _writing(recorder: Recorder, targets: list[tuple[int, Endpoint, int]]) -> Iterator[Callable[[], None]]:
    """Writers (process, endpoint, first element) adding until the block ends or the yielded
    function (stop them and wait, bounded) is called."""
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(p, e, recorder, stop, first)) for p, e, first in targets]

    def stop_writers() -> None:
        stop.set()
        for t in threads:
            t.join(10)

    for t in threads:
        t.start()
    try:
        yield stop_writers
    finally:
        stop_writers()


def _read(recorder: Recorder, process: int, db: Any, node: Node) -> Op:
    """Read the whole set on ``node``, recorded as a read tagged with the node; returns the completion."""
    recorder.record(Op(0, 0, "invoke", process, "read", None, node=node.name))
    conn = connect(db.endpoint(node), timeout=5.0, database="jepsen")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT e FROM sets ORDER BY e")
            elements = [int(r[0]) for r in cur.fetchall()]
    finally:
        conn.close()
    return recorder.record(Op(0, 0, "ok", process, "read", elements, node=node.name))


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


@contextlib.contextmanager
def _no_lag(recorder: Recorder, db: Any, nodes: list[Node]) -> Iterator[None]:
    yield


@contextlib.contextmanager
def _partitioned(recorder: Recorder, db: Any, nodes: list[Node]) -> Iterator[None]:
    """The replica reads the set, then is cut off from the primary for LAG_SECONDS before the kill;
    healed after the promotion."""
    ledger = Ledger()
    partition = PartitionNemesis(nodes, NodeNet(ledger))
    primary, replica = nodes
    value = {primary.name: [replica.name], replica.name: [primary.name]}
    _read(recorder, READER, db, replica)
    try:
        recorder.record(Op(0, 0, "info", "nemesis", "start-partition", value))
        recorder.record(Op(0, 0, "info", "nemesis", "start-partition", partition.invoke("start-partition", value)))
        time.sleep(LAG_SECONDS)
        yield
    finally:
        recorder.record(Op(0, 0, "info", "nemesis", "stop-partition", None))
        recorder.record(Op(0, 0, "info", "nemesis", "stop-partition", partition.heal()))
        assert ledger.release_all() == []


def _failover_on(db: Any, nodes: list[Node], promote: Callable[[Node], None], fault: Callable,
                 recorder: Recorder) -> None:
    """Write on the primary, fault, kill it, promote the replica, read there."""
    primary, replica = nodes
    with _writing(recorder, [(p, db.endpoint(primary), p) for p in range(WRITERS)]) as stop_writers:
        time.sleep(WRITE_SECONDS)
        with fault(recorder, db, nodes):
            recorder.record(Op(0, 0, "info", "nemesis", "kill", [primary.name]))
            db.kill(primary)
            recorder.record(Op(0, 0, "info", "nemesis", "kill", [primary.name]))
            stop_writers()
            recorder.record(Op(0, 0, "info", "nemesis", "promote", [replica.name]))
            promote(replica)
            recorder.record(Op(0, 0, "info", "nemesis", "promote", [replica.name]))
    _read(recorder, READER + 1, db, replica)


def _failover(tmp_path: Path, make, fault: Callable) -> History:
    """A failover on a fresh 2-node cluster; its history."""
    made = {}
    with db_cluster("netns", lambda root: made.setdefault("db", make(root))[0], 2) as (db, nodes), \
            Recorder(tmp_path / "history.jsonl") as recorder:
        _, prepare, promote = made["db"]
        prepare(*nodes)
        _failover_on(db, nodes, promote, fault, recorder)
    return read_history(tmp_path / "history.jsonl")


@dataclass(frozen=True)
class SplitBrain:
    history: History  # the whole run: failover, then writes on both primaries, a final read on each
    failover_end: int  # index of the first op after the failover (the old primary's restart)
    primaries: list[str]  # the primaries once the old one had restarted


@pytest.fixture(scope="module")
def seekdb_split_brain(tmp_path_factory) -> SplitBrain:
    """One seekdb primary/standby cluster for both seekdb controls: the partitioned failover, then
    the old primary restarted and writers on both nodes for SPLIT_SECONDS, then a read on each."""
    require(have_seekdb(), "pylibseekdb (the seekdb binary) is not installed")
    path = tmp_path_factory.mktemp("seekdb-failover") / "history.jsonl"
    made = {}
    with db_cluster("netns", lambda root: made.setdefault("db", _seekdb_standby(root))[0], 2) as (db, nodes), \
            Recorder(path) as recorder:
        _, prepare, promote = made["db"]
        old, new = nodes
        prepare(old, new)
        _failover_on(db, nodes, promote, _partitioned, recorder)
        failover_end = recorder.record(Op(0, 0, "info", "nemesis", "start", [old.name])).index
        db.start(old)
        recorder.record(Op(0, 0, "info", "nemesis", "start", [old.name]))
        primaries = [n.name for n in db.primaries(nodes)]
        # process ids not used before (a process whose add was indeterminate is done); unique elements
        base = 10 * WRITERS
        targets = [(base + p, db.endpoint(nodes[p % 2]), 1_000_000 + p) for p in range(WRITERS)]
        with _writing(recorder, targets):
            time.sleep(SPLIT_SECONDS)
        for i, node in enumerate(nodes):
            _read(recorder, READER + 2 + i, db, node)
    return SplitBrain(read_history(path), failover_end, primaries)


def _verdict(history: History) -> tuple[Result, list[str]]:
    result = get_checker("set")(history, CheckOptions())
    return result, [v.verdict for v in evaluate(Claims({"data_loss": 0}), sla_figures(history), {"set": result})]


def _acked(history: History) -> dict[Any, Any]:
    """Acknowledged adds: element -> pair."""
    return {p.value: p for p in history.pairs() if p.f == "add" and p.type == "ok"}


@pytest.mark.parametrize("make", [_mariadb_async, _seekdb_standby], ids=["mariadb-async-lagging", "seekdb-standby"])
def test_failover_loses_acknowledged_writes(request, tmp_path: Path, make):
    """Positive control: everything acknowledged while the replica was cut off is lost."""
    if make is _seekdb_standby:
        split = request.getfixturevalue("seekdb_split_brain")
        history = History.of(op for op in split.history if op.index < split.failover_end)
    else:
        history = _failover(tmp_path, make, _partitioned)
    result, verdicts = _verdict(history)
    acked = _acked(history)
    cut = history.nemesis_ops()[1].time  # the partition is in place (start-partition completed)
    assert history.nemesis_ops()[1].f == "start-partition"
    during = {e for e, p in acked.items() if p.invoke.time > cut}
    lost = set(result.details["lost"])
    held = set(next(p.value for p in history.pairs() if p.f == "read" and p.process == READER))
    earlier = sorted((cut - acked[e].complete.time) / 1e6 for e in lost - during)
    print(f"{make.__name__} failover: {len(acked)} acknowledged adds, {len(during)} of them during the partition; "
          f"{len(lost)} lost ({len(lost - during)} acknowledged before the cut, at most "
          f"{earlier[-1] if earlier else 0:.0f} ms before); the replica held {len(held)} before the cut")
    assert len(acked) > 100 and len(during) > 20
    assert during <= lost, f"adds acknowledged during the partition not lost: {sorted(during - lost)[:10]}"
    assert not lost & held, f"lost adds the replica had read before the cut: {sorted(lost & held)[:10]}"
    assert result.valid is False and verdicts == ["violated"]


def test_mariadb_failover_without_lag_loses_only_the_last_moment(tmp_path: Path):
    """Negative control: the promoted replica applies all it received; only writes acknowledged in
    the last instant before the kill (not yet sent) may be missing."""
    history = _failover(tmp_path, _mariadb_async, _no_lag)
    result, verdicts = _verdict(history)
    acked = _acked(history)
    lost = result.details["lost-count"]
    print(f"mariadb failover without lag: {len(acked)} acknowledged adds, {lost} lost")
    assert len(acked) > 100
    kill_at = next(op.time for op in history.nemesis_ops() if op.f == "kill")
    ages = sorted(kill_at - acked[e].complete.time for e in result.details["lost"])
    assert all(age < 1_000_000_000 for age in ages), f"lost writes acknowledged long before the kill: {ages[-5:]}"
    assert (verdicts == ["certified"]) == (lost == 0)


def test_seekdb_old_primary_comes_back_as_a_second_primary(seekdb_split_brain: SplitBrain):
    """Split brain: both nodes accept writes; each final read misses what the other acknowledged."""
    split = seekdb_split_brain
    assert split.primaries == ["n1", "n2"]
    result, verdicts = _verdict(split.history)
    acked = _acked(split.history)
    after = {node: {e for e, p in acked.items() if p.invoke.index > split.failover_end and p.invoke.node == node}
             for node in ("n1", "n2")}
    failover_lost = set(_verdict(History.of(op for op in split.history if op.index < split.failover_end))[0]
                        .details["lost"])
    d = result.details
    print(f"seekdb split brain: {len(after['n1'])} adds acknowledged by n1 and {len(after['n2'])} by n2 after n1 "
          f"restarted; lost per node {({n: len(e) for n, e in d['lost-by-node'].items()})}, "
          f"{d['divergent-count']} elements not on both")
    assert len(after["n1"]) > 20 and len(after["n2"]) > 20
    assert [r["node"] for r in d["final-reads"]] == ["n1", "n2"]
    assert set(d["lost-by-node"]["n1"]) == after["n2"]
    assert set(d["lost-by-node"]["n2"]) == after["n1"] | failover_lost
    assert d["divergent"] is True and result.valid is False and verdicts == ["violated"]
