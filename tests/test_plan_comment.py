"""The pull-request comment of the offline plan (`trainops plan-comment`, cli/plan_comment.py),
rendered from real plans of the program, and the workflows that produce and post it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli import offline, plan, plan_comment
from cli.main import _plan_json, main
from components import config as config_module
from trainops_runtime.training_cost import usd

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"

# The pull request under test: fraud trains on 3 instances under a $60 cap, prod drops its
# dashboard, forecast gets a monthly budget (a resource added) and the event archive keeps 90
# days (a key setting changed).
HEAD_OVERRIDES: dict[str, Any] = {
    "trainops:models.fraud.instanceCount": 3,
    "trainops:models.fraud.maxCostPerRun": 60,
    "trainops:monitoring.dashboard": False,
    "trainops:models.forecast.monthlyBudget": 200,
    "trainops:eventSourcing.archiveRetentionDays": 90,
}


def json_plan(stack: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """What `trainops plan --stack <stack> --format json [--set ...]` prints, parsed."""
    recording = offline.run_program(stack, overrides)
    settings = config_module.parse(offline.stack_config(stack, overrides))
    return json.loads(_plan_json(recording, settings))


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return json_plan("prod")


@pytest.fixture(scope="module")
def head() -> dict[str, Any]:
    return json_plan("prod", HEAD_OVERRIDES)


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return json_plan("dev")


@pytest.fixture(scope="module")
def comment(base: dict[str, Any], head: dict[str, Any]) -> str:
    return plan_comment.render({"prod": base}, {"prod": head})


# ---- the comment ---------------------------------------------------------------------------


def test_cost_deltas_read_before_arrow_after_and_the_signed_difference() -> None:
    assert plan_comment.money_change(4.8, 5.1) == "$4.80 → $5.10 (+$0.30)"
    assert plan_comment.money_change(102.05, 99.05) == "$102.05 → $99.05 (-$3.00)"
    assert plan_comment.money_change(3000, 3500) == "$3,000.00 → $3,500.00 (+$500.00)"
    assert plan_comment.money_change(4.8, 4.8) == "$4.80 (no change)"
    assert plan_comment.money_change(None, 5.1) == "— → $5.10"
    assert plan_comment.money_change(25, None, after_none="no cap") == "$25.00 → no cap"


def test_the_resources_added_removed_and_changed_by_component(
    base: dict[str, Any], head: dict[str, Any], comment: str
) -> None:
    changes = plan_comment.resource_changes(base, head)
    assert [(c.component, c.added, c.removed, c.changed) for c in changes] == [
        (
            "trainops:budgets:SpendBudgets budgets",
            ("+ aws:budgets/budget:Budget budgets-forecast",),
            (),
            (),
        ),
        (
            "trainops:events:TrainingEventStore event-sourcing",
            (),
            (),
            (
                "! aws:cloudwatch/eventArchive:EventArchive event-sourcing-archive  "
                "retentionDays: 365 → 90",
            ),
        ),
        (
            "trainops:monitoring:OperationsDashboard dashboard",
            (),
            ("- aws:cloudwatch/dashboard:Dashboard dashboard-dashboard",),
            (),
        ),
    ]
    # the counts, by component, then the lines themselves
    assert "**Resources**: 1 added, 1 removed, 1 changed" in comment
    assert "| `trainops:budgets:SpendBudgets budgets` | 1 | 0 | 0 |" in comment
    assert "| `trainops:events:TrainingEventStore event-sourcing` | 0 | 0 | 1 |" in comment
    assert "| `trainops:monitoring:OperationsDashboard dashboard` | 0 | 1 | 0 |" in comment
    lines = comment.split("```diff\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert lines == [
        "@@ trainops:budgets:SpendBudgets budgets: +1 -0 !0 @@",
        "+ aws:budgets/budget:Budget budgets-forecast",
        "@@ trainops:events:TrainingEventStore event-sourcing: +0 -0 !1 @@",
        "! aws:cloudwatch/eventArchive:EventArchive event-sourcing-archive  retentionDays: 365 → 90",
        "@@ trainops:monitoring:OperationsDashboard dashboard: +0 -1 !0 @@",
        "- aws:cloudwatch/dashboard:Dashboard dashboard-dashboard",
    ]
    assert "<details open>\n<summary>The resource lines (3)</summary>" in comment
    total = base["total"]
    assert f"| `prod` | {total} | 1 | 1 | 1 |" in comment  # one added, one removed


def test_the_idle_cost_delta_and_the_lines_that_changed(
    base: dict[str, Any], head: dict[str, Any], comment: str
) -> None:
    before, after = base["idleMonthlyCost"]["total"], head["idleMonthlyCost"]["total"]
    assert after == pytest.approx(before - plan.DASHBOARD_MONTHLY)  # the dashboard's $3.00
    assert f"**Idle monthly cost**: {usd(before)} → {usd(after)} (-$3.00)" in comment
    assert "| CloudWatch dashboards | 1 x $3.00 = $3.00 | — | $3.00 → — |" in comment
    assert "CloudWatch alarms |" not in comment  # unchanged lines are not repeated


def test_the_maximum_cost_per_run_of_fraud_and_its_cap(comment: str) -> None:
    assert (
        "| `fraud` | 2 x ml.g5.2xlarge, 720 min → 3 x ml.g5.2xlarge, 720 min "
        "| $36.59 → $54.89 (+$18.30) | $40.00 → $60.00 (+$20.00) |"
    ) in comment
    assert "- fraud: training 3 x ml.g5.2xlarge" in comment  # how the maximum is computed
    assert "| `churn` |" not in comment  # unchanged models are not listed
    assert "over its cap" not in comment


def test_budget_changes_are_listed(comment: str) -> None:
    assert (
        "| `trainops-prod--forecast` | — | $200.00/month; filters trainops:model=forecast, "
        "trainops:stack=prod; notifies at ACTUAL 80%, ACTUAL 100%, FORECASTED 100% |"
    ) in comment
    assert "`trainops-prod--fraud`" not in comment


def test_the_json_plan_carries_the_mermaid_diagram(
    capsys: pytest.CaptureFixture[str], base: dict[str, Any]
) -> None:
    assert main(["plan", "--stack", "prod", "--format", "mermaid"]) == 0
    assert base["diagram"] == capsys.readouterr().out.rstrip("\n")


def test_the_diagram_is_shown_when_it_changed(
    base: dict[str, Any], head: dict[str, Any], comment: str
) -> None:
    assert base["diagram"] != head["diagram"]  # no dashboard node any more
    assert "<summary><b>Architecture</b> (changed): the diagram after this change</summary>" in (
        comment
    )
    mermaid = comment.split("```mermaid\n", 1)[1].split("\n```", 1)[0]
    assert mermaid == head["diagram"]
    assert "dashboard" not in mermaid


def test_a_comment_starts_with_the_marker_that_finds_it_again(comment: str) -> None:
    assert comment.splitlines()[0] == plan_comment.MARKER == "<!-- trainops-offline-plan -->"
    assert comment.endswith("\n")


def test_no_change_says_so(base: dict[str, Any]) -> None:
    comment = plan_comment.render({"prod": base}, {"prod": base})
    assert "No changes in any stack." in comment
    assert f"No changes: the same {base['total']} resources and key settings" in comment
    assert f"| `prod` | {base['total']} | 0 | 0 | 0 |" in comment
    assert "```diff" not in comment
    assert "```mermaid" not in comment


def test_a_base_made_before_the_diagram_key_is_not_a_change(base: dict[str, Any]) -> None:
    older = {key: value for key, value in base.items() if key != "diagram"}
    comment = plan_comment.render({"prod": older}, {"prod": base})
    assert "No changes in any stack." in comment
    assert "the base's plan has no architecture diagram to compare with" in comment


def test_a_stack_only_on_one_side(base: dict[str, Any], dev: dict[str, Any]) -> None:
    added = plan_comment.render({"prod": base}, {"prod": base, "dev": dev})
    total = dev["total"]
    assert "### `dev` (new stack)" in added
    assert f"This pull request adds the stack: {total} resources." in added
    assert f"| `dev` | — → {total} (new stack) | {total} | 0 | 0 |" in added
    assert f"**Resources**: {total} added, 0 removed, 0 changed" in added
    assert added.count("\n+ aws:") == total
    assert "(new model)" in added
    assert f"**Idle monthly cost**: — → {usd(dev['idleMonthlyCost']['total'])}" in added
    assert "<summary><b>Architecture</b> (new stack)" in added
    assert "### `prod`\n\nNo changes" in added

    removed = plan_comment.render({"dev": dev}, {})
    assert "### `dev` (stack removed)" in removed
    assert f"| `dev` | {total} → — (stack removed) | 0 | {total} | 0 |" in removed
    assert removed.count("\n- aws:") == total
    assert "(model removed)" in removed
    assert "```mermaid" not in removed


def _many_models(count: int, per_model: int) -> dict[str, Any]:
    """A synthetic plan as large as a platform of ``count`` models."""
    return {
        "stack": "big",
        "total": count * per_model,
        "idleMonthlyCost": {"lines": [], "total": 0.0, "unpriced": []},
        "maxCostPerRun": {
            f"model-{i:04}": {
                "instanceType": "ml.g5.2xlarge",
                "instanceCount": 1,
                "maxRuntimeMinutes": 60,
                "cap": 25.0,
                "maxCost": 1.52,
                "breakdown": "training 1 x ml.g5.2xlarge ($1.515/h) x 1 h = $1.52",
            }
            for i in range(count)
        },
        "budgets": {},
        "diagram": "flowchart LR\n" + "\n".join(f"    n{i}[node]" for i in range(count)),
        "components": {
            f"trainops:pipelines:TrainingPipeline pipeline-model-{i:04}": [
                {
                    "type": "aws:cloudwatch/metricAlarm:MetricAlarm",
                    "name": f"pipeline-model-{i:04}-alarm-{j:02}",
                    "settings": {"metricName": "Errors", "threshold": 1},
                }
                for j in range(per_model)
            ]
            for i in range(count)
        },
    }


def test_long_lists_are_cut_to_keep_the_comment_under_github_s_limit() -> None:
    big = _many_models(500, 20)
    comment = plan_comment.render({}, {"big": big, "other": _many_models(300, 5)})
    assert len(comment.encode("utf-8")) <= plan_comment.COMMENT_LIMIT == 65_536
    assert comment.startswith(plan_comment.MARKER + "\n")
    assert re.search(r"\.\.\. and \d+ more components", comment)
    assert re.search(r"\.\.\. and \d+ more models", comment)
    assert "| `big` | — → 10000 (new stack) | 10000 | 0 | 0 |" in comment  # counts stay whole
    assert comment.count("<details") == comment.count("</details>")  # cut lists, not markup
    assert comment.count("```") % 2 == 0


def test_a_tight_limit_drops_diagrams_then_cuts_lists_then_keeps_the_summary() -> None:
    big = _many_models(40, 3)
    big["diagram"] = "flowchart LR\n" + "\n".join(f"    n{i}[node]" for i in range(1000))
    whole = plan_comment.render({}, {"big": big})
    assert "```mermaid" in whole
    assert "... and" not in whole
    for limit in (30_000, 10_000, 3_000, 1_000, 600):
        comment = plan_comment.render({}, {"big": big}, limit=limit)
        assert len(comment.encode("utf-8")) <= limit
        assert comment.startswith(plan_comment.MARKER + "\n")
        assert "```mermaid" not in comment
    assert "**Architecture**: new stack (diagram left out to fit the comment)." in (
        plan_comment.render({}, {"big": big}, limit=30_000)
    )
    assert "... and 30 more models" in plan_comment.render({}, {"big": big}, limit=10_000)
    summary = plan_comment.render({}, {"big": big}, limit=1_000)
    assert "| `big` | — → 120 (new stack) | 120 | 0 | 0 |" in summary
    assert "### `big`" not in summary


def test_past_the_summary_whole_lines_are_cut_with_a_note() -> None:
    stacks = {f"stack-{i:03}": {"total": 0, "components": {}} for i in range(100)}
    comment = plan_comment.render({}, stacks, limit=1_200)
    assert len(comment.encode("utf-8")) <= 1_200
    assert comment.startswith(plan_comment.MARKER + "\n")
    assert comment.endswith("comment cut to GitHub's size limit; run `trainops plan` locally.\n")


def test_names_cannot_break_the_markdown() -> None:
    plans = {"a|b": {"total": 0, "components": {"x`y | z": [{"type": "t", "name": "n"}]}}}
    comment = plan_comment.render({}, plans)
    assert "| `a\\|b` |" in comment
    assert "| ``x`y \\| z`` | 1 | 0 | 0 |" in comment


def test_the_cli_renders_two_directories_of_plans(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    base: dict[str, Any],
    head: dict[str, Any],
    dev: dict[str, Any],
) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "head").mkdir()
    (tmp_path / "base" / "prod.json").write_text(json.dumps(base))
    (tmp_path / "head" / "prod.json").write_text(json.dumps(head))
    (tmp_path / "head" / "dev.json").write_text(json.dumps(dev))
    args = ["plan-comment", "--base", str(tmp_path / "base"), "--head", str(tmp_path / "head")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert printed == plan_comment.render({"prod": base}, {"prod": head, "dev": dev})
    assert "### `dev` (new stack)" in printed

    assert main(["plan-comment", "--base", str(tmp_path / "none"), "--head", "."]) == 2
    assert "not a directory of <stack>.json plans" in capsys.readouterr().err


# ---- the workflows -----------------------------------------------------------------------------


def workflow(name: str) -> dict[str, Any]:
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads `on` as true
    return document


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in job["steps"] if str(s.get("uses", "")).startswith(f"{action}@")]


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(s["run"]) for s in job["steps"] if "run" in s)


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    pinned = re.compile(r"^\s*(?:- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
    for path in sorted(WORKFLOWS.glob("*.yml")):
        lines = [line for line in path.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
        assert lines, path
        for line in lines:
            assert pinned.match(line), f"{path.name}: {line.strip()}"


def test_every_job_has_least_permissions_and_no_expression_in_a_script() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        document = workflow(path.name)
        assert document["permissions"] == {}, path.name
        for name, job in document["jobs"].items():
            assert "permissions" in job, f"{path.name}: {name}"
            for step in job["steps"]:
                assert "${{" not in str(step.get("run", "")), f"{path.name}: {name}: {step}"
            for checkout in steps_using(job, "actions/checkout"):
                assert checkout["with"]["persist-credentials"] is False


def test_the_offline_plan_job_runs_pr_code_with_a_read_only_token_and_no_secrets() -> None:
    document = workflow("pull-request.yml")
    assert set(document["on"]) == {"pull_request"}  # never pull_request_target
    job = document["jobs"]["offline-plan"]
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job
    assert "secrets." not in json.dumps(job)
    checkouts = steps_using(job, "actions/checkout")
    assert [c["with"]["path"] for c in checkouts] == ["base", "head"]
    assert checkouts[0]["with"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    script = runs(job)
    assert 'pip install --quiet -e "./$side"' in script
    assert '"$side"/Pulumi.*.yaml' in script
    # the base may predate every command but `plan --stack S --format json`
    assert re.findall(r"bin/trainops\" (\S+)", script) == ["plan"]
    assert 'plan --stack "$stack" --format json' in script
    assert "venvs/head/bin/trainops plan-comment --base plans/base --head plans/head" in script
    assert "PR_NUMBER" in job["steps"][-2]["env"]
    upload = steps_using(job, "actions/upload-artifact")
    assert len(upload) == 1
    assert upload[0]["with"]["name"] == "offline-plan"


def test_the_comment_workflow_runs_no_pr_code_and_checks_the_artifact() -> None:
    text = (WORKFLOWS / "plan-comment.yml").read_text(encoding="utf-8")
    document = workflow("plan-comment.yml")
    pull_request = workflow("pull-request.yml")
    assert document["on"] == {
        "workflow_run": {"workflows": [pull_request["name"]], "types": ["completed"]}
    }
    assert re.search(r"^  workflow_run: # zizmor: ignore\[dangerous-triggers\] \S", text, re.M)
    [job] = document["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "github.event.workflow_run.event == 'pull_request'" in job["if"]
    uses = [str(s["uses"]).split("@")[0] for s in job["steps"] if "uses" in s]
    assert uses == ["actions/download-artifact"]  # no checkout, no setup of any toolchain
    download = job["steps"][0]["with"]
    assert download["run-id"] == "${{ github.event.workflow_run.id }}"
    assert download["github-token"] == "${{ github.token }}"
    script = runs(job)
    for runs_code in ("pip ", "python", "trainops plan", "make ", ".venv", "source ", "bash "):
        assert runs_code not in script
    assert '[[ "$pr" =~ ^[0-9]{1,10}$ ]]' in script  # the number: digits only
    assert 'gh api "repos/$REPOSITORY/pulls/$pr" --jq \'[.head.sha' in script
    assert '"$head_sha" != "$RUN_HEAD_SHA"' in script  # the PR's head is the commit planned
    step_env = job["steps"][1]["env"]
    assert step_env["RUN_HEAD_SHA"] == "${{ github.event.workflow_run.head_sha }}"
    assert "-gt 65536 ]" in script
    assert plan_comment.MARKER in script
    # the body goes from the file to the API, never through the shell
    assert script.count('-F "body=@$body"') == 2
    assert 'cat "$body"' not in script


def test_preview_and_deploy_pass_the_policy_pack_its_config() -> None:
    for name, job_name in (("pull-request.yml", "preview"), ("deploy.yml", "up")):
        job = workflow(name)["jobs"][job_name]
        names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
        config = next(s for s in job["steps"] if "policy-config" in str(s.get("run", "")))
        assert config["run"] == (
            '.venv/bin/trainops policy-config --stack "$STACK" > policy-config.json'
        )
        assert config["env"] == {"STACK": "${{ matrix.stack }}"}
        [pulumi] = steps_using(job, "pulumi/actions")
        assert pulumi["with"]["policyPacks"] == "policy"
        assert pulumi["with"]["policyPackConfigs"] == "policy-config.json"
        install = names.index("Install the project and the policy pack")
        assert install < job["steps"].index(config) < job["steps"].index(pulumi)
