"""Jepsen's ``long-fork`` checker: reads of a key group must be totally ordered.

Each key is written once (``[[:w k 1]]``); reads fetch a whole group of keys (``[[:r 0 1] [:r 1 nil]
[:r 2 nil]]``). Since values only go from nil to written, two reads of the same group must be
comparable: one must have seen everything the other saw. Two reads that each saw a write the other
missed are a *long fork* (allowed by parallel snapshot isolation, forbidden by snapshot isolation)::

    T3: r x=1 y=nil        T4: r x=nil y=1       -> x before y, and y before x

Reads are grouped by the set of keys they read; each group must have ``group_size`` keys (inferred
from the first read when the option is not given). A key written twice, or two reads of one key
with different non-nil values, break the checker's assumptions: the verdict is unknown.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from checkers.history import History, Op
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result, unknown

__all__ = ["check_long_fork"]


def _is_txn(value: Any, kind: str) -> bool:
    return isinstance(value, list | tuple) and bool(value) and all(
        isinstance(m, list | tuple) and len(m) == 3 and m[0] == kind for m in value)


def _compare(a: dict[Any, Any], b: dict[Any, Any]) -> int | str | None:
    """-1 if a saw more, 1 if b did, 0 if equal, None if incomparable; a str explains an illegal pair."""
    res = 0
    for k, va in a.items():
        vb = b[k]
        if va == vb:
            continue
        if va is not None and vb is not None:
            return f"key {k!r} read as {va!r} and {vb!r}; the checker assumes one write per key"
        side = -1 if vb is None else 1
        if res == -side:
            return None
        res = side
    return res


@register_checker("long-fork", functions=frozenset({"txn", "read", "write"}),
                  summary="reads of each key group are totally ordered (no long fork)")
def check_long_fork(history: History, options: CheckOptions) -> Result:
    """Forks between reads of the same key group; unknown if a key is written twice."""
    written: set[Any] = set()
    for op in history.client_ops():
        if op.type == "invoke" and _is_txn(op.value, "w") and len(op.value) == 1:
            key = op.value[0][1]
            if key in written:
                return unknown(f"key {key!r} is written more than once (op {op.index})", error=["multiple-writes", key])
            written.add(key)
    reads = [op for op in history.client_ops() if op.type == "ok" and _is_txn(op.value, "r")]
    if not reads:
        return unknown("no ok read transaction: nothing to compare", **{"read-count": 0})
    size = options.group_size or len({m[1] for m in reads[0].value})
    groups: dict[frozenset[Any], list[Op]] = {}
    for op in reads:
        keys = frozenset(m[1] for m in op.value)
        if len(keys) != size:
            return unknown(f"op {op.index} read {len(keys)} keys; every read should read a group of {size}")
        groups.setdefault(keys, []).append(op)
    forks = []
    for ops in groups.values():
        for a, b in combinations(ops, 2):
            c = _compare({m[1]: m[2] for m in a.value}, {m[1]: m[2] for m in b.value})
            if isinstance(c, str):
                return unknown(f"ops {a.index} and {b.index}: {c}")
            if c is None:
                forks.append([a.to_dict(), b.to_dict()])
    details = {"read-count": len(reads), "group-size": size, "groups": len(groups), "forks": forks}
    return Result(not forks, details)
