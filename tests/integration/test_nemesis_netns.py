"""Every nemesis on 3 network-namespace nodes running a real daemon (``http.server``), each effect
observed from outside: from this machine or from another node. Then: a Ctrl-C (and a kill -9 plus
the ledger clean-up of ``chaoscert clean``) in the middle of a partition, a delay, a rate limit,
a clock bump and a pause leaves no rule, qdisc, delayer or paused process behind.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chaos.nemesis.package import build_nemesis
from clusters.ledger import Ledger
from tests.conftest import require
from tests.helpers import heal_error
from tests.integration.httpdb import PORT, HttpDB, get

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import sys, urllib.request\ntry:\n    urllib.request.urlopen(sys.argv[1], timeout=1); print('ok')\n"
         "except Exception as e:\n    print(type(e).__name__)")




def _need_root() -> None:
    require(os.geteuid() == 0 and shutil.which("iptables") is not None, "netns nemeses need root and iptables")


@pytest.fixture(scope="module")
def cluster(state, tmp_path_factory):
    """3 netns nodes, every nemesis built before the daemons start (clock needs the preload)."""
    _need_root()
    from clusters.netns import NetnsBackend

    ledger = Ledger(directory=state)
    backend = NetnsBackend(ledger)
    try:
        nodes = backend.create(3, tmp_path_factory.mktemp("nemrun"))
        db = HttpDB()
        package = build_nemesis("kill,pause,partition,clock,packet", db, nodes, random.Random(1), ledger=ledger,
                                interval=10, duration=2)
        db.setup(nodes)
        with package.healing(heal_error):
            yield {n.name: n for n in nodes}, package.nemesis
        db.teardown(nodes)
    finally:
        assert backend.destroy() == []
        assert ledger.release_all() == []


def probe(src, dst) -> str:
    """HTTP GET from inside node ``src`` to node ``dst`` (1 s timeout): ok, or the exception's name."""
    done = src.remote.run([sys.executable, "-c", PROBE, f"http://{dst.address}:{PORT}/"], timeout=10)
    return done.stdout.strip()


def rules(node) -> list[str]:
    return [line for line in node.remote.run(["iptables", "-S"]).stdout.splitlines() if "chaoscert-nem-" in line]


def ping(src, dst, count: int = 20) -> tuple[float, float, int]:
    """(loss %, average rtt ms, duplicates) of ``count`` pings from ``src`` to ``dst``."""
    out = src.remote.run(["ping", "-n", "-c", str(count), "-i", "0.05", "-W", "1", dst.address], check=False,
                         timeout=30).stdout
    loss = float(re.search(r"([\d.]+)% packet loss", out).group(1))
    rtt = re.search(r"= [\d.]+/([\d.]+)/", out)
    return loss, float(rtt.group(1)) if rtt else float("inf"), out.count("DUP!")


def test_kill_refuses_connections_then_start_brings_it_back(cluster) -> None:
    nodes, nemesis = cluster
    assert get(nodes["n2"].address)[0] == "ok"
    assert nemesis.invoke("kill", ["n2"]) == ["n2"]
    assert get(nodes["n2"].address)[0] == "refused"
    assert get(nodes["n1"].address)[0] == "ok"
    assert nemesis.invoke("start", ["n2"]) == ["n2"]
    assert get(nodes["n2"].address)[0] == "ok"


def test_pause_stops_answers_then_resume(cluster) -> None:
    nodes, nemesis = cluster
    assert nemesis.invoke("pause", ["n3"]) == ["n3"]
    assert get(nodes["n3"].address, timeout=1)[0] == "timeout"
    assert nemesis.invoke("resume", "all") == ["n3"]
    assert get(nodes["n3"].address, timeout=5)[0] == "ok"


