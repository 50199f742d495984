"""`chaoscert cluster down` returns once the cluster's servers have exited, not while they still are
(a killed mariadbd took about 5 s to go)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, require

pytestmark = [pytest.mark.root, pytest.mark.db]


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def test_cluster_down_returns_when_the_servers_are_gone(tmp_path: Path) -> None:
    require(os.geteuid() == 0 and shutil.which("mariadbd") is not None, "needs root and mariadb-server")
    env = {**os.environ, "CHAOSCERT_STATE_DIR": str(tmp_path / "state")}
    name = f"down-{uuid.uuid4().hex[:6]}"

    def chaoscert(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "chaos", "cluster", *args, "--name", name], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    up = chaoscert("up", "--backend", "netns", "--db", "mariadb", "--nodes", "1")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        (ledger,) = (tmp_path / "state").glob(f"cluster-{name}-*.jsonl")
        entries = [json.loads(line) for line in ledger.read_text().splitlines()]
        ours = [e["key"] for e in entries if e.get("event") == "created" and e.get("kind") == "netns"]
        assert len(ours) == 1, entries
        pids = [int(p) for p in subprocess.run(["ip", "netns", "pids", ours[0]], capture_output=True,
                                               text=True).stdout.split()]
        servers = [p for p in pids if Path(f"/proc/{p}/comm").read_text().strip() == "mariadbd"]
        assert servers, pids
    finally:
        down = chaoscert("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "removed" in down.stdout
    running = {p: _state(p) for p in servers if _state(p) not in (None, "Z", "X")}
    assert running == {}, f"cluster down returned while these still ran: {running}"
