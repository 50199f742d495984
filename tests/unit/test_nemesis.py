"""Pure parts of the nemeses: grudges, spec parsing, the seeded schedule, clear refusals."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos.nemesis.net import NemesisError
from chaos.nemesis.package import FaultSpec, build_nemesis, parse_spec, pick_nodes, schedule
from chaos.nemesis.packet import behaviour_from_json
from chaos.nemesis.partition import (
    bridge,
    grudge_from_json,
    grudge_to_json,
    majorities_ring,
    majority,
    minority_third,
    one,
)
from clusters.ledger import Ledger
from clusters.local import LocalRemote
from clusters.remote import Node
from workloads.generator import simulate, time_limit

N3 = ["n1", "n2", "n3"]
N5 = ["n1", "n2", "n3", "n4", "n5"]


def components(grudge: dict, names: list[str]) -> list[set[str]]:
    """Who can talk to whom once every rule drops both directions (the partitioner's effect)."""
    linked = {n: {m for m in names if m not in grudge.get(n, ()) and n not in grudge.get(m, ())} for n in names}
    return [linked[n] for n in names]


def test_one_isolates_exactly_one_node_both_ways() -> None:
    g = one(N3, random.Random(1))
    (lonely,) = [n for n, peers in g.items() if len(peers) == 2]
    assert g == {lonely: frozenset(set(N3) - {lonely}), **{n: frozenset({lonely}) for n in N3 if n != lonely}}


@pytest.mark.parametrize("names", [N3, N5, [f"n{i}" for i in range(1, 7)]])
def test_majority_is_two_clean_halves(names: list[str]) -> None:
    g = majority(names, random.Random(7))
    seen = {frozenset(c) for c in components(g, names)}
    assert sorted(len(c) for c in seen) == [len(names) // 2, len(names) - len(names) // 2]
    assert frozenset().union(*seen) == frozenset(names)


@pytest.mark.parametrize("n", [4, 5, 6, 7, 9])
def test_majorities_ring_every_node_sees_a_distinct_majority(n: int) -> None:
    names = [f"n{i}" for i in range(1, n + 1)]
    views = components(majorities_ring(names, random.Random(n)), names)
    assert all(len(v) > n / 2 for v in views)
    assert len({frozenset(v) for v in views}) == n
    assert all(len(v) < n for v in views)  # a real partition: nobody sees everyone


def test_majorities_ring_refuses_three_nodes() -> None:
    with pytest.raises(NemesisError, match="at least 4"):
        majorities_ring(N3, random.Random(0))


def test_bridge_has_one_node_seeing_both_halves() -> None:
    g = bridge(N5, random.Random(3))
    views = dict(zip(N5, components(g, N5), strict=True))
    hubs = [n for n, v in views.items() if len(v) == 5]
    assert len(hubs) == 1
    assert sorted(len(v) for n, v in views.items() if n not in hubs) == [3, 3, 3, 3]


def test_minority_third_isolates_fewer_than_a_third() -> None:
    names = [f"n{i}" for i in range(1, 8)]
    g = minority_third(names, random.Random(2))
    sizes = sorted({len(c) for c in components(g, names)})
    assert sizes == [2, 5]


def test_grudge_json_round_trip_and_errors() -> None:
    g = grudge_from_json({"n1": ["n2", "n3"]}, N3)
    assert g == {"n1": frozenset({"n2", "n3"})} and grudge_to_json(g) == {"n1": ["n2", "n3"]}
    with pytest.raises(ValueError, match="unknown node"):
        grudge_from_json({"n1": ["n9"]}, N3)
    with pytest.raises(ValueError, match="itself"):
        grudge_from_json({"n1": ["n1"]}, N3)
    with pytest.raises(ValueError, match="map"):
        grudge_from_json(["n1"], N3)


def test_parse_spec() -> None:
    assert parse_spec("none") == ()
    assert [f.kind for f in parse_spec("all")] == ["kill", "pause", "partition", "clock", "packet"]
    assert parse_spec("kill:one/majority,partition:majorities-ring,pause:n1+n2", N3) == (
        FaultSpec("kill", ("one", "majority")), FaultSpec("partition", ("majorities-ring",)),
        FaultSpec("pause", ("n1+n2",)))
    for bad, message in (("explode", "unknown fault"), ("partition:n1+n2", "not one of"),
                         ("kill:n7", "not one of"), ("kill,kill:all", "twice")):
        with pytest.raises(ValueError, match=message):
            parse_spec(bad, N3)


def test_pick_nodes_sizes() -> None:
    rng = random.Random(0)
    assert [len(pick_nodes(t, N5, rng)) for t in ("one", "minority", "majority", "minority-third", "all")] == \
        [1, 2, 3, 1, 5]
    assert pick_nodes("primaries", N5, rng) == "primaries"
    assert pick_nodes("n2+n4", N5, rng) == ["n2", "n4"]


def faults_of(seed: int, spec: str = "kill:one/majority,pause,partition:one/majority/bridge,clock,packet") -> list:
    gen = time_limit(200, schedule(parse_spec(spec, N5), N5, seed, interval=10, duration=4, quiet=15))
    return [(op.time, op.f, op.value) for op in simulate(gen, processes=("nemesis",), latency=0.01)
            if op.type == "invoke"]


def test_same_seed_same_faults_and_targets() -> None:
    a, b, c = faults_of(42), faults_of(42), faults_of(43)
    assert a == b
    assert [(f, v) for _, f, v in a] != [(f, v) for _, f, v in c]
    assert len({f for _, f, _ in a}) >= 8  # every fault kind shows up in 200 s


def test_schedule_quiet_period_cadence_and_pairs() -> None:
    ops = faults_of(5)
    starts = [t for t, *_ in ops[0::2]]
    stops = [t for t, *_ in ops[1::2]]
    assert starts[0] == 15 * 10**9
    assert all(b - a == 10 * 10**9 for a, b in itertools.pairwise(starts))
    assert all(s - t == 4 * 10**9 for t, s in zip(starts, stops, strict=False))
    ends = {"kill": "start", "pause": "resume", "start-partition": "stop-partition", "bump-clock": "reset-clock",
            "strobe-clock": "reset-clock", "start-packet": "stop-packet"}
    assert all(ends[ops[i][1]] == ops[i + 1][1] for i in range(0, len(ops) - 1, 2))


def test_schedule_values_are_concrete_and_valid() -> None:
    for _, f, value in faults_of(9):
        if f in ("kill", "pause"):
            assert set(value) <= set(N5) and value
        elif f == "start-partition":
            grudge_from_json(value, N5)
        elif f == "start-packet":
            behaviour_from_json(value["behaviour"])


def test_packet_behaviour_errors() -> None:
    for bad, message in (({"lag": 1}, "unknown"), ({"loss": 2}, "bad loss"), ({"reorder": 0.2}, "needs a delay"),
                         ({}, "non-empty")):
        with pytest.raises(ValueError, match=message):
            behaviour_from_json(bad)


class _NoAbilities:
    name = "plain"

    def setup(self, nodes) -> None: ...

    def teardown(self, nodes) -> None: ...


@pytest.fixture
def local_nodes(tmp_path: Path) -> Iterator[tuple[Ledger, list[Node]]]:
    ledger = Ledger(directory=tmp_path)
    yield ledger, [Node(n, f"127.0.0.{11 + i}", LocalRemote(n, f"127.0.0.{11 + i}", ledger)) for i, n in enumerate(N3)]
    assert ledger.release_all() == []  # also removes the run's owner marker


@pytest.mark.parametrize(("spec", "message"), [("kill", "Killable"), ("pause", "Pausable"),
                                               ("partition", "own network stack"), ("packet", "own network stack")])
def test_clear_refusals(local_nodes, spec: str, message: str) -> None:
    ledger, nodes = local_nodes
    with pytest.raises(NemesisError, match=message):
        build_nemesis(spec, _NoAbilities(), nodes, random.Random(0), ledger=ledger, interval=10, duration=2)


def test_grudge_target_needs_a_grudge(local_nodes) -> None:
    ledger, nodes = local_nodes
    with pytest.raises(ValueError, match="--nemesis-grudge"):
        build_nemesis("partition:grudge", _NoAbilities(), nodes, random.Random(0), ledger=ledger, interval=10,
                      duration=2)
