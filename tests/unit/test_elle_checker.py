"""Elle checker: one smallest history per anomaly name, the traps, and the elle-cli corpus verdicts.

Each case asserts ``anomaly-types``, ``not`` and ``also-not`` exactly. Process variants are
checked against strong-session-serializable (Elle then builds process edges, not realtime ones);
realtime variants against the default strict-serializable. G-single, G-nonadjacent and G2 need
predicate reads, which list-append and rw-register do not have, so Elle never reports them for
these workloads either (their ``-item`` forms are tested). cyclic-versions comes from
rw-register's version-order hints (the tests at the end).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checkers import read_history
from checkers.elle.graph import strong_labels
from checkers.elle_checkers import check_list_append, check_rw_register
from checkers.registry import CheckOptions
from tests.elle_dsl import build, concurrent, seq, timeline

SS = "strong-session-serializable"

CASES = [
    ('G0', build(concurrent("ax1ay1", "ax2ay2"), seq("rx12ry21", first=5)), ('serializable',),
     ['G0'], ['read-uncommitted'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'read-committed', 'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable',
      'strong-read-committed', 'strong-read-uncommitted', 'strong-session-read-committed',
      'strong-session-read-uncommitted', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('G1c', build(concurrent("ax1ry1", "ay1rx1")), ('serializable',),
     ['G1c'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('G-single-item', build(concurrent("rxry1", "ax1ay1")), ('serializable',),
     ['G-single-item'], ['consistent-view', 'repeatable-read'],
     ['forward-consistent-view', 'serializable', 'snapshot-isolation', 'strict-serializable',
      'strong-session-serializable', 'strong-session-snapshot-isolation', 'strong-snapshot-isolation',
      'update-serializable']),
    ('G-nonadjacent-item', build(concurrent("rxru1", "ax1ay1", "ry1rz", "az1au1")), ('serializable',),
     ['G-nonadjacent-item'], ['repeatable-read', 'snapshot-isolation'],
     ['serializable', 'strict-serializable', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation']),
    ('G2-item', build(concurrent("rxay1", "ryax1")), ('serializable',),
     ['G2-item'], ['repeatable-read'],
     ['serializable', 'strict-serializable', 'strong-session-serializable']),
    ('G0-process', build(seq(("ax2", "ok", 0), ("ax1", "ok", 0), ("rx12", "ok", 1))), (SS,),
     ['G0-process'], ['strong-session-read-uncommitted'],
     ['strict-serializable', 'strong-read-committed', 'strong-read-uncommitted', 'strong-session-read-committed',
      'strong-session-serializable', 'strong-session-snapshot-isolation', 'strong-snapshot-isolation']),
    ('G1c-process', build(seq(("rx1", "ok", 0), ("ax1", "ok", 0))), (SS,),
     ['G1c-process'], ['strong-session-read-committed'],
     ['strict-serializable', 'strong-read-committed', 'strong-session-serializable',
      'strong-session-snapshot-isolation', 'strong-snapshot-isolation']),
    ('G-single-item-process', build(seq(("ax1", "ok", 0), ("rx", "ok", 0))), (SS,),
     ['G-single-item-process'], ['strong-session-snapshot-isolation'],
     ['strict-serializable', 'strong-session-serializable', 'strong-snapshot-isolation']),
    ('G-nonadjacent-item-process',
     build(concurrent(("ax1", "ok", 0), ("ay1", "ok", 1)), concurrent(("ry", "ok", 0), ("rx", "ok", 1))), (SS,),
     ['G-nonadjacent-item-process'], ['strong-session-snapshot-isolation'],
     ['strict-serializable', 'strong-session-serializable', 'strong-snapshot-isolation']),
    ('G2-item-process', build(concurrent(("ay1", "ok", 0), ("ax1ry", "ok", 1)), seq(("rx", "ok", 0))), (SS,),
     ['G2-item-process'], ['strong-session-serializable'],
     ['strict-serializable']),
    ('G0-realtime', build(seq("ax2", "ax1", "rx12")), (),
     ['G0-realtime'], ['strong-read-uncommitted'],
     ['strict-serializable', 'strong-read-committed', 'strong-snapshot-isolation']),
    ('G1c-realtime', build(seq("rx1", "ax1")), (),
     ['G1c-realtime'], ['strong-read-committed'],
     ['strict-serializable', 'strong-snapshot-isolation']),
    ('G-single-item-realtime', build(seq("ax1", "rx")), (),
     ['G-single-item-realtime'], ['strong-snapshot-isolation'],
     ['strict-serializable']),
    ('G-nonadjacent-item-realtime',
     build(timeline("i1 i3 i4 o1 i2 o2 o3 o4", {1: "ax1", 2: "ry", 3: "ay1az1", 4: "rxrz1"})), (),
     ['G-nonadjacent-item-realtime'], ['strong-snapshot-isolation'],
     ['strict-serializable']),
    ('G2-item-realtime', build(timeline("i1 i3 o1 i2 o2 o3", {1: "ax1", 2: "ry", 3: "rxay1"})), (),
     ['G2-item-realtime'], ['strict-serializable'],
     []),
    ('G1a', build(seq(("ax1", "fail"), "rx1")), (),
     ['G1a', 'empty-transaction-graph'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('G1b', build(concurrent("ax1ax2", "rx1")), (),
     ['G-single-item', 'G1b'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('internal', build(seq("ax1rx")), (),
     ['empty-transaction-graph', 'internal'], ['read-atomic'],
     ['causal-cerone', 'parallel-snapshot-isolation', 'prefix', 'serializable', 'snapshot-isolation',
      'strict-serializable', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic']),
    ('future-read', build(seq("rx1ax1")), (),
     ['empty-transaction-graph', 'future-read'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('dirty-update', build(seq(("ax1", "fail"), "ax2", "rx12")), (),
     ['G1a', 'dirty-update'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('duplicate-elements', build(seq("ax1", "rx11")), (),
     ['duplicate-elements'], ['read-uncommitted'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'read-committed', 'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable',
      'strong-read-committed', 'strong-read-uncommitted', 'strong-session-read-committed',
      'strong-session-read-uncommitted', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('incompatible-order', build(concurrent("ax1", "ax2", "rx12", "rx21")), (),
     ['incompatible-order'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
    ('lost-update', build(concurrent("rxax1", "rxax2"), seq("rx12", first=3)), (),
     ['G-single-item', 'lost-update'], ['cursor-stability', 'update-atomic'],
     ['consistent-view', 'forward-consistent-view', 'parallel-snapshot-isolation', 'repeatable-read', 'serializable',
      'snapshot-isolation', 'strict-serializable', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-serializable']),
    ('garbage-read', build(seq("rx9")), (),
     ['empty-transaction-graph', 'garbage-read'], ['read-committed'],
     ['causal-cerone', 'consistent-view', 'cursor-stability', 'forward-consistent-view', 'monotonic-atomic-view',
      'monotonic-snapshot-read', 'monotonic-view', 'parallel-snapshot-isolation', 'prefix', 'read-atomic',
      'repeatable-read', 'serializable', 'snapshot-isolation', 'strict-serializable', 'strong-read-committed',
      'strong-session-read-committed', 'strong-session-serializable', 'strong-session-snapshot-isolation',
      'strong-snapshot-isolation', 'update-atomic', 'update-serializable']),
]


VALID_STRICT = {"valid?": True, "consistency-models": ["strict-serializable"]}  # and what that vouches for


def _options(models: tuple[str, ...], **kw: object) -> CheckOptions:
    return CheckOptions(consistency_models=models or ("strict-serializable",), **kw)


@pytest.mark.parametrize(("name", "history", "models", "types", "not_", "also_not"), CASES,
                         ids=[c[0] for c in CASES])
def test_each_anomaly_has_a_smallest_history(name, history, models, types, not_, also_not) -> None:
    result = check_list_append(history, _options(models)).to_json()
    assert result["valid?"] is False
    assert name in result["anomaly-types"]
    assert (result["anomaly-types"], result["not"], result["also-not"]) == (types, not_, also_not)


def test_empty_transaction_graph_is_unknown() -> None:
    result = check_list_append(build(seq("rx")), _options(()))
    assert result.valid == "unknown"
    assert result.details["anomaly-types"] == ["empty-transaction-graph"]


def test_a_timed_out_search_still_reports_a_cycle_and_is_false() -> None:
    """Elle's fallback: on timeout, some cycle of the SCC is reported, so a G0 is still false."""
    g0 = build(concurrent("ax1ay1", "ax2ay2"), seq("rx12ry21", first=5))
    result = check_list_append(g0, _options((), cycle_search_timeout_ms=0)).to_json()
    assert result["valid?"] is False
    assert (result["anomaly-types"], result["not"]) == (['G0', 'cycle-search-timeout'], ['read-uncommitted'])
    assert result["anomalies"]["cycle-search-timeout"] == [{"anomaly-spec-type": "G0", "scc-size": 2}]


