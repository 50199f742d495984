"""The seekdb adapter: OceanBase's single-binary server (OceanBase 4.3 kernel, MySQL protocol).

The ``seekdb`` binary ships in PyPI's ``pylibseekdb`` wheel (with the ``libaio.so.1`` it needs).
Each node runs one server with its own base dir ``<root>/<node>/seekdb``::

    seekdb --nodaemon --base-dir DIR --port P --parameter datafile_size=1G \\
           --parameter log_disk_size=2G --parameter memory_budget=2G

User ``root``, empty password. A node is ready when a client can connect and ``SELECT 1``; a
node that dies or never becomes ready raises an error carrying its last log lines. Restarting
after ``kill -9`` first waits until the old process is fully gone: seekdb's thread-group leader
turns zombie while its threads still hold the base dir (recipes 5.1).
"""

from __future__ import annotations

import importlib.util
import os
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pymysql

from clusters.backend import FreePorts
from clusters.endpoint import Endpoint
from clusters.remote import Node, RemoteError

__all__ = ["SeekDB", "SeekDBError", "seekdb_binary"]

DAEMON = "seekdb"
DEFAULT_PORT = 2881
RPC_PORT = 2882


class SeekDBError(RuntimeError):
    """A seekdb node failed to start, become ready or stop; the message carries its log tail."""


def seekdb_binary() -> Path:
    """The ``seekdb`` server binary inside the installed ``pylibseekdb`` wheel (made executable)."""
    spec = importlib.util.find_spec("pylibseekdb")
    if spec is None or not spec.submodule_search_locations:
        raise SeekDBError("pylibseekdb is not installed: pip install 'chaoscert[seekdb]'")
    binary = Path(next(iter(spec.submodule_search_locations))) / "seekdb"
    if not binary.is_file():
        raise SeekDBError(f"pylibseekdb has no seekdb binary at {binary}")
    if not os.access(binary, os.X_OK):
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return binary


@dataclass(frozen=True)
class _Place:
    base_dir: str
    port: int
    stdout: str
    binary: str
    extra: tuple[str, ...] = ()


