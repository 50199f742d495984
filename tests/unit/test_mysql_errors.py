import inspect

import pymysql
import pytest

from workloads.mysql import ERRORS, classify


@pytest.mark.parametrize("cls", [c for _, c in inspect.getmembers(pymysql.err, inspect.isclass)
                                 if issubclass(c, pymysql.err.MySQLError)])
def test_every_driver_exception_class_gets_an_outcome(cls):
    for committing in (False, True):
        got = classify(cls(99999, "made up"), committing=committing)
        if cls is pymysql.err.InterfaceError:  # pymysql's "connection is closed"
            assert (got.type, got.error) == ("info" if committing else "fail", "lost-connection: made up")
        else:  # a code the table does not know
            assert got.type == "info" and got.error.startswith("indeterminate: ")


def test_lost_connection_or_timeout_during_commit_is_info_never_fail():
    for exc in (pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query (timed out)"),
                pymysql.err.OperationalError(4012, "Timeout"), TimeoutError(), TimeoutError(),
                pymysql.err.InterfaceError(0, "")):
        assert classify(exc, committing=True).type == "info"


def test_before_commit_lost_connection_is_fail():
    assert classify(pymysql.err.OperationalError(2013, "Lost connection"), committing=False).type == "fail"


def test_definite_failures():
    assert classify(pymysql.err.OperationalError(2003, "Can't connect"), committing=True).type == "fail"
    assert classify(pymysql.err.OperationalError(1213, "Deadlock found"), committing=True).type == "fail"
    assert classify(pymysql.err.OperationalError(1020, "Record has changed since last read"),
                    committing=False).type == "fail"
    assert classify(ConnectionRefusedError(), committing=True).type == "fail"
    assert classify(ValueError("strange"), committing=False).error.startswith("indeterminate: ValueError")


def test_table_outcomes_and_answers():
    """Aborts (the server refused the transaction) are definite answers; nothing else is."""
    assert {outcome for outcome, _ in ERRORS.values()} == {"abort", "fail", "info"}
    aborts = {name for outcome, name in ERRORS.values() if outcome == "abort"}
    assert aborts == {"deadlock", "lock-wait-timeout", "record-changed", "transaction-set-violation"}
    for code, (outcome, name) in ERRORS.items():
        got = classify(pymysql.err.OperationalError(code, "x"), committing=True)
        assert (got.type, got.answered) == (("fail", True) if outcome == "abort" else (outcome, False)), name
