import re

import pytest

from checkers import CheckOptions, Result, read_history
from checkers.compose import compose
from checkers.counter import check_counter
from checkers.long_fork import check_long_fork
from checkers.sets import check_set, check_set_full
from checkers.stats import check_stats
from tests.helpers import fail, history, info, invoke, ok

JEPSEN = "elle-cli/histories/jepsen"


@pytest.mark.parametrize(("checker", "name", "options", "valid"), [
    (check_counter, "counter.edn", {}, True),
    (check_counter, "counter.json", {}, True),
    (check_set, "set.edn", {}, True),
    (check_set_full, "set_full.edn", {}, False),
    (check_set_full, "set_full.json", {}, False),
    (check_long_fork, "long-fork.edn", {"group_size": 3}, False),
])
def test_corpus_verdicts(corpus, checker, name, options, valid):
    assert checker(read_history(corpus / JEPSEN / name), CheckOptions(**options)).valid is valid


def add(p, v, end=ok):
    return [invoke(p, "add", v), end(p, "add", v)]


def read(p, v):
    return [invoke(p, "read"), ok(p, "read", v)]


def read_on(p, v, node):
    return [invoke(p, "read", node=node), ok(p, "read", v, node=node)]


def test_set_classes():
    h = history(*add(0, 1), *add(0, 2), *add(1, 3, end=info), *add(2, 4, end=fail), *read(0, [1, 3, 9]))
    r = check_set(h, CheckOptions())
    assert r.valid is False
    d = r.details
    assert (d["attempt-count"], d["acknowledged-count"], d["ok-count"]) == (4, 2, 2)
    assert (d["lost"], d["recovered"], d["unexpected"]) == ([2], [3], [9])
    assert check_set(history(*add(0, 1), *read(0, [1])), CheckOptions()).valid is True
    assert check_set(history(*add(0, 1)), CheckOptions()).valid == "unknown"


def test_set_checks_the_final_read_of_each_node():
    # split brain: n1 and n2 each acknowledged an add the other never saw; 3 was indeterminate
    adds = [*add(0, 1), *add(1, 2), *add(2, 3, end=info)]
    early = [invoke(3, "read", node="n2"), ok(3, "read", [], node="n2")]  # before the last add: not final
    h = history(*early, *adds, *read_on(4, [1, 3], "n1"), *read_on(5, [2], "n2"))
    d = check_set(h, CheckOptions()).details
    assert check_set(h, CheckOptions()).valid is False
    assert (d["lost"], d["lost-by-node"], d["recovered"]) == ([1, 2], {"n1": [2], "n2": [1]}, [3])
    assert d["divergent"] is True and d["divergent-elements"] == [1, 2]
    assert [(r["node"], r["count"]) for r in d["final-reads"]] == [("n1", 2), ("n2", 1)]
    # a client's read naming no node, after the last add, beside the per-node final reads: not a node of its own
    unnamed = [invoke(6, "read"), ok(6, "read", [1, 2, 3])]
    h = history(*early, *adds, *unnamed, *read_on(4, [1, 3], "n1"), *read_on(5, [2], "n2"))
    assert [r["node"] for r in check_set(h, CheckOptions()).details["final-reads"]] == ["n1", "n2"]
    # the same content on both nodes: valid; the latest final read of a node is the one judged
    same = history(*adds, *read_on(4, [1], "n1"), *read_on(4, [1, 2], "n1"), *read_on(5, [2, 1], "n2"))
    r = check_set(same, CheckOptions())
    assert r.valid is True and r.details["divergent"] is False and r.details["lost-by-node"] == {"n1": [], "n2": []}
    # the nodes disagree only on the indeterminate add, which may have taken effect between the two
    # reads: not divergence
    r = check_set(history(*adds, *read_on(4, [1, 2], "n1"), *read_on(5, [1, 2, 3], "n2")), CheckOptions())
    assert r.valid is True and r.details["divergent"] is False and r.details["recovered"] == [3]
    # a definitely failed add read on one node only is divergence
    failed = history(*adds, *add(6, 4, end=fail), *read_on(4, [1, 2, 4], "n1"), *read_on(5, [1, 2], "n2"))
    r = check_set(failed, CheckOptions())
    assert r.valid is False and r.details["lost-count"] == 0 and r.details["divergent-elements"] == [4]


