"""Generators: pure values that say which operation to invoke next.

A generator answers ``op(ctx)`` with a pair ``(what, next_generator)`` where ``what`` is

- an :class:`Invocation` (``f``, ``value``, and ``at``: the earliest time to invoke it, ns),
- a :class:`Pending` (nothing now; ask again after ``until`` or after some op completes),
- ``None``: this generator is exhausted.

``update(ctx, event)`` returns the generator that has seen a completion. Generators never do I/O
and never mutate themselves; all randomness comes from ``ctx.rng``, one seeded ``random.Random``
per test, so a run's op stream is reproducible. Combinators compose them::

    workload = time_limit(60, stagger(0.01, mix(fn(transfer), fn(read))))
    schedule = cycle(sleep(10), once("kill", "one"), sleep(2), once("start", "all"))

``simulate(gen, processes=4)`` runs a generator on a fake clock where every op completes ``ok``
after a fixed latency, so tests compare exact op lists without any cluster.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from checkers.history import Op

__all__ = [
    "Context",
    "Generator",
    "Invocation",
    "Pending",
    "cycle",
    "fn",
    "mix",
    "once",
    "seq",
    "simulate",
    "sleep",
    "stagger",
    "time_limit",
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


@dataclass(frozen=True)
class Context:
    """What a generator may look at: the time (ns since test start), free processes, the test's rng."""

    time: int
    free: tuple[Any, ...]
    rng: random.Random = field(compare=False)


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
        return replace(self, gens=(self.gens[0].update(ctx, event), *self.gens[1:]))


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
        return _Mix(tuple(g.update(ctx, event) for g in self.gens))


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
        return replace(self, inner=self.inner.update(ctx, event))


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
        return replace(self, inner=self.inner.update(ctx, event))


def stagger(mean_gap_seconds: float, gen: Generator) -> Generator:
    """Space ops by random gaps, uniform in [0, 2 x mean) (Jepsen's ``stagger``)."""
    return _Stagger(round(mean_gap_seconds * SECOND), gen)


def simulate(gen: Generator, *, processes: Sequence[Any] = (0,), latency: float = 0.001, seed: int = 0,
             max_ops: int = 10_000) -> list[Op]:
    """Run ``gen`` on a fake clock: every op completes ``ok`` after ``latency`` seconds."""
    rng, lat = random.Random(seed), round(latency * SECOND)
    now, busy, out = 0, {}, []  # busy: process -> completion time
    while len(out) < max_ops:
        ctx = Context(now, tuple(p for p in processes if p not in busy), rng)
        what, nxt = gen.op(ctx) if ctx.free else (Pending(), gen)
        if isinstance(what, Invocation) and (what.at or 0) <= now:
            gen = nxt
            out.append(Op(len(out), now, "invoke", ctx.free[0], what.f, what.value))
            busy[ctx.free[0]] = now + lat
            continue
        if what is None and not busy:
            break
        if isinstance(what, Pending):
            gen = nxt
        wake = [t for t in busy.values()]
        if isinstance(what, Invocation):
            wake.append(what.at or now)
        elif isinstance(what, Pending) and what.until is not None:
            wake.append(what.until)
        if not wake:
            break  # pending forever with nothing in flight
        now = max(now, min(wake))
        for p, t in sorted(busy.items(), key=lambda kv: kv[1]):
            if t <= now:
                del busy[p]
                done = Op(len(out), t, "ok", p, *_last_invocation(out, p))
                out.append(done)
                gen = gen.update(Context(now, (), rng), done)
    return out


def _last_invocation(ops: list[Op], process: Any) -> tuple[str, Any]:
    inv = next(op for op in reversed(ops) if op.process == process and op.type == "invoke")
    return inv.f, inv.value