def test_cycle_search_timeout_is_unknown_when_no_forbidden_cycle_exists() -> None:
    """Under read-committed an rw-only cycle (G2-item) is allowed: a finished search says valid,
    a timed-out one cannot know, so unknown."""
    g2 = build(concurrent("rxay1", "ryax1"))
    assert check_list_append(g2, _options(("read-committed",))).valid is True
    result = check_list_append(g2, _options(("read-committed",), cycle_search_timeout_ms=0))
    assert result.valid == "unknown"
    assert result.details["anomaly-types"] == ["cycle-search-timeout"]


def test_timeout_does_not_hide_a_forbidden_anomaly() -> None:
    h = build(seq(("ax1", "fail"), "rx1"), concurrent("ay1az1", "ay2az2", first=2), seq("ry12rz21", first=4))
    result = check_list_append(h, _options(("serializable",), cycle_search_timeout_ms=0))
    assert result.valid is False
    assert result.details["anomaly-types"] == ["G0", "G1a", "cycle-search-timeout"]


def test_an_scc_is_never_valid_even_if_the_search_finds_nothing(monkeypatch) -> None:
    """cycle-exists comes from SCCs alone: with the cycle search stubbed to find nothing, the G0
    history is still false, by PL-1-cycle-exists (Elle's name and shape)."""
    import importlib

    from checkers.elle.cycles import SccSearch

    monkeypatch.setattr(importlib.import_module("checkers.elle.check"), "search_scc", lambda *a: SccSearch([], None, 0))
    g0 = build(concurrent("ax1ay1", "ax2ay2"), seq("rx12ry21", first=5))
    result = check_list_append(g0, _options(("serializable",))).to_json()
    assert (result["valid?"], result["anomaly-types"], result["not"]) == (
        False, ['PL-1-cycle-exists'], ['read-uncommitted'])
    assert result["anomalies"]["PL-1-cycle-exists"] == [{
        "type": "PL-1-cycle-exists", "not": "read-uncommitted", "subgraph": ["union", "ww"], "scc-size": 2,
        "scc": [2, 3]}]


