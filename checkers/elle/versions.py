"""rw-register version orders: Elle's hints, merged into one graph per key, and the edges they give.

A key's version graph has ``v1 -> v2`` when value v1 must precede v2. The sources, in Elle's order:

- ``initial-state`` (always): nil precedes every value written or read;
- ``wfr-keys``: a committed txn that read v1 and then wrote v2 orders v1 < v2;
- ``sequential-keys``: on each process, the value a committed txn left a key at precedes the
  first value of that key the process's next txn touching it reads (or writes);
- ``linearizable-keys``: the same over realtime order (completed before invoked), covering
  pairs only (a transitive reduction per key).

Only ``ok`` txns are predecessors: an ``info`` txn may not have happened, so it is only ever a
successor (through its writes), which leaves its value a sink unless someone read it.
A source whose edges close a cycle in a key's graph is left out for that key and reported as
``cyclic-versions`` (``{key, scc, sources}``); sources accepted before it still apply. Each
version edge ``v1 -> v2`` gives ``ww`` from v1's writer and ``rw`` from each of v1's readers to
v2's writer (external reads and final writes only, as Elle).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from checkers.elle.graph import strong_labels
from checkers.elle.txns import Txns

__all__ = ["Ext", "VersionOrder", "ext_of", "version_order"]

Edge = tuple[Any, Any, Any]  # key, earlier value, later value


@dataclass(frozen=True)
class Ext:
    """A txn's external reads (the first access of a key was a read) and final writes, by key."""

    reads: dict[Any, Any]
    writes: dict[Any, Any]


def ext_of(mops: list[Any], committed: bool) -> Ext:
    """External reads (only known for a committed txn) and final writes of one txn."""
    reads: dict[Any, Any] = {}
    writes: dict[Any, Any] = {}
    for f, k, v in mops:
        if f == "w":
            writes[k] = v
        elif committed and k not in reads and k not in writes:
            reads[k] = v
    return Ext(reads, writes)


@dataclass(frozen=True)
class VersionOrder:
    edges: dict[Edge, str]  # each accepted version edge and the source that gave it
    cyclic: list[dict[str, Any]]  # cyclic-versions cases


def _initial_state(txns: Txns, ext: list[Ext | None]) -> list[Edge]:
    # nil has no predecessor, so this source alone is never cyclic.
    return [(k, None, v) for e in ext if e is not None
            for k, v in (*e.reads.items(), *e.writes.items()) if v is not None]


def _wfr(txns: Txns, ext: list[Ext | None]) -> list[Edge]:
    return [(k, v, e.writes[k]) for t, e in enumerate(ext) if e is not None and txns.typ[t] == "ok"
            for k, v in e.reads.items() if v is not None and k in e.writes and e.writes[k] != v]


def _first(e: Ext, k: Any) -> Any:
    return e.reads[k] if k in e.reads else e.writes[k]


def _final(e: Ext, k: Any) -> Any:
    return e.writes[k] if k in e.writes else e.reads[k]


def _sequential(txns: Txns, ext: list[Ext | None]) -> list[Edge]:
    out: list[Edge] = []
    last: dict[Any, dict[Any, Any]] = defaultdict(dict)  # process -> key -> value its last ok txn left
    for t in np.argsort(txns.invoked, kind="stable").tolist():
        e = ext[t]
        if e is None:
            continue
        seen = last[txns.process[t]]
        keys = {*e.reads, *e.writes}
        out.extend((k, seen[k], _first(e, k)) for k in keys if k in seen and seen[k] != _first(e, k))
        if txns.typ[t] == "ok":
            seen.update((k, _final(e, k)) for k in keys)
    return out


def _linearizable(txns: Txns, ext: list[Ext | None]) -> list[Edge]:
    by_key: dict[Any, list[int]] = defaultdict(list)
    for t in np.argsort(txns.invoked, kind="stable").tolist():
        e = ext[t]
        if e is not None:
            for k in {*e.reads, *e.writes}:
                by_key[k].append(t)
    out: list[Edge] = []
    for k, ts in by_key.items():
        inv = txns.invoked[ts].tolist()
        done = txns.completed[ts]
        soonest = np.minimum.accumulate(done[::-1])[::-1].tolist()  # earliest completion from i on
        for i, a in enumerate(ts):
            if txns.typ[a] != "ok":
                continue
            lo = bisect_right(inv, int(done[i]))
            if lo == len(ts):
                continue
            v1 = _final(ext[a], k)  # type: ignore[arg-type]
            for b in ts[lo:bisect_left(inv, soonest[lo])]:
                v2 = _first(ext[b], k)  # type: ignore[arg-type]
                if v2 != v1:
                    out.append((k, v1, v2))
    return out


SOURCES: tuple[tuple[str, str | None, Callable[[Txns, list[Ext | None]], list[Edge]]], ...] = (
    ("initial-state", None, _initial_state),
    ("wfr-keys", "wfr_keys", _wfr),
    ("sequential-keys", "sequential_keys", _sequential),
    ("linearizable-keys", "linearizable_keys", _linearizable),
)


def _cyclic_keys(edges: list[Edge]) -> dict[Any, list[list[Any]]]:
    """Each key whose version graph has a cycle, with its strongly connected components (2+ values)."""
    ids: dict[tuple[Any, Any], int] = {}
    src = [ids.setdefault((k, a), len(ids)) for k, a, _ in edges]
    dst = [ids.setdefault((k, b), len(ids)) for k, _, b in edges]
    count, labels = strong_labels(len(ids), src, dst)
    big = np.bincount(labels, minlength=count) >= 2
    sccs: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for node, i in ids.items():
        if big[labels[i]]:
            sccs[int(labels[i])].append(node)
    out: dict[Any, list[list[Any]]] = defaultdict(list)
    for nodes in sccs.values():
        out[nodes[0][0]].append(sorted((v for _, v in nodes), key=lambda v: (v is not None, type(v).__name__, v)))
    return out


def version_order(txns: Txns, ext: list[Ext | None], enabled: Callable[[str], bool]) -> VersionOrder:
    """Merge the enabled sources in order; ``ext[t]`` is None for a failed txn."""
    accepted: dict[Edge, str] = {}
    cyclic: list[dict[str, Any]] = []
    used: dict[Any, list[str]] = defaultdict(list)  # key -> sources accepted for it
    for name, option, source in SOURCES:
        if option is not None and not enabled(option):
            continue
        new = [e for e in dict.fromkeys(source(txns, ext)) if e not in accepted]
        bad = _cyclic_keys([*accepted, *new]) if option is not None else {}
        for k, sccs in bad.items():
            cyclic.extend({"key": k, "scc": scc, "sources": [*used[k], name]} for scc in sccs)
        for e in new:
            if e[0] not in bad:
                accepted[e] = name
        for k in {e[0] for e in new} - set(bad):
            used[k].append(name)
    return VersionOrder(accepted, cyclic)
