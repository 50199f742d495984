"""This machine's network plumbing, shared by the netns and docker backends: choosing a free private
/24, and the ledger kinds ``netns``, ``link`` and ``iptables`` (how to remove each, and how to find
leftovers named with chaoscert's prefixes: namespaces ``chaoscert-*``, links ``ccbr*``/``ccv*``,
iptables rules commented ``chaoscert-*``).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator

from clusters.ledger import Resource, releaser, state_dir, sweeper
from clusters.proctree import wait_gone

__all__ = ["NETNS_PREFIX", "PREFIX", "SUBNET_POOL", "ip", "iptables_rule", "pick_subnet", "subnet_lock"]

PREFIX = "chaoscert-"
NETNS_PREFIX = PREFIX
LINK_PREFIXES = ("ccbr", "ccv")
SUBNET_POOL = os.environ.get("CHAOSCERT_SUBNET_POOL", "10.213.0.0/16")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {shlex.join(args)}: {done.stderr.strip()}")
    return done


def _networks_in_use() -> set[ipaddress.IPv4Network]:
    """Every IPv4 network configured here: root namespace, every named namespace, routes, Docker."""
    texts = [ip("-4", "-o", "addr", check=False).stdout, ip("-4", "route", check=False).stdout]
    for ns in ip("netns", "list", check=False).stdout.split("\n"):
        if ns.strip():
            texts.append(ip("-n", ns.split()[0], "-4", "-o", "addr", check=False).stdout)
    nets = set()
    for text in texts:
        for word in text.split():
            with contextlib.suppress(ValueError):
                if "/" in word:
                    nets.add(ipaddress.IPv4Network(word, strict=False))
    with contextlib.suppress(Exception):
        import docker

        client = docker.from_env(timeout=5)
        for net in client.networks.list():
            for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []:
                with contextlib.suppress(ValueError, KeyError):
                    nets.add(ipaddress.IPv4Network(cfg["Subnet"], strict=False))
    return nets


@contextlib.contextmanager
def subnet_lock() -> Iterator[None]:
    """Hold while choosing a subnet and configuring it, so two runs do not pick the same one."""
    path = state_dir() / "subnet.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def pick_subnet(pool: str = SUBNET_POOL) -> ipaddress.IPv4Network:
    """The first /24 of ``pool`` that overlaps nothing configured on this machine."""
    used = _networks_in_use()
    for candidate in ipaddress.IPv4Network(pool).subnets(new_prefix=24):
        if not any(candidate.overlaps(u) for u in used if u.prefixlen > 0):
            return candidate
    raise RuntimeError(f"no free /24 left in {pool} (set CHAOSCERT_SUBNET_POOL)")


def iptables_rule(comment: str, chain: str, rule: list[str], *, table: str = "filter") -> dict:
    """Ledger data for an iptables rule in the root namespace; its key is the unique comment."""
    return {"table": table, "chain": chain, "rule": [*rule, "-m", "comment", "--comment", comment]}


# ---------------------------------------------------------------- releasers

@releaser("netns")
def _release_netns(resource: Resource) -> bool:
    """Kill every process inside the namespace, then delete it (its veth ends go with it)."""
    ns = resource.key
    if ns not in ip("netns", "list", check=False).stdout.split():
        return False
    deadline, seen = time.monotonic() + 10, set()
    while pids := [int(p) for p in ip("netns", "pids", ns, check=False).stdout.split()]:
        seen.update(pids)
        for pid in pids:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes {pids} in namespace {ns} did not exit")
        time.sleep(0.05)
    if running := wait_gone(sorted(seen)):  # out of the namespace, maybe still exiting
        raise RuntimeError(f"processes {running} of namespace {ns} did not exit")
    ip("netns", "del", ns, check=False)
    if ns in ip("netns", "list", check=False).stdout.split():
        raise RuntimeError(f"namespace {ns} still exists")
    return True


@releaser("link")
def _release_link(resource: Resource) -> bool:
    if ip("link", "show", resource.key, check=False).returncode != 0:
        return False
    ip("link", "del", resource.key)
    return True


@releaser("iptables")
def _release_iptables(resource: Resource) -> bool:
    d = resource.data
    base = ["iptables", "-w", "5", "-t", d["table"]]
    if subprocess.run([*base, "-C", d["chain"], *d["rule"]], capture_output=True).returncode != 0:
        return False
    subprocess.run([*base, "-D", d["chain"], *d["rule"]], check=True, capture_output=True)
    return True


# ---------------------------------------------------------------- sweepers

@sweeper
def _find_namespaces() -> list[Resource]:
    names = [line.split()[0] for line in ip("netns", "list", check=False).stdout.splitlines() if line.strip()]
    return [Resource("netns", n, {}) for n in names if n.startswith(NETNS_PREFIX)]


@sweeper
def _find_links() -> list[Resource]:
    links = json.loads(ip("-j", "link", "show", check=False).stdout or "[]")
    return [Resource("link", link["ifname"], {}) for link in links
            if link.get("ifname", "").startswith(LINK_PREFIXES)]


@sweeper
def _find_iptables_rules() -> list[Resource]:
    found = []
    done = subprocess.run(["iptables", "-w", "5", "-S"], capture_output=True, text=True)
    for line in done.stdout.splitlines():
        words = shlex.split(line)
        if words[:1] != ["-A"] or "--comment" not in words:
            continue
        comment = words[words.index("--comment") + 1]
        if comment.startswith(PREFIX):
            found.append(Resource("iptables", comment, {"table": "filter", "chain": words[1], "rule": words[2:]}))
    return found
