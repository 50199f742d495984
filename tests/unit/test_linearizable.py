"""The linearizability checker on small hand-written histories: verdicts, info/fail semantics,
keys, limits, explanations and the HTML view."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkers import CheckOptions, get_checker
from checkers.linearizable import MAX_REACHABLE, check_linearizable, search
from checkers.models import Call, Choice, Inconsistent, Model, model_for
from tests.helpers import fail, history, info, invoke, ok

INIT0 = CheckOptions(initial_value=0)


def check(h, model="cas-register", options=INIT0, **kw):
    return check_linearizable(h, options, model, **kw)


def test_stale_read_after_write_is_explained():
    h = history(invoke(0, "write", 2), invoke(1, "read"), ok(1, "read", 2), ok(0, "write", 2),
                invoke(2, "read"), ok(2, "read", 0))
    r = check(h)
    assert r.valid is False
    assert r.details["op"] == {"index": 4, "process": 2, "type": "ok", "f": "read", "value": 0}
    assert r.details["linearized"] == [0, 1]
    assert r.details["states"] == ["2"]
    assert r.details["reasons"] == ["can't read 0 when the value is 2"]
    assert "Op 4 (process 2, read 0)" in r.details["explanation"]


def test_a_register_may_hold_a_vector_or_a_map():
    """Values that are vectors or maps (a write of [1 2]) are states like any other, not a crash."""
    h = history(invoke(0, "write", [1, 2]), ok(0, "write", [1, 2]), invoke(1, "read"), ok(1, "read", [1, 2]),
                invoke(0, "cas", [[1, 2], {"a": 1}]), ok(0, "cas", [[1, 2], {"a": 1}]), invoke(1, "read"),
                ok(1, "read", {"a": 1}))
    assert check(h).valid is True
    h = history(invoke(0, "write", [1, 2]), ok(0, "write", [1, 2]), invoke(1, "read"), ok(1, "read", [2, 1]))
    assert check(h).valid is False


def test_concurrent_read_may_see_either_value():
    h = history(invoke(0, "write", 1), invoke(1, "read"), ok(1, "read", 0), ok(0, "write", 1),
                invoke(1, "read"), ok(1, "read", 1))
    assert check(h).valid is True


def test_crashed_write_may_take_effect_late_or_never():
    late = history(invoke(0, "write", 5), info(0, "write", "timed-out"), invoke(1, "read"), ok(1, "read", 0),
                   invoke(1, "read"), ok(1, "read", 5), invoke(1, "read"), ok(1, "read", 5))
    assert check(late).valid is True
    never = history(invoke(0, "write", 5), info(0, "write", "timed-out"), invoke(1, "read"), ok(1, "read", 0))
    assert check(never).valid is True
    # it takes effect at most once: 5, then 6, then 5 again is impossible
    twice = history(invoke(0, "write", 5), info(0, "write", "timed-out"), invoke(1, "read"), ok(1, "read", 5),
                    invoke(1, "write", 6), ok(1, "write", 6), invoke(1, "read"), ok(1, "read", 5))
    assert check(twice).valid is False


def test_crashed_op_cannot_act_before_its_invocation():
    h = history(invoke(1, "read"), ok(1, "read", 7), invoke(0, "write", 7), info(0, "write", "timed-out"))
    assert check(h).valid is False


def test_identical_crashed_ops_invoked_at_one_position_may_all_take_effect():
    """search() on hand-built calls whose invocations tie: the crashed ops were listed in one order and
    numbered in the other, so the second acquire could never be taken (False; found by review)."""
    mutex = model_for("mutex", CheckOptions())
    calls = [Call("release", None, "ok", 2, 2, 2, 7), Call("release", None, "ok", 3, 3, 4, 9),
             Call("acquire", None, "info", 4, 4, 4, None), Call("acquire", None, "info", 5, 5, 4, None)]
    assert search(calls, mutex).valid is True


def test_failed_ops_never_happened():
    h = history(invoke(0, "cas", [0, 3]), fail(0, "cas", [0, 3]), invoke(1, "read"), ok(1, "read", 0))
    assert check(h).valid is True
    h = history(invoke(0, "write", 3), fail(0, "write", 3), invoke(1, "read"), ok(1, "read", 3))
    assert check(h).valid is False


def test_cas_explains_itself():
    h = history(invoke(0, "cas", [3, 4]), ok(0, "cas", [3, 4]))
    r = check(h)
    assert r.valid is False and r.details["reasons"] == ["can't CAS 3 -> 4 when the value is 0"]


def test_nil_read_is_unknown_unless_nil_is_empty():
    h = history(invoke(0, "write", 1), ok(0, "write", 1), invoke(1, "read"), ok(1, "read", None))
    assert check(h, options=CheckOptions()).valid is True
    assert check(h, options=CheckOptions(nil_is_empty=True)).valid is False
    empty = history(invoke(1, "read"), ok(1, "read", None))
    assert check(empty, options=CheckOptions(nil_is_empty=True)).valid is True


def test_kv_nil_get_is_unknown_unless_nil_is_empty():
    """kv took a nil get as "unknown" whatever the option said: a key put and then read as missing
    passed with --nil-is-empty."""
    h = history(invoke(0, "put", "x", key="k"), ok(0, "put", "x", key="k"), invoke(1, "get", key="k"),
                ok(1, "get", None, key="k"))
    assert check(h, "kv", CheckOptions()).valid is True
    assert check(h, "kv", CheckOptions(nil_is_empty=True)).valid is False
    never_put = history(invoke(1, "get", key="k"), ok(1, "get", None, key="k"))
    assert check(never_put, "kv", CheckOptions(nil_is_empty=True)).valid is True


def test_mutex():
    h = history(invoke(0, "acquire"), ok(0, "acquire"), invoke(1, "acquire"), ok(1, "acquire"))
    assert check(h, "mutex", CheckOptions()).valid is False
    h = history(invoke(0, "acquire"), ok(0, "acquire"), invoke(1, "acquire"), invoke(0, "release"),
                ok(0, "release"), ok(1, "acquire"))
    assert check(h, "mutex", CheckOptions()).valid is True


def test_independent_keys_are_checked_apart():
    h = history(invoke(0, "write", ["a", 1]), ok(0, "write", ["a", 1]), invoke(1, "write", ["b", 2]),
                ok(1, "write", ["b", 2]), invoke(2, "read", ["a", None]), ok(2, "read", ["a", 1]),
                invoke(3, "read", ["b", None]), ok(3, "read", ["b", 1]))
    r = check(h, options=CheckOptions(independent=True))
    assert r.valid is False and r.details["key"] == "b" and r.details["op"]["index"] == 6
    assert check(h, options=CheckOptions(independent=True)).details["keys"] == 2


def test_independent_completion_that_is_no_tuple_is_a_bad_history():
    """Read as nil, a read of 7 for key a said nothing: true."""
    h = history(invoke(0, "write", ["a", 1]), ok(0, "write", ["a", 1]), invoke(0, "read", ["a", None]),
                ok(0, "read", 7))
    r = check(h, options=CheckOptions(independent=True))
    assert r.valid == "unknown" and r.cause == "bad history: op 3: returned 7, not [key value]"


def test_kv_keys_from_key_field_and_append():
    h = history(invoke(0, "append", "x", key="k"), ok(0, "append", "x", key="k"),
                invoke(1, "append", "y", key="k"), ok(1, "append", "y", key="k"),
                invoke(2, "get", key="k"), ok(2, "get", "xy", key="k"),
                invoke(3, "get", key="j"), ok(3, "get", "", key="j"))
    assert check(h, "kv", CheckOptions()).valid is True
    bad = history(invoke(0, "put", "x", key="k"), ok(0, "put", "x", key="k"),
                  invoke(2, "get", key="k"), ok(2, "get", "", key="k"))
    assert check(bad, "kv", CheckOptions()).valid is False
    nokey = history(invoke(0, "put", "x"), ok(0, "put", "x"))
    r = check(nokey, "kv", CheckOptions())
    assert r.valid == "unknown" and "no key" in r.cause


def test_queues():
    fifo = history(invoke(0, "enqueue", 1), ok(0, "enqueue", 1), invoke(0, "enqueue", 2), ok(0, "enqueue", 2),
                   invoke(1, "dequeue"), ok(1, "dequeue", 2))
    assert check(fifo, "fifo-queue", CheckOptions()).valid is False
    assert check(fifo, "unordered-queue", CheckOptions()).valid is True
    # a crashed dequeue may have taken an element
    lost = history(invoke(0, "enqueue", 1), ok(0, "enqueue", 1), invoke(1, "dequeue"), info(1, "dequeue"),
                   invoke(2, "dequeue"), ok(2, "dequeue", None))
    assert check(lost, "fifo-queue", CheckOptions()).valid is True
    assert check(lost, "unordered-queue", CheckOptions()).valid is True


def _hard_history(writers: int = 18):
    """Many concurrent writes, then two reads of two values they wrote, with no write between the reads:
    each value is possible, but not both; the search must try every order of the writes to know."""
    ops = [invoke(p, "write", p) for p in range(writers)]
    ops += [ok(p, "write", p) for p in range(writers)]
    ops += [invoke(99, "read"), ok(99, "read", 1), invoke(99, "read"), ok(99, "read", 2)]
    return history(*ops)


def test_tiny_time_limit_gives_unknown_timeout():
    r = check(_hard_history(), options=CheckOptions(initial_value=0, time_limit_s=0.001))
    assert r.valid == "unknown" and r.cause == "timeout"


def test_time_limit_stops_every_key_still_searching():
    hard = [invoke(p, "append", f"x{p}", key=k) for k in "ab" for p in range(16)]
    hard += [invoke(90 + i, "get", key=k) for i, k in enumerate("ab")]
    hard += [ok(90 + i, "get", "nope", key=k) for i, k in enumerate("ab")]
    r = check(history(*hard), "kv", CheckOptions(time_limit_s=0.001))
    assert r.valid == "unknown" and r.cause == "timeout" and r.details["unknown-keys"] == ["a", "b"]


def test_memory_cap_gives_unknown_memory():
    r = check(_hard_history(), max_configs=1000)
    assert r.valid == "unknown" and r.cause == "memory"


def test_registered_under_knossos_names():
    for name in ("cas-register", "register", "mutex", "multi-register", "kv", "fifo-queue", "unordered-queue",
                 "linearizable", "linearizable-set"):
        assert get_checker(name)


def test_html_view_is_self_contained(tmp_path: Path):
    h = history(invoke("nemesis", "start"), info("nemesis", "start", "partition"),
                invoke(0, "write", 2), invoke(1, "read"), ok(1, "read", 2), ok(0, "write", 2),
                invoke("nemesis", "stop"), info("nemesis", "stop"),
                invoke(2, "read"), ok(2, "read", 0))
    out = tmp_path / "lin.html"
    r = check(h, options=CheckOptions(initial_value=0, html=out))
    page = out.read_text()
    assert r.valid is False
    assert "NOT linearizable" in page and 'class="fail"' in page and 'class="fault"' in page
    assert "state after: 2" in page and "process 2" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "<script" not in page


def test_a_read_of_a_value_nobody_wrote_is_decided_before_any_search():
    """A register with 24 crashed writes (2^24 subsets to try) and a read of a value none of them
    writes: false at once, without a configuration, and the explanation says why."""
    ops = [invoke(p, "write", p % 4) for p in range(24)] + [info(p, "write", p % 4) for p in range(24)]
    ops += [invoke(99, "read"), ok(99, "read", 7)]
    r = check(history(*ops), options=CheckOptions(initial_value=0, time_limit_s=5))
    assert r.valid is False and r.details["configs"] == 0 and r.details["op"]["value"] == 7
    assert r.details["explanation"] == (
        "Op 48 (process 99, read 7) completed, but no order of the history's ops allows it: whatever they do, in "
        "any order, the cas-register can only be 0, 1, 2 or 3, and none of them allows it (can't read 7 when the "
        "value is 0).")


def test_the_pre_check_follows_every_outcome_of_a_nondeterministic_step():
    """A coin flip may land 1 or 2: a later read of 2 is possible, found through the Choice."""

    def step(state, op):
        if op.f == "flip":
            return Choice((1, 2))
        return state if op.value == state else Inconsistent("can't read {} when it is {}", op.value, state)

    coin = Model(name="coin", init=lambda: 0, step=step, pure=lambda op: op.f == "read")
    calls = [Call("flip", None, "ok", 0, 0, 0, 1), Call("read", 2, "ok", 2, 1, 2, 3)]
    assert search(calls, coin).valid is True
    assert search([*calls, Call("read", 3, "ok", 4, 1, 4, 5)], coin).failure.states == ("0", "1", "2")


def test_too_many_reachable_states_leave_the_question_to_the_search():
    """Unique values written (more than MAX_REACHABLE): the pre-check lists no states, the search decides."""
    n = MAX_REACHABLE + 10
    ops = [e for v in range(n) for e in (invoke(0, "write", v), ok(0, "write", v))]
    ops += [invoke(1, "read"), ok(1, "read", n + 5)]
    r = check(history(*ops), options=CheckOptions(initial_value=0))
    assert r.valid is False and r.details["configs"] > 0


def test_search_refuses_a_call_that_returns_before_it_is_invoked():
    register = model_for("register", CheckOptions(initial_value=0))
    with pytest.raises(ValueError, match="op 7: returns at position 2, before its invocation at 5"):
        search([Call("write", 1, "ok", 7, 0, 5, 2)], register)