E_WW, E_WR, E_RW, E_RT, E_CONT = 0, 1, 2, 4, 5


@pytest.mark.parametrize(("edges", "expected"), [
    ([(0, 1, E_WW), (1, 0, E_WW)], ["PL-1-cycle-exists"]),
    ([(0, 1, E_WW), (1, 0, E_WR)], ["PL-2-cycle-exists"]),
    ([(0, 1, E_WW), (1, 0, E_RW)], ["PL-SI-cycle-exists", "PL-2.99-cycle-exists"]),  # SI, RR incomparable
    ([(0, 1, E_RW), (1, 0, E_RW)], ["PL-2.99-cycle-exists"]),  # two rw in a row: not SI's
    ([(0, 2, E_RT), (2, 1, E_CONT), (1, 0, E_WW)], ["strong-PL-1-cycle-exists"]),  # 2 is virtual
    ([(0, 2, E_RT), (2, 1, E_CONT), (1, 0, E_RW)], ["strong-snapshot-isolation-cycle-exists"]),
    ([(0, 1, 3), (1, 0, E_RW)], ["strong-session-snapshot-isolation-cycle-exists"]),
], ids=["ww", "ww-wr", "ww-rw", "rw-rw", "ww-realtime", "rw-realtime", "rw-process"])
def test_cycle_exists_names_the_weakest_model_each_scc_rules_out(edges, expected) -> None:
    import numpy as np

    from checkers.elle.cycle_exists import cycle_exists

    src, dst, kind = (np.asarray(c, dtype=np.int64) for c in zip(*edges, strict=True))
    cases = cycle_exists(2, 3, src, dst, kind.astype(np.int8))
    assert [c["type"] for c in cases] == expected
    assert all(c["scc"] == [0, 1] for c in cases)


