"""SLA figures from any history with fault ops, from the clients' view: availability over time,
downtime, recovery time per fault, latency, staleness.

Faults come from nemesis ops in Jepsen's style: a start op and a stop op, each an invocation and an
``info`` completion from a non-client process, the value naming the affected nodes::

    {:process :nemesis :type :info :f :start-partition :value nil}
    {:process :nemesis :type :info :f :start-partition :value {"n1" ["n2" "n3"]}}
    ...
    {:process :nemesis :type :info :f :stop-partition :value nil}
    {:process :nemesis :type :info :f :stop-partition :value :network-healed}

A fault is in effect from the start op's invocation (it may take effect from then on) to the stop
op's completion (the end of the history if never stopped). Pairs: ``start-X``/``stop-X`` for any
X, ``kill``/``start``, ``pause``/``resume``, ``bump-clock``/``reset-clock``,
``strobe-clock``/``reset-clock``, ``failover``/``rejoin``. A stop ends every open fault of its kind;
a ``start`` or ``resume`` that names nodes in a list, as the kill or pause did, heals those nodes, and
a fault ends with its last node.
A start that completed ``fail``, or that named no node (``[]``, ``{}``), was *not injected*: it is
reported, and is no fault for any figure.
One whose completion carries an ``error`` (chaoscert records a nemesis that raised as ``info`` with
``error "indeterminate: ..."``), or that never completed, is *uncertain*: it may have taken effect,
so it is a fault for every figure, but not one that surely happened. A stop whose completion
carries an ``error`` is a *heal error* of the faults it ends.

Answers. A client request is *answered* when it completed ``ok``, or ``fail`` with a definite answer
from the server (the client marks such completions ``answered: true``: an application refusal such
as insufficient funds, a failed compare, a serialization or deadlock abort). Anything else is
*unanswered*: connection refused or lost, timeout, no primary, read-only, unknown errors, and
requests that never completed. A *client* is a thread of the test: process ``p`` is client
``p mod concurrency`` (Jepsen gives a crashed process's successor the id ``p + concurrency``).

Definitions (times in ns, as in histories):

- *client outage*: from the invocation of a client's first unanswered request after an answer to
  the completion of its next answered request (when none came: to the end of its last request);
- *time-based availability*: 1 - (outage time summed over clients) / (time observed, summed over
  clients: from each client's first invocation to the end of its last request). ``availability`` (ok /
  attempted requests) and ``aborts`` (answered fails / attempted) stay as request counts;
- *unseen time*: time from the first fault's start on in which a client was blind: idle (waiting to
  invoke) or stalled (waiting on a request answered in the end) for longer than is usual for it
  (``BLIND`` times its median wait, and no shorter than its longest wait of that kind before the
  first fault; a stall per f): the service may have been down for it then without an outage
  showing. A fault's RTO is at most until every client blind since it began with no answer since
  learnt something again. An outage's least leaves out the gaps in which the client was idle
  between its unanswered requests;
- *downtime window*: a maximal period in which some client was in an outage; the union of the
  client outages (windows shorter than ``min_downtime_ns`` are left out);
- *recovery* of an injected fault (:class:`FaultRecovery`): the *affected* clients are those with an
  unanswered request ending (or pending) after the fault began and invoked before it was healed;
  the RTO is from the fault's start until every affected client is answered again (None: some
  client never was); at most that, or the slowest answer while the fault was in effect, or the
  time until every client blind in it learnt something again, if longer;
  at least that less the injection's length (the fault may have taken effect as late as its end);
  also the time to the first affected client's answer, and the time from the heal;
- *latency*: of every client request: answered and failed ones at their latency, unanswered ones
  that timed out (``info``, an error naming a timeout: ``timeout``, ``timed-out``; never completed)
  *censored*: at least their observed latency;
- *staleness*: for set-full style histories, how long after an element was known to exist (add
  acknowledged or first seen) every read began to see it (see :mod:`checkers.sets`): at least until
  its last absent read, at most until the first read invoked after that completed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from statistics import median
from typing import Any

from checkers.history import ANSWERED, FINAL, History, Pair
from checkers.quantiles import quantiles
from checkers.sets import set_full_elements

__all__ = ["ANSWERED", "LATENCY_POINTS", "ClientAvailability", "ClientOutage", "Downtime", "Fault", "FaultRecovery",
           "Latency", "Proportion", "SlaFigures", "answered", "client_outages", "faults_of", "sla_figures"]

LATENCY_POINTS = (0.5, 0.95, 0.99, 0.999, 1)
NS_PER_S = 1_000_000_000
_STOPS = {"start": ("kill",), "resume": ("pause",), "reset-clock": ("bump-clock", "strobe-clock"),
          "rejoin": ("failover",)}
_STARTS = ("kill", "pause", "bump-clock", "strobe-clock", "failover")
_HELD_NODE = ("kill", "pause")  # faults whose length the tool chooses: it restarts or resumes the node


@dataclass(frozen=True)
class Fault:
    """One fault period. ``end_ns`` is None when the history ends before the fault is stopped;
    ``injection_error`` is set when the start did not succeed: it failed (``:fail``, no fault happened),
    or its outcome is unknown (``uncertain``: an error on another completion, or none: it may have
    taken effect, and counts as a fault that may not have happened)."""

    kind: str
    start_ns: int
    end_ns: int | None
    nodes: Any
    start_index: int
    stop_index: int | None
    injection_error: str | None = None
    heal_error: str | None = None
    heal_begin_ns: int | None = None  # the stop op's invocation: when the tool began to heal
    injected_ns: int | None = None  # the start op's completion: the fault took effect by then
    uncertain: bool = False

    @property
    def injected(self) -> bool:
        """Whether the fault may have happened (surely, unless ``uncertain``)."""
        return self.injection_error is None or self.uncertain

    @property
    def injection_ns(self) -> int:
        """How long the injection took: the fault took effect somewhere in it."""
        return 0 if self.injected_ns is None else max(self.injected_ns - self.start_ns, 0)

    def active_at(self, t: int) -> bool:
        return self.start_ns <= t and (self.end_ns is None or t < self.end_ns)

    def overlaps(self, start: int, end: int) -> bool:
        return self.start_ns < end and (self.end_ns is None or start < self.end_ns)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "start-ns": self.start_ns, "end-ns": self.end_ns, "nodes": self.nodes,
                "start-index": self.start_index, "stop-index": self.stop_index, "injected": self.injected,
                "uncertain": self.uncertain,
                "injection-error": self.injection_error, "heal-error": self.heal_error,
                "heal-begin-ns": self.heal_begin_ns, "injection-ns": self.injection_ns}


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
class ClientOutage:
    """One client waiting without an answer from ``start_ns`` (its first unanswered request's
    invocation) to ``end_ns`` (the next answer; when ``recovered`` is False, the end of its last
    request: the client asked no more, so nothing is known after it).
    ``last_unanswered_ns``: when its last unanswered request ended (or the history did): the service
    may have been back from then on. ``earliest_ns``: the invocation of the client's last answered
    request before it (else ``start_ns``): the service answered that one at some moment after it was
    sent, and may have been down from then on. ``idle_ns``: the time between
    its unanswered requests in which the client was idle: it may have been up then."""

    client: Any
    node: Any
    start_ns: int
    end_ns: int
    recovered: bool
    last_unanswered_ns: int
    unanswered: tuple[int, ...]  # op indices of the unanswered invocations
    earliest_ns: int | None = None
    idle_ns: int = 0

    @property
    def length_ns(self) -> int:
        return self.end_ns - self.start_ns

    def least_since(self, t: int) -> int:
        """The least the outage can have lasted from ``t`` on: its unanswered requests, and the short
        gaps between them."""
        return max(self.last_unanswered_ns - max(self.start_ns, t) - self.idle_ns, 0)

    def most_since(self, t: int) -> int:
        """The most it can have lasted from ``t`` on."""
        earliest = self.start_ns if self.earliest_ns is None else min(self.earliest_ns, self.start_ns)
        return self.end_ns - max(earliest, t)


@dataclass(frozen=True)
class ClientAvailability:
    """One client's time-based availability: ``down_ns`` in outages out of ``observed_ns``.
    ``unseen_ns``: time from the first fault on in which the client was blind (idle or stalled)."""

    client: Any
    node: Any
    observed_ns: int
    down_ns: int
    requests: int
    unseen_ns: int = 0

    @property
    def ratio(self) -> float | None:
        return 1 - self.down_ns / self.observed_ns if self.observed_ns > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {"client": self.client, "node": self.node, "observed-ns": self.observed_ns, "down-ns": self.down_ns,
                "unseen-ns": self.unseen_ns, "requests": self.requests, "ratio": self.ratio}


@dataclass(frozen=True)
class Downtime:
    """Some client waited without an answer from ``start_ns`` to ``end_ns`` (a union of outages)."""

    start_ns: int
    end_ns: int
    recovered: bool
    failed_indices: tuple[int, ...]
    faults: tuple[str, ...]
    clients: tuple[Any, ...] = ()

    @property
    def length_ns(self) -> int:
        return self.end_ns - self.start_ns

    def to_json(self) -> dict[str, Any]:
        return {"start-ns": self.start_ns, "end-ns": self.end_ns, "length-ns": self.length_ns,
                "recovered": self.recovered, "failed-ops": len(self.failed_indices),
                "first-failed-index": self.failed_indices[0] if self.failed_indices else None,
                "faults": list(self.faults), "clients": list(self.clients)}


@dataclass(frozen=True)
class FaultRecovery:
    """What one injected fault did to the clients. Times are from the fault's start; None: never.

    ``observed``: some client had a request in flight while the fault was in effect (else nothing
    is known). ``all_answered_ns`` is the RTO: until every affected client was answered again."""

    fault: Fault
    observed: bool
    affected: tuple[Any, ...]
    first_answer_ns: int | None
    all_answered_ns: int | None
    client_down_ns: int
    unrecovered: tuple[Any, ...] = ()
    unrecovered_waited_ns: int | None = None  # the longest an unrecovered client was seen waiting since the start
    slowest_answer_ns: int = 0  # the longest a client waited on a request answered while the fault was in effect
    unseen_ns: int = 0  # client time blind in the fault's window, to the next fault (summed over clients)
    blind_until_ns: int = 0  # when the last client blind since the fault began learnt something again
    client_down_most_ns: int = 0  # client_down_ns with each outage from the answered request before it
    client_down_least_ns: int = 0  # client_down_ns with each outage to its last unanswered request, less idle gaps


    @property
    def rto_ns(self) -> int | None:
        """The most the RTO can be: from the injection's invocation, and at least the slowest answer in
        the fault (a request stuck through it and then answered made no outage) and the time until
        every client blind in it learnt something again (it may have been down all along)."""
        if self.all_answered_ns is None:
            return None
        return max(self.all_answered_ns, self.slowest_answer_ns, self.blind_until_ns)

    @property
    def rto_least_ns(self) -> int | None:
        """The least the RTO can be: from the injection's completion, unanswered requests only."""
        return None if self.all_answered_ns is None else max(self.all_answered_ns - self.fault.injection_ns, 0)

    @property
    def heal_to_recovery_ns(self) -> int | None:
        """From the heal to every affected client answered (negative: recovered while in effect)."""
        if self.all_answered_ns is None or self.fault.end_ns is None:
            return None
        return self.fault.start_ns + self.all_answered_ns - self.fault.end_ns

    @property
    def tool_delay_ns(self) -> int | None:
        """For a kill or pause of one node: how long the tool kept it down before it began the restart
        or resume (part of the RTO when the clients waited for the restart, none of it when the database failed
        over first)."""
        nodes = self.fault.nodes
        one = isinstance(nodes, str) or (isinstance(nodes, list | tuple) and len(nodes) == 1)
        if self.fault.kind not in _HELD_NODE or not one or self.fault.heal_begin_ns is None:
            return None
        return self.fault.heal_begin_ns - self.fault.start_ns - self.fault.injection_ns

    def to_json(self) -> dict[str, Any]:
        return {"fault": self.fault.to_json(), "observed": self.observed, "affected-clients": list(self.affected),
                "unrecovered-clients": list(self.unrecovered), "unrecovered-waited-ns": self.unrecovered_waited_ns,
                "first-answer-ns": self.first_answer_ns,
                "rto-ns": self.rto_ns, "slowest-answer-ns": self.slowest_answer_ns,
                "unseen-ns": self.unseen_ns, "blind-until-ns": self.blind_until_ns,
                "heal-to-recovery-ns": self.heal_to_recovery_ns,
                "tool-restart-delay-ns": self.tool_delay_ns, "client-down-ns": self.client_down_ns}


