"""The ``postgres`` adapter: PostgreSQL 15, a primary (n1) and streaming replicas (the other nodes).

Every server runs as ``postgres`` (``setpriv``, so the pid is the postmaster's) with its own data
dir and unix socket dir under ``<home> = <root>/<node>/postgres`` (a shared socket dir makes the
second server fail on the lock file when nodes share a filesystem). The primary is made by
``initdb``; each replica by ``pg_basebackup -R`` from it, as the ``replicator`` role, which only the
nodes' own addresses may use. Clients log in as ``chaos`` with a password generated per run
(scram-sha-256) to the database ``jepsen``.

Options: ``synchronous`` (``synchronous_standby_names='*'``: a commit waits for a replica),
``isolation`` (``default_transaction_isolation``), ``settings`` (more postgresql.conf lines, e.g.
``{"deadlock_timeout": "20ms"}``). One node is a lone primary. Failover is :meth:`Postgres.promote` on a replica.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from clusters.backend import FreePorts, listen_address
from clusters.endpoint import Endpoint
from clusters.remote import Node, RemoteError
from clusters.servers import (
    DBSetupError,
    LogFiles,
    check_binaries,
    check_ports_free,
    new_password,
    stop_daemon,
    wait_until,
)

__all__ = ["Postgres", "psql"]

DAEMON = "postgres"
PORT = 5432
BIN = "/usr/lib/postgresql/15/bin"
ISOLATION_LEVELS = ("read committed", "repeatable read", "serializable")
CLIENT_USER = "chaos"


def psql(node: Node, socket_dir: str, statements: str, *, timeout: float = 30.0) -> list[list[str]]:
    """Run SQL as ``postgres`` over the node's socket (on stdin: no secret on a command line); rows of fields."""
    done = node.remote.run([f"{BIN}/psql", "-h", socket_dir, "-p", str(PORT), "-U", "postgres",
                            "-d", "postgres", "-XAtq", "-F", "\t", "-v", "ON_ERROR_STOP=1"],
                           input=statements, user="postgres", timeout=timeout, check=False)
    if not done.ok:
        raise RemoteError(f"{node.name}: SQL failed: {done.stderr.strip()[-300:]}")
    return [line.split("\t") for line in done.stdout.splitlines()]


