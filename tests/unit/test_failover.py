"""The failover nemesis's logic on a fake database (the real runs are in tests/integration)."""

from __future__ import annotations

import time

import pytest

from chaos.nemesis.failover import CancelWaitNemesis, FailoverNemesis, FollowPrimary, LeaderWatch, PrimaryRoute
from chaos.nemesis.net import NemesisError
from chaos.nemesis.package import parse_spec, schedule
from checkers.failovers import failover_figures
from checkers.history import Op
from checkers.sla import faults_of
from clusters.endpoint import Endpoint
from clusters.remote import Node
from tests.helpers import history as make_history
from tests.helpers import info, invoke, ok
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
    client.invoke(Op(1, 0, "invoke", 0, "add", 1))
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
    assert (fault.kind, fault.start_ns, fault.end_ns, fault.nodes) == ("failover", 1, 6, ["n1", "n2"])


def test_follow_primary_names_the_node_that_served_each_op():
    db = FakeDB()
    route = PrimaryRoute(db, NODES[0])
    client = FollowPrimary(FakeClient(), route)
    client.open()
    first = client.invoke(Op(1, 0, "invoke", 0, "add", 1))
    route.move(NODES[1])
    second = client.invoke(Op(2, 0, "invoke", 0, "add", 2))
    assert (first.extra["served-by"], second.extra["served-by"]) == ("n1", "n2")


def test_leader_watch_moves_the_route_only_to_a_single_new_leader():
    db = FakeDB()
    route = PrimaryRoute(db, NODES[0])
    answers = [[NODES[0], NODES[1]]]  # two leaders: a cut-off old one has not demoted yet
    with LeaderWatch(route, lambda: answers[0], interval=0.01):
        time.sleep(0.1)
        assert route.node == NODES[0] and route.generation == 0
        answers[0] = [NODES[1]]
        deadline = time.monotonic() + 5
        while route.node != NODES[1] and time.monotonic() < deadline:
            time.sleep(0.01)
    assert route.node == NODES[1] and route.generation == 1


def test_failover_figures_from_served_by():
    s = 1_000_000_000
    history = make_history(
        invoke(0, "add", 1, time=1 * s), ok(0, "add", 1, time=2 * s, **{"served-by": "n1"}),
        info("nemesis", "start-partition", "primaries", time=3 * s),
        info("nemesis", "start-partition", {"n1": ["n2", "n3"]}, time=4 * s),
        invoke(0, "add", 2, time=5 * s), ok(0, "add", 2, time=6 * s, **{"served-by": "n1"}),  # old still accepts
        invoke(0, "read", None, time=7 * s), ok(0, "read", [1, 2], time=8 * s, **{"served-by": "n1"}),
        invoke(0, "add", 3, time=9 * s), info(0, "add", 3, time=10 * s, **{"served-by": "n1"}),
        invoke(0, "add", 4, time=11 * s), ok(0, "add", 4, time=14 * s, **{"served-by": "n2"}))
    [f] = failover_figures(history)
    assert (f["fault"], f["old"], f["new"]) == ("start-partition", "n1", "n1")
    assert (f["write-rto-ns"], f["moved-ns"], f["old-accepted"], f["old-accepted-for-ns"]) == (2 * s, 10 * s, 1, 2 * s)
    assert failover_figures(make_history(invoke(0, "add", 1), ok(0, "add", 1))) == []


class FakeSyncDB(FakeDB):
    def __init__(self) -> None:
        super().__init__()
        self.waiting = 3

    def sync_standbys(self, primary):
        return ["n2"]

    def cancel_waiting(self, primary):
        self.calls.append(("cancel", primary.name))
        cancelled, self.waiting = self.waiting, 0
        return cancelled


class FakeNet:
    def __init__(self) -> None:
        self.rules: dict[str, list] = {}

    def add_rules(self, node, rules):
        self.rules[node.name] = list(rules)
        return ["added"]

    def remove_rules(self, node, added):
        del self.rules[node.name]


def test_cancel_wait_cuts_the_standby_cancels_then_crashes_the_leader(monkeypatch):
    monkeypatch.setattr("chaos.nemesis.failover.require_own_network", lambda node, fault: None)
    db, net = FakeSyncDB(), FakeNet()
    nemesis = CancelWaitNemesis(db, NODES, net, hold=0.2)
    done = nemesis.invoke("start-cancel-wait", "primaries")
    assert done == {"leader": "n1", "standby": "n2", "cancelled": 3}
    assert [r.args[:2] for r in net.rules["n2"]] == [("-s", "10.0.0.11"), ("-d", "10.0.0.11")]
    assert ("3306" in net.rules["n2"][0].args) and db.calls[-1] == ("kill", "n1")
    assert db.calls[0] == ("cancel", "n1")
    assert nemesis.invoke("stop-cancel-wait", None) == ["n1"] and net.rules == {}
    assert db.calls[-1] == ("start", "n1")


def test_cancel_wait_names_the_missing_abilities():
    with pytest.raises(NemesisError, match="HoldsCommits"):
        CancelWaitNemesis(FakeDB(), NODES, FakeNet())


def test_patroni_settings_are_checked_before_anything_runs():
    from clusters.patroni import Patroni

    with pytest.raises(ValueError, match="loop_wait \\+ 2 x retry_timeout <= ttl"):
        Patroni("/nonexistent", ttl=5, loop_wait=2, retry_timeout=4)
    strict = Patroni("/nonexistent", synchronous_mode_strict=True, ttl=10, loop_wait=2, retry_timeout=4)
    dcs = strict._config(Node("n1", "10.0.0.11", None))["bootstrap"]["dcs"]
    assert (dcs["synchronous_mode"], dcs["synchronous_mode_strict"], dcs["ttl"]) == (True, True, 10)