@dataclass(frozen=True)
class Latency:
    """One request's latency; ``censored``: it got no answer, the true latency is at least ``ns``."""

    ns: int
    censored: bool


@dataclass(frozen=True)
class SlaFigures:
    """Every figure the SLA claims are judged on."""

    start_ns: int
    end_ns: int
    availability: Proportion  # ok / attempted requests
    answered: Proportion  # answered / attempted requests
    aborts: Proportion  # answered fails (refusals, aborts) / attempted requests
    clients: list[ClientAvailability]
    by_f: dict[str, Proportion]
    by_node: dict[str, Proportion]
    during_faults: Proportion
    outside_faults: Proportion
    per_second: list[tuple[int, int, int]]  # (second, ok, attempted)
    faults: list[Fault]
    downtimes: list[Downtime]
    recoveries: list[FaultRecovery]
    latency_ns: dict[float, int] | None
    latency_during_faults_ns: dict[float, int] | None
    latencies: tuple[Latency, ...] = field(repr=False)
    request_interval_ns: int | None = None  # median time between a client's consecutive invocations
    outages: tuple[ClientOutage, ...] = field(default=(), repr=False)
    ok_reads: int = 0  # ok ops that read state (reads, transactions with a read)
    ok_writes: int = 0  # ok ops that changed it
    staleness_ns: dict[float, int] | None = None
    staleness_samples_ns: tuple[int, ...] = field(default=(), repr=False)
    staleness_most_ns: int | None = None  # the most any element's staleness can be (None: unbounded)
    read_cadence_ns: int | None = None
    timed: bool = True  # False: no op had a time, each has its position in the file (history.txt, Knossos)
    backwards: int = 0  # ops completed before they were invoked (a lenient read lets time go backwards)

    @property
    def observed_ns(self) -> int:
        return sum(c.observed_ns for c in self.clients)

    @property
    def down_ns(self) -> int:
        return sum(c.down_ns for c in self.clients)

    @property
    def unseen_ns(self) -> int:
        return sum(c.unseen_ns for c in self.clients)

    @property
    def down_least_ns(self) -> int:
        """The least the clients' outages can have lasted, summed."""
        return sum(o.least_since(o.start_ns) for o in self.outages)

    @property
    def down_most_ns(self) -> int:
        """The most they can have lasted, summed (a client's outage from its last answered request before it)."""
        return sum(o.most_since(0) for o in self.outages)

    @property
    def time_availability(self) -> float | None:
        """1 - client outage time / client time observed (None: nothing observed)."""
        return 1 - self.down_ns / self.observed_ns if self.observed_ns > 0 else None

    @property
    def injected_faults(self) -> list[Fault]:
        return [f for f in self.faults if f.injected]

    @property
    def latency_censored(self) -> int:
        return sum(1 for x in self.latencies if x.censored)

    @property
    def worst_rto_ns(self) -> int | None:
        done = [r.rto_ns for r in self.recoveries if r.rto_ns is not None]
        return max(done) if done else None

    def by_node_time(self) -> dict[str, float | None]:
        """Time-based availability of the clients talking to each node."""
        groups: dict[str, list[ClientAvailability]] = {}
        for c in self.clients:
            if c.node is not None:
                groups.setdefault(str(c.node), []).append(c)
        return {k: (1 - sum(c.down_ns for c in v) / t if (t := sum(c.observed_ns for c in v)) else None)
                for k, v in sorted(groups.items())}

    def to_json(self) -> dict[str, Any]:
        rtos = [r.rto_ns for r in self.recoveries if r.rto_ns is not None]
        lower = _lower_bounds(self.latency_ns, self.latencies)
        return {
            "start-ns": self.start_ns, "end-ns": self.end_ns,
            "availability-time": {"ratio": self.time_availability, "observed-ns": self.observed_ns,
                                  "down-ns": self.down_ns, "unseen-ns": self.unseen_ns, "clients": len(self.clients),
                                  "request-interval-ns": self.request_interval_ns},
            "availability-time-by-node": self.by_node_time(),
            "availability-by-client": [c.to_json() for c in self.clients],
            "availability": self.availability.to_json(),
            "answered": self.answered.to_json(),
            "aborts": self.aborts.to_json(),
            "availability-by-f": {k: v.to_json() for k, v in self.by_f.items()},
            "availability-by-node": {k: v.to_json() for k, v in self.by_node.items()},
            "availability-during-faults": self.during_faults.to_json(),
            "availability-outside-faults": self.outside_faults.to_json(),
            "per-second": [{"second": s, "ok": ok, "attempted": n, "ratio": ok / n} for s, ok, n in self.per_second],
            "throughput": [{"second": s, "ok-per-s": ok} for s, ok, _ in self.per_second],
            "faults": [f.to_json() for f in self.faults],
            "faults-not-injected": sum(1 for f in self.faults if not f.injected),
            "heal-errors": [{"kind": f.kind, "error": f.heal_error} for f in self.faults if f.heal_error],
            "downtimes": [d.to_json() for d in self.downtimes],
            "recoveries": [r.to_json() for r in self.recoveries],
            "rto-worst-ns": max(rtos) if rtos else None,
            "rto-p99-ns": (quantiles(rtos, (0.99,)) or {}).get(0.99),
            "unrecovered-faults": sum(1 for r in self.recoveries if r.observed and r.rto_ns is None),
            "latency-ns": self.latency_ns,
            "latency-lower-bound-points": lower,
            "latency-censored": self.latency_censored,
            "latency-during-faults-ns": self.latency_during_faults_ns,
            "staleness-ns": self.staleness_ns,
            "staleness-most-ns": self.staleness_most_ns,
            "read-cadence-ns": self.read_cadence_ns,
        }


