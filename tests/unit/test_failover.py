"""The failover nemesis's logic on a fake database (the real runs are in tests/integration)."""

from __future__ import annotations

import pytest

from chaos.nemesis.failover import FailoverNemesis, FollowPrimary, PrimaryRoute
from chaos.nemesis.net import NemesisError
from chaos.nemesis.package import parse_spec, schedule
from checkers.sla import faults_of
from clusters.endpoint import Endpoint
from clusters.remote import Node
from tests.helpers import history as make_history
from tests.helpers import info
from workloads.generator import Context

NODES = [Node("n1", "10.0.0.11", None), Node("n2", "10.0.0.12", None)]


class FakeDB:
    name = "fake"

    def __init__(self) -> None:
        self.primary, self.calls = NODES[0], []

    def primaries(self, nodes):
        return [self.primary]

    def kill(self, node):
        self.calls.append(("kill", node.name))

    def start(self, node):
        self.calls.append(("start", node.name))

    def promote(self, node):
        self.calls.append(("promote", node.name))
        self.primary = node

    def endpoint(self, node):
        return Endpoint(node.name, node.address, 3306)


class FakeClient:
    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, endpoint):
        self.opened.append(endpoint.node)

    def invoke(self, op):
        return op

    def close(self):
        pass


def test_failover_kills_the_primary_promotes_a_replica_and_moves_the_clients():
    db = FakeDB()
    route = PrimaryRoute(db, NODES[0])
    client = FollowPrimary(FakeClient(), route)
    client.open(db.endpoint(NODES[1]))  # the route decides, not the node given
    nemesis = FailoverNemesis(db, NODES, route)
    assert nemesis.invoke("failover", "primaries") == ["n1", "n2"]
    assert db.calls == [("kill", "n1"), ("promote", "n2")]
    client.invoke("op")
    assert client._client.opened == ["n1", "n2"]
    assert route.used() == NODES  # where writes went: each node gets a final read if still a primary
    with pytest.raises(NemesisError, match="no replica of n2 left"):
        nemesis.invoke("failover", "primaries")
    assert nemesis.invoke("rejoin", None) == ["n1"] and nemesis.heal() == []


def test_failover_names_the_missing_abilities():
    class Galera:
        name = "galera"

        def primaries(self, nodes):
            return list(nodes)

    with pytest.raises(NemesisError, match="Killable, Promotable"):
        FailoverNemesis(Galera(), NODES, None)


def test_schedule_and_fault_periods():
    assert [f.kind for f in parse_spec("failover")] == ["failover"]
    assert "failover" not in [f.kind for f in parse_spec("all")]
    gen = schedule(parse_spec("failover"), ["n1", "n2"], 1, interval=10, duration=4, quiet=5)
    start, gen = gen.op(Context(0, (), None))
    stop, _ = gen.op(Context(0, (), None))
    assert (start.f, start.value, stop.f) == ("failover", "primaries", "rejoin")
    history = make_history(info("nemesis", "failover", "primaries", time=1),
                           info("nemesis", "failover", ["n1", "n2"], time=2),
                           info("nemesis", "rejoin", None, time=5), info("nemesis", "rejoin", ["n1"], time=6))
    [fault] = faults_of(history)
    assert (fault.kind, fault.start_ns, fault.end_ns, fault.nodes) == ("failover", 2, 6, ["n1", "n2"])
