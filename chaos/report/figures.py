"""Figures a run reports beside the SLA figures (checkers/sla.py), computed from its history alone:
throughput, and the bank's money balance after recovery."""

from __future__ import annotations

from collections import Counter
from typing import Any

from checkers.history import History

__all__ = ["bank_money", "throughput"]

NS = 1e9


def throughput(history: History) -> dict[str, Any]:
    """Client operations by type and f, and operations per second over the client ops' time span."""
    pairs = history.pairs()
    times = [op.time for op in history.client_ops()]
    span = (max(times) - min(times)) / NS if times else 0.0
    by_type = Counter(p.type for p in pairs)
    by_f: dict[str, Counter[str]] = {}
    for p in pairs:
        by_f.setdefault(str(p.f), Counter())[p.type] += 1
    return {
        "operations": len(pairs),
        "by-type": {t: by_type[t] for t in ("ok", "fail", "info")},
        "by-f": {f: dict(c) for f, c in sorted(by_f.items())},
        "duration-s": round(span, 3),
        "ops-per-s": round(len(pairs) / span, 1) if span else None,
        "ok-per-s": round(by_type["ok"] / span, 1) if span else None,
    }


def bank_money(history: History, total: int) -> dict[str, Any]:
    """Money in the last ok read against ``total`` (positive: created, negative: lost), and how many
    ok reads did not sum to ``total``."""
    reads = [p for p in history.pairs()
             if p.f in ("read", "final-read") and p.type == "ok" and isinstance(p.value, dict)]
    wrong = sum(1 for p in reads if sum(p.value.values()) != total)
    final = sum(reads[-1].value.values()) if reads else None
    return {
        "total": total,
        "final-total": final,
        "money-delta": None if final is None else final - total,
        "reads": len(reads),
        "reads-with-wrong-total": wrong,
    }
