"""What a Galera node looks like from outside, for the nemesis tests on netns and Docker."""

from __future__ import annotations

import time

import pymysql


def query_seconds(db, node, timeout: float = 3.0) -> float | None:
    """Seconds a new client's connect + ``SELECT 1`` over TCP took, None if no answer within ``timeout``."""
    e = db.endpoint(node)
    started = time.monotonic()
    try:
        conn = pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=timeout,
                               read_timeout=timeout, write_timeout=timeout)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    except pymysql.err.OperationalError:
        return None
    return time.monotonic() - started


def wait_status(db, node, want: str, timeout: float) -> float:
    """Seconds until the node's ``wsrep_cluster_status`` is ``want`` (Primary, non-Primary)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if db.status(node, "wsrep_cluster_status").get("wsrep_cluster_status") == want:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{node.name} not {want} after {timeout} s")
