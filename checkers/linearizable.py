"""Linearizability: can the ops of a history be put in one order, consistent with real time, that a
sequential model accepts?

The search is Wing and Gong's with Lowe's memoisation, as Porcupine does it: take, among the ops
that may go next (invoked before the earliest pending return), the first in invocation order that
the model accepts, and go on; back up when stuck. A configuration (the set of ops taken and the
model state) seen before is not explored twice. A read the state allows is taken at once, without
trying the others: an order that takes it later works with it taken now. Crashed (``info``) ops
may or may not have taken effect: they stay pending to the end and the search may take them or
leave them out, so a configuration that took *more* of them than one already explored, with the
same ``ok`` ops and state, can do nothing new and is cut too. ``fail`` ops never happened and are
dropped, as are crashed ops that cannot change the state (a crashed read).

Before the search, a completed op that no reachable state allows ends it at once: the states any
subset of the ops could lead to in any order are few for a register (its initial value and the
values written), and a read of a value none of them is (nobody wrote it) cannot be placed anywhere,
however many crashed ops the history has. Where those states are too many to list, the search decides.

Example: a register starting at 0; process 1 reads 2 while process 0's write of 2 is still
running, then process 2 reads 0 after the write returned::

    0 invoke write 2 | 1 invoke read | 1 ok read 2 | 0 ok write 2 | 2 invoke read | 2 ok read 0

``write 2, read 2`` works, but ``read 0`` comes after the write in real time and nothing wrote 0
since: not linearizable. The result names the op that cannot go (``read 0``), the longest order
found (``write 2, read 2``), the states possible there (``2``) and says it in one paragraph.

Keyed models (``kv``), and any model with ``--independent``, are checked key by key
(P-compositionality): a history is linearizable when each key's sub-history is. The keys' searches
take turns, so a key that is quickly found not linearizable ends the check even while another key
is still searching.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Generator, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter, lt
from typing import Any

from checkers.history import History
from checkers.models import MODELS, Call, Choice, Inconsistent, Model, freeze, model_for, show
from checkers.registry import CheckOptions, OptionError, register_checker
from checkers.result import Result, unknown

__all__ = ["MAX_CONFIGS", "Failure", "Outcome", "calls_by_key", "check_linearizable", "decide", "model_or_refuse",
           "search"]

MAX_REACHABLE = 256  # the most states the pre-check lists before leaving the question to the search
_REACH_STEPS = 20_000  # and the most steps it takes to list them

MAX_CONFIGS = 4_000_000
"""The most configurations the memos may hold together (a few hundred MB) before the answer is ``unknown``."""

_invoked = attrgetter("call")  # a Call's position in the history: sorts calls in invocation order
_SLICE = 4096  # candidates tried by one search before the next search's turn (and a look at the clock)


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


def search(calls: Sequence[Call], model: Model, *, deadline: float | None = None,
           max_configs: int = MAX_CONFIGS) -> Outcome:
    """Wing-Gong-Lowe search over ``calls`` (one key's ops). ``deadline`` is a ``time.monotonic()``."""
    return decide({None: calls}, model, deadline=deadline, max_configs=max_configs)[None]


def decide(parts: Mapping[Hashable, Sequence[Call]], model: Model, *, deadline: float | None = None,
           max_configs: int = MAX_CONFIGS) -> dict[Hashable, Outcome]:
    """Search every key's calls, taking turns, until one key is not linearizable or all are decided.

    Keys left undecided when another key fails are not in the answer. Past ``deadline`` the keys
    still searching are "unknown" (timeout); when the memos together pass ``max_configs``, the
    largest search stops as "unknown" (memory) and the others go on.
    """
    running = {key: _explore(calls, model) for key, calls in parts.items()}
    held: dict[Hashable, int] = {}
    done: dict[Hashable, Outcome] = {}
    while running:
        for key, steps in list(running.items()):
            try:
                held[key] = next(steps)
            except StopIteration as stop:
                del running[key]
                held.pop(key, None)
                done[key] = stop.value
                if stop.value.valid is False:
                    running.clear()
                    break
                continue
            if deadline is not None and time.monotonic() > deadline:
                done.update((k, Outcome("unknown", cause="timeout", configs=held.get(k, 0))) for k in running)
                running.clear()
                break
            while sum(held.values()) > max_configs:
                largest = max(held, key=held.__getitem__)
                del running[largest]
                done[largest] = Outcome("unknown", cause="memory", configs=held.pop(largest))
    return {key: done[key] for key in parts if key in done}


def _explore(calls: Sequence[Call], model: Model) -> Generator[int, None, Outcome]:
    """The search for one key's calls; yields the memo's size now and then, returns the outcome.

    A configuration is (ok ops taken, crashed ops taken, state). Ok ops are numbered by invocation;
    those taken are ``cp`` (all below it are taken, it is not) and ``rel`` (bit k: op cp+k is
    taken), so the key stays small however long the history. Candidates are the ops invoked before
    the earliest return still pending, tried in invocation order (crashed ones among them, as
    Porcupine does); of identical crashed ops only the first not taken is a candidate. A pure op
    (a read) that the state allows is taken alone: any order that takes it later can take it now.
    """
    pure = model.pure
    ops = sorted((c for c in calls if c.ret is not None or not pure(c)), key=_invoked)  # in invocation order
    ok_u = [u for u, c in enumerate(ops) if c.ret is not None]
    info_u = [u for u, c in enumerate(ops) if c.ret is None]
    ok = [ops[u] for u in ok_u]
    info = [ops[u] for u in info_u]
    m = len(ok)
    if not m:
        return Outcome(True)
    ok_call = [c.call for c in ok]
    ok_ret = [c.ret for c in ok]
    if any(map(lt, ok_ret, ok_call)):
        c = next(c for c in ok if c.ret < c.call)  # type: ignore[operator]
        raise ValueError(f"op {c.index}: returns at position {c.ret}, before its invocation at {c.call}")
    impossible = _never_allowed(ok, info, model)
    if impossible is not None:
        return Outcome(False, impossible)
    slot = [0] * len(ops)  # ok i >= 0, crashed ~j
    for i, u in enumerate(ok_u):
        slot[u] = i
    for j, u in enumerate(info_u):
        slot[u] = ~j
    all_call = [c.call for c in ops]
    ok_pure = [pure(c) for c in ok]
    ret_order = sorted(range(m), key=ok_ret.__getitem__)
    # by rp: the ok ops, and all ops, invoked by that return (at its position too: concurrent with it)
    ok_lim = [bisect_right(ok_call, ok_ret[r]) for r in ret_order]
    u_lim = [bisect_right(all_call, ok_ret[r]) for r in ret_order]
    next_same = [-1] * len(info)  # the next identical crashed op, as u
    first_same: dict[tuple[Any, str], int] = {}
    for j in reversed(range(len(info))):
        sig = (info[j].f, repr(info[j].value))
        next_same[j] = first_same.get(sig, -1)
        first_same[sig] = info_u[j]
    step = model.step
    keyf = model.key

    def candidates(cp: int, rel: int, rp: int, heads: tuple[int, ...], state: Any) -> tuple[int, list[Any] | None]:
        while rp < m:
            d = ret_order[rp] - cp
            if d >= 0 and not (rel >> d) & 1:
                break
            rp += 1
        if rp == m:
            return rp, None
        cands: list[Any] = []
        free = ~rel & ((1 << (ok_lim[rp] - cp)) - 1)
        while free:
            low = free & -free
            free ^= low
            i = cp + low.bit_length() - 1
            if ok_pure[i]:
                nxt = step(state, ok[i])
                if nxt.__class__ is Inconsistent:
                    continue
                if nxt.__class__ is not Choice:
                    return rp, [(ok_u[i], nxt)]
            cands.append(ok_u[i])
        if heads and heads[0] < u_lim[rp]:
            cands.extend(heads[:bisect_left(heads, u_lim[rp])])
            cands.sort()
        return rp, cands

    cache: dict[tuple[int, int, Hashable], Any] = {}  # (cp, rel, state) -> crashed ops taken: int or list
    configs = tries = 0
    state = model.init()
    cp = rel = taken = depth = 0
    heads = tuple(sorted(first_same.values()))
    path: tuple[int, Any] | None = None
    rp, cands = candidates(cp, rel, 0, heads, state)
    assert cands is not None
    best, best_path, best_op, best_states = 0, path, ret_order[rp], [state]
    stack: list[tuple[Any, ...]] = []
    ci = 0
    while True:
        if ci < len(cands):  # type: ignore[arg-type]
            x = cands[ci]  # type: ignore[index]
            ci += 1
            tries += 1
            if not tries % _SLICE:
                yield len(cache)
            if x.__class__ is tuple:
                u, nxt = x
            else:
                u = x
                nxt = step(state, ops[u])
                if nxt.__class__ is Inconsistent:
                    continue
                if nxt.__class__ is Choice:
                    alternatives = list(nxt)
                    nxt = alternatives[0]
                    cands[ci:ci] = [(u, s) for s in alternatives[1:]]  # type: ignore[index]
            s = slot[u]
            if s >= 0:
                if s == cp:
                    r = rel | 1
                    t = (r ^ (r + 1)).bit_length() - 1
                    ncp, nrel = cp + t, r >> t
                else:
                    ncp, nrel = cp, rel | (1 << (s - cp))
                ntaken, nheads, ndepth = taken, heads, depth + 1
            else:
                ncp, nrel, ntaken, ndepth = cp, rel, taken | (1 << ~s), depth
                after = list(heads)
                after.remove(u)
                if next_same[~s] >= 0:
                    insort(after, next_same[~s])
                nheads = tuple(after)
            key = (ncp, nrel, nxt if keyf is None else keyf(nxt))
            seen = cache.get(key)
            if seen is None:
                cache[key] = ntaken
            elif seen.__class__ is int:
                if seen & ntaken == seen:
                    continue
                cache[key] = [seen, ntaken]
            else:
                for t in seen:
                    if t & ntaken == t:
                        break
                else:
                    t = -1
                if t >= 0:
                    continue
                seen[:] = [t for t in seen if t & ntaken != ntaken]  # keep only the least sets
                seen.append(ntaken)
            configs += 1
            stack.append((cp, rel, rp, taken, heads, state, depth, path, cands, ci))
            cp, rel, taken, heads, state, depth, path = ncp, nrel, ntaken, nheads, nxt, ndepth, (u, path)
            rp, cands = candidates(cp, rel, rp, heads, state)
            ci = 0
            if cands is None:
                return Outcome(True, configs=configs, linearization=tuple(ops[k] for k in _unwind(path)))
            if depth > best:
                best, best_path, best_op, best_states = depth, path, ret_order[rp], [state]
            elif depth == best and ret_order[rp] == best_op and len(best_states) < 64:
                best_states.append(state)
        else:
            if not stack:
                break
            cp, rel, rp, taken, heads, state, depth, path, cands, ci = stack.pop()
    failure = _failure(model, ok[best_op], [ops[k] for k in _unwind(best_path)], best_states)
    return Outcome(False, failure, configs=configs)


def _never_allowed(ok: list[Call], info: list[Call], model: Model) -> Failure | None:
    """The first completed op that no state reachable by any subset of the ops, in any order, allows;
    None when each is allowed by one of them, or when they are too many to list."""
    step, pure, keyf = model.step, model.pure, model.key or (lambda s: s)
    changes: dict[tuple[Any, Any, str], Call] = {}  # the state-changing ops, one of each kind
    for c in (*ok, *info):
        if not pure(c):
            changes.setdefault((c.f, c.value, c.type), c)
    init = model.init()
    states, todo, steps = {keyf(init): init}, [init], 0
    while todo:
        state = todo.pop()
        for c in changes.values():
            steps += 1
            if steps > _REACH_STEPS:
                return None
            nxt = step(state, c)
            if nxt.__class__ is Inconsistent:
                continue
            for s in nxt if nxt.__class__ is Choice else (nxt,):
                k = keyf(s)
                if k not in states:
                    if len(states) == MAX_REACHABLE:
                        return None
                    states[k] = s
                    todo.append(s)
    tried: set[tuple[Any, Any]] = set()
    for c in ok:
        if (c.f, c.value) in tried:
            continue
        tried.add((c.f, c.value))
        results = [step(s, c) for s in states.values()]
        steps += len(results)
        if all(r.__class__ is Inconsistent for r in results):
            return _impossible(model, c, list(states.values()), [r.why for r in results])
        if steps > 4 * _REACH_STEPS:
            return None
    return None


def _impossible(model: Model, op: Call, states: list[Any], reasons: list[str]) -> Failure:
    described = list(dict.fromkeys(model.describe(s) for s in states))
    which = "it does not allow" if len(described) == 1 else "none of them allows"
    text = (f"Op {op.index} (process {op.process}, {_shown(op)}) completed, but no order of the history's ops allows "
            f"it: whatever they do, in any order, the {model.name} can only be {_or_list(described)}, and "
            f"{which} it ({reasons[0]}).")
    return Failure(op, (), tuple(described), tuple(dict.fromkeys(reasons)), text)


def _unwind(path: tuple[int, Any] | None) -> list[int]:
    """A path kept as nested pairs (last, rest) as a list, first op first."""
    out: list[int] = []
    while path is not None:
        out.append(path[0])
        path = path[1]
    return out[::-1]


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
            f"{_shown(op)}) completed, so it must have taken effect by then, but it cannot: {why}.")
    return Failure(op, tuple(linearized), tuple(described), tuple(dict.fromkeys(reasons)), text)


