"""The tests leave the host as they found it: a Docker engine they started is stopped, with the
iptables rules, chains, FORWARD policy and ``docker0`` it made; an engine someone else runs is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT, require

pytestmark = [pytest.mark.docker, pytest.mark.root]
DOCKERD = [sys.executable, str(ROOT / "scripts" / "dockerd.py")]


def _host() -> dict[str, list[str]]:
    """What dockerd changes: its iptables lines and FORWARD policy (all tables), its links, and
    whether dockerd or containerd run. Other runs' rules on a shared machine are left out."""
    def out(*argv: str) -> list[str]:
        return subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()

    rules = [line.split(" [")[0] for line in out("iptables-save")
             if "docker" in line.lower() or line.startswith((":FORWARD", "*"))]
    links = [line.split()[0] for line in out("ip", "-br", "link") if line.startswith(("docker", "br-", "veth"))]
    return {"iptables": rules, "links": links, "daemons": out("pgrep", "-x", "dockerd|containerd")}


def test_an_engine_the_tests_start_is_stopped_with_what_it_changed(tmp_path) -> None:
    require(os.geteuid() == 0 and shutil.which("dockerd") is not None, "needs root and dockerd")
    env = {**os.environ, "CHAOSCERT_DOCKERD_STATE": str(tmp_path / "state")}
    engine_ran = subprocess.run(["docker", "version"], capture_output=True).returncode == 0
    before = _host()
    user = subprocess.Popen(["sleep", "120"])  # a live user of the engine
    try:
        assert subprocess.run([*DOCKERD, "ensure", "--user", str(user.pid)], env=env).returncode == 0
        assert subprocess.run(["docker", "version"], capture_output=True).returncode == 0
        if not engine_ran:
            assert _host()["iptables"] != before["iptables"]  # dockerd made its chains
        kept = subprocess.run([*DOCKERD, "release"], env=env, capture_output=True, text=True)
        assert subprocess.run(["docker", "version"], capture_output=True).returncode == 0, "stopped under a user"
        if not engine_ran:
            assert f"left running for processes [{user.pid}]" in kept.stderr
    finally:
        user.kill()
        user.wait()
    done = subprocess.run([*DOCKERD, "release", "--user", str(user.pid)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    after = _host()
    if engine_ran:  # someone else's engine: kept, untouched
        assert subprocess.run(["docker", "version"], capture_output=True).returncode == 0
        assert done.stderr == ""
    else:
        assert "stopped dockerd" in done.stderr
        assert after == before, done.stderr
    assert not (tmp_path / "state").exists()