def test_set_final_read_of_nil_says_nothing():
    """Read as an empty set, a nil final read lost every add: false (Jepsen: unknown, never read)."""
    r = check_set(history(*add(0, 1), *read(1, None)), CheckOptions())
    assert r.valid == "unknown" and r.cause == "a final read (op 3) returned nil: it says nothing of the set"
    # another node's read still shows what it shows: 1 lost there
    r = check_set(history(*add(0, 1), *read_on(1, None, "n1"), *read_on(2, [], "n2")), CheckOptions())
    assert r.valid is False and r.details["lost"] == [1]
    r = check_set(history(*add(0, 1), *read_on(1, None, "n1"), *read_on(2, [1], "n2")), CheckOptions())
    assert r.valid == "unknown" and r.details["ok-count"] == 1


def test_set_final_read_is_the_last_read_when_an_add_follows_every_read():
    h = history(*add(0, 1), *read(1, [1]), *add(0, 2))
    r = check_set(h, CheckOptions())
    assert r.valid is False and r.details["lost"] == [2] and "divergent" not in r.details


def test_set_full_lost_stale_duplicated_never_read():
    # 1: stable after a stale read; 2: lost; 3: never read (added after the last read began)
    h = history(*add(0, 1), *read(1, []), *read(1, [1]), *add(0, 2), *read(1, [1, 2]), *read(1, [1]),
                invoke(1, "read"), *add(0, 3), ok(1, "read", [1]))
    r = check_set_full(h, CheckOptions())
    d = r.details
    assert r.valid is False
    assert (d["stable-count"], d["lost"], d["never-read"], d["stale"]) == (1, [2], [3], [1])
    assert d["worst-stale"][0]["stable-latency"] == 1  # known at 1 ms, missed by the read invoked at 2 ms
    assert set(d["stable-latencies"]) == {0, 0.5, 0.95, 0.99, 1}
    dup = check_set_full(history(*add(0, 1), *read(1, [1, 1])), CheckOptions())
    assert dup.valid is False and dup.details["duplicated"] == {1: 2}
    assert check_set_full(history(*add(0, 1), *read(1, [1])), CheckOptions()).valid is True
    assert check_set_full(history(*add(0, 1, end=info)), CheckOptions()).valid == "unknown"


def test_counter_bounds():
    ok_h = history(*add(0, 1), invoke(1, "read"), *add(0, 2), ok(1, "read", 3), *add(0, 5, end=fail), *read(1, 3))
    r = check_counter(ok_h, CheckOptions())
    assert r.valid is True and r.details["reads"] == [[1, 3, 3], [3, 3, 3]]
    low = check_counter(history(*add(0, 2), *read(1, 1)), CheckOptions())
    assert low.valid is False and low.details["errors"] == [[2, 1, 2]]
    high = check_counter(history(*add(0, 2, end=fail), *read(1, 2)), CheckOptions())
    assert high.valid is False and high.details["errors"] == [[0, 2, 0]]


def txn(p, mops):
    return [invoke(p, "txn", [[f, k, None if f == "r" else v] for f, k, v in mops]), ok(p, "txn", mops)]


def test_long_fork_minimal_and_assumptions():
    w = [*txn(0, [["w", 0, 1]]), *txn(1, [["w", 1, 1]])]
    fork = history(*w, *txn(2, [["r", 0, 1], ["r", 1, None]]), *txn(3, [["r", 1, 1], ["r", 0, None]]))
    r = check_long_fork(fork, CheckOptions(group_size=2))
    assert r.valid is False and len(r.details["forks"]) == 1
    fine = history(*w, *txn(2, [["r", 0, 1], ["r", 1, None]]), *txn(3, [["r", 1, 1], ["r", 0, 1]]))
    assert check_long_fork(fine, CheckOptions()).valid is True
    twice = history(*w, *txn(2, [["w", 0, 2]]), *txn(3, [["r", 0, 1], ["r", 1, 1]]))
    assert "written more than once" in check_long_fork(twice, CheckOptions()).cause
    size = history(*w, *txn(2, [["r", 0, 1], ["r", 1, None]]))
    assert check_long_fork(size, CheckOptions(group_size=3)).valid == "unknown"