def _lower_bounds(points: dict[float, int] | None, latencies: Iterable[Latency]) -> list[float]:
    """Quantile points whose value is only a lower bound (a censored latency at or below it)."""
    censored = [x.ns for x in latencies if x.censored]
    if not points or not censored:
        return []
    low = min(censored)
    return [q for q, v in points.items() if low <= v]


def answered(p: Pair) -> bool:
    """Ok, or a fail the server answered definitely (marked ``answered: true`` by the client)."""
    c = p.complete
    return c is not None and (c.type == "ok" or (c.type == "fail" and c.extra.get(ANSWERED) is True))


def _start_kind(f: str) -> str | None:
    """The start op's f that a stop op's f ends, else None."""
    if f.startswith("stop-"):
        return "start-" + f[len("stop-"):]
    return None


def _fault(start: Pair, at: int, end: int | None, stop: Pair | None, kind: str) -> Fault:
    c = start.complete
    nodes = c.value if c is not None else start.invoke.value
    uncertain = c is None or (c.type != "fail" and c.error is not None)
    injection_error = ("the injection never completed" if c is None
                       else str(c.error) if c.error is not None
                       else "the injection failed (:fail)" if c.type == "fail"
                       else "the injection named no node" if c.value == [] or c.value == {} else None)
    heal_error = None if stop is None or stop.complete is None or stop.complete.error is None \
        else str(stop.complete.error)
    stop_index = None if stop is None else (stop.complete or stop.invoke).index
    return Fault(kind, at, end, nodes, start.invoke.index, stop_index, injection_error, heal_error,
                 None if stop is None else stop.invoke.time, None if c is None else c.time, uncertain)


