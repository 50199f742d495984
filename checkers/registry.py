"""The checkers ``chaoscert check -m`` can run, by model name.

A checker is a pure function ``(History, CheckOptions) -> Result`` in its own module of this
package, registered with :func:`register_checker`. Modules are discovered, so adding a checker
is adding one file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from checkers.collector import collector_paused
from checkers.history import History
from checkers.result import Result

__all__ = ["CheckOptions", "Checker", "checker_names", "get_checker", "register_checker"]


@dataclass(frozen=True, kw_only=True)
class CheckOptions:
    """elle-cli's options, shared by every checker; each reads the ones it understands."""

    consistency_models: tuple[str, ...] = ("strict-serializable",)
    anomalies: tuple[str, ...] = ()
    cycle_search_timeout_ms: int = 1000
    directory: Path | None = None
    total_amount: int | None = None
    allow_negative_balances: bool = False
    max_transfer: int | None = None
    accounts: tuple[Any, ...] | None = None
    group_size: int | None = None
    initial_value: Any = None
    nil_is_empty: bool = False
    independent: bool = False
    time_limit_s: float | None = None
    html: Path | None = None
    wfr_keys: bool = False  # rw-register: a txn's writes follow its reads of the same key
    sequential_keys: bool = False  # rw-register: each process sees each key's versions in order
    linearizable_keys: bool = False  # rw-register: each key's versions follow realtime order


Checker = Callable[[History, CheckOptions], Result]


class OptionError(ValueError):
    """An option the checker cannot use, e.g. ``--initial-value`` for a mutex: the caller's fault, not
    the history's; the message names the option."""


@dataclass(frozen=True)
class _Entry:
    name: str
    check: Checker
    summary: str
    functions: frozenset[str] | None = None  # the ops' f names it knows (None: any)
    independent: bool = False  # whether --independent splits its history by key
    options_check: Callable[[CheckOptions], object] | None = None  # raises OptionError


_CHECKERS: dict[str, _Entry] = {}
_ALIASES: dict[str, str] = {}


def register_checker(name: str, *aliases: str, summary: str = "", functions: frozenset[str] | None = None,
                     independent: bool = False,
                     options_check: Callable[[CheckOptions], object] | None = None) -> Callable[[Checker], Checker]:
    """Register ``check`` as model ``name`` (and its aliases) for ``chaoscert check -m``. Before it runs,
    ``options_check`` may refuse the options (OptionError); a history with an op whose f is not one of
    ``functions`` is refused, and so is, when ``independent`` and the user asks for it, a value that is
    no ``[key value]`` tuple."""

    def register(check: Checker) -> Checker:
        for n in (name, *aliases):
            if n in _ALIASES and _ALIASES[n] != name:
                raise ValueError(f"checker name {n!r} is taken by {_ALIASES[n]!r}")
            _ALIASES[n] = name
        _CHECKERS[name] = _Entry(name, check, summary or (check.__doc__ or "").strip().splitlines()[0], functions,
                                 independent, options_check)
        return check

    return register


def _load_all() -> None:
    package_dir = Path(__file__).parent
    for module in pkgutil.iter_modules([str(package_dir)]):
        if not module.name.startswith("_") and not module.ispkg:  # packages register through a module
            importlib.import_module(f"checkers.{module.name}")


def checker_names() -> dict[str, str]:
    """Model name -> one-line summary, for every registered checker (aliases left out)."""
    _load_all()
    return {name: _CHECKERS[name].summary for name in sorted(_CHECKERS)}


def get_checker(name: str) -> Checker:
    """The checker for a model name or alias; KeyError naming the known models otherwise. It first
    checks every op's value has the model's shape (:class:`~checkers.shapes.ShapeError`), and runs
    with the garbage collector paused (:mod:`checkers.collector`)."""
    _load_all()
    if name not in _ALIASES:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(_ALIASES))}")
    entry = _CHECKERS[_ALIASES[name]]
    from checkers.shapes import check_shapes

    def checked(history: History, options: CheckOptions) -> Result:
        with collector_paused():
            if entry.options_check is not None:
                entry.options_check(options)
            check_shapes(entry.name, history, entry.functions, entry.independent and options.independent)
            return entry.check(history, options)

    return checked
