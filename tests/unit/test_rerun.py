"""The rerun line of a report comes from the recorded spec, and ``chaoscert run`` rebuilds that spec from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import chaos.cli.run
from chaos.cli.main import main
from chaos.report.rerun import REDACTED, rerun_command, run_argv
from chaos.report.view import scrub
from chaos.run.runner import RunSpec, recorded_parameters
from chaos.sla.claims import load_claims
from clusters.backends import BackendOptions


class _Captured(BaseException):  # main() turns every Exception into one line
    pass


def _spec_from_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> RunSpec:
    seen: list[RunSpec] = []

    def capture(spec: RunSpec, say: object) -> None:
        seen.append(spec)
        raise _Captured

    monkeypatch.setattr(chaos.cli.run, "run", capture)
    with pytest.raises(_Captured):
        main(["run", *argv])
    return seen[0]


def _record(spec: RunSpec) -> dict:
    return json.loads(json.dumps(recorded_parameters(spec, spec.seed or 0), default=str))


def test_the_command_line_rebuilds_every_recorded_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    claims = tmp_path / "claims.toml"
    claims.write_text("data_loss = 0\nrto_seconds = 8\n")
    spec = RunSpec(db="galera", workload="list-append", nemesis="kill:one/majority,partition:majorities-ring",
                   backend="ssh", nodes=3, time_limit=12.5, concurrency="2n", nemesis_interval=5.0,
                   nemesis_down=1.5, nemesis_quiet=0.0, nemesis_grudge='{"n1": ["n2"]}', rate=50.0, op_timeout=2.0,
                   accounts=5, isolation="repeatable-read", consistency="snapshot-isolation", seed=7,
                   claims=load_claims(claims), claims_file=claims, db_options={"sync_wait": 1, "sst_method": "rsync"},
                   backend_options=BackendOptions(ssh_hosts=("a@h1", "a@h2:2222", "a@h3"), ssh_user="root",
                                                  ssh_insecure=True, ssh_sudo=False))
    argv, missing = run_argv(_record(spec))
    assert missing == []
    rebuilt = _spec_from_cli(argv, monkeypatch)
    expected = {**_record(spec), "results_dir": "results"}  # where results go is the rerun's own choice
    assert _record(rebuilt) == expected


def test_defaults_and_none_give_no_options(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = RunSpec(seed=3)
    argv, missing = run_argv(_record(spec))
    assert "--nemesis-quiet" not in argv and "--claims" not in argv and missing == []
    assert _record(_spec_from_cli(argv, monkeypatch)) == _record(spec)


def test_what_no_option_can_give_is_named_not_guessed() -> None:
    spec = RunSpec(seed=1, backend_options=BackendOptions(ssh_key=Path("/root/.ssh/id")), backend="local")
    parameters = scrub(_record(spec))  # the report shows scrubbed parameters
    assert parameters["backend_options"]["ssh_key"] == REDACTED
    command, missing = rerun_command({**parameters, "claims": {"data_loss": 0}})
    assert command.startswith("chaoscert run ") and "--seed 1" in command
    assert "--ssh-key" not in command and missing == ["ssh_key", "claims"]
