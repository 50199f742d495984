"""The sweep removes chaoscert-named leftovers only when their run's owner marker says it is dead,
whatever state dir the other run uses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from clusters import ledger
from clusters.ledger import Ledger, Resource, run_suffix


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOSCERT_OWNERS_DIR", str(tmp_path / "owners"))
    released: list[str] = []
    found: list[Resource] = []
    monkeypatch.setattr(ledger, "_SWEEPERS", [lambda: list(found)])
    monkeypatch.setitem(ledger._RELEASERS, "thing", lambda r: released.append(r.key))
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
    assert ledger.sweep(tmp_path / "my-state") == ([], [])
    assert released == []


def test_a_dead_run_a_kept_run_and_an_unowned_name(dirs):
    tmp_path, found, released = dirs
    dead = _dead_ledger(tmp_path / "other-state", tmp_path)
    kept = Ledger(directory=tmp_path / "other-state")
    kept.keep()
    names = [f"ccbr{run_suffix(dead)}", f"chaoscert-nem-{run_suffix(kept.run_id)}-3", "chaoscert-ffffff-n2"]
    found += [Resource("thing", n, {}) for n in names]
    removed, errors = ledger.sweep(tmp_path / "my-state")
    assert errors == [] and released == [names[0], names[2]]
    assert removed == [f"thing {names[0]}", f"thing {names[2]}"]


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
    removed, errors = ledger.sweep(tmp_path / "other-state")
    assert errors == [] and removed == [f"owner-marker {dead}"]
    assert sorted(p.name for p in (tmp_path / "owners").iterdir()) == sorted([alive, run_suffix(kept.run_id)])
