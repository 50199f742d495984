"""Workload generators, key slots, the workload registry, --concurrency, the recorder's encoding and
the error tables (pure; the clients against real servers are in tests/integration)."""

from __future__ import annotations

import inspect
from collections import Counter

import httpx
import psycopg
import pytest

from chaos.run.recorder import encode
from chaos.run.runner import DB_PROTOCOLS, RunSpec, clients_for
from checkers.formats import op_to_json
from checkers.history import Op
from workloads.catalog import WORKLOADS
from workloads.etcd import EtcdError
from workloads.etcd import classify as etcd_classify
from workloads.generator import simulate
from workloads.keys import KeySlots
from workloads.postgres import ERRORS, classify
from workloads.workload import WorkloadOptions


def invocations(name: str, n: int = 400, **options) -> list[Op]:
    ops = simulate(WORKLOADS[name].generator(WorkloadOptions(**options)), processes=(0, 1, 2), max_ops=2 * n)
    return [op for op in ops if op.type == "invoke"]


def test_key_slots_move_to_a_fresh_key_after_per_key_writes():
    slots = KeySlots.new(3, per_key=2)
    assert slots.wrote(0).keys == (0, 1, 2)
    assert slots.wrote(0).wrote(0).keys == (3, 1, 2)
    assert slots.wrote(0).wrote(0).wrote(1).wrote(1).keys == (3, 4, 2)


def test_register_ops_are_key_value_tuples_with_bounded_ops_per_key():
    ops = invocations("register", writes_per_key=20, key_slots=4)
    per_key = Counter(op.value[0] for op in ops)
    assert max(per_key.values()) <= 20 and len(per_key) > 4
    assert {op.f for op in ops} == {"read", "write", "cas"}
    for op in ops:
        if op.f == "cas":
            old, new = op.value[1]
            assert old != new


def test_list_append_txns_have_1_to_4_mops_unique_values_and_bounded_appends():
    ops = invocations("list-append", writes_per_key=30)
    assert {len(op.value) for op in ops} == {1, 2, 3, 4}
    appends = [(k, v) for op in ops for f, k, v in op.value if f == "append"]
    assert len({v for _, v in appends}) == len(appends)
    assert max(Counter(k for k, _ in appends).values()) <= 30
    fixed = Counter(k for op in invocations("list-append", writes_per_key=10**6) for _, k, _ in op.value)
    assert 0.4 < fixed[0] / fixed.total() < 0.6 and 0.15 < fixed[1] / fixed.total() < 0.35  # P(slot i) = 2^-(i+1)


def test_rw_register_writes_are_unique():
    ops = invocations("rw-register")
    writes = [v for op in ops for f, _, v in op.value if f == "w"]
    assert writes and len(set(writes)) == len(writes)


def test_set_adds_unique_elements_and_reads_sometimes():
    ops = invocations("set")
    adds = [op.value for op in ops if op.f == "add"]
    assert adds == list(range(len(adds)))
    assert 0 < sum(op.f == "read" for op in ops) < len(ops) / 4
    assert WORKLOADS["set"].final is not None


def test_same_seed_same_ops():
    assert invocations("list-append", 50) == invocations("list-append", 50)


def test_every_workload_has_checkers_and_speaks_sql():
    for w in WORKLOADS.values():
        assert w.checkers and {"mysql", "postgres"} <= set(w.protocols)
        with pytest.raises(ValueError) if "etcd" not in w.protocols else _nothing():
            w.client("etcd", WorkloadOptions())


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_concurrency_per_node():
    assert clients_for("5n", 3) == 15
    assert clients_for("4", 3) == 4
    assert clients_for(2, 1) == 2
    for bad in ("0", "x", "n", "-1n"):
        with pytest.raises(ValueError, match="--concurrency"):
            clients_for(bad, 3)


def test_run_spec_refuses_unknown_workload_and_isolation():
    with pytest.raises(ValueError, match="--workload"):
        RunSpec(workload="nope")
    with pytest.raises(ValueError, match="--isolation"):
        RunSpec(isolation="snapshot")
    assert set(DB_PROTOCOLS.values()) <= {"mysql", "postgres", "etcd"}


@pytest.mark.parametrize("op", [
    Op(3, 17, "ok", 2, "read", {0: 10, 1: 20}),
    Op(4, 18, "fail", 0, "txn", [["append", 1, 2], ["r", 1, [1, 2]]], error="deadlock"),
    Op(5, 19, "info", "nemesis", "kill", ["n1"]),
    Op(6, 20, "ok", 1, "read", {3, 1, 2}),
    Op(7, 21, "ok", 1, "final-read", {0: 1}, extra={"transfer-ids": [1, 2]}),
])
def test_recorder_encoding_is_op_to_json(op):
    assert encode(op) == op_to_json(op)


# ------------------------------------------------------------------ error tables


def test_every_psycopg_exception_class_gets_the_table_outcome_or_indeterminate():
    """A class whose SQLSTATE is in the table gets that outcome (aborts answered, nothing else); any
    other is a lost connection (no SQLSTATE) or indeterminate: never a definite fail or an answer."""
    classes = [c for _, c in inspect.getmembers(psycopg.errors, inspect.isclass) if issubclass(c, psycopg.Error)]
    for cls in classes:
        exc = cls("made up")
        sqlstate = getattr(exc, "sqlstate", None)
        for committing in (False, True):
            got = classify(exc, committing=committing)
            if sqlstate in ERRORS:
                outcome, name = ERRORS[sqlstate]
                want = ("fail", True) if outcome == "abort" else ("fail" if not committing else outcome, False)
                assert (got.type, got.answered) == want and got.error.startswith(name), cls
            else:
                assert not got.answered and (got.error.startswith("indeterminate: ") or (
                    not sqlstate and got.error.startswith("lost-connection"))), cls
                assert got.type == "info" or (not committing and got.error.startswith("lost-connection")), cls


def test_postgres_definite_and_indeterminate():
    assert classify(psycopg.errors.SerializationFailure("x"), committing=True).type == "fail"
    assert classify(psycopg.errors.DeadlockDetected("x"), committing=True).type == "fail"
    assert classify(psycopg.OperationalError("server closed the connection unexpectedly"),
                    committing=True).type == "info"
    assert classify(TimeoutError("no answer"), committing=True).type == "info"
    assert classify(TimeoutError("no answer"), committing=False).type == "fail"
    assert classify(psycopg.errors.AdminShutdown("x"), committing=True).type == "info"
    assert classify(ValueError("odd"), committing=False).error.startswith("indeterminate: ")


def test_etcd_definite_and_indeterminate():
    request = httpx.Request("POST", "http://127.0.0.1:1/v3/kv/put")
    assert etcd_classify(httpx.ConnectError("refused", request=request), committing=True).type == "fail"
    assert etcd_classify(httpx.ReadTimeout("slow", request=request), committing=True).type == "info"
    assert etcd_classify(httpx.RemoteProtocolError("gone", request=request), committing=True).type == "info"
    assert etcd_classify(EtcdError(14, "etcdserver: request timed out"), committing=True).type == "info"
    assert etcd_classify(EtcdError(3, "bad"), committing=True).type == "fail"
    assert etcd_classify(EtcdError(99, "new"), committing=True).error.startswith("indeterminate")
