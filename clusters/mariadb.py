"""MariaDB servers on nodes, and the ``mariadb-async`` adapter: a primary and GTID replicas.

Each node runs ``mariadbd --defaults-file=<home>/my.cnf`` with ``user=mysql`` (the server drops to
``mysql`` itself; the pid is the server's), its own datadir, socket and error log under
``<home> = <root>/<node>/<db>``. Administration goes through the node's unix socket as root with
the ``mariadb`` client (so it works the same on every backend); clients connect over TCP as
``chaos`` with a password generated per run, which never appears in a log or a result.

``mariadb-async``: n1 is the primary (binlog, GTID), the other nodes replicate from it
(``MASTER_USE_GTID=slave_pos``, read-only). Replication is asynchronous, so a failover
(:meth:`MariaDBAsync.promote`) can lose writes the primary acknowledged: the positive control for
the data-loss checkers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

import pymysql

from clusters.backend import listen_address
from clusters.endpoint import Endpoint
from clusters.remote import Node, RemoteError
from clusters.servers import (
    DBSetupError,
    LogFiles,
    check_binaries,
    check_ports_free,
    log_tail,
    new_password,
    stop_daemon,
    wait_until,
    write_file,
)

__all__ = ["ISOLATION_LEVELS", "MariaDB", "MariaDBAsync", "MariaDBServers"]

DAEMON = "mariadbd"
PORT = 3306
MARIADBD = "/usr/sbin/mariadbd"
ISOLATION_LEVELS = ("READ-UNCOMMITTED", "READ-COMMITTED", "REPEATABLE-READ", "SERIALIZABLE")
CLIENT_USER = "chaos"
CLIENT_DATABASES = ("jepsen", "chaoscert")  # chaoscert: the bank workload's
BINARIES = {MARIADBD: "mariadb-server", "mariadb-install-db": "mariadb-server", "mariadb": "mariadb-client"}


class MariaDBServers(LogFiles):
    """The parts Galera and async replication share: config, install, start, SQL, kill, pause, logs."""

    name = "mariadb"
    binaries = BINARIES

    def __init__(self, root: str, *, isolation: str = "REPEATABLE-READ", ready_timeout: float = 60.0,
                 settings: Mapping[str, str | int | bool] | None = None) -> None:
        if isolation.upper() not in ISOLATION_LEVELS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {isolation!r}")
        for key in settings or {}:
            if not re.fullmatch(r"[a-z_][a-z0-9_-]*", key):
                raise ValueError(f"settings: {key!r} is not a server variable name")
        self.root = str(root)
        self.settings = {k: ("ON" if v else "OFF") if isinstance(v, bool) else v for k, v in (settings or {}).items()}
        self.isolation = isolation.upper()
        self.ready_timeout = ready_timeout
        self._password = new_password()
        self._nodes: list[Node] = []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(root={self.root!r}, isolation={self.isolation!r})"

    # ---------------------------------------------------------------- paths
    def home(self, node: Node) -> str:
        return f"{self.root}/{node.name}/{self.name}"

    def cnf(self, node: Node) -> str:
        return f"{self.home(node)}/my.cnf"

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, PORT, CLIENT_USER, self._password)

    def log_files(self, node: Node) -> dict[str, str]:
        home = self.home(node)
        return {"error.log": f"{home}/error.log", "stdout.log": f"{home}/stdout.log",
                "recover.log": f"{home}/recover.log", "my.cnf": self.cnf(node)}

    def _logs(self, node: Node) -> list[str]:
        return [f"{self.home(node)}/error.log", f"{self.home(node)}/stdout.log"]

    # ---------------------------------------------------------------- config and install
    def extra_config(self, node: Node, index: int, nodes: Sequence[Node]) -> str:
        """Lines for the ``[mariadbd]`` section that only this kind of cluster needs."""
        return ""

    def prepare(self, nodes: Sequence[Node], *, install: Sequence[Node]) -> None:
        """Check binaries and ports, write every node's config, run mariadb-install-db on ``install``."""
        self._nodes = list(nodes)
        for index, node in enumerate(nodes):
            check_binaries(node, self.binaries)
            check_ports_free(node, [PORT])
            home = self.home(node)
            node.remote.run(["rm", "-rf", "--", f"{home}/data"])
            node.remote.run(["mkdir", "-p", f"{home}/data"])
            write_file(node, self.cnf(node), f"""[mariadbd]
user=mysql
datadir={home}/data
socket={home}/mysqld.sock
pid-file={home}/mysqld.pid
log-error={home}/error.log
bind-address={listen_address(node, "0.0.0.0")}
port={PORT}
skip-name-resolve
transaction-isolation={self.isolation}
default_storage_engine=InnoDB
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
performance_schema=OFF
binlog_format=ROW
{self._settings_lines()}{self.extra_config(node, index, nodes)}
[client]
socket={home}/mysqld.sock
""")
            if node in install:
                node.remote.run(["mariadb-install-db", f"--defaults-file={self.cnf(node)}",
                                 "--auth-root-authentication-method=socket", "--skip-test-db"], timeout=120)
            node.remote.run(["chown", "-R", "mysql:mysql", home])
            if not node.remote.run(["test", "-w", f"{home}/data"], user="mysql", check=False).ok:
                raise DBSetupError(f"{node.name}: user mysql cannot write {home}/data: a parent folder is not "
                                   "searchable by others (chmod o+x it, or use a run dir under /var/tmp)")

    def _settings_lines(self) -> str:
        return "".join(f"{k}={v}\n" for k, v in self.settings.items())

    def create_client_user(self, node: Node) -> None:
        """``chaos`` may do anything in the test databases and nothing else (so read_only binds it)."""
        grants = "".join(f"GRANT ALL ON {db}.* TO '{CLIENT_USER}'@'%';" for db in CLIENT_DATABASES)
        self.sql(node, "CREATE DATABASE IF NOT EXISTS jepsen;"
                       f"CREATE USER IF NOT EXISTS '{CLIENT_USER}'@'%' IDENTIFIED BY '{self._password}';" + grants)

    # ---------------------------------------------------------------- running
    def launch(self, node: Node, *args: str) -> None:
        """Start mariadbd (after the previous one fully exited) with extra arguments."""
        if not node.remote.wait_stopped(DAEMON, 30):
            raise DBSetupError(f"{node.name}: the previous mariadbd did not exit")
        node.remote.start_daemon(DAEMON, [MARIADBD, f"--defaults-file={self.cnf(node)}", *args],
                                 log_file=f"{self.home(node)}/stdout.log")

    def sql(self, node: Node, statements: str, *, timeout: float = 30.0) -> list[list[str]]:
        """Run SQL as root over the node's socket; rows as lists of strings (statements on stdin,
        so a password in them is never part of a command line or an error message)."""
        done = node.remote.run(["mariadb", f"--defaults-file={self.cnf(node)}", "-uroot", "-NB"],
                               input=statements, timeout=timeout, check=False)
        if not done.ok:
            raise RemoteError(f"{node.name}: SQL failed: {done.stderr.strip()[-300:]}")
        return [line.split("\t") for line in done.stdout.splitlines()]

    def status(self, node: Node, *names: str) -> dict[str, str]:
        quoted = ",".join(f"'{n}'" for n in names)
        rows = self.sql(node, f"SHOW GLOBAL STATUS WHERE Variable_name IN ({quoted})", timeout=10)
        return {row[0]: row[1] for row in rows if len(row) == 2}

    def clock_offset(self, node: Node) -> float:
        """Seconds the server's ``NOW(6)`` is ahead of this machine's clock, as a client over TCP sees it
        (ReadsClock): the reading is placed at the midpoint of the query's round trip."""
        e = self.endpoint(node)
        conn = pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=5,
                               read_timeout=5, write_timeout=5)
        with conn, conn.cursor() as cur:
            sent = time.time()
            cur.execute("SELECT UNIX_TIMESTAMP(NOW(6))")
            (seen,) = cur.fetchone()
            return float(seen) - (sent + time.time()) / 2

    def wait(self, node: Node, what: str, probe, timeout: float | None = None) -> float:
        return wait_until(node, what, probe, timeout=timeout or self.ready_timeout, daemon=DAEMON,
                          logs=self._logs(node))

    def _answers(self, node: Node) -> str | None:
        done = node.remote.run(["mariadb", f"--defaults-file={self.cnf(node)}", "-uroot", "-NBe", "SELECT 1"],
                               check=False, timeout=10)
        return None if done.ok else done.stderr.strip()[-200:] or "no answer"

    # ---------------------------------------------------------------- abilities
    def kill(self, node: Node) -> None:
        node.remote.signal(DAEMON, "KILL")

    def pause(self, node: Node) -> None:
        node.remote.signal(DAEMON, "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal(DAEMON, "CONT")

    def is_running(self, node: Node) -> bool:
        return node.remote.is_running(DAEMON)

    def teardown(self, nodes: Sequence[Node]) -> None:
        errors = []
        for node in nodes:
            try:
                stop_daemon(node, DAEMON)
                node.remote.run(["rm", "-rf", "--", f"{self.home(node)}/data"])
            except (RemoteError, DBSetupError) as e:
                errors.append(str(e))
        if errors:
            raise DBSetupError("; ".join(errors))

    def log_tail(self, node: Node) -> str:
        return log_tail(node, self._logs(node))


class MariaDB(MariaDBServers):
    """One server: the subject of the isolation controls (``settings`` such as
    ``{"innodb_snapshot_isolation": True}`` go into its ``[mariadbd]`` section)."""

    name = "mariadb"

    def setup(self, nodes: Sequence[Node]) -> None:
        if len(nodes) != 1:
            raise ValueError(f"mariadb is a single server: 1 node, not {len(nodes)} (galera or mariadb-async for more)")
        try:
            self.prepare(nodes, install=nodes)
            self.start(nodes[0])
            self.create_client_user(nodes[0])
        except BaseException:
            self.teardown(nodes)
            raise

    def start(self, node: Node) -> None:
        if self.is_running(node):
            return
        self.launch(node)
        self.wait(node, "answering SQL", lambda: self._answers(node))

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        return [n for n in nodes if self.is_running(n)]


class MariaDBAsync(MariaDBServers):
    """A primary (n1) and asynchronous GTID replicas (the other nodes); failover = :meth:`promote`."""

    name = "mariadb-async"

    def __init__(self, root: str, **options) -> None:
        super().__init__(root, **options)
        self._repl_password = new_password()
        self._primary: Node | None = None
        self._replicas: set[str] = set()  # names of the nodes set up to replicate

    def extra_config(self, node: Node, index: int, nodes: Sequence[Node]) -> str:
        lines = [f"server_id={index + 1}", "log_bin=mysql-bin", "log_slave_updates=ON", "gtid_strict_mode=ON"]
        if index > 0:
            lines.append("read_only=ON")
        return "\n".join(lines) + "\n"

    def setup(self, nodes: Sequence[Node]) -> None:
        if len(nodes) < 2:
            raise ValueError("mariadb-async needs at least 2 nodes (a primary and a replica)")
        try:
            self.prepare(nodes, install=nodes)
            primary, replicas = nodes[0], nodes[1:]
            self._primary = primary
            for node in nodes:
                self.launch(node)
            for node in nodes:
                self.wait(node, "answering SQL", lambda node=node: self._answers(node))
            self.create_client_user(primary)
            self.sql(primary, f"CREATE USER 'repl'@'%' IDENTIFIED BY '{self._repl_password}';"
                              "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';")
            for node in replicas:
                self.replicate(node, primary)
        except BaseException:
            self.teardown(nodes)
            raise

    def replicate(self, node: Node, primary: Node) -> None:
        """Make ``node`` a read-only replica of ``primary`` and wait until both threads run."""
        self.sql(node, "STOP SLAVE; SET GLOBAL read_only=ON;"
                       f"CHANGE MASTER TO MASTER_HOST='{primary.address}', MASTER_PORT={PORT}, MASTER_USER='repl', "
                       f"MASTER_PASSWORD='{self._repl_password}', MASTER_USE_GTID=slave_pos, "
                       "MASTER_CONNECT_RETRY=1; START SLAVE;")
        self._replicas.add(node.name)
        self.wait(node, "replicating", lambda: self._replicating(node))

    def _slave_status(self, node: Node) -> dict[str, str]:
        """``SHOW SLAVE STATUS`` as field -> value (empty when the node is not a replica or is down)."""
        done = node.remote.run(["mariadb", f"--defaults-file={self.cnf(node)}", "-uroot", "-e", "SHOW SLAVE STATUS\\G"],
                               check=False, timeout=10)
        rows = (line.partition(":") for line in done.stdout.splitlines())
        return {key.strip(): value.strip() for key, _, value in rows}

    def _replicating(self, node: Node) -> str | None:
        fields = self._slave_status(node)
        if fields.get("Slave_IO_Running") == "Yes" and fields.get("Slave_SQL_Running") == "Yes":
            return None
        return f"IO {fields.get('Slave_IO_Running')}, SQL {fields.get('Slave_SQL_Running')}: " \
               f"{fields.get('Last_IO_Error') or fields.get('Last_SQL_Error') or ''}"

    def start(self, node: Node) -> None:
        """Restart mariadbd on ``node``; a replica resumes replicating by itself. An old primary
        restarted after a failover is nobody's replica: it comes back writable (not fenced)."""
        if self.is_running(node):
            return
        self.launch(node)
        self.wait(node, "answering SQL", lambda: self._answers(node))
        if node.name in self._replicas:
            self.wait(node, "replicating", lambda: self._replicating(node))

    def promote(self, node: Node, apply_timeout: float = 30.0) -> None:
        """Failover: ``node`` stops fetching from the old primary, applies every event it had already
        received (bounded by ``apply_timeout``), and becomes the writable primary; the old primary is
        not fenced. What is lost is what async replication loses: events never shipped."""
        self.sql(node, "STOP SLAVE IO_THREAD")
        received = self._slave_status(node).get("Gtid_IO_Pos")
        if received:
            self.sql(node, f"SELECT MASTER_GTID_WAIT('{received}', {apply_timeout:g})", timeout=apply_timeout + 10)
        self.sql(node, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=OFF;")
        self._replicas.discard(node.name)
        self._primary = node

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Running nodes that accept writes (read_only off)."""
        found = []
        for node in nodes:
            try:
                if self.sql(node, "SELECT @@global.read_only", timeout=5) == [["0"]]:
                    found.append(node)
            except RemoteError:
                continue
        return found

    def wait_caught_up(self, node: Node, timeout: float = 30.0) -> float:
        """Wait until replica ``node`` has applied the primary's current GTID position."""
        assert self._primary is not None
        pos = self.sql(self._primary, "SELECT @@global.gtid_binlog_pos")[0][0]
        started = time.monotonic()
        if self.sql(node, f"SELECT MASTER_GTID_WAIT('{pos}', {timeout:g})", timeout=timeout + 5) != [["0"]]:
            raise DBSetupError(f"{node.name}: replica did not reach {pos} within {timeout:g} s")
        return time.monotonic() - started
