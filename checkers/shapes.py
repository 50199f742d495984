"""What an op's value must look like for each model, checked before the checker runs.

A checker that met a value of the wrong shape used to skip it, read it as nil or crash; any of
these can turn a broken history into ``true``. Instead :func:`check_shapes` raises
:class:`ShapeError` for the first op whose value does not fit, and the command line names the
file, line and field. Example: a bank ``read`` whose value is ``"100"`` instead of a map of
balances, a kv ``get`` that returned ``3`` instead of ``[key "3"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from checkers._ops import txn_unsure
from checkers.history import History, Op, is_client_process

__all__ = ["SHAPES", "ShapeError", "check_shapes"]


class ShapeError(ValueError):
    """An op whose value has the wrong shape for the model; names the op and the field."""

    def __init__(self, op: Op, field: str, message: str) -> None:
        super().__init__(f"op {op.index}: {field}: {message}")
        self.op, self.field, self.message = op, field, message


_SCALARS = frozenset({type(None), int, float, str, bool})


def _scalar(x: Any) -> bool:
    return type(x) in _SCALARS or isinstance(x, (int, float, str))


def _scalars(xs: list[Any]) -> bool:
    """Every element a scalar (one C-level pass over the types; subclasses such as Symbol the slow way)."""
    return frozenset(map(type, xs)) <= _SCALARS or all(map(_scalar, xs))


def _show(x: Any) -> str:
    text = repr(x)
    return f"{type(x).__name__} {text[:50]}{'...' if len(text) > 50 else ''}"


def _bank(op: Op, f: Any, value: Any) -> str | None:
    if f in ("read", "final-read") and op.type == "ok" and not (
            isinstance(value, Mapping) and all(v is None or type(v) in (int, float) for v in value.values())):
        return f"a bank read returns a map of account to balance, not {_show(value)}"
    if f == "transfer" and op.type == "invoke" and not (
            isinstance(value, Mapping) and {"from", "to", "amount"} <= set(value)
            and type(value["amount"]) in (int, float)):
        return f"a transfer is {{:from a :to b :amount n}}, not {_show(value)}"
    return None


def _string(op: Op, f: Any, value: Any) -> str | None:
    """kv's values: a string per key, as Porcupine's kv model (an int put and read back compared a
    string state with the int: ``put 5, get 5`` was false)."""
    if value is None or value.__class__ is str or isinstance(value, str):
        return None
    return f"kv keeps strings (get, put, append, as Porcupine's kv model), not {_show(value)}"


def _keyed(rule: Callable[[Op, Any, Any], str | None] | None) -> Callable[[Op, Any, Any], str | None]:
    """``rule`` for the values of ops split by key: the key in a ``key`` field, or the value a
    ``[key value]`` tuple (one that is not was read as nil: a read of 7 passed as one that says nothing).
    Crashed and failed ops are left alone: the search uses their invocation's value, or nothing."""

    def check(op: Op, f: Any, value: Any) -> str | None:
        if op.type == "fail" or op.type == "info":
            return None
        if "key" not in op.extra:
            if not (isinstance(value, list) and len(value) == 2 and _scalar(value[0])):
                return f"a keyed op's value is [key value], not {_show(value)}"
            value = value[1]
        return None if rule is None else rule(op, f, value)

    return check


def _register(op: Op, f: Any, value: Any) -> str | None:
    if f == "cas":
        pair = isinstance(value, list) and len(value) == 2
        if not (pair and (all(map(_scalar, value)) or _cas_pair(value[1]))):  # [old new] or [key [old new]]
            return f"a cas value is [old new], not {_show(value)}"
    elif not _scalar(value) and not (isinstance(value, list) and len(value) == 2 and "key" not in op.extra):
        return f"a register holds one value, not {_show(value)}"
    return None


def _cas_pair(x: Any) -> bool:
    return isinstance(x, list) and len(x) == 2 and all(map(_scalar, x))


def _txn(functions: frozenset[str], read_lists: bool, always: bool = False) -> Callable[[Op, Any, Any], str | None]:
    """Transactions of [f key value] micro-ops; reads return lists (list-append) or one value.
    Ops that are no transaction are left to the checker, unless ``always``."""

    def check(op: Op, f: Any, value: Any) -> str | None:
        if value is None or (not always and f != "txn" and value.__class__ is not list):
            return None
        if value.__class__ is not list and not isinstance(value, list):
            return f"a transaction is a list of [f key value] micro-ops, not {_show(value)}"
        ok = op.type == "ok"
        for mop in value:  # the common case without a call per micro-op: this runs millions of times
            if not (mop.__class__ is list or isinstance(mop, list)) or len(mop) != 3:
                return _bad_mop(mop, functions)
            name, k, v = mop
            if not isinstance(name, str) or name not in functions or not (k.__class__ in _SCALARS or _scalar(k)):
                return _bad_mop(mop, functions)
            if name == "r" or name == "read":
                if ok and not ((v is None or (isinstance(v, list) and _scalars(v))) if read_lists
                               else (v.__class__ in _SCALARS or _scalar(v))):
                    return f"read {_show(mop)} returned a value of the wrong shape"
            elif not (v.__class__ in _SCALARS or _scalar(v)):
                return f"write {_show(mop)} writes a value of the wrong shape"
        return None

    return check


