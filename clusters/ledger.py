"""The ledger: every resource a run creates, written down before the run relies on it.

Each run appends one JSON line per resource to ``<state dir>/<run id>.jsonl`` as soon as the
resource exists, and a ``released`` line when it is gone. Teardown releases in reverse order; if
chaoscert itself was killed, ``chaoscert clean`` reads the leftover ledgers and releases whatever
is still recorded. Kinds know how to release themselves; adding a kind is one function.
A run whose resources must outlive the process (``chaoscert cluster up``) is marked ``kept``:
``clean`` leaves it alone and ``cluster down`` releases it. Sweepers find resources named with
chaoscert's prefixes that no ledger covers (a crash between creating and recording).

Names carry their run: namespaces ``chaoscert-abc123-n1``, links ``ccbrabc123``, rules
``chaoscert-abc123-fwd`` or ``chaoscert-nem-abc123-4``, where ``abc123`` is :func:`run_suffix` of the
run id. Every ledger also writes an owner marker ``<owners dir>/abc123`` (owner pid, its start
time, kept or not), in one directory shared by all state dirs; the sweep removes a resource only
when no marker says its run is alive or kept, so a run (or a test) with its own state dir never
sweeps away another run's namespaces.

State dir: ``$CHAOSCERT_STATE_DIR``, else ``/run/chaoscert`` as root, else ``~/.cache/chaoscert/state``.
Owners dir: ``$CHAOSCERT_OWNERS_DIR``, else ``/run/chaoscert-owners`` as root, else
``~/.cache/chaoscert/owners``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clusters.proctree import descendants, signal_tree, wait_gone

__all__ = ["Cleaned", "Ledger", "Resource", "clean_all", "owners_dir", "release", "releaser", "run_suffix", "state_dir",
           "sweep", "sweeper"]

# the run suffix inside a chaoscert-made name (see the module docstring)
OWNED_NAME = re.compile(r"^(?:chaoscert-(?:nem-)?|ccbr|ccv)([0-9a-f]{6})(?:$|[-n])")


def state_dir() -> Path:
    if env := os.environ.get("CHAOSCERT_STATE_DIR"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/chaoscert")
    return Path.home() / ".cache" / "chaoscert" / "state"


def owners_dir() -> Path:
    if env := os.environ.get("CHAOSCERT_OWNERS_DIR"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/chaoscert-owners")
    return Path.home() / ".cache" / "chaoscert" / "owners"


def run_suffix(run_id: str) -> str:
    """The six characters of a run id that the names of its resources carry."""
    return run_id.replace("-", "")[-6:].lower()


def _marker(run_id: str) -> Path:
    return owners_dir() / run_suffix(run_id)


def _write_marker(run_id: str, *, kept: bool) -> None:
    path = _marker(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    entry = {"run": run_id, "pid": pid, "start_time": _proc_start_time(pid), "kept": kept}
    tmp = path.with_name(f".{path.name}.{pid}")
    tmp.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    tmp.replace(path)


def _read_marker(path: Path) -> dict[str, Any] | None:
    """A marker's entry; ``{}`` when it cannot be parsed, None when it is gone."""
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}


def owner_markers() -> dict[str, dict[str, Any]]:
    """Every run's owner marker: run suffix -> ``{"run", "pid", "start_time", "kept"}``."""
    directory = owners_dir()
    paths = sorted(directory.iterdir()) if directory.is_dir() else []
    # a name starting with "." is a marker being written
    entries = {p.name: _read_marker(p) for p in paths if p.is_file() and not p.name.startswith(".")}
    return {suffix: entry for suffix, entry in entries.items() if entry is not None}


def _marker_alive(suffix: str) -> bool:
    """Whether the run with this suffix says it is alive (its owner process runs) or kept."""
    return _entry_alive(_read_marker(owners_dir() / suffix) or {})


def _entry_alive(entry: dict[str, Any]) -> bool:
    if entry.get("kept"):
        return True
    started = _proc_start_time(int(entry.get("pid", 0)))
    return started is not None and started == entry.get("start_time")


