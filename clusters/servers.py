"""What every database adapter does the same way on any Remote: check binaries and ports, write
config files, start and stop a server daemon, wait (bounded) until it is ready, and say why not.

A wrong setup gives one clear error::

    DBSetupError: n1: /usr/sbin/mariadbd not found: install the Debian package mariadb-server
    DBSetupError: n2: port 2379 is already in use on 10.213.0.12
    DBSetupError: n3: etcd not ready after 30 s (connection refused); last log lines: ...

Adapters give each node a home folder ``<root>/<node>/<db>`` (``root`` is the run's folder; on the
netns backend all nodes share this machine's filesystem, so the node name keeps them apart).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from clusters.remote import Node, RemoteError

__all__ = ["DBSetupError", "LogFiles", "check_binaries", "check_ports_free", "log_tail", "new_password",
           "stop_daemon", "wait_until", "write_file"]


class DBSetupError(RuntimeError):
    """A database node could not be set up, started or stopped; the message names node and cause."""


def new_password() -> str:
    """A fresh password for a run's client user (letters and digits: safe in SQL and config)."""
    return secrets.token_hex(16)


def check_binaries(node: Node, binaries: Mapping[str, str]) -> None:
    """``binaries`` maps an executable (absolute path or a name on PATH) to the Debian package that has it."""
    missing = []
    for binary, package in binaries.items():
        test = ["test", "-e", binary] if binary.startswith("/") else ["sh", "-c", 'command -v "$1"', "sh", binary]
        if not node.remote.run(test, check=False).ok:
            missing.append(f"{binary} not found: install the Debian package {package}")
    if missing:
        raise DBSetupError(f"{node.name}: " + "; ".join(missing))


def check_ports_free(node: Node, ports: Sequence[int]) -> None:
    """Fail when something already listens on one of ``ports`` on the node (needs ``ss``, iproute2)."""
    done = node.remote.run(["ss", "-Hltn"], check=False)
    if not done.ok:
        return  # no ss: the server's own bind error will say it
    listening = {line.split()[3].rsplit(":", 1)[-1] for line in done.stdout.splitlines() if len(line.split()) > 3}
    busy = [p for p in ports if str(p) in listening]
    if busy:
        raise DBSetupError(f"{node.name}: port {', '.join(map(str, busy))} already in use on {node.address}")


def write_file(node: Node, path: str, text: str, *, mode: str = "0644") -> None:
    node.remote.run(["mkdir", "-p", str(Path(path).parent)])
    node.remote.run(["sh", "-c", 'cat >"$1" && chmod "$2" "$1"', "sh", path, mode], input=text)


def log_tail(node: Node, paths: Sequence[str], lines: int = 15) -> str:
    tails = []
    for path in paths:
        done = node.remote.run(["tail", "-n", str(lines), path], check=False)
        if done.ok and done.stdout.strip():
            tails.append(f"== {node.name}:{path}\n{done.stdout.rstrip()}")
    return "\n".join(tails) or "(no log)"


def wait_until(node: Node, what: str, probe: Callable[[], str | None], *, timeout: float, daemon: str,
               logs: Sequence[str], interval: float = 0.2) -> float:
    """Poll ``probe`` (None = ready, else why not) until ready; returns the seconds it took. Fails
    at once with the log tail when the daemon died, and at ``timeout`` with the last reason."""
    started = time.monotonic()
    reason = "no attempt"
    while time.monotonic() - started < timeout:
        if not node.remote.is_running(daemon):
            raise DBSetupError(f"{node.name}: {daemon} exited while waiting for {what}; last log lines:\n"
                               f"{log_tail(node, logs)}")
        try:
            reason = probe()
        except (RemoteError, OSError) as e:
            reason = str(e)
        if reason is None:
            return time.monotonic() - started
        time.sleep(interval)
    raise DBSetupError(f"{node.name}: not {what} after {timeout:g} s ({reason}); last log lines:\n"
                       f"{log_tail(node, logs)}")


def stop_daemon(node: Node, daemon: str, *, term: str = "TERM", grace: float = 15.0, timeout: float = 30.0) -> None:
    """``term`` (TERM, or INT for PostgreSQL's fast shutdown), then KILL after ``grace`` seconds;
    returns once the process has fully exited. A daemon never started here is left alone."""
    for sig, wait in (("CONT", 0.0), (term, grace), ("KILL", timeout)):
        if not node.remote.is_running(daemon):
            break
        try:
            node.remote.signal(daemon, sig)
        except RemoteError:
            return  # never started on this node
        if wait and node.remote.wait_stopped(daemon, wait):
            return
    if not node.remote.wait_stopped(daemon, timeout):
        raise DBSetupError(f"{node.name}: {daemon} did not exit")


class LogFiles:
    """``HasLogFiles`` for adapters that define ``log_files``: copy each file that exists."""

    def log_files(self, node: Node) -> dict[str, str]:
        raise NotImplementedError

    def collect_logs(self, node: Node, into: Path) -> None:
        into.mkdir(parents=True, exist_ok=True)
        for local, remote in self.log_files(node).items():
            if node.remote.run(["test", "-f", remote], check=False).ok:
                try:
                    node.remote.download(remote, into / local)
                except (OSError, RemoteError):
                    continue
