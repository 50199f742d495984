"""Failover: kill the primary, promote a replica, and move the clients to the new primary.

The nemesis needs a database that knows its primaries (``HasPrimaries``), can kill and restart a
node (``Killable``) and can promote a replica (``Promotable``): PostgreSQL, mariadb-async, seekdb
with a standby. Its ops, recorded as process ``"nemesis"``::

    failover ["n1"]    -> ["n1", "n2"]    n1 (the primary) killed, n2 promoted; clients now use n2
    rejoin   ["n1"]    -> ["n1"]          n1 restarted, unfenced: it may come back a second primary

An old primary that comes back writable (seekdb, mariadb-async, PostgreSQL all do) is a split
brain: the runner then does its final read on every primary the clients wrote to, and the ``set``
checker reports the nodes' reads as divergent; a later ``failover`` refuses to choose between two
primaries.

The clients of a run follow the primary through a :class:`PrimaryRoute`, the run's one answer to
"where do writes go" (what a virtual IP or a proxy is in production). Every client's connection is
to the route's node; a failover moves the route, and each client reconnects before its next op.
Clients connected to every node instead would read stale data from replicas and see half their
writes refused, which measures the client placement rather than the failover.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from chaos.nemesis.net import AddedRule, NemesisError, NodeNet, NotInjected, Rule, require_own_network
from clusters.db import DB, HasPrimaries, HoldsCommits, Killable, Promotable
from clusters.endpoint import Endpoint
from clusters.remote import Node
from workloads.client import Client

__all__ = ["CancelWaitNemesis", "FailoverNemesis", "FollowPrimary", "LeaderWatch", "PrimaryRoute"]


class PrimaryRoute:
    """The node clients of a primary/replica database use; ``move`` after a promotion."""

    def __init__(self, db: Any, node: Node) -> None:
        self._db, self._node, self.generation = db, node, 0
        self._lock = threading.Lock()
        self._used: list[Node] = []

    def move(self, node: Node) -> None:
        with self._lock:
            self._node, self.generation = node, self.generation + 1

    @property
    def node(self) -> Node:
        with self._lock:
            return self._node

    def current(self) -> tuple[int, Endpoint]:
        with self._lock:
            if self._node not in self._used:
                self._used.append(self._node)
            return self.generation, self._db.endpoint(self._node)

    def used(self) -> list[Node]:
        """The nodes clients were sent to, in order: where the run's writes went."""
        with self._lock:
            return list(self._used)


class LeaderWatch:
    """The control side's health check (what HAProxy does with Patroni's ``GET /primary``): polls
    ``primaries`` every ``interval`` s and moves the route when exactly one node, another than the
    route's, says it is the leader. Two leaders (a cut-off old one not yet demoted) move nothing."""

    def __init__(self, route: PrimaryRoute, primaries: Callable[[], list[Node]], interval: float = 0.2) -> None:
        self._route, self._primaries, self._interval = route, primaries, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leader-watch", daemon=True)

    def __enter__(self) -> LeaderWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            leaders = self._primaries()
            if len(leaders) == 1 and leaders[0] != self._route.node:
                self._route.move(leaders[0])


class FollowPrimary:
    """A client that reconnects to the route's node whenever the route has moved; each completion
    names the node that answered it (``served-by``)."""

    def __init__(self, client: Client, route: PrimaryRoute) -> None:
        self._client, self._route, self._generation = client, route, -1
        self._serving = ""

    def open(self, endpoint: Endpoint | None = None) -> None:
        """Connect to the route's node (``endpoint``, any node's, is ignored: the route decides)."""
        self._generation, where = self._route.current()
        self._serving = where.node
        self._client.open(where)

    def setup(self) -> None:
        self._client.setup()

    def invoke(self, op: Any) -> Any:
        if self._route.generation != self._generation:
            self._client.close()
            self.open()
        done = self._client.invoke(op)
        return replace(done, extra={**done.extra, "served-by": self._serving})

    def close(self) -> None:
        self._client.close()


