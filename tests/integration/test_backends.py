"""One suite for every backend (netns, docker, ssh): commands, files, daemons, kill -9 and restart,
pause and resume, a partition made with iptables inside a node, all observed from another node.

Each node runs ``python3 -m http.server`` as the daemon under test; another node probes it with a
one-line HTTP client (1 s timeout). SSH is tested against the real sshd started inside network
namespaces as stand-in hosts, with throwaway keys in a temp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clusters.ledger import Ledger
from clusters.remote import Node, RemoteError
from tests.conftest import ensure_docker_engine, require

ROOT = Path(__file__).resolve().parents[2]
PORT = 8000
PROBE = "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)"




def ensure_docker() -> None:
    require(os.geteuid() == 0 or shutil.which("docker") is not None, "docker backend needs root or an engine")
    ensure_docker_engine()
    from clusters.images import build_image

    build_image("all")  # cached after the first build


def _netns_nodes(ledger: Ledger, run_dir: Path, count: int = 3):
    from clusters.netns import NetnsBackend

    backend = NetnsBackend(ledger)
    return backend, backend.create(count, run_dir)


def ssh_stand_in_hosts(ledger: Ledger, run_dir: Path, backends: list) -> tuple[list[str], Path, Path]:
    """Stand-in hosts: sshd in three namespaces, a throwaway client key and host key. Returns the
    hosts' addresses, the client key and the known_hosts file; the namespaces' backend goes in
    ``backends`` (destroy it after)."""
    require(shutil.which("sshd") is not None or Path("/usr/sbin/sshd").exists(), "openssh-server not installed")

    hosts_backend, hosts = _netns_nodes(ledger, run_dir / "hosts")
    backends.append(hosts_backend)
    keys = run_dir / "keys"
    keys.mkdir(mode=0o700)
    for key in ("client", "host"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / key)], check=True)
    (keys / "authorized_keys").write_text((keys / "client.pub").read_text())
    host_pub = (keys / "host.pub").read_text().split()
    (keys / "known_hosts").write_text("".join(f"{h.address} {host_pub[0]} {host_pub[1]}\n" for h in hosts))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
    for h in hosts:
        config = run_dir / f"sshd_{h.name}.conf"
        config.write_text(f"ListenAddress {h.address}\nHostKey {keys / 'host'}\nPidFile none\n"
                          f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPermitRootLogin prohibit-password\n"
                          "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
                          "StrictModes no\nSubsystem sftp /usr/lib/openssh/sftp-server\n")
        h.remote.start_daemon("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
                              log_file=str(run_dir / f"sshd_{h.name}.log"))
    for h in hosts:
        _wait_for(lambda h=h: subprocess.run(
            [sys.executable, "-c", "import socket, sys; socket.create_connection((sys.argv[1], 22), 1)", h.address],
            capture_output=True).returncode == 0, f"sshd on {h.address}")
    return [h.address for h in hosts], keys / "client", keys / "known_hosts"


def _ssh_nodes(ledger: Ledger, run_dir: Path, backends: list):
    from clusters.ssh import SshBackend, SshHost

    addresses, key, known_hosts = ssh_stand_in_hosts(ledger, run_dir, backends)
    options = {"key_filename": str(key), "known_hosts": str(known_hosts)}
    backend = SshBackend(ledger, [SshHost(a, **options) for a in addresses])
    backends.append(backend)
    return backend, backends[0], backend.create(3, run_dir)


@pytest.fixture(scope="module", params=["netns", "docker", "ssh"])
def cluster(request, state, tmp_path_factory):
    """Three bare nodes on one backend, with the time it took to make them."""
    require(os.geteuid() == 0, "backends need root (namespaces, iptables, dockerd)")
    if request.param == "docker":
        ensure_docker()
    ledger = Ledger()
    run_dir = tmp_path_factory.mktemp(request.param)
    backends = []
    started = time.monotonic()
    try:
        if request.param == "netns":
            backend, nodes = _netns_nodes(ledger, run_dir)
            backends.append(backend)
        elif request.param == "docker":
            from clusters.docker_backend import DockerBackend

            backend = DockerBackend(ledger)
            backends.append(backend)
            nodes = backend.create(3, run_dir)
        else:
            _, _, nodes = _ssh_nodes(ledger, run_dir, backends)
        seconds = time.monotonic() - started
        print(f"\n{request.param}: 3 bare nodes in {seconds:.2f} s")
        yield request.param, nodes, ledger
    finally:
        for b in reversed(backends):
            assert b.destroy() == []
        assert ledger.outstanding() == [] or all(r.kind == "process" for r in ledger.outstanding())
        assert ledger.release_all() == []


def _wait_for(condition, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def answers(client: Node, server: Node) -> bool:
    """Whether ``server``'s HTTP daemon answers ``client`` within 1 s."""
    done = client.remote.run(["python3", "-c", PROBE, f"http://{server.address}:{PORT}/"], check=False, timeout=10)
    return done.ok


