"""The interpreter with in-process clients (pure logic: the clients only return completions).

What Jepsen's interpreter guarantees: the invocation is recorded before the client sees it and the
completion after; index order is record order and times never go back; a process whose op ended
``info`` continues under a new id; a generator pending on a completion wakes when one is recorded.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from itertools import pairwise

import pytest

from chaos.run import interpreter
from chaos.run.interpreter import CompletionError, Worker, client_worker, interpret, nemesis_worker
from chaos.run.recorder import Recorder
from checkers.formats import read_history
from checkers.history import Op
from workloads.client import complete
from workloads.generator import Context, Generator, Invocation, Pending, once, seq, sleep


def run(tmp_path, workers, gen, nemesis=None, nemesis_gen=None, stop=None):
    path = tmp_path / "history.jsonl"
    with Recorder(path) as recorder:
        interpret(recorder, random.Random(7), workers, gen, nemesis, nemesis_gen, stop or threading.Event(),
                  drain_timeout=5)
    return read_history(path)


def writes(n: int) -> Generator:
    return seq(*(once("write", i) for i in range(n)))


class Ok:
    def invoke(self, op: Op) -> Op:
        return complete(op, "ok")


def test_invocation_is_on_disk_before_the_client_runs_and_completion_after(tmp_path):
    path, last_on_disk = tmp_path / "history.jsonl", []

    class Checking:
        def invoke(self, op: Op) -> Op:
            recorder.flush()
            last_on_disk.append(read_history(path).ops[-1])
            return complete(op, "ok")

    with Recorder(path) as recorder:
        interpret(recorder, random.Random(1), [client_worker(0, Checking())], writes(5), None, None,
                  threading.Event(), drain_timeout=5)
    ops = read_history(path).ops
    assert [(o.type, o.value) for o in ops] == [(t, i) for i in range(5) for t in ("invoke", "ok")]
    assert last_on_disk == [o for o in ops if o.type == "invoke"]  # with its index and time; no completion yet


def test_many_workers_index_order_time_order_and_one_op_per_process(tmp_path):
    h = run(tmp_path, [client_worker(i, Ok()) for i in range(8)], writes(2000))
    assert [o.index for o in h.ops] == list(range(4000))
    assert all(a.time <= b.time for a, b in pairwise(h.ops))
    assert [p.invoke.value for p in h.pairs()] == list(range(2000))  # invocations in the generator's order
    open_by_process: dict[int, Op] = {}
    for o in h.ops:  # each process alternates invoke, completion
        if o.type == "invoke":
            assert o.process not in open_by_process
            open_by_process[o.process] = o
        else:
            assert open_by_process.pop(o.process).value == o.value
    assert not open_by_process


def test_a_process_whose_op_ended_info_continues_under_a_new_id(tmp_path):
    class Flaky:
        def invoke(self, op: Op) -> Op:
            if op.value == 1:
                return complete(op, "info", error="timed-out")
            if op.value == 2:
                raise RuntimeError("connection reset")
            return complete(op, "ok")

    h = run(tmp_path, [client_worker(0, Flaky())], writes(4))
    assert [(o.process, o.type, o.value) for o in h.ops] == [
        (0, "invoke", 0), (0, "ok", 0), (0, "invoke", 1), (0, "info", 1),
        (1, "invoke", 2), (1, "info", 2), (2, "invoke", 3), (2, "ok", 3)]
    assert h.ops[5].error == "indeterminate: RuntimeError: connection reset"


@dataclass(frozen=True)
class AfterFirst:
    """``first``, then nothing until it completed, then ``then`` (pending without a deadline)."""

    stage: int = 0

    def op(self, ctx: Context):
        if self.stage == 0:
            return Invocation("first"), AfterFirst(1)
        if self.stage == 1:
            return Pending(), self
        if self.stage == 2:
            return Invocation("then"), AfterFirst(3)
        return None, self

    def update(self, ctx: Context, event: Op) -> AfterFirst:
        return AfterFirst(2) if self.stage == 1 and event.f == "first" else self


def test_a_worker_pending_on_a_completion_wakes_when_it_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setattr(interpreter, "_POLL_NS", 60_000_000_000)  # no re-poll: only the completion can wake it
    release = threading.Event()

    class Slow:
        def invoke(self, op: Op) -> Op:
            release.wait(0.3)  # the other worker is waiting by now
            return complete(op, "ok")

    started = time.monotonic()
    h = run(tmp_path, [client_worker(i, Slow()) for i in range(2)], AfterFirst())
    assert time.monotonic() - started < 30
    assert [(o.f, o.type) for o in h.ops] == [("first", "invoke"), ("first", "ok"), ("then", "invoke"),
                                              ("then", "ok")]


def test_a_worker_pending_on_time_waits_until_then(tmp_path):
    h = run(tmp_path, [client_worker(i, Ok()) for i in range(3)], seq(once("write", 0), sleep(0.3), once("write", 1)))
    first, second = h.ops[0], h.ops[2]
    assert second.value == 1 and second.time - first.time >= 300_000_000


def test_nemesis_ops_are_info_at_both_ends_beside_the_clients(tmp_path):
    class Faults:
        def invoke(self, f, value):
            return ["n1"]

    h = run(tmp_path, [client_worker(0, Ok())], writes(50), nemesis_worker(Faults()),
            seq(once("kill", "one"), once("start", "all")))
    faults = [(o.type, o.f, o.value) for o in h.ops if o.process == "nemesis"]
    assert faults == [("info", "kill", "one"), ("info", "kill", ["n1"]), ("info", "start", "all"),
                      ("info", "start", ["n1"])]
    assert len([o for o in h.ops if o.process == 0]) == 100


def test_a_bad_completion_fails_the_run(tmp_path):
    class Renaming:
        def invoke(self, op: Op) -> Op:
            return Op(op.index, op.time, "ok", op.process, "read", op.value)

    with pytest.raises(CompletionError, match="f changed from 'write' to 'read'"):
        run(tmp_path, [client_worker(i, Ok() if i else Renaming()) for i in range(4)], writes(10_000))


def test_a_generator_error_met_while_serving_another_worker_fails_the_run(tmp_path):
    @dataclass(frozen=True)
    class Breaks:
        n: int = 0

        def op(self, ctx: Context):
            if self.n == 500:
                raise ValueError("generator bug")
            return Invocation("write", self.n), Breaks(self.n + 1)

        def update(self, ctx: Context, event: Op) -> Breaks:
            return self

    with pytest.raises(ValueError, match="generator bug"):
        run(tmp_path, [client_worker(i, Ok()) for i in range(6)], Breaks())


def test_stop_ends_the_run_with_every_started_op_completed(tmp_path):
    stop = threading.Event()

    class Stopping:
        def invoke(self, op: Op) -> Op:
            if op.value == 300:
                stop.set()
            return complete(op, "ok")

    h = run(tmp_path, [Worker(f"client-{i}", Stopping().invoke, i) for i in range(4)], writes(10_000), stop=stop)
    assert 300 < len(h.pairs()) < 10_000
    assert all(p.complete is not None for p in h.pairs())


def test_completions_that_change_no_generator_do_not_wake_a_waiting_lane(tmp_path, monkeypatch):
    monkeypatch.setattr(interpreter, "_POLL_NS", 60_000_000_000)
    polls = []

    @dataclass(frozen=True)
    class Later:
        """One fault 0.3 s after it is first asked, counting how often it is asked."""

        due: int | None = None
        fired: bool = False

        def op(self, ctx: Context):
            polls.append(ctx.time)
            if self.fired:
                return None, self
            due = ctx.time + 300_000_000 if self.due is None else self.due
            if ctx.time < due:
                return Pending(due), Later(due)
            return Invocation("kill", "one"), Later(due, True)

        def update(self, ctx: Context, event: Op) -> Later:
            return self

    class Faults:
        def invoke(self, f, value):
            return ["n1"]

    h = run(tmp_path, [client_worker(i, Ok()) for i in range(2)], seq(writes(3000), sleep(0.5)),
            nemesis_worker(Faults()), Later())
    assert len([o for o in h.ops if o.process == "nemesis"]) == 2
    assert len(polls) <= 4  # asked first, at its time, after its op; not after each of 3000 completions
