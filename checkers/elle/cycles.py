"""Cycle search: the anomaly catalogue as data, and one breadth-first search that reads it.

Each :class:`CycleSpec` says which edge kinds a cycle may use and how its rw (anti-dependency)
edges must look. The ``-process`` and ``-realtime`` variants are generated from the base specs.
A found cycle is classified the way Elle's explainer names it (G-single-item: exactly one rw;
G2-item: two rw edges next to each other; ...) and kept only when that name is the one sought.

The predicate variants (G-single, G-nonadjacent, G2) need predicate reads, which neither
list-append nor rw-register has, so they are in the catalogue (and the lattice) but never match.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from checkers.elle.graph import RT_CONTINUE
from checkers.elle.models import all_implied_anomalies, anomaly_depths
from checkers.elle.txns import KINDS, PROCESS, REALTIME, RW, WR, WW

__all__ = ["CATALOGUE", "Cycle", "CycleSpec", "SccSearch", "classify", "rebuild_cycle", "search_scc"]


@dataclass(frozen=True)
class CycleSpec:
    """``rw``: none, single (exactly one), nonadjacent (2+, never two in a row), adjacent (2+, two in a row)."""

    name: str
    rels: frozenset[int]
    rw: str = "none"
    needs_wr: bool = False
    variant: int | None = None
    predicate: bool = False


_BASE = (
    CycleSpec("G0", frozenset({WW})),
    CycleSpec("G1c", frozenset({WW, WR}), needs_wr=True),
    CycleSpec("G-single-item", frozenset({WW, WR}), "single"),
    CycleSpec("G-single", frozenset({WW, WR}), "single", predicate=True),
    CycleSpec("G-nonadjacent-item", frozenset({WW, WR}), "nonadjacent"),
    CycleSpec("G-nonadjacent", frozenset({WW, WR}), "nonadjacent", predicate=True),
    CycleSpec("G2-item", frozenset({WW, WR}), "adjacent"),
    CycleSpec("G2", frozenset({WW, WR}), "adjacent", predicate=True),
)


def _variant(spec: CycleSpec, kind: int) -> CycleSpec:
    return replace(spec, name=f"{spec.name}-{KINDS[kind]}", variant=kind)


_DEPTH = anomaly_depths()
CATALOGUE: tuple[CycleSpec, ...] = tuple(sorted(
    (*_BASE, *(_variant(s, PROCESS) for s in _BASE), *(_variant(s, REALTIME) for s in _BASE)),
    key=lambda s: (_DEPTH.get(s.name, 0), s.name)))


@dataclass(frozen=True)
class Cycle:
    """A cycle of transactions: steps ``(from, to, kind)``, the last step returning to the first txn."""

    type: str
    steps: tuple[tuple[int, int, int], ...]


def classify(kinds: Iterable[int]) -> str:
    """Elle's name for a cycle with these step kinds (no predicate edges here)."""
    ks = list(kinds)
    rw = ks.count(RW)
    adjacent = any(ks[i] == RW and ks[(i + 1) % len(ks)] == RW for i in range(len(ks)))
    if rw == 1:
        base = "G-single-item"
    elif rw > 1:
        base = "G2-item" if adjacent else "G-nonadjacent-item"
    elif WR in ks:
        base = "G1c"
    else:
        base = "G0"
    suffix = "-realtime" if REALTIME in ks else "-process" if PROCESS in ks else ""
    return base + suffix


@dataclass
class SccSearch:
    """What the search of one SCC gave: cycles, and the spec it was on when time ran out (if it did)."""

    cycles: list[Cycle]
    timed_out: str | None
    size: int


# BFS state: (rw count capped at 2, last edge rw, saw wr, saw variant edge, saw two rw in a row)
_State = tuple[int, bool, bool, bool, bool]


def _step(spec: CycleSpec, s: _State, kind: int) -> _State | None:
    rw, last_rw, wr, var, adj = s
    if kind == RT_CONTINUE:
        return s
    if kind == RW:
        if spec.rw == "none" or (spec.rw == "single" and rw >= 1) or (spec.rw == "nonadjacent" and last_rw):
            return None
        return (min(rw + 1, 2), True, wr, var, adj or last_rw)
    return (rw, False, wr or kind == WR, var or kind == spec.variant, adj)


def _accepts(spec: CycleSpec, s: _State, first_rw: bool) -> bool:
    rw, last_rw, wr, var, adj = s
    wrap = last_rw and first_rw
    if spec.variant is not None and not var:
        return False
    if spec.needs_wr and not wr:
        return False
    return {"none": rw == 0, "single": rw == 1, "nonadjacent": rw == 2 and not wrap,
            "adjacent": rw == 2 and (adj or wrap)}[spec.rw]


