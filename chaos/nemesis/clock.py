"""Clock skew per node with libfaketime, changeable while the database runs (in containers too).

Before the database starts, :meth:`ClockNemesis.prepare` writes a control file ``+0`` on each node
and asks the node's remote to start every daemon with (recipes 3)::

    LD_PRELOAD=<libfaketime.so.1>  FAKETIME_TIMESTAMP_FILE=<file>  FAKETIME_NO_CACHE=1
    FAKETIME_DONT_FAKE_MONOTONIC=1

so database adapters need no change. Faults rewrite the file (atomically); the process sees the new
offset on its next clock read. History::

    bump-clock {"n2": 30000}                 -> {"delta-ms": {"n2": 30000}, "offset-ms": {"n2": 29999.7},
                                                 "measured-by": "database"}
    strobe-clock {"nodes": ["n1"], "delta-ms": 200, "period-ms": 100}   (flips until reset-clock)
    reset-clock ["n1", "n2"]                 -> the same measurement, offsets back near 0

Offsets are measured as clients see them when the database can say its time (:class:`ReadsClock`:
MariaDB and Galera answer ``SELECT UNIX_TIMESTAMP(NOW(6))`` to a client over TCP), else with ``date``
run on the node under the same preload ("measured-by": "date").
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from chaos.nemesis.net import NemesisError
from clusters.ledger import Ledger
from clusters.remote import Node

__all__ = ["ClockNemesis", "ReadsClock", "faketime_env"]

_LIB_PATHS = tuple(f"{d}/faketime/libfaketime.so.1" for d in (
    "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"))


@runtime_checkable
class ReadsClock(Protocol):
    """A database that can say how far a node's clock is from this machine's, as its clients see it."""

    def clock_offset(self, node: Node) -> float:
        """Seconds the node's clock (as the database reports it to a client) is ahead of this machine's."""


def faketime_env(lib: str, control_file: str) -> dict[str, str]:
    return {"LD_PRELOAD": lib, "FAKETIME_TIMESTAMP_FILE": control_file, "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def _offset_text(ms: float) -> str:
    return f"{'+' if ms >= 0 else '-'}{abs(ms) / 1000:.3f}s"


class ClockNemesis:
    """``bump-clock`` / ``strobe-clock`` / ``reset-clock`` through per-node libfaketime control files."""

    fs = frozenset({"bump-clock", "strobe-clock", "reset-clock"})

    def __init__(self, db: Any, nodes: Sequence[Node], ledger: Ledger) -> None:
        self._db, self._nodes, self._ledger = db, {n.name: n for n in nodes}, ledger
        self._files: dict[str, str] = {}
        self._env: dict[str, dict[str, str]] = {}
        self._skewed: set[str] = set()
        self._strobe: tuple[threading.Thread, threading.Event] | None = None

    def prepare(self) -> None:
        """Write ``+0`` control files and make every daemon started from now on load libfaketime."""
        for node in self._nodes.values():
            if not hasattr(node.remote, "daemon_env"):
                raise NemesisError(f"clock: {node.name}'s backend cannot add environment to daemons")
            found = node.remote.run(["sh", "-c", 'for p; do [ -e "$p" ] && echo "$p" && break; done; true', "sh",
                                     *_LIB_PATHS]).stdout.split()
            if not found:
                raise NemesisError(f"clock: libfaketime is not installed on {node.name} (apt-get install faketime)")
            path = f"{getattr(node.remote, 'state_dir', '/tmp')}/faketime-{self._ledger.run_id}-{node.name}.rc"
            if getattr(node.remote, "state_dir", None) is None or hasattr(node.remote, "netns"):
                self._ledger.record("path", path, path=path)  # on this machine's filesystem
            node.remote.run(["mkdir", "-p", path.rsplit("/", 1)[0]])
            self._files[node.name] = path
            self._write(node.name, 0.0)
            self._env[node.name] = faketime_env(found[0], path)
            node.remote.daemon_env.update(self._env[node.name])

    def invoke(self, f: str, value: Any) -> Any:
        if not self._files:
            raise NemesisError("clock faults need the clock nemesis prepared before the database starts")
        if f == "bump-clock":
            deltas = {str(n): float(ms) for n, ms in value.items()}
            for name, ms in deltas.items():
                self._write(name, ms)
            return {"delta-ms": deltas, **self._measure(list(deltas))}
        if f == "strobe-clock":
            self._stop_strobe()
            names = list(value["nodes"])
            self._start_strobe(names, float(value["delta-ms"]), float(value["period-ms"]))
            return {**value, **self._measure(names)}
        if f == "reset-clock":
            self._stop_strobe()
            names = list(self._nodes) if value in (None, "all") else list(value)
            for name in names:
                self._write(name, 0.0)
            return {"nodes": names, **self._measure(names)}
        raise ValueError(f"clock nemesis: unknown f {f!r}")

    def heal(self) -> None:
        self._stop_strobe()
        for name in sorted(self._skewed):
            self._write(name, 0.0)

    def _write(self, name: str, ms: float) -> None:
        node = self._nodes[name]
        node.remote.run(["sh", "-c", 'printf "%s\\n" "$1" > "$2.tmp" && mv -f "$2.tmp" "$2"', "sh",
                         _offset_text(ms), self._files[name]])
        (self._skewed.add if ms else self._skewed.discard)(name)

    def _start_strobe(self, names: list[str], delta_ms: float, period_ms: float) -> None:
        """Skew now, then flip every ``period_ms`` (on a fixed beat: slow writes do not stretch it)."""
        stop = threading.Event()
        for name in names:
            self._write(name, delta_ms)
        started = time.monotonic()

        def flip() -> None:
            for k in itertools.count(1):
                if stop.wait(max(0.0, started + k * period_ms / 1000 - time.monotonic())):
                    return
                for name in names:
                    self._write(name, 0.0 if k % 2 else delta_ms)

        thread = threading.Thread(target=flip, name="chaoscert-strobe-clock", daemon=True)
        self._strobe = (thread, stop)
        thread.start()

    def _stop_strobe(self) -> None:
        if self._strobe is not None:
            thread, stop = self._strobe
            stop.set()
            thread.join(10)
            self._strobe = None

    def _measure(self, names: list[str]) -> dict[str, Any]:
        """Each node's offset from this machine's clock in ms, as the database's clients (or ``date``) see it."""
        offsets, by = {}, "database" if isinstance(self._db, ReadsClock) else "date"
        for name in names:
            node = self._nodes[name]
            try:
                if by == "database":
                    seconds = self._db.clock_offset(node)
                else:
                    before = time.time()
                    seen = float(node.remote.run(["date", "+%s.%N"], env=self._env[name]).stdout)
                    seconds = seen - (before + time.time()) / 2
                offsets[name] = round(seconds * 1000, 1)
            except Exception as e:  # a paused or partitioned node cannot answer: say so, keep going
                offsets[name] = f"unmeasured: {type(e).__name__}: {e}"[:200]
        return {"offset-ms": offsets, "measured-by": by}
