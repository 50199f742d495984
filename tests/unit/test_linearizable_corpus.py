"""Every linearizability history of the reference corpus gets its published verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from checkers import CheckOptions, read_history
from checkers.linearizable import check_linearizable

KNOSSOS = "knossos/data"
ELLE_CLI = "elle-cli/histories/knossos"

# (glob under the corpus, model, options, verdict)
CASES = [
    (f"{KNOSSOS}/cas-register/good/*.edn", "cas-register", CheckOptions(initial_value=0), True),
    (f"{KNOSSOS}/cas-register/bad/*.edn", "cas-register", CheckOptions(initial_value=0), False),
    (f"{KNOSSOS}/multi-register/good/*.edn", "multi-register", CheckOptions(initial_value={"x": 0, "y": 0}), True),
    (f"{KNOSSOS}/mutex/bad/*.edn", "mutex", CheckOptions(), False),
    (f"{ELLE_CLI}/cas-register/good/*", "cas-register", CheckOptions(), True),
    (f"{ELLE_CLI}/cas-register/bad/*", "cas-register", CheckOptions(), False),
    (f"{ELLE_CLI}/mutex/bad/*", "mutex", CheckOptions(), False),
]


def _corpus_root() -> Path:
    from tests.conftest import CORPUS

    return CORPUS


def _params() -> list[object]:
    root = _corpus_root()
    rel = [(path.relative_to(root).as_posix(), model, options, verdict)
           for pattern, model, options, verdict in CASES for path in sorted(root.glob(pattern))]
    return [pytest.param(*case, id=case[0]) for case in rel]


@pytest.mark.parametrize(("relative", "model", "options", "verdict"), _params())
def test_corpus_verdict(corpus: Path, relative: str, model: str, options: CheckOptions, verdict: bool) -> None:
    result = check_linearizable(read_history(corpus / relative), options, model)
    assert result.valid is verdict, result.to_json().get("explanation")
    if verdict is False:
        assert result.details["explanation"] and result.details["op"]["type"] == "ok"


def test_corpus_cases_found(corpus: Path) -> None:
    counts = {pattern: len(list(corpus.glob(pattern))) for pattern, *_ in CASES}
    assert counts[f"{KNOSSOS}/cas-register/good/*.edn"] == 113
    assert counts[f"{KNOSSOS}/cas-register/bad/*.edn"] == 7
    assert all(counts.values())