@dataclass(frozen=True)
class Resource:
    """One thing a run made: a kind (``process``, ``netns``...) and what is needed to remove it."""

    kind: str
    key: str
    data: dict[str, Any]


Releaser = Callable[[Resource], bool]
_RELEASERS: dict[str, Releaser] = {}


def releaser(kind: str) -> Callable[[Releaser], Releaser]:
    """Register how to remove a resource kind. Releasing must be idempotent: it returns True when it
    removed something, False when the resource was already gone (a stale record)."""

    def register(fn: Releaser) -> Releaser:
        _RELEASERS[kind] = fn
        return fn

    return register


_SWEEPERS: list[Callable[[], list[Resource]]] = []


def sweeper(fn: Callable[[], list[Resource]]) -> Callable[[], list[Resource]]:
    """Register a function listing the chaoscert-named resources that exist now (for ``sweep``)."""
    _SWEEPERS.append(fn)
    return fn


def release(resource: Resource) -> bool:
    """Remove a resource: True when it existed, False when it was already gone."""
    fn = _RELEASERS.get(resource.kind)
    if fn is None:
        raise KeyError(f"no releaser for resource kind {resource.kind!r}")
    return fn(resource)


class Ledger:
    """An append-only record of one run's resources."""

    def __init__(self, run_id: str | None = None, directory: Path | None = None) -> None:
        self.run_id = run_id or f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self.path = (directory or state_dir()) / f"{self.run_id}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not _marker_alive(run_suffix(self.run_id)):  # a kept run reopened (cluster down) stays kept
            _write_marker(self.run_id, kept=False)
        self._append({"event": "open", "pid": os.getpid()})

    def _append(self, entry: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def record(self, kind: str, key: str, **data: Any) -> Resource:
        """Write a resource down; call this right after creating it (or just before, if creation
        cannot be undone halfway)."""
        resource = Resource(kind, key, data)
        self._append({"event": "created", "kind": kind, "key": key, "data": data})
        return resource

    def forget(self, resource: Resource) -> None:
        """Mark a resource as removed by its owner."""
        self._append({"event": "released", "kind": resource.kind, "key": resource.key})

    def release(self, resource: Resource) -> None:
        """Remove a resource and mark it released."""
        release(resource)
        self.forget(resource)

    def release_newest_first(self, resources: list[Resource]) -> list[str]:
        """Release the given resources, newest first, keeping on past failures; empties the list
        and returns the errors (empty when everything is gone)."""
        errors = []
        while resources:
            resource = resources.pop()
            try:
                self.release(resource)
            except Exception as e:  # one stuck resource must not keep the others alive
                errors.append(f"{resource.kind} {resource.key}: {e}")
        return errors

    def keep(self) -> None:
        """Let the resources outlive this process: ``clean`` skips the run until it is released."""
        self._append({"event": "kept"})
        _write_marker(self.run_id, kept=True)

    def outstanding(self) -> list[Resource]:
        return list(_outstanding(self.path))

    def release_all(self) -> list[str]:
        """Release every outstanding resource, newest first; returns the errors (empty if clean)."""
        return self.release_counted().errors

    def release_counted(self) -> Cleaned:
        """Release every outstanding resource, newest first, telling removed from already gone."""
        return _release_file(self.path)


def _outstanding(path: Path) -> Iterator[Resource]:
    live: dict[tuple[str, str], Resource] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
        if entry.get("event") == "created":
            live[(entry["kind"], entry["key"])] = Resource(entry["kind"], entry["key"], entry.get("data", {}))
        elif entry.get("event") == "released":
            live.pop((entry["kind"], entry["key"]), None)
    yield from live.values()


@dataclass
class Cleaned:
    """What a clean-up did, as ``kind key`` strings: really removed, records of resources already
    gone (stale), and what could not be removed."""

    removed: list[str]
    stale: list[str]
    errors: list[str]

    def __iadd__(self, other: Cleaned) -> Cleaned:
        self.removed += other.removed
        self.stale += other.stale
        self.errors += other.errors
        return self


def _release_file(path: Path) -> Cleaned:
    """Release a ledger's outstanding resources, newest first."""
    done = Cleaned([], [], [])
    for resource in reversed(list(_outstanding(path))):
        name = f"{resource.kind} {resource.key}"
        try:
            existed = release(resource)
        except Exception as e:  # keep going: one stuck resource must not keep the others alive
            done.errors.append(f"{name}: {e}")
        else:
            (done.removed if existed else done.stale).append(name)
            with open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"event": "released", "kind": resource.kind, "key": resource.key}) + "\n")
    if not done.errors:
        path.unlink(missing_ok=True)
        _marker(path.stem).unlink(missing_ok=True)
    return done


