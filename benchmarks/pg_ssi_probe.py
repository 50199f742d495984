"""Hunt PostgreSQL SERIALIZABLE G2-item cycles with server-side evidence (issue 12, control 2).

Runs the list-append control (10 clients, 10 s, ``deadlock_timeout=20ms``, no faults) up to
``--runs`` times. Each transaction also records, just before its COMMIT, what the server says about
it: its xid (``pg_current_xact_id_if_assigned()``, so read-only txns get none and none is forced),
its snapshot (``pg_current_snapshot()``), the isolation level in effect and the backend pid. For every
G2 cycle found, each edge is checked against those snapshots:

    A -ww-> B, A -wr-> B : A's xid must be visible in B's snapshot (A committed before B began)
    A -rw-> B            : B's xid must NOT be visible in A's snapshot (A missed B's write)

If every edge agrees and every txn ran at ``serializable``, the server itself let a cycle of
committed serializable transactions through; an edge the snapshots contradict is a checker artefact.

    /work/venv/bin/python benchmarks/pg_ssi_probe.py --runs 20 [--variant update|fresh] [--log-all]
        [--set max_pred_locks_per_transaction=4096 ...] [--fillfactor 50] [--extra-sql 'CREATE INDEX ...']
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.run.runner import RunSpec, run
from checkers.formats import read_history
from checkers.registry import CheckOptions, get_checker
from workloads import elle, sql

PROBE = ("SELECT pg_current_xact_id_if_assigned()::text, pg_current_snapshot()::text, "
         "current_setting('transaction_isolation'), pg_backend_pid()")


def instrument(variant: str, fillfactor: int | None, extra_sql: list[str]) -> None:
    """Patch the list-append client to record the server's view of each txn (and the variant)."""
    original = elle.TxnOps.apply
    if fillfactor is not None or extra_sql:
        created = elle.TxnOps.schema

        def altered(self: elle.TxnOps, dialect: Any) -> list[tuple[str, list[tuple[Any, ...]]]]:
            with_ff = f" WITH (fillfactor = {fillfactor})" if fillfactor is not None else ""
            return [(f"{s}{with_ff}" if s.startswith("CREATE TABLE") else s, rows)
                    for s, rows in created(self, dialect)] + [(s, []) for s in extra_sql]

        elle.TxnOps.schema = altered  # type: ignore[method-assign]

    def apply(self: elle.TxnOps, dialect: Any, cur: Any, op: Any) -> tuple[Any, dict[str, Any]]:
        value, extra = original(self, dialect, cur, op)
        if dialect.name == "postgres":
            cur.execute(PROBE)
            xid, snapshot, isolation, pid = cur.fetchone()
            extra = {**extra, "xid": xid, "snapshot": snapshot, "iso": isolation, "pid": pid}
        return value, extra

    elle.TxnOps.apply = apply  # type: ignore[method-assign]
    if variant == "update":
        schema = elle.TxnOps.schema

        def pre_created(self: elle.TxnOps, dialect: Any) -> list[tuple[str, list[tuple[Any, ...]]]]:
            return [*schema(self, dialect), (f"INSERT INTO {self.table} (k, v) VALUES (%s, NULL)",
                                             [(k,) for k in range(20_000)])]

        elle.TxnOps.schema = pre_created  # type: ignore[method-assign]
        from workloads import postgres

        def upsert(self: Any, table: str, *, append: bool) -> str:
            assert append
            return f"UPDATE {table} SET v = COALESCE(v || ',', '') || %s WHERE k = %s"

        postgres.Postgres.upsert = upsert  # type: ignore[method-assign]
        original_apply = elle.TxnOps.apply

        def swapped(self: elle.TxnOps, dialect: Any, cur: Any, op: Any) -> tuple[Any, dict[str, Any]]:
            class Swap:  # UPDATE takes (value, key), the upsert (key, value)
                def execute(self, statement: str, params: Any = None) -> Any:
                    if statement.startswith("UPDATE"):
                        params = (params[1], params[0])
                    return cur.execute(statement, params)

                def fetchone(self) -> Any:
                    return cur.fetchone()

            return original_apply(self, dialect, Swap(), op)

        elle.TxnOps.apply = swapped  # type: ignore[method-assign]
    if variant == "fresh":
        invoke = sql.SqlClient.invoke

        def fresh(self: sql.SqlClient, op: Any) -> Any:
            try:
                return invoke(self, op)
            finally:
                self.close()

        sql.SqlClient.invoke = fresh  # type: ignore[method-assign]


