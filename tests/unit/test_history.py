import json
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checkers.formats import HistoryFormatError, read_history
from checkers.history import History
from tests.helpers import fail, history, info, invoke, ok


def test_pairs_match_invocations_with_completions_per_process():
    h = history(invoke(0, "write", 1), invoke(1, "read"), ok(1, "read", 1), ok(0, "write", 1))
    pairs = h.pairs()
    assert [(p.invoke.index, p.complete.index) for p in pairs] == [(0, 3), (1, 2)]
    assert [p.type for p in pairs] == ["ok", "ok"]
    assert pairs[1].value == 1


def test_info_and_never_completed_invocations_count_as_info():
    h = history(invoke(0, "write", 1), info(0, "write", 1, error="timed-out"), invoke(1, "write", 2))
    pairs = h.pairs()
    assert [p.type for p in pairs] == ["info", "info"]
    assert pairs[1].complete is None
    assert pairs[0].value == 1  # an info's value is what was attempted


def test_fail_value_is_the_attempt():
    h = history(invoke(0, "cas", [1, 2]), fail(0, "cas", [1, 2]))
    assert h.pairs()[0].type == "fail"


def test_nemesis_ops_alternate_and_stay_apart_from_clients():
    h = history(info("nemesis", "start-partition"), invoke(0, "read"), info("nemesis", "start-partition", "n1"),
                ok(0, "read", 1), info("nemesis", "stop-partition"), info("nemesis", "stop-partition"))
    assert len(h.pairs()) == 1
    faults = h.pairs(client=False)
    assert [(p.f, p.invoke.index, p.complete.index) for p in faults] == [
        ("start-partition", 0, 2), ("stop-partition", 4, 5)]
    assert len(h.pairs(client=None)) == 3
    assert [op.index for op in h.nemesis_ops()] == [0, 2, 4, 5]


def test_problems_name_unpaired_duplicate_and_reuse_after_crash():
    h = history(ok(0, "read", 1), invoke(1, "w", 1), info(1, "w", 1), invoke(1, "w", 2),
                {**invoke(2, "r"), "index": 3}, ok(2, "r"))
    kinds = sorted(p.kind for p in h.problems())
    assert kinds == ["duplicate-index", "invoke-after-crash", "never-completed", "unpaired-completion"]


def test_frame_has_latencies():
    h = history(invoke(0, "read"), ok(0, "read", 1), invoke(1, "write", 2))
    frame = h.to_frame()
    assert list(frame["latency"].astype("float").fillna(-1)) == [1_000_000, -1]
    assert list(frame["type"]) == ["ok", "info"]


def test_stats_counts():
    h = history(invoke(0, "read"), ok(0, "read", 1), invoke(1, "write", 2), fail(1, "write", 2))
    s = h.stats()
    assert s["by-type"] == {"invoke": 2, "ok": 1, "fail": 1}
    assert s["by-f"] == {"read": {"ok": 1}, "write": {"fail": 1}}
    assert isinstance(h, History)


_PROCESSES = [0, 1, 2, True, 1.0, "nemesis", None, 2**70]
_OPS = st.lists(st.tuples(st.sampled_from(_PROCESSES), st.sampled_from(["invoke", "ok", "fail", "info"]),
                          st.one_of(st.integers(0, 5), st.just(2**70))), max_size=12)


@settings(max_examples=3000, deadline=None)
@given(_OPS)
@example([(0, "invoke", 0), (0, "invoke", 1), (0, "ok", 2)])  # double invocation
@example([(0, "ok", 0)])  # a completion without its invocation
@example([(0, "invoke", 0), (0, "info", 1), (0, "invoke", 2), (0, "ok", 3)])  # invoked after a crash
@example([(0, "invoke", 5), (0, "ok", 4)])  # time going backwards
@example([(0, "invoke", 2**70), (0, "ok", 5)])
@example([("nemesis", "info", 0), (0, "invoke", 1), (0, "ok", 2), ("nemesis", "info", 3), ("nemesis", "info", 4)])
@example([(0, "invoke", 0)])  # never completed
@example([(1, "invoke", 0), (True, "ok", 1), (1.0, "ok", 2)])  # one key, one client
def test_pairing_in_c_is_the_pairing_in_python_when_it_finds_no_problem(ops):
    """pair_ops (``_ops.c``) pairs exactly as _pair_naming_problems does, the same Op objects in the same
    Pairs, or leaves the history to it; it leaves only histories with a problem or an op without a process."""
    from checkers._ops import pair_ops

    from checkers.history import Op, Pair, _pair_naming_problems

    history = [Op(i, time, typ, process, "read") for i, (process, typ, time) in enumerate(ops)]
    quick = pair_ops(history, Op, Pair)
    pairs, problems = _pair_naming_problems(history)
    if quick is None:
        assert problems or any(op.process is None for op in history)
    else:
        assert not problems and len(quick) == len(pairs)
        for q, p in zip(quick, pairs, strict=True):
            assert type(q) is Pair and q.invoke is p.invoke and q.complete is p.complete


