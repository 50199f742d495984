"""SLA figures on synthetic histories whose outages are known exactly, and the claims file."""

import json

import pytest

from chaos.sla.claims import ClaimError, evaluate, load_claims, ops_needed
from checkers import CheckOptions
from checkers.history import FINAL, History, Op
from checkers.sets import check_set
from checkers.sla import sla_figures
from tests.helpers import history, invoke, ok
from tests.unit.test_cli import run

MS = 1_000_000
S = 1000 * MS
TOL = 10 * MS


def synthetic(outages, faults, procs=4, step=5 * MS, total=30 * S, first_process=0):
    """Clients invoke back to back every `step` (staggered); ops invoked inside an outage fail.

    faults: (start f, stop f, start time, stop time, nodes); the nemesis op completes at that time.
    """
    events = []
    for p in range(procs):
        t = p * step // procs
        while t < total:
            down = any(a <= t < b for a, b in outages)
            node = f"n{p % 2 + 1}"
            events.append((t, 1, dict(type="invoke", process=p + first_process, f="write", value=t, node=node)))
            events.append((t + step, 0, dict(type="fail" if down else "ok", process=p + first_process, f="write",
                                             value=t, node=node)))
            t += step
    for start_f, stop_f, a, b, nodes in faults:
        for f, at, value in ((start_f, a, nodes), (stop_f, b, None))[: 1 if b is None else 2]:
            events.append((at - MS, 1, dict(type="info", process="nemesis", f=f, value=None)))
            events.append((at, 0, dict(type="info", process="nemesis", f=f, value=value)))
    events.sort(key=lambda e: (e[0], e[1]))
    return History.of(Op(index=i, time=t, **d) for i, (t, _, d) in enumerate(events))


TWO_FAULTS = synthetic(outages=[(10 * S, 16 * S), (20 * S, 21500 * MS)],
                       faults=[("start-partition", "stop-partition", 10 * S, 14 * S, ["n1"]),
                               ("kill", "start", 20 * S, 21 * S, ["n2"])])


def test_downtime_rto_and_availability_exact():
    fig = sla_figures(TWO_FAULTS, min_downtime_ns=100 * MS)
    assert [(f.kind, f.start_ns, f.end_ns, f.nodes) for f in fig.faults] == [  # from the start's invocation
        ("start-partition", 10 * S - MS, 14 * S, ["n1"]), ("kill", 20 * S - MS, 21 * S, ["n2"])]
    # ops invoked in [10 s, 16 s) and [20 s, 21.5 s) fail: 7.5 s of 30 s -> exactly 75% available
    assert (fig.availability.ok, fig.availability.n) == (18000, 24000)
    assert len(fig.downtimes) == 2
    for d, (a, b, kind) in zip(fig.downtimes, [(10 * S, 16 * S, "start-partition"), (20 * S, 21500 * MS, "kill")],
                               strict=True):
        assert abs(d.start_ns - a) <= TOL and abs(d.end_ns - b) <= TOL and d.faults == (kind,) and d.recovered
    r1, r2 = fig.recoveries
    assert abs(r1.rto_ns - 6 * S) <= TOL and abs(r1.heal_to_recovery_ns - 2 * S) <= TOL
    assert abs(r2.rto_ns - 1500 * MS) <= TOL and abs(r2.heal_to_recovery_ns - 500 * MS) <= TOL
    assert fig.worst_rto_ns == r1.rto_ns
    # during faults: ops completing in [10, 14) and [20, 21): all fail but the 2 x 4 invoked before
    assert fig.during_faults.ok == 8 and fig.during_faults.n == 4000
    # outside: fails completing in [14, 16.005) and [21, 21.505): 2.5 s at 800/s, + 2 x 4 at the edges
    assert (fig.outside_faults.n, fig.outside_faults.n - fig.outside_faults.ok) == (20000, 2008)
    per_second = {s: (ok_, n) for s, ok_, n in fig.per_second}
    assert per_second[5] == (800, 800) and per_second[12] == (0, 800)
    assert set(fig.by_node) == {"n1", "n2"} and fig.by_f["write"] == fig.availability
    assert fig.latency_ns[0.5] == 5 * MS and fig.latency_ns[1] == 5 * MS


