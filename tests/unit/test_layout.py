"""The rules of the house (ARCHITECTURE.md): import-linter's contracts in pyproject.toml, and what a
module really imports when it runs."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import chaos

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def test_import_contracts_are_kept() -> None:
    done = subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_only_the_command_line_loads_typer() -> None:
    modules = [m.name for m in pkgutil.walk_packages(chaos.__path__, "chaos.")
               if not m.name.startswith(("chaos.cli", "chaos.__main__"))]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n    importlib.import_module(name)\n"
            "print('typer' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False"
    assert len(modules) > 20  # the walk found the harness, not an empty package
