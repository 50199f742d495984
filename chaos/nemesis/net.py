"""Network faults inside nodes: iptables rules and tc qdiscs a nemesis adds and removes, each in the ledger.

Partitions and packet faults change a node's own network stack (its namespace, container or host),
never this machine's root namespace. Every rule carries a unique comment ``chaoscert-nem-<run>-<k>``
and is written to the ledger (kind ``node-iptables``) before it is added; a qdisc likewise (kind
``node-qdisc``). The ledger entry holds the command prefix that reaches the node from here
(``ip netns exec NS`` or ``docker exec NAME``), so ``chaoscert clean`` can remove what a killed run
left, and a sweeper finds commented rules left in chaoscert namespaces that no ledger covers::

    net = NodeNet(ledger)
    rules = [Rule("INPUT", ("-s", "10.213.0.11", "-j", "DROP")), Rule("OUTPUT", ("-d", "10.213.0.11", "-j", "DROP"))]
    added = net.add_rules(n3, rules)      # one iptables-restore call on n3
    net.remove_rules(n3, added)           # exactly those rules, nothing else
"""

from __future__ import annotations

import itertools
import shlex
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from clusters.hostnet import NETNS_PREFIX, ip
from clusters.ledger import Ledger, Resource, releaser, run_suffix, sweeper
from clusters.remote import Node

__all__ = ["COMMENT_PREFIX", "NemesisError", "NodeNet", "NotInjected", "Rule", "host_netns", "node_interface",
           "require_own_network"]

COMMENT_PREFIX = "chaoscert-nem-"


class NemesisError(RuntimeError):
    """A fault cannot be applied here (missing ability, backend or kernel feature); one clear line."""


class NotInjected(NemesisError):
    """The fault was not injected: nothing was done (the op is recorded ``fail``, not ``info``)."""


@dataclass(frozen=True)
class Rule:
    """An iptables rule (filter table) without its comment: chain and match/target arguments."""

    chain: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class AddedRule:
    rule: Rule
    comment: str
    resource: Resource

    def argv(self, action: str) -> list[str]:
        return [action, self.rule.chain, *self.rule.args, "-m", "comment", "--comment", self.comment]


def require_own_network(node: Node, fault: str) -> None:
    """Refuse nodes that share this machine's network stack (the local backend)."""
    from clusters.local import LocalRemote

    if isinstance(node.remote, LocalRemote):
        raise NemesisError(f"{fault} needs nodes with their own network stack (netns, docker or ssh backend); "
                           f"local node {node.name} shares this machine's, and changing its firewall would "
                           f"cut everyone's traffic")


def via(node: Node) -> list[str] | None:
    """The command prefix that runs a command on ``node`` from this machine, when there is one."""
    from clusters.docker_backend import DockerRemote
    from clusters.netns import NetnsRemote

    if isinstance(node.remote, NetnsRemote):
        return ["ip", "netns", "exec", node.remote.netns]
    if isinstance(node.remote, DockerRemote):
        return ["docker", "exec", node.remote.container.name]
    return None


def host_netns(node: Node) -> list[str] | None:
    """The command prefix that runs a program of this machine inside the node's network namespace
    (a netns node; a container of a Docker engine on this machine), None where there is none."""
    from clusters.docker_backend import DockerRemote
    from clusters.netns import NetnsRemote

    if isinstance(node.remote, NetnsRemote):
        return ["ip", "netns", "exec", node.remote.netns]
    if isinstance(node.remote, DockerRemote):
        return node.remote.host_netns()
    return None


def node_interface(node: Node) -> str:
    """The interface that holds the node's address (``eth0`` in namespaces and containers)."""
    out = node.remote.run(["ip", "-o", "-4", "addr", "show"]).stdout
    for line in out.splitlines():
        words = line.split()
        if len(words) > 3 and words[3].split("/")[0] == node.address:
            return words[1].split("@")[0]
    raise NemesisError(f"{node.name}: no interface holds address {node.address}")


