"""Try to reproduce PostgreSQL's SERIALIZABLE read-only anomaly with three concurrent connections.

The shape caught by ``benchmarks/pg_ssi_probe.py`` (tests/data/regressions/README.md)::

    W (out):   upsert a                      COMMIT
    P (pivot): r a (misses W)  upsert b                 COMMIT
    R (in):                              r a (sees W)  r b (misses P)  COMMIT

Each round uses fresh keys; the three roles start together (a barrier) with random sub-millisecond
jitter, so the real schedule varies around that one. A round is an anomaly when all three commit,
P missed W's append, R saw it and R missed P's. Starts its own PostgreSQL (unix socket only) in a
temporary directory and removes it at the end.

``--replay LOG`` instead replays a window of a caught run recorded with ``log_statement = all``
(``pg_ssi_probe.py --log-all``): every transaction that touched one of ``--keys`` between ``--start``
and ``--end``, whole, one connection per original backend, each statement issued in the logged order
(the next one goes once the previous returned or has blocked for ``--gap`` ms). Rows start as the run's
history last read them before the window. Each round's transactions become a history that
chaoscert's list-append checker judges at serializable.

``--stall`` makes the anomaly deterministic: gdb holds W's backend at ``ReleasePredicateLocks``
during its COMMIT, i.e. after W became visible to new snapshots but before SSI marks it committed;
R takes its snapshot and P commits meanwhile (see :func:`stalled`; needs gdb and root).

    /work/venv/bin/python benchmarks/pg_ssi_repro.py [--rounds 3000] [--seconds 60]
    /work/venv/bin/python benchmarks/pg_ssi_repro.py --replay RUN/logs/n1/postgres.log --keys 21,29,31 \
        --start 04:39:26.240 --end 04:39:26.290 [--rounds 200]
    /work/venv/bin/python benchmarks/pg_ssi_repro.py --stall [--release after-p|before-p|after-r|none] \
        [--rounds 30] [--write-history FILE.jsonl]

With ``--write-history`` the rounds of one ``--stall`` run are saved as one history (``--rounds 1``: the
smallest one); tests/controls/test_postgres_ssi_race.py runs these schedules in CI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkers.formats import write_history
from checkers.history import History, Op
from checkers.registry import CheckOptions, get_checker

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


@contextlib.contextmanager
def server() -> Iterator[Path]:
    """A private PostgreSQL 15 at SERIALIZABLE on a unix socket in a temporary directory: its socket dir."""
    home = Path(tempfile.mkdtemp(prefix="pgssi-repro-"))
    shutil.chown(home, "postgres")
    data = home / "data"
    as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    opts = f"-k {home} -c listen_addresses='' -c deadlock_timeout=20ms -c default_transaction_isolation=serializable"
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(home / "log"), "-w", "start")
    try:
        yield home
    finally:
        as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(home, ignore_errors=True)


def connect(sock: Path, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(host=str(sock), user="postgres", dbname="postgres", **kwargs)  # type: ignore[arg-type]


def three_roles(args: argparse.Namespace) -> None:
    with server() as sock:
        conns = {n: connect(sock) for n in "WPR"}
        for c in conns.values():
            c.isolation_level = psycopg.IsolationLevel.SERIALIZABLE
        with connect(sock, autocommit=True) as setup:
            setup.execute("CREATE TABLE la (k BIGINT PRIMARY KEY, v TEXT)")
        anomalies = committed = 0
        deadline = time.monotonic() + args.seconds
        rounds = w_total = p_total = 0
        for rounds in range(1, args.rounds + 1):
            if time.monotonic() > deadline:
                break
            a, b = (0, 1) if args.hot else (2 * rounds, 2 * rounds + 1)
            with connect(sock, autocommit=True) as setup:
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


LINE = re.compile(r"^\S+ (\d\d:\d\d:\d\d\.\d+) \S+ \[(\d+)\] (\d+/\d+)/\d+ (LOG|DETAIL|ERROR):  (.*)$")
PARAM = re.compile(r"\$(\d+) = '([^']*)'")


@dataclass
class Statement:
    at: str          # logged time of day
    txn: str         # pid/vxid
    pid: str
    kind: str        # begin, r, append, commit, rollback
    key: int | None = None
    value: int | None = None


@dataclass
class Replayed:
    """One replayed transaction: its micro-ops (reads filled in) and outcome."""

    pid: str
    mops: list[list] = field(default_factory=list)
    outcome: str = "ok"
    start: int = 0
    end: int = 0


def parse_log(path: Path) -> list[Statement]:
    """The la-table statements of a ``log_statement = all`` server log, in logged order."""
    statements: list[Statement] = []
    pending: Statement | None = None
    current: dict[str, str] = {}  # pid -> its open transaction (a ROLLBACK after an error logs vxid n/0)
    for line in path.read_text(errors="replace").splitlines():
        m = LINE.match(line)
        if not m:
            continue
        at, pid, vxid, level, text = m.groups()
        if level == "LOG" and "statement: BEGIN" in text:
            current[pid] = f"{pid}/{vxid}"
        txn = current.get(pid, f"{pid}/{vxid}")
        if level == "DETAIL" and pending is not None and text.startswith("parameters:"):
            params = dict(PARAM.findall(text))
            pending.key = int(params["1"])
            if pending.kind == "append":
                pending.value = int(params["2"])
            statements.append(pending)
            pending = None
            continue
        pending = None
        if level != "LOG":
            continue
        body = text.split(": ", 1)[1] if ": " in text else text
        if body.startswith("BEGIN"):
            statements.append(Statement(at, txn, pid, "begin"))
        elif body in ("COMMIT", "ROLLBACK"):
            statements.append(Statement(at, txn, pid, body.lower()))
        elif body.startswith("SELECT v FROM la"):
            pending = Statement(at, txn, pid, "r")
        elif body.startswith("INSERT INTO la"):
            pending = Statement(at, txn, pid, "append")
    return statements


def window(statements: list[Statement], keys: set[int], start: str, end: str) -> list[Statement]:
    """Whole transactions that touched ``keys`` (any key if empty) between ``start`` and ``end``
    (ended ones only)."""
    chosen = {s.txn for s in statements if (s.key in keys or (not keys and s.key is not None))
              and start <= s.at <= end}
    picked = [s for s in statements if s.txn in chosen]
    ended = {s.txn for s in picked if s.kind in ("commit", "rollback")}
    begun = {s.txn for s in picked if s.kind == "begin"}
    return [s for s in picked if s.txn in ended & begun]


def initial_rows(history: Path, statements: list[Statement]) -> dict[int, list[int]]:
    """Each key's state before the window: its longest list read (by an ok txn) holding none of the
    window's appends."""
    appended: dict[int, set[int]] = {}
    for s in statements:
        if s.key is not None:
            appended.setdefault(s.key, set())
            if s.kind == "append":
                appended[s.key].add(s.value)  # type: ignore[arg-type]
    rows: dict[int, list[int]] = {k: [] for k in appended}
    for line in history.read_text().splitlines():
        op = json.loads(line)
        if op["type"] != "ok":
            continue
        for f, k, v in op["value"]:
            if f == "r" and k in appended and v and len(v) > len(rows[k]) and not appended[k] & set(v):
                rows[k] = v
    return rows


