"""The clock, packet and partition nemeses on a real 3-node Galera cluster in Docker containers, each
effect seen from outside by a MariaDB client on this machine: a clock bump shows in ``NOW(6)`` on that
node only (libfaketime inside the container, where Jepsen's clock nemesis cannot reach) and a reset
brings it back; a strobe flips; packet loss and an NFQUEUE delay (the delayer runs here, inside the
container's network namespace) slow that node's clients only; a rate limit (tbf) slows a large
answer; a partitioned node goes non-Primary. Each heal removes exactly what was added (rules and
qdiscs inside the containers, the delayer, the clock skew), nothing is ever added to this machine's
firewall, and nothing is left after the module. Then a short ``chaoscert run --backend docker`` with
``--nemesis clock,packet`` records the mechanism used and the offsets the clients saw.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest

from chaos.nemesis.package import build_nemesis
from clusters.ledger import Ledger, run_suffix
from tests.conftest import command_lines, require
from tests.helpers import heal_error
from tests.integration.galera_probe import query_seconds, wait_status
from tests.integration.test_backends import ensure_docker

pytestmark = [pytest.mark.docker, pytest.mark.root, pytest.mark.db]
ROOT = Path(__file__).resolve().parents[2]
DELAYER = importlib.util.find_spec("chaos.nemesis.nfq_delayer").origin  # the script the packet nemesis runs


def _host_rules() -> list[str]:
    """This machine's filter and nat rules."""
    return subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout.splitlines()


def _delayers() -> list[int]:
    """Pids of this checkout's NFQUEUE delayers running on this machine."""
    return [pid for pid, line in command_lines().items() if DELAYER in line]


@pytest.fixture(scope="module")
def galera(state):
    require(os.geteuid() == 0, "docker nemeses need root")
    ensure_docker()
    import docker

    from clusters.docker_backend import DockerBackend
    from clusters.galera import Galera

    ledger = Ledger(directory=state)
    backend = DockerBackend(ledger)
    client = docker.from_env(timeout=30)
    names: list[str] = []
    try:
        nodes = backend.create(3, state / "run")
        names = [n.remote.container.name for n in nodes]
        network = client.networks.get(nodes[0].remote.container.attrs["HostConfig"]["NetworkMode"])
        ours = (f"br-{network.id[:12]}", network.attrs["IPAM"]["Config"][0]["Subnet"])
        db = Galera("/srv/chaoscert", sync_wait=1)
        package = build_nemesis("partition,clock,packet", db, nodes, random.Random(3), ledger=ledger, interval=10,
                                duration=2)
        started = time.monotonic()
        db.setup(nodes)
        print(f"\ngalera on docker: 3 nodes Synced in {time.monotonic() - started:.1f} s")
        host_before = _host_rules()
        try:
            with package.healing(heal_error):
                yield db, {n.name: n for n in nodes}, package.nemesis
        finally:
            db.teardown(nodes)
        assert [r for r in _host_rules() if r not in host_before and "chaoscert-nem-" in r] == []
    finally:
        assert backend.destroy() == []
        assert ledger.release_all() == []
    left = [c.name for c in client.containers.list(all=True) if c.name in names]
    assert left == [], f"containers left: {left}"
    assert [r for r in _host_rules() if any(x in r for x in ours)] == [], "host rules of the run's network left"
    assert _delayers() == []


def now_skew(db, node) -> float:
    """Seconds between the node's ``NOW(6)``, asked by a client over TCP, and this machine's clock."""
    e = db.endpoint(node)
    conn = pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=5,
                           read_timeout=5)
    with conn, conn.cursor() as cur:
        before = time.time()
        cur.execute("SELECT UNIX_TIMESTAMP(NOW(6))")
        (seen,) = cur.fetchone()
        return float(seen) - (before + time.time()) / 2


def control_file(node) -> str:
    found = node.remote.run(["sh", "-c", "cat /var/lib/chaoscert/faketime-*.rc"]).stdout
    return found.strip()


