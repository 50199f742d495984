"""Short ways to write histories in tests: ``invoke(0, "read")``, ``ok(0, "read", 3)``."""

from __future__ import annotations

from typing import Any

from checkers.history import History, Op


def op(type_: str, process: Any, f: Any, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"type": type_, "process": process, "f": f, "value": value, **extra}


def invoke(process: Any, f: Any, value: Any = None, **extra: Any) -> dict[str, Any]:
    return op("invoke", process, f, value, **extra)


def ok(process: Any, f: Any, value: Any = None, **extra: Any) -> dict[str, Any]:
    return op("ok", process, f, value, **extra)


def fail(process: Any, f: Any, value: Any = None, **extra: Any) -> dict[str, Any]:
    return op("fail", process, f, value, **extra)


def info(process: Any, f: Any, value: Any = None, **extra: Any) -> dict[str, Any]:
    return op("info", process, f, value, **extra)


def history(*ops: dict[str, Any]) -> History:
    """A history from op maps; index and time default to the position (time in ms steps)."""
    built = []
    for i, d in enumerate(ops):
        d = dict(d)
        index = d.pop("index", i)
        time = d.pop("time", i * 1_000_000)
        error = d.pop("error", None)
        node = d.pop("node", None)
        core = {k: d.pop(k) for k in ("type", "process", "f", "value")}
        built.append(Op(index=index, time=time, error=error, node=node, extra=d, **core))
    return History.of(built)
