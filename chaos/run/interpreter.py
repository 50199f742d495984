"""The interpreter: turns generators into real operations on worker threads, recording each one.

One thread per client (``concurrency`` of them) and one for the nemesis. Each worker, when free,
has its completion recorded, the generators told, and its next invocation taken from its lane's
generator and recorded, all under one lock (so the history's order is the generators' order);
then it applies the invocation itself. Whoever holds the lock does this for every worker waiting
on it, so a worker never queues for the lock: with fast clients this is what lets chaoscert drive
and record well over 50,000 ops/s (``benchmarks/runner_bench.py``). As in Jepsen, a client whose
op ended ``info`` may still be running it, so its worker continues under a new process id
(``process + concurrency``).

Completions are checked: a client that changed ``process`` or ``f`` or returned a type other than
ok/fail/info is a bug, raised as one error listing every problem.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from chaos.nemesis.package import Nemesis, NotInjected
from chaos.run.recorder import Recorder, encode_body
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
    node: Any = None  # the node a client talks to, recorded on its invocations
    thread: threading.Thread | None = None

    def stop(self, timeout: float) -> None:
        """Wait (bounded) for the worker's thread to finish its op; it stops taking new ones on its own."""
        if self.thread is not None:
            self.thread.join(timeout)


def client_worker(i: int, client: Client, node: Any = None) -> Worker:
    return Worker(f"client-{i}", client.invoke, i, node)


def nemesis_worker(nemesis: Nemesis) -> Worker:
    """Nemesis ops complete ``info`` (Jepsen's way), or ``fail`` when surely nothing was done."""
    def apply(op: Op) -> Op:
        try:
            return replace(op, type="info", value=nemesis.invoke(op.f, op.value))
        except NotInjected as e:
            return replace(op, type="fail", error=str(e))

    return Worker(NEMESIS, apply, NEMESIS)


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(slots=True)
class _Turn:
    """A worker's request, served by whichever worker holds the run's lock: record ``done`` (if
    any), then set ``answer`` to the worker's next invocation (recorded), a Pending to wait for, or
    None to stop, and release ``ready``."""

    worker: Worker
    lane: Lane
    nemesis: bool
    ready: threading.Lock = field(default_factory=_held_lock)  # held until the turn is answered
    done: Op | None = None
    body: str = ""  # encode_body(done), computed by the worker before it queues the turn
    answer: Op | Pending | None = None
    seen: int = 0  # _Run.changes when the answer was a Pending


