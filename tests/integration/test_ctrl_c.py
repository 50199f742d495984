"""Ctrl-C on a real run under CPU load: the first one stops, heals and tears down within the run's
teardown budget (the run says how long it may take); a second one abandons at once, saying what may
be left, and ``chaoscert clean`` removes it.

A real etcd cluster on netns nodes, partitions and kills; two bounded CPU burners (one per core of
the CI machine, 120 s at most) run from just before the signal to the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chaos.run.runner import ABANDONED_EXIT, TEARDOWN_BUDGET_S
from tests.conftest import ROOT, require

pytestmark = [pytest.mark.root, pytest.mark.db, pytest.mark.slow]
BURN = "import time\nend = time.monotonic() + 120\nwhile time.monotonic() < end: pass\n"


@contextmanager
def cpu_load(burners: int = 2) -> Iterator[None]:
    procs = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(burners)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen, dict[str, str]]:
    require(os.geteuid() == 0 and shutil.which("etcd") is not None, "needs root and etcd")
    env = {**os.environ, "CHAOSCERT_STATE_DIR": str(tmp_path / "state")}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "run", "--backend", "netns", "--db", "etcd",
                             "--workload", "register", "--nemesis", "kill,partition", "--nemesis-interval", "3",
                             "--time-limit", "120", "--concurrency", "4", "--seed", "3",
                             "--results", str(tmp_path / "results")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    for line in proc.stdout:
        if line.startswith("running "):
            break
        assert time.monotonic() < deadline, "the run never started its clients"
    else:
        pytest.fail(f"the run ended before its clients started (exit {proc.wait()})")
    time.sleep(4)  # clients running, a fault applied
    return proc, env


def _ledgers(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["CHAOSCERT_STATE_DIR"]).glob("*.jsonl"))


def test_first_ctrl_c_tears_down_within_its_budget_under_load(tmp_path: Path) -> None:
    proc, env = _start_run(tmp_path)
    with cpu_load():
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=TEARDOWN_BUDGET_S + 60)
        took = time.monotonic() - sent
    print(f"under load: {took:.1f} s from SIGINT to exit\n{out}")
    assert f"up to {TEARDOWN_BUDGET_S:g} s" in out, out
    assert "abandoning" not in out, out
    assert proc.returncode in (0, 1, 2), out
    # teardown within the budget, then the checkers of a partial history (seconds)
    assert took < TEARDOWN_BUDGET_S + 30, f"{took:.1f} s from SIGINT to exit"
    results = json.loads((tmp_path / "results" / "etcd-register-kill+partition" / "latest" / "results.json")
                         .read_text())
    assert results["interrupted"] is True
    assert _ledgers(env) == []


def test_second_ctrl_c_abandons_and_says_what_clean_removes(tmp_path: Path) -> None:
    proc, env = _start_run(tmp_path)
    with cpu_load():
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    print(f"under load: {took:.1f} s from the second SIGINT to exit\n{out}")
    assert proc.returncode == ABANDONED_EXIT, out
    assert took < 5, f"{took:.1f} s from the second SIGINT to exit"
    assert "interrupted again: abandoning teardown; may be left:" in out, out
    assert "`chaoscert clean` removes it" in out
    code = ("import sys; from pathlib import Path; from chaos.cli.cluster import load_backends; "
            "from clusters.ledger import clean_all; load_backends(); "
            "done = clean_all(Path(sys.argv[1])); print(*done.errors, sep='\\n'); sys.exit(1 if done.errors else 0)")
    done = subprocess.run([sys.executable, "-c", code, env["CHAOSCERT_STATE_DIR"]], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ledgers(env) == []
