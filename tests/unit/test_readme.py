"""The README's examples run as written: the files they name ship with the repository, the claims
file is the README's own claims block, and `chaoscert` is on PATH once the venv is activated."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

from chaos.sla.claims import load_claims

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_claims_file_the_readme_names_ships_and_loads() -> None:
    named = set(re.findall(r"--claims (\S+\.toml)", README)) - {"claims.toml"}
    assert "examples/claims.toml" in named
    for path in named:
        assert (ROOT / path).is_file(), path
        load_claims(ROOT / path)


def test_the_shipped_claims_are_the_readmes_claims_block() -> None:
    block = re.search(r"```toml\n# examples/claims.toml\n(.*?)```", README, re.S)
    assert block is not None
    assert tomllib.loads(block.group(1)) == tomllib.loads((ROOT / "examples" / "claims.toml").read_text())


def test_activating_the_venv_puts_chaoscert_on_path() -> None:
    done = subprocess.run(["bash", "-c", "source .venv/bin/activate && command -v chaoscert && chaoscert version"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == str(ROOT / ".venv" / "bin" / "chaoscert")
    assert "source .venv/bin/activate" in README


def test_findings_name_only_files_and_tests_that_exist() -> None:
    """docs/findings.md: every file, regression history and control test it cites is in the repository."""
    text = (ROOT / "docs" / "findings.md").read_text()
    paths = set(re.findall(r"\b((?:tests|benchmarks|suites|examples)/[\w/.-]+\.(?:py|jsonl|log|toml))", text))
    paths |= {f"tests/data/regressions/{name}" for name in re.findall(r"`([\w-]+\.(?:jsonl|log))`", text)}
    assert len(paths) > 10
    for path in paths:
        assert (ROOT / path).is_file(), path
    controls = " ".join(p.read_text() for p in (ROOT / "tests" / "controls").glob("test_*.py"))
    for name in set(re.findall(r"\b(test_\w+)", text)) - {Path(p).stem for p in paths}:
        assert f"def {name}(" in controls, name