def _shown(op: Call) -> str:
    """An op as explanations name it: ``read 7``, ``write 1``, or ``read`` when its value is nil."""
    return f"{op.f} {show(op.value)}" if op.value is not None else f"{op.f}"


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

    Raises ValueError naming the op when a keyed op has no key, or returned no [key value] tuple.
    """
    pairs = history.pairs()
    parts: dict[Hashable, list[Call]] = {}
    for (invoke, complete), invoked, completed in zip(pairs, *history.pair_positions(pairs), strict=True):
        kind = "info" if complete is None else complete.type
        if kind == "fail":
            continue
        value = complete.value if kind == "ok" else invoke.value  # type: ignore[union-attr]
        key: Hashable = None
        if keyed:
            if "key" in invoke.extra:
                key = freeze(invoke.extra["key"])
            elif isinstance(invoke.value, list) and len(invoke.value) == 2:
                key = freeze(invoke.value[0])
                if not (isinstance(value, list) and len(value) == 2):  # read as nil, it said nothing: true
                    raise ValueError(f"op {complete.index}: returned {show(value)}, not [key value]")  # type: ignore[union-attr]
                value = value[1]
            else:
                raise ValueError(f"op {invoke.index}: no key (expected a key field or a [key value] value)")
        if value.__class__ is list or value.__class__ is dict:  # a vector or map: hashable, as states must be
            value = freeze(value)
        calls = parts.get(key)
        if calls is None:
            parts[key] = calls = []
        calls.append(Call(invoke.f, value, kind, invoke.index, invoke.process, invoked,
                          completed if kind == "ok" else None))
    return parts


# ---------------------------------------------------------------- the checker


def check_linearizable(history: History, options: CheckOptions, model_name: str, *,
                       max_configs: int = MAX_CONFIGS) -> Result:
    """Check ``history`` against the model called ``model_name`` (see ``checkers.models.MODELS``);
    OptionError when ``options`` do not suit the model."""
    model = model_or_refuse(model_name, options)
    keyed = model.keyed or options.independent
    try:
        parts = calls_by_key(history, keyed)
    except ValueError as e:
        return unknown(f"bad history: {e}")
    deadline = None if options.time_limit_s is None else time.monotonic() + options.time_limit_s
    outcomes = decide(parts, model, deadline=deadline, max_configs=max_configs)
    result = _result(model, outcomes, keyed)
    if options.html is not None:
        from checkers._lin_html import write_html

        write_html(options.html, history, model, outcomes, parts)
    return result


def model_or_refuse(name: str, options: CheckOptions) -> Model:
    """The model called ``name`` built with ``options``; OptionError when they do not suit it."""
    try:
        return model_for(name, options)
    except ValueError as e:
        raise OptionError(str(e)) from None


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
    model = MODELS[name](CheckOptions())

    @register_checker(name, *aliases, summary=f"linearizable {name}: {summary}", functions=model.functions,
                      independent=not model.keyed, options_check=partial(model_or_refuse, name))
    def check(history: History, options: CheckOptions) -> Result:
        return check_linearizable(history, options, name)


for _name in MODELS:
    _register(_name, *(("linearizable",) if _name == "cas-register" else ()))