@pytest.mark.parametrize("history", [
    build(seq(("ax1", "never")), seq("rx1", first=1)),  # info append seen later
    build(seq(("ax1", "info")), seq("rx1", first=1)),
    build(seq(("ax1", "never")), seq("rx", "rx", first=1)),  # info append never seen
    build(seq(("ax1", "info"), "rx")),
    build(seq(("ax1", "fail"), "rx", "ax2", "rx2")),  # failed append never seen
    build(concurrent("ax1", "rx"), seq("rx1", first=2)),  # concurrent: either order is real-time legal
    build(timeline("i1 i2 o2 i3 o1 o3", {1: "ax1ay1", 2: "rxry", 3: "rx1ry1"})),
], ids=["info-seen-never-completed", "info-seen", "info-unseen-never-completed", "info-unseen", "fail-unseen",
        "concurrent", "overlapping"])
def test_traps_are_valid(history) -> None:
    assert check_list_append(history, _options(())).to_json() == VALID_STRICT


def test_an_info_read_says_nothing() -> None:
    h = build(seq("ax1"), seq(("rx", "info"), first=1))
    assert check_list_append(h, _options(())).valid is True


def test_explanations_name_every_edge(tmp_path: Path) -> None:
    h = build(concurrent("ax1ay1", "ax2ay2"), seq("rx12ry21", first=5))
    result = check_list_append(h, _options(("serializable",), directory=tmp_path))
    [cycle] = result.details["anomalies"]["G0"]
    assert [s["type"] for s in cycle["steps"]] == ["ww", "ww"]
    text = (tmp_path / "G0.txt").read_text()
    assert "appended 2 to key 'x' after T" in text and "because op 5 read [1 2]" in text
    assert "a contradiction!" in text


CORPUS = "elle-cli/histories/elle"


@pytest.mark.parametrize("name", ["paper-example.edn", "paper-example.json"])
def test_paper_example_is_invalid(corpus: Path, name: str) -> None:
    result = check_list_append(read_history(corpus / CORPUS / name), _options(()))
    assert result.valid is False


def test_gh_30_is_invalid_under_serializable(corpus: Path) -> None:
    result = check_list_append(read_history(corpus / CORPUS / "list-append-gh-30.edn"), _options(("serializable",)))
    assert result.valid is False
    assert result.details["anomaly-types"] == ["G2-item"]


@pytest.mark.parametrize("name", ["rw-register.edn", "rw-register.json"])
def test_rw_register_corpus_reports_its_never_written_read(corpus: Path, name: str) -> None:
    """Elle calls this history valid: it has no check for a read of x = 3, which nobody wrote. We
    report that read as garbage-read (which implies G1a), so our verdict is false."""
    result = check_rw_register(read_history(corpus / CORPUS / name), _options(()))
    assert result.valid is False
    assert result.details["anomaly-types"] == ["garbage-read"]
    assert [a["element"] for a in result.details["anomalies"]["garbage-read"]] == [3]


