"""What a workload's analysis hands to the checker, and the anomaly finders both workloads share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from checkers.elle.txns import Txns

__all__ = ["Analysis", "Explainer", "garbage_and_aborted", "lost_updates"]


class Explainer(Protocol):
    def explain(self, a: int, b: int, kind: int) -> dict[str, Any]:
        """Why txn ``a`` precedes txn ``b`` by a data edge of ``kind``, as data."""
        ...

    def render(self, a: str, b: str, step: dict[str, Any]) -> str:
        """One explained step as a sentence, naming the txns ``a`` and ``b``."""
        ...


@dataclass(frozen=True)
class Analysis:
    anomalies: dict[str, list[dict[str, Any]]]  # non-cycle anomalies found, by Elle's name
    edges: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # data edges (src, dst, kind)
    members: np.ndarray  # txns that are graph nodes (ok and info)
    explainer: Explainer


def garbage_and_aborted(txns: Txns, reads: Iterable[tuple[int, Any, Any, int, Iterable[Any]]],
                        writer: dict[Any, dict[Any, int]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """garbage-read: a read of a value no txn wrote; G1a: a read of a value only a failed txn wrote.

    ``reads`` yields (txn, key, value read, mop index, the values it shows); ``writer`` maps a key and
    a value to the txn that wrote it.
    """
    garbage, aborted = [], []
    reads = list(reads)
    if not reads:  # as in a list-append history whose reads are all clean prefixes: no index to build
        return garbage, aborted
    failed = {k: {e for e, w in by_value.items() if txns.typ[w] == "fail"} for k, by_value in writer.items()}
    unwritten: dict[Any, int] = {}
    none_failed: frozenset[Any] = frozenset()
    for t, k, _, i, shown in reads:
        shown = shown if isinstance(shown, (list, tuple)) else list(shown)
        by_value = writer.get(k, unwritten)
        if by_value.keys() >= set(shown) and failed.get(k, none_failed).isdisjoint(shown):
            continue  # set operations in C; the loop below only for the reads with something to report
        for e in shown:
            w = by_value.get(e)
            if w is None:
                garbage.append({"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i], "element": e})
            elif txns.typ[w] == "fail":
                aborted.append({"op": txns.ops[t].to_dict(), "mop": txns.mops[t][i],
                                "writer": txns.ops[w].to_dict(), "element": e})
    return garbage, aborted


def lost_updates(txns: Txns, write_f: str, among: Iterable[int] | None = None) -> list[dict[str, Any]]:
    """Two committed txns that read the same version of a key and both wrote it (Elle's lost-update).
    ``among``: the txns that may be such (those touching a key twice), when the caller knows them."""
    groups: dict[tuple[Any, Any], list[int]] = defaultdict(list)
    for t in range(len(txns)) if among is None else among:
        typ, mops = txns.typ[t], txns.mops[t]
        if typ != "ok" or len(mops) < 2:
            continue
        reads: dict[Any, Any] = {}
        written: set[Any] = set()
        for f, k, v in mops:
            if f == write_f:
                if k not in written and k in reads:
                    groups[(k, _frozen(reads[k]))].append(t)
                written.add(k)
            elif k not in reads and k not in written:
                reads[k] = v
    return [{"key": k, "value": v, "txns": [txns.ops[t].to_dict() for t in ts]}
            for (k, v), ts in groups.items() if len(ts) > 1]


def _frozen(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v
