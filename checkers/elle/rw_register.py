"""rw-register: transactions of ``[w k v]`` and ``[r k v]`` over registers.

Writes of a key must be unique, so a read names its writer: T1 ``[[w x 1]]`` and T2
``[[r x 1]]`` give ``T1 -wr-> T2``. The version order is partial (see ``versions``): the
initial state (``nil``) precedes every value, and the options ``wfr_keys``, ``sequential_keys``
and ``linearizable_keys`` add Elle's hints; each version edge gives ww and rw edges. Only
external reads count (a read after the txn's own write or read of the key is checked by
``internal`` instead).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkers.elle.analysis import Analysis, garbage_and_aborted, lost_updates
from checkers.elle.graph import edges
from checkers.elle.txns import KINDS, RW, WR, WW, Txns
from checkers.elle.versions import ext_of, version_order
from checkers.registry import CheckOptions

__all__ = ["FUNCTIONS", "analyze"]

FUNCTIONS = frozenset({"w", "r"})


@dataclass(frozen=True)
class _Explainer:
    txns: Txns
    versions: dict[tuple[Any, Any, Any], str]

    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        ea, eb = (ext_of(self.txns.mops[t], self.txns.typ[t] == "ok") for t in (a, b))
        if kind == WR:
            for k, v in ea.writes.items():
                if k in eb.reads and eb.reads[k] == v:
                    return {"type": "wr", "key": k, "value": v}
        before = ea.writes if kind == WW else ea.reads
        for k, v in before.items():
            source = self.versions.get((k, v, eb.writes.get(k, v)))
            if source is not None:
                return {"type": KINDS[kind], "key": k, "value": v, "value'": eb.writes[k], "source": source}
        return {"type": KINDS[kind]}

    def render(self, a: str, b: str, step: dict[str, Any]) -> str:
        k = step.get("key")
        if "value" not in step:
            return f"{a} precedes {b} ({step['type']})"
        if step["type"] == "wr":
            return f"{b} read key {k!r} = {step['value']!r}, which {a} wrote"
        did = "set key" if step["type"] == "ww" else "read key"
        later = step["value'"]
        return (f"{a} {did} {k!r} = {step['value']!r}, and {b} set it to {later!r}, which came later "
                f"in the version order ({step['source']})")


def analyze(txns: Txns, options: CheckOptions) -> Analysis:
    """Non-cycle anomalies, data edges and an explainer for an rw-register history."""
    writer: dict[Any, dict[Any, int]] = defaultdict(dict)  # key -> value -> txn that wrote it
    intermediate: dict[tuple[Any, Any], int] = {}
    reads: list[tuple[int, Any, Any, int]] = []  # every read of a committed txn
    ext_reads: list[tuple[int, Any, Any, int]] = []  # those of a key the txn had not read nor written
    internal: list[dict[str, Any]] = []
    for t, (typ, mops) in enumerate(zip(txns.typ, txns.mops, strict=True)):
        state: dict[Any, Any] = {}
        for i, (f, k, v) in enumerate(mops):
            if f == "w":
                wk = writer[k]
                if v in wk:
                    raise ValueError(f"value {v!r} written to key {k!r} more than once "
                                     f"(ops {txns.ops[wk[v]].index} and {txns.ops[t].index})")
                wk[v] = t
                if k in state and wk.get(state[k]) == t:
                    intermediate[(k, state[k])] = t
                state[k] = v
            elif typ == "ok":
                reads.append((t, k, v, i))
                if k not in state:
                    ext_reads.append((t, k, v, i))
                elif state[k] != v:
                    internal.append({"op": txns.ops[t].to_dict(), "mop": mops[i], "expected": state[k]})
                state[k] = v
    # as Elle: any read may be garbage, aborted (G1a) or intermediate (G1b), not only a txn's first of a key
    garbage, aborted = garbage_and_aborted(
        txns, ((t, k, v, i, () if v is None else (v,)) for t, k, v, i in reads), writer)
    g1b = [{"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i], "writer": txns.ops[intermediate[(k, v)]].to_dict()}
           for t, k, v, i in reads if intermediate.get((k, v), t) != t]
    ext = [None if typ == "fail" else ext_of(mops, typ == "ok") for typ, mops in zip(txns.typ, txns.mops, strict=True)]
    order = version_order(txns, ext, lambda option: getattr(options, option))
    final_writer: dict[tuple[Any, Any], int] = {}
    readers: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for t, e in enumerate(ext):
        if e is not None:
            final_writer.update(((k, v), t) for k, v in e.writes.items())
            for kv in e.reads.items():
                readers[kv].append(t)
    wr_s, wr_d = [], []
    for t, k, v, _ in ext_reads:
        w = writer.get(k, {}).get(v)
        if v is not None and w is not None and txns.typ[w] != "fail":
            wr_s.append(w)
            wr_d.append(t)
    ww_s, ww_d, rw_s, rw_d = [], [], [], []
    for k, v1, v2 in order.edges:
        w2 = final_writer.get((k, v2))
        if w2 is None:
            continue
        w1 = final_writer.get((k, v1))
        if w1 is not None:
            ww_s.append(w1)
            ww_d.append(w2)
        for r in readers.get((k, v1), ()):
            rw_s.append(r)
            rw_d.append(w2)
    anomalies = {"internal": internal, "G1a": aborted, "G1b": g1b, "garbage-read": garbage,
                 "lost-update": lost_updates(txns, "w"), "cyclic-versions": order.cyclic}
    members = np.flatnonzero(np.asarray([t != "fail" for t in txns.typ], dtype=bool))
    return Analysis({k: v for k, v in anomalies.items() if v},
                    [edges(ww_s, ww_d, WW), edges(wr_s, wr_d, WR), edges(rw_s, rw_d, RW)],
                    members, _Explainer(txns, order.edges))