def test_rw_register_cycles_and_traps() -> None:
    g_single = build(concurrent("rxry1", "wx1wy1", registers=True))
    result = check_rw_register(g_single, _options(("serializable",)))
    assert result.details["anomaly-types"] == ["G-single-item"]
    fine = build(seq(("wx1", "info"), registers=True), seq("rx1", "rx1", registers=True, first=1))
    assert check_rw_register(fine, _options(())).valid is True
    aborted = build(seq(("wx1", "fail"), "rx1", registers=True))
    assert check_rw_register(aborted, _options(())).details["anomaly-types"] == ["G1a", "empty-transaction-graph"]
    lost = build(concurrent("rxwx1", "rxwx2", registers=True))
    assert "lost-update" in check_rw_register(lost, _options(())).details["anomaly-types"]


def test_unknown_model_is_an_unknown_verdict_naming_it() -> None:
    result = check_list_append(build(seq("ax1")), _options(("serialisable",)))
    assert result.valid == "unknown" and "serialisable" in (result.cause or "")


def test_a_future_read_after_an_internal_case_is_found() -> None:
    """The search for internal cases stopped the txn at its first: a later append of what an
    earlier read showed (future-read, forbidden under read-committed) went unseen: true."""
    h = build(seq("rx1rxax1", "ay1", "ry1"))
    result = check_list_append(h, _options(("read-committed",)))
    assert result.valid is False and result.details["anomaly-types"] == ["future-read"]
    assert check_list_append(h, _options(("serializable",))).details["anomaly-types"] == ["future-read", "internal"]


def test_rw_register_reads_after_the_first_may_be_aborted_or_intermediate() -> None:
    """Only a txn's first read of a key was looked at for G1a and G1b: each passed read-committed."""
    intermediate = build(seq("wx1wx2", "rxrx1", registers=True))
    assert "G1b" in check_rw_register(intermediate, _options(("read-committed",))).details["anomaly-types"]
    aborted = build(seq(("wx1", "fail"), "wx2rx1", registers=True))
    assert "G1a" in check_rw_register(aborted, _options(("read-committed",))).details["anomaly-types"]


def test_internal_after_reading_the_empty_list() -> None:
    ok = build(seq("rxax1rx1", "rx1"))
    assert check_list_append(ok, _options(())).valid is True
    bad = check_list_append(build(seq("rxax1rx", "rx1")), _options(())).details
    assert bad["anomaly-types"] == ["internal"]
    assert bad["anomalies"]["internal"][0]["expected"] == [1]


# rw-register version-order hints (Elle's wfr-keys?, sequential-keys?, linearizable-keys?).
# Readers see x go 1 then 2 and y go 2 then 1, so with a per-key version order the two writers
# overwrite each other: G0. Without the hint only wr edges exist, and the history is valid.
_WRITERS = {1: "wx1wy1", 2: "wx2wy2"}
_ORDER = "i1 i2 i3 i5 o3 o5 i4 i6 o4 o6 o1 o2"
SAME_PROCESS = build(timeline(_ORDER, {**_WRITERS, 3: ("rx1", "ok", 3), 4: ("rx2", "ok", 3),
                                       5: ("ry2", "ok", 5), 6: ("ry1", "ok", 5)}, registers=True))
OTHER_PROCESSES = build(timeline(_ORDER, {**_WRITERS, 3: "rx1", 4: "rx2", 5: "ry2", 6: "ry1"}, registers=True))
G0_ALSO_NOT = CASES[0][5]
G_SINGLE_ITEM = (['consistent-view', 'repeatable-read'], CASES[2][5])