def test_unrecovered_fault_and_short_windows_filtered():
    fig = sla_figures(synthetic(outages=[(25 * S, 40 * S)], faults=[("pause", "resume", 25 * S, None, ["n1"])],
                                total=30 * S), min_downtime_ns=100 * MS)
    (d,) = fig.downtimes
    assert not d.recovered and abs(d.start_ns - 25 * S) <= TOL and d.end_ns == fig.end_ns
    (r,) = fig.recoveries
    assert r.rto_ns is None and r.fault.end_ns is None


def claims_file(tmp_path, text):
    p = tmp_path / "claims.toml"
    p.write_text(text)
    return p


def test_claims_verdicts(tmp_path):
    claims = load_claims(claims_file(tmp_path, "rto_seconds = 8\navailability = 0.7\np99_latency_ms = 10\n"
                                               "data_loss = 0\nconsistency = 'serializable'\n"))
    by = {v.claim: v for v in evaluate(claims, sla_figures(TWO_FAULTS))}
    assert by["rto_seconds"].verdict == "certified" and abs(by["rto_seconds"].measured - 6) <= 0.01
    assert by["availability"].verdict == "certified"  # 75% over 24000 ops, lower bound > 0.7
    assert by["p99_latency_ms"].verdict == "certified"
    assert by["data_loss"].verdict == "inconclusive" and "--model" in by["data_loss"].reason
    assert by["consistency"].verdict == "inconclusive"
    tight = load_claims(claims_file(tmp_path, "rto_seconds = 5\navailability = 0.9\n"))
    by = {v.claim: v for v in evaluate(tight, sla_figures(TWO_FAULTS))}
    assert by["rto_seconds"].verdict == "violated" and "start-partition" in by["rto_seconds"].reason
    assert by["availability"].verdict == "violated"


def test_availability_below_the_resolution_is_inconclusive(tmp_path):
    """20 s of one client asking every 10 ms, never down: 99.99 % allows 2 ms of downtime, less than
    the 10 ms an outage could hide between two requests."""
    h = synthetic(outages=[], faults=[], procs=1, step=10 * MS, total=20 * S)  # 2,000 ok ops, no failure
    claims = load_claims(claims_file(tmp_path, "availability = 0.9999\n"))
    (v,) = evaluate(claims, sla_figures(h))
    assert v.verdict == "inconclusive" and v.measured == 1.0
    assert v.evidence["down-seconds-per-client-most"] == 0.01 and v.evidence["seconds-observed"] == 20
    assert "a run of at least 100 s" in v.reason
    assert ops_needed(0.9999, 0.95) == 29956


def test_data_loss_from_set_result(tmp_path):
    h = history(invoke(0, "add", 1), ok(0, "add", 1), invoke(0, "add", 2), ok(0, "add", 2),
                invoke(0, "read"), ok(0, "read", [1]))
    claims = load_claims(claims_file(tmp_path, "data_loss = 0\n"))
    (v,) = evaluate(claims, sla_figures(h), {"set": check_set(h, CheckOptions())})
    assert v.verdict == "violated" and v.measured == 1 and v.evidence["set-lost"] == [2]
    assert v.reason == "lost 1 (set 1)"


def test_data_loss_is_not_judged_on_adds_acknowledged_after_the_final_read(tmp_path):
    """Jepsen's set counts them lost (its final read comes last); no read could see them: violated before."""
    h = history(invoke(1, "read"), ok(1, "read", []), invoke(0, "add", 1), ok(0, "add", 1))
    result = check_set(h, CheckOptions())
    assert result.valid is False and result.details["never-read-acknowledged-count"] == 1
    (v,) = evaluate(load_claims(claims_file(tmp_path, "data_loss = 0\n")), sla_figures(h), {"set": result})
    assert v.verdict == "inconclusive" and v.reason == "set: 1 acknowledged elements no read could have seen"
    # per node: n1's read began before 2 was acknowledged, n2's read saw it: nothing lost (review)
    final = {FINAL: True}  # the runner's final reads, one per node
    h = history(invoke(0, "add", 1), ok(0, "add", 1), invoke(1, "read", node="n1", **final), invoke(0, "add", 2),
                ok(0, "add", 2), ok(1, "read", [1], node="n1"), invoke(2, "read", node="n2", **final),
                ok(2, "read", [1, 2], node="n2"))
    result = check_set(h, CheckOptions())
    assert result.details["lost"] == [2] and result.details["never-read-acknowledged-count"] == 1


