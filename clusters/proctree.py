"""Signal a server with every process it started, whatever session or process group each one is in.

A process group is not enough: PostgreSQL's postmaster puts every backend in a session of its own
(``setsid`` in ``InitPostmasterChild``), so SIGSTOP to the postmaster's group leaves the backend
serving a connection running, and its COMMIT completes. :data:`SIGNAL_TREE` is a POSIX ``sh``
script (shell builtins only: it runs on any node, inside containers too) that finds the pid's
descendants through the parent pids in ``/proc/*/stat``:

* STOP repeats until a pass finds no new process (a stopped process cannot fork any more);
* KILL first stops the whole tree, so that no child is orphaned (and lost) before it is killed;
* CONT reaches the pid and all its descendants;
* TERM, INT and HUP go to the pid's process group only: a server forwards them to its children
  itself (PostgreSQL's fast shutdown on INT, a reload on HUP).

Backends that run commands on a node run the script there (``sh -c SIGNAL_TREE sh PID SIG``);
processes of this machine use :func:`signal_tree`::

    signal_tree(postmaster_pid, "STOP")   # postmaster and every backend stopped
    signal_tree(postmaster_pid, "CONT")
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

__all__ = ["SIGNAL_TREE", "TREE_SIGNALS", "descendants", "signal_tree", "wait_gone"]

TREE_SIGNALS = ("STOP", "CONT", "KILL")

# $1 pid, $2 signal. Exits 0 (a process already gone is not an error).
SIGNAL_TREE = r"""
root=$1 sig=$2
case $sig in
  STOP|CONT|KILL) ;;
  *) kill -s "$sig" -- "-$root" 2>/dev/null || kill -s "$sig" "$root" 2>/dev/null; exit 0;;
esac
tree() {  # t = " root descendant... "
  pairs=
  for f in /proc/[0-9]*/stat; do
    read -r l 2>/dev/null <"$f" || continue
    r=${l##*) }; r=${r#* }
    pairs="$pairs ${l%% *}:${r%% *}"
  done
  t=" $root " grew=1
  while [ "$grew" = 1 ]; do
    grew=0
    for x in $pairs; do
      case $t in *" ${x%:*} "*) continue;; esac
      case $t in *" ${x#*:} "*) t="$t${x%:*} " grew=1;; esac
    done
  done
}
sent=" "
freeze() {  # STOP the tree until a pass finds no process not stopped yet
  while :; do
    tree; new=
    for p in $t; do case $sent in *" $p "*) ;; *) new="$new $p";; esac; done
    [ -n "$new" ] || return 0
    kill -s STOP $new 2>/dev/null
    sent="$sent${new# } "
  done
}
case $sig in
  STOP) freeze;;
  KILL) freeze; kill -s KILL $sent 2>/dev/null;;
  CONT) tree; kill -s CONT $t 2>/dev/null;;
esac
exit 0
"""


def signal_tree(pid: int, signal: str, *, timeout: float = 30.0) -> None:
    """Run :data:`SIGNAL_TREE` on this machine for ``pid``."""
    subprocess.run(["sh", "-c", SIGNAL_TREE, "sh", str(pid), signal], check=True, capture_output=True,
                   timeout=timeout)


def _stat(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/PID/stat (state first, then ppid), None when the pid is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> list[int]:
    """Every process started by ``pid`` (children, their children...) on this machine."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            parents[int(entry.name)] = int(fields[1])
    tree, grew = {pid}, True
    while grew:
        new = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= new
        grew = bool(new)
    return sorted(tree - {pid})


def wait_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    """Wait until every pid has exited (a zombie counts as exited; ours are reaped); returns those
    still running at the timeout. A killed server can take seconds to exit (freeing its memory,
    finishing its I/O): whoever reports it removed waits for this."""
    deadline = time.monotonic() + timeout
    while True:
        running = []
        for pid in pids:
            fields = _stat(pid)
            if fields is None:
                continue
            if fields[0] in "ZX":
                with contextlib.suppress(ChildProcessError):  # else its own parent reaps it
                    os.waitpid(pid, os.WNOHANG)
                continue
            running.append(pid)
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)
