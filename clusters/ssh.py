"""The ``ssh`` backend: nodes are the user's own hosts, reached with paramiko.

Authentication is by key (``key_filename``, or the SSH agent and ``~/.ssh`` keys) or password
(``CHAOSCERT_SSH_PASSWORD``, never a command-line argument nor a ledger field). Host keys are
checked against ``known_hosts`` (and the user's own) by default; ``insecure=True`` accepts any
host key and says so on stderr every time it connects. A login user other than root needs
passwordless ``sudo``: every command then runs as ``sudo -n -- ...``.

Each node keeps its pid files in ``<remote_dir>/chaoscert-<run id>-nX``; that folder is the ledger
entry (``ssh-node``): releasing it KILLs every daemon recorded there and removes the folder.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from clusters.ledger import Ledger, Resource, releaser
from clusters.remote import CommandResult, Node, RemoteError
from clusters.shell import ShellRemote

__all__ = ["SshBackend", "SshHost", "SshRemote", "connect"]

PASSWORD_ENV = "CHAOSCERT_SSH_PASSWORD"


@dataclass(frozen=True)
class SshHost:
    """Where and how to log in: ``[user@]host[:port]`` plus the options shared by all hosts."""

    host: str
    port: int = 22
    user: str = "root"
    key_filename: str | None = None
    known_hosts: str | None = None
    insecure: bool = False
    sudo: bool = False

    @classmethod
    def parse(cls, spec: str, **options: object) -> SshHost:
        user, _, rest = spec.rpartition("@")
        host, _, port = rest.partition(":")
        if not host or (port and not port.isdigit()):
            raise ValueError(f"bad SSH host {spec!r}: expected [user@]host[:port]")
        return cls(host, int(port or 22), user or str(options.pop("user", None) or "root"), **options)


def connect(host: SshHost, timeout: float = 10.0):
    """An authenticated paramiko client; RemoteError naming the host when that fails."""
    import paramiko

    client = paramiko.SSHClient()
    client.load_system_host_keys()
    if host.known_hosts:
        client.load_host_keys(host.known_hosts)
    if host.insecure:
        print(f"chaoscert: WARNING: not checking the SSH host key of {host.host}:{host.port} (--ssh-insecure)",
              file=sys.stderr)
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    else:
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(host.host, port=host.port, username=host.user, key_filename=host.key_filename,
                       password=os.environ.get(PASSWORD_ENV), timeout=timeout, banner_timeout=timeout,
                       auth_timeout=timeout, look_for_keys=host.key_filename is None)
    except paramiko.SSHException as e:
        client.close()
        hint = " (unknown host key: add it to known_hosts, or --ssh-insecure)" if "not found in known_hosts" in str(
            e) else ""
        raise RemoteError(f"ssh {host.user}@{host.host}:{host.port}: {e}{hint}") from e
    except (TimeoutError, OSError) as e:
        client.close()
        raise RemoteError(f"ssh {host.user}@{host.host}:{host.port}: {e}") from e
    return client


class SshRemote(ShellRemote):
    """Runs commands on one host over an SSH connection (one channel per command)."""

    def __init__(self, name: str, host: SshHost, state_dir: str) -> None:
        prefix = ["sudo", "-n", "--"] if host.sudo and host.user != "root" else []
        super().__init__(name, host.host, state_dir, root_prefix=prefix)
        self.host = host
        self.client = connect(host)

    def close(self) -> None:
        self.client.close()

    def _exec(self, argv: list[str], *, timeout: float, input: str | None) -> CommandResult:
        chan = self.client.get_transport().open_session()
        try:
            chan.settimeout(timeout)
            chan.exec_command(shlex.join(argv))
            if input is not None:
                chan.sendall(input.encode())
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            deadline = time.monotonic() + timeout
            while True:
                while chan.recv_ready():
                    out += chan.recv(65536)
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
                    break
                if time.monotonic() > deadline:
                    raise RemoteError(f"{self.name}: {argv!r} did not finish in {timeout:g} s")
                time.sleep(0.002)
            return CommandResult(tuple(argv), chan.recv_exit_status(), out.decode(errors="replace"),
                                 err.decode(errors="replace"))
        except OSError as e:
            raise RemoteError(f"{self.name}: ssh channel failed: {e}") from e
        finally:
            chan.close()

    def upload(self, local: Path, remote: str) -> None:
        self.run(["mkdir", "-p", str(Path(remote).parent)])
        target = f"/tmp/.chaoscert-upload-{uuid.uuid4().hex}" if self.root_prefix else remote
        with self.client.open_sftp() as sftp:
            sftp.put(str(local), target)
        if target != remote:
            self.run(["mv", "--", target, remote])

    def download(self, remote: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        source = remote
        if self.root_prefix:  # read as root: copy to a file the login user can read
            source = f"/tmp/.chaoscert-download-{uuid.uuid4().hex}"
            self.run(["install", "-m", "0644", "-o", self.host.user, "--", remote, source])
        try:
            with self.client.open_sftp() as sftp:
                sftp.get(source, str(local))
        finally:
            if source != remote:
                self.run(["rm", "-f", "--", source], check=False)


class SshBackend:
    """Uses the first ``count`` of the given hosts as nodes n1..nN."""

    name = "ssh"

    def __init__(self, ledger: Ledger, hosts: list[SshHost], remote_dir: str = "/tmp") -> None:
        self.ledger = ledger
        self.hosts = hosts
        self.remote_dir = remote_dir
        self._made: list[tuple[Resource, SshRemote]] = []

    def create(self, count: int, run_dir: Path) -> list[Node]:
        if count > len(self.hosts):
            raise ValueError(f"{count} nodes asked for but only {len(self.hosts)} SSH hosts given")
        nodes = []
        for i, host in enumerate(self.hosts[:count], start=1):
            state_dir = f"{self.remote_dir}/chaoscert-{self.ledger.run_id}-n{i}"
            resource = self.ledger.record("ssh-node", f"{host.user}@{host.host}:{host.port}:{state_dir}",
                                          state_dir=state_dir, **host.__dict__)
            remote = SshRemote(f"n{i}", host, state_dir)
            self._made.append((resource, remote))
            remote.run(["mkdir", "-p", "-m", "0700", state_dir])
            nodes.append(Node(remote.name, host.host, remote))
        return nodes

    def destroy(self) -> list[str]:
        """KILL the daemons started on every host and remove the state folders; returns errors."""
        errors = []
        for resource, remote in reversed(self._made):
            try:
                _stop_and_remove(remote)
                self.ledger.forget(resource)
            except Exception as e:
                errors.append(f"{resource.kind} {resource.key}: {e}")
            finally:
                remote.close()
        self._made.clear()
        return errors


def _stop_and_remove(remote: SshRemote) -> None:
    remote.stop_all()
    remote.run(["rm", "-rf", "--", remote.state_dir])


@releaser("ssh-node")
def _release_ssh_node(resource: Resource) -> bool:
    data = dict(resource.data)
    state_dir = data.pop("state_dir")
    remote = SshRemote("n?", SshHost(**data), state_dir)
    try:
        _stop_and_remove(remote)
    finally:
        remote.close()
    return True  # the host cannot say cheaply whether anything ran
