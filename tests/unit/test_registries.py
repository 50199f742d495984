"""The registries, the CLI's choices and the README's tables name the same things."""

import re
from pathlib import Path

from chaos.nemesis.package import FAULTS
from chaos.run.runner import BACKENDS, DBS, WORKLOADS
from checkers.registry import checker_names

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def table_names(header: str) -> set[str]:
    """Backticked names in the first column of the README table whose header starts with ``header``."""
    lines = README.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header}"))
    names: set[str] = set()
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return names


def test_readme_tables_match_the_registries():
    assert table_names("`--db`") == set(DBS)
    assert table_names("`--workload`") == set(WORKLOADS)
    assert table_names("`--backend`") == set(BACKENDS)
    assert table_names("`--nemesis`") == set(FAULTS)
    assert table_names("`-m`") == set(checker_names())
