"""Network partitions: grudges built by pure functions, applied by one partitioner with iptables.

A grudge says, for each node, the nodes it cannot exchange packets with: ``{node: frozenset(peers)}``.
Builders take node names (and a ``random.Random`` where they choose) and never touch a network::

    one(["n1", "n2", "n3"], rng)        -> {"n2": {"n1", "n3"}, "n1": {"n2"}, "n3": {"n2"}}
    majority(["n1".."n5"], rng)         -> two clean halves: a minority of 2 and a majority of 3
    majorities_ring(["n1".."n5"], rng)  -> each node sees a majority (itself and its two ring
                                            neighbours), no two nodes the same one
    bridge(["n1".."n5"], rng)           -> [n1 n2] n3 [n4 n5]: n3 sees everyone, the halves not each other

The partitioner drops, on each node of the grudge, ``INPUT -s peer`` and ``OUTPUT -d peer`` (both
directions, so a grudge is effectively symmetric), with ``iptables`` inside the node; healing
deletes exactly the rules it added. In the history: ``start-partition`` with the grudge as value
(node -> sorted list), ``stop-partition`` when healed.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chaos.nemesis.net import AddedRule, NemesisError, NodeNet, NotInjected, Rule, require_own_network
from clusters.remote import Node

__all__ = ["GRUDGES", "Grudge", "PartitionNemesis", "bridge", "complete", "grudge_from_json", "grudge_to_json",
           "isolate", "majorities_ring", "majority", "minority_third", "one"]

Grudge = dict[str, frozenset[str]]


def complete(components: Iterable[Iterable[str]]) -> Grudge:
    """Every node drops every node outside its own component."""
    parts = [frozenset(c) for c in components]
    everyone = frozenset().union(*parts)
    return {n: everyone - part for part in parts for n in part if everyone - part}


def isolate(names: Sequence[str], group: Iterable[str]) -> Grudge:
    """Cut ``group`` off from the rest (both ways)."""
    group = set(group)
    return complete([[n for n in names if n in group], [n for n in names if n not in group]])


def one(names: Sequence[str], rng: random.Random) -> Grudge:
    """Isolate one random node."""
    return isolate(names, [rng.choice(list(names))])


def majority(names: Sequence[str], rng: random.Random) -> Grudge:
    """Clean halves: a random minority of floor(n/2) nodes and the majority."""
    shuffled = rng.sample(list(names), len(names))
    return complete([shuffled[:len(names) // 2], shuffled[len(names) // 2:]])


def minority_third(names: Sequence[str], rng: random.Random) -> Grudge:
    """Isolate a random group of fewer than a third of the nodes (at least one)."""
    return isolate(names, rng.sample(list(names), max(1, (len(names) - 1) // 3)))


def majorities_ring(names: Sequence[str], rng: random.Random) -> Grudge:
    """Nodes on a shuffled ring; each sees the nodes within ``k`` steps, ``k`` the least that makes
    a majority. Every node sees a majority, no two the same one. Needs 4 nodes (with 3, every
    majority ring is the full cluster once links are symmetric)."""
    n = len(names)
    if n < 4:
        raise NemesisError(f"majorities-ring needs at least 4 nodes, not {n}")
    ring = rng.sample(list(names), n)
    k = (n // 2 + 1) // 2  # each side: together with the node itself, 2k + 1 > n/2
    seen = {ring[i]: {ring[(i + d) % n] for d in range(-k, k + 1)} for i in range(n)}
    return {node: frozenset(names) - visible for node, visible in seen.items()}


def bridge(names: Sequence[str], rng: random.Random) -> Grudge:
    """Two halves that cannot see each other and one node in the middle that sees both."""
    if len(names) < 3:
        raise NemesisError(f"bridge needs at least 3 nodes, not {len(names)}")
    shuffled = rng.sample(list(names), len(names))
    middle = len(shuffled) // 2
    left, right = shuffled[:middle], shuffled[middle + 1:]  # shuffled[middle] is the bridge
    return {**{n: frozenset(right) for n in left}, **{n: frozenset(left) for n in right}}


GRUDGES = {"one": one, "majority": majority, "minority-third": minority_third,
           "majorities-ring": majorities_ring, "bridge": bridge}


def grudge_to_json(grudge: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {node: sorted(peers) for node, peers in sorted(grudge.items()) if peers}


def grudge_from_json(value: Any, names: Sequence[str]) -> Grudge:
    """A grudge from ``{node: [nodes it cannot reach]}``, every name checked."""
    if not isinstance(value, Mapping):
        raise ValueError(f"a grudge is a map node -> [nodes it cannot reach], not {value!r}")
    known = set(names)
    grudge = {}
    for node, peers in value.items():
        if isinstance(peers, str) or not isinstance(peers, Iterable):
            raise ValueError(f"grudge: {node!r} must map to a list of nodes, not {peers!r}")
        unknown = {node, *peers} - known
        if unknown:
            raise ValueError(f"grudge names unknown node(s) {', '.join(sorted(map(str, unknown)))}; "
                             f"nodes: {', '.join(names)}")
        if node in peers:
            raise ValueError(f"grudge: {node} cannot drop itself")
        grudge[node] = frozenset(peers)
    return grudge


class PartitionNemesis:
    """``start-partition`` (value: a grudge as JSON, or ``primaries``) / ``stop-partition``."""

    fs = frozenset({"start-partition", "stop-partition"})

    def __init__(self, nodes: Sequence[Node], net: NodeNet, primaries: Any = None) -> None:
        for node in nodes:
            require_own_network(node, "a partition")
        self._nodes = {n.name: n for n in nodes}
        self._net, self._primaries = net, primaries
        self._added: dict[str, list[AddedRule]] = {}

    def invoke(self, f: str, value: Any) -> Any:
        if f == "start-partition":
            if self._added:
                raise NotInjected("a partition is already in place; stop-partition first")
            grudge = self._primaries_grudge() if value == "primaries" else grudge_from_json(value, list(self._nodes))
            self.apply(grudge)
            return grudge_to_json(grudge)
        if f == "stop-partition":
            return self.heal()
        raise ValueError(f"partition nemesis: unknown f {f!r}")

    def apply(self, grudge: Grudge) -> None:
        for name, peers in grudge.items():
            rules = []
            for peer in sorted(peers):
                address = self._nodes[peer].address
                rules += [Rule("INPUT", ("-s", address, "-j", "DROP")), Rule("OUTPUT", ("-d", address, "-j", "DROP"))]
            self._added[name] = []  # noted before adding: a failure halfway still heals what went in
            self._added[name] = self._net.add_rules(self._nodes[name], rules)

    def heal(self) -> str:
        """Remove every rule this nemesis added (and only those)."""
        errors = []
        for name, added in list(self._added.items()):
            try:
                self._net.remove_rules(self._nodes[name], added)
                del self._added[name]
            except Exception as e:
                errors.append(f"{name}: {e}")
        if errors:
            raise NemesisError("could not heal the partition: " + "; ".join(errors))
        return "network-healed"

    def _primaries_grudge(self) -> Grudge:
        if self._primaries is None:
            raise NotInjected("partition primaries: the database cannot tell its primaries (no HasPrimaries)")
        group = [n.name for n in self._primaries(list(self._nodes.values()))]
        if not group:
            raise NotInjected("partition primaries: the database reports no primary")
        return isolate(list(self._nodes), group)
