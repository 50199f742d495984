"""The register workload: independent compare-and-set registers (Jepsen's ``independent``).

Every op names its key in a ``[key value]`` tuple, so the linearizability checker runs key by
key with ``--independent``::

    read  [3 None]   -> ok [3 2]         write [3 4]        cas [3 [4 1]] -> fail: cas-mismatch

Keys live in slots; after ``writes_per_key`` (default 60) ops a slot moves to a fresh key, which
keeps each key's history small enough for the linearizability search. SQL: a row per key,
``UPDATE registers SET v = new WHERE k = key AND v = old`` for cas; etcd: a txn comparing the
value (``workloads.etcd``).
"""

from __future__ import annotations

from typing import Any

from checkers.history import Op
from checkers.registry import CheckOptions
from workloads.generator import Context, Generator, Invocation, unfold
from workloads.keys import KeySlots
from workloads.sql import Dialect, Refused
from workloads.workload import Workload, WorkloadOptions, clients

__all__ = ["WORKLOAD", "RegisterOps", "register_generator"]

VALUES = 5
DEFAULT_OPS_PER_KEY = 60


def register_generator(options: WorkloadOptions) -> Generator:
    """Reads, writes and cas over key slots, a third each; values 0..4; cas never to the same value."""
    per_key = options.writes_per_key or DEFAULT_OPS_PER_KEY

    def make(ctx: Context, slots: KeySlots) -> tuple[Invocation, KeySlots]:
        slot = slots.pick(ctx.rng)
        key = slots.keys[slot]
        kind = ctx.rng.randrange(3)
        if kind == 0:
            inv = Invocation("read", [key, None])
        elif kind == 1:
            inv = Invocation("write", [key, ctx.rng.randrange(VALUES)])
        else:
            old = ctx.rng.randrange(VALUES)
            new = (old + 1 + ctx.rng.randrange(VALUES - 1)) % VALUES  # uniform over the other values
            inv = Invocation("cas", [key, [old, new]])
        return inv, slots.wrote(slot)

    return unfold(KeySlots.new(options.key_slots, per_key=per_key), make)


class RegisterOps:
    """Registers as rows of ``registers(k, v)``."""

    def schema(self, dialect: Dialect) -> list[tuple[str, list[tuple[Any, ...]]]]:
        return [("DROP TABLE IF EXISTS registers", []),
                ("CREATE TABLE registers (k BIGINT PRIMARY KEY, v BIGINT)", [])]

    def read_only(self, op: Op) -> bool:
        return op.f == "read"

    def apply(self, dialect: Dialect, cur: Any, op: Op) -> tuple[Any, dict[str, Any]]:
        key, value = op.value
        if op.f == "read":
            cur.execute("SELECT v FROM registers WHERE k = %s", (key,))
            row = cur.fetchone()
            return [key, None if row is None else int(row[0])], {}
        if op.f == "write":
            cur.execute(dialect.upsert("registers", append=False), (key, value))
            return op.value, {}
        if op.f == "cas":
            old, new = value
            cur.execute("UPDATE registers SET v = %s WHERE k = %s AND v = %s", (new, key, old))
            if cur.rowcount != 1:
                raise Refused("cas-mismatch")
            return op.value, {}
        raise ValueError(f"register: unknown f {op.f!r}")


def _etcd_register() -> Any:
    from workloads.etcd import EtcdRegister

    return EtcdRegister()


WORKLOAD = Workload(
    name="register",
    summary="independent cas registers, checked for linearizability key by key",
    client=clients(lambda o: RegisterOps(), _etcd_register),
    generator=register_generator,
    checkers=("cas-register",),
    check_options=lambda o: CheckOptions(independent=True, nil_is_empty=True),
)
