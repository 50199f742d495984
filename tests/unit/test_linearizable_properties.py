"""Property tests: histories made by running each model sequentially, with random concurrency
windows around each op, are linearizable; with one observed value corrupted, the search agrees
with a brute-force checker that tries every order of every subset of crashed ops (<= 8 ops)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from checkers import CheckOptions
from checkers.linearizable import calls_by_key, check_linearizable, search
from checkers.models import Call, Choice, Inconsistent, Model, freeze, model_for
from tests.helpers import fail as failed
from tests.helpers import history, info, invoke, ok

V = st.integers(0, 3)

# model -> (options, op strategy (f, argument), observe(state, f, argument) -> returned value)
Observe = Callable[[Any, str, Any], Any]


def _register_observe(state: Any, f: str, arg: Any) -> Any:
    return state if f == "read" else arg


def _queue_head(state: Any, f: str, arg: Any) -> Any:
    return (state[0] if state else None) if f == "dequeue" else arg


def _bag_any(state: Any, f: str, arg: Any) -> Any:
    return (state[-1] if state else None) if f == "dequeue" else arg


def _multi_observe(state: Any, f: str, arg: Any) -> Any:
    values = dict(state)
    return [[k, key, values.get(key) if k == "read" else v] for k, key, v in arg]


SPECS: dict[str, tuple[CheckOptions, Any, Observe]] = {
    "register": (CheckOptions(initial_value=0), st.tuples(st.sampled_from(["read", "write"]), V), _register_observe),
    "cas-register": (CheckOptions(initial_value=0),
                     st.one_of(st.tuples(st.sampled_from(["read", "write"]), V),
                               st.tuples(st.just("cas"), st.lists(V, min_size=2, max_size=2))), _register_observe),
    "mutex": (CheckOptions(), st.tuples(st.sampled_from(["acquire", "release"]), st.none()), lambda s, f, a: None),
    "linearizable-set": (CheckOptions(), st.tuples(st.sampled_from(["add", "read"]), V),
                         lambda s, f, a: sorted(s) if f == "read" else a),
    "multi-register": (CheckOptions(initial_value={"x": 0, "y": 0}),
                       st.tuples(st.just("txn"), st.lists(st.tuples(st.sampled_from(["read", "write"]),
                                                                    st.sampled_from(["x", "y"]), V).map(list),
                                                          min_size=1, max_size=2)), _multi_observe),
    "kv": (CheckOptions(), st.tuples(st.sampled_from(["get", "put", "append"]), st.sampled_from(["a", "b"])),
           lambda s, f, a: s if f == "get" else a),
    "fifo-queue": (CheckOptions(), st.tuples(st.sampled_from(["enqueue", "dequeue"]), V), _queue_head),
    "unordered-queue": (CheckOptions(), st.tuples(st.sampled_from(["enqueue", "dequeue"]), V), _bag_any),
}

READS = {"read", "get", "dequeue", "txn"}


@st.composite
def executions(draw: Any, name: str) -> tuple[list[dict[str, Any]], CheckOptions]:
    """A sequential run of the model turned into a concurrent history around the same order."""
    options, op_strategy, observe = SPECS[name]
    model = model_for(name, options)
    states: dict[Any, Any] = {}
    n = draw(st.integers(1, 7))
    events: list[tuple[int, int, dict[str, Any]]] = []
    for i in range(n):
        f, arg = draw(op_strategy)
        key = None
        if name == "kv":
            key, arg = arg, (None if f == "get" else f"v{i}")
        state = states.get(key, model.init())
        value = observe(state, f, arg)
        call = Call(f, freeze(value), "ok", i, i, 0, 0)  # as calls_by_key builds them
        nxt = model.step(state, call)
        crashed = draw(st.integers(0, 4)) == 0
        extra = {"key": key} if key is not None else {}
        argument = None if f in READS and f != "txn" else arg
        if f == "txn":
            argument = [[k, key_, None if k == "read" else v] for k, key_, v in arg]
        point = 10 * i + 5
        start = point - 10 * draw(st.integers(0, 3)) - 2
        end = point + 10 * draw(st.integers(0, 3)) + 2
        events.append((start, 0, invoke(i, f, argument, **extra)))
        if isinstance(nxt, Inconsistent):  # the op could not happen: it failed
            events.append((end, 1, failed(i, f, argument, **extra)))
            continue
        if crashed and draw(st.booleans()):  # crashed before taking effect
            events.append((end, 1, info(i, f, "timed-out", **extra)))
            continue
        states[key] = nxt[0] if isinstance(nxt, Choice) else nxt
        if crashed:
            if draw(st.booleans()):
                events.append((end, 1, info(i, f, "timed-out", **extra)))
        else:
            events.append((end, 1, ok(i, f, value, **extra)))
    events.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in events], options


def brute_force(calls: list[Call], model: Model) -> bool:
    """Every subset of crashed ops, every order consistent with real time."""
    done = [c for c in calls if c.ret is not None]
    crashed = [c for c in calls if c.ret is None]
    for r in range(len(crashed) + 1):
        for chosen in itertools.combinations(crashed, r):
            ops = done + list(chosen)
            for order in itertools.permutations(ops):
                if not _respects_real_time(order):
                    continue
                if _runs(order, model, model.init()):
                    return True
    return False


def _respects_real_time(order: tuple[Call, ...]) -> bool:
    return all(not (b.ret is not None and b.ret < a.call) for i, a in enumerate(order) for b in order[i + 1:])


def _runs(order: tuple[Call, ...], model: Model, state: Any) -> bool:
    if not order:
        return True
    nxt = model.step(state, order[0])
    if isinstance(nxt, Inconsistent):
        return False
    alternatives = list(nxt) if isinstance(nxt, Choice) else [nxt]
    return any(_runs(order[1:], model, s) for s in alternatives)


def _corrupt(ops: list[dict[str, Any]], which: int, new: int) -> bool:
    reads = [op for op in ops if op["type"] == "ok" and op["f"] in READS]
    if not reads:
        return False
    op = reads[which % len(reads)]
    v = op["value"]
    if isinstance(v, list) and v and isinstance(v[0], list):  # txn: change the first micro-op's value
        op["value"] = [[v[0][0], v[0][1], new], *v[1:]]
    elif isinstance(v, list):
        op["value"] = [*v, new] if new not in v else [x for x in v if x != new]
    elif isinstance(v, str):
        op["value"] = v + "z"
    else:
        op["value"] = None if v == new and op["f"] == "dequeue" else new if v != new else new + 1
    return True


def _check_model(name: str) -> Any:
    @settings(max_examples=120, deadline=None)
    @given(executions(name), st.integers(0, 7), V)
    def run(example: tuple[list[dict[str, Any]], CheckOptions], which: int, new: int) -> None:
        ops, options = example
        model = model_for(name, options)
        assert check_linearizable(history(*ops), options, name).valid is True
        if not _corrupt(ops, which, new):
            return
        h = history(*ops)
        verdict = check_linearizable(h, options, name).valid
        expected = all(brute_force(calls, model) for calls in calls_by_key(h, model.keyed).values())
        assert verdict is expected

    return run


test_register = _check_model("register")
test_cas_register = _check_model("cas-register")
test_mutex = _check_model("mutex")
test_set = _check_model("linearizable-set")
test_multi_register = _check_model("multi-register")
test_kv = _check_model("kv")
test_fifo_queue = _check_model("fifo-queue")
test_unordered_queue = _check_model("unordered-queue")


# ---------------------------------------------------------------- any history, many crashed ops

ARBITRARY = {
    "cas-register": st.one_of(st.tuples(st.just("read"), st.none() | V), st.tuples(st.just("write"), V),
                              st.tuples(st.just("cas"), st.lists(V, min_size=2, max_size=2))),
    "kv": st.one_of(st.tuples(st.just("get"), st.sampled_from(["", "a", "b", "ab", "ba", "bb"])),
                    st.tuples(st.sampled_from(["put", "append"]), st.sampled_from(["a", "b"]))),
    "mutex": st.tuples(st.sampled_from(["acquire", "release"]), st.none()),
}


@st.composite
def arbitrary(draw: Any, name: str) -> list[dict[str, Any]]:
    """Up to 6 ops with random windows, arguments, results and outcomes: ok, fail, or crashed
    (``info``, or never completed)."""
    timeline: list[tuple[int, int, dict[str, Any]]] = []
    for p in range(draw(st.integers(1, 6))):
        f, value = draw(ARBITRARY[name])
        start = draw(st.integers(0, 12))
        end = start + draw(st.integers(1, 12))
        outcome = draw(st.sampled_from(["ok", "ok", "info", "info", "fail", "open"]))
        extra = {"key": "k"} if name == "kv" else {}
        timeline.append((start, 0, invoke(p, f, None if f in ("read", "get") else value, **extra)))
        if outcome != "open":
            done = {"ok": ok, "info": info, "fail": failed}[outcome]
            timeline.append((end, 1, done(p, f, value, **extra)))
    timeline.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in timeline]


def _legal(order: tuple[Call, ...] | list[Call], model: Model) -> bool:
    return _respects_real_time(tuple(order)) and _runs(tuple(order), model, model.init())


def _check_any(name: str) -> Any:
    @settings(max_examples=400, deadline=None)
    @given(arbitrary(name))
    def run(ops: list[dict[str, Any]]) -> None:
        options = CheckOptions(initial_value=0) if name == "cas-register" else CheckOptions()
        model = model_for(name, options)
        (calls,) = calls_by_key(history(*ops), model.keyed).values() or ([],)
        outcome = search(calls, model)
        assert outcome.valid is brute_force(calls, model)
        if outcome.valid:  # the order found is one: every ok op, real time kept, the model agrees
            assert {c.index for c in calls if c.ret is not None} <= {c.index for c in outcome.linearization}
            assert _legal(outcome.linearization, model)
        else:  # the longest order found is legal and leaves out the op named
            assert outcome.failure is not None and outcome.failure.op.ret is not None
            assert _legal(outcome.failure.linearized, model)
            assert outcome.failure.op not in outcome.failure.linearized

    return run


test_any_cas_register = _check_any("cas-register")
test_any_kv = _check_any("kv")
test_any_mutex = _check_any("mutex")


def test_an_illegal_key_ends_the_check_while_another_key_is_still_searching():
    # key "slow": 16 concurrent appends and a get of what none of their orders makes; key "bad": a
    # plain stale read. Searched one after the other, "slow" would eat the budget before "bad".
    slow = [invoke(p, "append", f"x{p}", key="slow") for p in range(16)]
    slow += [invoke(99, "get", key="slow"), ok(99, "get", "nope", key="slow")]
    slow += [ok(p, "append", f"x{p}", key="slow") for p in range(16)]
    bad = [invoke(50, "put", "v", key="bad"), ok(50, "put", "v", key="bad"),
           invoke(51, "get", key="bad"), ok(51, "get", "", key="bad")]
    r = check_linearizable(history(*slow, *bad), CheckOptions(), "kv", max_configs=200_000)
    assert r.valid is False and r.details["key"] == "bad" and r.details["configs"] < 50_000


def crashed_kv_history(n: int, seed: int) -> list[dict[str, Any]]:
    """One key, ``n`` gets, puts and appends by 10 clients, 1 % of them crashed; each op takes effect
    at a random point of its window (a crashed one maybe never, maybe after its ``info``)."""
    import random

    rng = random.Random(seed)
    calls, clock, procs = [], [0] * 10, list(range(10))
    for _ in range(n):
        c = min(range(10), key=clock.__getitem__)
        start = clock[c] + rng.randint(1, 20)
        clock[c] = end = start + rng.randint(1, 60)
        crashed = rng.random() < 0.01
        point = rng.uniform(start, end + (200 if crashed else 0))
        f = rng.choice(["get", "get", "put", "append"])
        calls.append([point, start, end, procs[c], f, f"x{rng.randrange(100)}", crashed,
                      not crashed or rng.random() < 0.5, None])
        procs[c] += 10 if crashed else 0
    value = ""
    for call in sorted(calls):
        if call[7]:
            value = value if call[4] == "get" else call[5] if call[4] == "put" else value + call[5]
            call[8] = value if call[4] == "get" else call[5]
    timeline = []
    for _, start, end, p, f, arg, crashed, _, out in calls:
        timeline.append((start, 0, invoke(p, f, None if f == "get" else arg, key="k")))
        timeline.append((end, 1, info(p, f, arg, key="k") if crashed else ok(p, f, out, key="k")))
    timeline.sort(key=lambda e: (e[0], e[1]))
    return [e[2] for e in timeline]


def test_crashed_ops_are_tried_where_they_were_invoked():
    # tried only after the completed ones, crashed ops made the search grow fast: 97,511
    # configurations for this history, 6,993 in invocation order
    r = check_linearizable(history(*crashed_kv_history(250, 2)), CheckOptions(), "kv")
    assert r.valid is True and r.details["configs"] < 20_000


@st.composite
def tied_calls(draw: Any, name: str) -> list[Call]:
    """Hand-built calls on a clock of four ticks, so invocations and returns often share a position
    (an op's own invocation and return too); crashed ops have no return."""
    calls = []
    for i in range(draw(st.integers(1, 6))):
        f, value = draw(ARBITRARY[name])
        call = draw(st.integers(0, 3))
        crashed = draw(st.integers(0, 3)) == 0
        calls.append(Call(f, freeze(value), "info" if crashed else "ok", i, i, call,
                          None if crashed else call + draw(st.integers(0, 2))))
    return calls


def _check_ties(name: str) -> Any:
    @settings(max_examples=400, deadline=None)
    @given(tied_calls(name))
    def run(calls: list[Call]) -> None:
        """Ops whose invocation and return share a position are concurrent, as in the brute force
        and in Porcupine (calls sort before returns at one time): ordered, the search said False."""
        model = model_for(name, CheckOptions(initial_value=0) if name == "cas-register" else CheckOptions())
        outcome = search(calls, model)
        assert outcome.valid is brute_force(calls, model)
        if outcome.valid:
            assert _legal(outcome.linearization, model)

    return run


test_ties_cas_register = _check_ties("cas-register")
test_ties_kv = _check_ties("kv")
test_ties_mutex = _check_ties("mutex")
