"""Sequential specifications for the linearizability checker: a model is a few callables.

A :class:`Model` says where a datatype starts (``init``) and what one operation does to it
(``step``). ``step(state, op)`` returns the next state, or an :class:`Inconsistent` that says in
words why the op cannot happen in that state. States must be hashable (the search memoises
them), or the model gives ``key``, which maps a state to something hashable: equal keys mean
equal states. A register in four lines::

    def step(state, op):
        if op.f == "write":
            return op.value
        return state if op.value in (None, state) else Inconsistent(f"can't read {op.value!r} ...")

    register = Model(name="register", init=lambda: None, step=step, pure=lambda op: op.f == "read")

``op`` is a :class:`Call`: ``f``, ``value`` (what an ``ok`` completion returned, else what was
invoked; vectors and maps already made hashable by :func:`freeze`) and ``type`` (``ok`` or
``info``; ``info`` ops may have taken effect, with an unknown result). ``pure(op)`` says an op
never changes the state: a crashed pure op cannot matter, so the checker drops it, and one the
state allows is taken at once. A nondeterministic step (an
``info`` dequeue from an unordered queue could have removed any element) returns a
:class:`Choice` of states.

Models are built from :class:`~checkers.registry.CheckOptions` by the factories in ``MODELS``
(``--initial-value``, ``--nil-is-empty``). ``keyed`` models are checked per key, each key on its
own (P-compositionality); the key is an op's ``key`` field or the first half of a Jepsen
``independent`` tuple value ``[key value]``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from checkers.registry import CheckOptions

__all__ = ["MODELS", "Call", "Choice", "Inconsistent", "Model", "freeze", "model_for", "show"]


class Inconsistent:
    """The op cannot happen in this state; ``why`` says so in a user's words.

    ``why`` is ``text``, or, given ``args``, ``text.format`` of the args as :func:`show` writes them,
    done only when asked: the search meets far more dead ends than it explains.
    """

    __slots__ = ("args", "text")

    def __init__(self, text: str, *args: Any) -> None:
        self.text, self.args = text, args

    @property
    def why(self) -> str:
        return self.text.format(*map(show, self.args)) if self.args else self.text

    def __repr__(self) -> str:
        return f"Inconsistent({self.why!r})"


class Choice(tuple):
    """Several possible next states (a nondeterministic step)."""

    __slots__ = ()


@dataclass(slots=True, eq=False)
class Call:
    """One operation as the search sees it: what was called and, for ``ok`` ops, what it returned.

    ``call`` and ``ret`` are positions in the history (``ret`` is None for ``info`` ops, which
    stay pending to the end); an op invoked at the position where another returns is concurrent
    with it. ``index`` and ``process`` name the op for people.
    """

    f: Any
    value: Any
    type: str
    index: int
    process: Any
    call: int
    ret: int | None


def show(x: Any) -> str:
    """A value as people read it in explanations (nil for None)."""
    return "nil" if x is None else repr(x)


@dataclass(frozen=True, kw_only=True)
class Model:
    """A sequential datatype: ``init() -> state``, ``step(state, op) -> state | Inconsistent``."""

    name: str
    init: Callable[[], Any]
    step: Callable[[Any, Call], Any]
    key: Callable[[Any], Hashable] | None = None
    pure: Callable[[Call], bool] = lambda op: False
    keyed: bool = False
    describe: Callable[[Any], str] = show
    functions: frozenset[str] | None = None
    """The ``f`` names ``step`` knows (None: any); a history with another is refused before the search."""


# ---------------------------------------------------------------- registers


def _register_step(nil_is_empty: bool, cas: bool) -> Callable[[Any, Call], Any]:
    def step(state: Any, op: Call) -> Any:
        f, value = op.f, op.value
        if f == "read":
            if value == state or (value is None and not nil_is_empty):
                return state
            return Inconsistent("can't read {} when the value is {}", value, state)
        if f == "write":
            return value
        if cas and f == "cas":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                return Inconsistent("cas needs [old new], got {}", value)
            old, new = value
            if old == state:
                return new
            return Inconsistent("can't CAS {} -> {} when the value is {}", old, new, state)
        return Inconsistent(f"unknown operation {f!r}")

    return step


def _is_read(op: Call) -> bool:
    return op.f == "read"


def register(options: CheckOptions) -> Model:
    """Reads and writes; a nil read means "unknown" unless ``nil_is_empty``."""
    initial = freeze(options.initial_value)
    return Model(name="register", init=lambda: initial, step=_register_step(options.nil_is_empty, cas=False),
                 pure=_is_read, functions=frozenset({"read", "write"}))


def cas_register(options: CheckOptions) -> Model:
    """Reads, writes and compare-and-set ``[old new]``; initial value nil unless given."""
    initial = freeze(options.initial_value)
    return Model(name="cas-register", init=lambda: initial, step=_register_step(options.nil_is_empty, cas=True),
                 pure=_is_read, functions=frozenset({"read", "write", "cas"}))


def freeze(x: Any) -> Any:
    """JSON/EDN values as hashable states and keys: lists to tuples, maps to sorted item tuples."""
    if x.__class__ is str or x.__class__ is int:  # most keys and values: no ABC check (Mapping's is slow)
        return x
    if isinstance(x, list):
        return tuple(freeze(v) for v in x)
    if isinstance(x, Mapping):
        return tuple(sorted(((k, freeze(v)) for k, v in x.items()), key=repr))
    return x


# ---------------------------------------------------------------- mutex


def _mutex_step(state: bool, op: Call) -> Any:
    if op.f == "acquire":
        return True if not state else Inconsistent("can't acquire the lock: it is already held")
    if op.f == "release":
        return False if state else Inconsistent("can't release the lock: it is not held")
    return Inconsistent(f"unknown operation {op.f!r}")


def mutex(options: CheckOptions) -> Model:
    """A lock: ``acquire`` and ``release``."""
    _no_initial_value("mutex", options)
    return Model(name="mutex", init=lambda: False, step=_mutex_step,
                 describe=lambda held: "held" if held else "free", functions=frozenset({"acquire", "release"}))


# ---------------------------------------------------------------- set


def _set_step(state: frozenset[Any], op: Call) -> Any:
    if op.f == "add":
        return state | {op.value}
    if op.f == "read":
        if op.value is None:
            return state
        seen = frozenset(op.value)
        if seen == state:
            return state
        return Inconsistent(f"can't read {_describe_set(seen)} when the set is {_describe_set(state)}")
    return Inconsistent(f"unknown operation {op.f!r}")


def _describe_set(s: frozenset[Any]) -> str:
    return "#{" + " ".join(sorted(map(show, s))) + "}"


def set_model(options: CheckOptions) -> Model:
    """A set: ``add`` an element, ``read`` the whole set."""
    initial = frozenset(freeze(v) for v in options.initial_value or ())
    return Model(name="set", init=lambda: initial, step=_set_step, pure=_is_read, describe=_describe_set,
                 functions=frozenset({"add", "read"}))


# ---------------------------------------------------------------- multi-register


def _multi_step(nil_is_empty: bool) -> Callable[[Any, Call], Any]:
    def step(state: tuple[tuple[Any, Any], ...], op: Call) -> Any:
        if op.f not in ("txn", "read", "write"):
            return Inconsistent(f"unknown operation {op.f!r}")
        values = dict(state)
        changed = False
        for mop in op.value or ():
            kind, k, v = mop
            if kind in ("r", "read"):
                current = values.get(k)
                if v != current and (v is not None or nil_is_empty):
                    return Inconsistent(f"can't read {k}={show(v)} when {k} is {show(current)}")
            elif kind in ("w", "write"):
                values[k] = v
                changed = True
            else:
                return Inconsistent(f"unknown micro-op {kind!r}")
        return tuple(sorted(values.items(), key=repr)) if changed else state

    return step


def _read_only_txn(op: Call) -> bool:
    return all(mop[0] in ("r", "read") for mop in op.value or ())


def multi_register(options: CheckOptions) -> Model:
    """Several registers read and written together: ``txn`` of ``[read k v]`` / ``[write k v]``."""
    initial = freeze(options.initial_value or {})
    if not isinstance(initial, tuple):
        raise ValueError("multi-register: --initial-value must be a map of key to value")
    return Model(name="multi-register", init=lambda: initial, step=_multi_step(options.nil_is_empty),
                 pure=_read_only_txn, functions=frozenset({"txn", "read", "write"}),
                 describe=lambda s: "{" + ", ".join(f"{k} {show(v)}" for k, v in s) + "}")


# ---------------------------------------------------------------- kv (per key)


def _kv_step(nil_is_empty: bool) -> Callable[[str, Call], Any]:
    def step(state: str, op: Call) -> Any:
        f, value = op.f, op.value
        if f in ("get", "read"):
            if value == state or (value is None and (not nil_is_empty or state == "")):
                return state
            return Inconsistent("can't get {} when the value is {}", value, state)
        if f in ("put", "write"):
            return "" if value is None else str(value)
        if f == "append":
            return state + ("" if value is None else str(value))
        return Inconsistent(f"unknown operation {f!r}")

    return step


def kv(options: CheckOptions) -> Model:
    """A string per key: ``get``, ``put`` and ``append``; every key starts as ``""``.

    A nil get means "unknown" unless ``nil_is_empty`` (then: the key is empty)."""
    if not isinstance(options.initial_value, str | None):
        raise ValueError(f"kv: --initial-value must be a string, not {show(options.initial_value)}")
    initial = options.initial_value or ""
    return Model(name="kv", init=lambda: initial, step=_kv_step(options.nil_is_empty), keyed=True,
                 pure=lambda op: op.f in ("get", "read"),
                 functions=frozenset({"get", "read", "put", "write", "append"}))


# ---------------------------------------------------------------- queues


def _fifo_step(state: tuple[Any, ...], op: Call) -> Any:
    if op.f == "enqueue":
        return (*state, op.value)
    if op.f == "dequeue":
        if op.type == "info":  # returned nothing we know: took the head, if any
            return state[1:]
        value = op.value
        if value is None and not state:
            return state
        if state and state[0] == value:
            return state[1:]
        return Inconsistent(f"can't dequeue {show(value)} when the queue is {_describe_queue(state)}")
    return Inconsistent(f"unknown operation {op.f!r}")


def _describe_queue(state: tuple[Any, ...]) -> str:
    return "[" + " ".join(map(show, state)) + "]" if state else "empty"


def fifo_queue(options: CheckOptions) -> Model:
    """A FIFO queue: ``enqueue v``; ``dequeue`` returns the head (nil when empty)."""
    _no_initial_value("fifo-queue", options)
    return Model(name="fifo-queue", init=tuple, step=_fifo_step, describe=_describe_queue,
                 functions=frozenset({"enqueue", "dequeue"}))


def _unordered_step(state: tuple[Any, ...], op: Call) -> Any:
    if op.f == "enqueue":
        return tuple(sorted((*state, op.value), key=repr))
    if op.f == "dequeue":
        if op.type == "info":  # could have taken any element
            return Choice({state[:i] + state[i + 1:] for i in range(len(state))} or {state})
        value = op.value
        if value is None and not state:
            return state
        if value in state:
            i = state.index(value)
            return state[:i] + state[i + 1:]
        return Inconsistent(f"can't dequeue {show(value)} when the queue holds {_describe_queue(state)}")
    return Inconsistent(f"unknown operation {op.f!r}")


def unordered_queue(options: CheckOptions) -> Model:
    """A bag: ``enqueue v``; ``dequeue`` returns any element (nil when empty)."""
    _no_initial_value("unordered-queue", options)
    return Model(name="unordered-queue", init=tuple, step=_unordered_step, describe=_describe_queue,
                 functions=frozenset({"enqueue", "dequeue"}))


def _no_initial_value(name: str, options: CheckOptions) -> None:
    if options.initial_value is not None:
        raise ValueError(f"{name} takes no --initial-value (the register, set, multi-register and kv models do)")


MODELS: dict[str, Callable[[CheckOptions], Model]] = {
    "register": register,
    "cas-register": cas_register,
    "mutex": mutex,
    "linearizable-set": set_model,
    "multi-register": multi_register,
    "kv": kv,
    "fifo-queue": fifo_queue,
    "unordered-queue": unordered_queue,
}


def model_for(name: str, options: CheckOptions) -> Model:
    """The model called ``name``, built with the user's options."""
    return MODELS[name](options)