def _named(op: Pair) -> set[str] | None:
    """The nodes a nemesis op names (its completion's value, else its invocation's), when a list of them."""
    value = (op.complete or op.invoke).value
    return set(map(str, value)) if isinstance(value, list) and value else None


def faults_of(history: History) -> list[Fault]:
    """Fault periods from the nemesis ops, injected or not: from the start op's invocation (the
    fault may take effect from then on) to the stop op's completion (and until then)."""
    open_: dict[str, list[tuple[Pair, int, set[str] | None]]] = {}  # start, its time, its nodes still down
    faults: list[Fault] = []
    for p in history.pairs(client=False):
        f = str(p.f)
        ends = _STOPS.get(f) or ((_start_kind(f),) if _start_kind(f) else ())
        if ends:
            at = p.complete.time if p.complete is not None else p.invoke.time
            for kind in ends:
                faults_open = open_.pop(kind, [])
                healed = _named(p) if kind in _HELD_NODE else None  # a rejoin of the old primary ends a failover
                still = []
                for start, t, down in faults_open:
                    left = None if healed is None or down is None else down - healed
                    if left:
                        still.append((start, t, left))
                    else:
                        faults.append(_fault(start, t, at, p, kind))
                if still:
                    open_[kind] = still
        elif f.startswith("start-") or f in _STARTS:
            open_.setdefault(f, []).append((p, p.invoke.time, _named(p)))
    for kind, starts in open_.items():
        faults += [_fault(start, t, None, None, kind) for start, t, _ in starts]
    return sorted(faults, key=lambda x: (x.start_ns, x.start_index))


