"""Failovers as the clients saw them, from a history whose client completions name the node that
served them (``served-by``, written by clients that follow the leader).

For each fault (a nemesis op that starts one; its stop is not needed), with the *old leader* the
node that served the last ok write completed before the fault::

    {"fault": "kill", "at-ns": ..., "old": "n1", "new": "n2", "write-rto-ns": 10400000000,
     "moved-ns": 10400000000, "old-accepted": 12, "old-accepted-for-ns": 3100000000}

- ``write-rto-ns``: from the fault's start (its op's completion) to the first ok write invoked at
  or after it (any node; None if none came);
- ``new``: the node that served that write;
- ``moved-ns``: from the fault's start to the first ok write invoked at or after it that another
  node than the old leader served (None if the writes never moved);
- ``old-accepted``: ok writes the old leader served that were invoked while the fault lasted (from
  its start to the next nemesis op's completion, its stop; a cut-off leader that has not demoted
  itself yet), and
  ``old-accepted-for-ns`` from the fault's start to the completion of the last of them.

Writes are ops whose ``f`` is not ``read``. Pure; reads only the history.
"""

from __future__ import annotations

from typing import Any

from checkers.history import History, Pair

__all__ = ["FAULT_STARTS", "failover_figures"]

FAULT_STARTS = ("kill", "kill-agent", "kill-server", "pause", "bump-clock", "strobe-clock", "failover")


def _served_by(p: Pair) -> Any:
    return p.complete.extra.get("served-by") if p.complete is not None else None


def failover_figures(history: History) -> list[dict[str, Any]]:
    """One entry per fault start, in history order; empty when no completion names its server."""
    writes = sorted((p for p in history.pairs(client=True) if p.f != "read" and p.type == "ok" and _served_by(p)),
                    key=lambda p: p.complete.time)  # type: ignore[union-attr]
    if not writes:
        return []
    nemesis = [p for p in history.pairs(client=False) if p.complete is not None]
    out = []
    for k, p in enumerate(nemesis):
        if not (str(p.f) in FAULT_STARTS or str(p.f).startswith("start-")):
            continue
        at = p.complete.time  # type: ignore[union-attr]
        until = nemesis[k + 1].complete.time if k + 1 < len(nemesis) else None  # type: ignore[union-attr]
        before = [w for w in writes if w.complete.time <= at]  # type: ignore[union-attr]
        old = _served_by(before[-1]) if before else None
        after = [w for w in writes if w.invoke.time >= at]
        first = after[0] if after else None
        by_old = [w for w in after if _served_by(w) == old and (until is None or w.invoke.time < until)]
        moved = next((w for w in after if _served_by(w) != old), None)
        out.append({
            "fault": p.f, "value": p.complete.value, "at-ns": at, "old": old,  # type: ignore[union-attr]
            "new": _served_by(first) if first else None,
            "write-rto-ns": first.complete.time - at if first else None,  # type: ignore[union-attr]
            "moved-ns": moved.complete.time - at if moved else None,  # type: ignore[union-attr]
            "old-accepted": len(by_old),
            "old-accepted-for-ns": max(w.complete.time for w in by_old) - at if by_old else 0,  # type: ignore[union-attr]
        })
    return out
