"""The interpreter: turns generators into real operations on worker threads, recording each one.

One thread per client (``concurrency`` of them) and one for the nemesis. Each worker, when free,
takes the next invocation from its lane's generator (under one lock, so the history's order is
the generators' order), records it, applies it, records the completion and tells the generators.
No thread hands ops to another: with fast clients this is what lets chaoscert drive and record
well over 50,000 ops/s (``benchmarks/runner_bench.py``). As in Jepsen, a client whose op ended
``info`` may still be running it, so its worker continues under a new process id
(``process + concurrency``).

Completions are checked: a client that changed ``process`` or ``f`` or returned a type other than
ok/fail/info is a bug, raised as one error listing every problem.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from chaos.nemesis import Nemesis
from chaos.recorder import Recorder
from checkers.history import Op
from workloads.client import Client
from workloads.generator import Context, Generator, Invocation, Lane

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
    thread: threading.Thread | None = None

    def stop(self, timeout: float) -> None:
        """Wait (bounded) for the worker's thread to finish its op; it stops taking new ones on its own."""
        if self.thread is not None:
            self.thread.join(timeout)


def client_worker(i: int, client: Client) -> Worker:
    return Worker(f"client-{i}", client.invoke, i)


def nemesis_worker(nemesis: Nemesis) -> Worker:
    def apply(op: Op) -> Op:
        return replace(op, type="info", value=nemesis.invoke(op.f, op.value))

    return Worker(NEMESIS, apply, NEMESIS)


class _Run:
    """What the workers share: the lanes, the rng, and one condition guarding them."""

    def __init__(self, recorder: Recorder, rng: random.Random, lanes: list[Lane], concurrency: int,
                 stop: threading.Event) -> None:
        self.recorder, self.rng, self.lanes, self.concurrency, self.stop = recorder, rng, lanes, concurrency, stop
        self.cond = threading.Condition()
        self.errors: list[BaseException] = []

    def step(self, worker: Worker, lane: Lane, nemesis: bool, op: Op | None, done: Any) -> Op | None:
        """Record the completion ``done`` of ``op`` (if any), then the next invocation for
        ``worker``, waiting while the generator is pending; None when the lane is exhausted or the
        run stops. One critical section per op keeps lock traffic low."""
        if op is not None:
            problems = check_completion(op, done)
            if problems:
                raise CompletionError(f"{worker.name}: bad completion of {op.f} (op {op.index}): "
                                      + "; ".join(problems))
        kind = "info" if nemesis else "invoke"  # Jepsen: nemesis ops are info at both ends
        with self.cond:
            if op is not None:
                completion = self.recorder.record(done)
                if completion.type == "info" and not nemesis:
                    worker.process += self.concurrency
                ctx = Context(completion.time, (), self.rng)
                for other in self.lanes:
                    other.update(ctx, completion)
                self.cond.notify_all()
            while not self.stop.is_set() and not self.errors:
                now = self.recorder.now()
                what = lane.poll(Context(now, (worker.process,), self.rng))
                if isinstance(what, Invocation):
                    return self.recorder.record(Op(0, 0, kind, worker.process, what.f, what.value))
                if what is None:
                    return None
                wait = _POLL_NS if what.until is None else min(_POLL_NS, what.until - now)
                self.cond.wait(max(wait, 0) / 1e9)
            return None

    def work(self, worker: Worker, lane: Lane, nemesis: bool) -> None:
        try:
            op = self.step(worker, lane, nemesis, None, None)
            while op is not None:
                try:
                    done: Any = worker.apply(op)
                except Exception as e:  # a crash of user code: the op may have happened
                    done = replace(op, type="info", error=f"indeterminate: {type(e).__name__}: {e}")
                op = self.step(worker, lane, nemesis, op, done)
        except BaseException as e:
            with self.cond:
                self.errors.append(e)
                self.cond.notify_all()


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
        with run.cond:
            run.cond.notify_all()
        for worker, _, _ in jobs:
            if worker.thread is not None:
                worker.thread.join(drain_timeout)
    if run.errors:
        raise run.errors[0]
