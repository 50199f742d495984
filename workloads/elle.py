"""Elle's workloads: ``list-append`` and ``rw-register`` transactions.

A transaction is 1..``max_txn_length`` micro-ops, each a read or (half the time) a write of a
fresh, test-unique value, on a key drawn from 10 slots with P(slot i) = 2^-(i+1)::

    txn [["append", 3, 17], ["r", 0, None]]  ->  ok [["append", 3, 17], ["r", 0, [4, 9, 12]]]
    txn [["w", 1, 18], ["r", 1, None]]       ->  ok [["w", 1, 18], ["r", 1, 18]]

Each slot moves to a fresh key after ``writes_per_key`` (default 256) writes, so lists stay short
(controls.md: with fixed keys the hottest list reached 2,596 elements in 3 s). SQL keeps a row per
key: list-append concatenates to a text column with an upsert (MySQL ``ON DUPLICATE KEY UPDATE v =
CONCAT(v, ',', new)``, PostgreSQL ``ON CONFLICT (k) DO UPDATE SET v = la.v || ',' || EXCLUDED.v``);
rw-register upserts the value. etcd: one optimistic txn (``workloads.etcd``).
"""

from __future__ import annotations

from typing import Any

from checkers.history import Op
from checkers.registry import CheckOptions
from workloads.generator import Context, Generator, Invocation, unfold
from workloads.keys import KeySlots
from workloads.sql import Dialect
from workloads.workload import Workload, WorkloadOptions, clients

__all__ = ["LIST_APPEND", "RW_REGISTER", "TxnOps", "txn_generator"]

DEFAULT_WRITES_PER_KEY = 256
CONSISTENCY = {"read-committed": "read-committed", "repeatable-read": "repeatable-read",
               "serializable": "serializable"}


def txn_generator(options: WorkloadOptions, write: str) -> Generator:
    """Transactions of reads and ``write`` micro-ops (``append`` or ``w``) with unique values."""
    per_key = options.writes_per_key or DEFAULT_WRITES_PER_KEY

    def make(ctx: Context, state: tuple[KeySlots, int]) -> tuple[Invocation, tuple[KeySlots, int]]:
        slots, value = state
        mops: list[list[Any]] = []
        for _ in range(ctx.rng.randint(1, options.max_txn_length)):
            slot = slots.pick(ctx.rng)
            if ctx.rng.random() < 0.5:
                mops.append(["r", slots.keys[slot], None])
            else:
                mops.append([write, slots.keys[slot], value])
                value += 1
                slots = slots.wrote(slot)
        return Invocation("txn", mops), (slots, value)

    return unfold((KeySlots.new(options.key_slots, per_key=per_key, exponential=True), 1), make)


class TxnOps:
    """Micro-op transactions over a table ``(k BIGINT PRIMARY KEY, v ...)``: lists as comma-separated
    text (``append``) or integer registers (``w``)."""

    def __init__(self, write: str) -> None:
        self.write = write
        self.table = "la" if write == "append" else "rw"

    def schema(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        column = "TEXT" if self.write == "append" else "BIGINT"
        return [(f"DROP TABLE IF EXISTS {self.table}", []),
                (f"CREATE TABLE {self.table} (k BIGINT PRIMARY KEY, v {column})", [])]

    def read_only(self, op: Op) -> bool:
        return all(f == "r" for f, _, _ in op.value)

    def apply(self, dialect: Dialect, cur: Any, op: Op) -> tuple[Any, dict[str, Any]]:
        out = []
        for f, key, value in op.value:
            if f == "r":
                cur.execute(f"SELECT v FROM {self.table} WHERE k = %s", (key,))
                row = cur.fetchone()
                out.append(["r", key, self._parse(None if row is None else row[0])])
            elif f == self.write:
                cur.execute(dialect.upsert(self.table, append=f == "append"),
                            (key, str(value) if f == "append" else value))
                out.append([f, key, value])
            else:
                raise ValueError(f"{self.table}: unknown micro-op {f!r}")
        return out, {}

    def _parse(self, stored: Any) -> Any:
        if self.write == "w":
            return None if stored is None else int(stored)
        return [] if not stored else [int(x) for x in str(stored).split(",")]


def _client(write: str) -> Any:
    def etcd_ops() -> Any:
        from workloads.etcd import EtcdTxn

        return EtcdTxn(write)

    return clients(lambda o: TxnOps(write), etcd_ops)


def _check_options(options: WorkloadOptions) -> CheckOptions:
    return CheckOptions(consistency_models=(options.consistency or CONSISTENCY[options.isolation],))


LIST_APPEND = Workload(
    name="list-append",
    summary="Elle list-append transactions, checked at the isolation level asked for",
    client=_client("append"),
    generator=lambda o: txn_generator(o, "append"),
    checkers=("list-append",),
    check_options=_check_options,
)

RW_REGISTER = Workload(
    name="rw-register",
    summary="Elle read/write register transactions, checked at the isolation level asked for",
    client=_client("w"),
    generator=lambda o: txn_generator(o, "w"),
    checkers=("rw-register",),
    check_options=_check_options,
)
