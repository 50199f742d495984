"""The dependency graph: data edges from a workload, process and realtime edges from the history.

Edges are numpy arrays (``src``, ``dst``, ``kind``). A pair of transactions with several kinds
keeps the first in ``KINDS`` order, which is how Elle explains such a pair. Realtime order is
encoded with one virtual node per completion, chained in completion order: ``T -> c(T)``,
``c_j -> c_j+1`` and ``c_j -> U`` for the last completion before U's invocation. That is 3n
edges with exactly the reachability of "completed before invoked" (a transitive reduction in
spirit, never all pairs); a path ``T -> c.. -> U`` is one realtime step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from checkers.elle._scc import strong_components
from checkers.elle.txns import NEVER, PROCESS, REALTIME, Txns

__all__ = ["RT_CONTINUE", "DepGraph", "build_graph", "process_edges", "realtime_edges", "strong_labels"]

RT_CONTINUE = 5  # an edge leaving a virtual completion node: the rest of a realtime step

Edges = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class DepGraph:
    n: int  # transactions are nodes 0..n-1; virtual completion nodes follow
    nodes: int
    src: np.ndarray
    dst: np.ndarray
    kind: np.ndarray

    def scc_edges(self) -> list[tuple[np.ndarray, Edges]]:
        """Each strongly connected component with two or more transactions: its nodes (virtual
        ones included) and the edges inside it."""
        if not len(self.src):
            return []
        count, labels = strong_labels(self.nodes, self.src, self.dst)
        real = np.bincount(labels[: self.n], minlength=count)
        big = real >= 2
        if not big.any():
            return []
        node_order = np.argsort(labels, kind="stable")
        node_bounds = np.searchsorted(labels[node_order], np.arange(count + 1))
        ls = labels[self.src]
        inside = np.flatnonzero((ls == labels[self.dst]) & big[ls])
        edge_order = inside[np.argsort(ls[inside], kind="stable")]
        edge_bounds = np.searchsorted(ls[edge_order], np.arange(count + 1))
        out = []
        for c in np.flatnonzero(big):
            e = edge_order[edge_bounds[c]:edge_bounds[c + 1]]
            out.append((node_order[node_bounds[c]:node_bounds[c + 1]], (self.src[e], self.dst[e], self.kind[e])))
        return out


def strong_labels(nodes: int, src: np.ndarray | list[int], dst: np.ndarray | list[int]) -> tuple[int, np.ndarray]:
    """The strongly connected components of a graph on nodes ``0..nodes-1``: how many, and each
    node's component number (in C, ``_scc.c``)."""
    count, labels = strong_components(nodes, np.ascontiguousarray(src, dtype=np.int64),
                                      np.ascontiguousarray(dst, dtype=np.int64))
    return count, np.frombuffer(labels, dtype=np.int64)


def edges(src: list[int] | np.ndarray, dst: list[int] | np.ndarray, kind: int) -> Edges:
    s = np.asarray(src, dtype=np.int64)
    return s, np.asarray(dst, dtype=np.int64), np.full(len(s), kind, dtype=np.int8)


def process_edges(txns: Txns, members: np.ndarray) -> Edges:
    """Each member transaction to the next member of the same process, by invocation."""
    procs = np.asarray([hash(txns.process[i]) for i in members], dtype=np.int64)
    order = np.lexsort((txns.invoked[members], procs))
    m, p = members[order], procs[order]
    same = p[1:] == p[:-1]
    return edges(m[:-1][same], m[1:][same], PROCESS)


def realtime_edges(txns: Txns, members: np.ndarray, n: int) -> tuple[Edges, int]:
    """The virtual completion chain over members; returns the edges and the number of virtual nodes."""
    done = members[txns.completed[members] != NEVER]
    order = np.argsort(txns.completed[done], kind="stable")
    done = done[order]
    times = txns.completed[done]
    c = len(done)
    into_chain = (done, n + np.arange(c))
    chain = (n + np.arange(c - 1), n + np.arange(1, c))
    j = np.searchsorted(times, txns.invoked[members], side="left") - 1
    has = j >= 0
    out_of_chain = (n + j[has], members[has])
    real = edges(*into_chain, REALTIME)
    cont = [edges(*chain, RT_CONTINUE), edges(*out_of_chain, RT_CONTINUE)]
    return (np.concatenate([real[0], *(e[0] for e in cont)]), np.concatenate([real[1], *(e[1] for e in cont)]),
            np.concatenate([real[2], *(e[2] for e in cont)])), c


def build_graph(n: int, data: list[Edges], txns: Txns, members: np.ndarray, extra: str | None) -> DepGraph:
    """Merge data edges (one kind per pair, self-loops dropped) with ``extra`` process or realtime edges."""
    parts = list(data)
    virtual = 0
    if extra == "process":
        parts.append(process_edges(txns, members))
    src = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    dst = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    kind = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int8)
    keep = src != dst
    src, dst, kind = src[keep], dst[keep], kind[keep]
    key = src * n + dst
    order = np.lexsort((kind, key))
    key, src, dst, kind = key[order], src[order], dst[order], kind[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    src, dst, kind = src[first], dst[first], kind[first]
    if extra == "realtime":
        (rs, rd, rk), virtual = realtime_edges(txns, members, n)
        src, dst, kind = np.concatenate([src, rs]), np.concatenate([dst, rd]), np.concatenate([kind, rk])
    return DepGraph(n, n + virtual, src, dst, kind)