def test_compose_merges_false_over_unknown_over_true():
    def boom(h, o):
        raise RuntimeError("bug")

    def const(v):
        return lambda h, o: Result(v, {}, "why" if v == "unknown" else None)

    h = history(*add(0, 1), *read(0, [1]))
    assert compose({"a": const(True), "b": check_stats})(h, CheckOptions()).valid is True
    r = compose({"a": const(True), "b": boom})(h, CheckOptions())
    assert r.valid == "unknown" and "b: checker crashed: RuntimeError: bug" in r.cause
    assert compose({"a": const(False), "b": boom, "c": const(True)})(h, CheckOptions()).valid is False
    assert r.details["a"] == {"valid?": True}


@pytest.mark.parametrize(("model", "name", "flags", "code"), [
    ("bank", "bank.edn", [], 0),
    ("bank", "bank.edn", ["--total-amount", "99"], 1),
    ("bank", "bank-negative-balances.json", [], 1),
    ("set", "set.edn", [], 0),
    ("set-full", "set_full.json", [], 1),
    ("counter", "counter.json", [], 0),
    ("long-fork", "long-fork.edn", ["--group-size", "3"], 1),
])
def test_cli_models(capsys, corpus, model, name, flags, code):
    from tests.unit.test_cli import run

    path = corpus / JEPSEN / name
    got, out, _ = run(capsys, "check", "-m", model, *flags, str(path))
    assert (got, out) == (code, f"{path}\t{'true' if code == 0 else 'false'}\n")


@pytest.mark.parametrize(("model", "ops", "field", "message"), [
    # an f the checker does not know was skipped: a bank read named "Read" of a total of 70, an increment
    ("bank", [invoke(0, "Read"), ok(0, "Read", {0: 35, 1: 35})], "f", "bank has no 'Read'"),
    ("counter", [invoke(0, "increment", 5), ok(0, "increment", 5), invoke(1, "read"), ok(1, "read", 0)], "f",
     "counter has no 'increment'"),
    ("set", [*[invoke(0, "add", 1), ok(0, "add", 1)], invoke(1, "Read"), ok(1, "Read", [])], "f", "set has no 'Read'"),
    # a client's op from a process that is not numbered was dropped: Jepsen's checkers count it
    ("set-full", [invoke("2", "add", 1), ok("2", "add", 1), invoke(0, "read"), ok(0, "read", [])], "process",
     "add is a set-full op, but process '2' is no client"),
    ("bank", [invoke("nemesis", "read"), ok("nemesis", "read", {0: 60})], "process",
     "read is a bank op, but process 'nemesis' is no client"),
    # a long-fork read of one key twice hid a fork; micro-ops named "read" were skipped
    ("long-fork", [invoke(0, "read", [["r", "x", None], ["r", "y", None], ["r", "y", None]]),
                   ok(0, "read", [["r", "x", 1], ["r", "y", None], ["r", "y", 1]])], "value",
     "each key of its group once"),
    ("long-fork", [invoke(0, "read", [["read", "x", None]]), ok(0, "read", [["read", "x", 1]])], "value",
     "one write [[w k v]] or reads [[r k v] ...]"),
    ("long-fork", [invoke(0, "read", [["r", [0, 1], None], ["r", 2, None]])], "value", "a long-fork key is a scalar"),
])
def test_ops_a_classic_checker_would_skip_are_refused(model: str, ops: list, field: str, message: str) -> None:
    from checkers import get_checker
    from checkers.shapes import ShapeError

    with pytest.raises(ShapeError, match=re.escape(message)) as refused:
        get_checker(model)(history(*ops), CheckOptions())
    assert refused.value.field == field


@pytest.mark.parametrize("first", [{"node": "n1"}, {"final": True}], ids=["named", "marked-final"])
def test_set_a_later_read_that_lost_an_element_is_a_final_read(first: dict) -> None:
    """After the last add, a read naming node n1 (or marked final) saw [1]; a later ok read naming no
    node saw []. It was left out (a client's read beside per-node final reads): true; Jepsen's last
    read is that one: lost."""
    h = history(*add(0, 1), invoke(1, "read", **first), ok(1, "read", [1], **first), *read(2, []))
    r = check_set(h, CheckOptions())
    assert r.valid is False and r.details["lost"] == [1]
