"""Packet faults: delay with jitter, loss, duplication, reordering and rate limits on nodes' egress.

``tc netem`` does all of it where the kernel has ``sch_netem``. Where it does not (this project's CI
kernel), each behaviour falls back to what the kernel has, and the op records which ran:

    loss alone                          iptables ``-m statistic --mode random`` DROP  ("iptables-statistic")
    delay, jitter, duplicate, reorder   NFQUEUE + the userspace delayer (chaos/nemesis/nfq_delayer.py), which also
                                        drops for loss when it runs anyway      ("nfqueue-delayer")
    rate                                ``tc qdisc ... tbf``                     ("tbf")

The delayer runs on this machine inside the node's network namespace where this machine can enter it
(``ip netns exec`` for netns nodes, ``nsenter`` for containers of a Docker engine on this machine),
else on the node with its ``python3``. What no mechanism can do (reordering with no delay to overtake,
the delayer without the ``netfilterqueue`` binding where it must run) is an error, never a silent
no-op. History::

    start-packet {"nodes": ["n2"], "behaviour": {"delay-ms": 100, "jitter-ms": 10}}
      -> {"nodes": ["n2"], "behaviour": {...}, "mechanism": {"delay-ms": "nfqueue-delayer", ...}}
    stop-packet -> ["n2"]
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.nemesis.net import (
    AddedRule,
    NemesisError,
    NodeNet,
    NotInjected,
    Rule,
    host_netns,
    node_interface,
    require_own_network,
)
from clusters.ledger import Resource
from clusters.local import LocalRemote
from clusters.remote import Node

__all__ = ["BEHAVIOURS", "PacketNemesis", "behaviour_from_json"]

BEHAVIOURS = ("delay-ms", "jitter-ms", "loss", "duplicate", "reorder", "rate-kbit")
_DELAYER = Path(__file__).with_name("nfq_delayer.py")
_DUP_MARK = "0x6363"
_QUEUE = "7"
_DAEMON = "chaoscert-nfq-delayer"


def behaviour_from_json(value: Any) -> dict[str, float]:
    """Check a behaviour map: known keys, probabilities in [0, 1], non-negative amounts."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"a packet behaviour is a non-empty map of {', '.join(BEHAVIOURS)}; not {value!r}")
    out = {}
    for key, amount in value.items():
        if key not in BEHAVIOURS:
            raise ValueError(f"packet behaviour: unknown {key!r}; known: {', '.join(BEHAVIOURS)}")
        probability = key in ("loss", "duplicate", "reorder")
        if not isinstance(amount, int | float) or amount < 0 or (probability and amount > 1):
            raise ValueError(f"packet behaviour: bad {key} {amount!r}")
        out[key] = float(amount)
    if out.get("reorder") and not out.get("delay-ms"):
        raise ValueError("packet behaviour: reorder needs a delay-ms for packets to overtake")
    if out.get("jitter-ms") and not out.get("delay-ms"):
        raise ValueError("packet behaviour: jitter-ms needs a delay-ms")
    return out


@dataclass
class _Applied:
    rules: list[AddedRule] = field(default_factory=list)
    qdisc: Resource | None = None
    delayer: Any = None  # the remote that runs the NFQUEUE delayer (this machine's, or the node's)
    log: Resource | None = None  # the delayer's log folder on this machine


