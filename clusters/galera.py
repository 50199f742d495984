"""The ``galera`` adapter: MariaDB Galera, every node a writable replica (active-active).

Setup (recipes §2): write each node's ``my.cnf`` (``wsrep_cluster_address`` lists every node),
``mariadb-install-db`` on n1 only, bootstrap n1 with ``--wsrep-new-cluster``, then join the others
one at a time (each gets a full state transfer; simultaneous joins flap membership on 2 cores) and
wait until every node is ``Synced`` with ``wsrep_cluster_size`` = N. The servers run as ``mysql``:
the rsync SST daemon cannot write the datadir otherwise.

A killed node restarts with ``--wsrep-recover`` first, then ``--wsrep_start_position=<uuid:seqno>``
so it catches up by incremental transfer (IST, ~3.6 s) instead of a full copy.
:meth:`Galera.recover_cluster` restarts a cluster whose nodes all crashed: the most advanced node
(highest recovered seqno) is bootstrapped, the others join it.

Options: ``isolation`` (transaction isolation), ``sync_wait`` (``wsrep_sync_wait`` bitmask: 1 makes
reads causal), ``sst_method`` (``rsync``; ``mariabackup`` needs the ``mariadb-backup`` package).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from clusters.backend import listen_address
from clusters.mariadb import DAEMON, MARIADBD, MariaDBServers
from clusters.remote import Node, RemoteError
from clusters.servers import DBSetupError, check_ports_free, stop_daemon

__all__ = ["Galera"]

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
SST_METHODS = {"rsync": {"rsync": "rsync"}, "mariabackup": {"mariabackup": "mariadb-backup", "socat": "socat"}}
_POSITION = re.compile(r"Recovered position:\s*([0-9a-f-]{36}:-?\d+)")


class Galera(MariaDBServers):
    """A Galera cluster of all the nodes it is set up on; primaries = nodes in the Primary component."""

    name = "galera"

    def __init__(self, root: str, *, sync_wait: int = 0, sst_method: str = "rsync", **options) -> None:
        super().__init__(root, **options)
        if sst_method not in SST_METHODS:
            raise ValueError(f"sst_method must be one of {', '.join(SST_METHODS)}, not {sst_method!r}")
        if not 0 <= sync_wait <= 15:
            raise ValueError(f"sync_wait is a bitmask 0..15, not {sync_wait}")
        self.sync_wait, self.sst_method = sync_wait, sst_method
        self.binaries = {**self.binaries, PROVIDER: "galera-4", **SST_METHODS[sst_method]}

    def extra_config(self, node: Node, index: int, nodes: Sequence[Node]) -> str:
        return f"""innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider={PROVIDER}
