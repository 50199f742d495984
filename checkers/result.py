"""Checker results: a verdict that is true, false or unknown, with the figures behind it.

Verdicts merge as Jepsen's do: false beats unknown beats true. An unknown verdict always says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["UNKNOWN", "Result", "Validity", "merge_validity", "unknown"]

Validity = bool | Literal["unknown"]
UNKNOWN: Literal["unknown"] = "unknown"
_RANK = {False: 0, UNKNOWN: 1, True: 2}


def merge_validity(verdicts: Iterable[Validity]) -> Validity:
    """false > unknown > true; no verdicts at all is true (nothing was violated)."""
    worst: Validity = True
    for v in verdicts:
        if _RANK[v] < _RANK[worst]:
            worst = v
    return worst


@dataclass(frozen=True)
class Result:
    """What a checker found. ``details`` uses Elle's and Jepsen's key names (``anomaly-types``...)."""

    valid: Validity
    details: Mapping[str, Any] = field(default_factory=dict)
    cause: str | None = None

    def __post_init__(self) -> None:
        if self.valid not in (True, False, UNKNOWN):
            raise ValueError(f"valid must be true, false or 'unknown', not {self.valid!r}")
        if self.valid == UNKNOWN and not self.cause:
            raise ValueError("an unknown verdict needs a cause")

    def to_json(self) -> dict[str, Any]:
        """The result as Elle/Jepsen print it: ``valid?`` first, then the details."""
        out: dict[str, Any] = {"valid?": self.valid}
        if self.cause:
            out["cause"] = self.cause
        out.update(self.details)
        return out


def unknown(cause: str, **details: Any) -> Result:
    return Result(UNKNOWN, details, cause)
