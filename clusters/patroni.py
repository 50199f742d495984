"""The ``patroni`` adapter: PostgreSQL 15 run by Patroni (Debian's 3.0.2) on every node, with an
etcd member beside it as the DCS (etcd's v2 API: Debian's Patroni uses python-etcd).

Per node ``<home> = <root>/<node>/patroni``: ``patroni.yml`` (mode 0600, owned by ``postgres``:
it holds the run's passwords), ``data/``, ``sock/``, ``patroni.log``; the etcd member lives under
``<root>/<node>/etcd`` (:class:`clusters.etcd.Etcd`). Patroni runs as ``postgres`` and starts the
server itself; the first node to take the leader key runs ``initdb``, the others clone it with
``pg_basebackup``. Clients log in as ``chaos`` to ``jepsen`` (created once the cluster is up) and
find the leader as production does, through the REST API (port 8008): ``GET /primary`` answers
200 on the leader only.

Options (``--db-option`` or a suite's ``[db]``): ``synchronous_mode``, ``synchronous_mode_strict``,
``ttl`` (30), ``loop_wait`` (10), ``retry_timeout`` (10), ``maximum_lag_on_failover`` (1 MiB),
``isolation``. Patroni needs ``loop_wait + 2 * retry_timeout <= ttl``.

Faults: ``kill`` is a node crash (Patroni, PostgreSQL and the etcd member), ``kill_server`` kills
PostgreSQL alone, ``kill_agent`` Patroni alone, ``pause`` freezes all three; ``start`` restarts
whatever is down and waits until Patroni answers.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence

import httpx

from clusters.endpoint import Endpoint
from clusters.etcd import CLIENT_PORT, Etcd
from clusters.postgres import BIN, CLIENT_USER, ISOLATION_LEVELS, PORT, psql
from clusters.proctree import SIGNAL_TREE
from clusters.remote import Node, RemoteError
from clusters.servers import (
    DBSetupError,
    LogFiles,
    check_binaries,
    check_ports_free,
    new_password,
    stop_daemon,
    wait_until,
    write_file,
)

__all__ = ["Patroni"]

DAEMON = "patroni"
PATRONI = "/usr/bin/patroni"
REST_PORT = 8008
SCOPE = "chaoscert"
# $1 postmaster.pid, $2 signal: the postmaster and its backends (nothing when no server runs)
_POSTMASTER_SIGNAL = r"""
pid=$(head -n 1 "$1" 2>/dev/null) && [ -n "$pid" ] || exit 0
set -- "$pid" "$2"
""" + SIGNAL_TREE


class Patroni(LogFiles):
    name = "patroni"
    protocol = "postgres"
    replica_isolation = "repeatable-read"  # a hot standby refuses serializable transactions

    def __init__(self, root: str, *, synchronous_mode: bool = False, synchronous_mode_strict: bool = False,
                 ttl: int = 30, loop_wait: int = 10, retry_timeout: int = 10,
                 maximum_lag_on_failover: int = 1048576, isolation: str = "read committed",
                 ready_timeout: float = 90.0) -> None:
        if isolation.lower() not in ISOLATION_LEVELS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {isolation!r}")
        if loop_wait + 2 * retry_timeout > ttl:
            raise ValueError(f"patroni needs loop_wait + 2 x retry_timeout <= ttl, not {loop_wait} + 2 x "
                             f"{retry_timeout} > {ttl}")
        self.root = str(root)
        self.synchronous_mode = synchronous_mode or synchronous_mode_strict
        self.synchronous_mode_strict = synchronous_mode_strict
        self.ttl, self.loop_wait, self.retry_timeout = ttl, loop_wait, retry_timeout
        self.maximum_lag_on_failover = maximum_lag_on_failover
        self.isolation = isolation.lower()
        self.ready_timeout = ready_timeout
        self.etcd = Etcd(root, enable_v2=True, ready_timeout=ready_timeout)
        self._password, self._superuser, self._replicator = new_password(), new_password(), new_password()
        self._nodes: list[Node] = []

    def __repr__(self) -> str:
        return (f"Patroni(root={self.root!r}, synchronous_mode={self.synchronous_mode}, "
                f"strict={self.synchronous_mode_strict}, ttl={self.ttl}, loop_wait={self.loop_wait}, "
                f"retry_timeout={self.retry_timeout})")

    def home(self, node: Node) -> str:
        return f"{self.root}/{node.name}/patroni"

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, PORT, CLIENT_USER, self._password)

    def log_files(self, node: Node) -> dict[str, str]:
        home = self.home(node)
        return {"patroni.log": f"{home}/patroni.log", "postgres.log": f"{home}/postgres.log",
                **self.etcd.log_files(node)}

    # ---------------------------------------------------------------- DB
    def setup(self, nodes: Sequence[Node]) -> None:
        self._nodes = list(nodes)
        if any("LD_PRELOAD" in getattr(n.remote, "daemon_env", {}) for n in nodes):
            raise DBSetupError("patroni cannot run under clock faults: libfaketime makes Patroni's time.sleep fail "
                               "(OSError EINVAL) and it stops")
        try:
            for node in nodes:
                check_binaries(node, {PATRONI: "patroni", f"{BIN}/postgres": "postgresql-15"})
                check_ports_free(node, [PORT, REST_PORT])
                home = self.home(node)
                node.remote.run(["rm", "-rf", "--", f"{home}/data"])
                node.remote.run(["mkdir", "-p", f"{home}/sock"])
                write_file(node, f"{home}/patroni.yml", json.dumps(self._config(node), indent=1), mode="0600")
                node.remote.run(["chown", "-R", "postgres:postgres", home])
                node.remote.run(["chmod", "0700", home])
            self.etcd.setup(nodes)
            for node in nodes:
                self._launch(node)
            leader = self._wait_leader()
            self._wait(leader, "replicating to every replica", lambda: self._replicating(leader, len(nodes) - 1))
            psql(leader, self._sock(leader), f"CREATE ROLE {CLIENT_USER} WITH LOGIN CREATEDB PASSWORD "
                                             f"'{self._password}'; CREATE DATABASE jepsen OWNER {CLIENT_USER};")
        except BaseException:
            self.teardown(nodes)
            raise

    def teardown(self, nodes: Sequence[Node]) -> None:
        errors = []
        for node in nodes:
            try:
                stop_daemon(node, DAEMON, grace=20)  # Patroni stops PostgreSQL on TERM
                self._signal_postmaster(node, "CONT")
                self._signal_postmaster(node, "KILL")  # one Patroni adopted after kill_agent is not its child
                node.remote.run(["rm", "-rf", "--", f"{self.home(node)}/data"])
            except (RemoteError, DBSetupError) as e:
                errors.append(str(e))
        try:
            self.etcd.teardown(nodes)
        except DBSetupError as e:
            errors.append(str(e))
        if errors:
            raise DBSetupError("; ".join(errors))

    # ---------------------------------------------------------------- abilities
    def kill(self, node: Node) -> None:
        """A node crash: Patroni, PostgreSQL and the etcd member SIGKILLed."""
        self.kill_agent(node)
        self.kill_server(node)
        self.etcd.kill(node)

    def kill_agent(self, node: Node) -> None:
        pid = node.remote.pid(DAEMON) if hasattr(node.remote, "pid") else None
        if pid is None:
            raise RemoteError(f"{node.name}: no patroni pid known on this backend")
        node.remote.run(["kill", "-KILL", str(pid)], check=False)  # this process alone, not its children
        node.remote.wait_stopped(DAEMON, 10)

    def kill_server(self, node: Node) -> None:
        self._signal_postmaster(node, "KILL")

    def start(self, node: Node) -> None:
        """Restart what is down (etcd member, Patroni) and wait until Patroni's REST API answers."""
        self.etcd.start(node)
        if not node.remote.is_running(DAEMON):
            self._launch(node)

    def pause(self, node: Node) -> None:
        self.etcd.pause(node)
        node.remote.signal(DAEMON, "STOP")
        self._signal_postmaster(node, "STOP")

    def resume(self, node: Node) -> None:
        self._signal_postmaster(node, "CONT")
        node.remote.signal(DAEMON, "CONT")
        self.etcd.resume(node)

    def answers_primary(self, node: Node) -> bool:
        try:
            return httpx.get(f"{self._rest(node)}/primary", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The nodes whose Patroni says it is the leader (two while a cut-off old leader has not demoted)."""
        return [n for n in nodes if self.answers_primary(n)]

    def sync_standbys(self, primary: Node) -> list[str]:
        rows = psql(primary, self._sock(primary), "SELECT application_name FROM pg_stat_replication "
                                                  "WHERE sync_state IN ('sync', 'quorum')", timeout=5)
        return [r[0] for r in rows if r and r[0]]

    def cancel_waiting(self, primary: Node) -> int:
        rows = psql(primary, self._sock(primary), "SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) "
                                                  "FROM pg_stat_activity WHERE wait_event = 'SyncRep'", timeout=5)
        return int(rows[0][0]) if rows else 0

    def caught_up(self, nodes: Sequence[Node], primary: Node, timeout: float = 30.0) -> list[Node]:
        lsn = self.sql(primary, "SELECT pg_current_wal_lsn()", timeout=5)[0][0]
        pending, done = [n for n in nodes if n != primary], []
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for node in list(pending):
                with contextlib.suppress(RemoteError):
                    if self.sql(node, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn", timeout=5) == [["t"]]:
                        done.append(node)
                        pending.remove(node)
            time.sleep(0.5)
        return done

    def sql(self, node: Node, statements: str, *, timeout: float = 30.0) -> list[list[str]]:
        return psql(node, self._sock(node), statements, timeout=timeout)

    # ---------------------------------------------------------------- helpers
    def _rest(self, node: Node) -> str:
        return f"http://{node.address}:{REST_PORT}"

    def _sock(self, node: Node) -> str:
        return f"{self.home(node)}/sock"

    def _config(self, node: Node) -> dict:
        home, others = self.home(node), [n.address for n in self._nodes]
        hba = ["local all all peer",
               *(f"host replication replicator {a}/32 scram-sha-256" for a in others),
               *(f"host all postgres {a}/32 scram-sha-256" for a in others),
               f"host all {CLIENT_USER} 0.0.0.0/0 scram-sha-256"]
        return {
            "scope": SCOPE, "name": node.name,
            "log": {"level": "INFO", "format": "%(asctime)s %(levelname)s: %(message)s"},
            "restapi": {"listen": f"{node.address}:{REST_PORT}", "connect_address": f"{node.address}:{REST_PORT}"},
            "etcd": {"hosts": [f"{a}:{CLIENT_PORT}" for a in others], "protocol": "http"},
            "bootstrap": {
                "dcs": {"ttl": self.ttl, "loop_wait": self.loop_wait, "retry_timeout": self.retry_timeout,
                        "maximum_lag_on_failover": self.maximum_lag_on_failover,
                        "synchronous_mode": self.synchronous_mode,
                        "synchronous_mode_strict": self.synchronous_mode_strict,
                        "postgresql": {"use_pg_rewind": True, "parameters": {
                            "wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                            "max_wal_senders": 10, "max_replication_slots": 10, "shared_buffers": "32MB",
                            "default_transaction_isolation": self.isolation}}},
                "initdb": [{"encoding": "UTF8"}, {"auth-local": "peer"}],
            },
            "postgresql": {
                "listen": f"{node.address}:{PORT}", "connect_address": f"{node.address}:{PORT}",
                "data_dir": f"{home}/data", "bin_dir": BIN, "pgpass": f"{home}/pgpass",
                "use_unix_socket": True, "pg_hba": hba,
                # a failed pg_rewind (seen after a demotion under load) would leave the node a replica
                # waiting forever for WAL; Patroni clones it from the leader again instead
                "remove_data_directory_on_rewind_failure": True, "remove_data_directory_on_diverged_timelines": True,
                "authentication": {"superuser": {"username": "postgres", "password": self._superuser},
                                   "replication": {"username": "replicator", "password": self._replicator},
                                   "rewind": {"username": "postgres", "password": self._superuser}},
                # the log outside the data dir: pg_basebackup would copy the leader's into a clone
                "parameters": {"unix_socket_directories": f"{home}/sock", "logging_collector": "on",
                               "log_directory": home, "log_filename": "postgres.log"},
            },
        }

    def _launch(self, node: Node) -> None:
        home = self.home(node)
        node.remote.start_daemon(DAEMON, [PATRONI, f"{home}/patroni.yml"], user="postgres",
                                 log_file=f"{home}/patroni.log", cwd=home)
        self._wait(node, "answering on its REST API", lambda: self._answers(node))

    def _answers(self, node: Node) -> str | None:
        try:
            httpx.get(f"{self._rest(node)}/patroni", timeout=1.0)
        except httpx.HTTPError as e:
            return f"{type(e).__name__}: {e}"
        return None

    def _wait_leader(self) -> Node:
        found: list[Node] = []

        def one_leader() -> str | None:
            found[:] = self.primaries(self._nodes)
            return None if len(found) == 1 else f"{len(found)} leaders"

        self._wait(self._nodes[0], "electing a leader", one_leader)
        return found[0]

    def _replicating(self, leader: Node, replicas: int) -> str | None:
        rows = psql(leader, self._sock(leader), "SELECT count(*), count(*) FILTER (WHERE sync_state IN "
                                                "('sync', 'quorum')) FROM pg_stat_replication WHERE state = "
                                                "'streaming'", timeout=5)
        streaming, sync = int(rows[0][0]), int(rows[0][1])
        if streaming < replicas:
            return f"{streaming} of {replicas} replicas streaming"
        if self.synchronous_mode and not sync:
            return "no synchronous standby yet"
        return None

    def _signal_postmaster(self, node: Node, sig: str) -> None:
        """Signal the postmaster named in ``postmaster.pid`` and every backend (whoever started it)."""
        node.remote.run(["sh", "-c", _POSTMASTER_SIGNAL, "sh", f"{self.home(node)}/data/postmaster.pid", sig],
                        check=False)

    def _wait(self, node: Node, what: str, probe) -> float:
        return wait_until(node, what, probe, timeout=self.ready_timeout, daemon=DAEMON,
                          logs=[f"{self.home(node)}/patroni.log"])
