"""Nemeses: the faults of a run, their seeded schedule, and the heal that always runs.

A nemesis applies one kind of fault to nodes. The runner invokes it with ``f`` and ``value`` and
records the op as process ``"nemesis"``, type ``info`` at both ends (Jepsen's convention); the
completion, recorded when the fault has taken effect, says what actually happened::

    kill ["n2"]                        -> ["n2"]             start ["n2"] -> ["n2"]
    failover "primaries"               -> ["n1", "n2"]       rejoin -> ["n1"]   (chaos/nemesis/failover.py)
    pause ["n1", "n3"]                 -> ["n1", "n3"]       resume ...
    start-partition {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]}      stop-partition -> "network-healed"
    bump-clock {"n2": -60000}          -> {"delta-ms": ..., "offset-ms": {"n2": -59999.8}, ...}
    start-packet {"nodes": ["n3"], "behaviour": {"loss": 0.2}} -> {..., "mechanism": {"loss": "iptables-statistic"}}

A spec names the faults and, after ``:``, their targets (alternatives separated by ``/``, node
lists joined by ``+``): ``kill:one/majority,partition:majorities-ring,clock,pause:n1+n2``; ``all``
is every fault, ``none`` none. :func:`build_nemesis` turns it into a :class:`NemesisPackage`:
the nemesis, a schedule (after a quiet period, one fault every ``interval`` s lasting ``duration``
s; which fault and which targets come from ``random.Random(f"{seed}:{k}")`` for the k-th fault, so
the same seed gives the same sequence whatever the timing), the final heal ops, and ``heal_all``
for the error paths (a context manager: it heals on exit, recorded or not).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Protocol

from chaos.nemesis.clock import ClockNemesis
from chaos.nemesis.failover import CancelWaitNemesis, FailoverNemesis, PrimaryRoute
from chaos.nemesis.net import NemesisError, NodeNet, NotInjected
from chaos.nemesis.packet import PacketNemesis, behaviour_from_json
from chaos.nemesis.partition import GRUDGES, PartitionNemesis, grudge_from_json, grudge_to_json
from clusters.db import DB, HasPrimaries, Killable, Pausable, Supervised
from clusters.ledger import Ledger
from clusters.remote import Node
from workloads.generator import SECOND, Answer, Context, Generator, Invocation

__all__ = ["FAULTS", "SIGNAL_FAULTS", "FaultSpec", "Nemesis", "NemesisError", "NemesisPackage", "NotInjected",
           "build_nemesis", "parse_spec",
           "pick_nodes", "schedule"]

NODE_TARGETS = ("one", "minority", "majority", "minority-third", "primaries", "all")
FAULTS: dict[str, tuple[str, ...]] = {
    "kill": NODE_TARGETS,
    "kill-agent": NODE_TARGETS,
    "kill-server": NODE_TARGETS,
    "pause": NODE_TARGETS,
    "partition": (*GRUDGES, "primaries", "grudge"),
    "clock": ("one", "minority", "majority", "minority-third", "all"),
    "packet": ("one", "minority", "majority", "minority-third", "all"),
    "failover": ("primaries",),
    "cancel-wait": ("primaries",),
}
ALL = ("kill", "pause", "partition", "clock", "packet")  # what ``all`` means: failover needs replicas
DEFAULT_TARGET = {"kill": "one", "kill-agent": "one", "kill-server": "one", "pause": "one", "partition": "one",
                  "clock": "one", "packet": "one", "failover": "primaries", "cancel-wait": "primaries"}
# fault kind -> (the part that applies and heals it, the ability it needs, the ability's method)
SIGNAL_FAULTS: dict[str, tuple[str, Any, str]] = {
    "kill": ("kill", Killable, "kill"), "kill-agent": ("kill", Supervised, "kill_agent"),
    "kill-server": ("kill", Supervised, "kill_server"), "pause": ("pause", Pausable, "pause")}
HEALS = {"kill": (Killable, "start"), "pause": (Pausable, "resume")}  # part -> (ability, heal f and method)
CLOCK_BUMPS_MS = (-300_000, -60_000, -5_000, -250, 250, 5_000, 60_000, 300_000)
STROBE_DELTAS_MS = (200, 2_000, 20_000)
STROBE_PERIODS_MS = (100, 500, 1_000)
PACKET_BEHAVIOURS = ({"delay-ms": 100, "jitter-ms": 20}, {"loss": 0.2}, {"rate-kbit": 512},
                     {"delay-ms": 20, "duplicate": 0.2}, {"delay-ms": 50, "reorder": 0.3})


class Nemesis(Protocol):
    fs: frozenset[str]

    def invoke(self, f: str, value: Any) -> Any:
        """Apply the fault ``f``; returns what it did (e.g. the node names affected)."""


@dataclass(frozen=True)
class FaultSpec:
    """One fault kind and the targets the schedule chooses among."""

    kind: str
    targets: tuple[str, ...]


def parse_spec(spec: str, names: Sequence[str] | None = None) -> tuple[FaultSpec, ...]:
    """``kill:one/majority,partition,clock`` -> fault specs; ``none`` -> (); ``all`` -> every fault.
    ``names`` (when known) checks node lists."""
    spec = spec.strip()
    if spec == "none":
        return ()
    if spec == "all":
        return tuple(FaultSpec(k, (DEFAULT_TARGET[k],)) for k in ALL)
    out = []
    for part in spec.split(","):
        kind, _, targets = part.strip().partition(":")
        if kind not in FAULTS:
            raise ValueError(f"--nemesis: unknown fault {kind!r}; known: {', '.join(FAULTS)}, all, none")
        chosen = tuple(t for t in targets.split("/") if t) or (DEFAULT_TARGET[kind],)
        for t in chosen:
            if t in FAULTS[kind]:
                continue
            listed = t.split("+")
            if kind == "partition" or (names is not None and not set(listed) <= set(names)):
                raise ValueError(f"--nemesis: {kind} target {t!r} is not one of {', '.join(FAULTS[kind])}"
                                 + ("" if kind == "partition" else " or a node list like n1+n2"))
        out.append(FaultSpec(kind, chosen))
    if len({f.kind for f in out}) != len(out):
        raise ValueError("--nemesis: a fault is named twice; give its targets once, separated by /")
    return tuple(out)


def pick_nodes(target: str, names: Sequence[str], rng: random.Random) -> list[str] | str:
    """The node names a target means (``primaries`` stays symbolic: only the database knows)."""
    n = len(names)
    sizes = {"one": 1, "minority": (n - 1) // 2, "majority": n // 2 + 1, "minority-third": (n - 1) // 3, "all": n}
    if target == "primaries":
        return target
    if target in sizes:
        return sorted(rng.sample(list(names), max(1, sizes[target])))
    return target.split("+")


def _fault_ops(fault: FaultSpec, names: Sequence[str], rng: random.Random, grudge: Any,
               packet: dict[str, float] | None) -> tuple[Invocation, Invocation]:
    """The start and stop invocations of one fault, all choices made with ``rng``."""
    target = rng.choice(fault.targets)
    if fault.kind == "failover":
        return Invocation("failover", target), Invocation("rejoin", None)
    if fault.kind == "cancel-wait":
        return Invocation("start-cancel-wait", target), Invocation("stop-cancel-wait", None)
    if fault.kind in SIGNAL_FAULTS:
        nodes = pick_nodes(target, names, rng)
        stop = HEALS[SIGNAL_FAULTS[fault.kind][0]][1]
        return Invocation(fault.kind, nodes), Invocation(stop, "all" if nodes == "primaries" else nodes)
    if fault.kind == "partition":
        if target == "primaries":
            value: Any = "primaries"
        elif target == "grudge":
            value = grudge_to_json(grudge_from_json(grudge, names))
        else:
            value = grudge_to_json(GRUDGES[target](names, rng))
        return Invocation("start-partition", value), Invocation("stop-partition", None)
    nodes = pick_nodes(target, names, rng)
    if fault.kind == "clock":
        if rng.random() < 0.5:
            start = Invocation("bump-clock", {n: rng.choice(CLOCK_BUMPS_MS) for n in nodes})
        else:
            start = Invocation("strobe-clock", {"nodes": nodes, "delta-ms": rng.choice(STROBE_DELTAS_MS),
                                                "period-ms": rng.choice(STROBE_PERIODS_MS)})
        return start, Invocation("reset-clock", nodes)
    behaviour = packet or dict(rng.choice(PACKET_BEHAVIOURS))
    return Invocation("start-packet", {"nodes": nodes, "behaviour": behaviour}), Invocation("stop-packet", None)


@dataclass(frozen=True)
class _Schedule:
    """Fault k starts at ``origin + quiet + k x interval`` and stops ``duration`` later."""

    seed: int
    names: tuple[str, ...]
    faults: tuple[FaultSpec, ...]
    quiet: int
    interval: int
    duration: int
    grudge: Any = None
    packet: tuple[tuple[str, float], ...] | None = None
    origin: int | None = None
    emitted: int = 0

    def op(self, ctx: Context) -> Answer:
        if not self.faults:
            return None, self
        origin = ctx.time if self.origin is None else self.origin
        k, stopping = divmod(self.emitted, 2)
        rng = random.Random(f"{self.seed}:{k}")
        fault = rng.choice(self.faults)
        start, stop = _fault_ops(fault, self.names, rng, self.grudge, dict(self.packet) if self.packet else None)
        due = origin + self.quiet + k * self.interval + (self.duration if stopping else 0)
        return replace(stop if stopping else start, at=due), replace(self, origin=origin, emitted=self.emitted + 1)

    def update(self, ctx: Context, event: Any) -> Generator:
        return self


def schedule(faults: Sequence[FaultSpec], names: Sequence[str], seed: int, *, interval: float, duration: float,
             quiet: float, grudge: Any = None, packet: dict[str, float] | None = None) -> Generator:
    """The seeded fault schedule (endless; the runner bounds it with ``time_limit``)."""
    if not 0 < duration < interval:
        raise ValueError(f"a fault must last ({duration} s) less than the interval ({interval} s)")
    return _Schedule(seed, tuple(names), tuple(faults), round(quiet * SECOND), round(interval * SECOND),
                     round(duration * SECOND), grudge, tuple(sorted(packet.items())) if packet else None)


class _NodeSignals:
    """kill/start or pause/resume on targets (and kill-agent, kill-server healed by start), through the
    database's abilities (Killable, Pausable, Supervised)."""

    def __init__(self, part: str, kinds: Sequence[str], db: DB, nodes: Sequence[Node], rng: random.Random) -> None:
        ability, self._heal_f = HEALS[part]
        for kind, needs in [(part, ability), *((k, SIGNAL_FAULTS[k][1]) for k in kinds)]:
            if not isinstance(db, needs):
                raise NemesisError(f"the {kind} nemesis needs a database that can be {kind}ed "
                                   f"({needs.__name__}); {db.name} cannot")
        self._kind, self._kinds, self.fs = part, frozenset(kinds), frozenset({*kinds, self._heal_f})
        self._db, self._nodes, self._rng = db, list(nodes), rng
        self._affected: list[Node] = []

    def invoke(self, f: str, value: Any) -> Any:
        if f in self._kinds:
            targets = self._targets(value)
            if not targets:
                raise NotInjected(f"{f}: no node to {f} (every one chosen is down already)")
            for node in targets:
                getattr(self._db, SIGNAL_FAULTS[f][2])(node)
                self._affected.append(node)
            return [n.name for n in targets]
        if f in self.fs:
            return self.heal()
        raise ValueError(f"{self._kind} nemesis: unknown f {f!r}")

    def heal(self) -> list[str]:
        done = []
        while self._affected:
            node = self._affected[0]
            getattr(self._db, self._heal_f)(node)
            self._affected.pop(0)
            done.append(node.name)
        return done

    def _targets(self, value: Any) -> list[Node]:
        free = [n for n in self._nodes if n not in self._affected]
        if value == "primaries":
            if not isinstance(self._db, HasPrimaries):
                raise NotInjected(f"target primaries needs a database that knows its primaries; {self._db.name} "
                                   f"does not (HasPrimaries)")
            chosen = {n.name for n in self._db.primaries(self._nodes)}
        elif isinstance(value, str):
            picked = pick_nodes(value, [n.name for n in free], self._rng) if free else []
            chosen = set(picked)
        else:
            chosen = set(value)
        unknown = chosen - {n.name for n in self._nodes}
        if unknown:
            raise NotInjected(f"{self._kind}: unknown node(s) {', '.join(sorted(unknown))}")
        return [n for n in free if n.name in chosen]