class Postgres(LogFiles):
    name = "postgres"

    def __init__(self, root: str, *, synchronous: bool = False, isolation: str = "read committed",
                 ready_timeout: float = 30.0, settings: Mapping[str, str | int] | None = None) -> None:
        if isolation.lower() not in ISOLATION_LEVELS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {isolation!r}")
        for key, value in (settings or {}).items():
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", key) or "'" in str(value):
                raise ValueError(f"settings: {key} = {value!r} is not a plain server setting")
        self.settings = dict(settings or {})
        self.root = str(root)
        self.synchronous, self.isolation = synchronous, isolation.lower()
        self.ready_timeout = ready_timeout
        self._password = new_password()
        self._nodes: list[Node] = []

    def __repr__(self) -> str:
        return f"Postgres(root={self.root!r}, synchronous={self.synchronous}, isolation={self.isolation!r})"

    def home(self, node: Node) -> str:
        return f"{self.root}/{node.name}/postgres"

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, PORT, CLIENT_USER, self._password)

    def log_files(self, node: Node) -> dict[str, str]:
        data = f"{self.home(node)}/data"
        return {"postgres.log": f"{self.home(node)}/postgres.log", "postgresql.conf": f"{data}/postgresql.conf",
                "postgresql.auto.conf": f"{data}/postgresql.auto.conf"}

    # ---------------------------------------------------------------- DB
    def setup(self, nodes: Sequence[Node]) -> None:
        if not nodes:
            raise ValueError("postgres needs a node (a primary; the others become replicas)")
        self._nodes = list(nodes)
        primary, replicas = nodes[0], nodes[1:]
        try:
            for node in nodes:
                check_binaries(node, {f"{BIN}/{b}": "postgresql-15" for b in ("postgres", "initdb", "pg_basebackup",
                                                                                "psql")})
                check_ports_free(node, [PORT])
                home = self.home(node)
                node.remote.run(["rm", "-rf", "--", f"{home}/data"])
                node.remote.run(["mkdir", "-p", f"{home}/sock"])
                node.remote.run(["chown", "-R", "postgres:postgres", home])
                if not node.remote.run(["test", "-w", home], user="postgres", check=False).ok:
                    raise DBSetupError(f"{node.name}: user postgres cannot write {home}: a parent folder is not "
                                       "searchable by others (chmod o+x it, or use a run dir under /var/tmp)")
            self._init_primary(primary)
            for node in replicas:
                self._clone(node, primary)
            self._wait(primary, "streaming to every replica", lambda: self._streaming(primary, len(replicas)))
            if self.synchronous:  # only now: with no replica yet, every commit would wait forever
                self.sql(primary, "ALTER SYSTEM SET synchronous_standby_names = '*'; SELECT pg_reload_conf();")
        except BaseException:
            self.teardown(nodes)
            raise

    def _init_primary(self, node: Node) -> None:
        home, data = self.home(node), f"{self.home(node)}/data"
        node.remote.run([f"{BIN}/initdb", "-D", data, "-U", "postgres", "--auth-local=peer",
                         "--auth-host=scram-sha-256", "-N"], user="postgres", timeout=120)
        conf = [f"listen_addresses = '{listen_address(node, '*')}'", f"port = {PORT}",
                f"unix_socket_directories = '{home}/sock'",
                "wal_level = replica", "max_wal_senders = 10", "hot_standby = on", "shared_buffers = 32MB",
                f"default_transaction_isolation = '{self.isolation}'",
                *(f"{k} = '{v}'" for k, v in self.settings.items())]
        node.remote.run(["sh", "-c", 'cat >>"$1"', "sh", f"{data}/postgresql.conf"], input="\n".join(conf) + "\n",
                        user="postgres")
        sources = [n.address for n in self._nodes]
        if any(isinstance(n.remote, FreePorts) for n in self._nodes):
            sources.append("127.0.0.1")  # processes of this machine connect to 127.0.0.x from there
        hba = "".join(f"host replication replicator {a}/32 trust\n" for a in sources)
        hba += f"host all {CLIENT_USER} 0.0.0.0/0 scram-sha-256\n"
        # before initdb's lines: the first matching line decides, and initdb's ask 127.0.0.1 for a password
        node.remote.run(["sh", "-c", '{ cat; cat "$1"; } >"$1.new" && mv "$1.new" "$1"', "sh", f"{data}/pg_hba.conf"],
                        input=hba, user="postgres")
        self._launch(node)
        self.sql(node, f"CREATE ROLE replicator WITH REPLICATION LOGIN;"
                       f"CREATE ROLE {CLIENT_USER} WITH LOGIN CREATEDB PASSWORD '{self._password}';"
                       f"CREATE DATABASE jepsen OWNER {CLIENT_USER};")

    def _clone(self, node: Node, primary: Node) -> None:
        data = f"{self.home(node)}/data"
        node.remote.run([f"{BIN}/pg_basebackup", "-h", primary.address, "-p", str(PORT), "-U", "replicator",
                         "-D", data, "-R", "-X", "stream", "-c", "fast", "-w"], user="postgres", timeout=120)
        node.remote.run(["sh", "-c", 'cat >>"$1"', "sh", f"{data}/postgresql.conf"], user="postgres",
                        input=f"unix_socket_directories = '{self.home(node)}/sock'\n"
                              f"listen_addresses = '{listen_address(node, '*')}'\n")
        self._launch(node)

    def teardown(self, nodes: Sequence[Node]) -> None:
        errors = []
        for node in nodes:
            try:
                stop_daemon(node, DAEMON, term="INT")
                node.remote.run(["rm", "-rf", "--", f"{self.home(node)}/data"])
            except (RemoteError, DBSetupError) as e:
                errors.append(str(e))
        if errors:
            raise DBSetupError("; ".join(errors))

    # ---------------------------------------------------------------- abilities
    def kill(self, node: Node) -> None:
        node.remote.signal(DAEMON, "KILL")  # the whole process tree: postmaster and backends

    def start(self, node: Node) -> None:
        if node.remote.is_running(DAEMON):
            return
        if not node.remote.wait_stopped(DAEMON, 30):
            raise DBSetupError(f"{node.name}: the previous postmaster did not exit")
        # A killed postmaster may linger as a zombie (if the node's init is slow to reap), and
        # postgres takes a zombie's pid in its lock files for a live server: they are stale.
        home = self.home(node)
        node.remote.run(["rm", "-f", f"{home}/data/postmaster.pid", f"{home}/sock/.s.PGSQL.{PORT}.lock"])
        self._launch(node)

    def pause(self, node: Node) -> None:
        """SIGSTOP the postmaster and every backend (each in a session of its own)."""
        node.remote.signal(DAEMON, "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal(DAEMON, "CONT")

    def promote(self, node: Node) -> None:
        """Failover: make replica ``node`` a writable primary (the old primary is not fenced)."""
        if self.sql(node, "SELECT pg_promote(true, 30)", timeout=40) != [["t"]]:
            raise DBSetupError(f"{node.name}: pg_promote did not finish within 30 s")

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Running nodes not in recovery (more than one after a failover without fencing)."""
        found = []
        for node in nodes:
            try:
                if self.sql(node, "SELECT pg_is_in_recovery()", timeout=5) == [["f"]]:
                    found.append(node)
            except RemoteError:
                continue
        return found

    def sql(self, node: Node, statements: str, *, timeout: float = 30.0) -> list[list[str]]:
        return psql(node, f"{self.home(node)}/sock", statements, timeout=timeout)

    # ---------------------------------------------------------------- helpers
    def _launch(self, node: Node) -> None:
        node.remote.start_daemon(DAEMON, [f"{BIN}/postgres", "-D", f"{self.home(node)}/data"], user="postgres",
                                 log_file=f"{self.home(node)}/postgres.log")
        self._wait(node, "accepting connections", lambda: self._answers(node))

    def _answers(self, node: Node) -> str | None:
        try:
            self.sql(node, "SELECT 1", timeout=5)
        except RemoteError as e:
            return str(e)
        return None

    def _streaming(self, primary: Node, replicas: int) -> str | None:
        rows = self.sql(primary, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
        return None if rows == [[str(replicas)]] else f"{rows[0][0]} of {replicas} replicas streaming"

    def _wait(self, node: Node, what: str, probe) -> float:
        return wait_until(node, what, probe, timeout=self.ready_timeout, daemon=DAEMON,
                          logs=[f"{self.home(node)}/postgres.log"])