def _ser(**kw: object) -> CheckOptions:
    return _options(("serializable",), **kw)


def test_hints_are_off_by_default() -> None:
    assert check_rw_register(SAME_PROCESS, _ser()).to_json() == {"valid?": True, "consistency-models": ["serializable"]}


def test_sequential_keys_order_each_process_s_versions() -> None:
    result = check_rw_register(SAME_PROCESS, _ser(sequential_keys=True)).to_json()
    assert (result["anomaly-types"], result["not"], result["also-not"]) == (
        ['G-single-item', 'G0'], ['read-uncommitted'], G0_ALSO_NOT)
    [g0] = result["anomalies"]["G0"]
    assert {(s["type"], s["source"]) for s in g0["steps"]} == {("ww", "sequential-keys")}


def test_linearizable_keys_order_versions_in_realtime() -> None:
    assert check_rw_register(OTHER_PROCESSES, _ser(sequential_keys=True)).valid is True
    result = check_rw_register(OTHER_PROCESSES, _ser(linearizable_keys=True)).to_json()
    assert (result["anomaly-types"], result["not"], result["also-not"]) == (
        ['G-single-item', 'G0'], ['read-uncommitted'], G0_ALSO_NOT)


def test_wfr_keys_order_a_read_before_the_txn_s_write() -> None:
    """T2 read x = 1 and then wrote x = 2 and y = 1; T3 saw y = 1 but still x = 1: read skew."""
    h = build(concurrent("wx1", "rx1wx2wy1", "rx1ry1", registers=True))
    assert check_rw_register(h, _ser()).valid is True
    result = check_rw_register(h, _ser(wfr_keys=True)).to_json()
    assert (result["anomaly-types"], result["not"], result["also-not"]) == (['G-single-item'], *G_SINGLE_ITEM)
    [cycle] = result["anomalies"]["G-single-item"]
    assert {"type": "rw", "key": "x", "value": 1, "value'": 2, "source": "wfr-keys"}.items() <= \
        next(s for s in cycle["steps"] if s["type"] == "rw").items()


def test_cyclic_versions_are_reported_and_give_no_edges() -> None:
    """wfr says 1 < 2 (T1) and 2 < 1 (T2): cyclic-versions. Edges from those orders would add a G0."""
    h = build(concurrent("rx1wx2", "rx2wx1", registers=True))
    result = check_rw_register(h, _ser(wfr_keys=True)).to_json()
    assert (result["anomaly-types"], result["not"]) == (['G1c', 'cyclic-versions'], ['read-uncommitted'])
    assert result["anomalies"]["cyclic-versions"] == [
        {"key": "x", "scc": [1, 2], "sources": ["initial-state", "wfr-keys"]}]


def test_a_read_of_nil_after_the_process_wrote_is_cyclic_versions() -> None:
    h = build(seq(("wx1", "ok", 0), ("rx", "ok", 0), registers=True))
    result = check_rw_register(h, _ser(sequential_keys=True)).to_json()
    assert (result["anomaly-types"], result["not"], result["also-not"]) == (
        ['cyclic-versions'], ['read-uncommitted'], G0_ALSO_NOT)
    assert result["anomalies"]["cyclic-versions"] == [
        {"key": "x", "scc": [None, 1], "sources": ["initial-state", "sequential-keys"]}]


@pytest.mark.parametrize("history", [
    build(seq(("wx1", "info", 0), ("rx", "ok", 0), registers=True)),  # the info write may not have happened
    build(seq(("wx1", "ok", 0), ("wx2", "info", 0), ("rx1", "ok", 0), registers=True)),
], ids=["info-then-nil", "ok-info-ok"])
@pytest.mark.parametrize("hint", ["sequential_keys", "linearizable_keys"])
def test_an_info_txn_never_orders_what_follows_it(history, hint) -> None:
    assert check_rw_register(history, _options((), **{hint: True})).to_json() == VALID_STRICT


