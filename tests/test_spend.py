"""Spend guardrails: the projection of a run's maximum cost, the config rules that refuse a run
that could never fit its cap or an instance type the stack does not allow, what the program
ships to the starters, and `trainops plan`/`submit`."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rules

from cli import offline, reference
from cli import spend as plan_spend
from cli import submit as submit_module
from cli.policy_config import INSTANCE_TYPES_POLICY, policy_config
from components.config import ConfigError
from components.platform.spend_config import allows
from tests.components.helpers import ParseWith, RunStack, role_policy, statements_by_sid
from tests.policy import support as policy_support
from trainops_runtime import training_prices
from trainops_runtime.training_cost import (
    CostSpec,
    JobShape,
    UnknownPrice,
    cap_refusal,
    project,
)
from trainops_runtime.training_request import InvalidRequest

STORAGE_HOURLY = training_prices.ML_STORAGE_GB_MONTH / training_prices.HOURS_PER_MONTH


def shape(instance_type: str, count: int = 1, minutes: int = 60, volume: int = 0) -> JobShape:
    return JobShape(instance_type, count, minutes, volume)


# ---- the projection -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        # CPU: one ml.m5.xlarge for four hours
        (shape("ml.m5.xlarge", minutes=240), 4 * 0.23),
        # GPU: one ml.p4d.24xlarge for an hour (the June 2025 price)
        (shape("ml.p4d.24xlarge"), 25.2513),
        # more than one instance: each is billed
        (shape("ml.g5.2xlarge", count=2, minutes=720), 2 * 1.515 * 12),
        # volumes: 100 GB on each of 3 instances for 10 hours
        (
            shape("ml.c5.xlarge", count=3, minutes=600, volume=100),
            3 * 0.204 * 10 + 3 * 100 * 10 * STORAGE_HOURLY,
        ),
    ],
)
def test_a_jobs_maximum_is_price_times_count_times_runtime_plus_volumes(
    job: JobShape, expected: float
) -> None:
    assert project(job, None, "us-east-1").total == round(expected, 2)


def test_an_evaluation_gate_adds_its_processing_job() -> None:
    training = shape("ml.m5.2xlarge", minutes=240, volume=50)
    gate = shape("ml.m5.xlarge", minutes=60, volume=50)
    alone, gated = project(training, None, "us-east-1"), project(training, gate, "us-east-1")
    assert gated.total == round(alone.total + 0.23 + 50 * STORAGE_HOURLY, 2)
    assert [job.name for job in gated.jobs] == ["training", "evaluation"]
    assert gated.explain().startswith(
        "training 1 x ml.m5.2xlarge ($0.461/h) x 4 h with 50 GB each = $1.88 + evaluation 1 x "
        "ml.m5.xlarge ($0.230/h) x 1 h with 50 GB each = $0.24"
    )


@pytest.mark.parametrize(
    ("instance_type", "region", "message"),
    [
        ("ml.x9.huge", "us-east-1", "no list price for ml.x9.huge in us-east-1"),
        ("ml.m5.xlarge", "ap-south-2", "no SageMaker list prices for region ap-south-2"),
    ],
)
def test_an_unknown_type_or_region_is_a_clear_error(
    instance_type: str, region: str, message: str
) -> None:
    with pytest.raises(UnknownPrice, match=message):
        project(shape(instance_type), None, region)


def test_every_priced_type_is_a_valid_instance_type_with_a_positive_price() -> None:
    from components.platform.config_types import INSTANCE_TYPE

    table = training_prices.TRAINING_HOURLY["us-east-1"]
    assert len(table) >= 20
    for instance_type, price in table.items():
        assert INSTANCE_TYPE.match(instance_type), instance_type
        assert 0 < price < 100, instance_type


def test_a_requests_overrides_change_the_projection_and_the_refusal() -> None:
    spec = CostSpec("us-east-1", cap=3.0, training=shape("ml.g5.xlarge", volume=50))
    assert cap_refusal("fraud", spec) is None
    assert cap_refusal("fraud", spec, max_runtime_minutes=30, instance_count=4) is None
    refusal = cap_refusal("fraud", spec, instance_count=3)
    assert refusal is not None
    assert (refusal.projected, refusal.cap) == (4.25, 3.0)
    assert cap_refusal("fraud", None, instance_count=100) is None  # no cap: nothing refused
    assert CostSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


# ---- config ---------------------------------------------------------------------------------


def problems(parse_with: ParseWith, stack: str, overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse_with(stack, overrides)
    return error.value.problems


def test_a_model_whose_run_can_never_fit_its_cap_is_refused(parse_with: ParseWith) -> None:
    (problem,) = problems(parse_with, "prod", {"trainops:models.fraud.maxCostPerRun": 30})
    assert problem.startswith(
        "trainops:models.fraud.maxCostPerRun: every run would be refused: projected maximum "
        "$36.59 exceeds the cap of $30.00 per run: training 2 x ml.g5.2xlarge"
    )
    assert problem.endswith(
        "raise the cap to at least $36.59, or shorten maxRuntimeMinutes or use fewer or smaller "
        "instances"
    )


def test_the_stack_default_cap_is_named_when_it_is_the_one_exceeded(parse_with: ParseWith) -> None:
    (problem,) = problems(parse_with, "dev", {"trainops:spendGuardrails.maxCostPerRun": 5})
    assert problem.startswith(
        "trainops:spendGuardrails.maxCostPerRun (for fraud): every run would be refused: "
        "projected maximum $11.34 exceeds the cap of $5.00 per run"
    )


def test_a_cap_on_an_unpriced_type_or_region_cannot_be_held(parse_with: ParseWith) -> None:
    capped = {"trainops:spendGuardrails.maxCostPerRun": 15}
    (unpriced,) = problems(
        parse_with, "dev", {**capped, "trainops:models.churn.instanceType": "ml.r5.xlarge"}
    )
    assert unpriced.startswith(
        "trainops:spendGuardrails.maxCostPerRun (for churn): cannot enforce a cap: no list price "
        "for ml.r5.xlarge in us-east-1"
    )
    region = problems(parse_with, "dev", {**capped, "aws:region": "eu-central-1"})
    assert region == [
        f"trainops:spendGuardrails.maxCostPerRun (for {model}): cannot enforce a cap: no "
        "SageMaker list prices for region eu-central-1 (trainops knows us-east-1); add them to "
        "lambda/trainops_runtime/training_prices.py, or unset the cost caps"
        for model in ("churn", "fraud")
    ]


def test_without_a_cap_an_unpriced_type_is_fine(parse_with: ParseWith) -> None:
    settings = parse_with(
        "dev",
        {
            "trainops:models.churn.instanceType": "ml.r5.xlarge",
        },
    )
    assert settings.models["churn"].instance_type == "ml.r5.xlarge"


def test_an_instance_type_the_stack_does_not_allow_is_refused_wherever_it_is_used(
    parse_with: ParseWith,
) -> None:
    found = problems(
        parse_with,
        "prod",
        {
            "trainops:spendGuardrails.allowedInstanceTypes": ["ml.m5.*", "ml.c5.4xlarge"],
            "trainops:eventSourcing.notebook": {"enabled": True, "instanceType": "ml.t3.large"},
        },
    )
    allowed = "(spendGuardrails.allowedInstanceTypes: ml.m5.*, ml.c5.4xlarge)"
    assert found == [
        f"trainops:eventSourcing.notebook.instanceType: ml.t3.large is not allowed in this stack "
        f"{allowed}; use an allowed type, or allow it",
        f"trainops:models.fraud.instanceType: ml.g5.2xlarge is not allowed in this stack "
        f"{allowed}; use an allowed type, or allow it",
    ]


@pytest.mark.parametrize("pattern", ["m5.*", "ml.m5", "ml.*", "ml.M5.large", "ml.m5.x*"])
def test_a_malformed_instance_pattern_says_how_to_write_one(
    parse_with: ParseWith, pattern: str
) -> None:
    (problem,) = problems(
        parse_with, "dev", {"trainops:spendGuardrails.allowedInstanceTypes": [pattern]}
    )
    assert problem.startswith(
        "trainops:spendGuardrails.allowedInstanceTypes.0: not an instance type pattern: write "
        "ml.<family>.<size>, either part may be *"
    )


@pytest.mark.parametrize(
    ("patterns", "instance_type", "allowed"),
    [
        ([], "ml.p5.48xlarge", True),
        (["ml.m5.*"], "ml.m5.24xlarge", True),
        (["ml.m5.*"], "ml.m5d.large", False),
        (["ml.*.large"], "ml.c5.large", True),
        (["ml.*.large"], "ml.c5.xlarge", False),
        (["ml.g5.xlarge", "ml.c5.*"], "ml.g5.xlarge", True),
    ],
)
def test_instance_patterns(patterns: list[str], instance_type: str, *, allowed: bool) -> None:
    assert allows(patterns, instance_type) is allowed


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("trainops:models.churn.maxCostPerRun", 0, "Input should be greater than 0"),
        ("trainops:spendGuardrails.maxCostPerRun", -1, "Input should be greater than 0"),
        (
            "trainops:spendGuardrails.budgets.actualThresholds",
            [50, 80, 90, 100, 120],
            "actualThresholds and forecastThresholds: 6 notifications",
        ),
    ],
)
def test_bad_values_name_their_key(
    parse_with: ParseWith, key: str, value: Any, message: str
) -> None:
    (problem,) = problems(parse_with, "dev", {key: value})
    assert problem.startswith(key.rsplit(".", 1)[0] if "Thresholds" in key else key)
    assert message in problem


# ---- what the program ships -----------------------------------------------------------------


def shipped(recording: offline.Recording, function: str) -> dict[str, Any]:
    code = recording.one("aws:lambda/function:Function", function)
    return json.loads(code.archive_file("trainops_runtime/catalog.json") or "{}")


def test_the_starters_ship_each_capped_models_cost(run_stack: RunStack) -> None:
    prod = run_stack("prod")
    for function in ("training-queue-worker-function", "scheduled-retraining-start-function"):
        catalog = shipped(prod, function)
        assert catalog["fraud"]["cost"] == {
            "region": "us-east-1",
            "cap": 40.0,
            "training": {
                "instanceType": "ml.g5.2xlarge",
                "instanceCount": 2,
                "maxRuntimeMinutes": 720,
                "volumeGb": 50,
            },
            "evaluation": None,
        }
        assert catalog["churn"]["cost"]["cap"] == 25.0  # the stack default
        assert catalog["churn"]["cost"]["evaluation"]["instanceType"] == "ml.m5.xlarge"


def test_the_starters_alert_refusals_on_the_warning_topic(run_stack: RunStack) -> None:
    prod = run_stack("prod")
    warning = prod.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    for function, policy in (
        ("training-queue-worker-function", "training-queue-worker-policy"),
        ("scheduled-retraining-start-function", "scheduled-retraining-start-policy"),
    ):
        environment = prod.one("aws:lambda/function:Function", function).inputs["environment"]
        assert environment["variables"]["TRAINOPS_WARNING_TOPIC_ARN"] == warning
        grants = statements_by_sid(role_policy(prod, policy))
        assert grants["AlertRefusedRuns"]["Action"] == ["sns:Publish"]
        assert grants["AlertRefusedRuns"]["Resource"] == [warning]


def test_without_caps_nothing_is_shipped_or_granted(run_stack: RunStack) -> None:
    recording = run_stack("dev")  # dev sets no cap
    assert all(
        "cost" not in e for e in shipped(recording, "training-queue-worker-function").values()
    )
    environment = recording.one(
        "aws:lambda/function:Function", "training-queue-worker-function"
    ).inputs["environment"]["variables"]
    assert "TRAINOPS_WARNING_TOPIC_ARN" not in environment
    assert "AlertRefusedRuns" not in json.dumps(
        role_policy(recording, "training-queue-worker-policy")
    )


# ---- plan and submit ------------------------------------------------------------------------


def test_the_plan_shows_each_models_maximum_and_cap(parse_with: ParseWith) -> None:
    costs = plan_spend.run_costs(parse_with("prod", {}))
    assert {m: (c["maxCost"], c["cap"]) for m, c in costs.items()} == {
        "churn": (2.12, 25.0),
        "forecast": (2.48, 25.0),
        "fraud": (36.59, 40.0),
    }
    lines = plan_spend.text(costs, {})
    assert any(line.split()[:4] == ["fraud", "$36.59", "cap", "$40.00"] for line in lines)


def test_submit_refuses_a_run_over_its_cap_with_the_workers_words() -> None:
    with pytest.raises(
        InvalidRequest, match=r"projected maximum \$54.89 exceeds the cap of \$40.00"
    ):
        submit_module.build_request("prod", "fraud", instance_count=3)
    request, settings = submit_module.build_request(
        "prod", "fraud", instance_count=1, max_runtime_minutes=60
    )
    assert submit_module.projection_line(request, settings).startswith(
        "maximum cost: $1.52 (cap $40.00): training 1 x ml.g5.2xlarge"
    )


# ---- the policy pack ------------------------------------------------------------------------


def pack_config(stack: str) -> dict[str, dict[str, Any]]:
    """`trainops policy-config` as the rule engine takes it (rule id -> settings)."""
    written = policy_config(stack)[INSTANCE_TYPES_POLICY]
    assert written["enforcementLevel"] == "mandatory"
    return {"instance-types": {k: v for k, v in written.items() if k != "enforcementLevel"}}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_passes_the_instance_rule_with_its_own_config(
    run_stack: RunStack, stack: str
) -> None:
    resources = policy_support.stack_of(run_stack(stack)).resources
    config = pack_config(stack)
    assert rules.evaluate(rules.Stack(resources, config=config)) == []


def test_the_pack_refuses_what_a_narrower_stack_config_would(run_stack: RunStack) -> None:
    """prod's resources against a config that allows CPU families only: the GPU pipeline and
    nothing else is refused, offline and through pulumi-policy's analyzer."""
    resources = policy_support.stack_of(run_stack("prod")).resources
    config = {"instance-types": {"allowedInstanceTypes": ["ml.m5.*", "ml.c5.*", "ml.t3.*"]}}
    violations = rules.evaluate(rules.Stack(resources, config=config))
    assert [(v.rule, v.resource, v.message) for v in violations] == [
        (
            "instance-types",
            "pipeline-fraud-pipeline",
            "training step Train uses ml.g5.2xlarge, which this stack does not allow (allowed: "
            "ml.m5.*, ml.c5.*, ml.t3.*)",
        )
    ]
    diagnostics = policy_support.mandatory(policy_support.analyze_stack(resources, config))
    assert [d.policy for d in diagnostics] == ["trainops-instance-types"]
    assert diagnostics[0].urn.endswith("::pipeline-fraud-pipeline")


def test_the_readmes_run_cost_table_is_generated_from_the_stack_files() -> None:
    readme = (offline.PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    embedded = reference.section(readme, reference.RUN_COSTS_BEGIN, reference.RUN_COSTS_END)
    assert embedded == reference.run_cost_table(), (
        "run `trainops config-reference --update README.md`"
    )
    assert "| prod | fraud | training 2 x ml.g5.2xlarge" in embedded


def test_a_models_endpoint_is_tagged_so_its_budget_counts_it(run_stack: RunStack) -> None:
    prod = run_stack("prod")
    for type_token in (
        "aws:sagemaker/endpoint:Endpoint",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
        "aws:sagemaker/model:Model",
    ):
        (resource,) = [r for r in prod.of_type(type_token) if r.name.startswith("monitoring-churn")]
        assert resource.inputs["tags"]["trainops:model"] == "churn", type_token