@settings(max_examples=1000, deadline=None)
@given(_OPS, st.sampled_from([True, False, None]))
def test_positions_are_where_each_pair_s_ops_are_in_the_history(ops, client):
    """positions (``_ops.c``) finds the op objects themselves, on both pairing paths, client and fault ops."""
    from checkers.history import Op

    h = History(tuple(Op(i, time, typ, process, "read") for i, (process, typ, time) in enumerate(ops)))
    pairs = h.pairs(client=client)
    invoked, completed = h.pair_positions(pairs)
    where = {id(op): at for at, op in enumerate(h.ops)}
    assert invoked == [where[id(p.invoke)] for p in pairs]
    assert completed == [None if p.complete is None else where[id(p.complete)] for p in pairs]


def test_ops_without_extra_fields_share_one_read_only_dict_that_copies_and_pickles(tmp_path):
    """Ops read without extra fields share one empty dict (an empty dict each took 64 bytes an op); it
    refuses changes, and ops holding it still deep-copy and pickle, as library users may."""
    import copy
    import pickle

    import pytest

    from checkers.formats import read_history
    from checkers.history import NO_EXTRA, Op

    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","f":"read","process":0}\n{"type":"ok","f":"read","process":0,"value":1}\n')
    history = read_history(path)
    assert all(op.extra is NO_EXTRA for op in history.ops) and Op(0, 0, "invoke", 0, "read").extra is NO_EXTRA
    assert copy.deepcopy(history.ops) == history.ops and pickle.loads(pickle.dumps(history.ops)) == history.ops
    for change in (lambda d: d.__setitem__("x", 1), lambda d: d.update(x=1), lambda d: d.setdefault("x", 1)):
        with pytest.raises(TypeError, match="read-only"):
            change(NO_EXTRA)
    assert NO_EXTRA == {}


def test_indices_that_go_backwards_are_refused(tmp_path: Path) -> None:
    """Ops numbered 10, 11, then 2, 3 in file order: set-full ordered its reads by index, so a read that
    missed an element after one that saw it counted as the earlier one (true, where it was lost)."""
    ops = [{"index": i, "time": t, "type": kind, "process": 1, "f": "read", "value": value}
           for i, t, kind, value in [(10, 1, "invoke", None), (11, 2, "ok", [1]), (2, 3, "invoke", None),
                                     (3, 4, "ok", [])]]
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(op) + "\n" for op in ops))
    with pytest.raises(HistoryFormatError, match=r"h.jsonl:3: index: index 2 comes after index 11"):
        read_history(path)
    assert [p.kind for p in read_history(path, lenient=True).problems()] == ["index-backwards"]


def test_a_completion_of_another_f_is_refused(tmp_path: Path) -> None:
    """Invoked as add 5, completed as read 5: counter took it for a read (true), set ignored a read
    completed as write."""
    ops = [{"index": 0, "time": 1, "type": "invoke", "process": 0, "f": "add", "value": 5},
           {"index": 1, "time": 2, "type": "ok", "process": 0, "f": "read", "value": 5}]
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(op) + "\n" for op in ops))
    with pytest.raises(HistoryFormatError, match=r"h.jsonl:2: f: completes 'read', but process 0 invoked 'add'"):
        read_history(path)
    assert [p.kind for p in read_history(path, lenient=True).problems()] == ["f-mismatch"]
