"""``chaoscert cluster up|status|down``, ``chaoscert image build`` and ``chaoscert clean``.

``cluster up`` makes nodes, with ``--db`` sets a database up on them (the runner's adapters), and
keeps them: its ledger is marked kept and ``<state dir>/clusters/NAME.json`` (mode 0600: it holds
the client password) says how to reach each node and its database, so ``status`` can probe them and
``down`` can release everything. If ``up`` is killed halfway, ``clean`` removes what it had made.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from chaos.cli.backend_options import (
    ImageOption,
    SshHostOption,
    SshInsecureOption,
    SshKeyOption,
    SshKnownHostsOption,
    SshSudoOption,
    SshUserOption,
    backend_options,
)
from clusters.backends import BACKENDS, make_backend
from clusters.ledger import Ledger, clean_all, state_dir, sweep
from clusters.remote import Node, Remote

__all__ = ["cluster_app", "image_app", "register"]

cluster_app = typer.Typer(no_args_is_help=True, help="Bring bare nodes (or a cluster) up to poke at by hand.")
image_app = typer.Typer(no_args_is_help=True, help="Node images for the docker backend.")


def _fail(message: str) -> None:
    from chaos.cli.app import fail

    fail(message)


def load_backends() -> None:
    """Import every backend (and the nemeses' node rules) so their ledger kinds and sweepers are registered."""
    import chaos.nemesis.net  # noqa: F401
    import clusters.docker_backend
    import clusters.netns
    import clusters.ssh  # noqa: F401


def _describe(node: Node) -> dict[str, Any]:
    """How to reach a node again from another chaoscert process (no secrets)."""
    r: Any = node.remote
    target: dict[str, Any] = {"name": node.name, "address": node.address}
    if hasattr(r, "netns"):
        target |= {"netns": r.netns, "node_dir": str(r.node_dir), "shell": f"ip netns exec {r.netns} bash"}
    elif hasattr(r, "container"):
        target |= {"container": r.container.name, "shell": f"docker exec -it {r.container.name} bash"}
    elif hasattr(r, "host"):
        target |= {"ssh": r.host.__dict__, "state_dir": r.state_dir,
                   "shell": f"ssh -p {r.host.port} {r.host.user}@{r.host.host}"}
    return target


def _reattach(saved: dict[str, Any]) -> Remote:
    if "netns" in saved:
        from clusters.netns import NetnsRemote

        return NetnsRemote(saved["name"], saved["address"], saved["netns"], Path(saved["node_dir"]))
    if "container" in saved:
        from clusters.docker_backend import DockerRemote, docker_client

        return DockerRemote(saved["name"], saved["address"], docker_client().containers.get(saved["container"]))
    from clusters.ssh import SshHost, SshRemote

    return SshRemote(saved["name"], SshHost(**saved["ssh"]), saved["state_dir"])


def _cluster_file(name: str) -> Path:
    return state_dir() / "clusters" / f"{name}.json"


@cluster_app.command("up")
def cluster_up(
    backend: Annotated[str, typer.Option(help=f"where nodes live: {', '.join(BACKENDS)}")] = "netns",
    nodes: Annotated[int, typer.Option(help="number of nodes")] = 3,
    db: Annotated[str | None, typer.Option(help="database to set up on the nodes (default: bare nodes)")] = None,
    name: Annotated[str, typer.Option(help="cluster name, for status and down")] = "default",
    run_dir: Annotated[Path | None, typer.Option(help="node data folders (netns)")] = None,
    image: ImageOption = None,
    ssh_host: SshHostOption = None,
    ssh_user: SshUserOption = None,
    ssh_key: SshKeyOption = None,
    ssh_known_hosts: SshKnownHostsOption = None,
    ssh_insecure: SshInsecureOption = False,
    ssh_sudo: SshSudoOption = False,
) -> None:
    """Create nodes and keep them until `chaoscert cluster down`."""
    from clusters.shell import check_name

    load_backends()
    try:
        check_name(name, "cluster name")
    except ValueError as e:
        _fail(str(e))
    from chaos.run.runner import DBS

    if db is not None and db not in DBS:
        _fail(f"--db: unknown {db!r}; known: {', '.join(DBS)}")
    state = _cluster_file(name)
    if state.exists():
        _fail(f"cluster {name!r} is already up ({state}); `chaoscert cluster down --name {name}` first")
    ledger = Ledger(f"cluster-{name}-{uuid.uuid4().hex[:6]}")
    try:
        made = make_backend(backend, ledger, backend_options(image, ssh_host, ssh_user, ssh_key, ssh_known_hosts,
                                                             ssh_insecure, ssh_sudo))
    except ValueError as e:
        ledger.release_all()
        _fail(str(e))
    except BaseException:
        ledger.release_all()  # nothing made yet: drop the empty ledger
        raise
    run_dir = run_dir or Path(f"/var/tmp/chaoscert-{ledger.run_id}")
    ledger.record("path", str(run_dir), path=str(run_dir))
    started = time.monotonic()
    endpoints: dict[str, dict[str, Any]] = {}
    try:
        created = made.create(nodes, run_dir)
        if db is not None:
            adapter = DBS[db](run_dir)
            adapter.setup(created)
            endpoints = {n.name: asdict(adapter.endpoint(n)) for n in created}
    except BaseException as e:  # Ctrl-C included: nothing is left half made
        errors = ledger.release_all()
        if isinstance(e, Exception):
            _fail(f"cluster up failed: {type(e).__name__}: {e}" + (f"; cleanup errors: {errors}" if errors else ""))
        raise
    seconds = time.monotonic() - started
    state.parent.mkdir(parents=True, exist_ok=True)
    state.touch(mode=0o600)
    state.write_text(json.dumps({"backend": backend, "run_id": ledger.run_id, "seconds": seconds, "db": db,
                                 "nodes": [_describe(n) | ({"endpoint": endpoints[n.name]} if endpoints else {})
                                           for n in created]}, indent=2))
    ledger.keep()
    typer.echo(f"cluster {name}: {len(created)} {backend} nodes" + (f" with {db}" if db else "")
               + f" up in {seconds:.2f} s" + (f" (client password in {state})" if endpoints else ""))
    for n in created:
        where = f"{db} at {endpoints[n.name]['host']}:{endpoints[n.name]['port']} user " \
                f"{endpoints[n.name]['user']}\t" if endpoints else ""
        typer.echo(f"  {n.name}\t{n.address}\t{where}{_describe(n).get('shell', '')}")


def _load_cluster(name: str) -> dict[str, Any]:
    state = _cluster_file(name)
    if not state.exists():
        _fail(f"no cluster named {name!r} is up (no {state})")
    return json.loads(state.read_text())


@cluster_app.command("status")
def cluster_status(name: Annotated[str, typer.Option(help="cluster name")] = "default") -> None:
    """Probe each node of a cluster (runs `true` on it); exit 1 if any does not answer."""
    load_backends()
    cluster = _load_cluster(name)
    down = 0
    typer.echo(f"cluster {name}: {cluster['backend']}, ledger {cluster['run_id']}")
    for saved in cluster["nodes"]:
        try:
            _reattach(saved).run(["true"], timeout=10)
            health = "up"
        except Exception as e:
            health, down = f"DOWN ({e})", down + 1
        typer.echo(f"  {saved['name']}\t{saved['address']}\t{health}\t{saved.get('shell', '')}")
    raise typer.Exit(1 if down else 0)


@cluster_app.command("down")
def cluster_down(name: Annotated[str, typer.Option(help="cluster name")] = "default") -> None:
    """Remove every node and everything recorded for the cluster."""
    load_backends()
    cluster = _load_cluster(name)
    done = Ledger(cluster["run_id"]).release_counted()
    if done.errors:
        _fail(f"cluster {name}: could not remove: {'; '.join(done.errors)}")
    _cluster_file(name).unlink()
    stale = f" (forgot {len(done.stale)} already gone)" if done.stale else ""
    typer.echo(f"cluster {name}: removed {len(done.removed)} resources{stale}")


@image_app.command("build")
def image_build(
    db: Annotated[str, typer.Argument(help="database: all, galera, etcd, postgres, patroni or bare")] = "all",
    method: Annotated[str, typer.Option("--from", help="auto, debootstrap (offline) or dockerfile")] = "auto",
    force: Annotated[bool, typer.Option(help="rebuild even if the image exists")] = False,
    mirror: Annotated[str | None, typer.Option(help="debootstrap: Debian mirror (default: apt's)")] = None,
) -> None:
    """Build the docker backend's node image for a database (cached by tag and package list)."""
    from clusters.docker_backend import docker_client
    from clusters.images import build_image

    try:
        docker_client()
        built = build_image(db, method=method, force=force, mirror=mirror)
    except (ValueError, RuntimeError) as e:  # RemoteError included
        _fail(str(e))
    typer.echo(f"{built.tag}: {built.method} in {built.seconds:.1f} s")


def clean() -> None:
    """Remove what killed runs left (ledgers whose chaoscert process is dead), then anything named
    with chaoscert's prefixes that no ledger covers; prints each thing really removed (records of
    things already gone are dropped and only counted)."""
    load_backends()
    recorded, swept = clean_all(), sweep()
    for item in recorded.removed:
        typer.echo(f"removed {item}")
    for item in swept.removed:
        typer.echo(f"removed {item} (no ledger)")
    for error in recorded.errors + swept.errors:
        typer.echo(f"chaoscert: could not remove {error}", err=True)
    if not recorded.removed + swept.removed + recorded.errors + swept.errors:
        typer.echo("nothing to clean")
    if stale := len(recorded.stale):
        typer.echo(f"forgot {stale} stale ledger record{'s' if stale != 1 else ''} (already gone)")
    raise typer.Exit(1 if recorded.errors or swept.errors else 0)


def register(app: typer.Typer) -> None:
    app.add_typer(cluster_app, name="cluster")
    app.add_typer(image_app, name="image")
    app.command("clean")(clean)
