"""Exit codes, elle-cli's contract: 0 all valid or certified, 1 anything invalid or violated, 2 nothing
invalid but something unknown or inconclusive, 255 an error (bad input, bad option, the tool itself)."""

from __future__ import annotations

from typing import Any

from checkers.result import UNKNOWN, merge_validity

__all__ = ["EXIT_ERROR", "exit_code"]

EXIT_ERROR = 255


def exit_code(verdicts: list[Any]) -> int:
    """0 all true, 1 any false, 2 any unknown and none false."""
    return {True: 0, False: 1, UNKNOWN: 2}[merge_validity(verdicts)]
