"""SLA figures from any history with fault ops: availability, downtime, recovery time, latency, staleness.

Faults come from nemesis ops in Jepsen's style: a start op and a stop op, each an invocation and an
``info`` completion from a non-client process, the value naming the affected nodes::

    {:process :nemesis :type :info :f :start-partition :value nil}
    {:process :nemesis :type :info :f :start-partition :value {"n1" ["n2" "n3"]}}
    ...
    {:process :nemesis :type :info :f :stop-partition :value nil}
    {:process :nemesis :type :info :f :stop-partition :value :network-healed}

A fault is in effect from the start op's completion (when the nemesis says it is done) to the stop
op's completion (the end of the history if never stopped). Pairs: ``start-X``/``stop-X`` for any X,
``kill``/``start``, ``pause``/``resume``, ``bump-clock``/``reset-clock``, ``strobe-clock``/``reset-clock``,
``failover``/``rejoin``.
A stop ends every open fault of its kind.

Definitions (times in ns, as in histories):

- *availability*: ok client operations / attempted ones (an operation that never completed counts as
  attempted and not ok). An operation belongs to the time of its completion (its invocation if none),
  for the per-second series and for "during faults".
- *downtime window*: the time between two consecutive ok completions when some operation invoked in
  between did not end ok; the window runs from the earlier ok completion to the later one (to the end
  of the history when none came). Windows shorter than ``min_downtime_ns`` are left out.
- *recovery time* (RTO) of a fault: from its start to the first ok completion of an operation invoked
  at or after the start; *heal to recovery*: from the stop to that completion (negative when the
  system recovered while the fault was still in effect, e.g. by failing over).
- *latency*: of ok operations; *during faults* means invoked while a fault was in effect.
- *staleness*: for set-full style histories, how long after an element was known to exist (add
  acknowledged or first seen) every read began to see it (see :mod:`checkers.sets`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from checkers.history import History, Pair
from checkers.quantiles import quantiles
from checkers.sets import set_full_elements

__all__ = ["LATENCY_POINTS", "Downtime", "Fault", "Proportion", "Recovery", "SlaFigures", "faults_of", "sla_figures"]

LATENCY_POINTS = (0.5, 0.95, 0.99, 0.999, 1)
NS_PER_S = 1_000_000_000
_STOPS = {"start": ("kill",), "resume": ("pause",), "reset-clock": ("bump-clock", "strobe-clock"),
          "rejoin": ("failover",)}
_STARTS = ("kill", "pause", "bump-clock", "strobe-clock", "failover")


@dataclass(frozen=True)
class Fault:
    """One fault period. ``end_ns`` is None when the history ends before the fault is stopped."""

    kind: str
    start_ns: int
    end_ns: int | None
    nodes: Any
    start_index: int
    stop_index: int | None

    def active_at(self, t: int) -> bool:
        return self.start_ns <= t and (self.end_ns is None or t < self.end_ns)

    def overlaps(self, start: int, end: int) -> bool:
        return self.start_ns < end and (self.end_ns is None or start < self.end_ns)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "start-ns": self.start_ns, "end-ns": self.end_ns, "nodes": self.nodes,
                "start-index": self.start_index, "stop-index": self.stop_index}


@dataclass(frozen=True)
class Proportion:
    """``ok`` successes out of ``n`` trials."""

    ok: int
    n: int

    @property
    def ratio(self) -> float | None:
        return self.ok / self.n if self.n else None

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "attempted": self.n, "ratio": self.ratio}


@dataclass(frozen=True)
class Downtime:
    """Clients tried and nothing succeeded from ``start_ns`` to ``end_ns``."""

    start_ns: int
    end_ns: int
    recovered: bool
    failed_indices: tuple[int, ...]
    faults: tuple[str, ...]

    @property
    def length_ns(self) -> int:
        return self.end_ns - self.start_ns

    def to_json(self) -> dict[str, Any]:
        return {"start-ns": self.start_ns, "end-ns": self.end_ns, "length-ns": self.length_ns,
                "recovered": self.recovered, "failed-ops": len(self.failed_indices),
                "first-failed-index": self.failed_indices[0], "faults": list(self.faults)}


@dataclass(frozen=True)
class Recovery:
    """How long clients took to get an ok answer once a fault began, and once it was healed."""

    fault: Fault
    recovered_ns: int | None
    first_ok_index: int | None

    @property
    def rto_ns(self) -> int | None:
        return None if self.recovered_ns is None else self.recovered_ns - self.fault.start_ns

    @property
    def heal_to_recovery_ns(self) -> int | None:
        if self.recovered_ns is None or self.fault.end_ns is None:
            return None
        return self.recovered_ns - self.fault.end_ns

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault.to_json(), "rto-ns": self.rto_ns, "heal-to-recovery-ns": self.heal_to_recovery_ns,
                "first-ok-index": self.first_ok_index}


@dataclass(frozen=True)
class SlaFigures:
    """Every figure the SLA claims are judged on."""

    start_ns: int
    end_ns: int
    availability: Proportion
    by_f: dict[str, Proportion]
    by_node: dict[str, Proportion]
    during_faults: Proportion
    outside_faults: Proportion
    per_second: list[tuple[int, int, int]]  # (second, ok, attempted)
    faults: list[Fault]
    downtimes: list[Downtime]
    recoveries: list[Recovery]
    latency_ns: dict[float, int] | None
    latency_during_faults_ns: dict[float, int] | None
    ok_latencies_ns: tuple[int, ...] = field(repr=False)
    staleness_ns: dict[float, int] | None = None
    staleness_samples_ns: tuple[int, ...] = field(default=(), repr=False)
    failed_indices: tuple[int, ...] = field(default=(), repr=False)

    @property
    def worst_rto_ns(self) -> int | None:
        done = [r.rto_ns for r in self.recoveries if r.rto_ns is not None]
        return max(done) if done else None

    def to_json(self) -> dict[str, Any]:
        rtos = [r.rto_ns for r in self.recoveries if r.rto_ns is not None]
        return {
            "start-ns": self.start_ns, "end-ns": self.end_ns,
            "availability": self.availability.to_json(),
            "availability-by-f": {k: v.to_json() for k, v in self.by_f.items()},
            "availability-by-node": {k: v.to_json() for k, v in self.by_node.items()},
            "availability-during-faults": self.during_faults.to_json(),
            "availability-outside-faults": self.outside_faults.to_json(),
            "per-second": [{"second": s, "ok": ok, "attempted": n, "ratio": ok / n} for s, ok, n in self.per_second],
            "throughput": [{"second": s, "ok-per-s": ok} for s, ok, _ in self.per_second],
            "faults": [f.to_json() for f in self.faults],
            "downtimes": [d.to_json() for d in self.downtimes],
            "recoveries": [r.to_json() for r in self.recoveries],
            "rto-worst-ns": max(rtos) if rtos else None,
            "rto-p99-ns": (quantiles(rtos, (0.99,)) or {}).get(0.99),
            "unrecovered-faults": sum(1 for r in self.recoveries if r.rto_ns is None),
            "latency-ns": self.latency_ns,
            "latency-during-faults-ns": self.latency_during_faults_ns,
            "staleness-ns": self.staleness_ns,
        }


def _start_kind(f: str) -> str | None:
    """The start op's f that a stop op's f ends, else None."""
    if f.startswith("stop-"):
        return "start-" + f[len("stop-"):]
    return None


def faults_of(history: History) -> list[Fault]:
    """Fault periods from the nemesis ops (start completion to stop completion)."""
    open_: dict[str, list[tuple[Pair, int]]] = {}
    faults: list[Fault] = []
    for p in history.pairs(client=False):
        f = str(p.f)
        at = p.complete.time if p.complete is not None else p.invoke.time
        ends = _STOPS.get(f) or ((_start_kind(f),) if _start_kind(f) else ())
        if ends:
            for kind in ends:
                for start, t in open_.pop(kind, []):
                    nodes = start.complete.value if start.complete is not None else start.invoke.value
                    faults.append(Fault(kind, t, at, nodes, start.invoke.index,
                                        (p.complete or p.invoke).index))
        elif f.startswith("start-") or f in _STARTS:
            open_.setdefault(f, []).append((p, at))
    for kind, starts in open_.items():
        for start, t in starts:
            nodes = start.complete.value if start.complete is not None else start.invoke.value
            faults.append(Fault(kind, t, None, nodes, start.invoke.index, None))
    return sorted(faults, key=lambda x: (x.start_ns, x.start_index))


def _proportion(pairs: list[Pair]) -> Proportion:
    return Proportion(sum(1 for p in pairs if p.type == "ok"), len(pairs))


def _when(p: Pair) -> int:
    return p.complete.time if p.complete is not None else p.invoke.time


def _downtimes(pairs: list[Pair], faults: list[Fault], end_ns: int, min_ns: int) -> list[Downtime]:
    oks = sorted(_when(p) for p in pairs if p.type == "ok")
    failed = sorted((p.invoke.time, p.invoke.index) for p in pairs if p.type != "ok")
    windows: dict[int, list[int]] = {}  # position of the ok that ends the window -> failed op indices
    for t, index in failed:
        windows.setdefault(bisect_left(oks, t), []).append(index)
    found = []
    for pos, indices in sorted(windows.items()):
        start = oks[pos - 1] if pos > 0 else min(t for t, i in failed if i in indices)
        recovered = pos < len(oks)
        stop = oks[pos] if recovered else end_ns
        if stop - start >= min_ns:
            kinds = tuple(sorted({f.kind for f in faults if f.overlaps(start, stop)}))
            found.append(Downtime(start, stop, recovered, tuple(indices), kinds))
    return found


def _recoveries(pairs: list[Pair], faults: list[Fault]) -> list[Recovery]:
    oks = sorted((p.complete.time, p.invoke.time, p.invoke.index) for p in pairs
                 if p.type == "ok" and p.complete is not None)
    out = []
    for fault in faults:
        first = next(((t, i) for t, inv, i in oks if inv >= fault.start_ns), None)
        out.append(Recovery(fault, first[0] if first else None, first[1] if first else None))
    return out


def _by(pairs: list[Pair], key: Any) -> dict[str, Proportion]:
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        k = key(p)
        if k is not None:
            groups.setdefault(str(k), []).append(p)
    return {k: _proportion(v) for k, v in sorted(groups.items())}


def _node(p: Pair) -> Any:
    return p.invoke.node if p.invoke.node is not None else (p.complete.node if p.complete is not None else None)


def sla_figures(history: History, *, min_downtime_ns: int = 0) -> SlaFigures:
    """All SLA figures of a history."""
    pairs = history.pairs()
    faults = faults_of(history)
    times = [op.time for op in history.ops] or [0]
    start, end = min(times), max(times)
    during = [p for p in pairs if any(f.active_at(_when(p)) for f in faults)]
    outside = [p for p in pairs if not any(f.active_at(_when(p)) for f in faults)]
    seconds: dict[int, Counter[str]] = {}
    for p in pairs:
        seconds.setdefault((_when(p) - start) // NS_PER_S, Counter())[p.type == "ok"] += 1
    ok_pairs = [p for p in pairs if p.type == "ok" and p.latency is not None]
    ok_lat = tuple(p.latency for p in ok_pairs if p.latency is not None)
    fault_lat = [p.latency for p in ok_pairs if p.latency is not None
                 and any(f.active_at(p.invoke.time) for f in faults)]
    stale = _staleness(history)
    return SlaFigures(
        start_ns=start, end_ns=end,
        availability=_proportion(pairs),
        by_f=_by(pairs, lambda p: p.f),
        by_node=_by(pairs, _node),
        during_faults=_proportion(during),
        outside_faults=_proportion(outside),
        per_second=[(s, c[True], c[True] + c[False]) for s, c in sorted(seconds.items())],
        faults=faults,
        downtimes=_downtimes(pairs, faults, end, min_downtime_ns),
        recoveries=_recoveries(pairs, faults),
        latency_ns=quantiles(ok_lat, LATENCY_POINTS),
        latency_during_faults_ns=quantiles(fault_lat, LATENCY_POINTS),
        ok_latencies_ns=ok_lat,
        staleness_ns=quantiles(stale, LATENCY_POINTS),
        staleness_samples_ns=tuple(stale),
        failed_indices=tuple(p.invoke.index for p in pairs if p.type != "ok"),
    )


def _staleness(history: History) -> list[int]:
    """Stable latencies of set-full style elements (adds of single elements, reads of collections)."""
    if not any(op.f == "read" and op.type == "ok" and isinstance(op.value, list) for op in history.ops):
        return []
    outcomes, _ = set_full_elements(history)
    return [o.stable_latency_ns for o in outcomes if o.stable_latency_ns is not None]

