"""The runner: one test, Jepsen's lifecycle as nested scopes over an ``ExitStack``.

    ledger -> run dir -> nodes (backend) -> database cluster -> history -> clients + nemesis
      run clients and nemesis for --time-limit -> heal (restart everything) -> final read
      (of a primary/replica database: one on each primary the clients used, two after a split brain)
    <- every scope closes in reverse: clients, history, database (logs collected), nodes, run dir
    then the workload's checkers on the history read back from disk, claims -> results.json

The workload is a bundle (``workloads.catalog.WORKLOADS``): the runner asks it for a client per
process (for the database's protocol), the generator, the ops before and after the test, and the
checkers. ``--concurrency 5n`` means 5 clients per node.

The history streams to ``results/<test>/<timestamp>/history.jsonl`` as ops happen. The first
SIGINT/SIGTERM while clients run stops them, heals and tears down, leaving a checkable partial
history and ``"interrupted": true`` in results.json; during setup it unwinds at once. Either way
teardown gets :data:`TEARDOWN_BUDGET_S` seconds from the signal; a second signal, or the budget
running out, abandons it: the run says what may be left and exits (130) at once, and ``chaoscert
clean`` removes the rest (everything is in the run's ledger).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chaos.nemesis.failover import FollowPrimary, LeaderWatch, PrimaryRoute
from chaos.nemesis.package import FAULTS, NemesisPackage, build_nemesis, parse_spec
from chaos.report.figures import bank_money, throughput
from chaos.report.outputs import write_run_outputs
from chaos.report.store import RunDir
from chaos.report.view import MIN_DOWNTIME_NS
from chaos.run.interpreter import NEMESIS, client_worker, interpret, nemesis_worker
from chaos.run.progress import progress_line
from chaos.run.recorder import Recorder
from chaos.sla.claims import Claims, evaluate
from checkers.failovers import failover_figures
from checkers.formats import read_history
from checkers.history import FINAL, History, Op
from checkers.registry import CheckOptions, get_checker
from checkers.result import Result, merge_validity, unknown
from checkers.sla import sla_figures
from clusters.backends import BACKENDS, BackendOptions, make_backend
from clusters.db import ElectsPrimary, HasPrimaries, Promotable, Replicates
from clusters.etcd import Etcd
from clusters.galera import Galera
from clusters.ledger import Ledger
from clusters.mariadb import MariaDB, MariaDBAsync
from clusters.patroni import Patroni
from clusters.postgres import Postgres
from clusters.remote import Node
from clusters.seekdb import SeekDB
from workloads.bank import BankSpec
from workloads.catalog import WORKLOADS
from workloads.client import Client
from workloads.generator import Invocation, stagger, time_limit
from workloads.workload import Workload, WorkloadOptions

__all__ = ["BACKENDS", "DBS", "NEMESES", "WORKLOADS", "RunResult", "RunSpec", "check_history", "clients_for",
           "fault_problems", "recorded_parameters", "run", "workload_options"]

DBS: dict[str, Callable[[Path], Any]] = {"seekdb": SeekDB, "galera": Galera, "mariadb": MariaDB,
                                         "mariadb-async": MariaDBAsync, "postgres": Postgres, "etcd": Etcd,
                                         "patroni": Patroni}
NEMESES = (*FAULTS, "all", "none")
# the client protocol of each database (an adapter may say it itself with a ``protocol`` attribute)
DB_PROTOCOLS = {"seekdb": "mysql", "galera": "mysql", "mariadb": "mysql", "mariadb-async": "mysql",
                "postgres": "postgres", "etcd": "etcd"}


@dataclass(frozen=True, kw_only=True)
class RunSpec:
    """What to run; every field lands in results.json under ``parameters``."""

    db: str = "seekdb"
    workload: str = "bank"
    nemesis: str = "kill"
    backend: str = "local"
    backend_options: BackendOptions = field(default_factory=BackendOptions)
    nodes: int = 1
    time_limit: float = 60.0
    concurrency: str = "1n"  # clients: "5" in all, or "5n" per node
    nemesis_interval: float = 10.0
    nemesis_down: float = 2.0
    nemesis_quiet: float | None = None
    nemesis_grudge: str | None = None
    nemesis_packet: str | None = None
    rate: float = 200.0
    op_timeout: float = 5.0
    accounts: int = 8
    isolation: str = "serializable"
    consistency: str | None = None
    seed: int | None = None
    claims: Claims | None = None
    claims_file: Path | None = None
    results_dir: Path = field(default=Path("results"))
    db_options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the database adapter

    def __post_init__(self) -> None:
        parse_spec(self.nemesis)
        for name, choices in (("db", DBS), ("workload", WORKLOADS), ("backend", BACKENDS)):
            if getattr(self, name) not in choices:
                raise ValueError(f"--{name}: unknown {getattr(self, name)!r}; known: {', '.join(choices)}")
        clients_for(self.concurrency, self.nodes)
        if self.backend == "ssh" and len(self.backend_options.ssh_hosts) < self.nodes:
            raise ValueError(f"--backend ssh: {self.nodes} nodes need {self.nodes} --ssh-host, "
                             f"not {len(self.backend_options.ssh_hosts)}")
        self.options()
        positive = ("nodes", "time_limit", "nemesis_interval", "rate", "op_timeout")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, not {getattr(self, name)}")
        if not 0 < self.nemesis_down < self.nemesis_interval:
            raise ValueError("--nemesis-down (how long each fault lasts) must be > 0 and < --nemesis-interval")
        if self.nemesis_quiet is not None and self.nemesis_quiet < 0:
            raise ValueError("--nemesis-quiet must be >= 0")

    @property
    def test_name(self) -> str:
        return f"{self.db}-{self.workload}-{self.nemesis.replace(',', '+').replace(':', '=').replace('/', '~')}"

    @property
    def clients(self) -> int:
        return clients_for(self.concurrency, self.nodes)

    @property
    def bundle(self) -> Workload:
        return WORKLOADS[self.workload]

    def options(self) -> WorkloadOptions:
        return workload_options({"isolation": self.isolation, "op_timeout": self.op_timeout, "accounts": self.accounts,
                                 "consistency": self.consistency,
                                 "claims": self.claims.values if self.claims is not None else None})


def workload_options(parameters: Mapping[str, Any]) -> WorkloadOptions:
    """The workload's options from a run's parameters (as results.json records them): the consistency
    model checked is the one asked for, else the one claimed."""
    claimed = (parameters.get("claims") or {}).get("consistency")
    fields = {"isolation": "isolation", "op_timeout": "timeout", "accounts": "accounts"}  # absent: the default
    return WorkloadOptions(**{f: parameters[k] for k, f in fields.items() if k in parameters},
                           consistency=parameters.get("consistency") or claimed)


def check_history(workload: Workload, options: WorkloadOptions, history: History) -> dict[str, Result]:
    """The workload's checkers and ``stats`` on a history, by name (a checker that crashes is unknown)."""
    check = workload.check_options(options)
    return {name: _check(name, history, check) for name in (*workload.checkers, "stats")}


