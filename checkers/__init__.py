"""History model, readers and writers, and the checkers: pure functions from a history to a result.

This package imports nothing from the rest of chaoscert and works on any history file.
"""

from checkers.formats import HistoryFormatError, JsonlWriter, read_history, write_history
from checkers.history import History, Op, Pair
from checkers.registry import CheckOptions, checker_names, get_checker, register_checker
from checkers.result import UNKNOWN, Result, merge_validity, unknown

__all__ = [
    "UNKNOWN",
    "CheckOptions",
    "History",
    "HistoryFormatError",
    "JsonlWriter",
    "Op",
    "Pair",
    "Result",
    "checker_names",
    "get_checker",
    "merge_validity",
    "read_history",
    "register_checker",
    "unknown",
    "write_history",
]