def start_web(node: Node) -> int:
    return node.remote.start_daemon("web", ["python3", "-m", "http.server", str(PORT), "--bind", node.address],
                                    log_file=f"{node.remote.state_dir}/web.log", cwd="/")


@pytest.fixture
def web(cluster):
    """The http daemon running on n1; killed after the test."""
    _, nodes, _ = cluster
    n1, n2, _ = nodes
    start_web(n1)
    _wait_for(lambda: answers(n2, n1), "n1's web server")
    yield nodes
    n1.remote.run(["sh", "-c", "iptables -F INPUT; iptables -F OUTPUT"], check=False)
    n1.remote.signal("web", "CONT")
    n1.remote.signal("web", "KILL")
    assert n1.remote.wait_stopped("web", 10)


pytestmark = [pytest.mark.root]


def test_run_command_quoting_env_input_and_timeout(cluster):
    _, (n1, _, _), _ = cluster
    tricky = "a b; echo pwned $(id) 'q' \"d\""
    assert n1.remote.run(["printf", "%s", tricky]).stdout == tricky
    assert n1.remote.run(["sh", "-c", 'printf %s "$X"'], env={"X": tricky}).stdout == tricky
    assert n1.remote.run(["cat"], input="line1\nline2\n").stdout == "line1\nline2\n"
    assert n1.remote.run(["printf", "log \\303(\\n"]).stdout == "log \ufffd(\n"  # not UTF-8 (seekdb's log): replaced
    failed = n1.remote.run(["sh", "-c", "echo oops >&2; exit 3"], check=False)
    assert (failed.exit_code, failed.stderr.strip()) == (3, "oops")
    with pytest.raises(RemoteError, match="exited 3"):
        n1.remote.run(["sh", "-c", "exit 3"])
    with pytest.raises(RemoteError, match="timed out"):
        n1.remote.run(["sleep", "10"], timeout=0.5)
    assert n1.address in n1.remote.run(["ip", "-4", "-o", "addr", "show", "eth0"]).stdout
    assert n1.remote.run(["ip", "route"]).stdout.count("default") == 0 or cluster[0] == "docker"