def _concurrency(pairs: list[Pair]) -> int | None:
    """How many client threads: the processes seen before the first crash (``info``), numbered from
    0; None when no process crashed (each process is then its own client)."""
    crashes = [p.complete.time for p in pairs if p.complete is not None and p.complete.type == "info"]
    crashes += [p.invoke.time for p in pairs if p.complete is None]
    if not crashes:
        return None
    first = min(crashes)
    before = [p.process for p in pairs if p.invoke.time <= first and isinstance(p.process, int) and p.process >= 0]
    return max(before) + 1 if before else None


def _client(process: Any, concurrency: int | None) -> Any:
    if concurrency and isinstance(process, int) and process >= 0:
        return process % concurrency
    return process


def _end(p: Pair, end_ns: int) -> int:
    return p.complete.time if p.complete is not None else end_ns


def client_outages(by_client: dict[Any, list[Pair]], end_ns: int,
                   idle_after_ns: Mapping[Any, int] | None = None) -> list[ClientOutage]:
    """Every client's outages, each client's requests in invocation order. A gap between two of its
    unanswered requests longer than ``idle_after_ns[client]`` (default: none is) is idle time."""
    found = []
    for client, pairs in by_client.items():
        wait = (idle_after_ns or {}).get(client)
        start: int | None = None
        last = idle = 0
        answer: int | None = None  # the invocation of the last answered request before the outage
        indices: list[int] = []
        node = None
        for p in pairs:
            if answered(p):
                if start is not None:
                    found.append(ClientOutage(client, node, start, _end(p, end_ns), True, last, tuple(indices), answer,
                                              idle))
                    start, indices, idle = None, [], 0
                answer = p.invoke.time
            else:
                if start is None:
                    start, node = p.invoke.time, _node(p)
                elif wait is not None and p.invoke.time - last > wait:
                    idle += p.invoke.time - last
                last = max(last, _end(p, end_ns))
                indices.append(p.invoke.index)
        if start is not None:
            found.append(ClientOutage(client, node, start, last, False, last, tuple(indices), answer, idle))
    return found


def _windows(outages: list[ClientOutage], faults: list[Fault], min_ns: int) -> list[Downtime]:
    """The union of the client outages, as windows (sorted; O(n log n))."""
    merged: list[list[ClientOutage]] = []
    reach = None
    for o in sorted(outages, key=lambda o: o.start_ns):
        if merged and reach is not None and o.start_ns <= reach:
            merged[-1].append(o)
            reach = max(reach, o.end_ns)
        else:
            merged.append([o])
            reach = o.end_ns
    found = []
    for group in merged:
        start, stop = group[0].start_ns, max(o.end_ns for o in group)
        if stop - start >= min_ns:
            kinds = tuple(sorted({f.kind for f in faults if f.overlaps(start, stop)}))
            indices = tuple(sorted(i for o in group for i in o.unanswered))
            clients = tuple(sorted({o.client for o in group}, key=repr))
            found.append(Downtime(start, stop, all(o.recovered for o in group), indices, kinds, clients))
    return found