class SeekDB:
    """seekdb on N nodes: independent single-node servers, or with ``standby=True`` a primary (n1)
    and a physical standby (n2) replicating from it asynchronously (recipes 5.2-5.4)."""

    name = "seekdb"

    def __init__(self, root: Path, *, datafile_size: str = "1G", log_disk_size: str = "2G",
                 memory_budget: str = "2G", ready_timeout: float = 60.0, stop_timeout: float = 30.0,
                 binary: Path | None = None, standby: bool = False) -> None:
        self.root = root
        self.standby = standby
        self.parameters = {"datafile_size": datafile_size, "log_disk_size": log_disk_size,
                           "memory_budget": memory_budget}
        self.ready_timeout, self.stop_timeout = ready_timeout, stop_timeout
        self._binary = binary
        self._places: dict[str, _Place] = {}

    # ------------------------------------------------------------------ DB
    def setup(self, nodes: Sequence[Node]) -> None:
        binary = self._binary or seekdb_binary()
        self._binary = binary
        if self.standby and len(nodes) != 2:
            raise ValueError(f"seekdb with a standby needs exactly 2 nodes, not {len(nodes)}")
        started: list[Node] = []
        try:
            for index, node in enumerate(nodes):
                home = f"{self.root}/{node.name}/seekdb"
                node.remote.run(["mkdir", "-p", home])
                port = node.remote.free_port() if isinstance(node.remote, FreePorts) else DEFAULT_PORT
                extra: tuple[str, ...] = ()
                if self.standby:
                    extra = ("--parameter", "enable_rpc_service=true", "--parameter", f"rpc_port={RPC_PORT}")
                    if index == 1:
                        self._freeze(nodes[0])  # else rows written before the standby exist never become readable
                        extra = ("--role", "STANDBY", *extra, "--parameter",
                                 f"log_restore_source={nodes[0].address}:{RPC_PORT}")
                self._places[node.name] = _Place(f"{home}/base", port, f"{home}/seekdb.stdout",
                                                 self._ship(node, binary, home), extra)
                started.append(node)
                if self.standby and index == 1:
                    self._start_standby(node)
                else:
                    self.start(node)
        except BaseException:
            self.teardown(started)
            raise

    def teardown(self, nodes: Sequence[Node]) -> None:
        errors = []
        for node in nodes:
            try:
                self._stop(node)
                home = f"{self.root}/{node.name}/seekdb"
                node.remote.run(["rm", "-rf", "--", f"{home}/base", f"{home}/bin"])
            except (RemoteError, SeekDBError) as e:
                errors.append(str(e))
        if errors:
            raise SeekDBError("; ".join(errors))

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, self._place(node).port)

    # ------------------------------------------------------------------ Killable
    def kill(self, node: Node) -> None:
        node.remote.signal(DAEMON, "KILL")

    def start(self, node: Node) -> None:
        """Start seekdb on ``node`` (after the previous process is fully gone) and wait until ready."""
        place = self._place(node)
        if node.remote.is_running(DAEMON):
            return
        if not node.remote.wait_stopped(DAEMON, self.stop_timeout):
            raise SeekDBError(f"{node.name}: the previous seekdb did not exit within {self.stop_timeout} s")
        argv = [place.binary, "--nodaemon", "--base-dir", place.base_dir, "--port", str(place.port), *place.extra]
        for key, value in self.parameters.items():
            argv += ["--parameter", f"{key}={value}"]
        node.remote.start_daemon(DAEMON, argv, log_file=place.stdout)
        self._wait_ready(node)

    # ------------------------------------------------------------------ primary/standby
    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Running nodes whose role is PRIMARY (both, after a failover whose old primary restarted)."""
        found = []
        for node in nodes:
            try:
                if self.role(node) == "PRIMARY":
                    found.append(node)
            except (pymysql.err.MySQLError, SeekDBError):
                continue
        return found

    def role(self, node: Node) -> str:
        return self._sql(node, "SELECT role FROM oceanbase.__all_virtual_server_stat")[0][0]

    def promote(self, standby: Node) -> None:
        """``ALTER SYSTEM ACTIVATE STANDBY``: the standby becomes primary at once (acknowledged writes
        not yet shipped are lost; the old primary, restarted, comes back PRIMARY too: split brain)."""
        self._sql(standby, "ALTER SYSTEM ACTIVATE STANDBY")

    def switchover(self, primary: Node, standby: Node) -> None:
        """Planned role swap: the primary becomes standby, then the standby becomes primary."""
        self._sql(primary, "ALTER SYSTEM SWITCHOVER TO STANDBY")
        self._sql(standby, "ALTER SYSTEM SWITCHOVER TO PRIMARY")

    def _start_standby(self, node: Node, timeout: float = 180.0) -> None:
        """Bootstrap the standby, from an empty base dir each try, until ``timeout``.

        A primary that has only just started refuses a standby's bootstrap for a while (the standby
        exits with OB_EAGAIN, -4023: still refused 3 s after the primary answered SQL, accepted after
        15 s), and on a loaded machine the baseline copy can time out (-4012); both pass on a later try.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start(node)
                return
            except SeekDBError:
                if time.monotonic() > deadline:
                    raise
            self._stop(node)
            node.remote.run(["rm", "-rf", "--", self._place(node).base_dir])
            time.sleep(2)

    def _freeze(self, node: Node, timeout: float = 120.0) -> None:
        """Major compaction on ``node``, waited for (bounded)."""
        self._sql(node, "ALTER SYSTEM MAJOR FREEZE")
        deadline = time.monotonic() + timeout
        query = "SELECT frozen_scn, global_broadcast_scn, last_scn FROM oceanbase.DBA_OB_MAJOR_COMPACTION"
        while time.monotonic() < deadline:
            row = self._sql(node, query)[0]
            if row[0] == row[1] == row[2]:
                return
            time.sleep(0.5)
        raise SeekDBError(f"{node.name}: major compaction did not finish within {timeout:g} s")

    def _sql(self, node: Node, statement: str) -> list[tuple]:
        e = self.endpoint(node)
        conn = pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=2,
                               read_timeout=30, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(statement)
                return list(cur.fetchall())
        finally:
            conn.close()

    @staticmethod
    def _ship(node: Node, binary: Path, home: str) -> str:
        """The binary's path on ``node``: this machine's when the node sees it (local, netns), else
        a copy (with the libaio it loads from its own folder) uploaded into ``home/bin``."""
        if node.remote.run(["test", "-x", str(binary)], check=False).ok:
            return str(binary)
        target = f"{home}/bin"
        node.remote.run(["mkdir", "-p", target])
        for name in ("seekdb", "libaio.so.1"):
            node.remote.upload(binary.parent / name, f"{target}/{name}")
        node.remote.run(["chmod", "755", f"{target}/seekdb"])
        return f"{target}/seekdb"

    # ------------------------------------------------------------------ Pausable
    def pause(self, node: Node) -> None:
        node.remote.signal(DAEMON, "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal(DAEMON, "CONT")

    # ------------------------------------------------------------------ HasLogFiles
    def log_files(self, node: Node) -> dict[str, str]:
        place = self._place(node)
        return {"seekdb.log": f"{place.base_dir}/log/seekdb.log", "seekdb.stdout": place.stdout}

    def collect_logs(self, node: Node, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        for local, remote in self.log_files(node).items():
            try:
                node.remote.download(remote, into / local)
            except (OSError, RemoteError):
                continue  # a node that never started has no server log

    # ------------------------------------------------------------------ helpers
    def is_running(self, node: Node) -> bool:
        return node.remote.is_running(DAEMON)

    def _place(self, node: Node) -> _Place:
        try:
            return self._places[node.name]
        except KeyError:
            raise SeekDBError(f"{node.name}: seekdb was not set up on this node") from None

    def _wait_ready(self, node: Node) -> None:
        """Poll with short connects until ``SELECT 1`` answers; fail fast if the process died."""
        endpoint = self.endpoint(node)
        deadline = time.monotonic() + self.ready_timeout
        last_error = "no attempt"
        while time.monotonic() < deadline:
            if not node.remote.is_running(DAEMON):
                raise SeekDBError(f"{node.name}: seekdb exited while starting; last log lines:\n"
                                  f"{self._log_tail(node)}")
            try:
                conn = pymysql.connect(host=endpoint.host, port=endpoint.port, user=endpoint.user,
                                       password=endpoint.password, connect_timeout=1, read_timeout=2)
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT 1")
                    return
                finally:
                    conn.close()
            except pymysql.err.MySQLError as e:
                last_error = str(e)
                time.sleep(0.1)
        raise SeekDBError(f"{node.name}: seekdb not ready after {self.ready_timeout} s ({last_error}); "
                          f"last log lines:\n{self._log_tail(node)}")

    def _log_tail(self, node: Node, lines: int = 15) -> str:
        tails = []
        for path in self.log_files(node).values():
            result = node.remote.run(["tail", "-n", str(lines), path], check=False)
            if result.ok and result.stdout.strip():
                tails.append(f"== {path}\n{result.stdout.rstrip()}")
        return "\n".join(tails) or "(no log)"

    def _stop(self, node: Node) -> None:
        """SIGTERM, then SIGKILL if it lingers; returns once the process is fully gone."""
        if node.name not in self._places:
            return
        for sig, wait in (("CONT", 0.0), ("TERM", 10.0), ("KILL", self.stop_timeout)):
            if not node.remote.is_running(DAEMON):
                break
            try:
                node.remote.signal(DAEMON, sig)
            except RemoteError:
                break  # exited between the check and the signal
            if wait and node.remote.wait_stopped(DAEMON, wait):
                return
        if not node.remote.wait_stopped(DAEMON, self.stop_timeout):
            raise SeekDBError(f"{node.name}: seekdb did not exit")