def test_cli_takes_the_hint_flags(capsys, tmp_path: Path) -> None:
    from checkers.formats import write_history
    from tests.unit.test_cli import run

    path = tmp_path / "h.jsonl"
    write_history(SAME_PROCESS.ops, path)
    args = ("check", "-m", "rw-register", "-c", "serializable", str(path))
    assert run(capsys, *args)[:2] == (0, f"{path}\ttrue\n")
    for flag in ("--sequential-keys", "--linearizable-keys"):
        assert run(capsys, *args[:-1], flag, str(path))[:2] == (1, f"{path}\tfalse\n")
    assert run(capsys, *args[:-1], "--wfr-keys", str(path))[0] == 0


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(n - 1, 0))),
                         max_size=90 if n else 0))))
def test_strong_components_match_scipy(graph: tuple[int, list[tuple[int, int]]]) -> None:
    """The C Tarjan (``_scc.c``) splits every graph into the components scipy's csgraph finds."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    n, edge_list = graph
    src, dst = [a for a, _ in edge_list], [b for _, b in edge_list]
    count, labels = strong_labels(n, src, dst)
    matrix = csr_matrix(([1] * len(src), (src, dst)), shape=(n, n))
    expected_count, expected = connected_components(matrix, directed=True, connection="strong") if n else (0, [])
    pairs = {(int(a), int(b)) for a, b in zip(labels, expected, strict=True)}
    assert count == expected_count == len(set(labels.tolist())) == len(pairs)  # the same partition


def test_strong_components_refuse_an_edge_outside_the_graph() -> None:
    with pytest.raises(ValueError, match="leaves the 3 nodes"):
        strong_labels(3, [0, 5], [1, 1])


def test_strong_components_of_a_long_cycle_need_no_recursion() -> None:
    n = 2_000_000
    count, labels = strong_labels(n, np.arange(n), (np.arange(n) + 1) % n)
    assert count == 1 and not labels.any()


_MOP_TEXT = st.builds(lambda f, k, vs: f + k + vs, st.sampled_from("ar"), st.sampled_from("xy"),
                      st.text("0123", max_size=3))
_TXN = st.tuples(st.lists(_MOP_TEXT, min_size=1, max_size=3).map("".join).filter(
    lambda t: all(len(d) == 1 for f, _, d in re.findall(r"([ar])([a-z])(\d*)", t) if f == "a")),
    st.sampled_from(["ok", "ok", "ok", "fail", "info"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(_TXN, min_size=1, max_size=6))
@example([("ax1", "fail"), ("ax2", "ok"), ("rx12", "ok")])  # a dirty update
@example([("ax1", "fail"), ("rx1", "ok"), ("rx1", "ok")])  # G1a, read twice
@example([("ax1ax2", "ok"), ("rx1", "ok")])  # G1b
@example([("rxax1", "ok"), ("rxax2", "ok")])  # a lost update
@example([("ax1ax2", "fail"), ("rx12ay1", "ok"), ("ax3ry", "ok")])  # an unread append, two by one failed txn
def test_the_analysis_shortcuts_hide_no_anomaly(specs: list[tuple[str, str]]) -> None:
    """The shortcuts change no result: the same histories checked with every read examined, every txn
    taken as touching a key twice, every key as one a failed txn appended to and every key as one with an
    unread append give the same anomalies."""
    from dataclasses import replace

    from checkers.elle import list_append

    try:
        h = build(seq(*specs))
    except AssertionError:
        return
    options = _options(("serializable",))
    fast = check_list_append(h, options).to_json()
    index, suspect_reads = list_append._index, list_append._suspect_reads

    def index_without_shortcuts(txns):  # type: ignore[no-untyped-def]
        idx = index(txns)
        return replace(idx, repeated=list(range(len(txns))), failed_keys=set(idx.order), unread_keys=set(idx.writer))

    def every_ok_read(txns, idx):  # type: ignore[no-untyped-def]
        return suspect_reads(txns, replace(idx, writers={}))  # no key is clean

    list_append._index, list_append._suspect_reads = index_without_shortcuts, every_ok_read
    try:
        slow = check_list_append(h, options).to_json()
    finally:
        list_append._index, list_append._suspect_reads = index, suspect_reads
    assert fast == slow


_TXN_VALUES = st.one_of(st.none(), st.integers(0, 2), st.lists(st.one_of(
    st.lists(st.sampled_from(["append", "r", "w", 1]), min_size=3, max_size=3), st.just(["r", "x"])), max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_TXN_VALUES, st.sampled_from(["ok", "fail", "info", None]), _TXN_VALUES), max_size=6))
def test_txns_are_the_client_transactions_in_invocation_order(specs):
    """txns_of (in C) keeps each op whose value (the completion's when ok, else the invocation's) is a list,
    with its type (info when never completed), and stops at the first micro-op that is no [f key value]
    of the workload's functions."""
    from checkers.elle.txns import NEVER, UnexpectedMop, txns_of
    from checkers.history import History, Op

    ops, expected, bad = [], [], None
    for invoked_value, completion, completed_value in specs:
        index = len(ops)
        ops.append(Op(index, index, "invoke", index, "txn", invoked_value))
        if completion is not None:
            ops.append(Op(index + 1, index + 1, completion, index, "txn", completed_value))
        typ = completion or "info"
        value = completed_value if typ == "ok" else invoked_value
        if isinstance(value, list):
            if bad is None and any(len(m) != 3 or m[0] not in ("append", "r") for m in value):
                bad = next(m for m in value if len(m) != 3 or m[0] not in ("append", "r"))
            shown = index + 1 if completion is not None else index
            expected.append((typ, value, index, NEVER if typ == "info" else index + 1, shown))
    history = History(tuple(ops))
    if bad is not None:
        with pytest.raises(UnexpectedMop, match=re.escape(f"micro-op {bad!r} is not one of append, r")):
            txns_of(history, frozenset({"append", "r"}))
        return
    txns = txns_of(history, frozenset({"append", "r"}))
    assert list(zip(txns.typ, txns.mops, txns.invoked, txns.completed, [op.index for op in txns.ops],
                    strict=True)) == expected
    assert txns.process == [i for _, _, i, _, _ in expected]