def test_partition_cuts_both_ways_and_heals_exactly(cluster) -> None:
    nodes, nemesis = cluster
    n1, n2, n3 = nodes["n1"], nodes["n2"], nodes["n3"]
    before = {n: n.remote.run(["iptables", "-S"]).stdout for n in (n1, n2, n3)}
    value = nemesis.invoke("start-partition", {"n3": ["n1", "n2"], "n1": ["n3"], "n2": ["n3"]})
    assert value == {"n1": ["n3"], "n2": ["n3"], "n3": ["n1", "n2"]}
    assert len(rules(n3)) == 4 and len(rules(n1)) == 2
    assert probe(n1, n3) != "ok" and probe(n3, n1) != "ok" and probe(n3, n2) != "ok"
    assert probe(n1, n2) == "ok" and probe(n2, n1) == "ok"
    assert get(n3.address)[0] == "ok"  # this machine is not in the grudge
    assert nemesis.invoke("stop-partition", None) == "network-healed"
    assert {n: n.remote.run(["iptables", "-S"]).stdout for n in (n1, n2, n3)} == before
    assert probe(n1, n3) == "ok" and probe(n3, n1) == "ok"


def test_majority_partition_from_grudge_builder(cluster) -> None:
    from chaos.nemesis.partition import grudge_to_json, majority

    nodes, nemesis = cluster
    grudge = grudge_to_json(majority(list(nodes), random.Random(4)))
    nemesis.invoke("start-partition", grudge)
    try:
        for a in nodes.values():
            for b in nodes.values():
                if a is not b:
                    assert (probe(a, b) == "ok") == (b.name not in grudge.get(a.name, [])), (a.name, b.name)
    finally:
        nemesis.invoke("stop-partition", None)


def test_clock_bump_shows_on_that_node_only_and_resets(cluster) -> None:
    nodes, nemesis = cluster
    done = nemesis.invoke("bump-clock", {"n2": 60000})
    assert done["measured-by"] == "date" and abs(done["offset-ms"]["n2"] - 60000) < 1000
    skew = {name: get(n.address)[1] - time.time() for name, n in nodes.items()}
    assert 58 < skew["n2"] < 62 and abs(skew["n1"]) < 2 and abs(skew["n3"]) < 2
    done = nemesis.invoke("bump-clock", {"n2": -120000})
    assert -122 < get(nodes["n2"].address)[1] - time.time() < -118
    done = nemesis.invoke("reset-clock", ["n2"])
    assert abs(done["offset-ms"]["n2"]) < 1000 and abs(get(nodes["n2"].address)[1] - time.time()) < 2


def test_strobe_clock_flips(cluster) -> None:
    nodes, nemesis = cluster
    nemesis.invoke("strobe-clock", {"nodes": ["n1"], "delta-ms": 30000, "period-ms": 300})
    seen = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        seen.add(round((get(nodes["n1"].address)[1] - time.time()) / 30))
        time.sleep(0.05)
    nemesis.invoke("reset-clock", ["n1"])
    assert seen == {0, 1}
    assert abs(get(nodes["n1"].address)[1] - time.time()) < 2


def test_packet_loss_by_iptables_statistic(cluster) -> None:
    nodes, nemesis = cluster
    n1, n2 = nodes["n1"], nodes["n2"]
    assert ping(n1, n2)[0] == 0
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"loss": 0.5}})
    assert done["mechanism"] == {"loss": "iptables-statistic"}
    loss, _, _ = ping(n1, n2, 40)
    nemesis.invoke("stop-packet", None)
    assert loss >= 20
    assert ping(n1, n2)[0] == 0 and rules(n2) == []


def delayers(node) -> list[str]:
    """Pids of NFQUEUE delayers running in the node's namespace."""
    pids = subprocess.run(["ip", "netns", "pids", node.remote.netns], capture_output=True, text=True).stdout.split()
    return [p for p in pids if "nfq_delayer" in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")]


def _need_delayer() -> None:
    try:
        import netfilterqueue  # noqa: F401
    except ImportError:
        require(False, "the NFQUEUE delayer needs netfilterqueue (scripts/setup.sh installs it)")


def test_packet_delay_and_duplicates_by_nfqueue_delayer(cluster) -> None:
    _need_delayer()
    nodes, nemesis = cluster
    n1, n2 = nodes["n1"], nodes["n2"]
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"delay-ms": 100, "jitter-ms": 10}})
    assert done["mechanism"] == {"delay-ms": "nfqueue-delayer", "jitter-ms": "nfqueue-delayer"}
    _, rtt, _ = ping(n1, n2, 10)
    assert len(delayers(n2)) == 1  # on this machine, inside n2's namespace
    assert 85 < rtt < 150
    nemesis.invoke("stop-packet", None)
    assert ping(n1, n2, 10)[1] < 20 and delayers(n2) == []
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"delay-ms": 5, "duplicate": 0.5}})
    _, _, dups = ping(n1, n2, 20)
    nemesis.invoke("stop-packet", None)
    assert dups >= 3
    assert ping(n1, n2, 20)[2] == 0 and rules(n2) == []


