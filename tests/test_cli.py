"""The `trainops` console script: offline plan and the generated config reference."""

from __future__ import annotations

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from cli import offline
from cli.main import main
from cli.reference import (
    BEGIN,
    CONFIG_REFERENCE_FILE,
    DIAGRAM_BEGIN,
    DIAGRAM_END,
    DIAGRAM_FILE,
    END,
    config_reference,
    diagram,
    section,
    update_generated_sections,
)


def plan(
    capsys: pytest.CaptureFixture[str], stack: str, *overrides: str, fmt: str | None = None
) -> str:
    """The output of `trainops plan --stack <stack> [--format <fmt>] [--set <override> ...]`."""
    args = ["plan", "--stack", stack]
    if fmt is not None:
        args += ["--format", fmt]
    for override in overrides:
        args += ["--set", override]
    assert main(args) == 0
    return capsys.readouterr().out


def json_plan(capsys: pytest.CaptureFixture[str], stack: str, *overrides: str) -> dict[str, Any]:
    return json.loads(plan(capsys, stack, *overrides, fmt="json"))


def resources_of_type(planned: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    """Every resource of ``type_`` in a JSON plan, whatever its component."""
    components = planned["components"].values()
    return [r for resources in components for r in resources if r["type"] == type_]


def test_plan_lists_every_resource_grouped_by_component(capsys: pytest.CaptureFixture[str]) -> None:
    output = plan(capsys, "dev")
    recording = offline.run_program("dev")
    custom = [r for r in recording.resources if r.custom]
    assert f"Stack dev: {len(custom)} resources" in output
    assert "trainops:foundation:Foundation foundation" in output
    for resource in custom:
        assert resource.name in output
    assert "Resources per feature:" in output


def test_plan_json_counts_match_the_recording(capsys: pytest.CaptureFixture[str]) -> None:
    result = json_plan(capsys, "prod")
    recording = offline.run_program("prod")
    assert result["total"] == len([r for r in recording.resources if r.custom])
    assert sum(result["features"].values()) == result["total"]
    assert result["features"]["foundation"] == len(
        result["components"]["trainops:foundation:Foundation foundation"]
    )


def test_plan_overrides_apply_like_config_set_path(capsys: pytest.CaptureFixture[str]) -> None:
    result = json_plan(capsys, "dev", "trainops:logRetentionDays=7")
    assert result["stack"] == "dev"
    retention = [
        group["settings"]["retentionInDays"]
        for group in resources_of_type(result, "aws:cloudwatch/logGroup:LogGroup")
    ]
    assert retention
    assert set(retention) == {7}  # every log group took the override (dev's file says 14)
    # numbers print as the config wrote them, not as the engine's floats
    table = plan(capsys, "dev")
    assert "retentionInDays=14," in table or "retentionInDays=14\n" in table
    assert "memorySize=256," in table
    assert ".0," not in table


def test_plan_reports_invalid_config_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["plan", "--stack", "dev", "--set", "trainops:monitoring.enabeld=true"])
    captured = capsys.readouterr()
    assert code == 2
    assert (
        "trainops:monitoring.enabeld: unknown key; valid keys are alertEmails, alertWebhooks, dashboard, enabled, escalate, escalateAfterMinutes, hostAlarms, incidentManager, lambdaThrottleAlarms, overrunFraction, slack, stallCheckSchedule, stalledAfterMinutes"
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
    # the console script of the environment running the tests, wherever that environment is
    installed = Path(sysconfig.get_path("scripts")) / "trainops"
    executable = str(installed) if installed.exists() else shutil.which("trainops")
    assert executable, f"no trainops console script in {installed.parent} or on PATH"
    result = subprocess.run(  # noqa: S603 - our own console script
        [executable, "plan", "--stack", "dev", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["stack"] == "dev"


def test_documented_config_reference_is_generated_from_the_models() -> None:
    document = (offline.PROJECT_DIR / CONFIG_REFERENCE_FILE).read_text(encoding="utf-8")
    embedded = section(document, BEGIN, END)
    assert embedded == config_reference(), (
        f"run `trainops config-reference --update {CONFIG_REFERENCE_FILE}`"
    )


def test_readme_diagram_is_generated_from_the_prod_stack() -> None:
    readme = (offline.PROJECT_DIR / DIAGRAM_FILE).read_text(encoding="utf-8")
    assert section(readme, DIAGRAM_BEGIN, DIAGRAM_END) == diagram(), (
        f"run `trainops config-reference --update {DIAGRAM_FILE}`"
    )


def test_plan_lists_key_settings_counts_and_idle_cost(capsys: pytest.CaptureFixture[str]) -> None:
    result = json_plan(capsys, "prod")
    functions = resources_of_type(result, "aws:lambda/function:Function")
    assert functions
    assert all(f["settings"]["runtime"] == "python3.13" for f in functions)
    cost = result["idleMonthlyCost"]
    assert cost["prices"]["region"] == "us-east-1"
    assert cost["prices"]["as_of"]
    recording = offline.run_program("prod")
    alarms = len(recording.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
    alarm_line = next(line for line in cost["lines"] if line["item"] == "CloudWatch alarms")
    assert alarm_line["count"] == alarms
    assert cost["total"] == round(sum(line["monthly"] for line in cost["lines"]), 2)


def test_endpoints_and_notebooks_are_priced(capsys: pytest.CaptureFixture[str]) -> None:
    endpoint = "{deploy: true, modelDataUrl: 's3://example-ml-data/m.tar.gz'}"
    result = json_plan(capsys, "dev", f"trainops:models.churn.endpoint={endpoint}")
    lines = {line["item"]: line for line in result["idleMonthlyCost"]["lines"]}
    assert lines["endpoint instances ml.m5.large"]["monthly"] == round(0.115 * 730, 2)


def test_toggling_a_feature_off_removes_its_resources_from_the_plan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    full = json_plan(capsys, "dev")
    without = json_plan(capsys, "dev", "trainops:trainingQueue.enabled=false")
    assert "trainingQueue" in full["features"]
    assert "trainingQueue" not in without["features"]
    assert without["total"] == full["total"] - full["features"]["trainingQueue"]


def test_plan_diff_shows_what_differs_between_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--stack", "dev", "--diff", "prod", "--format", "json"]) == 0
    difference = json.loads(capsys.readouterr().out)
    assert (
        "aws:ssm/maintenanceWindow:MaintenanceWindow maintenance-window-window"
        in difference["only_in_prod"]
    )
    assert (
        "aws:sagemaker/pipeline:Pipeline pipeline-forecast-pipeline" in difference["only_in_prod"]
    )
    retention = [
        c for c in difference["changed"] if c["type"] == "aws:cloudwatch/logGroup:LogGroup"
    ]
    assert retention
    assert retention[0]["dev"]["retentionInDays"] == 14
    assert retention[0]["prod"]["retentionInDays"] == 365
    # the default format is for people
    assert main(["plan", "--stack", "dev", "--diff", "prod"]) == 0
    table = capsys.readouterr().out
    assert "Only in dev (0):" in table
    assert f"Only in prod ({len(difference['only_in_prod'])}):" in table
    assert "retentionInDays: 14 -> 365" in table


def test_mermaid_draws_only_the_components_present(capsys: pytest.CaptureFixture[str]) -> None:
    chart = plan(capsys, "dev", "trainops:trainingQueue.enabled=false", fmt="mermaid")
    assert chart.startswith("flowchart LR")
    assert "queue[" not in chart
    assert "schedule -->|start| pipelines" in chart
    assert "window[" not in chart  # dev has no maintenance window


def test_update_rewrites_only_the_generated_sections_a_file_holds(tmp_path: Path) -> None:
    stale = "| Key | Default | Description |\n| --- | --- | --- |"
    document = tmp_path / "configuration.md"
    document.write_text(f"# Configuration\n\nprose\n\n{BEGIN}\n{stale}\n{END}\n\nmore\n")
    assert update_generated_sections(document) is True
    text = document.read_text(encoding="utf-8")
    assert text.startswith("# Configuration\n\nprose\n\n")
    assert text.endswith("\n\nmore\n")
    assert section(text, BEGIN, END) == config_reference()
    assert DIAGRAM_BEGIN not in text  # a file without the diagram gets none
    assert update_generated_sections(document) is False  # idempotent

    neither = tmp_path / "notes.md"
    neither.write_text("# Notes\n")
    with pytest.raises(ValueError, match=CONFIG_REFERENCE_FILE):
        update_generated_sections(neither)


def test_a_json_plan_lists_each_component_s_resources_by_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The program registers resources in no fixed order; a plan compared across commits (a
    pull request against main) must differ only where the stack does."""
    components = json_plan(capsys, "dev")["components"]
    assert len(components) > 5
    for resources in components.values():
        keys = [(r["name"], r["type"]) for r in resources]
        assert keys == sorted(keys)
