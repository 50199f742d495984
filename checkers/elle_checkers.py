"""Registers the Elle checkers (``checkers/elle/``) as models ``list-append`` and ``rw-register``.

The analysis (numpy, scipy) is imported when a check runs, not when the registry is filled, so
other models' checks do not pay for it.
"""

from __future__ import annotations

from checkers.history import History
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result


@register_checker("list-append", "elle-list-append", summary="Elle: transactional isolation over append/read lists")
def check_list_append(history: History, options: CheckOptions) -> Result:
    """Elle's list-append analysis: every cycle and non-cycle anomaly, against --consistency-models."""
    from checkers.elle import check, list_append

    return check(history, options, list_append.FUNCTIONS, list_append.analyze)


@register_checker("rw-register", "elle-rw-register", summary="Elle: transactional isolation over read/write registers")
def check_rw_register(history: History, options: CheckOptions) -> Result:
    """Elle's rw-register analysis: every cycle and non-cycle anomaly, against --consistency-models."""
    from checkers.elle import check, rw_register

    return check(history, options, rw_register.FUNCTIONS, rw_register.analyze)
