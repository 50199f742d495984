"""Jepsen's ``stats`` checker: operation counts by f and type; valid when every f has an ok."""

from __future__ import annotations

from collections import Counter

from checkers.history import History
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result


@register_checker("stats", summary="counts by f and type; valid when every f has an ok")
def check_stats(history: History, options: CheckOptions) -> Result:
    """Counts of ok/fail/info client operations, overall and by f."""
    by_f: dict[str, Counter[str]] = {}
    for pair in history.pairs():
        by_f.setdefault(str(pair.f), Counter())[pair.type] += 1

    def figures(c: Counter[str]) -> dict[str, object]:
        n = sum(c.values())
        return {"count": n, "ok-count": c["ok"], "fail-count": c["fail"], "info-count": c["info"],
                "valid?": c["ok"] > 0}

    per_f = {f: figures(c) for f, c in sorted(by_f.items())}
    total = figures(sum(by_f.values(), Counter()))
    return Result(all(v["valid?"] for v in per_f.values()), {**total, "by-f": per_f})
