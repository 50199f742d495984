"""Quantiles as Jepsen reports them: the element at rank ``min(n - 1, floor(n * q))`` of the sorted values."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["JEPSEN_POINTS", "quantiles"]

JEPSEN_POINTS = (0, 0.5, 0.95, 0.99, 1)


def quantiles(values: Iterable[float], points: Sequence[float] = JEPSEN_POINTS) -> dict[float, float] | None:
    """Map each point (0..1) to an observed value; None when there are no values."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    return {q: ordered[min(n - 1, int(n * q))] for q in points}
