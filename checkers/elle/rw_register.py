"""rw-register: transactions of ``[w k v]`` and ``[r k v]`` over registers.

Writes of a key must be unique, so a read names its writer: T1 ``[[w x 1]]`` and T2
``[[r x 1]]`` give ``T1 -wr-> T2``. The version order is partial: the initial state (``nil``)
precedes every written value, so a txn that read ``nil`` has an rw edge to every writer of that
key. Only external reads count (a read after the txn's own write or read of the key is
checked by ``internal`` instead).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkers.elle.analysis import Analysis, garbage_and_aborted, lost_updates
from checkers.elle.graph import edges
from checkers.elle.txns import RW, WR, Txns
from checkers.registry import CheckOptions

__all__ = ["FUNCTIONS", "analyze"]

FUNCTIONS = frozenset({"w", "r"})


@dataclass(frozen=True)
class _Explainer:
    txns: Txns

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        if kind == WR:
            written = {(k, v) for f, k, v in self.txns.mops[a] if f == "w"}
            for f, k, v in self.txns.mops[b]:
                if f == "r" and (k, v) in written:
                    return {"type": "wr", "key": k, "value": v}
        written_keys = {k: v for f, k, v in self.txns.mops[b] if f == "w"}
        for f, k, v in self.txns.mops[a]:
            if f == "r" and v is None and k in written_keys:
                return {"type": "rw", "key": k, "value": None, "value'": written_keys[k]}
        return {"type": ("ww", "wr", "rw")[kind]}

    def render(self, a: str, b: str, step: dict[str, Any]) -> str:
        k = step.get("key")
        if step["type"] == "wr":
            return f"{b} read key {k!r} = {step['value']!r}, which {a} wrote"
        if step["type"] == "rw":
            new = step["value'"]
            return f"{a} read the initial (nil) state of key {k!r}, which {b} overwrote with {new!r}"
        return f"{a} precedes {b} ({step['type']})"


def analyze(txns: Txns, options: CheckOptions) -> Analysis:
    """Non-cycle anomalies, data edges and an explainer for an rw-register history."""
    writer: dict[tuple[Any, Any], int] = {}
    intermediate: dict[tuple[Any, Any], int] = {}
    ext_reads: list[tuple[int, Any, Any, int]] = []
    internal: list[dict[str, Any]] = []
    for t, (typ, mops) in enumerate(zip(txns.typ, txns.mops, strict=True)):
        state: dict[Any, Any] = {}
        for i, (f, k, v) in enumerate(mops):
            if f == "w":
                if (k, v) in writer:
                    raise ValueError(f"value {v!r} written to key {k!r} more than once "
                                     f"(ops {txns.ops[writer[(k, v)]].index} and {txns.ops[t].index})")
                writer[(k, v)] = t
                if k in state and (k, state[k]) in writer and writer[(k, state[k])] == t:
                    intermediate[(k, state[k])] = t
                state[k] = v
            elif typ == "ok":
                if k not in state:
                    ext_reads.append((t, k, v, i))
                elif state[k] != v:
                    internal.append({"op": txns.ops[t].to_dict(), "mop": mops[i], "expected": state[k]})
                state[k] = v
    garbage, aborted = garbage_and_aborted(
        txns, ((t, k, v, i, () if v is None else (v,)) for t, k, v, i in ext_reads), writer)
    g1b = [{"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i], "writer": txns.ops[intermediate[(k, v)]].to_dict()}
           for t, k, v, i in ext_reads if intermediate.get((k, v), t) != t]
    committed = {kv: t for kv, t in writer.items() if txns.typ[t] != "fail"}
    writers_of: dict[Any, list[int]] = defaultdict(list)
    for (k, _), t in committed.items():
        writers_of[k].append(t)
    wr_s, wr_d, rw_s, rw_d = [], [], [], []
    for t, k, v, _ in ext_reads:
        if v is None:
            for w in writers_of.get(k, ()):
                rw_s.append(t)
                rw_d.append(w)
        elif (k, v) in committed:
            wr_s.append(committed[(k, v)])
            wr_d.append(t)
    anomalies = {"internal": internal, "G1a": aborted, "G1b": g1b, "garbage-read": garbage,
                 "lost-update": lost_updates(txns, "w")}
    members = np.flatnonzero(np.asarray([t != "fail" for t in txns.typ], dtype=bool))
    return Analysis({k: v for k, v in anomalies.items() if v}, [edges(wr_s, wr_d, WR), edges(rw_s, rw_d, RW)],
                    members, _Explainer(txns))
