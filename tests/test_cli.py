"""The `trainops` console script: offline plan and the generated config reference."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cli import offline
from cli.main import main
from cli.reference import BEGIN, END, config_reference


def test_plan_lists_every_resource_grouped_by_component(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev"]) == 0
    output = capsys.readouterr().out
    recording = offline.run_program("dev")
    custom = [r for r in recording.resources if r.custom]
    assert f"Stack dev: {len(custom)} resources" in output
    assert "trainops:foundation:Foundation foundation" in output
    for resource in custom:
        assert resource.name in output
    assert "Resources per feature:" in output


def test_plan_json_counts_match_the_recording(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "prod", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    recording = offline.run_program("prod")
    assert plan["total"] == len([r for r in recording.resources if r.custom])
    assert sum(plan["features"].values()) == plan["total"]
    assert plan["features"]["foundation"] == len(
        plan["components"]["trainops:foundation:Foundation foundation"]
    )


def test_plan_overrides_apply_like_config_set_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["plan", "--stack", "dev", "--set", "trainops:logRetentionDays=7", "--format", "json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["stack"] == "dev"


def test_plan_reports_invalid_config_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "--stack", "dev", "--set", "trainops:monitoring.enabeld=true"])
    captured = capsys.readouterr()
    assert code == 2
    assert (
        "trainops:monitoring.enabeld: unknown key; valid keys are alertEmails, alertWebhooks, dashboard, enabled, escalateAfterMinutes, hostAlarms, incidentManager, overrunFraction, slack, stallCheckSchedule, stalledAfterMinutes"
        in captured.err
    )
    assert "Traceback" not in captured.err


def test_plan_names_the_known_stacks_for_an_unknown_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "staging"]) == 2
    assert "known stacks: dev, prod" in capsys.readouterr().err


def test_override_values_are_read_as_yaml() -> None:
    assert offline.parse_override("trainops:monitoring.enabled=false") == (
        "trainops:monitoring.enabled",
        False,
    )
    assert offline.parse_override("trainops:monitoring.alertEmails=[a@example.com]") == (
        "trainops:monitoring.alertEmails",
        ["a@example.com"],
    )
    with pytest.raises(ValueError, match="must look like"):
        offline.parse_override("no-equals-sign")


def test_the_console_script_is_installed_and_runs() -> None:
    executable = shutil.which("trainops") or str(offline.PROJECT_DIR / ".venv" / "bin" / "trainops")
    result = subprocess.run(  # noqa: S603 - our own console script
        [executable, "plan", "--stack", "dev", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "dev"


def test_readme_config_reference_is_generated_from_the_models() -> None:
    readme = (offline.PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    embedded = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert embedded == config_reference(), (
        "run `trainops config-reference` and paste it into README.md"
    )
