"""Real PostgreSQL and etcd servers on the local backend, for workload tests until the ``dbs``
branch's adapters land (then these give way to them). Each node runs an independent single-node
server on its loopback address; kill / start / pause / resume act on the real process."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import psycopg

from clusters.endpoint import Endpoint
from clusters.remote import Node

PGBIN = Path("/usr/lib/postgresql/15/bin")


def have_postgres() -> bool:
    return (PGBIN / "postgres").exists()


def have_etcd() -> bool:
    return shutil.which("etcd") is not None


class _Local:
    name = "local"
    daemon = "server"
    user: str | None = None

    def __init__(self, root: Path) -> None:
        self.root = root
        self._ports: dict[str, int] = {}

    def home(self, node: Node) -> Path:
        return self.root / node.name / self.name

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, self._ports[node.name], user="postgres")

    def setup(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            self._ports[node.name] = node.remote.free_port()  # type: ignore[attr-defined]
            self.home(node).mkdir(parents=True)
            self.prepare(node)
            self.start(node)

    def prepare(self, node: Node) -> None: ...

    def argv(self, node: Node) -> list[str]:
        raise NotImplementedError

    def ready(self, node: Node) -> bool:
        raise NotImplementedError

    def start(self, node: Node) -> None:
        if node.remote.is_running(self.daemon):
            return
        node.remote.wait_stopped(self.daemon, 30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not node.remote.is_running(self.daemon):  # (re)start: a killed server's children may linger
                node.remote.start_daemon(self.daemon, self.argv(node), log_file=str(self.home(node) / "server.log"),
                                         user=self.user)
            if self.ready(node):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{node.name}: {self.name} not ready in 30 s")

    def kill(self, node: Node) -> None:
        node.remote.signal(self.daemon, "KILL")

    def pause(self, node: Node) -> None:
        node.remote.signal(self.daemon, "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal(self.daemon, "CONT")

    def collect_logs(self, node: Node, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        log = self.home(node) / "server.log"
        if log.exists():
            shutil.copy(log, into / "server.log")

    def teardown(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            if node.name in self._ports:
                if node.remote.is_running(self.daemon):
                    self.resume(node)
                    self.kill(node)
                node.remote.wait_stopped(self.daemon, 30)
                shutil.rmtree(self.home(node), ignore_errors=True)


class LocalPostgres(_Local):
    name = "postgres"
    daemon = "postgres"
    protocol = "postgres"

    def __init__(self, root: Path) -> None:
        super().__init__(Path(tempfile.mkdtemp(prefix="chaoscert-wl-pg-")))  # readable by user postgres
        self.root.chmod(0o755)

    def teardown(self, nodes: Sequence[Node]) -> None:
        super().teardown(nodes)
        shutil.rmtree(self.root, ignore_errors=True)

    def prepare(self, node: Node) -> None:
        node.remote.run(["chmod", "755", str(self.root / node.name)])
        node.remote.run(["chown", "postgres", str(self.home(node))])
        data = self.home(node) / "data"
        node.remote.run([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-N"],
                        user="postgres")
        with open(data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(f"listen_addresses = '{node.address}'\nport = {self._ports[node.name]}\n"
                       f"unix_socket_directories = '{self.home(node)}'\nshared_buffers = 32MB\n"
                       "deadlock_timeout = 20ms\nmax_connections = 100\n")

    def argv(self, node: Node) -> list[str]:  # setpriv execs: the daemon's pid is the postmaster's
        return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups",
                str(PGBIN / "postgres"), "-D", str(self.home(node) / "data")]

    def _group(self, node: Node, sig: signal.Signals) -> None:
        """Signal the postmaster and its backends (each backend is its own session): pausing only
        the postmaster would leave the backend serving a connection running."""
        pid = node.remote.pid(self.daemon)  # type: ignore[attr-defined]
        for target in [pid, *_children(pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, sig)

    def kill(self, node: Node) -> None:
        self._group(node, signal.SIGKILL)

    def pause(self, node: Node) -> None:
        self._group(node, signal.SIGSTOP)

    def resume(self, node: Node) -> None:
        self._group(node, signal.SIGCONT)

    def ready(self, node: Node) -> bool:
        try:
            with psycopg.connect(host=node.address, port=self._ports[node.name], user="postgres", dbname="postgres",
                                 connect_timeout=1):
                return True
        except psycopg.Error:
            return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class LocalEtcd(_Local):
    name = "etcd"
    daemon = "etcd"
    protocol = "etcd"

    def argv(self, node: Node) -> list[str]:
        client, peer = f"http://{node.address}:{self._ports[node.name]}", f"http://{node.address}:{self._peer(node)}"
        return ["etcd", "--name", node.name, "--data-dir", str(self.home(node) / "data"),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", f"{node.name}={peer}"]

    def _peer(self, node: Node) -> int:
        return self._ports[node.name] + 1 if self._ports[node.name] < 65535 else self._ports[node.name] - 1

    def ready(self, node: Node) -> bool:
        try:
            return httpx.post(f"http://{node.address}:{self._ports[node.name]}/v3/kv/range",
                              json={"key": "eA=="}, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