def test_clock_bump_shows_in_now_on_that_node_only(galera) -> None:
    db, nodes, nemesis = galera
    done = nemesis.invoke("bump-clock", {"n2": 90000})
    try:
        seen = {name: now_skew(db, n) for name, n in nodes.items()}
        print(f"\ndocker galera: bump n2 +90 s -> recorded {done['offset-ms']} ({done['measured-by']}); "
              f"NOW(6) skews {({k: round(v, 3) for k, v in seen.items()})}")
        assert done["measured-by"] == "database" and abs(done["offset-ms"]["n2"] - 90000) < 500
        assert 89.5 < seen["n2"] < 90.5 and abs(seen["n1"]) < 0.5 and abs(seen["n3"]) < 0.5
        assert control_file(nodes["n2"]) == "+90.000s" and control_file(nodes["n1"]) == "+0.000s"
        nemesis.invoke("bump-clock", {"n2": -120000})
        assert -120.5 < now_skew(db, nodes["n2"]) < -119.5
        assert db.status(nodes["n2"], "wsrep_local_state_comment")["wsrep_local_state_comment"] == "Synced"
    finally:
        done = nemesis.invoke("reset-clock", ["n2"])
    back = now_skew(db, nodes["n2"])
    print(f"docker galera: reset n2 -> recorded {done['offset-ms']}; NOW(6) skew {back:.3f} s")
    assert abs(back) < 0.5 and abs(done["offset-ms"]["n2"]) < 500 and control_file(nodes["n2"]) == "+0.000s"


def test_strobe_clock_flips(galera) -> None:
    db, nodes, nemesis = galera
    done = nemesis.invoke("strobe-clock", {"nodes": ["n1"], "delta-ms": 30000, "period-ms": 300})
    seen = []
    deadline = time.monotonic() + 3
    try:
        while time.monotonic() < deadline:
            seen.append(round(now_skew(db, nodes["n1"]) / 30))
            time.sleep(0.05)
        others = abs(now_skew(db, nodes["n3"]))
    finally:
        nemesis.invoke("reset-clock", ["n1"])
    flips = sum(a != b for a, b in itertools.pairwise(seen))
    print(f"\ndocker galera: strobe n1 30 s every 300 ms: recorded {done['offset-ms']}; {len(seen)} NOW(6) "
          f"samples in 3 s, {flips} flips; n3 skew {others:.3f} s")
    assert abs(done["offset-ms"]["n1"] - 30000) < 500  # skewed from the start
    assert set(seen) == {0, 1} and flips >= 4 and others < 0.5
    assert abs(now_skew(db, nodes["n1"])) < 0.5 and control_file(nodes["n1"]) == "+0.000s"


def _retransmits(node) -> int:
    """TCP segments the node retransmitted so far (its kernel's ``RetransSegs``)."""
    lines = [line.split() for line in node.remote.run(["cat", "/proc/net/snmp"]).stdout.splitlines()
             if line.startswith("Tcp:")]
    return int(lines[1][lines[0].index("RetransSegs")])


def _rules(node) -> list[str]:
    return node.remote.run(["iptables", "-S"]).stdout.splitlines()


def _qdiscs(node) -> str:
    return node.remote.run(["tc", "qdisc", "show", "dev", "eth0"]).stdout


def test_packet_loss_slows_that_nodes_clients_only(galera) -> None:
    db, nodes, nemesis = galera
    n2, n3 = nodes["n2"], nodes["n3"]
    before = {n.name: sorted((query_seconds(db, n) or 3.0) for _ in range(9)) for n in (n2, n3)}
    rules_before, sent_before = _rules(n2), _retransmits(n2)
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"loss": 0.4}})
    try:
        assert done["mechanism"] == {"loss": "iptables-statistic"}
        assert len(_rules(n2)) == len(rules_before) + 1 and _rules(nodes["n1"]) == _rules(n3)
        during = {n.name: sorted((query_seconds(db, n) or 3.0) for _ in range(9)) for n in (n2, n3)}
        resent = _retransmits(n2) - sent_before
    finally:
        nemesis.invoke("stop-packet", None)
    print("\ndocker galera connect+SELECT 1 medians (9 tries), before -> with 40% loss on n2: "
          + ", ".join(f"{k} {before[k][4] * 1000:.0f} -> {during[k][4] * 1000:.0f} ms (worst "
                      f"{during[k][-1] * 1000:.0f})" for k in before) + f"; n2 retransmitted {resent} segments")
    assert during["n2"][4] > 0.2 and during["n2"][4] > 5 * before["n2"][4]
    assert during["n3"][4] < 0.2 and resent > 0
    assert _rules(n2) == rules_before


