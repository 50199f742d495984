"""The ``etcd`` adapter: a static etcd 3.4 cluster (Debian ``etcd-server``), the linearizable
key-value target of the register workload.

Every node runs ``etcd --name <node> --data-dir <home>/data`` with peer URL ``http://ADDR:2380``
and client URL ``http://ADDR:2379``; all members start together with ``--initial-cluster-state
new`` and the cluster is ready when every member answers the v3 JSON gateway
(``POST /v3/maintenance/status``) and names the same leader. A killed member restarts with
``--initial-cluster-state existing`` on its data dir. The leader is the only primary::

    db = Etcd(run_dir); db.setup(nodes)
    db.primaries(nodes)            # [Node("n2", ...)]
    httpx.post(f"{db.url(n1)}/v3/kv/put", json={"key": "Zm9v", "value": "YmFy"})
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from clusters.endpoint import Endpoint
from clusters.remote import Node, RemoteError
from clusters.servers import DBSetupError, LogFiles, check_binaries, check_ports_free, stop_daemon, wait_until

__all__ = ["Etcd"]

DAEMON = "etcd"
ETCD = "/usr/bin/etcd"
CLIENT_PORT, PEER_PORT = 2379, 2380


class Etcd(LogFiles):
    name = "etcd"

    def __init__(self, root: str, *, heartbeat_ms: int = 100, election_ms: int = 1000,
                 ready_timeout: float = 30.0, enable_v2: bool = False) -> None:
        self.root = str(root)
        self.enable_v2 = enable_v2  # the v2 API too (Debian's Patroni 3.0 speaks only v2)
        self.heartbeat_ms, self.election_ms = heartbeat_ms, election_ms
        self.ready_timeout = ready_timeout
        self._nodes: list[Node] = []

    def home(self, node: Node) -> str:
        return f"{self.root}/{node.name}/etcd"

    def url(self, node: Node) -> str:
        return f"http://{node.address}:{CLIENT_PORT}"

    def endpoint(self, node: Node) -> Endpoint:
        return Endpoint(node.name, node.address, CLIENT_PORT, "", "")

    def log_files(self, node: Node) -> dict[str, str]:
        return {"etcd.log": f"{self.home(node)}/etcd.log"}

    # ---------------------------------------------------------------- DB
    def setup(self, nodes: Sequence[Node]) -> None:
        self._nodes = list(nodes)
        try:
            for node in nodes:
                check_binaries(node, {ETCD: "etcd-server"})
                check_ports_free(node, [CLIENT_PORT, PEER_PORT])
                node.remote.run(["rm", "-rf", "--", f"{self.home(node)}/data"])
                node.remote.run(["mkdir", "-p", self.home(node)])
            for node in nodes:
                self._launch(node, "new")
            for node in nodes:
                self._wait(node, lambda node=node: self._ready(node, len(nodes)))
        except BaseException:
            self.teardown(nodes)
            raise

    def teardown(self, nodes: Sequence[Node]) -> None:
        errors = []
        for node in nodes:
            try:
                stop_daemon(node, DAEMON, grace=5)
                node.remote.run(["rm", "-rf", "--", f"{self.home(node)}/data"])
            except (RemoteError, DBSetupError) as e:
                errors.append(str(e))
        if errors:
            raise DBSetupError("; ".join(errors))

    # ---------------------------------------------------------------- abilities
    def kill(self, node: Node) -> None:
        node.remote.signal(DAEMON, "KILL")

    def start(self, node: Node) -> None:
        """Restart a member on its data dir and wait until it answers with a leader."""
        if node.remote.is_running(DAEMON):
            return
        if not node.remote.wait_stopped(DAEMON, 30):
            raise DBSetupError(f"{node.name}: the previous etcd did not exit")
        self._launch(node, "existing")
        self._wait(node, lambda: self._ready(node))

    def pause(self, node: Node) -> None:
        node.remote.signal(DAEMON, "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal(DAEMON, "CONT")

    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """The member that says it is the leader (none while an election runs)."""
        found = []
        for node in nodes:
            try:
                status = self.status(node, timeout=1.0)
            except (httpx.HTTPError, ValueError):
                continue
            if status.get("leader") and status["leader"] == status.get("header", {}).get("member_id"):
                found.append(node)
        return found

    def status(self, node: Node, timeout: float = 2.0) -> dict:
        """The member's ``/v3/maintenance/status`` (int64 fields are strings in the gateway's JSON)."""
        response = httpx.post(f"{self.url(node)}/v3/maintenance/status", json={}, timeout=timeout)
        response.raise_for_status()
        return response.json()

    # ---------------------------------------------------------------- helpers
    def _launch(self, node: Node, state: str) -> None:
        peers = ",".join(f"{n.name}=http://{n.address}:{PEER_PORT}" for n in self._nodes)
        home = self.home(node)
        node.remote.start_daemon(DAEMON, [
            ETCD, "--name", node.name, "--data-dir", f"{home}/data",
            "--listen-peer-urls", f"http://{node.address}:{PEER_PORT}",
            "--initial-advertise-peer-urls", f"http://{node.address}:{PEER_PORT}",
            "--listen-client-urls", f"http://{node.address}:{CLIENT_PORT}",
            "--advertise-client-urls", self.url(node),
            "--initial-cluster", peers, "--initial-cluster-state", state, "--initial-cluster-token", "chaoscert",
            "--heartbeat-interval", str(self.heartbeat_ms), "--election-timeout", str(self.election_ms),
            *(["--enable-v2"] if self.enable_v2 else []),
        ], log_file=f"{home}/etcd.log")

    def _wait(self, node: Node, probe) -> float:
        return wait_until(node, "ready", probe, timeout=self.ready_timeout, daemon=DAEMON,
                          logs=[f"{self.home(node)}/etcd.log"])

    def _ready(self, node: Node, members: int | None = None) -> str | None:
        try:
            status = self.status(node, timeout=1.0)
            if not status.get("leader") or status["leader"] == "0":
                return "no leader yet"
            if members is not None:
                listed = httpx.post(f"{self.url(node)}/v3/cluster/member/list", json={}, timeout=1.0).json()
                if len(listed.get("members", [])) != members:
                    return f"{len(listed.get('members', []))} members"
        except (httpx.HTTPError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        return None