def _recoveries(faults: list[Fault], outages: list[ClientOutage], requests: list[tuple[int, int]], end_ns: int,
                answers: dict[Any, tuple[list[int], list[int]]],
                blind: Mapping[Any, list[tuple[int, int]]]) -> list[FaultRecovery]:
    """Per injected fault: affected clients and when each was answered again (O(F·C·log n)), the
    slowest answer while it was in effect, and the clients blind in its window (to the next fault's
    start) with no answer since it began. ``requests``: (invocation, end) of every client request,
    sorted; ``answers``: per client, the invocations and completions of its answered requests, in
    invocation order (a client's requests do not overlap: both ascend); ``blind``: per client, its
    blind stretches, sorted."""
    windows = sorted(f.start_ns for f in faults if f.injected)
    invokes = [a for a, _ in requests]
    reach = list(accumulate((b for _, b in requests), max))  # the latest end among requests invoked so far
    by_client: dict[Any, list[ClientOutage]] = {}
    for o in sorted(outages, key=lambda o: o.start_ns):
        by_client.setdefault(o.client, []).append(o)
    starts = {c: [o.start_ns for o in os] for c, os in by_client.items()}
    out = []
    for fault in faults:
        if not fault.injected:
            continue
        s, e = fault.start_ns, fault.end_ns if fault.end_ns is not None else end_ns
        before = bisect_left(invokes, e)  # a request in flight while the fault was surely in effect (injected)
        observed = before > 0 and reach[before - 1] >= s + fault.injection_ns
        firsts, lasts, affected, unrecovered, down, down_most, down_least = [], [], [], [], 0, 0, 0
        for client, os in by_client.items():
            hit = []
            for o in reversed(os[:bisect_left(starts[client], e)]):  # outages begun before the heal
                if o.end_ns <= s and o.recovered:
                    break
                if o.last_unanswered_ns >= s:
                    hit.append(o)
            if not hit:
                continue
            observed = True
            affected.append(client)
            hit.reverse()
            down += sum(o.end_ns - max(o.start_ns, s) for o in hit)
            down_most += sum(o.most_since(s) for o in hit)
            down_least += sum(o.least_since(s) for o in hit)
            firsts.append(hit[0].end_ns)
            if hit[-1].recovered:
                lasts.append(hit[-1].end_ns)
            else:
                unrecovered.append(client)
        if not observed:
            out.append(FaultRecovery(fault, False, (), None, None, 0))
            continue
        later = bisect_right(windows, s)
        window = windows[later] if later < len(windows) else end_ns
        unseen = blind_until = 0
        for client, stretches in blind.items():
            invoked, ended = answers.get(client, ([], []))
            first = bisect_left(invoked, s)  # its first request since the fault began that was answered
            for a, b in stretches[:bisect_left(stretches, (window,))]:
                if b > s:
                    unseen += min(b, window) - max(a, s)
                    if first == len(ended) or ended[first] >= a:  # no answer since the fault began told it
                        blind_until = max(blind_until, b - s)
        slowest = 0
        for invoked, ended in answers.values():
            lo, hi = bisect_right(ended, s), bisect_left(invoked, e)  # in flight while in effect
            waits = (b - max(a, s) for a, b in zip(invoked[lo:hi], ended[lo:hi], strict=True))
            slowest = max(slowest, max(waits, default=0))
        first = max(min(firsts) - s, 0) if firsts else 0
        all_ = None if unrecovered else max(max(lasts) - s, 0) if lasts else 0
        waited = max((o.last_unanswered_ns - s for c in unrecovered for o in by_client[c][-1:]), default=None)
        out.append(FaultRecovery(fault, True, tuple(sorted(affected, key=repr)), first, all_, down,
                                 tuple(sorted(unrecovered, key=repr)), waited, slowest, unseen, blind_until,
                                 down_most, down_least))
    return out


def _answer_times(pairs: list[Pair]) -> tuple[list[int], list[int]]:
    """The invocations and completions of a client's answered requests."""
    done = [p for p in pairs if answered(p)]
    return [p.invoke.time for p in done], [p.complete.time for p in done]  # type: ignore[union-attr]


def _by(pairs: list[Pair], key: Any) -> dict[str, Proportion]:
    groups: dict[str, list[Pair]] = {}
    for p in pairs:
        k = key(p)
        if k is not None:
            groups.setdefault(str(k), []).append(p)
    return {k: _proportion(v) for k, v in sorted(groups.items())}


def _proportion(pairs: list[Pair]) -> Proportion:
    return Proportion(sum(1 for p in pairs if p.type == "ok"), len(pairs))


def _when(p: Pair) -> int:
    return p.complete.time if p.complete is not None else p.invoke.time


def _node(p: Pair) -> Any:
    return p.invoke.node if p.invoke.node is not None else (p.complete.node if p.complete is not None else None)