def _owner_alive(path: Path) -> bool:
    """Whether the run is still in use: kept, or its first owner process is alive."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        if any('"event": "kept"' in line for line in lines):
            return True
        first = json.loads(lines[0])
        os.kill(int(first["pid"]), 0)
    except (IndexError, ValueError, KeyError, ProcessLookupError, json.JSONDecodeError):
        return False
    except PermissionError:
        return True
    return True


def clean_all(directory: Path | None = None, *, include_live: bool = False) -> Cleaned:
    """Release what killed runs left. Runs whose chaoscert process is still alive, or that were
    kept, are left alone unless ``include_live``."""
    directory = directory or state_dir()
    done = Cleaned([], [], [])
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        if not include_live and _owner_alive(path):
            continue
        done += _release_file(path)
    return done


def sweep(directory: Path | None = None) -> Cleaned:
    """Release chaoscert-named resources that exist but that no ledger in ``directory`` records
    (run after ``clean_all``, so what is left in ledgers belongs to live or kept runs) and whose
    run's owner marker does not say it is alive or kept (whatever state dir that run uses).
    Nothing found is stale: a sweeper lists only what exists."""
    directory = directory or state_dir()
    covered = {(r.kind, r.key) for path in (directory.glob("*.jsonl") if directory.is_dir() else [])
               for r in _outstanding(path)}
    done = Cleaned([], [], [])
    for find in _SWEEPERS:
        for resource in find():
            owner = OWNED_NAME.match(resource.key)
            if (resource.kind, resource.key) in covered or (owner and _marker_alive(owner.group(1))):
                continue
            try:
                existed = release(resource)
            except Exception as e:
                done.errors.append(f"{resource.kind} {resource.key}: {e}")
            else:
                (done.removed if existed else done.stale).append(f"{resource.kind} {resource.key}")
    return done


@sweeper
def _find_dead_markers() -> list[Resource]:
    """Owner markers of runs that are neither alive nor kept: a test or a run killed before its
    ledger was released left them; they no longer protect anything."""
    return [Resource("owner-marker", suffix, {"path": str(owners_dir() / suffix)})
            for suffix, entry in owner_markers().items() if not _entry_alive(entry)]


@releaser("owner-marker")
def _release_marker(resource: Resource) -> bool:
    path = Path(resource.data["path"])
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


# ---------------------------------------------------------------- releasers for local kinds

def _proc_start_time(pid: int) -> str | None:
    """The kernel's start time of a pid (field 22 of /proc/PID/stat), to tell pid reuse apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_identity(pid: int) -> dict[str, Any]:
    """What to record for a local process: its pid and start time."""
    return {"pid": pid, "start_time": _proc_start_time(pid)}


@releaser("process")
def _release_process(resource: Resource) -> bool:
    """SIGCONT then SIGKILL the process and every process it started; return when all have exited."""
    pid, started = int(resource.data["pid"]), resource.data.get("start_time")
    if _proc_start_time(pid) is None or (started is not None and _proc_start_time(pid) != started):
        return False  # gone, or the pid now belongs to someone else
    tree = [pid, *descendants(pid)]
    for sig in ("CONT", "KILL"):
        signal_tree(pid, sig)
    if running := wait_gone(tree):
        raise RuntimeError(f"processes {running} (of {pid}'s tree) did not exit")
    return True


@releaser("path")
def _release_path(resource: Resource) -> bool:
    """Remove a file or directory tree the run made (data dirs, faketime files)."""
    existed = os.path.lexists(resource.data["path"])
    subprocess.run(["rm", "-rf", "--one-file-system", "--", resource.data["path"]], check=True)
    return existed