def _bad_mop(mop: Any, functions: frozenset[str]) -> str:
    return f"micro-op {_show(mop)} is not [f key value] with f one of {', '.join(sorted(functions))}"


def _element(x: Any) -> bool:
    """A set element: a scalar, or a tuple of scalars such as an independent [key value]."""
    return _scalar(x) or (isinstance(x, list) and _scalars(x))


def _set(op: Op, f: Any, value: Any) -> str | None:
    if f == "add" and not _element(value):
        return f"an add is one element, not {_show(value)}"
    if f == "read" and op.type == "ok" and not (value is None or (
            isinstance(value, list) and (_scalars(value) or all(map(_element, value))))):
        return f"a set read returns a list of elements, not {_show(value)}"
    return None


def _counter(op: Op, f: Any, value: Any) -> str | None:
    if f == "add" and op.type == "invoke" and value is not None and type(value) is not int:
        return f"a counter add is an integer, not {_show(value)}"
    if f == "read" and op.type == "ok" and value is not None and type(value) is not int:
        return f"a counter read is an integer, not {_show(value)}"
    return None


def _long_fork(op: Op, f: Any, value: Any) -> str | None:
    """Jepsen's long-fork: a write is [[w k v]], a read [[r k v] ...] reading each key once."""
    mops = value if isinstance(value, list) else None
    if not mops or not all(isinstance(m, list) and len(m) == 3 for m in mops):
        return f"a long-fork transaction is a list of [f key value] micro-ops, not {_show(value)}"
    if any(isinstance(m[1], list | dict) for m in mops):
        return f"a long-fork key is a scalar, not {_show(value)}"
    kinds = {m[0] for m in mops}
    if kinds == {"w"} and len(mops) == 1:
        return None
    if kinds != {"r"}:
        return f"a long-fork transaction is one write [[w k v]] or reads [[r k v] ...], not {_show(value)}"
    keys = [m[1] for m in mops]
    if len(set(keys)) != len(keys):
        return f"a long-fork read reads each key of its group once, not {_show(value)}"
    return None


# model -> (functions, read_lists, always) of its transactions
_TXNS: dict[str, tuple[frozenset[str], bool, bool]] = {
    "list-append": (frozenset({"append", "r"}), True, False),
    "rw-register": (frozenset({"r", "w"}), False, False),
    "multi-register": (frozenset({"read", "write", "r", "w"}), False, True),
}

SHAPES: dict[str, Callable[[Op, Any, Any], str | None]] = {
    "bank": _bank,
    "kv": _keyed(_string),
    "cas-register": _register,
    "register": _register,
    **{model: _txn(*spec) for model, spec in _TXNS.items()},
    "set": _set,
    "set-full": _set,
    "linearizable-set": _set,
    "counter": _counter,
    "long-fork": _long_fork,
}


def check_shapes(model: str, history: History, functions: frozenset[str] | None = None,
                 independent: bool = False) -> None:
    """Raise ShapeError for the first client op whose ``f`` is not one of ``functions`` (when given),
    or whose value does not fit ``model``'s rule (with ``independent``: is no ``[key value]`` tuple of
    such a value), and for a fault process's op whose ``f`` is one of ``functions``; a no-op when
    there is neither."""
    rule, txns = SHAPES.get(model), _TXNS.get(model)
    if independent:
        rule = _keyed(rule)
    if functions is not None:
        txns = None  # C's pass over transactions looks at neither an op's f nor [key value] tuples
    elif rule is None:
        return
    for op in history.ops if txns is None else _unsure(history.ops, *txns[:2]):
        if op.process.__class__ is int or is_client_process(op.process):
            if functions is not None and not (isinstance(op.f, str) and op.f in functions):
                raise ShapeError(op, "f", f"{model} has no {repr(op.f)[:60]} (it knows {', '.join(sorted(functions))})")
            problem = None if rule is None else rule(op, op.f, op.value)
            if problem is not None:
                raise ShapeError(op, "value", problem)
        elif functions is not None and op.f in functions:  # Jepsen's checkers would count it: never skip it
            raise ShapeError(op, "process", f"{op.f} is a {model} op, but process {repr(op.process)[:40]} is no "
                             "client (clients are numbered)")


def _unsure(ops: list[Op], functions: frozenset[str], read_lists: bool) -> Iterator[Op]:
    """The ops whose transactions C (``_ops.c``) cannot pass at once: the rule decides them."""
    i = txn_unsure(ops, 0, Op, functions, read_lists)
    while i < len(ops):
        yield ops[i]
        i = txn_unsure(ops, i + 1, Op, functions, read_lists)
