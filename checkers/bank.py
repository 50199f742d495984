"""Jepsen's ``bank`` checker, plus the money view payment users ask for.

A bank history moves money between accounts and reads every balance::

    {:type :invoke :process 0 :f :transfer :value {:from 1 :to 2 :amount 5}}
    {:type :ok     :process 0 :f :transfer :value {:from 1 :to 2 :amount 5}}
    {:type :invoke :process 1 :f :read}
    {:type :ok     :process 1 :f :read :value {1 95 2 5}}

Every ok read (f ``read`` or ``final-read``) must show exactly the known accounts, no nil balance,
the total amount, and (unless allowed) no negative balance. Each read gets at most one error, tested
in Jepsen's order: ``unexpected-key``, ``nil-balance``, ``wrong-total``, ``negative-value``; errors are
grouped by type with ``count``, ``first``, ``worst`` and ``last`` (and ``lowest``/``highest`` totals).
Accounts and total come from the options, else from the first ok read (as elle-cli does).

The money view (``money``) looks at the final read (the last ok ``final-read``, else the last ok
read): how much money appeared or vanished against the expected total, and, per account, whether the
final balance is explained by the transfers. That reconciliation needs a baseline: an ok read that
completed before the first transfer was invoked. Each account must then end at baseline + the
transfers acknowledged before the final read was invoked + some subset of the rest that may show
(info transfers, and transfers concurrent with the final read; failed ones never apply). An account
outside that range is a ``balance-mismatch`` error: an acknowledged transfer was lost, or money moved
that nobody asked to move. The reconciliation takes reads as real-time (strict serializable): a
database that serves stale reads by design shows them as mismatches too.

Naming *which* acknowledged transfers are missing needs the database to say which it holds: when
transfers carry an ``id`` in their value and the final read op carries ``transfer-ids`` (the ids the
database has applied), acknowledged ids missing there are listed in ``unreflected-transfers``.
Otherwise the view says it cannot tell, rather than guessing from balances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checkers.history import History, Op, Pair
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result, unknown

__all__ = ["check_bank", "group_errors"]

READ_FS = ("read", "final-read")


def group_errors(errors: Iterable[dict[str, Any]], badness: Callable[[dict[str, Any]], float]) -> dict[str, Any]:
    """Errors (each with ``type`` and ``op``) grouped by type, as Jepsen's checkers report them."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in errors:
        by_type.setdefault(e["type"], []).append(e)
    grouped: dict[str, Any] = {}
    for kind, errs in sorted(by_type.items()):
        entry = {"count": len(errs), "first": errs[0], "worst": max(errs, key=badness), "last": errs[-1]}
        if kind == "wrong-total":
            entry["lowest"] = min(errs, key=lambda e: e["total"])
            entry["highest"] = max(errs, key=lambda e: e["total"])
        grouped[kind] = entry
    return grouped


@dataclass(frozen=True)
class _Expect:
    accounts: frozenset[Any]
    total: int | float
    negative_ok: bool


def _check_read(expect: _Expect, op: Op) -> dict[str, Any] | None:
    """The first error a read shows, in Jepsen's order, or None."""
    value: Mapping[Any, Any] = op.value
    unexpected = [k for k in value if k not in expect.accounts]
    if unexpected:
        return {"type": "unexpected-key", "unexpected": unexpected, "op": op.to_dict()}
    nils = {k: v for k, v in value.items() if v is None}
    if nils:
        return {"type": "nil-balance", "nils": nils, "op": op.to_dict()}
    total = sum(value.values())
    if total != expect.total:
        return {"type": "wrong-total", "total": total, "op": op.to_dict()}
    negative = [v for v in value.values() if v < 0]
    if negative and not expect.negative_ok:
        return {"type": "negative-value", "negative": negative, "op": op.to_dict()}
    return None


def _badness(expected_total: int | float) -> Callable[[dict[str, Any]], float]:
    def badness(e: dict[str, Any]) -> float:
        kind = e["type"]
        if kind == "unexpected-key":
            return len(e["unexpected"])
        if kind == "nil-balance":
            return len(e["nils"])
        if kind == "wrong-total":
            diff = abs(e["total"] - expected_total)
            return diff / abs(expected_total) if expected_total else diff
        if kind == "negative-value":
            return -sum(e["negative"])
        return abs(e.get("off-by", 0))

    return badness


def _is_read(p: Pair) -> bool:
    return p.f in READ_FS and p.type == "ok" and isinstance(p.value, Mapping)


def _final_read(reads: list[Pair]) -> Pair | None:
    finals = [p for p in reads if p.f == "final-read"]
    return (finals or reads or [None])[-1]


def _transfer_id(p: Pair) -> Any:
    for op in (p.complete, p.invoke):
        if op is not None and isinstance(op.value, Mapping) and "id" in op.value:
            return op.value["id"]
    return None


