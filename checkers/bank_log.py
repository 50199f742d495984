"""Durability of bank transfers, by id: the final read's committed ids against what clients saw.

The bank workload logs each transfer's id in the same transaction as the transfer; after
recovery its ``final-read`` op carries ``transfer-ids``, the ids the database holds. Then:

- an ``ok`` transfer missing from the log is a lost acknowledged write (invalid);
- a ``fail`` transfer present in the log committed although the client was told it did not (invalid);
- ``info`` transfers may or may not be there; the figures count both.

No ok ``final-read`` with ``transfer-ids`` means nothing can be said: unknown.
"""

from __future__ import annotations

from checkers.history import History
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result, unknown


@register_checker("bank-log", functions=frozenset({"read", "final-read", "transfer"}),
                  summary="bank: acknowledged transfer ids present after recovery, failed ones absent")
def check_bank_log(history: History, options: CheckOptions) -> Result:
    """Compare ok/fail/info transfers with the final transfer log."""
    finals = [p for p in history.pairs() if p.f == "final-read" and p.type == "ok"
              and p.complete is not None and isinstance(p.complete.extra.get("transfer-ids"), list)]
    if not finals:
        return unknown("no ok final-read with transfer-ids (the run ended before the final read?)")
    logged = set(finals[-1].complete.extra["transfer-ids"])  # type: ignore[union-attr]
    by_type: dict[str, set[int]] = {"ok": set(), "fail": set(), "info": set()}
    for p in history.pairs():
        if p.f == "transfer" and isinstance(p.invoke.value, dict) and "id" in p.invoke.value:
            by_type[p.type].add(p.invoke.value["id"])
    lost = sorted(by_type["ok"] - logged)
    aborted_committed = sorted(by_type["fail"] & logged)
    details = {
        "acknowledged": len(by_type["ok"]),
        "acknowledged-missing": len(lost),
        "lost": lost[:20],
        "failed-but-committed": aborted_committed[:20],
        "failed-but-committed-count": len(aborted_committed),
        "indeterminate": len(by_type["info"]),
        "indeterminate-committed": len(by_type["info"] & logged),
        "unknown-ids-in-log": len(logged - by_type["ok"] - by_type["info"] - by_type["fail"]),
    }
    return Result(not lost and not aborted_committed, details)
