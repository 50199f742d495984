"""The set workload (data loss, RPO): unique adds, periodic reads of the whole set, a final read.

    add 17 -> ok        read -> ok [0, 1, 2, ..., 17]

``set-full`` follows each element through every read (lost, stale, never read); ``set`` checks
the final read after recovery. SQL: ``INSERT INTO sets VALUES (e)``; etcd: a key per element.
"""

from __future__ import annotations

from typing import Any

from checkers.history import Op
from checkers.registry import CheckOptions
from workloads.generator import Context, Generator, Invocation, unfold
from workloads.sql import Dialect
from workloads.workload import Workload, WorkloadOptions, clients

__all__ = ["WORKLOAD", "SetOps", "set_generator"]

READ_SHARE = 0.1


def set_generator(options: WorkloadOptions) -> Generator:
    """Adds of 0, 1, 2, ... with a read of the whole set one op in ten (at random)."""

    def make(ctx: Context, n: int) -> tuple[Invocation, int]:
        if ctx.rng.random() < READ_SHARE:
            return Invocation("read"), n
        return Invocation("add", n), n + 1

    return unfold(0, make)


class SetOps:
    def schema(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        return [("DROP TABLE IF EXISTS sets", []), ("CREATE TABLE sets (e BIGINT PRIMARY KEY)", [])]

    def read_only(self, op: Op) -> bool:
        return op.f == "read"

    def apply(self, dialect: Dialect, cur: Any, op: Op) -> tuple[Any, dict[str, Any]]:
        if op.f == "add":
            cur.execute("INSERT INTO sets (e) VALUES (%s)", (op.value,))
            return op.value, {}
        if op.f == "read":
            cur.execute("SELECT e FROM sets ORDER BY e")
            return [int(r[0]) for r in cur.fetchall()], {}
        raise ValueError(f"set: unknown f {op.f!r}")


def _etcd_set() -> Any:
    from workloads.etcd import EtcdSet

    return EtcdSet()


WORKLOAD = Workload(
    name="set",
    summary="unique adds, periodic and final reads: lost acknowledged writes (data loss)",
    client=clients(lambda o: SetOps(), _etcd_set),
    generator=set_generator,
    checkers=("set-full", "set"),
    check_options=lambda o: CheckOptions(),
    final=Invocation("read"),
)
