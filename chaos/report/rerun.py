"""The ``chaoscert run`` command line that repeats a recorded run.

A run records its spec in results.json under ``parameters`` (every :class:`~chaos.run.runner.RunSpec`
field, the seed it drew, and the backend options). :func:`run_argv` maps that record back to the
options of ``chaoscert run``; a test feeds the result to the command line and compares the spec it
builds with the recorded one, so the two cannot drift apart::

    {"db": "galera", "nodes": 3, "seed": 7, "db_options": {"sync_wait": 1}, ...}
    -> ["--db", "galera", "--nodes", "3", "--seed", "7", "--db-option", "sync_wait=1", ...]
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

__all__ = ["REDACTED", "rerun_command", "run_argv"]

REDACTED = "***"  # what the results store writes in place of a secret
# recorded beside the spec, derived from it or the run's own output: not options
DERIVED = {"results_dir", "clients", "claims"}
# the options whose names are not the field's
FLAGS = {"claims_file": "--claims", "ssh_hosts": "--ssh-host", "db_options": "--db-option"}


def _flag(key: str) -> str:
    return FLAGS.get(key, "--" + key.replace("_", "-"))


def _toml(value: Any) -> str:
    """A TOML literal, as ``--db-option KEY=VALUE`` reads it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def _option(key: str, value: Any) -> tuple[list[str], bool]:
    """The argv words for one recorded parameter, and whether it could be expressed."""
    flag = _flag(key)
    if value is None or value == [] or value == {}:
        return [], True
    if value == REDACTED:
        return [], False
    if isinstance(value, bool):  # every switch of ``run`` is off by default
        return [flag] if value else [], True
    if key == "db_options":
        return [w for k, v in value.items() for w in (flag, f"{k}={_toml(v)}")], True
    if isinstance(value, list | tuple):
        return [w for v in value for w in (flag, str(v))], True
    return [flag, str(value)], True


def run_argv(parameters: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The options of ``chaoscert run`` that repeat a recorded run, and the recorded parameters no
    option can give (a secret the store redacted, claims written inline in a suite)."""
    argv: list[str] = []
    missing: list[str] = []
    for key, value in parameters.items():
        if key in DERIVED:
            continue
        if key == "backend_options":
            sub, sub_missing = run_argv(value or {})
            argv += sub
            missing += sub_missing
            continue
        words, expressed = _option(key, value)
        argv += words
        if not expressed:
            missing.append(key)
    if parameters.get("claims") and not parameters.get("claims_file"):
        missing.append("claims")
    return argv, missing


def rerun_command(parameters: Mapping[str, Any]) -> tuple[str, list[str]]:
    """:func:`run_argv` as one shell line, ``chaoscert run ...``."""
    argv, missing = run_argv(parameters)
    return shlex.join(["chaoscert", "run", *argv]), missing
