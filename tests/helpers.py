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


def pg_visible(xid: int, snapshot: str) -> bool:
    """Whether a committed ``xid`` is visible in a ``pg_current_snapshot()`` text (xmin:xmax:xip)."""
    xmin, xmax, xip = snapshot.split(":")
    return xid < int(xmax) and (xid < int(xmin) or str(xid) not in xip.split(","))


def held_commit_steps(cycle: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    """A G2-item cycle of ``benchmarks/pg_ssi_repro.py --stall`` as sorted (from, edge, to, key) steps named
    by txn (P, W, R), once PostgreSQL's own xids and snapshots are checked to agree with it: R saw W, P
    missed W and R missed P."""
    txns = {t["txn"]: t for t in cycle["cycle"]}
    assert sorted(txns) == ["P", "R", "W"]
    assert pg_visible(int(txns["W"]["xid"]), txns["R"]["snapshot"])
    assert not pg_visible(int(txns["W"]["xid"]), txns["P"]["snapshot"])
    assert not pg_visible(int(txns["P"]["xid"]), txns["R"]["snapshot"])
    by_index = {t["index"]: name for name, t in txns.items()}
    return sorted((by_index[s["from"]], s["type"], by_index[s["to"]], s["key"]) for s in cycle["steps"])


def heal_error(message: str) -> None:
    """What a test's nemesis package reports when a heal fails: the test fails with it."""
    import pytest

    pytest.fail(message)