class _Composite:
    """Routes each f to the one nemesis that handles it."""

    def __init__(self, parts: Sequence[Any]) -> None:
        self.parts = list(parts)
        self.fs = frozenset().union(*(p.fs for p in parts))

    def invoke(self, f: str, value: Any) -> Any:
        for part in self.parts:
            if f in part.fs:
                return part.invoke(f, value)
        raise ValueError(f"no nemesis handles {f!r}")


@dataclass(frozen=True)
class NemesisPackage:
    nemesis: Nemesis
    generator: Generator
    final: tuple[Invocation, ...]
    heal_all: Callable[[], list[str]]

    @contextmanager
    def healing(self, report: Callable[[str], None]) -> Iterator[NemesisPackage]:
        """Heal everything on the way out, whatever happened; each heal error goes to ``report``."""
        try:
            yield self
        finally:
            for error in self.heal_all():
                report(f"heal error: {error}")


# Heal order: the network first (so restarted nodes find their peers), clocks, then processes.
_HEAL_ORDER = (("packet", "stop-packet", None), ("partition", "stop-partition", None), ("clock", "reset-clock", "all"),
               ("pause", "resume", "all"), ("kill", "start", "all"), ("failover", "rejoin", None),
               ("cancel-wait", "stop-cancel-wait", None))


