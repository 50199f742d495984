"""The ``Nemesis`` protocol and the kill nemesis.

A nemesis applies one kind of fault to nodes. The runner invokes it with ``f`` and ``value`` and
records the op in the history as process ``"nemesis"``, type ``info`` at both ends (Jepsen's
convention); the completion's value says what actually happened (the nodes killed, started).

A :class:`NemesisPackage` bundles a nemesis with its schedule (a generator) and the final ops that
heal everything before the final read::

    kill every 10 s:   kill ["n1"] at 10 s, start ["n1"] at 12 s, kill at 20 s, start at 22 s...
    heal:              start (every node that is not running)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from clusters.db import DB, Killable
from clusters.remote import Node
from workloads.generator import Generator, Invocation, periodic

__all__ = ["KillNemesis", "Nemesis", "NemesisPackage", "kill_package"]


class Nemesis(Protocol):
    fs: frozenset[str]

    def invoke(self, f: str, value: Any) -> Any:
        """Apply the fault ``f``; returns what it did (e.g. the node names affected)."""


@dataclass(frozen=True)
class NemesisPackage:
    nemesis: Nemesis
    generator: Generator
    final: tuple[Invocation, ...]


class KillNemesis:
    """``kill``: SIGKILL the database on some nodes; ``start``: restart every node that is down."""

    fs = frozenset({"kill", "start"})

    def __init__(self, db: DB, nodes: Sequence[Node], rng: random.Random) -> None:
        if not isinstance(db, Killable):
            raise ValueError(f"the kill nemesis needs a database that can be killed; {db.name} cannot")
        self._db: Killable = db
        self._nodes, self._rng = list(nodes), rng
        self._killed: list[Node] = []

    def invoke(self, f: str, value: Any) -> Any:
        if f == "kill":
            targets = self._targets(value)
            for node in targets:
                self._db.kill(node)
                self._killed.append(node)
            return [n.name for n in targets]
        if f == "start":
            down, self._killed = self._killed, []
            for node in down:
                self._db.start(node)
            return [n.name for n in down]
        raise ValueError(f"kill nemesis: unknown f {f!r}")

    def _targets(self, value: Any) -> list[Node]:
        up = [n for n in self._nodes if n not in self._killed]
        if value == "one":
            return [self._rng.choice(up)] if up else []
        if value == "all":
            return up
        names = set(value)
        return [n for n in up if n.name in names]


def kill_package(db: DB, nodes: Sequence[Node], rng: random.Random, *, interval: float,
                 down: float) -> NemesisPackage:
    """Kill one node every ``interval`` seconds, restart it ``down`` seconds later (a slow restart
    delays the next kill, never overlaps it)."""
    if down >= interval:
        raise ValueError(f"a node must be down ({down} s) for less than the interval ({interval} s)")
    schedule = periodic(interval, (interval, "kill", "one"), (interval + down, "start", "all"))
    return NemesisPackage(KillNemesis(db, nodes, rng), schedule, (Invocation("start", "all"),))
