"""The ``local`` backend: nodes are processes of this machine on 127.0.0.x loopback addresses.

Node ``nK`` gets address ``127.0.0.{10+K}`` and its own folder ``<run_dir>/nK`` (data, logs).
Nodes share the machine's port space, so a database asks each node for a free port
(:class:`~clusters.backend.FreePorts`). Daemons are started in their own session (``setsid``) and
become another user with ``setpriv`` (which execs), so the pid we hold is the server's; STOP, CONT
and KILL reach every process it started (:mod:`clusters.proctree`)::

    backend = LocalBackend(ledger)
    n1, = backend.create(1, run_dir)
    pid = n1.remote.start_daemon("seekdb", ["seekdb", "--nodaemon", ...], log_file=".../seekdb.stdout")
    n1.remote.signal("seekdb", "KILL")
    n1.remote.wait_stopped("seekdb", 30)
    backend.destroy()
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from clusters.ledger import Ledger, Resource, process_identity
from clusters.proctree import signal_tree
from clusters.remote import SIGNALS, CommandResult, Node, RemoteError
from clusters.shell import as_user

__all__ = ["LocalBackend", "LocalRemote", "local_address"]


def local_address(k: int) -> str:
    """The loopback address of node ``nK``."""
    if not 1 <= k <= 240:
        raise ValueError(f"local backend supports nodes n1..n240, not n{k}")
    return f"127.0.0.{10 + k}"


class LocalRemote:
    """A node that is this machine: commands run here, daemons are child processes."""

    def __init__(self, name: str, address: str, ledger: Ledger) -> None:
        self._name, self._address, self._ledger = name, address, ledger
        self._daemons: dict[str, tuple[subprocess.Popen[bytes], Resource]] = {}
        self._lock = threading.Lock()
        self.daemon_env: dict[str, str] = {}  # added to every daemon's environment (e.g. libfaketime)

    @property
    def name(self) -> str:
        return self._name

    @property
    def address(self) -> str:
        return self._address

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, check: bool = True,
            input: str | None = None, user: str | None = None,
            env: Mapping[str, str] | None = None) -> CommandResult:
        argv = _as_user(list(argv), user)
        try:
            done = subprocess.run(argv, input=input, capture_output=True, text=True, errors="replace", timeout=timeout,
                                  env=_environment(env))
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RemoteError(f"{self._name}: {argv[0]}: {e}") from e
        result = CommandResult(tuple(argv), done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            raise RemoteError(f"{self._name}: {' '.join(argv)} exited {done.returncode}: "
                              f"{done.stderr.strip()[-500:]}")
        return result

    def upload(self, local: Path, remote: str) -> None:
        shutil.copy2(local, remote)

    def download(self, remote: str, local: Path) -> None:
        shutil.copy2(remote, local)

    def start_daemon(self, name: str, argv: Sequence[str], *, log_file: str,
                     env: Mapping[str, str] | None = None, cwd: str | None = None,
                     user: str | None = None) -> int:
        with self._lock:
            if name in self._daemons and self._daemons[name][0].poll() is None:
                raise RemoteError(f"{self._name}: daemon {name} is already running")
            argv = _as_user(list(argv), user)
            with open(log_file, "ab") as log:
                try:
                    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            cwd=cwd, env=_environment({**self.daemon_env, **(env or {})}),
                                            start_new_session=True)
                except OSError as e:
                    raise RemoteError(f"{self._name}: cannot start {name}: {e}") from e
            resource = self._ledger.record("process", f"{self._name}/{name}/{proc.pid}", node=self._name,
                                           daemon=name, **process_identity(proc.pid))
            self._daemons[name] = (proc, resource)
            return proc.pid

    def pid(self, name: str) -> int | None:
        """The pid of daemon ``name`` (alive or not), None if never started."""
        entry = self._daemons.get(name)
        return None if entry is None else entry[0].pid

    def signal(self, name: str, signal: str) -> None:
        if signal not in SIGNALS:
            raise RemoteError(f"{self._name}: unknown signal {signal!r}")
        proc = self._proc(name)
        if proc.poll() is not None:
            raise RemoteError(f"{self._name}: daemon {name} is not running")
        signal_tree(proc.pid, signal)

    def is_running(self, name: str) -> bool:
        entry = self._daemons.get(name)
        if entry is None or entry[0].poll() is not None:
            return False
        return _proc_state(entry[0].pid) not in (None, "Z", "X")

    def wait_stopped(self, name: str, timeout: float) -> bool:
        """Wait until the process is reaped: a zombie leader whose threads still run is not stopped."""
        entry = self._daemons.get(name)
        if entry is None:
            return True
        proc, resource = entry
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        with self._lock:
            if self._daemons.get(name) is entry:
                del self._daemons[name]
                self._ledger.forget(resource)
        return True

    def stop_all(self, timeout: float = 10.0) -> None:
        """SIGCONT then SIGKILL every daemon of this node (with its children) and wait until each is gone."""
        for name in list(self._daemons):
            proc = self._daemons[name][0]
            for sig in ("CONT", "KILL"):
                if proc.poll() is None:
                    signal_tree(proc.pid, sig)
            if not self.wait_stopped(name, timeout):
                raise RemoteError(f"{self._name}: daemon {name} (pid {proc.pid}) did not exit")

    def free_port(self) -> int:
        with socket.socket() as s:
            s.bind((self._address, 0))
            return s.getsockname()[1]

    def _proc(self, name: str) -> subprocess.Popen[bytes]:
        entry = self._daemons.get(name)
        if entry is None:
            raise RemoteError(f"{self._name}: no daemon named {name}")
        return entry[0]


class LocalBackend:
    """Nodes as local processes, each with a folder under the run dir (recorded in the ledger)."""

    name = "local"

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._remotes: list[LocalRemote] = []
        self._dirs: list[Resource] = []

    def create(self, count: int, run_dir: Path) -> list[Node]:
        nodes = []
        for k in range(1, count + 1):
            name = f"n{k}"
            node_dir = run_dir / name
            node_dir.mkdir(parents=True, exist_ok=False)
            self._dirs.append(self._ledger.record("path", str(node_dir), path=str(node_dir)))
            remote = LocalRemote(name, local_address(k), self._ledger)
            self._remotes.append(remote)
            nodes.append(Node(name, remote.address, remote))
        return nodes

    def destroy(self) -> list[str]:
        errors = []
        for remote in reversed(self._remotes):
            try:
                remote.stop_all()
            except RemoteError as e:
                errors.append(str(e))
        self._remotes.clear()
        return errors + self._ledger.release_newest_first(self._dirs)


def _as_user(argv: list[str], user: str | None) -> list[str]:
    return as_user(argv, None if user == pwd.getpwuid(os.geteuid()).pw_name else user)


def _environment(env: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if env is None else {**os.environ, **env}


def _proc_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None