wsrep_cluster_name=chaoscert
wsrep_cluster_address=gcomm://{",".join(n.address for n in nodes)}
wsrep_node_address={node.address}
wsrep_node_name={node.name}
wsrep_sst_method={self.sst_method}
wsrep_sync_wait={self.sync_wait}
wsrep_provider_options="gcache.size=64M; gmcast.listen_addr=tcp://{listen_address(node, "0.0.0.0")}:4567"
"""

    # ---------------------------------------------------------------- DB
    def setup(self, nodes: Sequence[Node]) -> None:
        try:
            for node in nodes:
                check_ports_free(node, [4567, 4568, 4444])
            self.prepare(nodes, install=nodes[:1])
            first, *rest = nodes
            self.launch(first, "--wsrep-new-cluster")
            self.wait(first, "Synced", lambda: self._synced(first))
            self.create_client_user(first)
            for node in rest:
                self._join(node)
            for node in nodes:
                self.wait(node, f"in a cluster of {len(nodes)}", lambda node=node: self._synced(node, len(nodes)))
        except BaseException:
            self.teardown(nodes)
            raise

    def _join(self, node: Node) -> None:
        """Start a node that holds no data yet and wait until it is Synced. If it exits on the way
        (a state transfer that failed on either side: Galera calls that unrecoverable, restart
        required), it is started once more: it holds nothing to lose. CI saw ``wsrep_sst_rsync``
        exit 1 before logging a line, and a joiner exit in a suite run, each once in a few hundred
        joins."""
        for attempt in (1, 2):
            self.launch(node)
            try:
                self.wait(node, "Synced", lambda: self._synced(node))
                return
            except DBSetupError:
                if attempt == 2 or self.is_running(node):
                    raise

    def log_files(self, node: Node) -> dict[str, str]:
        data = f"{self.home(node)}/data"
        return {**super().log_files(node), "grastate.dat": f"{data}/grastate.dat",
                "gvwstate.dat": f"{data}/gvwstate.dat"}

    # ---------------------------------------------------------------- Killable
    def start(self, node: Node) -> None:
        """Restart a stopped node: recover its position, start with it (IST), wait until Synced."""
        if self.is_running(node):
            return
        position = self.recover_position(node)
        self._wait_forgotten(node)
        self.launch(node, f"--wsrep_start_position={position}")
        self.wait(node, "Synced", lambda: self._synced(node))

    def _wait_forgotten(self, node: Node, timeout: float = 30.0) -> None:
        """Wait until no running peer still counts ``node``'s dead instance as a member: a new
        instance at the same address cannot join before that (it would wait ~15 s otherwise)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            remembered = False
            for peer in self._nodes:
                if peer is node or not self.is_running(peer):
                    continue
                try:
                    members = self.status(peer, "wsrep_incoming_addresses").get("wsrep_incoming_addresses", "")
                except RemoteError:
                    continue
                remembered |= f"{node.address}:" in members
            if not remembered:
                return
            time.sleep(0.2)

    def recover_position(self, node: Node) -> str:
        """``uuid:seqno`` of the last transaction the stopped node's datadir holds (``--wsrep-recover``)."""
        if not node.remote.wait_stopped(DAEMON, 30):
            raise DBSetupError(f"{node.name}: the previous mariadbd did not exit")
        log = f"{self.home(node)}/recover.log"
        node.remote.run(["rm", "-f", log])
        node.remote.run([MARIADBD, f"--defaults-file={self.cnf(node)}", "--wsrep-recover", f"--log-error={log}"],
                        timeout=120, check=False)
        text = node.remote.run(["cat", log], check=False).stdout
        found = _POSITION.findall(text)
        if not found:
            raise DBSetupError(f"{node.name}: --wsrep-recover found no position; last log lines:\n"
                               f"{text.strip()[-1500:] or '(no log)'}")
        return found[-1]

    def recover_cluster(self, nodes: Sequence[Node]) -> Node:
        """After every node crashed: bootstrap the most advanced one, join the others; returns it."""
        for node in nodes:
            stop_daemon(node, DAEMON)
        positions = {node.name: self.recover_position(node) for node in nodes}
        first = max(nodes, key=lambda n: int(positions[n.name].rsplit(":", 1)[1]))
        for node in nodes:  # forget the old component so nobody waits for it
            node.remote.run(["rm", "-f", f"{self.home(node)}/data/gvwstate.dat"])
        first.remote.run(["sed", "-i", "s/^safe_to_bootstrap:.*/safe_to_bootstrap: 1/",
                         f"{self.home(first)}/data/grastate.dat"])
        self.launch(first, "--wsrep-new-cluster", f"--wsrep_start_position={positions[first.name]}")
        self.wait(first, "Synced", lambda: self._synced(first))
        for node in nodes:
            if node is not first:
                self.launch(node, f"--wsrep_start_position={positions[node.name]}")
                self.wait(node, "Synced", lambda node=node: self._synced(node))
        return first

    # ---------------------------------------------------------------- HasPrimaries
    def primaries(self, nodes: Sequence[Node]) -> list[Node]:
        """Nodes whose server answers and is in the Primary component."""
        found = []
        for node in nodes:
            try:
                if self.status(node, "wsrep_cluster_status").get("wsrep_cluster_status") == "Primary":
                    found.append(node)
            except RemoteError:
                continue
        return found

    def wsrep(self, node: Node) -> dict[str, str]:
        """The node's cluster status, size, local state and readiness."""
        return self.status(node, "wsrep_cluster_status", "wsrep_cluster_size", "wsrep_local_state_comment",
                           "wsrep_ready")

    def _synced(self, node: Node, size: int | None = None) -> str | None:
        s = self.wsrep(node)
        if s.get("wsrep_local_state_comment") != "Synced" or s.get("wsrep_cluster_status") != "Primary":
            return f"state {s.get('wsrep_local_state_comment')}, {s.get('wsrep_cluster_status')}"
        if size is not None and s.get("wsrep_cluster_size") != str(size):
            return f"cluster size {s.get('wsrep_cluster_size')}"
        return None

