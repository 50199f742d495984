"""Shared test fixtures: where the reference corpus lives, and the markers' rules.

Tests that need root, Docker or a database are marked (``root``, ``docker``, ``db``). A quick local
run skips them with ``-m "not root and not docker and not db"``; CI runs everything and a marked
test that cannot find what it needs fails there instead of skipping (CHAOSCERT_REQUIRE_ALL=1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def _find_corpus() -> Path:
    """$CHAOSCERT_CORPUS, else the copy in the repository (tests/data/corpus, see its README)."""
    if env := os.environ.get("CHAOSCERT_CORPUS"):
        return Path(env)
    return Path(__file__).resolve().parent / "data" / "corpus"


CORPUS = _find_corpus()


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The reference histories; missing is a failure, never a skip (the repository ships them)."""
    if not CORPUS.is_dir():
        pytest.fail(f"reference corpus not found at {CORPUS} (tests/data/corpus, or $CHAOSCERT_CORPUS)")
    return CORPUS


def require(condition: bool, why: str) -> None:
    """Skip when a machine lacks what a marked test needs, except in CI, where that is a failure."""
    if not condition:
        if os.environ.get("CHAOSCERT_REQUIRE_ALL"):
            pytest.fail(f"CI must provide this: {why}")
        pytest.skip(why)


ROOT = Path(__file__).resolve().parents[1]
# Who uses the Docker engine scripts/dockerd.py may start: scripts/test.sh's shell (it releases the
# engine after all its pytest runs), else this pytest process (released when its session ends).
DOCKERD_USER = int(os.environ.get("CHAOSCERT_DOCKERD_USER", os.getpid()))
_docker_used: list[bool] = []


def ensure_docker_engine() -> None:
    """A Docker engine answers, started for these tests when none ran (stopped after them)."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "dockerd.py"), "ensure", "--user", str(DOCKERD_USER)],
                          capture_output=True, text=True)
    _docker_used.append(True)
    require(done.returncode == 0, f"no Docker engine: {done.stderr.strip()}")


def pytest_sessionfinish(session, exitstatus) -> None:
    """Stop the engine this session started (with its iptables changes), unless scripts/test.sh will."""
    if _docker_used and os.getpid() == DOCKERD_USER:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "dockerd.py"), "release", "--user", str(DOCKERD_USER)])


def command_lines() -> dict[int, str]:
    """Every process's command line, from /proc (``ps`` cuts them at 80 columns without a terminal)."""
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue  # gone meanwhile
    return lines


def have_seekdb() -> bool:
    """Whether the seekdb binary (PyPI ``pylibseekdb``) is installed."""
    from clusters.seekdb import seekdb_binary

    try:
        seekdb_binary()
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def state(tmp_path_factory) -> Iterator[Path]:
    """A private ledger state dir for one test module (``$CHAOSCERT_STATE_DIR``)."""
    path = tmp_path_factory.mktemp("state")
    old = os.environ.get("CHAOSCERT_STATE_DIR")
    os.environ["CHAOSCERT_STATE_DIR"] = str(path)
    yield path
    if old is None:
        del os.environ["CHAOSCERT_STATE_DIR"]
    else:
        os.environ["CHAOSCERT_STATE_DIR"] = old


def _markers() -> set[str]:
    """Owner markers of runs opened by this process or by one that has exited (a concurrent live run's
    markers are its own business)."""
    from clusters.ledger import owner_markers

    def ours_or_dead(pid: object) -> bool:
        return not isinstance(pid, int) or pid == os.getpid() or not Path(f"/proc/{pid}").exists()

    return {suffix for suffix, entry in owner_markers().items() if ours_or_dead(entry.get("pid"))}


@pytest.fixture(autouse=True)
def no_owner_marker_left() -> Iterator[None]:
    """Fail the test that opens a ledger and never releases it: its owner marker would outlive it
    (and ``chaoscert clean`` after the suite would report it)."""
    before = _markers()
    yield
    if left := _markers() - before:
        pytest.fail(f"owner markers left behind (a ledger opened and never released): {sorted(left)}")