class FailoverNemesis:
    """``failover``: kill the current primary and promote a running replica; ``rejoin``: restart
    the killed primaries."""

    fs = frozenset({"failover", "rejoin"})

    def __init__(self, db: DB, nodes: Sequence[Node], route: PrimaryRoute | None) -> None:
        missing = [p.__name__ for p in (HasPrimaries, Killable, Promotable) if not isinstance(db, p)]
        if missing:
            raise NemesisError(f"the failover nemesis needs a database with a primary it can kill and a replica it "
                               f"can promote ({', '.join(missing)}); {db.name} has not")
        self._db: Any = db
        self._nodes, self._route = list(nodes), route
        self._killed: list[Node] = []

    def invoke(self, f: str, value: Any) -> Any:
        if f == "failover":
            return self._failover()
        if f == "rejoin":
            return self.heal()
        raise ValueError(f"failover nemesis: unknown f {f!r}")

    def _failover(self) -> list[str]:
        primaries = self._db.primaries(self._nodes)
        if len(primaries) != 1:
            raise NotInjected(f"failover needs exactly one primary, found {[n.name for n in primaries] or 'none'}")
        old = primaries[0]
        replicas = [n for n in self._nodes if n != old and n not in self._killed]
        if not replicas:
            raise NotInjected(f"failover: no replica of {old.name} left to promote")
        self._db.kill(old)
        self._killed.append(old)
        new = replicas[0]
        self._db.promote(new)
        if self._route is not None:
            self._route.move(new)
        return [old.name, new.name]

    def heal(self) -> list[str]:
        done = []
        while self._killed:
            self._db.start(self._killed[0])
            done.append(self._killed.pop(0).name)
        return done


class CancelWaitNemesis:
    """``start-cancel-wait``: the way Patroni's documentation says a synchronous commit can still be
    lost. The leader's synchronous standby is cut off the leader's database port (its WAL stream
    stops; etcd and the REST API still work), so commits wait for it; for ``hold`` seconds every
    waiting backend is cancelled (``pg_cancel_backend``: the COMMIT returns ok with a warning, committed
    and visible on the leader, never replicated); then the leader crashes. ``stop-cancel-wait``
    removes the cut and restarts the old leader. Its ops::

        start-cancel-wait "primaries" -> {"leader": "n1", "standby": "n2", "cancelled": 37}
        stop-cancel-wait               -> ["n1"]
    """

    fs = frozenset({"start-cancel-wait", "stop-cancel-wait"})

    def __init__(self, db: DB, nodes: Sequence[Node], net: NodeNet, hold: float = 2.0) -> None:
        missing = [p.__name__ for p in (HasPrimaries, HoldsCommits, Killable) if not isinstance(db, p)]
        if missing:
            raise NemesisError(f"the cancel-wait nemesis needs a database with synchronous commits it can cancel "
                               f"and a primary it can kill ({', '.join(missing)}); {db.name} has not")
        for node in nodes:
            require_own_network(node, "cancel-wait")
        self._db: Any = db
        self._nodes, self._net, self._hold = list(nodes), net, hold
        self._cut: tuple[Node, list[AddedRule]] | None = None
        self._killed: list[Node] = []

    def invoke(self, f: str, value: Any) -> Any:
        if f == "start-cancel-wait":
            return self._start()
        if f == "stop-cancel-wait":
            return self.heal()
        raise ValueError(f"cancel-wait nemesis: unknown f {f!r}")

    def _start(self) -> dict[str, Any]:
        primaries = self._db.primaries(self._nodes)
        if len(primaries) != 1:
            raise NemesisError(f"cancel-wait needs exactly one primary, found {[n.name for n in primaries] or 'none'}")
        leader = primaries[0]
        standbys = [n for n in self._nodes if n.name in self._db.sync_standbys(leader)]
        if not standbys:
            raise NemesisError(f"cancel-wait: {leader.name} has no synchronous standby")
        standby, port = standbys[0], str(self._db.endpoint(leader).port)
        rules = [Rule("INPUT", ("-s", leader.address, "-p", "tcp", "--sport", port, "-j", "DROP")),
                 Rule("OUTPUT", ("-d", leader.address, "-p", "tcp", "--dport", port, "-j", "DROP"))]
        self._cut = (standby, [])
        self._cut = (standby, self._net.add_rules(standby, rules))
        cancelled, until = 0, time.monotonic() + self._hold
        while time.monotonic() < until:
            time.sleep(0.1)
            cancelled += self._db.cancel_waiting(leader)
        self._db.kill(leader)
        self._killed.append(leader)
        return {"leader": leader.name, "standby": standby.name, "cancelled": cancelled}

    def heal(self) -> list[str]:
        if self._cut is not None:
            self._net.remove_rules(*self._cut)
            self._cut = None
        done = []
        while self._killed:
            self._db.start(self._killed[0])
            done.append(self._killed.pop(0).name)
        return done
