import pytest

from checkers import CheckOptions, read_history
from checkers.bank import check_bank
from tests.helpers import history, info, invoke, ok

JEPSEN = "elle-cli/histories/jepsen"


@pytest.mark.parametrize(("name", "valid", "errors"), [
    ("bank.edn", True, set()),
    ("bank.json", True, set()),
    ("bank-neg.edn", True, set()),
    ("bank-tidb.edn", False, {"wrong-total"}),
    ("bank-negative-balances.json", False, {"negative-value", "balance-mismatch"}),
])
def test_corpus_verdicts(corpus, name, valid, errors):
    result = check_bank(read_history(corpus / JEPSEN / name), CheckOptions())
    assert result.valid is valid
    assert set(result.details["errors"]) == errors


def test_tidb_money_appeared(corpus):
    money = check_bank(read_history(corpus / JEPSEN / "bank-tidb.edn"), CheckOptions()).details["money"]
    assert (money["expected-total"], money["final-total"], money["appeared"], money["vanished"]) == (100, 219, 119, 0)


def read(p, balances, **extra):
    return [invoke(p, "read"), ok(p, "read", balances, **extra)]


def transfer(p, frm, to, amount, end=ok, **value):
    v = {"from": frm, "to": to, "amount": amount, **value}
    return [invoke(p, "transfer", v), end(p, "transfer", v)]


def errors_of(*ops, **options):
    result = check_bank(history(*ops), CheckOptions(**options))
    return result.valid, result.details["errors"]


def test_each_error_class_minimal():
    valid, errs = errors_of(*read(0, {0: 10, 1: 0}), *read(0, {0: 10, 1: 0, 2: 0}))
    assert not valid and errs["unexpected-key"]["first"]["unexpected"] == [2]
    valid, errs = errors_of(*read(0, {0: 10, 1: 0}), *read(0, {0: 10, 1: None}))
    assert not valid and errs["nil-balance"]["first"]["nils"] == {1: None}
    valid, errs = errors_of(*read(0, {0: 10, 1: 0}), *read(0, {0: 10, 1: 3}), *read(0, {0: 10, 1: 1}))
    assert not valid and errs["wrong-total"]["count"] == 2
    assert errs["wrong-total"]["worst"]["total"] == 13 and errs["wrong-total"]["lowest"]["total"] == 11
    assert errs["wrong-total"]["first"]["op"]["index"] == 3 and errs["wrong-total"]["last"]["op"]["index"] == 5
    neg = [*read(0, {0: 10, 1: 0}), *transfer(0, 1, 0, 5), *read(0, {0: 15, 1: -5})]
    valid, errs = errors_of(*neg)
    assert not valid and errs["negative-value"]["first"]["negative"] == [-5]
    assert errors_of(*neg, allow_negative_balances=True) == (True, {})


def test_total_and_accounts_from_options():
    valid, errs = errors_of(*read(0, {0: 10, 1: 0}), total_amount=11, accounts=(0, 1))
    assert not valid and errs["wrong-total"]["first"]["total"] == 10
    valid, errs = errors_of(*read(0, {0: 10, 1: 1}), total_amount=11, accounts=(0,))
    assert not valid and set(errs) == {"unexpected-key"}


def test_lost_acknowledged_transfer_is_a_balance_mismatch():
    ops = [*read(0, {0: 10, 1: 0}), *transfer(0, 0, 1, 3), *read(0, {0: 10, 1: 0})]
    valid, errs = errors_of(*ops)
    assert not valid
    mismatch = errs["balance-mismatch"]
    assert mismatch["count"] == 2
    assert {(e["account"], e["off-by"]) for e in (mismatch["first"], mismatch["last"])} == {(0, 3), (1, -3)}


def test_indeterminate_and_concurrent_transfers_may_or_may_not_show():
    base = read(0, {0: 10, 1: 0})
    for shown in ({0: 10, 1: 0}, {0: 7, 1: 3}):
        assert errors_of(*base, *transfer(1, 0, 1, 3, end=info), *read(0, shown)) == (True, {})
        concurrent = [invoke(1, "transfer", {"from": 0, "to": 1, "amount": 3}), invoke(0, "read"),
                      ok(1, "transfer", {"from": 0, "to": 1, "amount": 3}), ok(0, "read", shown)]
        assert errors_of(*base, *concurrent) == (True, {})


def test_money_view_names_unreflected_transfers_only_with_ids():
    ops = [*read(0, {0: 10, 1: 0}), *transfer(0, 0, 1, 3, id="t1"), *transfer(0, 1, 0, 3, id="t2")]
    result = check_bank(history(*ops, invoke(0, "final-read"),
                                ok(0, "final-read", {0: 10, 1: 0}, **{"transfer-ids": ["t1"]})), CheckOptions())
    assert result.valid is True  # t1 and t2 cancel out: balances cannot show the loss
    assert [t["id"] for t in result.details["money"]["unreflected-transfers"]] == ["t2"]
    result = check_bank(history(*ops, *read(0, {0: 10, 1: 0})), CheckOptions())
    money = result.details["money"]
    assert money["unreflected-transfers"] is None and "cannot tell" in money["unreflected-cause"]


def test_no_reads_is_unknown():
    result = check_bank(history(*transfer(0, 0, 1, 3)), CheckOptions())
    assert result.valid == "unknown" and "no ok read" in result.cause


def test_first_error_is_the_first_bad_read_to_complete():
    """As in Jepsen, errors are in history order of the reads' completions, not of their invocations."""
    ops = [*read(2, {0: 10, 1: 0}), invoke(0, "read"), invoke(1, "read"), ok(1, "read", {0: 10, 1: 2}),
           ok(0, "read", {0: 10, 1: 1})]
    details = check_bank(history(*ops), CheckOptions()).details
    wrong = details["errors"]["wrong-total"]
    assert (wrong["first"]["total"], wrong["last"]["total"]) == (12, 11)
    assert details["first-error"] == wrong["first"]
