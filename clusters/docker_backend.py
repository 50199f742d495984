"""The ``docker`` backend: each node is a container on a bridge network made for the run.

Containers ``chaoscert-<id>-nX`` (hostname ``nX``) run the node image (``chaoscert image build``)
with ``--init`` and ``sleep infinity`` as the main process, so database servers are started,
killed and restarted with ``docker exec`` like on any host; ``NET_ADMIN`` lets iptables and tc
work inside. The network ``chaoscert-<id>`` gets a free /24 (same choice as the netns backend),
so this machine reaches every node by address. Containers and networks carry the label
``chaoscert.run`` and go into the ledger before they are created.
"""

from __future__ import annotations

import io
import os
import tarfile
import uuid
from pathlib import Path

from clusters.hostnet import PREFIX, pick_subnet, subnet_lock
from clusters.images import image_tag
from clusters.ledger import Ledger, Resource, releaser, run_suffix, sweeper
from clusters.remote import CommandResult, Node, RemoteError
from clusters.shell import ShellRemote

__all__ = ["DockerBackend", "DockerRemote", "docker_client"]

LABEL = "chaoscert.run"
NODE_STATE_DIR = "/var/lib/chaoscert"
ROOT_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"  # in a source checkout


def docker_client(timeout: int = 120):
    """A client for the local engine; a clear error when none answers."""
    import docker

    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as e:
        raise RemoteError(no_engine_message()) from e
    return client


def no_engine_message() -> str:
    """What to run when no Docker engine answers."""
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    script = ROOT_SCRIPTS / "ensure-dockerd.sh"
    sudo = "" if os.geteuid() == 0 else "sudo "
    start = (f"`{sudo}bash {script}` (starts dockerd; `{sudo}python3 {script.with_name('dockerd.py')} release` "
             "stops it and undoes its iptables changes)" if script.exists() else f"`{sudo}dockerd &`")
    return f"no Docker engine answers at {where}; start one: `{sudo}systemctl start docker`, or {start}"


class DockerRemote(ShellRemote):
    """Runs commands in one container with ``docker exec``; files move as tar archives."""

    def __init__(self, name: str, address: str, container) -> None:
        super().__init__(name, address, NODE_STATE_DIR)
        self.container = container

    def _exec(self, argv: list[str], *, timeout: float, input: str | None) -> CommandResult:
        stdin_file = None
        if input is not None:
            stdin_file = f"/tmp/.chaoscert-stdin-{uuid.uuid4().hex}"
            self._put(stdin_file, input.encode())
            argv = ["sh", "-c", 'f=$1; shift; "$@" <"$f"; rc=$?; rm -f "$f"; exit $rc', "sh", stdin_file, *argv]
        exit_code, (out, err) = self.container.exec_run(argv, demux=True)
        return CommandResult(tuple(argv), exit_code, (out or b"").decode(errors="replace"),
                             (err or b"").decode(errors="replace"))

    def _put(self, path: str, data: bytes) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(Path(path).name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
        parent = str(Path(path).parent)
        self.run(["mkdir", "-p", parent])
        if not self.container.put_archive(parent, buf.getvalue()):
            raise RemoteError(f"{self.name}: could not write {path}")

    def upload(self, local: Path, remote: str) -> None:
        self._put(remote, Path(local).read_bytes())

    def host_netns(self) -> list[str] | None:
        """``nsenter`` into this container's network namespace from this machine, or None when the
        engine runs elsewhere (its pid 1 is not ours, or is not in the namespace the container sees)."""
        self.container.reload()
        pid = self.container.attrs.get("State", {}).get("Pid") or 0
        inside = self.run(["readlink", "/proc/self/ns/net"], check=False).stdout.strip()
        try:
            here = os.readlink(f"/proc/{pid}/ns/net") if pid > 0 else None
        except OSError:
            here = None
        return ["nsenter", f"--net=/proc/{pid}/ns/net", "--"] if inside and here == inside else None

    def download(self, remote: str, local: Path) -> None:
        import docker

        try:
            stream, _ = self.container.get_archive(remote)
        except docker.errors.NotFound as e:
            raise RemoteError(f"{self.name}: no file {remote}") from e
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise RemoteError(f"{self.name}: {remote} is not a regular file")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(tar.extractfile(member).read())


class DockerBackend:
    """Creates one container per node on a network made for the run; ``destroy`` removes them."""

    name = "docker"

    def __init__(self, ledger: Ledger, image: str | None = None, pool: str | None = None) -> None:
        self.ledger = ledger
        self.image = image or image_tag("all")
        self.pool = pool
        self.suffix = run_suffix(ledger.run_id)
        self._resources: list[Resource] = []

    def create(self, count: int, run_dir: Path) -> list[Node]:
        import docker

        if not 1 <= count <= 200:
            raise ValueError(f"node count must be 1..200, not {count}")
        client = docker_client()
        try:
            client.images.get(self.image)
        except docker.errors.ImageNotFound as e:
            raise RemoteError(f"no image {self.image}: run `chaoscert image build all` first") from e
        labels = {LABEL: self.ledger.run_id}
        network_name = f"{PREFIX}{self.suffix}"
        with subnet_lock():
            subnet = pick_subnet(*([self.pool] if self.pool else []))
            hosts = list(subnet.hosts())
            self._resources.append(self.ledger.record("docker-network", network_name))
            ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet),
                                                                               gateway=str(hosts[0]))])
            client.networks.create(network_name, driver="bridge", ipam=ipam, labels=labels)
        nodes = []
        for i in range(1, count + 1):
            name, address = f"n{i}", str(hosts[10 + i - 1])
            container_name = f"{PREFIX}{self.suffix}-{name}"
            self._resources.append(self.ledger.record("docker-container", container_name))
            container = client.containers.create(
                self.image, ["sleep", "infinity"], name=container_name, hostname=name, init=True,
                cap_add=["NET_ADMIN"], labels=labels, detach=True, network=network_name,
                networking_config={network_name: docker.types.EndpointConfig(client.api._version,
                                                                              ipv4_address=address)})
            container.start()
            nodes.append(Node(name, address, DockerRemote(name, address, container)))
        return nodes

    def destroy(self) -> list[str]:
        """Remove the containers and the network, newest first; returns errors (empty when clean)."""
        return self.ledger.release_newest_first(self._resources)


@releaser("docker-container")
def _release_container(resource: Resource) -> bool:
    import docker

    try:
        docker_client().containers.get(resource.key).remove(force=True)
    except docker.errors.NotFound:
        return False
    return True


@releaser("docker-network")
def _release_network(resource: Resource) -> bool:
    import docker

    try:
        docker_client().networks.get(resource.key).remove()
    except docker.errors.NotFound:
        return False
    return True


@sweeper
def _find_docker() -> list[Resource]:
    """Containers and networks labelled by chaoscert (none when no engine answers)."""
    try:
        client = docker_client(timeout=10)
    except RemoteError:
        return []
    found = [Resource("docker-container", c.name, {})
             for c in client.containers.list(all=True, filters={"label": LABEL})]
    return found + [Resource("docker-network", n.name, {}) for n in client.networks.list(filters={"label": LABEL})]
