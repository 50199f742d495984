from chaos.report.figures import bank_money, throughput
from chaos.run.interpreter import check_completion
from checkers.history import Op
from checkers.registry import CheckOptions, get_checker
from tests.helpers import fail, history, info, invoke, ok


def run_history(final_ids):
    t = {"from": 0, "to": 1, "amount": 5}
    return history(
        invoke(0, "transfer", {**t, "id": 1}, time=0), ok(0, "transfer", {**t, "id": 1}, time=1_000_000),
        info("nemesis", "kill", "one", time=2_000_000_000), info("nemesis", "kill", ["n1"], time=2_100_000_000),
        invoke(1, "transfer", {**t, "id": 2}, time=2_200_000_000),
        fail(1, "transfer", {**t, "id": 2}, time=2_300_000_000),
        invoke(0, "transfer", {**t, "id": 3}, time=2_400_000_000),
        info(0, "transfer", {**t, "id": 3}, time=2_500_000_000),
        info("nemesis", "start", "all", time=4_000_000_000), info("nemesis", "start", ["n1"], time=6_000_000_000),
        invoke(2, "read", None, time=6_100_000_000), ok(2, "read", {0: 90, 1: 110}, time=6_600_000_000),
        invoke(3, "final-read", None, time=7_000_000_000),
        ok(3, "final-read", {0: 90, 1: 110}, time=7_100_000_000, **{"transfer-ids": final_ids}),
    )


def test_recovery_is_until_every_affected_client_is_answered_again():
    """Clients 0 (info at 2.5 s, process 2 after it) and 1 (fail at 2.3 s, process 3 after it) went
    unanswered after the kill invoked at 2 s; client 0 is answered at 6.6 s, client 1 at 7.1 s."""
    from checkers.sla import sla_figures

    (r,) = sla_figures(run_history([1, 3])).recoveries
    assert (r.fault.kind, r.fault.start_ns, r.fault.end_ns, r.affected) == ("kill", 2_000_000_000, 6_000_000_000,
                                                                            (0, 1))
    assert (r.first_answer_ns, r.rto_ns, r.heal_to_recovery_ns) == (4_600_000_000, 5_100_000_000, 1_100_000_000)


def test_throughput_and_money():
    h = run_history([1, 3])
    assert throughput(h)["by-type"] == {"ok": 3, "fail": 1, "info": 1}
    assert bank_money(h, 200)["money-delta"] == 0
    assert bank_money(h, 210)["money-delta"] == -10


def test_bank_log_finds_lost_acknowledged_and_committed_failed_transfers():
    check = get_checker("bank-log")
    good = check(run_history([1, 3]), CheckOptions())
    assert good.valid is True and good.details["indeterminate-committed"] == 1
    lost = check(run_history([3]), CheckOptions())
    assert lost.valid is False and lost.details["lost"] == [1]
    aborted = check(run_history([1, 2]), CheckOptions())
    assert aborted.valid is False and aborted.details["failed-but-committed"] == [2]
    assert check(history(invoke(0, "read"), ok(0, "read", {0: 1})), CheckOptions()).valid == "unknown"


def test_completion_that_changes_process_or_f_is_reported():
    inv = Op(3, 0, "invoke", 1, "read")
    assert check_completion(inv, Op(4, 1, "ok", 1, "read")) == []
    assert len(check_completion(inv, Op(4, 1, "done", 2, "write"))) == 3
    assert check_completion(inv, None)