def _allowed(spec: CycleSpec) -> frozenset[int]:
    kinds = set(spec.rels)
    if spec.rw != "none":
        kinds.add(RW)
    if spec.variant == REALTIME:
        kinds |= {REALTIME, RT_CONTINUE}
    elif spec.variant == PROCESS:
        kinds.add(PROCESS)
    return frozenset(kinds)


class _Deadline(Exception):
    pass


def search_scc(n: int, src: np.ndarray, dst: np.ndarray, kind: np.ndarray, timeout_s: float,
               impossible: set[str]) -> SccSearch:
    """Look for each catalogued cycle in one SCC (its internal edges), most severe first.

    A found anomaly makes the ones it implies redundant, as in Elle; ``impossible`` ones (no
    cycle exists in their relations) are not searched for. ``n`` is the number of real
    transactions in the whole graph: nodes >= n are virtual realtime nodes.
    """
    deadline = time.monotonic() + timeout_s
    out: dict[int, list[tuple[int, int]]] = {}
    pair_kind: dict[tuple[int, int], int] = {}
    for a, b, k in zip(src.tolist(), dst.tolist(), kind.tolist(), strict=True):
        out.setdefault(a, []).append((b, k))
        if a < n and b < n:
            pair_kind[(a, b)] = k
    present = set(kind.tolist())
    size = len({*src.tolist()} | {*dst.tolist()})
    found: list[Cycle] = []
    redundant = set(impossible)
    current = None
    try:
        for spec in CATALOGUE:
            if spec.predicate or spec.name in redundant or (spec.variant is not None and spec.variant not in present):
                continue
            current = spec.name
            cycle = _find(spec, out, pair_kind, n, deadline)
            if cycle is not None:
                found.append(cycle)
                redundant |= all_implied_anomalies([spec.name])
    except _Deadline:
        return SccSearch(found, current, size)
    return SccSearch(found, None, size)


def _find(spec: CycleSpec, out: dict[int, list[tuple[int, int]]], pair_kind: dict[tuple[int, int], int],
          n: int, deadline: float) -> Cycle | None:
    allowed = _allowed(spec)
    start_kind = spec.variant if spec.variant is not None else (
        RW if spec.rw != "none" else WR if spec.needs_wr else WW)
    empty: _State = (0, False, False, False, False)
    pops = 0
    for u, edges in out.items():
        if u >= n:
            continue
        for v, k in edges:
            if k != start_kind:
                continue
            if time.monotonic() > deadline:
                raise _Deadline
            s0 = _step(spec, empty, k)
            if s0 is None:
                continue
            first_rw = k == RW
            parent: dict[tuple[int, _State], tuple[int, _State, int] | None] = {(v, s0): None}
            queue = deque([(v, s0)])
            while queue:
                pops += 1
                if not pops & 1023 and time.monotonic() > deadline:
                    raise _Deadline
                x, s = queue.popleft()
                if x == u and _accepts(spec, s, first_rw):
                    cycle = rebuild_cycle(u, v, k, (x, s), parent, pair_kind, n)
                    if cycle.type == spec.name:
                        return cycle
                    continue
                if x == u:
                    continue
                for y, ky in out.get(x, ()):
                    if ky not in allowed:
                        continue
                    s2 = _step(spec, s, ky)
                    if s2 is None or (y, s2) in parent:
                        continue
                    parent[(y, s2)] = (x, s, ky)
                    queue.append((y, s2))
    return None


def rebuild_cycle(u: int, v: int, k: int, end: tuple[int, _State], parent: dict, pair_kind: dict[tuple[int, int], int],
           n: int) -> Cycle:
    """Rebuild the path, fold virtual realtime hops into one step, and explain pairs as Elle would."""
    raw = []
    node = end
    while parent[node] is not None:
        x, s, ky = parent[node]
        raw.append((x, node[0], ky))
        node = (x, s)
    raw.append((u, v, k))
    raw.reverse()
    steps: list[tuple[int, int, int]] = []
    for a, b, kind in raw:
        if kind == RT_CONTINUE:
            if b < n:
                start = steps.pop()[0]
                steps.append((start, b, REALTIME))
            continue
        steps.append((a, b, kind))
    steps = [(a, b, min(kind, pair_kind.get((a, b), kind))) for a, b, kind in steps]
    return Cycle(classify(k for _, _, k in steps), tuple(steps))