class _Intervals:
    """Membership in a union of half-open intervals, by bisection."""

    def __init__(self, faults: list[Fault], end_ns: int) -> None:
        spans = sorted((f.start_ns, f.end_ns if f.end_ns is not None else end_ns + 1) for f in faults)
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        self.starts = [a for a, _ in merged]
        self.ends = [b for _, b in merged]

    def __contains__(self, t: int) -> bool:
        i = bisect_right(self.starts, t) - 1
        return i >= 0 and t < self.ends[i]


BLIND = 10
"""A client is blind from this many times its usual wait into a wait (see :func:`_thresholds`)."""


def _thresholds(pairs: list[Pair], end_ns: int, quiet_until: int) -> tuple[int, int, dict[Any, int]]:
    """How long one client (its requests in invocation order) waits before it is idle (``BLIND`` times
    its median time from its requests' end to its next invocation), and before it is blind: idle, and
    no shorter than its longest such wait before ``quiet_until`` (the first fault); stalled, for the
    answer to a request of each f, ``BLIND`` times its median and no shorter than its longest before
    the first fault. What it did before the first fault shows what is usual for it: a commit slower
    than a read, a latency with a long tail."""
    gaps, quiet_gaps, seen_to = [], [0], None
    for p in pairs:
        if seen_to is not None:
            gaps.append(max(p.invoke.time - seen_to, 0))
            if p.invoke.time < quiet_until:
                quiet_gaps.append(gaps[-1])
        seen_to = max(_end(p, end_ns), seen_to or 0)
    waits: dict[Any, list[int]] = {}
    quiet: dict[Any, int] = {}
    for p in pairs:
        if answered(p):
            wait = p.complete.time - p.invoke.time  # type: ignore[union-attr]
            waits.setdefault(p.f, []).append(wait)
            if p.complete.time < quiet_until:  # type: ignore[union-attr]
                quiet[p.f] = max(quiet.get(p.f, 0), wait)
    idle = BLIND * int(median(gaps)) if gaps else 0
    return idle, max(idle, max(quiet_gaps)), {f: max(BLIND * int(median(w)), quiet.get(f, 0)) for f, w in waits.items()}


def _blind(pairs: list[Pair], end_ns: int, idle_after: int, stalled_after: dict[Any, int]) -> list[tuple[int, int]]:
    """The stretches in which one client (its requests in invocation order) learnt nothing of the
    service: idle, or stalled on a request that was answered in the end (an unanswered one is an outage)."""
    found, seen_to = [], None
    for p in pairs:
        if seen_to is not None and p.invoke.time - seen_to > idle_after:
            found.append((seen_to + idle_after, p.invoke.time))
        if answered(p) and p.complete.time - p.invoke.time > stalled_after[p.f]:  # type: ignore[union-attr]
            found.append((p.invoke.time + stalled_after[p.f], p.complete.time))  # type: ignore[union-attr]
        seen_to = max(_end(p, end_ns), seen_to or 0)
    return sorted(found)


def _latency(p: Pair, end_ns: int) -> Latency:
    c = p.complete
    if c is None:
        return Latency(end_ns - p.invoke.time, True)
    timed_out = c.type == "info" or _names_a_timeout(c.error)
    return Latency(c.time - p.invoke.time, timed_out and not answered(p))


def _names_a_timeout(error: Any) -> bool:
    """``timeout``, ``timed-out`` (Jepsen's spelling), or a vector that starts with one of them."""
    first = error[0] if isinstance(error, list) and error else error
    return isinstance(first, str) and first.lower().replace("_", "-").startswith(("timeout", "timed-out"))


def _reads_writes(pairs: list[Pair]) -> tuple[int, int]:
    """Ok ops that read state and ok ops that changed it (micro-ops of a transaction count too)."""
    reads = writes = 0
    for p in pairs:
        if p.type != "ok":
            continue
        if p.f == "txn" and isinstance(p.value, list):
            kinds = {m[0] for m in p.value if isinstance(m, list | tuple) and m}
            reads += "r" in kinds
            writes += bool(kinds - {"r"})
        elif p.f in ("read", "final-read"):
            reads += 1
        else:
            writes += 1
    return reads, writes


def _median_gap(times: list[int]) -> int | None:
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return int(median(gaps)) if gaps else None


