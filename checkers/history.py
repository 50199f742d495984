"""The history model: Jepsen operations, and invocations paired with their completions.

A history is what a test saw, in order. Each client call appears twice: an *invocation*
(``type="invoke"``) when the process starts it, and a *completion* when it returns:

- ``ok``: it took effect;
- ``fail``: it surely did not take effect;
- ``info``: unknown. It may take effect at any time from its invocation on, so it stays
  concurrent with everything after it, and its process is crashed: Jepsen never lets a process
  invoke again after an ``info``.

Example (a register; process 0 writes 3, process 1 reads it, process 2 times out)::

    {:index 0 :time 10 :type :invoke :process 0 :f :write :value 3}
    {:index 1 :time 12 :type :invoke :process 1 :f :read  :value nil}
    {:index 2 :time 15 :type :ok     :process 0 :f :write :value 3}
    {:index 3 :time 16 :type :ok     :process 1 :f :read  :value 3}
    {:index 4 :time 20 :type :invoke :process 2 :f :write :value 4}
    {:index 5 :time 90 :type :info   :process 2 :f :write :value 4 :error :timed-out}

``History.pairs()`` turns these into :class:`Pair` objects (invocation, completion or None).
Client processes are integers; faults come from other processes (``"nemesis"``), whose ops are
``info`` at both ends in Jepsen's convention.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple, NoReturn

from checkers._ops import pair_ops, pair_positions

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ANSWERED",
    "FINAL",
    "NO_EXTRA",
    "OP_TYPES",
    "History",
    "HistoryProblem",
    "Op",
    "Pair",
    "is_client_process",
]

OP_TYPES = frozenset({"invoke", "ok", "fail", "info"})
# completion field: ``true`` on a ``fail`` the server answered definitely (a refusal or an abort on a
# working connection), as opposed to no answer (refused or lost connection, timeout, no primary)
ANSWERED = "answered"
# invocation field: ``true`` on the runner's final ops after the heal (e.g. the set's final reads),
# as opposed to a client's last op
FINAL = "final"


class _ReadOnlyDict(dict[str, Any]):
    """A dict nobody may change. It copies and pickles as a dict does."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this dict is read-only: it is the empty extra fields every op without any shares")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]


# the extra fields of an op with none: one shared dict (an empty dict per op took 1.3 GB in a 10M-txn history)
NO_EXTRA: dict[str, Any] = _ReadOnlyDict()


def _no_extra() -> dict[str, Any]:
    return NO_EXTRA


@dataclass(slots=True)
class Op:
    """One Jepsen operation. ``time`` is nanoseconds since the test started. Not frozen, which would
    double the time to build one (a history has millions), but never changed once read."""

    index: int
    time: int
    type: str
    process: Any
    f: Any
    value: Any = None
    error: Any = None
    node: Any = None
    extra: dict[str, Any] = field(default_factory=_no_extra)

    @property
    def is_client(self) -> bool:
        return is_client_process(self.process)

    def to_dict(self) -> dict[str, Any]:
        """The op as a Jepsen op map (absent optional fields left out)."""
        d: dict[str, Any] = {
            "index": self.index,
            "time": self.time,
            "type": self.type,
            "process": self.process,
            "f": self.f,
            "value": self.value,
        }
        if self.error is not None:
            d["error"] = self.error
        if self.node is not None:
            d["node"] = self.node
        d.update(self.extra)
        return d


def is_client_process(process: Any) -> bool:
    """Client processes are integers (Jepsen); anything else (``nemesis``) is a fault process."""
    return type(process) is int or process is None or (isinstance(process, int) and not isinstance(process, bool))


class Pair(NamedTuple):
    """An invocation and its completion (None when the history ends before it completed)."""

    invoke: Op
    complete: Op | None

    @property
    def type(self) -> str:
        """``ok``, ``fail`` or ``info``; an invocation that never completed counts as ``info``."""
        return self.complete.type if self.complete is not None else "info"

    @property
    def process(self) -> Any:
        return self.invoke.process

    @property
    def f(self) -> Any:
        return self.invoke.f

    @property
    def value(self) -> Any:
        """The completion's value when ``ok``, else the invocation's (what was attempted)."""
        if self.complete is not None and self.complete.type == "ok":
            return self.complete.value
        return self.invoke.value

    @property
    def latency(self) -> int | None:
        return None if self.complete is None else self.complete.time - self.invoke.time


@dataclass(frozen=True, slots=True)
class HistoryProblem:
    """Something wrong in a history: some kinds Jepsen's semantics tolerate (``never-completed``,
    ``invoke-after-crash``); the others make the file no history, and readers refuse them."""

    index: int
    kind: str
    message: str
    field: str = "type"


