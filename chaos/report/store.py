"""The results store: where a run's files live, in one place so the runner, reports and ``serve`` agree.

One folder per run, under the test's name and the run's start time::

    results/
      latest -> bank-seekdb-kill/20250101T120000      (the newest run of any test)
      bank-seekdb-kill/
        latest -> 20250101T120000                     (the newest run of this test)
        20250101T120000/
          history.jsonl   the history, streamed as ops happen (the source of truth)
          history.edn     the same ops in EDN, readable by Jepsen's tools
          results.json    parameters, checker results, claims' verdicts, figures, "interrupted"
          report.html     one self-contained page for people (no network needed)
          timeline.html   ops per process over time
          summary.md      verdicts for CI step summaries
          junit.xml       one test case per claim and per checker, for CI test views
          run.log         what the runner said
          logs/<node>/    each node's logs (files over 256 KiB gzip-compressed: NAME.gz)
          plots/          the report's plots as PNG files

Everything but history.jsonl, results.json, run.log and logs/ is derived and rebuilt by
``chaoscert report RUN_DIR``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LATEST", "RunDir", "StoreError", "find_runs", "link_latest", "new_run_dir"]

LATEST = "latest"
LOG_GZIP_BYTES = 256 * 1024  # node logs larger than this are kept gzip-compressed


class StoreError(ValueError):
    """A run folder that cannot be read; ``str()`` is one line naming the file."""


_RESULT_SHAPES: dict[str, type] = {"checkers": dict, "claims": dict, "figures": dict, "parameters": dict,
                                    "error": str}
_JSON_NAMES = {dict: "an object", str: "a string"}


@dataclass(frozen=True)
class RunDir:
    """One run's folder and the name of every file in it."""

    path: Path

    @property
    def test_name(self) -> str:
        return self.path.resolve().parent.name

    @property
    def stamp(self) -> str:
        return self.path.resolve().name

    @property
    def history(self) -> Path:
        """history.jsonl, or history.jsonl.gz when only that is there (examples are stored compressed)."""
        plain = self.path / "history.jsonl"
        packed = self.path / "history.jsonl.gz"
        return packed if packed.exists() and not plain.exists() else plain


    history_edn = property(lambda self: self.path / "history.edn")
    results = property(lambda self: self.path / "results.json")
    analysis = property(lambda self: self.path / "analysis.json")  # `chaoscert analyze`'s, beside results.json
    report = property(lambda self: self.path / "report.html")
    timeline = property(lambda self: self.path / "timeline.html")
    summary = property(lambda self: self.path / "summary.md")
    junit = property(lambda self: self.path / "junit.xml")
    run_log = property(lambda self: self.path / "run.log")
    logs = property(lambda self: self.path / "logs")
    plots = property(lambda self: self.path / "plots")

    def logger(self, say: Callable[[str], None]) -> Callable[[str], None]:
        """``say`` that also appends each line to run.log."""

        def both(line: str) -> None:
            with self.run_log.open("a", encoding="utf-8") as f:
                f.write(f"{time.strftime('%H:%M:%S')} {line}\n")
            say(line)

        return both

    def node_logs(self, node: str) -> Path:
        return self.logs / node

    def compress_logs(self) -> None:
        """Gzip every collected node log over :data:`LOG_GZIP_BYTES` (a chatty server writes tens of
        MB a minute; its text shrinks about tenfold): ``NAME`` becomes ``NAME.gz``."""
        for path in sorted(self.logs.rglob("*")) if self.logs.is_dir() else []:
            if path.is_file() and path.suffix != ".gz" and path.stat().st_size > LOG_GZIP_BYTES:
                packed = path.with_name(path.name + ".gz")
                with path.open("rb") as src, gzip.open(packed, "wb", compresslevel=6) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                path.unlink()

    def log_files(self) -> list[tuple[str, int]]:
        """Each node log as (path under logs/, bytes on disk)."""
        files = sorted(p for p in self.logs.rglob("*") if p.is_file()) if self.logs.is_dir() else []
        return [(p.relative_to(self.logs).as_posix(), p.stat().st_size) for p in files]

    def load_results(self) -> dict[str, Any]:
        """results.json as a dict; StoreError when missing or not JSON."""
        try:
            data = json.loads(self.results.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{self.results}: not found (is {self.path} a run folder?)") from None
        except (OSError, UnicodeDecodeError) as e:
            raise StoreError(f"{self.results}: cannot read: {e}") from None
        except json.JSONDecodeError as e:
            raise StoreError(f"{self.results}:{e.lineno}: invalid JSON: {e.msg}") from None
        except (ValueError, RecursionError) as e:  # an integer past Python's digit limit, deep nesting
            raise StoreError(f"{self.results}: invalid JSON: {str(e).split(':')[0] or 'nested too deeply'}") from None
        if not isinstance(data, dict):
            raise StoreError(f"{self.results}: expected a JSON object, got {type(data).__name__}")
        for key, kind in _RESULT_SHAPES.items():
            if key in data and data[key] is not None and not isinstance(data[key], kind):
                raise StoreError(f"{self.results}: {key}: expected {_JSON_NAMES[kind]}, got {type(data[key]).__name__}")
        for name, result in (data.get("checkers") or {}).items():
            if not isinstance(result, dict):
                raise StoreError(f"{self.results}: checkers.{name}: expected an object, got {type(result).__name__}")
        claims = data.get("claims") or {}
        verdicts = claims.get("verdicts", [])
        if not isinstance(verdicts, list) or not all(isinstance(v, dict) for v in verdicts):
            raise StoreError(f"{self.results}: claims.verdicts: expected a list of objects")
        return data

    def save_results(self, data: dict[str, Any]) -> None:
        _save_json(self.results, data)

    def save_analysis(self, data: dict[str, Any]) -> None:
        _save_json(self.analysis, data)


def new_run_dir(results_root: Path, test_name: str, now: float | None = None) -> RunDir:
    """Create ``results_root/test_name/<timestamp>`` (``-2``, ``-3``... when taken)."""
    base = results_root / test_name
    base.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.localtime(now))
    path, n = base / stamp, 1
    while True:
        try:
            path.mkdir()
            return RunDir(path)
        except FileExistsError:
            n += 1
            path = base / f"{stamp}-{n}"


def _symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically (a temporary link renamed over it)."""
    tmp = link.with_name(f".{link.name}-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target)
    tmp.replace(link)


def link_latest(run: RunDir) -> None:
    """``results/<test>/latest`` and ``results/latest`` point at this run (relative links)."""
    path = run.path.resolve()
    _symlink(path.parent / LATEST, path.name)
    _symlink(path.parent.parent / LATEST, f"{path.parent.name}/{path.name}")


def find_runs(results_root: Path) -> list[RunDir]:
    """Every run folder (one holding results.json) two or three levels down (``examples/<test>/<time>``),
    newest first; ``latest`` links skipped."""
    found = [*results_root.glob("*/*/results.json"), *results_root.glob("*/*/*/results.json")]
    runs = [RunDir(p.parent) for p in found
            if LATEST not in p.relative_to(results_root).parts and not p.parent.is_symlink()]
    return sorted(runs, key=lambda r: (r.path.name, r.path.parent.name), reverse=True)


def _save_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