class NodeNet:
    """Adds and removes iptables rules and root qdiscs on nodes, recording each in the ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._tag = run_suffix(ledger.run_id)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def add_rules(self, node: Node, rules: Sequence[Rule]) -> list[AddedRule]:
        """Append ``rules`` to the node's filter table in one atomic iptables-restore."""
        added = []
        for rule in rules:
            with self._lock:
                comment = f"{COMMENT_PREFIX}{self._tag}-{next(self._counter)}"
            resource = self.ledger.record("node-iptables", comment, node=node.name,
                                          via=via(node), chain=rule.chain, args=list(rule.args), comment=comment)
            added.append(AddedRule(rule, comment, resource))
        self._restore(node, [a.argv("-A") for a in added])
        return added

    def remove_rules(self, node: Node, added: Sequence[AddedRule]) -> None:
        """Delete exactly these rules (those already gone are skipped) and mark them released."""
        present = self._present(node)
        self._restore(node, [a.argv("-D") for a in added if a.comment in present])
        for a in added:
            self.ledger.forget(a.resource)

    def add_qdisc(self, node: Node, dev: str, qdisc: Sequence[str]) -> Resource:
        """``tc qdisc add dev DEV root QDISC...`` (fails if the node already has a root qdisc)."""
        resource = self.ledger.record("node-qdisc", f"{COMMENT_PREFIX}{self._tag}-{node.name}-{dev}", node=node.name,
                                      via=via(node), dev=dev, qdisc=qdisc[0])
        node.remote.run(["tc", "qdisc", "add", "dev", dev, "root", *qdisc])
        return resource

    def remove_qdisc(self, node: Node, resource: Resource) -> None:
        node.remote.run(["tc", "qdisc", "del", "dev", resource.data["dev"], "root"], check=False)
        self.ledger.forget(resource)

    def _present(self, node: Node) -> set[str]:
        return set(_comments(node.remote.run(["iptables", "-w", "5", "-S"]).stdout))

    def _restore(self, node: Node, lines: list[list[str]]) -> None:
        if not lines:
            return
        if any(not w or any(c.isspace() or c in "'\"#" for c in w) for line in lines for w in line):
            raise ValueError(f"iptables-restore cannot take these words unquoted: {lines!r}")
        text = "*filter\n" + "".join(" ".join(line) + "\n" for line in lines) + "COMMIT\n"
        node.remote.run(["iptables-restore", "-w", "5", "--noflush"], input=text)


def _comments(listing: str) -> list[str]:
    found = []
    for line in listing.splitlines():
        words = shlex.split(line)
        if "--comment" in words:
            comment = words[words.index("--comment") + 1]
            if comment.startswith(COMMENT_PREFIX):
                found.append(comment)
    return found


def _on_node(prefix: list[str] | None, argv: list[str], what: str) -> subprocess.CompletedProcess[str]:
    if prefix is None:
        raise RuntimeError(f"{what}: no way to reach this node after its run ended; remove it by hand")
    return subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=30)


@releaser("node-iptables")
def _release_rule(resource: Resource) -> bool:
    d = resource.data
    rule = [d["chain"], *d["args"], "-m", "comment", "--comment", d["comment"]]
    check = _on_node(d.get("via"), ["iptables", "-w", "5", "-C", *rule], resource.key)
    if check.returncode == 0:
        done = _on_node(d.get("via"), ["iptables", "-w", "5", "-D", *rule], resource.key)
        if done.returncode != 0:
            raise RuntimeError(f"iptables -D on {d['node']}: {done.stderr.strip()}")
        return True
    if "No such file" in check.stderr or "Cannot open network namespace" in check.stderr:
        return False  # the namespace is gone, and its rules with it
    return False


@releaser("node-qdisc")
def _release_qdisc(resource: Resource) -> bool:
    d = resource.data
    shown = _on_node(d.get("via"), ["tc", "qdisc", "show", "dev", d["dev"], "root"], resource.key)
    if shown.returncode == 0 and shown.stdout.split()[1:2] == [d["qdisc"]]:
        done = _on_node(d.get("via"), ["tc", "qdisc", "del", "dev", d["dev"], "root"], resource.key)
        if done.returncode != 0:
            raise RuntimeError(f"tc qdisc del on {d['node']}: {done.stderr.strip()}")
        return True
    return False


@sweeper
def _find_node_rules() -> list[Resource]:
    """Commented rules left inside chaoscert namespaces (docker containers die with their rules)."""
    found = []
    names = [line.split()[0] for line in ip("netns", "list", check=False).stdout.splitlines() if line.strip()]
    for ns in (n for n in names if n.startswith(NETNS_PREFIX)):
        prefix = ["ip", "netns", "exec", ns]
        listing = subprocess.run([*prefix, "iptables", "-w", "5", "-S"], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            words = shlex.split(line)
            if words[:1] != ["-A"] or "--comment" not in words:
                continue
            i = words.index("--comment")
            comment = words[i + 1]
            if comment.startswith(COMMENT_PREFIX):
                args = [w for k, w in enumerate(words[2:], 2) if k not in (i - 2, i - 1, i, i + 1)]
                found.append(Resource("node-iptables", comment,
                                      {"node": ns, "via": prefix, "chain": words[1], "args": args,
                                       "comment": comment}))
    return found
