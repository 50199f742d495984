#!/usr/bin/env python3
"""The tests' Docker engine: start one when none answers, and stop it (with what it changed) after.

``dockerd.py ensure [--user ID]``: exit 0 once an engine answers on /var/run/docker.sock. When none
does and we are root with Debian's docker.io, starts ``dockerd`` (log: $CHAOSCERT_DOCKERD_LOG, default
/var/log/chaoscert-dockerd.log) after saving ``iptables-save`` and FORWARD's policy, and waits up to
60 s. ``--user ID`` (a live process id) records who uses the engine.

``dockerd.py release [--user ID]``: forgets that user; when the engine is one this script started and
no recorded user lives, stops dockerd (and so the containerd it runs), deletes the iptables rules
and chains that mention Docker and were not there before, restores FORWARD's policy and deletes
``docker0``. An engine someone else started is never touched, nor one that still runs containers.

Pure standard library: it runs with the system's python3, before or without the venv.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE = Path(os.environ.get("CHAOSCERT_DOCKERD_STATE", "/run/chaoscert-dockerd"))
STARTED = STATE / "started.json"
USERS = STATE / "users"
WAIT_S = 60.0


def say(message: str) -> None:
    print(f"dockerd: {message}", file=sys.stderr)


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True)


def engine_answers() -> bool:
    return shutil.which("docker") is not None and run("docker", "version").returncode == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pids_named(name: str) -> list[int]:
    found = run("pgrep", "-x", name)
    return [int(p) for p in found.stdout.split()]


def tables_save(tool: str) -> str:
    return run(f"{tool}-save").stdout if shutil.which(f"{tool}-save") else ""


def forward_policy(saved: str) -> str | None:
    match = re.search(r"^\*filter$.*?^:FORWARD (\w+)", saved, re.M | re.S)
    return match.group(1) if match else None


def ensure(user: int | None) -> int:
    if user is not None:
        USERS.mkdir(parents=True, exist_ok=True)
        (USERS / str(user)).touch()
    if engine_answers():
        return 0
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        say("no Docker engine answers and cannot start one (need root and dockerd)")
        return 1
    log = os.environ.get("CHAOSCERT_DOCKERD_LOG", "/var/log/chaoscert-dockerd.log")
    if not pids_named("dockerd"):
        STATE.mkdir(parents=True, exist_ok=True)
        saved = {tool: tables_save(tool) for tool in ("iptables", "ip6tables")}
        with open(log, "ab") as out:
            proc = subprocess.Popen(["dockerd"], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                    start_new_session=True)
        STARTED.write_text(json.dumps({"pid": proc.pid, "saved": saved,
                                       "docker0": Path("/sys/class/net/docker0").exists()}))
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if engine_answers():
            return 0
        time.sleep(0.1)
    say(f"dockerd did not answer within {WAIT_S:.0f} s; see {log}")
    return 1


def live_users() -> list[int]:
    users = []
    for entry in USERS.glob("*") if USERS.is_dir() else []:
        if entry.name.isdigit() and alive(int(entry.name)):
            users.append(int(entry.name))
        else:
            entry.unlink(missing_ok=True)
    return users


def stop(pid: int) -> bool:
    """SIGTERM dockerd and wait for it and its containerd to exit (SIGKILL after 30 s)."""
    children = [int(p) for p in run("pgrep", "-P", str(pid)).stdout.split()]
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while any(alive(p) for p in [pid, *children]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in [pid, *children]:
        if alive(p):
            os.kill(p, signal.SIGKILL)
    time.sleep(0.2)
    return not any(alive(p) for p in [pid, *children])


def restore_tables(tool: str, before: str) -> list[str]:
    """Delete the rules and chains mentioning Docker that ``before`` did not have; restore FORWARD's
    policy. Returns what was done."""
    now = tables_save(tool)
    if not now:
        return []
    done, old_lines = [], set(before.splitlines())
    table = ""
    rules, chains = [], []
    for line in now.splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line in old_lines or "docker" not in line.lower():
            continue
        elif line.startswith("-A "):
            rules.append((table, line[3:]))
        elif line.startswith(":"):
            chains.append((table, line[1:].split()[0]))
    for table, rule in rules:
        if run(tool, "-t", table, "-D", *shlex.split(rule)).returncode == 0:
            done.append(f"{tool} -t {table} -D {rule}")
    for table, chain in chains:
        run(tool, "-t", table, "-F", chain)
    for table, chain in chains:
        if run(tool, "-t", table, "-X", chain).returncode == 0:
            done.append(f"{tool} -t {table} -X {chain}")
    policy_before, policy_now = forward_policy(before), forward_policy(now)
    if policy_before and policy_now != policy_before:
        run(tool, "-P", "FORWARD", policy_before)
        done.append(f"{tool} -P FORWARD {policy_before}")
    return done


def release(user: int | None) -> int:
    if user is not None:
        (USERS / str(user)).unlink(missing_ok=True)
    users = live_users()
    if not STARTED.exists():
        forget_state()
        return 0  # not ours: a user's own engine keeps running
    if users:
        say(f"left running for processes {users}")
        return 0
    started = json.loads(STARTED.read_text())
    if engine_answers() and run("docker", "ps", "-q").stdout.strip():
        say("left running: containers still run (docker ps)")
        return 0
    if alive(started["pid"]) and not stop(started["pid"]):
        say(f"dockerd {started['pid']} or its containerd did not exit")
        return 1
    undone = [change for tool, before in started["saved"].items() for change in restore_tables(tool, before)]
    if not started["docker0"] and Path("/sys/class/net/docker0").exists():
        run("ip", "link", "delete", "docker0")
        undone.append("ip link delete docker0")
    STARTED.unlink()
    forget_state()
    say(f"stopped dockerd {started['pid']} and its containerd, and undid its {len(undone)} host changes:")
    for change in undone:
        print(f"  {change}", file=sys.stderr)
    return 0


def forget_state() -> None:
    """Remove the state folder once nothing is recorded in it."""
    for directory in (USERS, STATE):
        with contextlib.suppress(OSError):
            directory.rmdir()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["ensure", "release"])
    parser.add_argument("--user", type=int, help="id of a live process that uses the engine")
    args = parser.parse_args()
    return ensure(args.user) if args.action == "ensure" else release(args.user)


if __name__ == "__main__":
    sys.exit(main())
