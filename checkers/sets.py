"""Jepsen's ``set`` and ``set-full`` checkers: what happened to every element a client added.

Clients ``add`` single elements and ``read`` the whole set::

    {:type :invoke :process 0 :f :add :value 3}
    {:type :ok     :process 0 :f :add :value 3}      ; acknowledged
    {:type :invoke :process 1 :f :read}
    {:type :ok     :process 1 :f :read :value [1 3]}

``set`` looks at the final ok reads only: an acknowledged element missing from one is *lost*; an
element read but never added is *unexpected*; one whose add was indeterminate (info) but which was
read is *recovered*. The final reads are the runner's (marked ``final``) and the ok reads invoked
after every add and every one of those ended, the latest one per node (ops name their node in
``node``; a read naming none counts when it is the last ok read); with none, the last ok read
(Jepsen's rule). So a history with a final read from each node checks each node: after a split brain
each node's read misses what the others acknowledged (*lost*, per node in ``lost-by-node``), and
final reads of different nodes that differ are *divergent*, which is invalid: once writes have
stopped, one set cannot hold two contents. Elements of indeterminate (info) adds do not count
towards divergence: such an add may still take effect between two final reads.

``set-full`` follows every element through every read: *stable* (from some time on, every read saw
it), *lost* (known to exist, then no later read saw it), *never-read*, and *stale* (stable, but some
read that began after it was known missed it). Lost acknowledged elements are chaoscert's data-loss
(RPO) measure. Elements are compared as values: ``[0 1]`` is one element.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from checkers.history import FINAL, History, Op, Pair
from checkers.quantiles import quantiles
from checkers.registry import CheckOptions, register_checker
from checkers.result import UNKNOWN, Result, unknown
from checkers.shapes import ShapeError

__all__ = ["ElementOutcome", "check_set", "check_set_full", "final_reads", "freeze", "set_full_elements"]

NS_PER_MS = 1_000_000


def freeze(value: Any) -> Any:
    """A hashable version of an element: lists become tuples, maps sorted item tuples."""
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    if isinstance(value, Mapping):
        return tuple(sorted(((freeze(k), freeze(v)) for k, v in value.items()), key=repr))
    return value


def _sorted(elements: Iterable[Any]) -> list[Any]:
    try:
        return sorted(elements)
    except TypeError:
        return sorted(elements, key=repr)


def final_reads(history: History) -> list[Pair]:
    """The runner's final reads (marked ``final``), the latest per node; and, later than every add and
    every one of those, the latest ok read per node, where a read that names no node counts when it is
    the last ok read of all or names the only node there is (else it is a client's last read beside the
    per-node final reads); the last ok read if there is no such read (Jepsen's rule)."""
    pairs = history.pairs()
    reads = [p for p in pairs if p.f == "read" and p.type == "ok"]
    marked = [p for p in reads if p.invoke.extra.get(FINAL) is True]
    ends = [p.complete.index if p.complete else p.invoke.index for p in pairs if p.f == "add"]
    last = max([*ends, *(p.complete.index for p in marked if p.complete)], default=-1)
    chosen = {_node(p): p for p in marked}
    latest: dict[Any, Pair] = {}
    for p in reads:
        if p.invoke.index > last:
            latest[_node(p)] = p
    for node, p in latest.items():
        if node is not None or p is reads[-1] or len(latest) == 1:
            chosen[node] = p
    return list(chosen.values()) or reads[-1:]


def _node(p: Pair) -> Any:
    return p.invoke.node if p.invoke.node is not None else p.complete.node if p.complete else None


@register_checker("set", functions=frozenset({"add", "read"}),
                  summary="every acknowledged add is in each node's final read; nothing unexpected")
def check_set(history: History, options: CheckOptions) -> Result:
    """Attempted, acknowledged, lost, recovered and unexpected elements at the final reads; lost per
    node and divergence when several nodes were read."""
    adds = [p for p in history.pairs() if p.f == "add"]
    attempts = {freeze(p.invoke.value) for p in adds}
    acknowledged = {freeze(p.invoke.value) for p in adds if p.type == "ok"}
    finals = final_reads(history)
    nil = [p for p in finals if p.value is None]  # not an empty set: Jepsen says "never read"
    finals = [p for p in finals if p.value is not None]
    said_nil = f"a final read (op {nil[0].complete.index}) returned nil: it says nothing of the set" if nil else ""
    if not finals:
        return unknown(said_nil or "the set was never read", **{"attempt-count": len(attempts)})
    seen = [(_node(p), {freeze(v) for v in p.value}) for p in finals]
    union = set().union(*(elements for _, elements in seen))
    ok, unexpected = union & attempts, union - attempts
    lost = set().union(*(acknowledged - elements for _, elements in seen))
    acked: dict[Any, int] = {}  # element -> where its first acknowledgement is
    for p in adds:
        if p.type == "ok":
            acked.setdefault(freeze(p.invoke.value), p.complete.index)
    unseen = {e for e in lost if all(acked[e] > p.invoke.index  # no read that lacks it began after it was acknowledged
                                     for p, (_, elements) in zip(finals, seen, strict=True) if e not in elements)}
    recovered = ok - acknowledged
    details: dict[str, Any] = {
        "attempt-count": len(attempts),
        "acknowledged-count": len(acknowledged),
        "ok-count": len(ok),
        "lost-count": len(lost),
        "never-read-acknowledged-count": len(unseen),  # lost as Jepsen counts them, but acknowledged after
        "recovered-count": len(recovered),
        "unexpected-count": len(unexpected),
        "lost": _sorted(lost),
        "unexpected": _sorted(unexpected),
        "recovered": _sorted(recovered),
    }
    divergent = False
    if len(seen) > 1:
        indeterminate = {freeze(p.invoke.value) for p in adds if p.type == "info"}
        differ = union - set.intersection(*(elements for _, elements in seen)) - indeterminate
        divergent = bool(differ)
        details.update({
            "final-reads": [{"node": node, "index": p.complete.index if p.complete else p.invoke.index,
                             "count": len(elements)} for p, (node, elements) in zip(finals, seen, strict=True)],
            "lost-by-node": {str(node): _sorted(acknowledged - elements) for node, elements in seen},
            "divergent": divergent,
            "divergent-count": len(differ),
            "divergent-elements": _sorted(differ),
        })
    if nil and not (lost or unexpected or divergent):
        return Result(UNKNOWN, details, said_nil)
    return Result(not lost and not unexpected and not divergent, details)


@dataclass(frozen=True)
class ElementOutcome:
    """One element's fate under periodic reads. Times are ns; latencies None unless that outcome."""

    element: Any
    outcome: str  # stable | lost | never-read
    known: Op | None  # the ok add, or the first read completion that saw it, whichever came first
    last_present: Op | None  # invocation of the latest read that saw it
    last_absent: Op | None  # invocation of the latest read that missed it
    stable_latency_ns: int | None
    lost_latency_ns: int | None


@dataclass
class _Element:
    element: Any
    known: Op | None = None
    last_present: Op | None = None
    last_absent: Op | None = None

    def outcome(self) -> ElementOutcome:
        present = self.last_present.index if self.last_present else -1
        absent = self.last_absent.index if self.last_absent else -1
        stable = self.last_present is not None and absent < present
        lost = (self.known is not None and self.last_absent is not None and present < absent
                and self.known.index < absent)
        known_time = self.known.time if self.known else 0
        stable_ns = lost_ns = None
        if stable:
            stable_ns = max(0, (self.last_absent.time + 1 if self.last_absent else 0) - known_time)
        if lost:
            lost_ns = max(0, (self.last_present.time + 1 if self.last_present else 0) - known_time)
        name = "stable" if stable else "lost" if lost else "never-read"
        return ElementOutcome(self.element, name, self.known, self.last_present, self.last_absent, stable_ns, lost_ns)


def set_full_elements(history: History) -> tuple[list[ElementOutcome], dict[Any, int]]:
    """Every added element's outcome, and elements some read returned more than once (max multiplicity)."""
    invocation_of = {id(p.complete): p.invoke for p in history.pairs() if p.complete is not None}
    elements: dict[Any, _Element] = {}
    dups: dict[Any, int] = {}
    for op in history.client_ops():
        if op.f == "add":
            e = freeze(op.value)
            if op.type == "invoke":
                elements[e] = _Element(e)
            elif op.type == "ok" and e in elements and elements[e].known is None:
                elements[e].known = op
        elif op.f == "read" and op.type == "ok":
            inv = invocation_of.get(id(op))
            if inv is None:  # a read with no process nor invocation: only in a history read with --lenient
                raise ShapeError(op, "process", "a read with no invocation (ops without a process pair only one "
                                 "after another), so when it began is unknown")
            counts: dict[Any, int] = {}
            for v in op.value or ():
                counts[freeze(v)] = counts.get(freeze(v), 0) + 1
            for v, n in counts.items():
                if n > 1:
                    dups[v] = max(n, dups.get(v, 0))
            for e, state in elements.items():
                if e in counts:
                    state.known = state.known or op
                    if state.last_present is None or state.last_present.index < inv.index:
                        state.last_present = inv
                elif state.last_absent is None or state.last_absent.index < inv.index:
                    state.last_absent = inv
    return [elements[e].outcome() for e in _sorted(elements)], dups


@register_checker("set-full", functions=frozenset({"add", "read"}),
                  summary="periodic set reads: stable, lost, never-read, stale, duplicated")
def check_set_full(history: History, options: CheckOptions) -> Result:
    """Jepsen's set-full: lost or duplicated elements are invalid; no stable element is unknown."""
    outcomes, dups = set_full_elements(history)
    by: dict[str, list[ElementOutcome]] = {"stable": [], "lost": [], "never-read": []}
    for o in outcomes:
        by[o.outcome].append(o)
    stale = [o for o in by["stable"] if o.stable_latency_ns]
    worst_stale = sorted(stale, key=lambda o: o.stable_latency_ns or 0, reverse=True)[:8]

    def ms(ns: int | None) -> int | None:
        return None if ns is None else ns // NS_PER_MS

    details: dict[str, Any] = {
        "attempt-count": len(outcomes),
        "known-count": sum(1 for o in outcomes if o.known is not None),  # acknowledged or seen by a read
        "stable-count": len(by["stable"]),
        "lost-count": len(by["lost"]),
        "lost": [o.element for o in by["lost"]],
        "never-read-count": len(by["never-read"]),
        "never-read-acknowledged-count": sum(1 for o in by["never-read"] if o.known is not None),
        "never-read": [o.element for o in by["never-read"]],
        "stale-count": len(stale),
        "stale": [o.element for o in stale],
        "worst-stale": [{"element": o.element, "stable-latency": ms(o.stable_latency_ns),
                         "known": o.known.to_dict() if o.known else None,
                         "last-absent": o.last_absent.to_dict() if o.last_absent else None} for o in worst_stale],
        "duplicated-count": len(dups),
        "duplicated": dict(sorted(dups.items(), key=lambda kv: repr(kv[0]))),
    }
    for key, attr in (("stable-latencies", "stable_latency_ns"), ("lost-latencies", "lost_latency_ns")):
        q = quantiles(ms(getattr(o, attr)) for o in outcomes if getattr(o, attr) is not None)
        if q is not None:
            details[key] = q
    if by["lost"] or dups:
        return Result(False, details)
    if not by["stable"]:
        return Result(UNKNOWN, details, "no element was ever stably read (nothing added, or never read)")
    return Result(True, details)
