"""The history recorder: gives each op its index and time and streams it to ``history.jsonl``.

Times are nanoseconds since the recorder was created (the test's start) on the monotonic clock.
Every op is written and flushed as it is recorded, so a run cut short leaves a readable history.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from checkers.formats import JsonlWriter
from checkers.history import Op

__all__ = ["Recorder"]


class Recorder(AbstractContextManager["Recorder"]):
    """Thread-safe: clients, the nemesis and the runner record into one history."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = JsonlWriter(path)
        self._lock = threading.Lock()
        self._start = time.monotonic_ns()
        self._count = 0

    def now(self) -> int:
        return time.monotonic_ns() - self._start

    def record(self, op: Op) -> Op:
        """Stamp ``op`` with the next index and the current time, write it, and return it."""
        with self._lock:
            stamped = replace(op, index=self._count, time=self.now())
            self._writer.write(stamped)
            self._count += 1
        return stamped

    def close(self) -> None:
        self._writer.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