def _select_ms(conn, n: int = 10) -> float:
    """Median milliseconds of ``SELECT 1`` on an open connection (one round trip each)."""
    times = []
    with conn.cursor() as cur:
        for _ in range(n):
            started = time.monotonic()
            cur.execute("SELECT 1")
            cur.fetchall()
            times.append((time.monotonic() - started) * 1000)
    return sorted(times)[n // 2]


def _client(db, node):
    e = db.endpoint(node)
    return pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=5,
                           read_timeout=10)


def test_packet_delay_by_nfqueue_delayer_in_the_containers_namespace(galera) -> None:
    require(importlib.util.find_spec("netfilterqueue") is not None,
            "the NFQUEUE delayer needs netfilterqueue (scripts/setup.sh installs it)")
    db, nodes, nemesis = galera
    n2, n3 = nodes["n2"], nodes["n3"]
    rules_before = _rules(n2)
    with _client(db, n2) as c2, _client(db, n3) as c3:
        before = _select_ms(c2), _select_ms(c3)
        done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"delay-ms": 100, "jitter-ms": 10}})
        try:
            assert done["mechanism"] == {"delay-ms": "nfqueue-delayer", "jitter-ms": "nfqueue-delayer"}
            running = {pid: os.readlink(f"/proc/{pid}/ns/net") for pid in _delayers()}
            during = _select_ms(c2), _select_ms(c3)
        finally:
            nemesis.invoke("stop-packet", None)
        after = _select_ms(c2)
    print(f"\ndocker galera SELECT 1 round trip medians: n2 {before[0]:.1f} -> {during[0]:.1f} -> {after:.1f} ms "
          f"(delay 100 ± 10 ms on n2), n3 {before[1]:.1f} -> {during[1]:.1f} ms; delayer: {running}")
    container_net = os.readlink(f"/proc/{n2.remote.container.attrs['State']['Pid']}/ns/net")
    assert list(running.values()) == [container_net]  # one delayer, on this machine, in n2's namespace
    assert 85 < during[0] < 160 and during[1] < 20 and after < 20
    assert _rules(n2) == rules_before and _delayers() == []


def test_delay_without_a_way_to_run_the_delayer_is_a_clear_error(galera, monkeypatch) -> None:
    """An engine on another machine (no namespace to enter from here) and a node image whose python3 has
    no netfilterqueue binding: the delay is refused with the reason, and nothing is left in place."""
    from chaos.nemesis.net import NemesisError
    from clusters.docker_backend import DockerRemote

    _, nodes, nemesis = galera
    n2 = nodes["n2"]
    rules_before = _rules(n2)
    monkeypatch.setattr(DockerRemote, "host_netns", lambda self: None)
    with pytest.raises(NemesisError, match=r"cannot enter the node's network namespace.*netfilterqueue"):
        nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"delay-ms": 100}})
    assert nemesis.invoke("stop-packet", None) == ["n2"]
    assert _rules(n2) == rules_before and _delayers() == []


def test_packet_rate_limit_by_tbf(galera) -> None:
    db, nodes, nemesis = galera
    n2 = nodes["n2"]
    assert "tbf" not in _qdiscs(n2)

    def fetch() -> float:
        with _client(db, n2) as conn, conn.cursor() as cur:
            started = time.monotonic()
            cur.execute("SELECT REPEAT('x', 96000)")
            assert len(cur.fetchone()[0]) == 96000
            return time.monotonic() - started

    fast = fetch()
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"rate-kbit": 256}})
    try:
        assert done["mechanism"] == {"rate-kbit": "tbf"} and "tbf" in _qdiscs(n2)
        slow = fetch()
    finally:
        nemesis.invoke("stop-packet", None)
    print(f"\ndocker galera 96 kB answer from n2: {fast:.3f} s, {slow:.2f} s at 256 kbit/s")
    assert fast < 0.5 and slow > 2.0
    assert "tbf" not in _qdiscs(n2)


