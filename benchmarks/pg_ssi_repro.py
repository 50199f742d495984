"""Try to reproduce PostgreSQL's SERIALIZABLE read-only anomaly with three concurrent connections.

The shape caught by ``benchmarks/pg_ssi_probe.py`` (tests/data/regressions/README.md)::

    W (out):   upsert a                      COMMIT
    P (pivot): r a (misses W)  upsert b                 COMMIT
    R (in):                              r a (sees W)  r b (misses P)  COMMIT

Each round uses fresh keys; the three roles start together (a barrier) with random sub-millisecond
jitter, so the real schedule varies around that one. A round is an anomaly when all three commit,
P missed W's append, R saw it and R missed P's. Starts its own PostgreSQL (unix socket only) in a
temporary directory and removes it at the end.

    /work/venv/bin/python benchmarks/pg_ssi_repro.py [--rounds 3000] [--seconds 60]
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
UPSERT = "INSERT INTO la (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE SET v = la.v || ',' || EXCLUDED.v"


def as_postgres(*argv: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, capture_output=True)


def read(cur: psycopg.Cursor, key: int) -> list[str]:
    row = cur.execute("SELECT v FROM la WHERE k = %s", (key,)).fetchone()
    return [] if row is None or not row[0] else row[0].split(",")


def role(name: str, conn: psycopg.Connection, a: int, b: int, jitter: float) -> dict:
    """One role of one round; its reads, or the error that stopped it."""
    time.sleep(jitter)
    seen: dict = {}
    try:
        with conn.cursor() as cur:
            if name == "W":
                cur.execute(UPSERT, (a, "w"))
            elif name == "P":
                seen["a"] = read(cur, a)
                time.sleep(random.uniform(0, 0.001))
                cur.execute(UPSERT, (b, "p"))
            else:
                seen["a"] = read(cur, a)
                seen["b"] = read(cur, b)
        time.sleep(random.uniform(0, 0.001))
        conn.commit()
        seen["ok"] = True
    except psycopg.errors.SerializationFailure:
        conn.rollback()
        seen["ok"] = False
    return seen


def run_role(results: dict, name: str, conn: psycopg.Connection, a: int, b: int) -> None:
    results[name] = role(name, conn, a, b, random.uniform(0, 0.002))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hot", action="store_true", help="the same two rows every round (long version chains)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="pgssi-repro-"))
    shutil.chown(home, "postgres")
    data, sock = home / "data", home
    as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    opts = f"-k {sock} -c listen_addresses='' -c deadlock_timeout=20ms -c default_transaction_isolation=serializable"
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(home / "log"), "-w", "start")
    try:
        conns = {n: psycopg.connect(host=str(sock), user="postgres", dbname="postgres") for n in "WPR"}
        for c in conns.values():
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with psycopg.connect(host=str(sock), user="postgres", dbname="postgres", autocommit=True) as setup:
            setup.execute("CREATE TABLE la (k BIGINT PRIMARY KEY, v TEXT)")
        anomalies = committed = 0
        deadline = time.monotonic() + args.seconds
        rounds = w_total = p_total = 0
        for rounds in range(1, args.rounds + 1):
            if time.monotonic() > deadline:
                break
            a, b = (0, 1) if args.hot else (2 * rounds, 2 * rounds + 1)
            with psycopg.connect(host=str(sock), user="postgres", dbname="postgres", autocommit=True) as setup:
                setup.execute("INSERT INTO la VALUES (%s, '0'), (%s, '0') ON CONFLICT DO NOTHING", (a, b))
            results: dict = {}
            threads = [threading.Thread(target=run_role, args=(results, n, conns[n], a, b)) for n in "WPR"]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            w, p, r = results["W"], results["P"], results["R"]
            if w["ok"] and p["ok"] and r["ok"]:
                committed += 1
                # earlier rounds are over: their appends are visible to all three (fresh keys: none)
                w_before, p_before = (w_total, p_total) if args.hot else (0, 0)
                if (p["a"].count("w") == w_before and r["a"].count("w") == w_before + 1
                        and r["b"].count("p") == p_before):
                    anomalies += 1
                    print(f"round {rounds}: anomaly keys {a},{b}: P read a={p['a'][-3:]}, "
                          f"R read a={r['a'][-3:]} b={r['b'][-3:]}")
            w_total += w["ok"]
            p_total += p["ok"]
        print(f"{rounds} rounds, {committed} with all three committed, {anomalies} anomalies")
    finally:
        as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