def _reconcile(reads: list[Pair], transfers: list[Pair], final: Pair) -> tuple[list[dict[str, Any]], str | None]:
    """Per-account balance mismatches at the final read, or why they cannot be computed."""
    first_transfer = min((p.invoke.index for p in transfers), default=final.complete.index + 1)
    assert final.complete is not None
    baseline = next((p for p in reads if p.complete is not None and p.complete.index < first_transfer), None)
    if baseline is None:
        return [], "no ok read completed before the first transfer was invoked (no baseline balances)"
    if any(v is None for v in baseline.value.values()) or any(v is None for v in final.value.values()):
        return [], "a nil balance in the baseline or the final read"
    expected = dict(baseline.value)
    low, high = dict(expected), dict(expected)
    for p in transfers:
        if p.type == "fail" or p.invoke.index > final.complete.index:
            continue  # surely not applied, or invoked after the final read returned
        surely = p.type == "ok" and p.complete is not None and p.complete.index < final.invoke.index
        v = p.invoke.value
        for account, delta in ((v["from"], -v["amount"]), (v["to"], v["amount"])):
            if surely:
                for bound in (expected, low, high):
                    bound[account] = bound.get(account, 0) + delta
            else:  # info, or concurrent with the final read: may or may not show
                target = low if delta < 0 else high
                target[account] = target.get(account, 0) + delta
    mismatches = []
    for account in sorted(set(expected) | set(final.value), key=repr):
        seen = final.value.get(account, 0)
        lo, hi = low.get(account, 0), high.get(account, 0)
        if not lo <= seen <= hi:
            mismatches.append({"type": "balance-mismatch", "account": account, "balance": seen,
                               "expected": expected.get(account, 0), "expected-range": [lo, hi],
                               "off-by": seen - (lo if seen < lo else hi), "op": final.complete.to_dict()})
    return mismatches, None


def _money(reads: list[Pair], transfers: list[Pair], expect: _Expect) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    final = _final_read(reads)
    assert final is not None and final.complete is not None
    balances = [v for v in final.value.values() if v is not None]
    delta = sum(balances) - expect.total
    mismatches, why_not = _reconcile(reads, transfers, final)
    acked = [p for p in transfers if p.type == "ok"]
    view: dict[str, Any] = {
        "final-read-index": final.complete.index,
        "expected-total": expect.total,
        "final-total": sum(balances),
        "appeared": max(delta, 0),
        "vanished": max(-delta, 0),
        "acknowledged-transfers": len(acked),
        "indeterminate-transfers": sum(1 for p in transfers if p.type == "info"),
        "balance-mismatches": len(mismatches),
    }
    if why_not:
        view["reconciliation"] = f"cannot reconcile accounts: {why_not}"
    applied = final.complete.extra.get("transfer-ids")
    ids = [(_transfer_id(p), p) for p in acked]
    if applied is None or any(i is None for i, _ in ids):
        view["unreflected-transfers"] = None
        view["unreflected-cause"] = ("cannot tell which acknowledged transfers are missing: transfers need an "
                                     "`id` and the final read op a `transfer-ids` list")
    else:
        held = set(applied)
        view["unreflected-transfers"] = [{"id": i, "op": p.complete.to_dict()} for i, p in ids if i not in held]
    return view, mismatches


@register_checker("bank", functions=frozenset({"read", "final-read", "transfer"}),
                  summary="balances always sum to the total and stay non-negative; money view")
def check_bank(history: History, options: CheckOptions) -> Result:
    """Jepsen's bank checker over ok reads, plus money appeared/vanished and per-account reconciliation."""
    pairs = history.pairs()
    reads = [p for p in pairs if _is_read(p)]
    transfers = [p for p in pairs if p.f == "transfer" and isinstance(p.invoke.value, Mapping)]
    if not reads:
        return unknown("no ok read of the balances: nothing to check", **{"read-count": 0})
    accounts = frozenset(options.accounts) if options.accounts is not None else frozenset(reads[0].value)
    total = options.total_amount
    if total is None:
        complete = next((p for p in reads if all(v is not None for v in p.value.values())), None)
        if complete is None:
            return unknown("cannot infer the total: every ok read has a nil balance (pass --total-amount)",
                           **{"read-count": len(reads)})
        total = sum(complete.value.values())
    expect = _Expect(accounts, total, options.allow_negative_balances)
    errors = [e for p in reads if p.complete is not None and (e := _check_read(expect, p.complete))]
    money, mismatches = _money(reads, transfers, expect)
    errors = sorted(errors + mismatches, key=lambda e: e["op"]["index"])  # history order, as Jepsen's
    details: dict[str, Any] = {
        "read-count": len(reads),
        "error-count": len(errors),
        "first-error": errors[0] if errors else None,
        "errors": group_errors(errors, _badness(total)),
        "accounts": sorted(accounts, key=repr),
        "total-amount": total,
        "money": money,
    }
    if options.max_transfer is not None:
        details["transfers-over-max"] = sum(
            1 for p in transfers if not 0 < p.invoke.value.get("amount", 0) <= options.max_transfer)
    return Result(not errors, details)