def test_upload_download(cluster, tmp_path):
    _, (n1, _, _), _ = cluster
    source = tmp_path / "in.bin"
    source.write_bytes(bytes(range(256)) * 100)
    remote_path = f"/tmp/chaoscert-test-{n1.address}/sub/file.bin"
    n1.remote.upload(source, remote_path)
    n1.remote.download(remote_path, tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == source.read_bytes()
    n1.remote.run(["rm", "-rf", f"/tmp/chaoscert-test-{n1.address}"])


def test_kill_9_and_restart(web):
    n1, n2, _ = web
    first = n1.remote.pid("web")
    n1.remote.signal("web", "KILL")
    assert n1.remote.wait_stopped("web", 10)
    assert not n1.remote.is_running("web")
    assert not answers(n2, n1)
    assert start_web(n1) != first
    _wait_for(lambda: answers(n2, n1), "restarted web server")


def test_pause_and_resume(web):
    n1, n2, _ = web
    n1.remote.signal("web", "STOP")
    assert n1.remote.is_running("web")  # stopped is alive
    assert not answers(n2, n1)
    n1.remote.signal("web", "CONT")
    _wait_for(lambda: answers(n2, n1), "resumed web server")


def test_pause_resume_and_kill_reach_a_child_in_its_own_session(cluster):
    """As PostgreSQL's backends: the process serving clients is the daemon's child, in a session of its own."""
    _, (n1, n2, _), _ = cluster
    n1.remote.start_daemon("forker", ["sh", "-c", 'setsid "$@" & wait', "sh", "python3", "-m", "http.server",
                                      str(PORT), "--bind", n1.address],
                           log_file=f"{n1.remote.state_dir}/forker.log", cwd="/")
    port_free = ["python3", "-c", "import socket, sys; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
                 "socket.SO_REUSEADDR, 1); s.bind((sys.argv[1], int(sys.argv[2])))", n1.address, str(PORT)]
    try:
        _wait_for(lambda: answers(n2, n1), "the daemon's child web server")
        n1.remote.signal("forker", "STOP")
        assert not answers(n2, n1)
        n1.remote.signal("forker", "CONT")
        _wait_for(lambda: answers(n2, n1), "resumed child web server")
        n1.remote.signal("forker", "STOP")  # killed while paused, as teardown finds a paused server
        n1.remote.signal("forker", "KILL")
        assert n1.remote.wait_stopped("forker", 10)
        _wait_for(lambda: n1.remote.run(port_free, check=False).ok, "the child gone (its port free)")
    finally:
        n1.remote.signal("forker", "KILL")


def test_partition_one_node_and_heal(web):
    n1, n2, n3 = web
    rules = [["INPUT", "-s", n2.address, "-j", "DROP"], ["OUTPUT", "-d", n2.address, "-j", "DROP"]]
    for rule in rules:
        n1.remote.run(["iptables", "-w", "5", "-A", *rule])
    assert not answers(n2, n1)
    assert answers(n3, n1)  # only n2 is cut off
    for rule in rules:
        n1.remote.run(["iptables", "-w", "5", "-D", *rule])
    _wait_for(lambda: answers(n2, n1), "healed partition")


def test_second_copy_of_a_daemon_is_refused(web):
    n1, _, _ = web
    with pytest.raises(RemoteError, match="already running"):
        start_web(n1)


# ---------------------------------------------------------------- crash of `cluster up`, then clean

def _leftovers(suffix_run: str) -> dict[str, list[str]]:
    ns = [n for n in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
          if suffix_run in n]
    links = [link["ifname"] for link in json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True,
                                                                  text=True).stdout)
             if suffix_run in link["ifname"]]
    rules = [r for r in subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout.splitlines()
             if suffix_run in r]
    found = {"netns": ns, "links": links, "iptables": rules}
    if shutil.which("docker"):
        for kind in ("ps", "network ls"):
            out = subprocess.run(["docker", *kind.split(), "-a" if kind == "ps" else "-q", "--format", "{{.Names}}"
                                  if kind == "ps" else "{{.Name}}"], capture_output=True, text=True).stdout
            found[kind] = [x for x in out.split() if suffix_run in x]
    return found


@pytest.mark.parametrize("backend", ["netns", "docker"])
def test_kill_9_during_cluster_up_then_clean_leaves_nothing(backend, state, tmp_path):
    require(os.geteuid() == 0, "needs root")
    if backend == "docker":
        ensure_docker()
    before = set(state.glob("*.jsonl"))
    env = {**os.environ, "CHAOSCERT_STATE_DIR": str(state)}
    up = subprocess.Popen([sys.executable, "-m", "chaos", "cluster", "up", "--backend", backend, "--nodes", "12",
                           "--name", f"crash{backend}", "--run-dir", str(tmp_path / "run")],
                          cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    kind = "netns" if backend == "netns" else "docker-container"
    deadline = time.monotonic() + 60
    ledger_path = None
    while time.monotonic() < deadline and up.poll() is None:
        new = set(state.glob("*.jsonl")) - before
        if new:
            ledger_path = new.pop()
            if ledger_path.read_text().count(f'"kind": "{kind}"') >= 3:
                break
        time.sleep(0.005)
    os.killpg(up.pid, signal.SIGKILL)
    up.wait()
    assert ledger_path is not None, up.stderr.read().decode()
    text = ledger_path.read_text()
    assert '"kept"' not in text, "cluster up finished before it was killed: make it slower"
    run_suffix = ledger_path.stem.replace("-", "")[-6:]
    assert any(_leftovers(run_suffix).values())  # something really was left behind
    done = subprocess.run([sys.executable, "-m", "chaos", "clean"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "removed" in done.stdout
    assert _leftovers(run_suffix) == {k: [] for k in _leftovers(run_suffix)}
    assert not ledger_path.exists()


@pytest.mark.parametrize("cluster", ["ssh"], indirect=True)
def test_ssh_refuses_unknown_host_key(cluster, tmp_path):
    from clusters.ssh import SshHost, connect

    host = cluster[1][0].remote.host
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    stranger = SshHost(host.host, host.port, host.user, key_filename=host.key_filename, known_hosts=str(empty))
    with pytest.raises(RemoteError, match="known_hosts"):
        connect(stranger)
    connect(SshHost(**{**stranger.__dict__, "insecure": True})).close()
