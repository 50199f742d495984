"""Measured values as a reader wants them: a unit, and no more digits than the measure holds.

Durations and times from nanoseconds (``3.18 s``, ``412 ms``, ``10.19 s``), proportions as
percentages, and each SLA claim's measured value in its claim's unit. Every output (console,
report.html, summary.md, ``chaoscert sla``) uses these, so one figure reads the same everywhere.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["duration", "measured", "millis", "node_list", "percent", "seconds", "size_words"]

VALIDITY = {True: "valid", False: "invalid"}


def seconds(ns: float | None) -> str:
    """A time or duration in seconds, to the hundredth: ``3.18 s`` (``—`` when unknown)."""
    return "—" if ns is None else f"{ns / 1e9:.2f} s"


def duration(ns: float | None) -> str:
    """A duration: under a second in milliseconds (``3.2 ms``), else in seconds (``3.18 s``)."""
    return millis(ns) if ns is not None and abs(ns) < 1e9 else seconds(ns)


def millis(ns: float | None) -> str:
    """A latency in milliseconds, three significant digits: ``297 ms``, ``12.4 ms``, ``0.85 ms``."""
    if ns is None:
        return "—"
    ms = ns / 1e6
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.3g} ms"


def percent(ratio: float | None) -> str:
    """A proportion as a percentage, with the digits that tell it from 100 %: ``71.76 %``,
    ``99.950 %``, ``99.9930 %``; exactly 1 and 0 are ``100 %`` and ``0 %``."""
    if ratio is None:
        return "—"
    if ratio in (0, 1):
        return f"{ratio * 100:.0f} %"
    missing = (1 - ratio) * 100  # percentage points short of 100 %
    digits = 2 if missing >= 0.1 else min(6, 1 - math.floor(math.log10(missing)))
    return f"{ratio * 100:.{digits}f} %"


def size_words(size: int) -> str:
    """Bytes for people: ``812 B``, ``14.2 KB``, ``5.3 MB`` (powers of 1000)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}" if size < 100 * scale else f"{size / scale:.0f} {unit}"
    return f"{size} B"


def node_list(nodes: Any) -> str:
    """A fault's nodes: ``n1, n2`` for a list, else as recorded (a partition's map, a name)."""
    return ", ".join(map(str, nodes)) if isinstance(nodes, list) else json.dumps(nodes, default=str)


def measured(claim: str, value: Any) -> str:
    """A claim's measured value in the claim's unit (``rto_seconds``: ``3.18 s``, ``p99_latency_ms``:
    ``297 ms``, ``availability``: ``71.76 %``); other values as they are."""
    if isinstance(value, dict):  # a figure per checker: {"cas-register": True}
        return ", ".join(f"{k} {VALIDITY.get(v, v) if isinstance(v, bool) else v}" for k, v in value.items())
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—" if value is None else str(value)
    if claim.endswith("_seconds"):
        return duration(value * 1e9)
    if claim.endswith("_ms"):
        return millis(value * 1e6)
    if claim == "availability":
        return percent(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)
