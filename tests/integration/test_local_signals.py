"""The local backend's pause, resume and kill reach a daemon's children in sessions of their own (as
PostgreSQL's backends), and releasing the ledger of a paused daemon leaves nothing behind. Real
processes; no root needed."""

from __future__ import annotations

import time
from pathlib import Path

from clusters.ledger import Ledger
from clusters.local import LocalRemote


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _until(condition, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_local_pause_resume_and_release_reach_children_in_their_own_sessions(tmp_path):
    ledger = Ledger(directory=tmp_path / "state")
    remote = LocalRemote("n1", "127.0.0.11", ledger)
    pid = remote.start_daemon("forker", ["sh", "-c", "setsid sleep 60 & setsid sleep 61 & wait"],
                              log_file=str(tmp_path / "forker.log"))
    try:
        _until(lambda: len(_children(pid)) == 2, "two children")
        tree = [pid, *_children(pid)]
        remote.signal("forker", "STOP")
        _until(lambda: all(_state(p) == "T" for p in tree), "every process stopped")
        remote.signal("forker", "CONT")
        _until(lambda: all(_state(p) == "S" for p in tree), "every process running again")
        remote.signal("forker", "STOP")
        _until(lambda: all(_state(p) == "T" for p in tree), "every process stopped")
    finally:
        assert ledger.release_all() == []  # a paused daemon's teardown
    _until(lambda: all(_state(p) in (None, "Z") for p in tree), "every process gone")