def clients_for(concurrency: str | int, nodes: int) -> int:
    """``"5"`` -> 5 clients; ``"5n"`` -> 5 per node. ValueError naming --concurrency otherwise."""
    text = str(concurrency).strip()
    per_node = text.endswith("n")
    try:
        n = int(text[:-1] if per_node else text)
    except ValueError:
        raise ValueError(f"--concurrency: expected a number or a number of clients per node like 5n, "
                         f"not {text!r}") from None
    if n <= 0:
        raise ValueError(f"--concurrency must be positive, not {text!r}")
    return n * nodes if per_node else n


@dataclass(frozen=True)
class RunResult:
    directory: Path
    valid: Any
    interrupted: bool
    results: dict[str, Any]


# seconds from the first Ctrl-C to the end of teardown (clients drained, faults healed, nodes removed)
TEARDOWN_BUDGET_S = 60.0
ABANDONED_EXIT = 130


class _Signals:
    """SIGINT/SIGTERM: the first one asks the clients to stop (during setup: unwinds now) and gives
    teardown :data:`TEARDOWN_BUDGET_S`; a second one, or the budget running out, abandons teardown."""

    def __init__(self, say: Callable[[str], None], budget: float = TEARDOWN_BUDGET_S) -> None:
        self.stop = threading.Event()
        self.phase = "setup"
        self.ledger: Ledger | None = None
        self._say, self._budget = say, budget
        self._saved: dict[int, Any] = {}
        self._watchdog: threading.Timer | None = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            self.abandon("interrupted again")
        self.stop.set()
        self._say(f"interrupted: stopping the clients, healing and tearing down (up to {self._budget:g} s); "
                  "interrupt again to abandon")
        self._watchdog = threading.Timer(self._budget, self.abandon, (f"teardown took over {self._budget:g} s",))
        self._watchdog.daemon = True
        self._watchdog.start()
        if self.phase == "setup":
            raise KeyboardInterrupt

    def abandon(self, why: str) -> None:
        """Exit now, saying what the run's ledger still holds (``chaoscert clean`` removes it)."""
        left = self.ledger.outstanding() if self.ledger is not None else []
        kinds = sorted({r.kind for r in left})
        counts = ", ".join(f"{sum(r.kind == k for r in left)} {k}" for k in kinds) or "nothing recorded"
        where = f" (ledger {self.ledger.path})" if self.ledger is not None else ""
        self._say(f"{why}: abandoning teardown; may be left: {counts}{where}; `chaoscert clean` removes it; "
                  "the partial history.jsonl is kept (no report)")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(ABANDONED_EXIT)

    def finished(self) -> None:
        """Teardown is over: the budget no longer runs."""
        if self._watchdog is not None:
            self._watchdog.cancel()

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Signals]:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            for sig, handler in self._saved.items():
                signal.signal(sig, handler)


