"""The sweep removes chaoscert-named leftovers only when their run's owner marker says it is dead,
whatever state dir the other run uses."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from clusters import ledger
from clusters.ledger import Ledger, Resource, run_suffix


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSCERT_OWNERS_DIR", str(tmp_path / "owners"))
    released: list[str] = []
    found: list[Resource] = []
    monkeypatch.setattr(ledger, "_SWEEPERS", [lambda: list(found)])
    monkeypatch.setitem(ledger._RELEASERS, "thing", lambda r: released.append(r.key) or True)
    return tmp_path, found, released


def _dead_ledger(state, tmp_path) -> str:
    """The run id of a ledger opened by a process that has exited (as a run killed with -9)."""
    code = ("import sys; from pathlib import Path; from clusters.ledger import Ledger; "
            "print(Ledger(directory=Path(sys.argv[1])).run_id)")
    done = subprocess.run([sys.executable, "-c", code, str(state)], capture_output=True, text=True, check=True,
                          env={"CHAOSCERT_OWNERS_DIR": str(tmp_path / "owners"), "PATH": "/usr/bin:/bin"},
                          cwd=ledger.__file__.rsplit("/clusters/", 1)[0])
    return done.stdout.strip()


def test_a_live_run_in_another_state_dir_is_not_swept(dirs):
    tmp_path, found, released = dirs
    other = Ledger(directory=tmp_path / "other-state")  # alive: this process owns it
    found.append(Resource("thing", f"chaoscert-{run_suffix(other.run_id)}-n1", {}))
    assert ledger.sweep(tmp_path / "my-state") == ledger.Cleaned([], [], [])
    assert released == []


def test_a_dead_run_a_kept_run_and_an_unowned_name(dirs):
    tmp_path, found, released = dirs
    dead = _dead_ledger(tmp_path / "other-state", tmp_path)
    kept = Ledger(directory=tmp_path / "other-state")
    kept.keep()
    names = [f"ccbr{run_suffix(dead)}", f"chaoscert-nem-{run_suffix(kept.run_id)}-3", "chaoscert-ffffff-n2"]
    found += [Resource("thing", n, {}) for n in names]
    done = ledger.sweep(tmp_path / "my-state")
    assert done.errors == [] and released == [names[0], names[2]]
    assert done.removed == [f"thing {names[0]}", f"thing {names[2]}"]


def test_releasing_a_ledger_removes_its_marker(dirs):
    tmp_path, _, _ = dirs
    run = Ledger(directory=tmp_path / "state")
    marker = tmp_path / "owners" / run_suffix(run.run_id)
    assert marker.exists()
    assert run.release_all() == []
    assert not marker.exists() and not run.path.exists()


def test_the_sweep_removes_markers_of_dead_runs_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSCERT_OWNERS_DIR", str(tmp_path / "owners"))
    monkeypatch.setattr(ledger, "_SWEEPERS", [ledger._find_dead_markers])
    dead = run_suffix(_dead_ledger(tmp_path / "state", tmp_path))
    alive = run_suffix(Ledger(directory=tmp_path / "state").run_id)
    kept = Ledger(directory=tmp_path / "state")
    kept.keep()
    done = ledger.sweep(tmp_path / "other-state")
    assert done.errors == [] and done.removed == [f"owner-marker {dead}"]
    assert sorted(p.name for p in (tmp_path / "owners").iterdir()) == sorted([alive, run_suffix(kept.run_id)])


def test_clean_reports_only_what_it_really_removed(tmp_path, monkeypatch):
    """A killed run's ledger holds one file that still exists and one already gone: clean removes the
    first, and counts the second as a stale record instead of claiming to remove it."""
    monkeypatch.setenv("CHAOSCERT_OWNERS_DIR", str(tmp_path / "owners"))
    (tmp_path / "left").write_text("x")
    code = ("import sys; from pathlib import Path; from clusters.ledger import Ledger; "
            "l = Ledger(directory=Path(sys.argv[1])); "
            "[l.record('path', p, path=p) for p in sys.argv[2:]]")
    paths = [str(tmp_path / name) for name in ("state", "left", "gone")]
    subprocess.run([sys.executable, "-c", code, *paths], check=True, cwd=ledger.__file__.rsplit("/clusters/", 1)[0],
                   env={"CHAOSCERT_OWNERS_DIR": str(tmp_path / "owners"), "PATH": "/usr/bin:/bin"})
    done = ledger.clean_all(tmp_path / "state")
    assert done.removed == [f"path {tmp_path / 'left'}"]
    assert done.stale == [f"path {tmp_path / 'gone'}"] and done.errors == []
    assert not (tmp_path / "left").exists() and list((tmp_path / "state").glob("*.jsonl")) == []
    assert ledger.clean_all(tmp_path / "state") == ledger.Cleaned([], [], [])


def test_clean_command_says_removed_only_for_removals(monkeypatch, capsys):
    """The command's words: stale records are one count line, never "removed"."""
    from chaos.cli import cluster
    from tests.unit.test_cli import run

    monkeypatch.setattr(cluster, "load_backends", lambda: None)
    monkeypatch.setattr(cluster, "clean_all", lambda: ledger.Cleaned([], ["iptables chaoscert-abc123-fwd"] * 2, []))
    monkeypatch.setattr(cluster, "sweep", lambda: ledger.Cleaned(["netns chaoscert-abc123-n1"], [], []))
    assert run(capsys, "clean") == (0, "removed netns chaoscert-abc123-n1 (no ledger)\n"
                                        "forgot 2 stale ledger records (already gone)\n", "")


def test_releasing_a_process_returns_when_its_whole_tree_has_exited(tmp_path):
    """A server's children (a wrapper's mariadbd) are gone, not still exiting, when release returns."""
    from clusters.ledger import process_identity
    from clusters.proctree import descendants

    proc = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"], start_new_session=True)
    deadline = time.monotonic() + 10
    while len(descendants(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    tree = [proc.pid, *descendants(proc.pid)]
    assert len(tree) == 3
    assert ledger.release(Resource("process", "sh", process_identity(proc.pid))) is True
    assert [pid for pid in tree if _running(pid)] == []
    assert ledger.release(Resource("process", "sh", process_identity(proc.pid))) is False  # already gone


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except OSError:
        return False
