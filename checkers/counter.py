"""Jepsen's ``counter`` checker: every read lies between the acknowledged and the attempted increments.

The counter starts at 0 and only grows::

    {:type :invoke :process 0 :f :add :value 1}
    {:type :ok     :process 0 :f :add :value 1}
    {:type :invoke :process 1 :f :read}
    {:type :ok     :process 1 :f :read :value 1}

A read must return at least the sum of adds acknowledged before it was invoked (``lower``) and at
most the sum of adds invoked, and not known to have failed, before it completed (``upper``). Each
read is reported as ``[lower value upper]``; those outside are ``errors``.
"""

from __future__ import annotations

from typing import Any

from checkers.history import History
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result, unknown

__all__ = ["check_counter"]


@register_checker("counter", functions=frozenset({"add", "read"}),
                  summary="reads between acknowledged and attempted increments")
def check_counter(history: History, options: CheckOptions) -> Result:
    """Bounds of every read; invalid when a read falls outside them."""
    fails = {id(p.invoke) for p in history.pairs() if p.type == "fail"}
    pending: dict[Any, int] = {}  # process -> lower bound when its read was invoked
    lower = upper = 0
    reads: list[list[Any]] = []
    for op in history.client_ops():
        if op.f == "add" and op.type in ("invoke", "ok"):
            if not isinstance(op.value, int | float) or op.value < 0:
                return unknown(f"op {op.index}: add of {op.value!r}; the counter checker needs non-negative numbers")
            if op.type == "invoke" and id(op) not in fails:
                upper += op.value
            elif op.type == "ok":
                lower += op.value
        elif op.f == "read" and op.type == "invoke":
            pending[op.process] = lower
        elif op.f == "read" and op.type == "ok":
            if not isinstance(op.value, int | float):
                return unknown(f"op {op.index}: read returned {op.value!r}, not a number")
            reads.append([pending.pop(op.process, 0), op.value, upper])
    errors = [r for r in reads if not r[0] <= r[1] <= r[2]]
    details: dict[str, Any] = {"read-count": len(reads), "reads": reads, "errors": errors}
    if errors:
        details["max-absolute-error"] = max(errors, key=lambda r: max(r[0] - r[1], r[1] - r[2]))
    return Result(not errors, details)
