"""The ``netns`` backend: each node is a Linux network namespace on this machine (root, no daemon).

For a run with id suffix ``abc123`` and 3 nodes::

    bridge ccbrabc123 10.213.X.1/24 ── veth ccvabc123n1 ── namespace chaoscert-abc123-n1, eth0 10.213.X.11
                                    ├─ veth ccvabc123n2 ── namespace chaoscert-abc123-n2, eth0 10.213.X.12
                                    └─ veth ccvabc123n3 ── namespace chaoscert-abc123-n3, eth0 10.213.X.13

The /24 is the first one of ``CHAOSCERT_SUBNET_POOL`` (default 10.213.0.0/16) that nothing here
uses. Namespaces get no default route: nodes reach each other and this machine, nothing else. An
iptables FORWARD accept rule for the bridge is added in the root namespace (Docker's FORWARD policy
drops bridged traffic otherwise) and removed at the end. Processes run with
``ip netns exec NS ...``; the filesystem is this machine's, so each node gets ``RUN_DIR/nX`` and
keeps its pid files there. Every namespace, link, rule and daemon goes into the ledger.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from clusters.hostnet import NETNS_PREFIX, ip, iptables_rule, pick_subnet, subnet_lock
from clusters.ledger import Ledger, Resource, process_identity, run_suffix
from clusters.remote import CommandResult, Node, RemoteError
from clusters.shell import ShellRemote

__all__ = ["NetnsBackend", "NetnsRemote"]


class NetnsRemote(ShellRemote):
    """Runs commands inside one network namespace of this machine."""

    def __init__(self, name: str, address: str, netns: str, node_dir: Path,
                 on_daemon: Callable[[str, int], None] | None = None) -> None:
        super().__init__(name, address, str(node_dir / ".chaoscert"), on_daemon=on_daemon)
        self.netns = netns
        self.node_dir = node_dir

    def _exec(self, argv: list[str], *, timeout: float, input: str | None) -> CommandResult:
        try:
            done = subprocess.run(["ip", "netns", "exec", self.netns, *argv], input=input, capture_output=True,
                                  text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise RemoteError(f"{self.name}: {argv!r} did not finish in {timeout:g} s") from e
        return CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)

    def upload(self, local: Path, remote: str) -> None:
        Path(remote).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, remote)

    def download(self, remote: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(remote, local)


class NetnsBackend:
    """Creates nodes as namespaces on a bridge made for the run; ``destroy`` removes everything."""

    name = "netns"

    def __init__(self, ledger: Ledger, pool: str | None = None) -> None:
        self.ledger = ledger
        self.pool = pool
        self.suffix = run_suffix(ledger.run_id)
        self._resources: list[Resource] = []

    def _record(self, kind: str, key: str, **data: object) -> Resource:
        resource = self.ledger.record(kind, key, **data)
        self._resources.append(resource)
        return resource

    def create(self, count: int, run_dir: Path) -> list[Node]:
        if not 1 <= count <= 200:
            raise ValueError(f"node count must be 1..200, not {count}")
        run_dir = Path(run_dir).resolve()
        bridge = f"ccbr{self.suffix}"
        with subnet_lock():
            subnet = pick_subnet(*([self.pool] if self.pool else []))
            hosts = list(subnet.hosts())
            self._record("link", bridge)
            ip("link", "add", bridge, "type", "bridge")
            ip("addr", "add", f"{hosts[0]}/{subnet.prefixlen}", "dev", bridge)
        ip("link", "set", bridge, "up")
        comment = f"{NETNS_PREFIX}{self.suffix}-fwd"
        rule = iptables_rule(comment, "FORWARD", ["-i", bridge, "-o", bridge, "-j", "ACCEPT"])
        self._record("iptables", comment, **rule)
        subprocess.run(["iptables", "-w", "5", "-I", "FORWARD", "1", *rule["rule"]], check=True, capture_output=True)
        nodes = []
        for i in range(1, count + 1):
            name, ns, veth = f"n{i}", f"{NETNS_PREFIX}{self.suffix}-n{i}", f"ccv{self.suffix}n{i}"
            address = str(hosts[10 + i - 1])
            self._record("netns", ns)
            ip("netns", "add", ns)
            self._record("link", veth)
            ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns)
            ip("link", "set", veth, "master", bridge)
            ip("link", "set", veth, "up")
            ip("-n", ns, "addr", "add", f"{address}/{subnet.prefixlen}", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            node_dir = run_dir / name
            node_dir.mkdir(parents=True, exist_ok=True)
            nodes.append(Node(name, address, NetnsRemote(name, address, ns, node_dir, self._daemon_recorder(ns))))
        return nodes

    def _daemon_recorder(self, ns: str) -> Callable[[str, int], None]:
        def record(daemon: str, pid: int) -> None:
            self._record("process", f"{ns}:{daemon}:{pid}", **process_identity(pid))
        return record

    def destroy(self) -> list[str]:
        """Release what this backend made, newest first; returns errors (empty when clean)."""
        return self.ledger.release_newest_first(self._resources)
