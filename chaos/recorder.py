"""The history recorder: gives each op its index and time and streams it to ``history.jsonl``.

Times are nanoseconds since the recorder was created (the test's start) on the monotonic clock.
Ops are encoded as they are recorded and written in whole lines, one ``write`` per batch, at
least every ``flush_every_s`` (a background thread sees to it even when no op arrives) and on
close: a run killed outright leaves a readable history missing at most that much, never a cut
line. The recorder also keeps the counts the live progress line shows.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from checkers.formats import op_to_json
from checkers.history import Op

__all__ = ["Recorder", "encode"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), default=lambda x: _unusual(x))


def _unusual(x: Any) -> Any:
    if isinstance(x, set | frozenset):
        raise TypeError("sets go the slow way")  # sorted like formats.op_to_json does
    return str(x)


def encode(op: Op) -> str:
    """``op_to_json(op)``, fast for the plain values clients return (dicts, lists, numbers, str)."""
    if op.node is None and not op.extra:
        d = {"index": op.index, "time": op.time, "type": op.type, "process": op.process, "f": op.f, "value": op.value}
        if op.error is not None:
            d["error"] = op.error
        try:
            return _ENCODER.encode(d)
        except TypeError:  # a set, or a map key json cannot write: the general path
            pass
    return op_to_json(op)


class Recorder(AbstractContextManager["Recorder"]):
    """Thread-safe: clients, the nemesis and the runner record into one history."""

    def __init__(self, path: Path, *, flush_every_s: float = 0.05) -> None:
        self.path = path
        self._out = open(path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._start = time.monotonic_ns()
        self._count = 0
        self._pending: list[str] = []
        self._closed = threading.Event()
        self._flusher = threading.Thread(target=self._flush_periodically, args=(flush_every_s,), daemon=True,
                                         name="history-flusher")
        self._flusher.start()
        self.completions = {"ok": 0, "fail": 0, "info": 0}  # client completions by type
        self.last_fault: str | None = None  # the latest nemesis op, "kill ['n1']"

    def now(self) -> int:
        return time.monotonic_ns() - self._start

    def record(self, op: Op) -> Op:
        """Stamp ``op`` with the next index and the current time, write it, and return it."""
        with self._lock:
            now = time.monotonic_ns() - self._start
            stamped = Op(self._count, now, op.type, op.process, op.f, op.value, op.error, op.node, op.extra)
            self._pending.append(encode(stamped))
            self._count += 1
            if op.process.__class__ is int:
                if op.type != "invoke":
                    self.completions[op.type] += 1
            else:
                self.last_fault = f"{op.f} {op.value}"
        return stamped

    def _flush_periodically(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            self.flush()

    def flush(self) -> None:
        """Write every op recorded so far, as whole lines in one write."""
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            self._out.write(("\n".join(self._pending) + "\n").encode("utf-8"))
            self._pending.clear()

    def close(self) -> None:
        self._closed.set()
        self._flusher.join()
        with self._lock:
            self._write_pending()
            self._out.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
