"""Isolation controls on single servers: MariaDB 10.11 and PostgreSQL 15, list-append, 10 clients, 8 s.

Measured by hand first (../shared/controls.md) and again through chaoscert's runner:

- MariaDB REPEATABLE READ, ``innodb_snapshot_isolation=OFF`` (the 10.11 default) is not snapshot
  isolation: the SELECT reads the transaction's snapshot but the upsert modifies the latest row, so
  lost updates, internal inconsistencies, G-single-item and G2-item appear in every run.
- With ``innodb_snapshot_isolation=ON`` the conflicting write fails with error 1020 instead: only
  G2-item (write skew) remains, which snapshot isolation allows.
- MariaDB SERIALIZABLE: no anomaly (negative control).
- PostgreSQL REPEATABLE READ is snapshot isolation: G2-item only.
- PostgreSQL SERIALIZABLE: no anomaly other than G2-item may appear. About one run in ten holds one
  G2-item cycle, from a race in PostgreSQL's SSI commit path (made deterministic by
  ``benchmarks/pg_ssi_repro.py --stall``; tests/data/regressions/README.md), so an 8 s run may or
  may not hit it: the test asserts neither "clean" nor an anomaly, only what is sound either way.
"""

from __future__ import annotations

import pytest

from tests.controls.isolation import run_isolation

pytestmark = [pytest.mark.db, pytest.mark.root]

INNODB_RR_ANOMALIES = {"lost-update", "internal", "G-single-item", "G2-item"}


def _mariadb(snapshot_isolation: bool) -> dict:
    return {"settings": {"innodb_snapshot_isolation": snapshot_isolation}}


def test_mariadb_repeatable_read_is_not_snapshot_isolation(tmp_path):
    control = run_isolation(tmp_path, "mariadb", "repeatable-read", "snapshot-isolation", db_options=_mariadb(False))
    assert control.committed > 1000
    assert control.result.valid is False
    assert control.kinds >= INNODB_RR_ANOMALIES, control.anomalies


def test_mariadb_snapshot_isolation_flag_leaves_only_write_skew(tmp_path):
    control = run_isolation(tmp_path, "mariadb", "repeatable-read", "snapshot-isolation", db_options=_mariadb(True))
    assert control.committed > 1000
    assert control.result.valid is True
    assert control.kinds == {"G2-item"}, control.anomalies


def test_mariadb_serializable_is_clean(tmp_path):
    control = run_isolation(tmp_path, "mariadb", "serializable", "serializable")
    assert control.committed > 1000
    assert control.result.valid is True
    assert control.anomalies == {}


POSTGRES = {"settings": {"deadlock_timeout": "20ms"}}  # with a hot key the 1 s default cuts throughput 14x


def test_postgres_repeatable_read_is_snapshot_isolation(tmp_path):
    control = run_isolation(tmp_path, "postgres", "repeatable-read", "snapshot-isolation", db_options=POSTGRES)
    assert control.committed > 1000
    assert control.result.valid is True
    assert control.kinds == {"G2-item"}, control.anomalies


def test_postgres_serializable_smoke_run_no_anomaly_but_rare_g2_item(tmp_path):
    control = run_isolation(tmp_path, "postgres", "serializable", "snapshot-isolation", db_options=POSTGRES)
    assert control.committed > 1000
    assert control.result.valid is True
    assert control.kinds <= {"G2-item"}, control.anomalies