def test_an_unknown_micro_op_makes_the_check_unknown():
    """Checked without the shape check (as a library call may), a micro-op of another workload gives
    unknown with Elle's anomaly type, naming the op."""
    history = build(seq("ax1", "rx1"))
    ops = [*history.ops[:2], *(replace_value(op, [["w", "x", 2]]) for op in history.ops[2:])]
    result = check_list_append(type(history)(tuple(ops)), _options(("serializable",)))
    assert result.valid == "unknown" and result.details["anomaly-types"] == ["unexpected-txn-micro-op-types"]
    assert "micro-op ['w', 'x', 2] is not one of append, r" in str(result.cause)


def replace_value(op, value):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(op, value=value)


def test_a_steps_witness_is_the_op_whose_read_shows_the_order():
    """A ww or rw step names, by its op index, the op whose read put the two elements in that order
    (it named the txn's internal number, another op of the history)."""
    history = build(seq("ay9", "ay8", "ay7"), concurrent("ax1ay1", "ax2ay2"), seq("rx12ry987621", first=5))
    result = check_list_append(history, _options(("serializable",)))
    ops = {op.index: op for op in history.ops}
    steps = [s for c in result.details["anomalies"]["G0"] for s in c["steps"] if "witness" in s]
    assert steps
    for step in steps:
        reads = [m[2] for m in ops[step["witness"]].value if m[0] == "r" and m[1] == step["key"]]
        shown = step["witness-read"]
        assert any(r[i:i + len(shown)] == shown for r in reads for i in range(len(r))), (step, reads)