def test_packet_rate_by_tbf(cluster) -> None:
    nodes, nemesis = cluster
    n2 = nodes["n2"]
    (Path(n2.remote.node_dir) / "blob").write_bytes(os.urandom(96_000))

    def fetch() -> float:
        start = time.monotonic()
        assert get(n2.address, timeout=20, path="/blob")[0] == "ok"
        return time.monotonic() - start

    fast = fetch()
    done = nemesis.invoke("start-packet", {"nodes": ["n2"], "behaviour": {"rate-kbit": 256}})
    assert done["mechanism"] == {"rate-kbit": "tbf"}
    slow = fetch()
    nemesis.invoke("stop-packet", None)
    assert fast < 0.5 and slow > 2.0  # 96 kB at 32 kB/s
    assert "tbf" not in n2.remote.run(["tc", "qdisc", "show", "dev", "eth0"]).stdout


def _netns_nodes(ledger, tmp_path):
    from clusters.netns import NetnsBackend

    backend = NetnsBackend(ledger)
    nodes = backend.create(3, tmp_path / "run")
    return backend, nodes


def _leftovers(nodes) -> list[str]:
    """Rules, qdiscs, processes (paused or not) left in the nodes' namespaces."""
    found = []
    for n in nodes:
        found += [f"{n.name}: {r}" for r in rules(n)]
        qdiscs = n.remote.run(["tc", "qdisc", "show", "dev", "eth0"]).stdout
        found += [f"{n.name}: {q}" for q in qdiscs.splitlines() if "tbf" in q or "netem" in q]
        pids = subprocess.run(["ip", "netns", "pids", n.remote.netns], capture_output=True, text=True).stdout.split()
        found += [f"{n.name}: pid {p} state {Path(f'/proc/{p}/stat').read_text().rsplit(')', 1)[1].split()[0]}"
                  for p in pids if Path(f"/proc/{p}").exists()]
    return found


@pytest.mark.parametrize("how", ["ctrl-c", "kill-9-then-clean"])
def test_interrupted_run_leaves_nothing(how: str, tmp_path: Path) -> None:
    _need_root()
    _need_delayer()
    ledger = Ledger(directory=tmp_path / "outer")
    backend, nodes = _netns_nodes(ledger, tmp_path)
    try:
        specs = [f"{n.name}={n.remote.netns}={n.address}={n.remote.node_dir}" for n in nodes]
        child_state = tmp_path / "child"
        child_state.mkdir()
        proc = subprocess.Popen([sys.executable, "-m", "tests.integration.httpdb", str(child_state), *specs],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        assert line.startswith("READY"), proc.stderr.read() if proc.poll() is not None else line
        during = _leftovers(nodes)
        assert any("DROP" in x for x in during) and any("tbf" in x for x in during)
        assert any(x.endswith("state T") for x in during)  # n3's daemon is paused
        if how == "ctrl-c":
            proc.send_signal(signal.SIGINT)
            assert proc.wait(60) != 0
        else:
            proc.kill()
            proc.wait(10)
            # `chaoscert clean` without its sweep (which would take other runs' chaoscert-* namespaces
            # on a shared machine): a fresh process, the same registration of ledger kinds
            code = ("import sys; from pathlib import Path; from chaos.cli.cluster import load_backends; "
                    "from clusters.ledger import clean_all; load_backends(); "
                    "done = clean_all(Path(sys.argv[1])); print(*done.removed, sep='\\n'); "
                    "print(*done.errors, sep='\\n', file=sys.stderr); sys.exit(1 if done.errors else 0)")
            done = subprocess.run([sys.executable, "-c", code, str(child_state)], cwd=ROOT, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            assert "node-iptables" in done.stdout and "node-qdisc" in done.stdout, done.stdout
        assert _leftovers(nodes) == []
        assert list(child_state.glob("*.jsonl")) == []  # every ledger entry released
    finally:
        assert backend.destroy() == []
        assert ledger.release_all() == []
