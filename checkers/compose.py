"""Running several checkers over one history, merging verdicts as Jepsen's ``compose`` does.

``compose({"bank": check_bank, "stats": check_stats})`` is itself a checker: its details map each
name to that checker's result, and its verdict is the worst of theirs (false > unknown > true). A
checker that raises becomes ``unknown`` with the error as its cause, never a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping

from checkers.history import History
from checkers.registry import Checker, CheckOptions
from checkers.result import Result, merge_validity, unknown
from checkers.shapes import ShapeError

__all__ = ["check_safe", "compose"]


def check_safe(checker: Checker, history: History, options: CheckOptions) -> Result:
    """Run a checker; a crash becomes an unknown verdict carrying the error. A value of the wrong
    shape (ShapeError) is the history's fault, not the checker's: it is raised."""
    try:
        return checker(history, options)
    except ShapeError:
        raise
    except Exception as e:  # a checker bug must not pass as a verdict
        return unknown(f"checker crashed: {type(e).__name__}: {e}")


def compose(checkers: Mapping[str, Checker]) -> Checker:
    """One checker running each named checker; details hold every result by name."""

    def check(history: History, options: CheckOptions) -> Result:
        results = {name: check_safe(c, history, options) for name, c in checkers.items()}
        valid = merge_validity(r.valid for r in results.values())
        causes = [f"{name}: {r.cause}" for name, r in results.items() if r.valid == "unknown"]
        return Result(valid, {name: r.to_json() for name, r in results.items()},
                      "; ".join(causes) if valid == "unknown" else None)

    return check