class _Run:
    """What the workers share: the lanes, the rng, and one lock guarding them.

    A worker queues its turn and tries the lock; the holder serves every queued turn before it lets
    go (flat combining). A worker that finds the lock taken thus sleeps until its turn is served
    instead of queueing for the lock: with fast clients, threads queued on a lock would hand it
    (and the GIL) to one another on every op. Workers whose lane is pending wait on ``changed``."""

    def __init__(self, recorder: Recorder, rng: random.Random, lanes: list[Lane], concurrency: int,
                 stop: threading.Event) -> None:
        self.recorder, self.rng, self.lanes, self.concurrency, self.stop = recorder, rng, lanes, concurrency, stop
        self.lock = threading.Lock()
        self.queue: deque[_Turn] = deque()
        self.changed = threading.Condition()  # a completion changed a generator, or the run is ending
        self.waiting = 0  # workers waiting on changed: a change notifies only if there are any
        self.changes = 0  # completions that changed a generator so far
        self.errors: list[BaseException] = []

    def step(self, turn: _Turn, op: Op | None, done: Any) -> Op | None:
        """Record the completion ``done`` of ``op`` (if any), then the worker's next invocation,
        waiting while its lane is pending; None when the lane is exhausted or the run stops."""
        if op is not None:
            problems = check_completion(op, done)
            if problems:
                raise CompletionError(f"{turn.worker.name}: bad completion of {op.f} (op {op.index}): "
                                      + "; ".join(problems))
            turn.done, turn.body = done, encode_body(done)  # encoded here, not by the lock holder
        while True:
            self.queue.append(turn)
            while self.queue and self.lock.acquire(False):  # a turn queued while the holder let go
                try:
                    while self.queue:
                        self._serve(self.queue.popleft())
                finally:
                    self.lock.release()
            turn.ready.acquire()
            if not isinstance(turn.answer, Pending):
                return turn.answer
            self._wait(turn, turn.answer)

    def _serve(self, turn: _Turn) -> None:
        try:
            if turn.done is not None:
                completion = self.recorder.record(turn.done, turn.body)
                turn.done = None
                if completion.type == "info" and not turn.nemesis:
                    turn.worker.process += self.concurrency
                ctx = Context(completion.time, (), self.rng)
                if any([lane.update(ctx, completion) for lane in self.lanes]):  # every lane hears of it
                    self.changes += 1
                    if self.waiting:
                        self.wake_all()
            turn.answer = None if self.stop.is_set() or self.errors else self._next(turn)
        except BaseException as e:
            turn.answer = None
            self.fail(e)
        finally:
            turn.ready.release()

    def _next(self, turn: _Turn) -> Op | Pending | None:
        what = turn.lane.poll(Context(self.recorder.now(), (turn.worker.process,), self.rng))
        if isinstance(what, Invocation):
            kind = "info" if turn.nemesis else "invoke"  # Jepsen: nemesis ops are info at both ends
            return self.recorder.record(Op(0, 0, kind, turn.worker.process, what.f, what.value,
                                                  node=turn.worker.node))
        turn.seen = self.changes
        return what

    def _wait(self, turn: _Turn, pending: Pending) -> None:
        """Until a completion changes a generator after ``turn`` was answered, ``pending.until`` or
        the run ends (at most _POLL_NS: generators may be pending on time without saying until when).
        A completion that changed no generator cannot end a Pending early, so it wakes no one."""
        wait = _POLL_NS if pending.until is None else min(_POLL_NS, pending.until - self.recorder.now())
        with self.changed:
            self.waiting += 1
            if self.changes == turn.seen and not self.stop.is_set() and not self.errors:
                self.changed.wait(max(wait, 0) / 1e9)
            self.waiting -= 1

    def wake_all(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def fail(self, e: BaseException) -> None:
        self.errors.append(e)
        self.wake_all()

    def work(self, worker: Worker, lane: Lane, nemesis: bool) -> None:
        turn = _Turn(worker, lane, nemesis)
        try:
            op = self.step(turn, None, None)
            while op is not None:
                try:
                    done: Any = worker.apply(op)
                except Exception as e:  # a crash of user code: the op may have happened
                    done = replace(op, type="info", error=f"indeterminate: {type(e).__name__}: {e}")
                op = self.step(turn, op, done)
        except BaseException as e:
            self.fail(e)


def interpret(recorder: Recorder, rng: random.Random, clients: list[Worker], client_gen: Generator,
              nemesis: Worker | None, nemesis_gen: Generator | None, stop: threading.Event,
              drain_timeout: float) -> None:
    """Run until both generators are exhausted and every op has completed, or ``stop`` is set
    (then wait up to ``drain_timeout`` s for ops in flight; those still open stay unfinished)."""
    client_lane = Lane(client_gen)
    lanes = [client_lane]
    jobs = [(w, client_lane, False) for w in clients]
    if nemesis is not None:
        nemesis_lane = Lane(nemesis_gen)
        lanes.append(nemesis_lane)
        jobs.append((nemesis, nemesis_lane, True))
    run = _Run(recorder, rng, lanes, len(clients), stop)
    for worker, lane, is_nemesis in jobs:
        worker.thread = threading.Thread(target=run.work, args=(worker, lane, is_nemesis),
                                         name=f"chaoscert-{worker.name}", daemon=True)
        worker.thread.start()
    for worker, _, _ in jobs:
        while worker.thread is not None and worker.thread.is_alive() and not stop.is_set() and not run.errors:
            worker.thread.join(0.1)
    if stop.is_set() or run.errors:
        run.wake_all()
        for worker, _, _ in jobs:
            if worker.thread is not None:
                worker.thread.join(drain_timeout)
    if run.errors:
        raise run.errors[0]
