"""The interpreter: turns generators into real operations on worker threads, recording each one.

One thread per client (``concurrency`` of them) and one for the nemesis. The main thread asks the
generators for the next op for whichever workers are free, records the invocation, hands it to
the worker, and records the completion when it comes back. As in Jepsen, a client whose op ended
``info`` may still be running it, so its worker continues under a new process id
(``process + concurrency``).

Completions are checked: a client that changed ``process`` or ``f`` or returned a type other than
ok/fail/info is a bug, raised as one error listing every problem.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chaos.nemesis import Nemesis
from chaos.recorder import Recorder
from checkers.history import Op
from workloads.client import Client
from workloads.generator import Context, Generator, Invocation, Lane, Pending

__all__ = ["CompletionError", "Worker", "check_completion", "interpret"]

NEMESIS = "nemesis"
_POLL_NS = 100_000_000


class CompletionError(RuntimeError):
    """User code returned a malformed completion."""


def check_completion(invocation: Op, completion: Any) -> list[str]:
    """Everything wrong with ``completion`` as the completion of ``invocation``."""
    if not isinstance(completion, Op):
        return [f"completion of op {invocation.index} is {type(completion).__name__}, not an Op"]
    problems = []
    if completion.process != invocation.process:
        problems.append(f"process changed from {invocation.process!r} to {completion.process!r}")
    if completion.f != invocation.f:
        problems.append(f"f changed from {invocation.f!r} to {completion.f!r}")
    if completion.type not in ("ok", "fail", "info"):
        problems.append(f"type is {completion.type!r}, not ok, fail or info")
    return problems


@dataclass
class Worker:
    """A thread applying ops one at a time with ``apply`` (a client's invoke or the nemesis)."""

    name: str
    apply: Callable[[Op], Op]
    process: Any
    inbox: queue.Queue[Op | None]
    thread: threading.Thread | None = None

    def start(self, outbox: queue.Queue[tuple[Worker, Op, Any]]) -> None:
        def loop() -> None:
            while (op := self.inbox.get()) is not None:
                try:
                    done: Any = self.apply(op)
                except Exception as e:  # a crash of user code: the op may have happened
                    done = replace(op, type="info", error=f"indeterminate: {type(e).__name__}: {e}")
                outbox.put((self, op, done))

        self.thread = threading.Thread(target=loop, name=f"chaoscert-{self.name}", daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.inbox.put(None)
        if self.thread is not None:
            self.thread.join(timeout)


def client_worker(i: int, client: Client) -> Worker:
    return Worker(f"client-{i}", client.invoke, i, queue.Queue())


def nemesis_worker(nemesis: Nemesis) -> Worker:
    def apply(op: Op) -> Op:
        return replace(op, type="info", value=nemesis.invoke(op.f, op.value))

    return Worker(NEMESIS, apply, NEMESIS, queue.Queue())


def interpret(recorder: Recorder, rng: random.Random, clients: list[Worker], client_gen: Generator,
              nemesis: Worker | None, nemesis_gen: Generator | None, stop: threading.Event,
              drain_timeout: float) -> None:
    """Run until both generators are exhausted and every op has completed, or ``stop`` is set
    (then wait up to ``drain_timeout`` s for ops in flight; those still open stay unfinished)."""
    concurrency = len(clients)
    outbox: queue.Queue[tuple[Worker, Op, Any]] = queue.Queue()
    for w in [*clients, *([nemesis] if nemesis else [])]:
        w.start(outbox)
    lanes: list[tuple[list[Worker], Lane]] = [(clients, Lane(client_gen))]
    if nemesis is not None:
        lanes.append(([nemesis], Lane(nemesis_gen)))
    busy: set[str] = set()
    stopping_at: int | None = None
    while True:
        now = recorder.now()
        if stop.is_set() and stopping_at is None:
            stopping_at = now
        wake = now + _POLL_NS
        dispatched = False
        for workers, lane in lanes if stopping_at is None else ():
            free = [w for w in workers if w.name not in busy]
            if not free:
                continue
            what = lane.poll(Context(now, tuple(w.process for w in free), rng))
            if isinstance(what, Pending):
                wake = min(wake, what.until or wake)
            elif isinstance(what, Invocation):
                worker = free[0]
                busy.add(worker.name)
                kind = "info" if worker is nemesis else "invoke"  # Jepsen: nemesis ops are info at both ends
                worker.inbox.put(recorder.record(Op(0, 0, kind, worker.process, what.f, what.value)))
                dispatched = True
        if not busy and (stopping_at is not None or all(lane.done for _, lane in lanes)):
            return
        if stopping_at is not None:
            if now - stopping_at > drain_timeout * 1e9:
                return
            wake = now + _POLL_NS
        if dispatched:
            continue
        try:
            item = outbox.get(timeout=max(0.0, (wake - now) / 1e9))
        except queue.Empty:
            continue
        while True:
            worker, op, done = item
            problems = check_completion(op, done)
            if problems:
                raise CompletionError(f"{worker.name}: bad completion of {op.f} (op {op.index}): "
                                      + "; ".join(problems))
            completion = recorder.record(done)
            busy.discard(worker.name)
            if completion.type == "info" and worker is not nemesis:
                worker.process += concurrency
            for _, lane in lanes:
                lane.update(Context(completion.time, (), rng), completion)
            try:
                item = outbox.get_nowait()
            except queue.Empty:
                break