@dataclass(frozen=True)
class History:
    """An ordered sequence of ops, with pairing and the views checkers need."""

    ops: tuple[Op, ...]
    lines: Sequence[int] = field(default=(), compare=False, repr=False)  # file line of each op (-1: none)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # problems a lenient reader let through

    def line_of(self, index: int) -> int | None:
        """The file line of the (last) op with this index, when the history was read from a file."""
        position = self._positions.get(index)
        if position is None or position >= len(self.lines) or self.lines[position] < 0:
            return None
        return self.lines[position]

    @cached_property
    def _positions(self) -> dict[int, int]:
        return {op.index: position for position, op in enumerate(self.ops)}

    @classmethod
    def of(cls, ops: Iterable[Op]) -> History:
        return cls(tuple(ops))

    def __len__(self) -> int:
        return len(self.ops)

    def __iter__(self) -> Iterator[Op]:
        return iter(self.ops)

    def client_ops(self) -> list[Op]:
        return [op for op in self.ops if op.is_client]

    def nemesis_ops(self) -> list[Op]:
        return [op for op in self.ops if not op.is_client]

    def pairs(self, *, client: bool | None = True) -> list[Pair]:
        """Invocations paired with completions, in invocation order.

        ``client=True`` (default) gives client ops, ``False`` fault ops, ``None`` both.
        """
        if client is None:
            return list(self._paired[0])
        return list(self._client_pairs if client else [p for p in self._paired[0] if not p.invoke.is_client])

    def pair_positions(self, pairs: list[Pair]) -> tuple[list[int], list[int | None]]:
        """Where each pair's invocation, and its completion (None if it has none), are in ``ops``."""
        return pair_positions(self.ops, pairs)

    @cached_property
    def _paired(self) -> tuple[list[Pair], list[HistoryProblem]]:
        """Pairing is done once per history, over client and fault processes alike."""
        return _pair(self.ops)

    @cached_property
    def _client_pairs(self) -> list[Pair]:
        return [p for p in self._paired[0] if p[0].process.__class__ is int or p[0].is_client]

    def problems(self) -> list[HistoryProblem]:
        """Unpaired completions, double invocations, duplicate, negative or decreasing indices, time going
        backwards within a process, invocations never completed, invocations after a crash; in
        history order. (Across processes Jepsen's own histories go back by a little: each process
        reads the clock before the history records its op.)"""
        found = list(self._paired[1])
        indices = [op.index for op in self.ops]
        if indices != sorted(indices):  # Jepsen numbers ops in history order; checkers order ops by index
            found += [HistoryProblem(b, "index-backwards", f"index {b} comes after index {a}", "index")
                      for a, b in pairwise(indices) if b < a]
        if len(set(indices)) != len(indices) or (indices and min(indices) < 0):
            seen: set[int] = set()
            for index in indices:
                if index in seen:
                    found.append(HistoryProblem(index, "duplicate-index", f"index {index} appears twice", "index"))
                elif index < 0:
                    found.append(HistoryProblem(index, "negative-index", f"index {index} is negative", "index"))
                seen.add(index)
        return sorted(found, key=lambda p: self._positions.get(p.index, 0))

    def to_frame(self) -> pd.DataFrame:
        """Paired client and fault operations as a pandas DataFrame, one row per operation.

        Columns: index, process, f, type, node, invoke_time, complete_time, latency (ns),
        client (bool).
        """
        import pandas as pd

        rows = [
            {
                "index": p.invoke.index,
                "process": p.process,
                "f": p.f,
                "type": p.type,
                "node": p.invoke.node if p.invoke.node is not None else getattr(p.complete, "node", None),
                "invoke_time": p.invoke.time,
                "complete_time": None if p.complete is None else p.complete.time,
                "latency": p.latency,
                "client": p.invoke.is_client,
            }
            for p in self.pairs(client=None)
        ]
        columns = ["index", "process", "f", "type", "node", "invoke_time", "complete_time", "latency", "client"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["complete_time"] = frame["complete_time"].astype("Int64")
        frame["latency"] = frame["latency"].astype("Int64")
        return frame

    def stats(self) -> dict[str, Any]:
        """Counts by type and f, processes, time span, and problems (for ``history stats``)."""
        client = [op for op in self.ops if op.is_client]
        by_f: dict[str, Counter[str]] = {}
        for op in client:
            if op.type != "invoke":
                by_f.setdefault(str(op.f), Counter())[op.type] += 1
        pairs = self.pairs()
        never = sum(1 for p in pairs if p.complete is None)
        problems = self.problems()
        times = [op.time for op in self.ops]
        return {
            "ops": len(self.ops),
            "client-ops": len(client),
            "nemesis-ops": len(self.ops) - len(client),
            "by-type": dict(Counter(op.type for op in client)),
            "by-f": {f: dict(c) for f, c in sorted(by_f.items())},
            "operations": len(pairs),
            "never-completed": never,
            "processes": len({op.process for op in client}),
            "nemesis-processes": sorted({str(op.process) for op in self.ops if not op.is_client}),
            "time-span-ns": (max(times) - min(times)) if times else 0,
            "problems": Counter(p.kind for p in problems),
        }


def _pair(ops: Sequence[Op]) -> tuple[list[Pair], list[HistoryProblem]]:
    """Pair each invocation with the next completion of the same process, and note what is wrong on the
    way: in C (``_ops.c``) when nothing is, else by :func:`_pair_naming_problems`."""
    pairs = pair_ops(ops, Op, Pair)
    return (pairs, []) if pairs is not None else _pair_naming_problems(ops)


def _pair_naming_problems(ops: Sequence[Op]) -> tuple[list[Pair], list[HistoryProblem]]:
    """Pair each invocation with the next completion of the same process, and note what is wrong on the
    way (an unpaired completion, a double invocation, time going backwards within a process, a client's
    completion of another f than its invocation's...).

    Fault processes follow Jepsen's nemesis convention: their ops alternate invocation and
    completion whatever their type.
    """
    open_: dict[Any, tuple[Op, int]] = {}  # process -> (invocation, its slot)
    crashed: set[Any] = set()
    slots: list[Pair | None] = []
    problems: list[HistoryProblem] = []
    last_time: dict[Any, int] = {}  # process -> time of its last op
    for op in ops:
        process, time, type_ = op.process, op.time, op.type
        before = last_time.get(process)
        if before is not None and time < before and process is not None:
            problems.append(HistoryProblem(op.index, "time-backwards", f"time {time} is before the {before} "
                                           f"of process {process}'s previous op", "time"))
        last_time[process] = time
        is_client = process.__class__ is int or is_client_process(process)
        pending = open_.get(process)
        starts = pending is None if not is_client else type_ == "invoke"
        if starts:
            if pending is not None:
                problems.append(_reinvoked(op, pending[0]))
                slots[pending[1]] = Pair(pending[0], None)
            if is_client and process in crashed and process is not None:
                problems.append(
                    HistoryProblem(op.index, "invoke-after-crash",
                                   f"process {process} invoked again after an info completion")
                )
            open_[process] = (op, len(slots))
            slots.append(None)
        elif pending is None:
            problems.append(_unpaired(op))
        else:
            del open_[process]
            slots[pending[1]] = Pair(pending[0], op)
            if is_client and not (op.f is pending[0].f or op.f == pending[0].f):  # as C compares them
                problems.append(HistoryProblem(op.index, "f-mismatch", f"completes {op.f!r}, but process {process} "
                                               f"invoked {pending[0].f!r} (op {pending[0].index})", "f"))
            if type_ == "info":
                crashed.add(process)
    for invocation, slot in open_.values():
        if invocation.is_client:
            problems.append(
                HistoryProblem(invocation.index, "never-completed",
                               f"invocation {invocation.index} of process {invocation.process} never completed "
                               "(counts as info)")
            )
        slots[slot] = Pair(invocation, None)
    return [p for p in slots if p is not None], problems


def _reinvoked(op: Op, still_open: Op) -> HistoryProblem:
    """An invocation while its process's previous op is still open (which then counts as info)."""
    if op.process is None:
        return HistoryProblem(op.index, "no-process", f"invoked without a process while op {still_open.index}, also "
                              "without one, was still open: ops without a process pair only one after another, so "
                              f"which completion is whose is unknown; {still_open.index} counts as info", "process")
    return HistoryProblem(op.index, "double-invoke", f"process {op.process} invoked while op {still_open.index} was "
                          f"still open; {still_open.index} counts as info", "process")


def _unpaired(op: Op) -> HistoryProblem:
    """A completion with no open invocation of its process."""
    if op.process is None:
        return HistoryProblem(op.index, "unpaired-completion", f"{op.type} without a process has no invocation (ops "
                              "without one pair only one after another)", "process")
    return HistoryProblem(op.index, "unpaired-completion", f"{op.type} of process {op.process} has no invocation",
                          "type")
