"""Cycle existence, Elle's fallback: which models an SCC rules out, whatever the cycle search finds.

For each model (Elle's ``cycle-exists-specs``, weakest first) a subgraph must be acyclic if the
model holds: PL-1 no ww cycle, PL-2 no ww/wr cycle, PL-SI none where each rw follows a ww/wr
step (Elle's sequential extension), PL-2.99/PL-3 no data cycle; the strong-session and strong
variants add process or realtime edges. A nontrivial SCC in that subgraph is a
``<model>-cycle-exists`` anomaly, found by SCCs alone (no search, no time limit), so an SCC of
the dependency graph never passes silently. Models stronger than one already ruled out are not
tested again, as in Elle. ``fallback_cycle`` finds some cycle when the search timed out.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from checkers.elle.cycles import Cycle, rebuild_cycle
from checkers.elle.graph import RT_CONTINUE, strong_labels
from checkers.elle.models import all_impossible_models, anomalies_prohibited_by, friendly_model_name
from checkers.elle.txns import KINDS, PROCESS, REALTIME, RW, WR, WW

__all__ = ["CYCLE_EXISTS", "ExistsSpec", "cycle_exists", "fallback_cycle", "impossible_cycle_anomalies"]


@dataclass(frozen=True)
class ExistsSpec:
    """``rels`` must be acyclic; with ``extension``, rw edges may also follow an edge of ``rels``."""

    model: str
    rels: frozenset[int]
    extension: bool = False


def _specs(extra: frozenset[int], prefix: str, names: tuple[str, str, str, str]) -> list[ExistsSpec]:
    pl1, pl2, si, ser = names
    return [ExistsSpec(pl1, frozenset({WW}) | extra), ExistsSpec(pl2, frozenset({WW, WR}) | extra),
            ExistsSpec(si, frozenset({WW, WR}) | extra, extension=True),
            *([ExistsSpec("PL-2.99", frozenset({WW, WR, RW}))] if not prefix else []),
            ExistsSpec(ser, frozenset({WW, WR, RW}) | extra)]


CYCLE_EXISTS: tuple[ExistsSpec, ...] = (
    *_specs(frozenset(), "", ("PL-1", "PL-2", "PL-SI", "PL-3")),
    *_specs(frozenset({PROCESS}), "strong-session-", (
        "strong-session-PL-1", "strong-session-PL-2", "strong-session-snapshot-isolation",
        "strong-session-serializable")),
    *_specs(frozenset({REALTIME, RT_CONTINUE}), "strong-", (
        "strong-PL-1", "strong-PL-2", "strong-snapshot-isolation", "PL-SS")),
)


def _friendly_subgraph(spec: ExistsSpec) -> list:
    union = ["union", *(KINDS[k] for k in sorted(spec.rels) if k != RT_CONTINUE)]
    return ["extension", union, ["union", "rw"]] if spec.extension else union


def _sccs(n: int, src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
    """Strongly connected components with 2+ nodes, smallest first; each as its real txns (< ``n``)."""
    if not len(src):
        return []
    ids, inverse = np.unique(np.concatenate([src, dst]), return_inverse=True)
    s, d = inverse[: len(src)], inverse[len(src):]
    count, labels = strong_labels(len(ids), s, d)
    sizes = np.bincount(labels, minlength=count)
    out = [np.unique(ids[labels == c]) for c in np.flatnonzero(sizes >= 2)]
    out = [np.unique(c[c < n]) for c in out]
    return sorted((c for c in out if len(c) >= 2), key=len)


def _subgraph(spec: ExistsSpec, nodes: int, src: np.ndarray, dst: np.ndarray,
              kind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spec's edges; an extension is encoded as two layers (arrived by rw: ``+nodes``)."""
    a = np.isin(kind, list(spec.rels))
    if not spec.extension:
        return src[a], dst[a]
    b = kind == RW
    return (np.concatenate([src[a], src[a] + nodes, src[b]]),
            np.concatenate([dst[a], dst[a], dst[b] + nodes]))


def cycle_exists(n: int, nodes: int, src: np.ndarray, dst: np.ndarray, kind: np.ndarray) -> list[dict]:
    """The ``<model>-cycle-exists`` cases of one SCC's edges; ``scc`` holds txn ids (< ``n``)."""
    cases: list[dict] = []
    redundant: set[str] = set()
    for spec in CYCLE_EXISTS:
        if spec.model in redundant:
            continue
        s, d = _subgraph(spec, nodes, src, dst, kind)
        found = _layered_sccs(n, nodes, s, d) if spec.extension else _sccs(n, s, d)
        if found:
            cases.append({"type": f"{spec.model}-cycle-exists", "not": friendly_model_name(spec.model),
                          "subgraph": _friendly_subgraph(spec), "scc-size": len(found[0]),
                          "scc": found[0].tolist()})
            redundant |= all_impossible_models([spec.model])
    return cases


def _layered_sccs(n: int, nodes: int, src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
    """SCCs of the two-layer graph, projected back onto txns."""
    layered = _sccs(2 * nodes, src, dst)
    projected = [np.unique(c % nodes) for c in layered]
    return sorted((c[c < n] for c in projected if (c < n).sum() >= 2), key=len)


def impossible_cycle_anomalies(cases: list[dict], cycle_types: set[str]) -> set[str]:
    """Cycle anomalies that cannot be in an SCC, given its cycle-exists cases (Elle's search pruning)."""
    impossible = all_impossible_models(c["type"].removesuffix("-cycle-exists") for c in cases)
    possible = {s.model for s in CYCLE_EXISTS} - impossible
    return cycle_types & anomalies_prohibited_by(possible)


_FALLBACK_RELS = (
    frozenset({WW}), frozenset({WW, PROCESS, REALTIME, RT_CONTINUE}), frozenset({WW, WR}),
    frozenset({WW, WR, PROCESS, REALTIME, RT_CONTINUE}), frozenset({WW, WR, RW}), frozenset(range(6)),
)


def fallback_cycle(n: int, src: np.ndarray, dst: np.ndarray, kind: np.ndarray) -> Cycle:
    """Some cycle, in the first of Elle's fallback relation sets that has one (shortest by BFS)."""
    for rels in _FALLBACK_RELS:
        keep = np.isin(kind, list(rels))
        if _sccs(n, src[keep], dst[keep]):
            break
    s, d, k = src[keep], dst[keep], kind[keep]
    pair_kind = {(a, b): kk for a, b, kk in zip(src.tolist(), dst.tolist(), kind.tolist(), strict=True)
                 if a < n and b < n}
    out: dict[int, list[tuple[int, int]]] = {}
    for a, b, kk in zip(s.tolist(), d.tolist(), k.tolist(), strict=True):
        out.setdefault(a, []).append((b, kk))
    u = int(_sccs(n, s, d)[0][0])
    for v, k0 in out[u]:
        parent: dict[tuple[int, int], tuple[int, int, int] | None] = {(v, 0): None}
        queue = deque([v])
        while queue:
            x = queue.popleft()
            if x == u:
                return rebuild_cycle(u, v, k0, (u, 0), parent, pair_kind, n)
            for y, ky in out.get(x, ()):
                if (y, 0) not in parent:
                    parent[(y, 0)] = (x, 0, ky)
                    queue.append(y)
    raise AssertionError("a strongly connected component without a cycle")
