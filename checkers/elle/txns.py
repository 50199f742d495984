"""The shared preprocessing pass: client transactions as parallel arrays, and the edge kinds.

A transaction is a client op whose value is a list of micro-ops ``[f key value]``. Each gets an id
``0..n-1`` in invocation order; ``typ`` is ok/info/fail, ``mops`` what it did (the completion's
value when ok, else the invocation's), ``invoked``/``completed`` the ops' history indices (an
``info`` txn never completes: ``NEVER``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from checkers._ops import txn_columns
from checkers.history import History, Op

__all__ = ["KINDS", "NEVER", "PROCESS", "REALTIME", "RW", "WR", "WW", "Txns", "UnexpectedMop", "txns_of"]

# Edge kinds, in Elle's explanation priority: a pair with several kinds is explained by the first.
WW, WR, RW, PROCESS, REALTIME = 0, 1, 2, 3, 4
KINDS = ("ww", "wr", "rw", "process", "realtime")
NEVER = np.iinfo(np.int64).max


class UnexpectedMop(ValueError):
    """A micro-op this workload does not know (Elle: ``unexpected-txn-micro-op-types``)."""

    def __init__(self, op: dict[str, Any], message: str) -> None:
        super().__init__(message)
        self.op = op


@dataclass(frozen=True)
class Txns:
    ops: list[Op]  # the completion (or invocation, for info), shown in reports
    typ: list[str]
    mops: list[list[Any]]
    process: list[Any]
    invoked: np.ndarray
    completed: np.ndarray

    def __len__(self) -> int:
        return len(self.typ)


def txns_of(history: History, functions: frozenset[str]) -> Txns:
    """Client transactions; raise UnexpectedMop for a micro-op whose f is not in ``functions``. In C
    (``_ops.c``): a Python loop took a tenth of a list-append check."""
    columns = txn_columns(history.pairs(), functions, NEVER)
    if len(columns) == 2:
        shown, mop = columns
        raise UnexpectedMop(shown.to_dict(), f"op {shown.index}: micro-op {mop!r} is not one of "
                            f"{', '.join(sorted(functions))} [f key value]")
    ops, typ, mops, process, invoked, completed = columns
    return Txns(ops, typ, mops, process, np.asarray(invoked, dtype=np.int64), np.asarray(completed, dtype=np.int64))