def visible(xid: int, snapshot: str) -> bool:
    xmin, xmax, xip = snapshot.split(":")
    return xid < int(xmax) and (xid < int(xmin) or str(xid) not in xip.split(","))


def audit(cycle: dict[str, Any]) -> list[str]:
    """Each step of a cycle checked against the txns' recorded xids and snapshots."""
    ops = {op["index"]: op for op in cycle["cycle"]}
    lines = []
    for op in cycle["cycle"]:
        extra = op
        lines.append(f"  T{op['index']} p{op['process']} pid={extra.get('pid')} xid={extra.get('xid')} "
                     f"snap={extra.get('snapshot')} iso={extra.get('iso')} {op['value']}")
    for step in cycle["steps"]:
        a, b, kind = ops[step["from"]], ops[step["to"]], step["type"]
        ea, eb = a, b
        if kind not in ("ww", "wr", "rw"):
            lines.append(f"  {kind} T{a['index']}->T{b['index']}")
        elif kind in ("ww", "wr"):
            ok = ea.get("xid") is not None and visible(int(ea["xid"]), eb["snapshot"])
            lines.append(f"  {kind} T{a['index']}->T{b['index']}: xid {ea.get('xid')} visible in "
                         f"T{b['index']}'s snapshot? {ok}")
        else:
            seen = eb.get("xid") is not None and visible(int(eb["xid"]), ea["snapshot"])
            lines.append(f"  rw T{a['index']}->T{b['index']}: xid {eb.get('xid')} invisible in "
                         f"T{a['index']}'s snapshot? {not seen}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--variant", choices=("upsert", "update", "fresh"), default="upsert")
    parser.add_argument("--log-all", action="store_true", help="log_statement = all")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a postgresql.conf setting (repeatable), e.g. max_pred_locks_per_transaction=4096")
    parser.add_argument("--fillfactor", type=int, help="CREATE TABLE ... WITH (fillfactor = N)")
    parser.add_argument("--extra-sql", action="append", default=[], metavar="SQL",
                        help="more schema statements (repeatable), e.g. 'CREATE INDEX la_v ON la (v)'")
    parser.add_argument("--results", type=Path, default=Path("/tmp/pgssi-results"))
    args = parser.parse_args()
    instrument(args.variant, args.fillfactor, args.extra_sql)
    settings = {"deadlock_timeout": "20ms", "track_commit_timestamp": "on",
                "log_line_prefix": "%m [%p] %v/%x ",
                **dict(item.split("=", 1) for item in args.set)}
    if args.log_all:
        settings["log_statement"] = "all"
    caught = committed = 0
    for i in range(args.runs):
        result = run(RunSpec(db="postgres", backend="netns", nodes=1, workload="list-append",
                             isolation="serializable", consistency="serializable", concurrency="10",
                             time_limit=args.seconds, nemesis="none", rate=10_000,
                             db_options={"settings": settings}, results_dir=args.results), say=lambda _: None)
        history = read_history(result.directory / "history.jsonl")
        found = get_checker("list-append")(history, CheckOptions(consistency_models=("serializable",)))
        anomalies = found.details.get("anomalies") or {}
        ok = sum(1 for op in history.ops if op.type == "ok")
        committed += ok
        isolations = sorted({str(op.extra.get("iso")) for op in history.ops if op.type == "ok"})
        print(f"run {i + 1}/{args.runs} [{args.variant}] {result.directory}: valid={found.valid} ok={ok} "
              f"iso={isolations} load={os.getloadavg()[0]:.1f} "
              f"anomalies={ {k: len(v) for k, v in anomalies.items()} }", flush=True)
        cycles = [c for kind, cs in anomalies.items() if kind.startswith("G") for c in cs if "steps" in c]
        caught += bool(cycles)
        for cycle in cycles:
            print(f" {cycle['type']}:", flush=True)
            print("\n".join(audit(cycle)), flush=True)
            (result.directory / "probe-cycles.json").write_text(json.dumps(cycles, indent=1, default=str))
    print(f"caught cycles in {caught} of {args.runs} runs [{args.variant} {args.set} "
          f"fillfactor={args.fillfactor} {args.extra_sql}], {committed} ok txns")


if __name__ == "__main__":
    main()
