"""The history recorder: gives each op its index and time and streams it to ``history.jsonl``.

Times are nanoseconds since the recorder was created (the test's start) on the monotonic clock.
An op is encoded when it is recorded (so a client changing a value later cannot change the
history), mostly before the lock: under it only the index, the time and the line's head are set.
Lines are written whole, one ``write`` per batch, at least every ``flush_every_s`` (a background
thread sees to it even when no op arrives) and on close: a run killed outright leaves a readable
history missing at most that much, never a cut line. Writing happens outside the lock, so
recording never waits for the disk. The recorder also keeps the counts the live progress line shows.
"""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from checkers.formats import op_to_json
from checkers.history import Op

__all__ = ["Recorder", "encode", "encode_body"]


def _unusual(x: Any) -> Any:
    if isinstance(x, set | frozenset):
        raise TypeError("sets go the slow way")  # sorted like formats.op_to_json does
    return str(x)


# json.dumps(separators=(",", ":"), default=str) without its per-call set-up: the C encoder itself
# (without the circular-reference check: a circular value fails with RecursionError, not ValueError).
_C_ENCODE = c_make_encoder(None, _unusual, encode_basestring_ascii, None, ":", ",", False, False, True)


def encode_body(op: Op) -> str:
    """``op_to_json(op)`` from ``"type"`` on: the line without its index and time, which the
    recorder adds. Fast for the plain values clients return (dicts, lists, numbers, str)."""
    if op.node is None and not op.extra:
        d = {"type": op.type, "process": op.process, "f": op.f, "value": op.value}
        if op.error is not None:
            d["error"] = op.error
        try:
            return "".join(_C_ENCODE(d, 0))[1:]
        except TypeError:  # a set, or a map key json cannot write: the general path
            pass
    text = op_to_json(op)
    return text[text.index(',"type":') + 1:]


def encode(op: Op) -> str:
    """``op_to_json(op)``: what the recorder writes for ``op`` (one line, without its newline)."""
    return f'{{"index":{op.index},"time":{op.time},{encode_body(op)}'


class Recorder(AbstractContextManager["Recorder"]):
    """Thread-safe: clients, the nemesis and the runner record into one history."""

    def __init__(self, path: Path, *, flush_every_s: float = 0.05) -> None:
        self.path = path
        self._out = open(path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()  # index, time and line order
        self._write_lock = threading.Lock()  # batches reach the file in order
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

    def record(self, op: Op, body: str | None = None) -> Op:
        """Stamp ``op`` with the next index and the current time, queue its line, and return it.
        ``body`` is ``encode_body(op)`` when the caller encoded it already (outside its own lock)."""
        if body is None:
            body = encode_body(op)
        with self._lock:
            index = self._count
            self._count = index + 1
            now = time.monotonic_ns() - self._start
            self._pending.append(f'{{"index":{index},"time":{now},{body}\n')
            if op.process.__class__ is int:
                if op.type != "invoke":
                    self.completions[op.type] += 1
            else:
                self.last_fault = f"{op.f} {op.value}"
        return Op(index, now, op.type, op.process, op.f, op.value, op.error, op.node, op.extra)

    def _flush_periodically(self, every_s: float) -> None:
        while not self._closed.wait(every_s):
            self.flush()

    def flush(self) -> None:
        """Write every op recorded so far, as whole lines in one write."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if batch:
                self._out.write("".join(batch).encode("utf-8"))

    def close(self) -> None:
        self._closed.set()
        self._flusher.join()
        self.flush()
        self._out.close()

    def __exit__(self, *exc: object) -> None:
        self.close()