def build_nemesis(spec: str, db: DB, nodes: Sequence[Node], rng: random.Random, *, ledger: Ledger, interval: float,
                  duration: float, quiet: float | None = None, grudge: str | None = None,
                  packet: str | None = None, route: PrimaryRoute | None = None) -> NemesisPackage | None:
    """The package for ``spec``; call before ``db.setup`` (clock skew must be preloaded into the
    database's processes). None for ``none``. Bad specs and missing abilities raise one clear line.
    ``route`` is where the run's clients connect; a failover moves it to the promoted node."""
    names = [n.name for n in nodes]
    faults = parse_spec(spec, names)
    if not faults:
        return None
    grudge_value = _json_option("--nemesis-grudge", grudge)
    packet_value = behaviour_from_json(_json_option("--nemesis-packet", packet)) if packet else None
    if grudge_value is not None:
        grudge_from_json(grudge_value, names)
    if any("grudge" in f.targets for f in faults) and grudge_value is None:
        raise ValueError("--nemesis partition:grudge needs --nemesis-grudge '{\"n1\": [\"n2\", \"n3\"]}'")
    net = NodeNet(ledger)
    parts: dict[str, Any] = {}
    for part in ("kill", "pause"):
        kinds = [f.kind for f in faults if f.kind in SIGNAL_FAULTS and SIGNAL_FAULTS[f.kind][0] == part]
        if kinds:
            parts[part] = _NodeSignals(part, kinds, db, nodes, random.Random(rng.random()))
    for fault in faults:
        if fault.kind in SIGNAL_FAULTS:
            continue
        elif fault.kind == "partition":
            parts["partition"] = PartitionNemesis(nodes, net, db.primaries if isinstance(db, HasPrimaries) else None)
        elif fault.kind == "packet":
            parts["packet"] = PacketNemesis(nodes, net)
        elif fault.kind == "failover":
            parts["failover"] = FailoverNemesis(db, nodes, route)
        elif fault.kind == "cancel-wait":
            parts["cancel-wait"] = CancelWaitNemesis(db, nodes, net)
        else:
            parts["clock"] = ClockNemesis(db, nodes, ledger)
            parts["clock"].prepare()
    gen = schedule(faults, names, rng.randrange(2**31), interval=interval, duration=duration,
                   quiet=interval if quiet is None else quiet, grudge=grudge_value, packet=packet_value)
    final = tuple(Invocation(f, v) for kind, f, v in _HEAL_ORDER if kind in parts)
    ordered = [parts[kind] for kind, _, _ in _HEAL_ORDER if kind in parts]

    def heal_all() -> list[str]:
        errors = []
        for part in ordered:
            try:
                part.heal()
            except Exception as e:  # keep healing the rest
                errors.append(f"{type(part).__name__}: {e}")
        return errors

    return NemesisPackage(_Composite(ordered), gen, final, heal_all)


def _json_option(option: str, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{option}: not JSON: {e}") from None
