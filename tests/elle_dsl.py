"""Elle's tiny transaction language for tests: ``"ax1ry12"`` is append 1 to x, then read y = [1, 2].

``w`` writes a register, ``r`` reads (a list for list-append, a single value or nil for
registers). Keys are one letter, values digits. ``seq(...)`` runs txns one after another on
processes 0, 1, ...; ``concurrent(...)`` invokes them all before any completes.
"""

from __future__ import annotations

import re
from typing import Any

from checkers.history import History
from tests.helpers import history, invoke, op

_MOP = re.compile(r"([arw])([a-z])(\d*)")


def txn(text: str, registers: bool = False) -> list[list[Any]]:
    mops: list[list[Any]] = []
    for f, k, digits in _MOP.findall(text):
        if f == "r":
            v: Any = (int(digits) if digits else None) if registers else [int(d) for d in digits]
        else:
            v = int(digits)
        mops.append(["append" if f == "a" else f, k, v])
    assert "".join(f + k + d for f, k, d in _MOP.findall(text)) == text, f"bad txn {text!r}"
    return mops


Spec = str | tuple  # "ax1" or ("ax1", type) or ("ax1", type, process)


def _parts(spec: Spec, default_process: int) -> tuple[str, str, int]:
    if isinstance(spec, str):
        return spec, "ok", default_process
    return spec[0], spec[1], spec[2] if len(spec) > 2 else default_process


def _events(specs: tuple[Spec, ...], together: bool, registers: bool, first: int) -> list[dict[str, Any]]:
    invokes, completes = [], []
    for i, spec in enumerate(specs):
        text, typ, process = _parts(spec, first + i)
        done = txn(text, registers)
        attempted = [[f, k, None] if f == "r" else [f, k, v] for f, k, v in done]
        inv = invoke(process, "txn", attempted)
        comp = None if typ == "never" else op(typ, process, "txn", done if typ == "ok" else attempted)
        if together:
            invokes.append(inv)
            if comp:
                completes.append(comp)
        else:
            invokes.extend([inv] + ([comp] if comp else []))
    return invokes + completes


def seq(*specs: Spec, registers: bool = False, first: int = 0) -> list[dict[str, Any]]:
    return _events(specs, False, registers, first)


def concurrent(*specs: Spec, registers: bool = False, first: int = 0) -> list[dict[str, Any]]:
    return _events(specs, True, registers, first)


def build(*parts: list[dict[str, Any]]) -> History:
    return history(*(e for part in parts for e in part))


def timeline(order: str, specs: dict[int, Spec], registers: bool = False) -> list[dict[str, Any]]:
    """Events in an explicit order: ``"i1 i2 o1 o2"`` invokes txn 1, then 2, then completes 1, then 2.

    Txn ``n`` runs on process ``n`` unless its spec names one.
    """
    out = []
    for event in order.split():
        n = int(event[1:])
        text, typ, process = _parts(specs[n], n)
        done = txn(text, registers)
        attempted = [[f, k, None] if f == "r" else [f, k, v] for f, k, v in done]
        if event[0] == "i":
            out.append(invoke(process, "txn", attempted))
        else:
            out.append(op(typ, process, "txn", done if typ == "ok" else attempted))
    return out