def test_consistency_is_certified_only_by_a_checker_of_that_model_or_a_stronger_one(tmp_path):
    """A valid bank, or an Elle check of a weaker model, refutes nothing and proves nothing: inconclusive."""
    from checkers import get_checker
    from checkers.bank import check_bank
    from checkers.elle_checkers import check_list_append

    txns = history(invoke(0, "txn", [["append", 1, 1]]), ok(0, "txn", [["append", 1, 1]]),
                   invoke(1, "txn", [["r", 1, None]]), ok(1, "txn", [["r", 1, [1]]]))
    register = history(invoke(0, "write", 1), ok(0, "write", 1), invoke(1, "read"), ok(1, "read", 1))
    bank = history(invoke(0, "read"), ok(0, "read", {0: 5, 1: 5}))

    def verdict(claimed, results):
        claims = load_claims(claims_file(tmp_path, f"consistency = '{claimed}'\n"))
        (v,) = evaluate(claims, sla_figures(txns), results)
        return v.verdict, v.reason

    def elle(model):
        return check_list_append(txns, CheckOptions(consistency_models=(model,)))

    assert verdict("serializable", {"bank": check_bank(bank, CheckOptions())})[0] == "inconclusive"
    assert verdict("serializable", {"bank-log": check_bank(bank, CheckOptions())})[0] == "inconclusive"
    state, why = verdict("serializable", {"list-append": elle("repeatable-read")})
    assert state == "inconclusive" and "weaker" in why
    assert verdict("serializable", {"list-append": elle("serializable")}) == (
        "certified", "valid under list-append (1 ok reads, 1 ok writes)")
    assert verdict("repeatable-read", {"list-append": elle("serializable")})[0] == "certified"
    assert verdict("strict-serializable", {"list-append": elle("serializable")})[0] == "inconclusive"
    assert verdict("serializable", {"register": get_checker("register")(register, CheckOptions())})[0] == "certified"


@pytest.mark.parametrize(("text", "message"), [
    ("rto_seconds = 8\navailabilty = 0.9999\n", ":2: availabilty: unknown claim; did you mean 'availability'?"),
    ("availability = '99.99%'\n", ":1: availability: expected a number, got str '99.99%'"),
    ("data_loss = 0.5\n", ":1: data_loss: expected an integer, got float 0.5"),
    ("availability = 2\n", ":1: availability: must be in (0, 1], got 2"),
    ("availability = \n", ":1: invalid TOML"),
])
def test_bad_claims_file_is_one_line_exit_255(capsys, tmp_path, text, message):
    path = claims_file(tmp_path, text)
    with pytest.raises(ClaimError):
        load_claims(path)
    hist = tmp_path / "h.jsonl"
    hist.write_text('{"type":"invoke","process":0,"f":"r"}\n{"type":"ok","process":0,"f":"r"}\n')
    code, _, err = run(capsys, "sla", "--claims", str(path), str(hist))
    assert code == 255 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"chaoscert: {path}{message}")


def test_sla_whose_reader_leaves_still_ends_with_its_verdict_and_report(tmp_path):
    """`chaoscert sla ... | true`: the table goes nowhere, the --json report is written and the exit code
    is the verdict (rich exited 1, which says violated, before the report was written)."""
    import subprocess
    import sys

    from checkers import write_history

    hist, out = tmp_path / "h.jsonl", tmp_path / "sla.json"
    write_history(TWO_FAULTS, hist)
    claims = str(claims_file(tmp_path, "rto_seconds = 8\n"))
    sla = subprocess.Popen([sys.executable, "-m", "chaos", "sla", "--claims", claims, str(hist), "--json", str(out)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert sla.stdout is not None
    sla.stdout.close()  # the reader leaves before the table is printed
    assert sla.wait(timeout=120) == 0
    assert [v["verdict"] for v in json.loads(out.read_text())["verdicts"]] == ["certified"]


def test_sla_cli_exit_codes_and_json(capsys, tmp_path):
    from checkers import write_history

    hist = tmp_path / "h.jsonl"
    write_history(TWO_FAULTS, hist)
    out = tmp_path / "sla.json"
    cases = [("rto_seconds = 8\n", 0), ("rto_seconds = 5\n", 1), ("rto_seconds = 8\navailability = 0.75\n", 2)]
    for text, want in cases:
        claims = str(claims_file(tmp_path, text))
        code, stdout, _ = run(capsys, "sla", "--claims", claims, str(hist), "--json", str(out))
        assert code == want, stdout
    report = json.loads(out.read_text())
    assert [v["verdict"] for v in report["verdicts"]] == ["certified", "inconclusive"]
    assert report["figures"]["availability"]["ratio"] == 0.75
