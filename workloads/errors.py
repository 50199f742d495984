"""What every client's error table shares: the ``Classified`` outcome and the commit-phase rule.

Each client has ONE table mapping its driver's errors to ``abort`` (the server answered: it refused
the transaction on a working connection, e.g. a deadlock or serialization abort; surely did not
happen), ``fail`` (surely did not happen, and no answer: connection refused, read-only, no primary)
or ``info`` (it may have). An ``abort`` is a ``fail`` completion marked ``answered: true``: for
availability a definite answer is uptime, like a workload's own refusal (``Refused``: insufficient
funds, a failed compare). The phase then decides ``info`` errors: before the client sent ``COMMIT``
(or the single write of an autocommit op), an explicit transaction cannot have committed (the
server rolls it back when a statement fails or the connection dies), so ``info`` becomes ``fail``.
Anything the table does not know is ``info`` with ``error="indeterminate: ..."``, whatever the
phase: an unknown error must never pass as a definite failure.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Classified", "by_table", "indeterminate"]


@dataclass(frozen=True)
class Classified:
    type: str  # "fail" or "info"
    error: str
    answered: bool = False  # the server gave a definite answer (an abort)


def by_table(entry: tuple[str, str], *, committing: bool, detail: str = "") -> Classified:
    """The outcome for a table ``entry`` ``(outcome, name)`` given the phase."""
    outcome, name = entry
    if outcome == "abort":
        return Classified("fail", f"{name}{': ' + detail if detail else ''}"[:200], answered=True)
    if outcome == "info" and not committing:
        outcome = "fail"  # COMMIT was never sent: the open transaction cannot have committed
    return Classified(outcome, f"{name}{': ' + detail if detail else ''}"[:200])


def indeterminate(exc: BaseException) -> Classified:
    return Classified("info", f"indeterminate: {type(exc).__name__}: {exc}"[:200])
