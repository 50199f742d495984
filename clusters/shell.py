"""Daemons and commands on any node that has a POSIX shell: one implementation for every backend.

A backend only says how to run an argument list on its node (``ip netns exec``, ``docker exec``,
an SSH channel) by implementing ``_exec``; :class:`ShellRemote` builds everything else on it:

* ``run`` wraps the command in ``timeout`` on the node (exit 124 means it ran out of time), in
  ``env K=V`` for the environment and in ``setpriv`` to become another user, all as argument lists;
* a daemon is started by a fixed ``sh -c`` script that receives the command as positional
  arguments (never spliced into the script), ``setsid`` so the pid is the server's own and its
  process group is its own, output appended to ``log_file``, the pid in ``<state_dir>/NAME.pid``;
* ``signal``, ``is_running`` and ``wait_stopped`` read that pid file on the node; STOP, CONT and
  KILL reach the daemon's whole process tree (:mod:`clusters.proctree`), other signals its group.

Example::

    remote.start_daemon("web", ["python3", "-m", "http.server", "8000"], log_file="/tmp/web.log")
    remote.signal("web", "STOP")      # paused: connections hang
    remote.signal("web", "CONT")
    remote.signal("web", "KILL"); remote.wait_stopped("web", 5)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from clusters.proctree import SIGNAL_TREE
from clusters.remote import SIGNALS, CommandResult, RemoteError

__all__ = ["ShellRemote", "as_user", "check_name"]

TIMEOUT_EXIT = 124
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# $1 pid file, $2 log file, $3 working dir; the rest is the command. Refuses to start a second copy.
_START = r"""
pidfile=$1 log=$2 cwd=$3; shift 3
if pid=$(cat "$pidfile" 2>/dev/null) && [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
  s=$(sed -n 's/^.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null)
  if [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]; then echo "already running as pid $pid" >&2; exit 3; fi
fi
mkdir -p "$(dirname "$pidfile")" "$(dirname "$log")" || exit 4
cd "$cwd" || exit 4
setsid "$@" >>"$log" 2>&1 </dev/null &
echo $! >"$pidfile"
echo $!
"""
# $1 pid file. Exit 0 if the process is alive (a stopped process is alive; a zombie is not).
_ALIVE = r"""
pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] || exit 1
s=$(sed -n 's/^.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null)
[ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
"""
# $1 pid file, $2 signal. Exit 2 if the daemon was never started; a daemon already gone is fine.
_SIGNAL = r"""
pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] || exit 2
set -- "$pid" "$2"
""" + SIGNAL_TREE
# $1 pid file, $2 number of 50 ms polls. Exit 1 if still alive at the end.
_WAIT = r"""
f=$1 n=$2
alive() {
  pid=$(cat "$f" 2>/dev/null) && [ -n "$pid" ] || return 1
  s=$(sed -n 's/^.*) \(.\) .*/\1/p' "/proc/$pid/stat" 2>/dev/null)
  [ -n "$s" ] && [ "$s" != Z ] && [ "$s" != X ]
}
while alive; do
  [ "$n" -gt 0 ] || exit 1
  n=$((n - 1)); sleep 0.05
done
"""


def check_name(name: str, what: str = "daemon name") -> str:
    if not _NAME.match(name):
        raise ValueError(f"bad {what} {name!r}: use letters, digits, '.', '_' and '-'")
    return name


def as_user(argv: Sequence[str], user: str | None = None, env: Mapping[str, str] | None = None) -> list[str]:
    """``argv`` with ``env K=V`` and ``setpriv`` (which exec, keeping the pid) wrapped around it."""
    cmd = list(argv)
    if env:
        bad = [k for k in env if not _ENV_KEY.match(k)]
        if bad:
            raise ValueError(f"bad environment variable name(s): {', '.join(map(repr, bad))}")
        cmd = ["env", *(f"{k}={v}" for k, v in env.items()), *cmd]
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", "--", *cmd]
    return cmd


class ShellRemote:
    """A Remote whose node has /bin/sh and coreutils; subclasses implement ``_exec``, ``upload``
    and ``download``. ``root_prefix`` (``["sudo", "-n", "--"]`` for SSH users other than root) is
    put in front of every command."""

    def __init__(self, name: str, address: str, state_dir: str, *, root_prefix: Sequence[str] = (),
                 on_daemon: Callable[[str, int], None] | None = None) -> None:
        self._name, self._address = name, address
        self.state_dir = state_dir
        self.root_prefix = list(root_prefix)
        self._on_daemon = on_daemon
        self.daemon_env: dict[str, str] = {}  # added to every daemon's environment (e.g. libfaketime)

    @property
    def name(self) -> str:
        return self._name

    @property
    def address(self) -> str:
        return self._address

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name}@{self._address})"

    def _exec(self, argv: list[str], *, timeout: float, input: str | None) -> CommandResult:
        """Run ``argv`` on the node as the transport's user; ``timeout`` is only a safety net."""
        raise NotImplementedError

    def _sh(self, script: str, *args: str, timeout: float = 30.0) -> CommandResult:
        return self.run(["sh", "-c", script, "sh", *args], timeout=timeout, check=False)

    def run(self, argv: Sequence[str], *, timeout: float = 60.0, check: bool = True,
            input: str | None = None, user: str | None = None,
            env: Mapping[str, str] | None = None) -> CommandResult:
        if not argv:
            raise ValueError("empty command")
        inner = as_user(argv, user, env)
        full = [*self.root_prefix, "timeout", "-k", "2", f"{timeout:g}s", *inner]
        done = self._exec(full, timeout=timeout + 15, input=input)
        result = CommandResult(tuple(argv), done.exit_code, done.stdout, done.stderr)
        if result.exit_code == TIMEOUT_EXIT:
            raise RemoteError(f"{self._name}: {' '.join(argv)!r} timed out after {timeout:g} s")
        if check and not result.ok:
            raise RemoteError(f"{self._name}: {' '.join(argv)!r} exited {result.exit_code}: "
                              f"{result.stderr.strip()[-500:]}")
        return result

    def pid_file(self, name: str) -> str:
        return f"{self.state_dir}/{check_name(name)}.pid"

    def start_daemon(self, name: str, argv: Sequence[str], *, log_file: str,
                     env: Mapping[str, str] | None = None, cwd: str | None = None,
                     user: str | None = None) -> int:
        env = {**self.daemon_env, **(env or {})}
        done = self._sh(_START, self.pid_file(name), log_file, cwd or "/", *as_user(argv, user, env))
        if not done.ok:
            raise RemoteError(f"{self._name}: could not start {name}: {done.stderr.strip()[-500:]}")
        pid = int(done.stdout.split()[-1])
        if self._on_daemon:
            self._on_daemon(name, pid)
        return pid

    def pid(self, name: str) -> int | None:
        """The pid last recorded for daemon ``name`` (alive or not)."""
        done = self.run(["cat", self.pid_file(name)], check=False)
        return int(done.stdout) if done.ok and done.stdout.strip() else None

    def signal(self, name: str, signal: str) -> None:
        """Signal the daemon (STOP, CONT, KILL: with every process it started); one already gone is left alone."""
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}: one of {', '.join(SIGNALS)}")
        done = self._sh(_SIGNAL, self.pid_file(name), signal)
        if done.exit_code == 2:
            raise RemoteError(f"{self._name}: no daemon {name!r} was started here")

    def is_running(self, name: str) -> bool:
        return self._sh(_ALIVE, self.pid_file(name)).ok

    def wait_stopped(self, name: str, timeout: float) -> bool:
        polls = max(1, int(timeout / 0.05))
        return self._sh(_WAIT, self.pid_file(name), str(polls), timeout=timeout * 2 + 5).ok

    def stop_all(self, timeout: float = 10.0) -> None:
        """KILL every daemon this remote has a pid file for (teardown)."""
        listing = self.run(["sh", "-c", 'for f in "$1"/*.pid; do [ -f "$f" ] && basename "$f" .pid; done; true',
                            "sh", self.state_dir], check=False)
        for name in listing.stdout.split():
            self.signal(name, "CONT")  # a stopped process cannot die
            self.signal(name, "KILL")
            self.wait_stopped(name, timeout)

