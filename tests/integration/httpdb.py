"""A real daemon to aim nemeses at before a database is: ``python -m http.server`` on each node.

It is Killable and Pausable (signals to the real process), and its ``Date`` header is its own
clock, so a libfaketime skew shows from outside. ``python -m tests.integration.httpdb STATE``
is the Ctrl-C driver: netns nodes, every fault applied at once, then it waits to be interrupted.
"""

from __future__ import annotations

import random
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import ExitStack
from email.utils import parsedate_to_datetime
from pathlib import Path

from clusters.remote import Node

PORT = 8000


def get(address: str, timeout: float = 1.0, path: str = "/") -> tuple[str, float | None]:
    """("ok", server clock) or ("refused"|"timeout"|"error: ...", None), from this machine."""
    try:
        with urllib.request.urlopen(f"http://{address}:{PORT}{path}", timeout=timeout) as r:
            r.read()
            return "ok", parsedate_to_datetime(r.headers["Date"]).timestamp()
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ConnectionRefusedError):
            return "refused", None
        return ("timeout" if "timed out" in str(reason) else f"error: {reason}"), None
    except TimeoutError:
        return "timeout", None


class HttpDB:
    name = "http"

    def __init__(self, ready_timeout: float = 10.0) -> None:
        self.ready_timeout = ready_timeout

    def setup(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            self.start(node)

    def teardown(self, nodes: Sequence[Node]) -> None:
        for node in nodes:
            for sig in ("CONT", "KILL"):
                node.remote.signal("http", sig)
            node.remote.wait_stopped("http", 10)

    def start(self, node: Node) -> None:
        if node.remote.is_running("http"):
            return
        home = str(node.remote.node_dir)
        node.remote.start_daemon("http", [sys.executable, "-m", "http.server", str(PORT), "--bind", node.address],
                                 log_file=f"{home}/http.log", cwd=home)
        deadline = time.monotonic() + self.ready_timeout
        while get(node.address, 0.5)[0] != "ok":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name}: http.server not answering")
            time.sleep(0.05)

    def kill(self, node: Node) -> None:
        node.remote.signal("http", "KILL")
        node.remote.wait_stopped("http", 10)

    def pause(self, node: Node) -> None:
        node.remote.signal("http", "STOP")

    def resume(self, node: Node) -> None:
        node.remote.signal("http", "CONT")


def drive(state: Path, specs: list[str]) -> None:
    """On namespaces made by the caller (``name=netns=address=dir`` each): http daemons under
    libfaketime, then a partition, a delay, a clock bump and a pause at once; then wait for SIGINT."""
    from chaos.nemesis.package import build_nemesis
    from clusters.ledger import Ledger, process_identity
    from clusters.netns import NetnsRemote

    ledger = Ledger(directory=state)

    def recorder(ns: str):
        return lambda daemon, pid: ledger.record("process", f"{ns}:{daemon}:{pid}", **process_identity(pid))

    nodes = []
    for spec in specs:
        name, ns, address, home = spec.split("=")
        nodes.append(Node(name, address, NetnsRemote(name, address, ns, Path(home), recorder(ns))))
    with ExitStack() as stack:
        stack.callback(ledger.release_all)
        db = HttpDB()
        package = build_nemesis("pause,partition,clock,packet", db, nodes, random.Random(0), ledger=ledger,
                                interval=10, duration=2)
        stack.callback(db.teardown, nodes)
        db.setup(nodes)
        stack.enter_context(package.healing(lambda error: print(error, file=sys.stderr)))
        nemesis = package.nemesis
        nemesis.invoke("start-partition", {"n1": ["n2", "n3"], "n2": ["n1"], "n3": ["n1"]})
        nemesis.invoke("start-packet", {"nodes": ["n2", "n3"], "behaviour": {"delay-ms": 50, "rate-kbit": 800}})
        nemesis.invoke("bump-clock", {"n2": 60000})
        nemesis.invoke("pause", ["n3"])
        print("READY", flush=True)
        time.sleep(120)


if __name__ == "__main__":
    drive(Path(sys.argv[1]), sys.argv[2:])
