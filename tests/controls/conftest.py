"""Controls run real databases with known behaviour and assert chaoscert's verdict on them.

Each control is a short suite (``tests/controls/suites/*.toml``) run through ``chaoscert suite``'s
own code, so a control also proves the suite runner, the checkers and the claims end to end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.run.suite import SuiteOutcome, load_suite, run_suite

SUITES = Path(__file__).parent / "suites"


@pytest.fixture
def run_control(tmp_path):
    """Run a control suite by name; returns the outcome and each test's results.json."""
    import json

    def run(name: str) -> tuple[SuiteOutcome, dict[str, dict]]:
        suite = load_suite(SUITES / f"{name}.toml", results_dir=tmp_path)
        outcome = run_suite(suite, tmp_path, say=lambda _: None)
        runs = json.loads((outcome.directory / "suite.json").read_text())["runs"]
        results = {test: json.loads((outcome.directory / folder / "results.json").read_text())
                   for test, folder in runs.items()}
        return outcome, results

    return run