class PacketNemesis:
    """``start-packet`` (value: nodes + behaviour) / ``stop-packet`` on the nodes' outgoing packets."""

    fs = frozenset({"start-packet", "stop-packet"})

    def __init__(self, nodes: Sequence[Node], net: NodeNet) -> None:
        for node in nodes:
            require_own_network(node, "a packet fault")
        self._nodes = {n.name: n for n in nodes}
        self._net = net
        self._netem: dict[str, bool] = {}
        self._applied: dict[str, _Applied] = {}

    def invoke(self, f: str, value: Any) -> Any:
        if f == "start-packet":
            if self._applied:
                raise NotInjected("packet faults are already in place; stop-packet first")
            names, behaviour = value["nodes"], behaviour_from_json(value["behaviour"])
            mechanism: dict[str, str] = {}
            for name in names:
                mechanism = self._start(self._nodes[name], behaviour)
            return {"nodes": list(names), "behaviour": behaviour, "mechanism": mechanism}
        if f == "stop-packet":
            return self.heal()
        raise ValueError(f"packet nemesis: unknown f {f!r}")

    def heal(self) -> list[str]:
        healed, errors = [], []
        for name, applied in list(self._applied.items()):
            node = self._nodes[name]
            try:
                self._net.remove_rules(node, applied.rules)
                if applied.delayer is not None:
                    _stop(applied.delayer)
                    applied.delayer = None
                if applied.log is not None:
                    self._net.ledger.release(applied.log)
                    applied.log = None
                if applied.qdisc is not None:
                    self._net.remove_qdisc(node, applied.qdisc)
                del self._applied[name]
                healed.append(name)
            except Exception as e:
                errors.append(f"{name}: {e}")
        if errors:
            raise NemesisError("could not remove packet faults: " + "; ".join(errors))
        return healed

    def _start(self, node: Node, b: dict[str, float]) -> dict[str, str]:
        dev = node_interface(node)
        applied = self._applied[node.name] = _Applied()
        if self._has_netem(node, dev):
            applied.qdisc = self._net.add_qdisc(node, dev, ["netem", *_netem_args(b)])
            return {k: "netem" for k in b}
        mechanism = {}
        if b.get("rate-kbit"):
            kbit = f"{b['rate-kbit']:g}kbit"
            applied.qdisc = self._net.add_qdisc(node, dev, ["tbf", "rate", kbit, "burst", "32kbit", "latency", "400ms"])
            mechanism["rate-kbit"] = "tbf"
        queued = {k: v for k, v in b.items() if k in ("delay-ms", "jitter-ms", "duplicate", "reorder") and v}
        if queued:
            self._start_delayer(node, dev, b, applied)
            mechanism |= {k: "nfqueue-delayer" for k in (*queued, *(["loss"] if b.get("loss") else []))}
        elif b.get("loss"):
            rule = Rule("OUTPUT", ("-o", dev, "-m", "statistic", "--mode", "random", "--probability",
                                   f"{b['loss']:g}", "-j", "DROP"))
            applied.rules += self._net.add_rules(node, [rule])
            mechanism["loss"] = "iptables-statistic"
        return mechanism

    def _has_netem(self, node: Node, dev: str) -> bool:
        if node.name not in self._netem:
            probe = node.remote.run(["tc", "qdisc", "add", "dev", dev, "root", "netem", "delay", "0ms"], check=False)
            if probe.ok:
                node.remote.run(["tc", "qdisc", "del", "dev", dev, "root"], check=False)
            self._netem[node.name] = probe.ok
        return self._netem[node.name]

    def _start_delayer(self, node: Node, dev: str, b: dict[str, float], applied: _Applied) -> None:
        runner, argv, log = self._delayer_program(node, applied)
        for key in ("delay-ms", "jitter-ms", "loss", "duplicate", "reorder"):
            if b.get(key):
                argv += [f"--{key}", f"{b[key]:g}"]
        runner.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && : > "$1"', "sh", log])
        runner.start_daemon(_DAEMON, argv, log_file=log)
        applied.delayer = runner
        deadline = time.monotonic() + 10
        while "ready" not in runner.run(["cat", log], check=False).stdout:
            if not runner.is_running(_DAEMON) or time.monotonic() > deadline:
                tail = runner.run(["tail", "-n", "5", log], check=False).stdout.strip()
                raise NemesisError(f"{node.name}: the NFQUEUE delayer did not start: {tail}")
            time.sleep(0.05)
        rule = Rule("OUTPUT", ("-o", dev, "-m", "mark", "!", "--mark", _DUP_MARK, "-j", "NFQUEUE",
                               "--queue-num", _QUEUE, "--queue-bypass"))
        applied.rules += self._net.add_rules(node, [rule])

    def _delayer_program(self, node: Node, applied: _Applied) -> tuple[Any, list[str], str]:
        """(who runs it, command, log file). Where this machine can enter the node's network namespace
        (netns nodes, containers of a local Docker engine) the delayer runs here, with this interpreter,
        inside that namespace; elsewhere it runs on the node with its python3."""
        prefix = host_netns(node)
        if prefix is not None:
            if importlib.util.find_spec("netfilterqueue") is None:
                raise NemesisError(f"{node.name}: delay, jitter, duplication and reordering need tc netem or the "
                                   f"NFQUEUE delayer, and {sys.executable} lacks the netfilterqueue binding "
                                   f"(apt-get install libnetfilter-queue-dev; pip install netfilterqueue==1.1.0)")
            folder = tempfile.mkdtemp(prefix=f"{_DAEMON}-")
            applied.log = self._net.ledger.record("path", folder, path=folder)
            runner = LocalRemote(node.name, node.address, self._net.ledger)
            return runner, [*prefix, sys.executable, str(_DELAYER), "--queue", _QUEUE], f"{folder}/{_DAEMON}.log"
        script = "/tmp/chaoscert-nfq_delayer.py"
        node.remote.upload(_DELAYER, script)
        if not node.remote.run(["python3", "-c", "import netfilterqueue"], check=False).ok:
            raise NemesisError(f"{node.name}: delay, jitter, duplication and reordering need tc netem or the "
                               f"NFQUEUE delayer; this machine cannot enter the node's network namespace, and "
                               f"python3 on the node lacks the netfilterqueue binding (apt-get install "
                               f"libnetfilter-queue-dev; pip install netfilterqueue==1.1.0)")
        log = f"{getattr(node.remote, 'state_dir', '/tmp')}/{_DAEMON}.log"
        return node.remote, ["python3", script, "--queue", _QUEUE], log


def _stop(runner: Any) -> None:
    """TERM the delayer (it accepts what it holds), KILL it after 10 s; wait until it is gone."""
    if runner.is_running(_DAEMON):
        runner.signal(_DAEMON, "TERM")
    if not runner.wait_stopped(_DAEMON, 10):
        runner.signal(_DAEMON, "KILL")
        if not runner.wait_stopped(_DAEMON, 10):
            raise NemesisError(f"the NFQUEUE delayer on {runner.name} did not exit")


def _netem_args(b: dict[str, float]) -> list[str]:
    args = []
    if b.get("delay-ms"):
        args += ["delay", f"{b['delay-ms']:g}ms", *([f"{b['jitter-ms']:g}ms"] if b.get("jitter-ms") else [])]
    for key in ("loss", "duplicate", "reorder"):
        if b.get(key):
            args += [key, f"{b[key] * 100:g}%"]
    if b.get("rate-kbit"):
        args += ["rate", f"{b['rate-kbit']:g}kbit"]
    return args
