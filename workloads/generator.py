"""Generators: pure values that say which operation to invoke next.

A generator answers ``op(ctx)`` with a pair ``(what, next_generator)`` where ``what`` is

- an :class:`Invocation` (``f``, ``value``, and ``at``: the earliest time to invoke it, ns),
- a :class:`Pending` (nothing now; ask again after ``until`` or after some op completes),
- ``None``: this generator is exhausted.

``update(ctx, event)`` returns the generator that has seen a completion. Generators never do I/O
and never mutate themselves; all randomness comes from ``ctx.rng``, one seeded ``random.Random``
per test, so a run's op stream is reproducible. Combinators compose them::

    workload = time_limit(60, stagger(0.01, mix(fn(transfer), fn(read))))
    schedule = periodic(10, (10, "kill", "one"), (12, "start", "all"))

``simulate(gen, processes=4)`` runs a generator on a fake clock where every op completes ``ok``
after a fixed latency, so tests compare exact op lists without any cluster.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, Protocol

from checkers.history import Op

__all__ = [
    "Context",
    "Generator",
    "Invocation",
    "Lane",
    "Pending",
    "cycle",
    "fn",
    "mix",
    "once",
    "periodic",
    "seq",
    "simulate",
    "sleep",
    "stagger",
    "time_limit",
    "unfold",
]

SECOND = 1_000_000_000


@dataclass(frozen=True)
class Invocation:
    """An operation to invoke: ``f`` and ``value``; ``at`` (ns since test start) if not right away."""

    f: str
    value: Any = None
    at: int | None = None


@dataclass(frozen=True)
class Pending:
    """Nothing to invoke now; ask again at ``until`` (ns) or when an op completes."""

    until: int | None = None


class Context(NamedTuple):
    """What a generator may look at: the time (ns since test start), free processes, the test's rng.
    A named tuple rather than a dataclass: the runner makes two per op, and this is cheaper."""

    time: int
    free: tuple[Any, ...]
    rng: random.Random


Answer = tuple["Invocation | Pending | None", "Generator"]


class Generator(Protocol):
    def op(self, ctx: Context) -> Answer:
        """The next invocation (or pending, or None when exhausted) and the generator after it."""

    def update(self, ctx: Context, event: Op) -> Generator:
        """The generator after ``event`` (a completion) happened."""


class _Base:
    def update(self, ctx: Context, event: Op) -> Generator:
        return self  # type: ignore[return-value]


@dataclass(frozen=True)
class _Empty(_Base):
    def op(self, ctx: Context) -> Answer:
        return None, self


EMPTY = _Empty()


@dataclass(frozen=True)
class _Fn(_Base):
    make: Callable[[Context], Invocation]

    def op(self, ctx: Context) -> Answer:
        return self.make(ctx), self


def fn(make: Callable[[Context], Invocation]) -> Generator:
    """An endless generator: ``make(ctx)`` builds each invocation (use ``ctx.rng`` for randomness)."""
    return _Fn(make)


@dataclass(frozen=True)
class _Unfold(_Base):
    make: Callable[[Context, Any], tuple[Invocation, Any]]
    state: Any

    def op(self, ctx: Context) -> Answer:
        invocation, state = self.make(ctx, self.state)
        return invocation, _Unfold(self.make, state)


def unfold(state: Any, make: Callable[[Context, Any], tuple[Invocation, Any]]) -> Generator:
    """An endless generator threading a state: ``make(ctx, state)`` gives the invocation and the
    next state (e.g. a counter for unique values), so the generator stays a pure value."""
    return _Unfold(make, state)


@dataclass(frozen=True)
class _Once(_Base):
    invocation: Invocation

    def op(self, ctx: Context) -> Answer:
        return self.invocation, EMPTY


def once(f: str, value: Any = None) -> Generator:
    """Exactly one invocation."""
    return _Once(Invocation(f, value))


@dataclass(frozen=True)
class _Sleep(_Base):
    duration: int
    until: int | None = None

    def op(self, ctx: Context) -> Answer:
        until = ctx.time + self.duration if self.until is None else self.until
        if ctx.time >= until:
            return None, EMPTY
        return Pending(until), replace(self, until=until)


def sleep(seconds: float) -> Generator:
    """Nothing for ``seconds`` (counted from when it is first asked), then exhausted."""
    return _Sleep(round(seconds * SECOND))


@dataclass(frozen=True)
class _Seq(_Base):
    gens: tuple[Generator, ...]
    restart: tuple[Generator, ...] = ()

    def op(self, ctx: Context) -> Answer:
        gens = self.gens
        for _ in range(len(gens) + len(self.restart) + 1):
            if not gens:
                if not self.restart:
                    return None, EMPTY
                gens = self.restart
            what, nxt = gens[0].op(ctx)
            if what is not None:
                return what, replace(self, gens=(nxt, *gens[1:]))
            gens = gens[1:]
        return Pending(), replace(self, gens=gens)  # a cycle of generators that are all exhausted at once

    def update(self, ctx: Context, event: Op) -> Generator:
        if not self.gens:
            return self
        head = self.gens[0].update(ctx, event)
        return self if head is self.gens[0] else replace(self, gens=(head, *self.gens[1:]))


def seq(*gens: Generator) -> Generator:
    """Each generator in turn until it is exhausted (Jepsen's phases without the barrier)."""
    return _Seq(tuple(gens))


def cycle(*gens: Generator) -> Generator:
    """``seq`` forever: starts over from the first generator when the last is exhausted."""
    return _Seq(tuple(gens), restart=tuple(gens))


@dataclass(frozen=True)
class _Mix(_Base):
    gens: tuple[Generator, ...]

    def op(self, ctx: Context) -> Answer:
        gens = self.gens
        while gens:
            i = ctx.rng.randrange(len(gens))
            what, nxt = gens[i].op(ctx)
            if what is not None:
                return what, _Mix((*gens[:i], nxt, *gens[i + 1:]))
            gens = (*gens[:i], *gens[i + 1:])
        return None, EMPTY

    def update(self, ctx: Context, event: Op) -> Generator:
        gens = tuple(g.update(ctx, event) for g in self.gens)
        return self if all(a is b for a, b in zip(gens, self.gens, strict=True)) else _Mix(gens)


def mix(*gens: Generator) -> Generator:
    """Each op from a generator chosen uniformly at random."""
    return _Mix(tuple(gens))


@dataclass(frozen=True)
class _TimeLimit(_Base):
    limit: int
    inner: Generator
    deadline: int | None = None

    def op(self, ctx: Context) -> Answer:
        deadline = ctx.time + self.limit if self.deadline is None else self.deadline
        if ctx.time >= deadline:
            return None, EMPTY
        what, nxt = self.inner.op(ctx)
        if what is None or (isinstance(what, Invocation) and what.at is not None and what.at >= deadline):
            return None, EMPTY
        if isinstance(what, Pending) and (what.until is None or what.until > deadline):
            what = Pending(deadline)
        return what, _TimeLimit(self.limit, nxt, deadline)

    def update(self, ctx: Context, event: Op) -> Generator:
        inner = self.inner.update(ctx, event)
        return self if inner is self.inner else _TimeLimit(self.limit, inner, self.deadline)


def time_limit(seconds: float, gen: Generator) -> Generator:
    """``gen`` until ``seconds`` after it is first asked."""
    return _TimeLimit(round(seconds * SECOND), gen)


@dataclass(frozen=True)
class _Stagger(_Base):
    mean_gap: int
    inner: Generator
    next_at: int | None = None

    def op(self, ctx: Context) -> Answer:
        what, nxt = self.inner.op(ctx)
        if not isinstance(what, Invocation):
            return what, replace(self, inner=nxt)
        at = max(ctx.time, self.next_at or 0, what.at or 0)
        gap = round(ctx.rng.uniform(0, 2 * self.mean_gap))
        return replace(what, at=at), _Stagger(self.mean_gap, nxt, at + gap)

    def update(self, ctx: Context, event: Op) -> Generator:
        inner = self.inner.update(ctx, event)
        return self if inner is self.inner else _Stagger(self.mean_gap, inner, self.next_at)


def stagger(mean_gap_seconds: float, gen: Generator) -> Generator:
    """Space ops by random gaps, uniform in [0, 2 x mean) (Jepsen's ``stagger``)."""
    return _Stagger(round(mean_gap_seconds * SECOND), gen)


@dataclass(frozen=True)
class _Periodic(_Base):
    period: int
    items: tuple[tuple[int, Invocation], ...]
    origin: int | None = None
    emitted: int = 0

    def op(self, ctx: Context) -> Answer:
        origin = ctx.time if self.origin is None else self.origin
        rounds, k = divmod(self.emitted, len(self.items))
        offset, invocation = self.items[k]
        due = origin + rounds * self.period + offset
        return replace(invocation, at=due), replace(self, origin=origin, emitted=self.emitted + 1)


def periodic(period: float, *items: tuple[float, str, Any]) -> Generator:
    """Endless ``(offset, f, value)`` invocations due at ``offset + k x period`` seconds after the
    generator is first asked (k = 0, 1, ...): a fixed cadence that does not drift with op latency."""
    if not items:
        raise ValueError("periodic needs at least one item")
    ordered = tuple(sorted((round(o * SECOND), Invocation(f, v)) for o, f, v in items))
    return _Periodic(round(period * SECOND), ordered)


class Lane:
    """A generator being run (runner side, mutable): every answer is taken; an invocation due
    later is held until its time."""

    def __init__(self, gen: Generator | None) -> None:
        self.gen, self.held = gen, None

    @property
    def done(self) -> bool:
        return self.gen is None and self.held is None

    def poll(self, ctx: Context) -> Invocation | Pending | None:
        """An invocation to dispatch now, a Pending (ask again at ``until`` or on a completion), or
        None when exhausted. Call only when a process is free."""
        if self.held is None:
            if self.gen is None:
                return None
            what, self.gen = self.gen.op(ctx)
            if what is None:
                self.gen = None
                return None
            if isinstance(what, Pending):
                return what
            self.held = what
        if (self.held.at or 0) > ctx.time:
            return Pending(self.held.at)
        invocation, self.held = self.held, None
        return invocation

    def update(self, ctx: Context, event: Op) -> bool:
        """Tell the generator about ``event``; False when that left it as it was (the same object), so
        a Pending it gave still stands until its time."""
        if self.gen is None:
            return False
        before, self.gen = self.gen, self.gen.update(ctx, event)
        return self.gen is not before


def simulate(gen: Generator, *, processes: Sequence[Any] = (0,), latency: float = 0.001, seed: int = 0,
             max_ops: int = 10_000) -> list[Op]:
    """Run ``gen`` on a fake clock: every op completes ``ok`` after ``latency`` seconds."""
    rng, lat, lane = random.Random(seed), round(latency * SECOND), Lane(gen)
    now, busy, out = 0, {}, []  # busy: process -> completion time
    while len(out) < max_ops:
        free = tuple(p for p in processes if p not in busy)
        what = lane.poll(Context(now, free, rng)) if free else Pending()
        if isinstance(what, Invocation):
            out.append(Op(len(out), now, "invoke", free[0], what.f, what.value))
            busy[free[0]] = now + lat
            continue
        wake = list(busy.values())
        if isinstance(what, Pending) and what.until is not None:
            wake.append(what.until)
        if not wake:
            break  # exhausted, or pending forever with nothing in flight
        now = max(now, min(wake))
        for p, t in sorted(busy.items(), key=lambda kv: kv[1]):
            if t <= now:
                del busy[p]
                done = Op(len(out), t, "ok", p, *_last_invocation(out, p))
                out.append(done)
                lane.update(Context(now, (), rng), done)
    return out


def _last_invocation(ops: list[Op], process: Any) -> tuple[str, Any]:
    inv = next(op for op in reversed(ops) if op.process == process and op.type == "invoke")
    return inv.f, inv.value
