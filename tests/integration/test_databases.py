"""Each database adapter on a real cluster: up and ready, kill -9 one node and see it come back
(both times printed), and for Galera a partitioned minority node that turns non-Primary, refuses
writes (1047) and rejoins after the heal. Clusters run in network namespaces or containers made by
the test; nothing is left behind (checked after each cluster).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pymysql
import pytest

from clusters.ledger import Ledger
from clusters.remote import Node
from tests.conftest import command_lines, require
from tests.integration.test_backends import ensure_docker

pytestmark = [pytest.mark.db, pytest.mark.root]


@pytest.fixture(scope="module", autouse=True)
def _private_state(state):
    return state


def _leftovers(run_dir: Path, tag: str) -> list[str]:
    found = [f"namespace {ns}" for ns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                                        text=True).stdout.split() if tag in ns]
    found += [f"process {pid} {line}" for pid, line in command_lines().items() if str(run_dir) in line]
    with contextlib.suppress(Exception):
        import docker

        found += [f"container {c.name}" for c in docker.from_env(timeout=10).containers.list(all=True)
                  if tag in c.name]
    return found


@contextlib.contextmanager
def db_cluster(backend: str, make_db: Callable[[str], object], count: int) -> Iterator[tuple[object, list[Node]]]:
    """Nodes on ``backend`` with the database set up (time printed); everything removed after."""
    require(os.geteuid() == 0, "database clusters need root (namespaces, users, iptables)")
    if backend == "docker":
        ensure_docker()
    ledger = Ledger()
    run_dir = Path(tempfile.mkdtemp(prefix="chaoscert-dbs-", dir="/var/tmp"))
    run_dir.chmod(0o755)  # mysql and postgres must reach their folders on the netns backend
    ledger.record("path", str(run_dir), path=str(run_dir))
    if backend == "netns":
        from clusters.netns import NetnsBackend

        made = NetnsBackend(ledger)
    else:
        from clusters.docker_backend import DockerBackend

        made = DockerBackend(ledger)
    tag = made.suffix
    db = make_db(str(run_dir))
    nodes: list[Node] = []
    try:
        nodes = made.create(count, run_dir)
        started = time.monotonic()
        db.setup(nodes)
        print(f"\n{db.name} on {backend}: {count} nodes ready in {time.monotonic() - started:.2f} s")
        yield db, nodes
    finally:
        try:
            if nodes:
                for node in nodes:
                    db.collect_logs(node, run_dir / "logs" / node.name)
                db.teardown(nodes)
        finally:
            assert made.destroy() == []
            assert ledger.release_all() == []
            assert _leftovers(run_dir, tag) == []


def kill_and_restart(db, node: Node) -> tuple[float, float]:
    """kill -9 then start; returns (seconds until the process was gone, seconds until ready again)."""
    started = time.monotonic()
    db.kill(node)
    assert node.remote.wait_stopped(db_daemon(db), 30)
    gone = time.monotonic() - started
    db.start(node)
    return gone, time.monotonic() - started


def db_daemon(db) -> str:
    return {"galera": "mariadbd", "mariadb-async": "mariadbd", "etcd": "etcd", "postgres": "postgres",
            "seekdb": "seekdb"}[db.name]


def mysql(db, node: Node):
    e = db.endpoint(node)
    return pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, database="jepsen",
                           connect_timeout=3, read_timeout=5, write_timeout=5, autocommit=True)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 40.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {timeout} s")


# ---------------------------------------------------------------- Galera

@pytest.mark.parametrize("backend", ["netns", pytest.param("docker", marks=pytest.mark.docker)])
def test_galera_kill_and_partition(backend):
    from clusters.galera import Galera

    with db_cluster(backend, lambda root: Galera(root, sync_wait=1), 3) as (db, nodes):
        n1, n2, n3 = nodes
        assert db.primaries(nodes) == nodes
        with mysql(db, n1) as c, c.cursor() as cur:
            cur.execute("CREATE TABLE kv (k INT PRIMARY KEY, v INT)")
            cur.execute("INSERT INTO kv VALUES (1, 1)")
        gone, back = kill_and_restart(db, n3)
        print(f"galera on {backend}: kill -9 n3 gone in {gone:.2f} s, back Synced (IST) in {back:.2f} s")
        assert db.wsrep(n3)["wsrep_local_state_comment"] == "Synced"
        with mysql(db, n3) as c, c.cursor() as cur:
            cur.execute("SELECT v FROM kv WHERE k = 1")
            assert cur.fetchall() == ((1,),)

        rules = [[chain, flag, peer.address, "-j", "DROP", "-m", "comment", "--comment", "chaoscert-test-partition"]
                 for peer in (n1, n2) for chain, flag in (("INPUT", "-s"), ("OUTPUT", "-d"))]
        try:
            for rule in rules:
                n3.remote.run(["iptables", "-w", "5", "-A", *rule])
            cut = wait_for("non-Primary", lambda: db.wsrep(n3)["wsrep_cluster_status"] == "non-Primary")
            assert db.primaries(nodes) == [n1, n2]
            with mysql(db, n3) as c, c.cursor() as cur, pytest.raises(pymysql.err.MySQLError) as refused:
                cur.execute("INSERT INTO kv VALUES (2, 2)")
            assert refused.value.args[0] == 1047
            with mysql(db, n1) as c, c.cursor() as cur:
                cur.execute("INSERT INTO kv VALUES (3, 3)")
        finally:
            for rule in rules:
                n3.remote.run(["iptables", "-w", "5", "-D", *rule], check=False)
        assert "chaoscert-test-partition" not in n3.remote.run(["iptables", "-S"]).stdout
        healed = wait_for("Synced again", lambda: db._synced(n3, 3) is None)
        print(f"galera on {backend}: partitioned n3 non-Primary after {cut:.2f} s, Synced {healed:.2f} s after heal")
        with mysql(db, n3) as c, c.cursor() as cur:
            cur.execute("SELECT k FROM kv ORDER BY k")
            assert cur.fetchall() == ((1,), (3,))


_FAIL_FIRST_JOIN = """#!/bin/bash
# A joiner's first state transfer on each node exits 1 before a word, as wsrep_sst_rsync once did in CI.
if [ "$2" = joiner ] && mkdir "$(dirname "$0")/failed-$4" 2>/dev/null; then exit 1; fi
exec /usr/bin/wsrep_sst_rsync "$@"
"""


def test_galera_join_retries_a_failed_state_transfer():
    from clusters.galera import Galera

    scripts = Path(tempfile.mkdtemp(prefix="chaoscert-sst-", dir="/var/tmp"))
    scripts.chmod(0o777)  # the script runs as mysql and leaves its marker here
    (scripts / "wsrep_sst_failonce").write_text(_FAIL_FIRST_JOIN)
    (scripts / "wsrep_sst_failonce").chmod(0o755)

    class FirstJoinFails(Galera):
        def setup(self, nodes):
            self.sst_method = "failonce"  # the donor's side passes through to rsync
            for node in nodes:
                node.remote.daemon_env["PATH"] = f"{scripts}:/usr/sbin:/usr/bin:/sbin:/bin"
            super().setup(nodes)

    try:
        with db_cluster("netns", FirstJoinFails, 2) as (db, nodes):
            n2 = nodes[1]
            assert [p.name for p in scripts.glob("failed-*")] == [f"failed-{n2.address}"]
            log = n2.remote.run(["cat", f"{db.home(n2)}/error.log"]).stdout
            assert log.count("SST request callback failed") == 1
            assert db._synced(n2, 2) is None
    finally:
        subprocess.run(["rm", "-rf", str(scripts)], check=True)


# ---------------------------------------------------------------- etcd

def test_etcd_kill_leader():
    import base64

    import httpx

    from clusters.etcd import Etcd

    def b64(s: str) -> str:
        return base64.b64encode(s.encode()).decode()

    with db_cluster("netns", Etcd, 3) as (db, nodes):
        leaders = db.primaries(nodes)
        assert len(leaders) == 1
        leader = leaders[0]
        follower = next(n for n in nodes if n != leader)
        put = httpx.post(f"{db.url(leader)}/v3/kv/put", json={"key": b64("x"), "value": b64("1")}, timeout=2)
        assert put.is_success
        gone, back = kill_and_restart(db, leader)
        elected = wait_for("a new leader", lambda: len(db.primaries(nodes)) == 1)
        print(f"etcd on netns: kill -9 leader gone in {gone:.2f} s, restarted member ready in {back:.2f} s")
        read = httpx.post(f"{db.url(follower)}/v3/kv/range", json={"key": b64("x")}, timeout=2).json()
        assert base64.b64decode(read["kvs"][0]["value"]) == b"1"
        assert db.primaries(nodes), elected


# ---------------------------------------------------------------- PostgreSQL

def test_postgres_kill_primary_and_promote():
    import psycopg

    from clusters.postgres import Postgres

    def connect(db, node):
        e = db.endpoint(node)
        return psycopg.connect(host=e.host, port=e.port, user=e.user, password=e.password, dbname="jepsen",
                               connect_timeout=3, autocommit=True)

    with db_cluster("netns", lambda root: Postgres(root, synchronous=True), 2) as (db, nodes):
        primary, replica = nodes
        assert db.primaries(nodes) == [primary]
        with connect(db, primary) as c:
            c.execute("CREATE TABLE kv (k INT PRIMARY KEY, v INT)")
            c.execute("INSERT INTO kv VALUES (1, 1)")  # synchronous: on the replica once acknowledged
        gone, back = kill_and_restart(db, primary)
        print(f"postgres on netns: kill -9 primary gone in {gone:.2f} s, accepting connections in {back:.2f} s")
        with connect(db, primary) as c:
            c.execute("INSERT INTO kv VALUES (2, 2)")
        with connect(db, replica) as c, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            c.execute("INSERT INTO kv VALUES (3, 3)")
        db.kill(primary)
        started = time.monotonic()
        db.promote(replica)
        print(f"postgres on netns: replica promoted in {time.monotonic() - started:.2f} s")
        assert db.primaries(nodes) == [replica]
        with connect(db, replica) as c:
            c.execute("INSERT INTO kv VALUES (3, 3)")
            assert c.execute("SELECT k FROM kv ORDER BY k").fetchall() == [(1,), (2,), (3,)]


# ---------------------------------------------------------------- MariaDB async replication

def test_mariadb_async_kill_and_promote():
    from clusters.mariadb import MariaDBAsync

    with db_cluster("netns", MariaDBAsync, 2) as (db, nodes):
        primary, replica = nodes
        assert db.primaries(nodes) == [primary]
        with mysql(db, primary) as c, c.cursor() as cur:
            cur.execute("CREATE TABLE kv (k INT PRIMARY KEY, v INT)")
            cur.execute("INSERT INTO kv VALUES (1, 1)")
        gone, back = kill_and_restart(db, replica)
        print(f"mariadb-async on netns: kill -9 replica gone in {gone:.2f} s, replicating again in {back:.2f} s")
        db.wait_caught_up(replica)
        with mysql(db, replica) as c, c.cursor() as cur:
            with pytest.raises(pymysql.err.MySQLError) as refused:
                cur.execute("INSERT INTO kv VALUES (2, 2)")
            assert refused.value.args[0] == 1290  # read-only
            cur.execute("SELECT k FROM kv")
            assert cur.fetchall() == ((1,),)
        db.kill(primary)
        db.promote(replica)
        assert db.primaries(nodes) == [replica]
        with mysql(db, replica) as c, c.cursor() as cur:
            cur.execute("INSERT INTO kv VALUES (2, 2)")


# ---------------------------------------------------------------- seekdb

@pytest.mark.docker
def test_seekdb_on_docker_kill():
    from clusters.seekdb import SeekDB

    with db_cluster("docker", lambda root: SeekDB(Path(root)), 1) as (db, nodes):
        gone, back = kill_and_restart(db, nodes[0])
        print(f"seekdb on docker: kill -9 gone in {gone:.2f} s, ready again in {back:.2f} s")
        assert db.primaries(nodes) == nodes



def test_seekdb_standby_replicates_and_fails_over():
    """Primary/standby on netns: a row written on the primary shows on the standby; after kill -9 of
    the primary, ACTIVATE STANDBY makes the standby a writable primary."""
    from clusters.seekdb import SeekDB

    def sql(db, node, statement):
        e = db.endpoint(node)
        conn = pymysql.connect(host=e.host, port=e.port, user=e.user, password=e.password, connect_timeout=3,
                               read_timeout=10, autocommit=True)
        with conn, conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall()

    with db_cluster("netns", lambda root: SeekDB(Path(root), standby=True), 2) as (db, nodes):
        primary, standby = nodes
        assert (db.role(primary), db.role(standby)) == ("PRIMARY", "STANDBY")
        sql(db, primary, "CREATE DATABASE IF NOT EXISTS sbt")
        sql(db, primary, "CREATE TABLE sbt.t (k INT PRIMARY KEY)")
        sql(db, primary, "INSERT INTO sbt.t VALUES (1)")
        shipped = wait_for("replicated", lambda: sql(db, standby, "SELECT k FROM sbt.t") == ((1,),))
        with pytest.raises(pymysql.err.MySQLError):
            sql(db, standby, "INSERT INTO sbt.t VALUES (2)")  # a standby is read only
        db.kill(primary)
        assert primary.remote.wait_stopped("seekdb", 30)
        started = time.monotonic()
        db.promote(standby)
        sql(db, standby, "INSERT INTO sbt.t VALUES (3)")
        print(f"seekdb standby: row shipped in {shipped:.2f} s; failover to a write {time.monotonic() - started:.2f} s")
        assert db.primaries([standby]) == [standby]