def run(spec: RunSpec, say: Callable[[str], None] = print) -> RunResult:
    """Run one test end to end; returns the verdict and where the results are."""
    seed = spec.seed if spec.seed is not None else random.SystemRandom().randrange(2**31)
    test_dir = _new_test_dir(spec)
    history_path = test_dir / "history.jsonl"
    say = RunDir(test_dir).logger(say)
    signals = _Signals(say)
    error: str | None = None
    say(f"chaoscert: {spec.test_name} -> {test_dir}")
    with signals.installed():
        try:
            _lifecycle(spec, random.Random(seed), history_path, test_dir, signals, say)
        except KeyboardInterrupt:
            signals.stop.set()
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        finally:
            signals.finished()
    results = _results(spec, seed, history_path, interrupted=signals.stop.is_set(), error=error)
    for line in fault_problems(results):
        say(line)
    (test_dir / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    try:
        write_run_outputs(test_dir)
    except Exception as e:  # the verdict stands without its report; `chaoscert report` can retry
        say(f"chaoscert: could not write the report: {type(e).__name__}: {e}")
    return RunResult(test_dir, results["valid?"], results["interrupted"], results)


def _lifecycle(spec: RunSpec, rng: random.Random, history_path: Path, test_dir: Path, signals: _Signals,
               say: Callable[[str], None]) -> None:
    with ExitStack() as stack:
        ledger = signals.ledger = Ledger()
        stack.callback(_release_leftovers, ledger, say)
        run_dir = Path(tempfile.mkdtemp(prefix=f"chaoscert-{ledger.run_id}-"))
        run_dir.chmod(0o755)  # servers that drop to their own user (mysql, postgres) must reach their folders
        stack.callback(ledger.release, ledger.record("path", str(run_dir), path=str(run_dir)))

        backend = make_backend(spec.backend, ledger, spec.backend_options)
        stack.callback(backend.destroy)
        nodes = backend.create(spec.nodes, run_dir)
        db = DBS[spec.db](run_dir, **spec.db_options)
        # a primary/replica database: every client writes to the primary, and follows a failover
        # (made by the failover nemesis, or by the database's own agents: then a LeaderWatch follows it)
        elects = isinstance(db, ElectsPrimary) and isinstance(db, HasPrimaries)
        route = PrimaryRoute(db, nodes[0]) if elects or (isinstance(db, Promotable) and isinstance(db, HasPrimaries)) \
            else None
        package = build_nemesis(spec.nemesis, db, nodes, random.Random(rng.random()), ledger=ledger,
                                interval=spec.nemesis_interval, duration=spec.nemesis_down, quiet=spec.nemesis_quiet,
                                grudge=spec.nemesis_grudge, packet=spec.nemesis_packet, route=route)
        workload, protocol = spec.bundle, _protocol(spec, db)
        say(f"setting up {spec.db} on {', '.join(n.name for n in nodes)}")
        stack.callback(_teardown_db, db, nodes, test_dir / "logs")
        db.setup(nodes)
        if route is not None:
            route.move(next(iter(db.primaries(nodes)), nodes[0]))
        if elects and route is not None:
            stack.enter_context(LeaderWatch(route, lambda: db.primaries(nodes)))
        if package:
            stack.enter_context(package.healing(say))  # heals before teardown, whatever happens

        def connect(i: int) -> Client:
            client = _client(workload, protocol, spec)
            if route is not None:
                client = FollowPrimary(client, route)
            client.open(db.endpoint(nodes[i % len(nodes)]))
            return client

        recorder = stack.enter_context(Recorder(history_path))
        setup_client = connect(0)
        setup_client.setup()
        if workload.baseline is not None:  # e.g. the bank's initial balances, as process 0
            _apply(recorder, 0, workload.baseline.f, workload.baseline.value, setup_client.invoke)
        setup_client.close()

        workers = []
        for i in range(spec.clients):
            client = connect(i)
            stack.callback(client.close)
            # the node it talks to (a client following the primary moves: none recorded)
            workers.append(client_worker(i, client, nodes[i % len(nodes)].name if route is None else None))
        nemesis = nemesis_worker(package.nemesis) if package else None
        for w in [*workers, *([nemesis] if nemesis else [])]:
            stack.callback(w.stop, 1.0)

        client_gen = time_limit(spec.time_limit, stagger(1 / spec.rate, workload.generator(spec.options())))
        nemesis_gen = time_limit(spec.time_limit, package.generator) if package else None
        say(f"running {spec.clients} {spec.workload} clients for {spec.time_limit:g} s"
            + (f", {spec.nemesis} every {spec.nemesis_interval:g} s" if package else ""))
        signals.phase = "running"
        if not signals.stop.is_set():
            with progress_line(recorder, spec.time_limit):
                interpret(recorder, rng, workers, client_gen, nemesis, nemesis_gen, signals.stop,
                          drain_timeout=spec.op_timeout + 5)
        signals.phase = "teardown"
        if package:
            say("healing")
            for inv in package.final:
                _apply(recorder, NEMESIS, inv.f, inv.value, lambda op: _nemesis_apply(package, op))
        if workload.final is not None and not signals.stop.is_set():
            process = max(w.process for w in workers) + 1
            # every primary the clients wrote to (two after a split brain; not seekdb's independent servers)
            primaries = [n for n in db.primaries(nodes) if n in route.used()] if route is not None else []
            if len(primaries) > 1:
                say(f"{len(primaries)} writable primaries after the heal ({', '.join(n.name for n in primaries)}): "
                    f"split brain; a final read on each")
            # and every replica of a lone primary, once it has replayed all the primary has
            replicas: list[Node] = []
            if isinstance(db, Replicates) and len(primaries) == 1:
                replicas = db.caught_up(nodes, primaries[0])
                lagging = [n.name for n in nodes if n not in replicas and n not in primaries]
                if lagging:
                    say(f"no final read on {', '.join(lagging)}: not caught up with {primaries[0].name} in 30 s")
            for node in [*primaries, *replicas] or [None]:
                if node is None:
                    say("final read")
                    final = connect(0)
                else:
                    final = _client(workload, protocol, replace(spec, isolation=db.replica_isolation)
                                    if node in replicas else spec)
                    final.open(db.endpoint(node))
                try:
                    process = _final(recorder, final, workload.final, process, None if node is None else node.name)
                finally:
                    final.close()


def _protocol(spec: RunSpec, db: Any) -> str:
    protocol = getattr(db, "protocol", None) or DB_PROTOCOLS.get(spec.db)
    if protocol not in spec.bundle.protocols:
        raise ValueError(f"the {spec.workload} workload cannot run on {spec.db} (protocol {protocol}); "
                         f"it speaks {', '.join(spec.bundle.protocols)}")
    return protocol


def _client(workload: Workload, protocol: str, spec: RunSpec) -> Client:
    return workload.client(protocol, spec.options())


def _nemesis_apply(package: NemesisPackage, op: Op) -> Op:
    return Op(op.index, op.time, "info", op.process, op.f, package.nemesis.invoke(op.f, op.value))


def _apply(recorder: Recorder, process: Any, f: str, value: Any, apply: Callable[[Op], Op], node: Any = None,
           extra: dict[str, Any] | None = None) -> Op:
    """Record an invocation, apply it in this thread, record its completion (info on a crash)."""
    kind = "invoke" if isinstance(process, int) else "info"
    op = recorder.record(Op(0, 0, kind, process, f, value, node=node, extra=extra or {}))
    try:
        done = apply(op)
    except Exception as e:
        done = Op(0, 0, "info", process, f, value, error=f"indeterminate: {type(e).__name__}: {e}", node=node)
    return recorder.record(done)


def _final(recorder: Recorder, client: Client, final: Invocation, process: int, node: str | None) -> int:
    """The workload's final op after the heal (e.g. read everything), retried (bounded: 30 s) until ok,
    tagged with the node it ran on (None: the run's usual node); returns the next free process."""
    deadline = time.monotonic() + 30
    while True:
        done = _apply(recorder, process, final.f, final.value, client.invoke, node, {FINAL: True})
        if done.type == "info":
            process += 1
        if done.type == "ok" or time.monotonic() > deadline:
            return process + (done.type != "info")
        time.sleep(0.5)


def _teardown_db(db: Any, nodes: list[Node], logs: Path) -> None:
    for node in nodes:
        db.collect_logs(node, logs / node.name)
    db.teardown(nodes)
    RunDir(logs.parent).compress_logs()


def _release_leftovers(ledger: Ledger, say: Callable[[str], None]) -> None:
    for problem in ledger.release_all():
        say(f"chaoscert: could not release {problem}; run `chaoscert clean`")


def _new_test_dir(spec: RunSpec) -> Path:
    base = spec.results_dir / spec.test_name
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    test_dir = base / stamp
    n = 1
    while test_dir.exists():
        n += 1
        test_dir = base / f"{stamp}-{n}"
    test_dir.mkdir()
    latest = base / "latest"
    tmp = base / f".latest-{stamp}-{n}"
    tmp.symlink_to(test_dir.name)
    tmp.replace(latest)
    return test_dir


def _check(name: str, history: History, options: CheckOptions) -> Result:
    try:
        checker = get_checker(name)
    except KeyError:
        return unknown(f"checker {name!r} is not installed")
    try:
        return checker(history, options)
    except Exception as e:  # a checker bug must not pass as a verdict
        return unknown(f"checker crashed: {type(e).__name__}: {e}")


def recorded_parameters(spec: RunSpec, seed: int) -> dict[str, Any]:
    """The spec as results.json records it under ``parameters``, with the seed the run drew."""
    return {**asdict(spec), "seed": seed, "results_dir": str(spec.results_dir), "clients": spec.clients,
            "claims": None if spec.claims is None else spec.claims.to_mapping(),
            "claims_file": None if spec.claims_file is None else str(spec.claims_file)}


def _results(spec: RunSpec, seed: int, history_path: Path, *, interrupted: bool, error: str | None) -> dict[str, Any]:
    parameters = recorded_parameters(spec, seed)
    out: dict[str, Any] = {"test": spec.test_name, "parameters": parameters, "interrupted": interrupted,
                           "history": history_path.name}
    if error:
        out["error"] = error
    if not history_path.exists():
        out.update({"valid?": "unknown", "cause": error or "no history was recorded", "checkers": {}})
        return out
    history = read_history(history_path)
    results = check_history(spec.bundle, spec.options(), history)
    valid = merge_validity(r.valid for r in results.values())
    if error and valid is True:
        valid = "unknown"
        out["cause"] = f"the run failed: {error}"
    sla = sla_figures(history, min_downtime_ns=MIN_DOWNTIME_NS, concurrency=spec.clients)
    figures: dict[str, Any] = {"throughput": throughput(history), "sla": sla.to_json()}
    failovers = failover_figures(history)
    if failovers:
        figures["failovers"] = failovers
    if "bank-log" in results:
        total = BankSpec.of(spec.options()).total
        figures["bank"] = {**bank_money(history, total), **_lost(results["bank-log"])}
    out.update({"valid?": valid, "checkers": {name: r.to_json() for name, r in results.items()}, "figures": figures})
    if spec.claims is not None:
        verdicts = evaluate(spec.claims, sla, results)
        out["claims"] = {"file": str(spec.claims_file), "confidence": spec.claims.confidence,
                         "verdicts": [v.to_json() for v in verdicts]}
    return out


def fault_problems(results: dict[str, Any]) -> list[str]:
    """One line per fault whose injection failed and per heal error, from results.json."""
    sla = (results.get("figures") or {}).get("sla") or {}
    lines = [f"fault not injected: {f['kind']} {f['nodes']} at {f['start-ns'] / 1e9:.3f} s: {f['injection-error']}"
             for f in sla.get("faults", []) if not f.get("injected", True)]
    return lines + [f"heal error: {h['kind']}: {h['error']}" for h in sla.get("heal-errors", [])]


def _lost(result: Result) -> dict[str, Any]:
    keys = ("acknowledged", "acknowledged-missing", "failed-but-committed-count", "indeterminate",
            "indeterminate-committed")
    return {f"transfers-{k}": result.details.get(k) for k in keys}