def replay_round(sock: Path, statements: list[Statement], rows: dict[int, list[int]], gap: float) -> list[Replayed]:
    """Replay ``statements`` once on fresh rows, one thread and connection per original backend."""
    with connect(sock, autocommit=True) as setup:
        setup.execute("DROP TABLE IF EXISTS la")
        setup.execute("CREATE TABLE la (k BIGINT PRIMARY KEY, v TEXT)")
        for k, v in rows.items():
            setup.execute("INSERT INTO la VALUES (%s, %s)", (k, ",".join(map(str, v)) or None))
    pids = sorted({s.pid for s in statements})
    conns = {pid: connect(sock, autocommit=True, options="-c statement_timeout=5s") for pid in pids}
    done = [False] * len(statements)
    started = [0.0] * len(statements)
    cond = threading.Condition()
    txns: dict[str, Replayed] = {}
    t0 = time.monotonic_ns()

    inflight = dict.fromkeys(pids, 0.0)  # pid -> when its current statement began (0: idle)

    def may_go(i: int) -> bool:
        """Statement i goes once the one before it returned or has blocked for ``gap``; one not begun
        because its connection is still blocked on an earlier statement is passed over."""
        now = time.monotonic()
        for j in range(i - 1, -1, -1):
            if started[j] > 0:
                return done[j] or now - started[j] > gap
            owner = inflight[statements[j].pid]
            if not (owner > 0 and now - owner > gap):
                return False
        return True

    def worker(pid: str) -> None:
        cur = conns[pid].cursor()
        for i, s in enumerate(statements):
            if s.pid != pid:
                continue
            with cond:
                while not may_go(i):
                    cond.wait(gap / 4)
                started[i] = inflight[pid] = time.monotonic()
                cond.notify_all()
            txn = txns.setdefault(s.txn, Replayed(pid, start=time.monotonic_ns() - t0))
            try:
                if txn.outcome != "ok":
                    pass  # aborted earlier: skip the rest (its ROLLBACK included)
                elif s.kind == "begin":
                    cur.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                elif s.kind == "r":
                    row = cur.execute("SELECT v FROM la WHERE k = %s", (s.key,)).fetchone()
                    txn.mops.append(["r", s.key, [] if row is None or not row[0] else
                                     [int(x) for x in row[0].split(",")]])
                elif s.kind == "append":
                    cur.execute("INSERT INTO la (k, v) VALUES (%s, %s) ON CONFLICT (k) DO UPDATE "
                                "SET v = la.v || ',' || EXCLUDED.v", (s.key, str(s.value)))
                    txn.mops.append(["append", s.key, s.value])
                else:
                    cur.execute(s.kind.upper())
                    txn.outcome = "ok" if s.kind == "commit" else "fail"
                    txn.end = time.monotonic_ns() - t0
            except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                    psycopg.errors.QueryCanceled):
                cur.execute("ROLLBACK")
                txn.outcome, txn.end = "fail", time.monotonic_ns() - t0
            with cond:
                done[i], inflight[pid] = True, 0.0
                cond.notify_all()

    threads = [threading.Thread(target=worker, args=(pid,)) for pid in pids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns.values():
        c.close()
    return list(txns.values())


def as_history(rows: dict[int, list[int]], txns: list[Replayed]) -> History:
    """The round as a list-append history: a setup txn appending the initial lists, then the replay."""
    setup = [["append", k, x] for k, v in rows.items() for x in v]
    ops: list[Op] = [Op(0, 0, "invoke", 100, "txn", setup), Op(1, 1, "ok", 100, "txn", setup)]
    events = []
    for n, t in enumerate(txns):
        events.append((t.start, "invoke", n, t))
        events.append((t.end, t.outcome, n, t))
    for when, kind, n, t in sorted(events, key=lambda e: (e[0], e[1] != "invoke")):
        value = [[f, k, None if f == "r" else v] for f, k, v in t.mops] if kind == "invoke" else t.mops
        ops.append(Op(len(ops), 2 + when, kind, n, "txn", value))
    return History.of(ops)


def replay(args: argparse.Namespace) -> None:
    keys = {int(k) for k in args.keys.split(",") if k}
    statements = window(parse_log(args.replay), keys, args.start, args.end)
    rows = initial_rows(args.history or args.replay.parents[2] / "history.jsonl", statements)
    touched = sorted(rows)
    print(f"replaying {len({s.txn for s in statements})} txns, {len(statements)} statements, "
          f"{len({s.pid for s in statements})} connections, keys {touched}", flush=True)
    check = get_checker("list-append")
    caught = committed = 0
    deadline = time.monotonic() + args.seconds
    with server() as sock:
        for n in range(1, args.rounds + 1):
            if time.monotonic() > deadline:
                n -= 1
                break
            txns = replay_round(sock, statements, rows, args.gap / 1000)
            committed += sum(t.outcome == "ok" for t in txns)
            result = check(as_history(rows, txns), CheckOptions(consistency_models=("serializable",)))
            if not result.valid:
                caught += 1
                kinds = {k: len(v) for k, v in (result.details.get("anomalies") or {}).items()}
                print(f"round {n}: {kinds}", flush=True)
    print(f"{n} replay rounds, {committed} txns committed, {caught} rounds not serializable")


class Stall:
    """gdb holding one backend at the start of ``ReleasePredicateLocks``: at COMMIT that is after
    ``ProcArrayEndTransaction`` (the commit is visible to new snapshots) and before SSI marks the
    transaction committed and releases its rw-conflicts."""

    def __init__(self, pid: int) -> None:
        self.gdb = subprocess.Popen(["gdb", "-q", "-nx", "-p", str(pid)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.gdb.stdout or ()],
                         daemon=True).start()
        self._send("set pagination off", "set confirm off", "break ReleasePredicateLocks", "continue")

    def _send(self, *commands: str) -> None:
        assert self.gdb.stdin is not None
        self.gdb.stdin.write("".join(f"{c}\n" for c in commands))
        self.gdb.stdin.flush()

    def wait_for(self, text: str, timeout: float = 10.0) -> None:
        """Block until gdb prints ``text``: "Continuing." (attached, breakpoint set, backend running)
        or "Breakpoint 1, " (the backend is held)."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Empty):
            while text not in self.lines.get(timeout=max(0.0, deadline - time.monotonic())):
                pass
            return
        raise RuntimeError(f"gdb: no {text!r} within {timeout:g} s")

    def release(self) -> None:
        self._send("delete", "detach", "quit")
        try:
            self.gdb.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.gdb.kill()  # our own gdb; killing it detaches and lets the backend run on
            self.gdb.wait()


PROBE = "SELECT pg_current_xact_id_if_assigned()::text, pg_current_snapshot()::text, pg_backend_pid()"


def stalled(args: argparse.Namespace) -> None:
    """The read-only anomaly made deterministic by holding W's COMMIT inside the server (gdb)::

        P: BEGIN; r a                        ; append b ;                 COMMIT
        W:          BEGIN; append a ; COMMIT -> held once visible ........... released
        R:                                     BEGIN; r a (sees W) ;                  r b ; COMMIT

    ``--release`` moves the release of W: ``after-p`` (above), ``before-p`` (W finishes its commit
    before P commits) or ``after-r`` (after R's read of b). Rows start as [0]; W appends 1 to a, P
    appends 2 to b; with ``--r-appends`` R appends 3 to a before reading it (R then writes:
    P -rw-> W -ww-> R -rw-> P). Each round's three transactions go to chaoscert's list-append checker.
    """
    outcomes: dict[str, int] = {}
    check = get_checker("list-append")
    held: list[HeldRound] = []
    with server() as sock:
        with connect(sock, autocommit=True) as setup:
            setup.execute("CREATE TABLE la (k BIGINT PRIMARY KEY, v TEXT)")
        conns = {n: connect(sock, autocommit=True) for n in "WPR"}
        cur = {n: c.cursor() for n, c in conns.items()}
        w_pid = cur["W"].execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        t0 = time.monotonic_ns()
        for n in range(1, args.rounds + 1):
            a, b = 2 * n, 2 * n + 1
            at = time.monotonic_ns() - t0
            cur["P"].execute("INSERT INTO la VALUES (%s, '0'), (%s, '0')", (a, b))
            result, txns, extra = stalled_round(cur, w_pid, a, b, args.release, args.r_appends, t0)
            held.append(HeldRound(a, b, at, txns, extra))
            verdict = check(stalled_history(held[-1:]), CheckOptions(consistency_models=("serializable",)))
            kinds = {k: len(v) for k, v in (verdict.details.get("anomalies") or {}).items()}
            key = re.sub(r"\d+", "N", result) + f", checker: {'valid' if verdict.valid else kinds}"
            outcomes[key] = outcomes.get(key, 0) + 1
            print(f"round {n}: {key}; " + "; ".join(f"{k} {t.mops} {extra.get(k, {})}" for k, t in txns.items()),
                  flush=True)
        for c in conns.values():
            c.close()
    if args.write_history:
        write_history(stalled_history(held), args.write_history)
    print(f"{args.rounds} rounds, W released {args.release}: {outcomes}")


def stalled_round(cur: dict[str, psycopg.Cursor], w_pid: int, a: int, b: int, release: str, r_appends: bool,
                  t0: int) -> tuple[str, dict[str, Replayed], dict[str, dict]]:
    """One round of :func:`stalled` on fresh rows ``a`` and ``b``: its result and transactions (times in
    ns since ``t0``)."""
    txns = {name: Replayed(name) for name in "PWR"}
    extra: dict[str, dict] = {}

    def begin(name: str) -> None:
        txns[name].start = time.monotonic_ns() - t0
        cur[name].execute("BEGIN ISOLATION LEVEL SERIALIZABLE")

    def commit(name: str) -> None:
        xid, snapshot, pid = cur[name].execute(PROBE).fetchone()  # type: ignore[misc]
        extra[name] = {"xid": xid, "snapshot": snapshot, "pid": pid}
        cur[name].execute("COMMIT")
        txns[name].end = time.monotonic_ns() - t0

    def r(name: str, key: int) -> None:
        txns[name].mops.append(["r", key, [int(x) for x in read(cur[name], key)]])

    def append(name: str, key: int, value: int) -> None:
        cur[name].execute(UPSERT, (key, str(value)))
        txns[name].mops.append(["append", key, value])

    stall = None if release == "none" else Stall(w_pid)
    commit_w = threading.Thread(target=commit, args=("W",))
    try:
        begin("P")
        r("P", a)
        begin("W")
        append("W", a, 1)
        append("P", b, 2)
        if stall is not None:
            stall.wait_for("Continuing.")
        commit_w.start()
        if stall is not None:
            stall.wait_for("Breakpoint 1, ")
        else:
            commit_w.join()
        begin("R")
        if r_appends:
            append("R", a, 3)
        r("R", a)
        if stall is not None and release == "before-p":
            stall.release()
            commit_w.join()
        commit("P")
        if stall is not None and release == "after-p":
            stall.release()
            commit_w.join()
        r("R", b)
        if stall is not None and release == "after-r":
            stall.release()
            commit_w.join()
        commit("R")
        result = "all three committed"
    except psycopg.errors.SerializationFailure as e:
        result = f"aborted: {e.diag.message_detail}"
        let_go(stall, commit_w)
        for name, c in cur.items():
            c.execute("ROLLBACK")
            if txns[name].end == 0:
                txns[name].outcome = "fail"
    finally:
        let_go(stall, commit_w)
    for name in txns:
        txns[name].end = txns[name].end or time.monotonic_ns() - t0
    return result, txns, extra


def let_go(stall: Stall | None, commit_w: threading.Thread) -> None:
    """Release W if still held and wait for its COMMIT to return."""
    if stall is not None and stall.gdb.poll() is None:
        stall.release()
    if commit_w.ident is not None:
        commit_w.join()


@dataclass
class HeldRound:
    """One round of :func:`stalled`: its rows, when they were set up (ns since the start) and its txns."""

    a: int
    b: int
    at: int
    txns: dict[str, Replayed]
    extra: dict[str, dict]


def stalled_history(rounds: list[HeldRound]) -> History:
    """Rounds of :func:`stalled` as one list-append history: each round's setup (process 0) then its
    P, W, R (processes 1-3); rounds use their own rows and follow one another."""
    ops: list[Op] = []
    for rnd in rounds:
        setup = [["append", rnd.a, 0], ["append", rnd.b, 0]]
        ops += [Op(len(ops), rnd.at, "invoke", 0, "txn", setup), Op(len(ops) + 1, rnd.at + 1, "ok", 0, "txn", setup)]
        events = []
        for process, name in enumerate("PWR", start=1):
            t = rnd.txns[name]
            events += [(t.start, 0, process, name), (t.end, 1, process, name)]
        for when, completes, process, name in sorted(events):
            t = rnd.txns[name]
            value = t.mops if completes else [[f, k, None if f == "r" else v] for f, k, v in t.mops]
            ops.append(Op(len(ops), 2 + when, t.outcome if completes else "invoke", process, "txn", value,
                          extra={"txn": name, **rnd.extra.get(name, {})} if completes else {}))
    return History.of(ops)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so server() stops and removes its PostgreSQL
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hot", action="store_true", help="the same two rows every round (long version chains)")
    parser.add_argument("--replay", type=Path, help="a log_statement = all server log of a caught run")
    parser.add_argument("--history", type=Path, help="that run's history.jsonl (default: next to the log)")
    parser.add_argument("--keys", default="", help="the cycle's keys, comma-separated (default: every key)")
    parser.add_argument("--start", default="", help="window start, HH:MM:SS.mmm as logged")
    parser.add_argument("--end", default="", help="window end, HH:MM:SS.mmm as logged")
    parser.add_argument("--gap", type=float, default=3.0, help="ms to wait for a blocked statement")
    parser.add_argument("--stall", action="store_true",
                        help="deterministic schedule: hold W's COMMIT inside the server with gdb")
    parser.add_argument("--release", choices=("after-p", "before-p", "after-r", "none"), default="after-p",
                        help="with --stall: when W's held COMMIT is let go (none: never held)")
    parser.add_argument("--write-history", type=Path,
                        help="with --stall: save every round as one list-append history (.jsonl or .edn)")
    parser.add_argument("--r-appends", action="store_true",
                        help="with --stall: R appends 3 to a before reading it (a writing Tin, W -ww-> R)")
    args = parser.parse_args()
    if args.stall:
        if args.release != "none" and shutil.which("gdb") is None:
            raise SystemExit("--stall needs gdb (apt-get install gdb)")
        stalled(args)
    elif args.replay:
        replay(args)
    else:
        three_roles(args)


if __name__ == "__main__":
    main()
