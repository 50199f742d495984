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