def test_partition_makes_the_node_non_primary_and_heals_exactly(galera) -> None:
    db, nodes, nemesis = galera
    before = {name: _rules(n) for name, n in nodes.items()}
    started = time.monotonic()
    nemesis.invoke("start-partition", {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]})
    applied = time.monotonic() - started
    try:
        assert [len(_rules(n)) - len(before[k]) for k, n in nodes.items()] == [2, 2, 4]
        assert not any("chaoscert-nem-" in r for r in _host_rules())  # the rules are in the containers only
        cut = wait_status(db, nodes["n3"], "non-Primary", 30)
        assert db.status(nodes["n1"], "wsrep_cluster_status")["wsrep_cluster_status"] == "Primary"
    finally:
        nemesis.invoke("stop-partition", None)
    assert {name: _rules(n) for name, n in nodes.items()} == before
    healed = wait_status(db, nodes["n3"], "Primary", 60)
    print(f"\ndocker galera: partition applied in {applied:.2f} s; n3 non-Primary {cut:.1f} s after it, "
          f"Primary {healed:.1f} s after the heal")


def test_chaoscert_run_on_docker_records_clock_and_packet(state, tmp_path) -> None:
    """A short real run: the faults of seed 4 are a packet fault on n3, a clock bump and a strobe on n2."""
    require(os.geteuid() == 0, "docker runs need root")
    ensure_docker()
    env = {**os.environ, "CHAOSCERT_STATE_DIR": str(state)}
    done = subprocess.run(
        [sys.executable, "-m", "chaos", "run", "--backend", "docker", "--db", "galera", "--nodes", "3",
         "--workload", "register", "--nemesis", "clock:n2,packet:n3", "--nemesis-packet",
         '{"delay-ms": 50, "jitter-ms": 5}', "--time-limit", "10", "--nemesis-interval", "3", "--nemesis-down", "1.5",
         "--nemesis-quiet", "1", "--seed", "4", "--rate", "50", "--results", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (history,) = tmp_path.glob("*/2*/history.jsonl")
    ops = [json.loads(line) for line in history.read_text().splitlines()]
    nemesis = [(op["f"], op["value"]) for op in ops if op["process"] == "nemesis" and isinstance(op["value"], dict)
               and ("offset-ms" in op["value"] or "mechanism" in op["value"])]  # completions
    print("\n" + "\n".join(f"{f} {json.dumps(v)}" for f, v in nemesis))
    fs = [f for f, _ in nemesis]
    assert {"start-packet", "bump-clock", "strobe-clock", "reset-clock"} <= set(fs)
    (packet,) = [v for f, v in nemesis if f == "start-packet"]
    assert packet["nodes"] == ["n3"] and packet["mechanism"] == {"delay-ms": "nfqueue-delayer",
                                                                 "jitter-ms": "nfqueue-delayer"}
    for f, v in nemesis:
        if f == "bump-clock":
            assert v["measured-by"] == "database" and abs(v["offset-ms"]["n2"] - v["delta-ms"]["n2"]) < 500
        elif f == "strobe-clock":
            assert abs(v["offset-ms"]["n2"] - v["delta-ms"]) < 500
        elif f == "reset-clock":
            assert all(abs(ms) < 500 for ms in v["offset-ms"].values())
    assert _delayers() == []
    cnf = next(history.parent.glob("logs/n1/my.cnf")).read_text()  # datadir=<tmp>/chaoscert-<run id>-.../n1/...
    suffix = run_suffix(re.search(r"datadir=\S*/chaoscert-(\d{8}T\d{6}-[0-9a-f]+)-", cnf).group(1))
    import docker

    client = docker.from_env(timeout=30)
    assert [c.name for c in client.containers.list(all=True) if suffix in c.name] == []
    assert [n.name for n in client.networks.list() if suffix in n.name] == []
