"""Linearizability: can the ops of a history be put in one order, consistent with real time, that a
sequential model accepts?

The search is Wing and Gong's with Lowe's memoisation, as Porcupine does it: take, among the ops
that may go next (invoked before the earliest pending return), one the model accepts, and go on;
back up when stuck. A configuration (the set of ops taken, as a bitset, and the model state) seen
before is not explored twice. Crashed (``info``) ops may or may not have taken effect: they stay
pending to the end and the search may take them or leave them out, so a configuration that took
*more* of them than one already explored, with the same ``ok`` ops and state, can do nothing new
and is cut too. ``fail`` ops never happened and are dropped, as are crashed ops that cannot
change the state (a crashed read).

Example: a register starting at 0; process 1 reads 2 while process 0's write of 2 is still
running, then process 2 reads 0 after the write returned::

    0 invoke write 2 | 1 invoke read | 1 ok read 2 | 0 ok write 2 | 2 invoke read | 2 ok read 0

``write 2, read 2`` works, but ``read 0`` comes after the write in real time and nothing wrote 0
since: not linearizable. The result names the op that cannot go (``read 0``), the longest order
found (``write 2, read 2``), the states possible there (``2``) and says it in one paragraph.

Keyed models (``kv``), and any model with ``--independent``, are checked key by key
(P-compositionality): a history is linearizable when each key's sub-history is.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from checkers.history import History
from checkers.models import MODELS, Call, Choice, Inconsistent, Model, model_for, show
from checkers.registry import CheckOptions, register_checker
from checkers.result import Result, unknown

__all__ = ["MAX_CONFIGS", "Failure", "Outcome", "calls_by_key", "check_linearizable", "search"]

MAX_CONFIGS = 1_000_000
"""The most configurations the memo may hold (about 250 MB) before the answer is ``unknown``."""

_CHECK_EVERY = 2048  # steps between looks at the clock


@dataclass(frozen=True)
class Failure:
    """Why a (sub-)history is not linearizable."""

    op: Call
    linearized: tuple[Call, ...]
    states: tuple[str, ...]
    reasons: tuple[str, ...]
    explanation: str


@dataclass(frozen=True)
class Outcome:
    """What one search found: ``valid`` True, False or "unknown" (then ``cause`` says why)."""

    valid: bool | str
    failure: Failure | None = None
    cause: str | None = None
    configs: int = 0
    linearization: tuple[Call, ...] = field(default=(), repr=False)


class _Stop(Exception):
    def __init__(self, cause: str) -> None:
        self.cause = cause


def search(calls: Sequence[Call], model: Model, *, deadline: float | None = None,
           max_configs: int = MAX_CONFIGS) -> Outcome:
    """Wing-Gong-Lowe search over ``calls`` (one key's ops). ``deadline`` is a ``time.monotonic()``."""
    try:
        return _search(calls, model, deadline, max_configs)
    except _Stop as stop:
        return Outcome("unknown", cause=stop.cause, configs=max_configs if stop.cause == "memory" else 0)


def _search(calls: Sequence[Call], model: Model, deadline: float | None, max_configs: int) -> Outcome:
    pure = model.pure
    ok = sorted((c for c in calls if c.ret is not None), key=lambda c: c.call)
    info = sorted((c for c in calls if c.ret is None and not pure(c)), key=lambda c: c.call)
    ops = ok + info
    m, n = len(ok), len(ok) + len(info)
    bit = [1 << i for i in range(n)]
    full = (1 << m) - 1
    ok_call = [c.call for c in ok]
    ok_ret = [c.ret for c in ok]
    info_call = [c.call for c in info]
    ret_order = sorted(range(m), key=ok_ret.__getitem__)
    # Identical crashed ops are interchangeable: take them in invocation order only.
    before_same: list[int] = []
    last_same: dict[tuple[Any, str], int] = {}
    for j, c in enumerate(info):
        sig = (c.f, repr(c.value))
        before_same.append(bit[m + last_same[sig]] if sig in last_same else 0)
        last_same[sig] = j
    info_range = range(len(info))
    step = model.step
    keyf = model.key
    cache: dict[tuple[int, Hashable], list[int]] = {}
    configs = 0
    steps = 0

    best = -1
    best_path: list[int] = []
    best_op = -1
    best_states: list[Any] = []

    def candidates(lin: int, rp: int, cp: int) -> tuple[list[Any], int, int, int]:
        while rp < m and lin & bit[ret_order[rp]]:
            rp += 1
        if rp == m:
            return [], rp, cp, -1
        while lin & bit[cp]:
            cp += 1
        min_ret = ok_ret[ret_order[rp]]
        cands: list[Any] = []
        for i in range(cp, m):
            if ok_call[i] > min_ret:
                break
            if not lin & bit[i]:
                cands.append(i)
        for j in info_range:
            if info_call[j] > min_ret:
                break
            b = bit[m + j]
            if not lin & b and (lin & before_same[j]) == before_same[j]:
                cands.append(m + j)
        return cands, rp, cp, ret_order[rp]

    lin = 0
    state = model.init()
    path: list[int] = []
    stack: list[tuple[int, Any, list[Any], int, int, int]] = []
    cands, rp, cp, blocking = candidates(0, 0, 0)
    ci = 0
    depth = 0  # ok ops taken
    if blocking < 0:
        return Outcome(True, configs=0)
    best, best_op, best_states = 0, blocking, [state]
    while True:
        if ci < len(cands):
            x = cands[ci]
            ci += 1
            if x.__class__ is tuple:
                i, nxt = x
            else:
                i = x
                nxt = step(state, ops[i])
                if nxt.__class__ is Inconsistent:
                    continue
                if nxt.__class__ is Choice:
                    alternatives = list(nxt)
                    nxt = alternatives[0]
                    cands[ci:ci] = [(i, s) for s in alternatives[1:]]
            nlin = lin | bit[i]
            key = (nlin & full, nxt if keyf is None else keyf(nxt))
            taken = nlin >> m
            seen = cache.get(key)
            if seen is None:
                cache[key] = [taken]
            else:
                if any(s & taken == s for s in seen):
                    continue
                seen.append(taken)
            configs += 1
            steps += 1
            if configs > max_configs:
                raise _Stop("memory")
            if deadline is not None and not steps % _CHECK_EVERY and time.monotonic() > deadline:
                raise _Stop("timeout")
            stack.append((lin, state, cands, ci, rp, cp))
            path.append(i)
            lin, state = nlin, nxt
            ndepth = depth + (i < m)
            cands, rp, cp, blocking = candidates(lin, rp, cp)
            ci = 0
            if blocking < 0:
                return Outcome(True, configs=configs, linearization=tuple(ops[k] for k in path))
            if ndepth > best:
                best, best_path, best_op, best_states = ndepth, path[:], blocking, [state]
            elif ndepth == best and blocking == best_op and len(best_states) < 64:
                best_states.append(state)
            depth = ndepth
        else:
            if not stack:
                break
            lin, state, cands, ci, rp, cp = stack.pop()
            depth -= path.pop() < m
    return Outcome(False, _failure(model, ops[best_op], [ops[k] for k in best_path], best_states), configs=configs)


def _failure(model: Model, op: Call, linearized: list[Call], states: list[Any]) -> Failure:
    described: list[str] = []
    reasons: list[str] = []
    for s in states:
        d = model.describe(s)
        if d in described:
            continue
        described.append(d)
        r = model.step(s, op)
        if r.__class__ is Inconsistent:
            reasons.append(r.why)
    taken = [c for c in linearized if c.ret is not None]
    last = ", ".join(str(c.index) for c in linearized[-3:])
    plural = "s" if len(linearized) > 1 else ""
    where = (f"After the longest order found ({len(taken)} completed ops, ending with op{plural} {last})"
             if linearized else "At the start")
    state_text = _or_list(described)
    why = (_and_more(list(dict.fromkeys(reasons)), "; ") if len(reasons) == len(described)
           else "every order that takes it leads to a dead end further on")
    text = (f"{where}, the {model.name} can only be {state_text}. Op {op.index} (process {op.process}, "
            f"{op.f} {show(op.value) if op.value is not None else ''}".rstrip()
            + f") completed, so it must have taken effect by then, but it cannot: {why}.")
    return Failure(op, tuple(linearized), tuple(described), tuple(dict.fromkeys(reasons)), text)


def _or_list(items: list[str], shown: int = 4) -> str:
    if len(items) == 1:
        return items[0]
    if len(items) > shown:
        return ", ".join(items[:shown]) + f" or {len(items) - shown} other states"
    return ", ".join(items[:-1]) + " or " + items[-1]


def _and_more(items: list[str], sep: str, shown: int = 3) -> str:
    return sep.join(items[:shown]) + (f"{sep}and {len(items) - shown} more" if len(items) > shown else "")


# ---------------------------------------------------------------- from a history to calls


def calls_by_key(history: History, keyed: bool) -> dict[Hashable, list[Call]]:
    """Client ops as :class:`Call`s, split by key when ``keyed`` (``key`` field or ``[key value]``).

    Raises ValueError naming the op when a keyed op has no key.
    """
    position = {id(op): i for i, op in enumerate(history.ops)}
    parts: dict[Hashable, list[Call]] = {}
    for pair in history.pairs():
        complete = pair.complete
        kind = "info" if complete is None else complete.type
        if kind == "fail":
            continue
        invoke = pair.invoke
        value = complete.value if kind == "ok" else invoke.value  # type: ignore[union-attr]
        key: Hashable = None
        if keyed:
            if "key" in invoke.extra:
                key = _hashable(invoke.extra["key"])
            elif isinstance(invoke.value, list) and len(invoke.value) == 2:
                key = _hashable(invoke.value[0])
                value = value[1] if isinstance(value, list) and len(value) == 2 else None
            else:
                raise ValueError(f"op {invoke.index}: no key (expected a key field or a [key value] value)")
        parts.setdefault(key, []).append(
            Call(pair.f, value, kind, invoke.index, invoke.process, position[id(invoke)],
                 position[id(complete)] if kind == "ok" else None))  # type: ignore[arg-type]
    return parts


def _hashable(x: Any) -> Hashable:
    if isinstance(x, list):
        return tuple(_hashable(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in x.items()))
    return x


# ---------------------------------------------------------------- the checker


def check_linearizable(history: History, options: CheckOptions, model_name: str, *,
                       max_configs: int = MAX_CONFIGS) -> Result:
    """Check ``history`` against the model called ``model_name`` (see ``checkers.models.MODELS``)."""
    try:
        model = model_for(model_name, options)
    except ValueError as e:
        return unknown(f"bad option: {e}")
    keyed = model.keyed or options.independent
    try:
        parts = calls_by_key(history, keyed)
    except ValueError as e:
        return unknown(f"bad history: {e}")
    deadline = None if options.time_limit_s is None else time.monotonic() + options.time_limit_s
    outcomes: dict[Hashable, Outcome] = {}
    for key, calls in parts.items():
        outcomes[key] = outcome = search(calls, model, deadline=deadline, max_configs=max_configs)
        if outcome.valid is False:
            break
    result = _result(model, outcomes, keyed)
    if options.html is not None:
        from checkers._lin_html import write_html

        write_html(options.html, history, model, outcomes, parts)
    return result


def _result(model: Model, outcomes: dict[Hashable, Outcome], keyed: bool) -> Result:
    # every op is one object's (one key's), so a linearizable history is a strict-serializable one
    details: dict[str, Any] = {"model": model.name, "analyzer": "wgl", "consistency-models": ["strict-serializable"],
                               "configs": sum(o.configs for o in outcomes.values())}
    if keyed:
        details["keys"] = len(outcomes)
    for key, o in outcomes.items():
        if o.valid is False and o.failure is not None:
            f = o.failure
            if keyed:
                details["key"] = key
            details.update({
                "op": _op_json(f.op),
                "linearized": [c.index for c in f.linearized],
                "states": list(f.states),
                "reasons": list(f.reasons),
                "explanation": f.explanation,
            })
            return Result(False, details)
    causes = sorted({o.cause for o in outcomes.values() if o.valid == "unknown" and o.cause})
    if causes:
        if keyed:
            details["unknown-keys"] = [k for k, o in outcomes.items() if o.valid == "unknown"]
        return Result("unknown", details, ", ".join(causes))
    return Result(True, details)


def _op_json(c: Call) -> dict[str, Any]:
    return {"index": c.index, "process": c.process, "type": c.type, "f": c.f, "value": c.value}


def _register(name: str, *aliases: str) -> None:
    summary = (MODELS[name].__doc__ or "").strip().splitlines()[0]

    @register_checker(name, *aliases, summary=f"linearizable {name}: {summary}")
    def check(history: History, options: CheckOptions) -> Result:
        return check_linearizable(history, options, name)


for _name in MODELS:
    _register(_name, *(("linearizable",) if _name == "cas-register" else ()))