def sla_figures(history: History, *, min_downtime_ns: int = 0, concurrency: int | None = None) -> SlaFigures:
    """All SLA figures of a history, from its client requests (the runner's final reads after the heal
    are none). ``concurrency``: client threads (default: inferred)."""
    pairs = [p for p in history.pairs() if p.invoke.extra.get(FINAL) is not True]  # not the runner's final reads
    faults = faults_of(history)
    injected = [f for f in faults if f.injected]
    times = [op.time for op in history.ops] or [0]
    start, end = min(times), max(times)
    threads = concurrency or _concurrency(pairs)
    by_client: dict[Any, list[Pair]] = {}
    for p in sorted(pairs, key=lambda p: (p.invoke.time, p.invoke.index)):
        by_client.setdefault(_client(p.process, threads), []).append(p)
    gaps = [g for ps in by_client.values() for g in (b.invoke.time - a.invoke.time for a, b in pairwise(ps)) if g > 0]
    interval = int(median(gaps)) if gaps else None
    quiet_until = min((f.start_ns for f in injected), default=end + 1)
    thresholds = {c: _thresholds(ps, end, quiet_until) for c, ps in by_client.items()}
    idle_after = {c: idle for c, (idle, _, _) in thresholds.items()}
    outages = client_outages(by_client, end, idle_after)
    down: Counter[Any] = Counter()
    for o in outages:
        down[o.client] += o.length_ns
    in_fault = _Intervals(injected, end)
    blind = {c: _blind(ps, end, *thresholds[c][1:]) for c, ps in by_client.items()}
    clients = [ClientAvailability(c, Counter(_node(p) for p in ps).most_common(1)[0][0],
                                  max(_end(p, end) for p in ps) - ps[0].invoke.time, down[c], len(ps),
                                  sum(b - max(a, quiet_until) for a, b in blind[c] if b > quiet_until))
               for c, ps in by_client.items()]
    during = [p for p in pairs if _when(p) in in_fault]
    outside = [p for p in pairs if _when(p) not in in_fault]
    seconds: dict[int, Counter[bool]] = {}
    for p in pairs:
        seconds.setdefault((_when(p) - start) // NS_PER_S, Counter())[p.type == "ok"] += 1
    latencies = tuple(_latency(p, end) for p in pairs)
    fault_lat = [x.ns for p, x in zip(pairs, latencies, strict=True) if p.invoke.time in in_fault]
    n_answered = sum(1 for p in pairs if answered(p))
    n_ok = sum(1 for p in pairs if p.type == "ok")
    reads, writes = _reads_writes(pairs)
    read_times = sorted(p.invoke.time for p in pairs if p.type == "ok" and p.f == "read")
    stale, stale_most = _staleness(history)
    return SlaFigures(
        start_ns=start, end_ns=end,
        availability=Proportion(n_ok, len(pairs)),
        answered=Proportion(n_answered, len(pairs)),
        aborts=Proportion(n_answered - n_ok, len(pairs)),
        clients=clients,
        by_f=_by(pairs, lambda p: p.f),
        by_node=_by(pairs, _node),
        during_faults=_proportion(during),
        outside_faults=_proportion(outside),
        per_second=[(s, c[True], c[True] + c[False]) for s, c in sorted(seconds.items())],
        faults=faults,
        downtimes=_windows(outages, faults, min_downtime_ns),
        recoveries=_recoveries(faults, outages, sorted((p.invoke.time, _end(p, end)) for p in pairs), end,
                               {c: _answer_times(ps) for c, ps in by_client.items()}, blind),
        latency_ns=quantiles((x.ns for x in latencies), LATENCY_POINTS),
        latency_during_faults_ns=quantiles(fault_lat, LATENCY_POINTS),
        latencies=latencies,
        request_interval_ns=interval,
        outages=tuple(outages),
        ok_reads=reads, ok_writes=writes,
        staleness_ns=quantiles(stale, LATENCY_POINTS),
        staleness_samples_ns=tuple(stale),
        staleness_most_ns=stale_most,
        read_cadence_ns=_median_gap(read_times),
        timed=not all(op.time == i for i, op in enumerate(history.ops)),
        backwards=sum(1 for p in history.pairs(client=None)
                      if p.complete is not None and p.complete.time < p.invoke.time),
    )


def _staleness(history: History) -> tuple[list[int], int | None]:
    """Stable latencies of set-full style elements (adds of single elements, reads of collections),
    and the most any can be: every ok read invoked after an element's last absent read (or after it
    was known) that ended once it was known saw it, so it was stable by the first of them to end
    (None: no such read)."""
    if not any(op.f == "read" and op.type == "ok" and isinstance(op.value, list) for op in history.ops):
        return [], None
    outcomes, _ = set_full_elements(history)
    reads = sorted((p.invoke.time, p.complete.time) for p in history.pairs()  # type: ignore[union-attr]
                   if p.f == "read" and p.type == "ok")
    invoked = [a for a, _ in reads]
    lower, most = [], 0
    for o in outcomes:
        if o.stable_latency_ns is None:
            continue
        lower.append(o.stable_latency_ns)
        known = o.known.time if o.known else 0
        i = bisect_right(invoked, o.last_absent.time if o.last_absent else known)
        seen = None  # the earliest end, at or after it was known, of a read invoked after that
        while i < len(reads) and (seen is None or reads[i][0] < seen):
            if reads[i][1] >= known:
                seen = reads[i][1] if seen is None else min(seen, reads[i][1])
            i += 1
        if seen is not None:
            most = max(most, seen - known, o.stable_latency_ns)
        elif o.last_absent is not None:  # a read after it saw the element, invoked at the same time
            return lower, None
        # else no read missed it, and one invoked before it was known saw it: stable when known
    return lower, most
