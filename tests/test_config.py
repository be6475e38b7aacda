"""Stack config validation: every rule fails with `trainops:<key path>: <problem> (got <value>)`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from cli import offline
from components import config
from components.config import ConfigError, StackConfig


def problems_for(parse_with: Callable[..., StackConfig], overrides: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        parse_with("dev", overrides)
    return raised.value.problems


def test_both_stack_files_are_valid() -> None:
    for stack in ("dev", "prod"):
        settings = config.parse(offline.stack_config(stack))
        assert settings.region == "us-east-1"
        assert settings.environment == stack
        assert settings.models


def test_defaults_are_safe_when_a_feature_is_not_configured() -> None:
    settings = config.parse({"aws:region": "eu-west-1", "trainops:environment": "test"})
    assert not settings.monitoring.enabled
    assert not settings.training_queue.enabled
    assert not settings.scheduled_retraining.enabled
    assert not settings.maintenance_window.enabled
    assert not settings.event_sourcing.enabled
    assert settings.models == {}
    assert settings.scheduled_retraining.schedule == "cron(0 6 * * ? *)"
    assert settings.log_retention_days == 30


def test_values_arrive_as_the_cli_sends_them() -> None:
    """Scalars arrive as strings and objects as JSON; both are decoded and typed."""
    settings = config.parse(
        {
            "aws:region": "us-east-1",
            "trainops:environment": "dev",
            "trainops:logRetentionDays": "90",
            "trainops:trainingQueue": '{"enabled": true, "maxConcurrentTrainings": 7}',
        }
    )
    assert settings.log_retention_days == 90
    assert settings.training_queue.enabled is True
    assert settings.training_queue.max_concurrent_trainings == 7


BAD_VALUES = [
    # (override key, bad value, expected line)
    (
        "trainops:models.churn.image",
        "churn-train:latest",
        "trainops:models.churn.image: not an ECR image URI",
    ),
    (
        "trainops:models.churn.trainingData",
        "https://bucket/churn",
        "trainops:models.churn.trainingData: not an S3 URI; use s3://<bucket>/<prefix>/ (got 'https://bucket/churn')",
    ),
    (
        "trainops:models.churn.trainingData",
        "s3://Bad_Bucket/churn/",
        "trainops:models.churn.trainingData: not an S3 URI",
    ),
    (
        "trainops:models.churn.instanceType",
        "m5.xlarge",
        "trainops:models.churn.instanceType: not a SageMaker instance type; use an ml.* type such as ml.m5.xlarge (got 'm5.xlarge')",
    ),
    (
        "trainops:models.churn.maxRuntimeMinutes",
        50000,
        "trainops:models.churn.maxRuntimeMinutes: Input should be less than or equal to 40320 (got 50000)",
    ),
    (
        "trainops:models.churn.instanceCount",
        0,
        "trainops:models.churn.instanceCount: Input should be greater than or equal to 1 (got 0)",
    ),
    (
        "trainops:models.churn.hyperparameters.epochs",
        20,
        'trainops:models.churn.hyperparameters.epochs: SageMaker hyperparameters are strings; quote the value: "20" (got 20)',
    ),
    (
        "trainops:scheduledRetraining.schedule",
        "cron(0 6 * * *)",
        "trainops:scheduledRetraining.schedule: cron needs exactly 6 fields, found 5",
    ),
    (
        "trainops:scheduledRetraining.schedule",
        "cron(0 6 * * * *)",
        "trainops:scheduledRetraining.schedule: exactly one of day-of-month and day-of-week must be '?'",
    ),
    (
        "trainops:scheduledRetraining.schedule",
        "every day",
        "trainops:scheduledRetraining.schedule: not a schedule expression",
    ),
    (
        "trainops:scheduledRetraining.timezone",
        "Mars/Olympus",
        "trainops:scheduledRetraining.timezone: not an IANA time zone; use a name such as UTC or Europe/Berlin (got 'Mars/Olympus')",
    ),
    (
        "trainops:monitoring.alertEmails",
        ["oncall@example.com", "not-an-address"],
        "trainops:monitoring.alertEmails.1: not an e-mail address (got 'not-an-address')",
    ),
    (
        "trainops:monitoring.escalateAfterMinutes",
        1,
        "trainops:monitoring.escalateAfterMinutes: Input should be greater than or equal to 5 (got 1)",
    ),
    (
        "trainops:trainingQueue.maxConcurrentTrainings",
        0,
        "trainops:trainingQueue.maxConcurrentTrainings: Input should be greater than or equal to 1 (got 0)",
    ),
    (
        "trainops:logRetentionDays",
        10,
        "trainops:logRetentionDays: CloudWatch Logs does not accept this retention; use one of 1, 3, 5, 7, 14, 30",
    ),
    (
        "trainops:environment",
        "Prod_EU",
        "trainops:environment: String should match pattern",
    ),
    (
        "trainops:maintenanceWindow.targetTag.values",
        [],
        "trainops:maintenanceWindow.targetTag.values: List should have at least 1 item after validation, not 0 (got [])",
    ),
    (
        "trainops:models.churn.trainingData",
        "s3://data-s3alias/churn/",
        "trainops:models.churn.trainingData: not an S3 URI",
    ),
    (
        "trainops:models.churn.trainingData",
        "s3://xn--data/churn/",
        "trainops:models.churn.trainingData: not an S3 URI",
    ),
    (
        "trainops:models.churn.hyperparameters.epochs",
        "9" * 1025,
        "trainops:models.churn.hyperparameters.epochs: hyperparameter values are at most 1024 "
        "characters",
    ),
    (
        "trainops:models.churn.hyperparameters",
        {"n" * 254: "1"},
        "trainops:models.churn.hyperparameters.nnnn",
    ),
    (
        "trainops:models.churn.hyperparameters",
        {"learning.rate": "0.1", "learning-rate": "0.2"},
        "trainops:models.churn: hyperparameters learning-rate and learning.rate become the same "
        "pipeline parameter",
    ),
    (
        "trainops:monitoring.stallCheckSchedule",
        "at(2027-01-01T00:00:00)",
        "trainops:monitoring.stallCheckSchedule: EventBridge rules accept only rate(...) or "
        "cron(...), not at(...)",
    ),
    (
        "trainops:scheduledRetraining.startDate",
        "2027-01-01T00:00:00",
        "trainops:scheduledRetraining.startDate: needs a time zone, e.g. 2027-01-01T00:00:00Z",
    ),
    (
        "trainops:eventSourcing.archiveRetentionDays",
        -1,
        "trainops:eventSourcing.archiveRetentionDays: Input should be greater than or equal to 0 (got -1)",
    ),
]


@pytest.mark.parametrize(
    ("key", "value", "expected"), BAD_VALUES, ids=[b[0] + "=" + str(b[1])[:40] for b in BAD_VALUES]
)
def test_each_rule_reports_the_key_the_problem_and_the_value(
    parse_with: Callable[..., StackConfig], key: str, value: Any, expected: str
) -> None:
    problems = problems_for(parse_with, {key: value})
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_an_invalid_model_name_is_reported_at_its_key(
    parse_with: Callable[..., StackConfig],
) -> None:
    churn = offline.stack_config("dev")
    models = __import__("json").loads(churn["trainops:models"])
    models["churn_v2"] = models["churn"]
    problems = problems_for(parse_with, {"trainops:models": models})
    assert problems == [
        "trainops:models.churn_v2: model names must be 1-32 lowercase letters, digits or hyphens, "
        "starting and ending with a letter or digit (SageMaker naming rules) (got 'churn_v2')"
    ]


@pytest.mark.parametrize("name", ["a" * 33, "a" + "-" * 60 + "b"])
def test_model_names_longer_than_32_characters_are_refused(
    parse_with: Callable[..., StackConfig], name: str
) -> None:
    models = __import__("json").loads(offline.stack_config("dev")["trainops:models"])
    models[name] = models["churn"]
    (problem,) = problems_for(parse_with, {"trainops:models": models})
    assert problem.startswith(f"trainops:models.{name}: model names must be 1-32 ")


def test_a_typo_in_a_key_names_the_valid_keys(parse_with: Callable[..., StackConfig]) -> None:
    problems = problems_for(parse_with, {"trainops:monitoring.enabeld": True})
    assert problems == [
        "trainops:monitoring.enabeld: unknown key; valid keys are alertEmails, alertWebhooks, "
        "dashboard, enabled, escalate, escalateAfterMinutes, hostAlarms, incidentManager, "
        "lambdaThrottleAlarms, overrunFraction, slack, stallCheckSchedule, stalledAfterMinutes (got true)"
    ]


def test_an_unknown_top_level_key_names_the_valid_keys(
    parse_with: Callable[..., StackConfig],
) -> None:
    (problem,) = problems_for(parse_with, {"trainops:monitorng": {"enabled": True}})
    assert problem.startswith(
        "trainops:monitorng: unknown key; valid keys are accessLogs, approvalDeployment, "
        "artifacts, environment,"
    )


def test_an_unknown_model_key_names_the_model_keys(parse_with: Callable[..., StackConfig]) -> None:
    (problem,) = problems_for(parse_with, {"trainops:models.churn.instancetype": "ml.m5.large"})
    assert problem.startswith(
        "trainops:models.churn.instancetype: unknown key; valid keys are biasMonitoring, endpoint, evaluation, hyperparameters, image,"
    )


def test_missing_required_keys_are_named() -> None:
    with pytest.raises(ConfigError) as raised:
        config.parse({"trainops:models": '{"churn": {"image": "x"}}'})
    problems = raised.value.problems
    assert "aws:region: required key is missing; set it, e.g. `aws:region: us-east-1`" in problems
    assert "trainops:environment: required key is missing" in problems
    assert "trainops:models.churn.trainingData: required key is missing" in problems
    assert any(p.startswith("trainops:models.churn.image: not an ECR image URI") for p in problems)


def test_an_enabled_maintenance_window_needs_a_target_tag(
    parse_with: Callable[..., StackConfig],
) -> None:
    (problem,) = problems_for(
        parse_with,
        {"trainops:maintenanceWindow": {"enabled": True, "schedule": "cron(0 4 ? * SUN *)"}},
    )
    assert problem.startswith("trainops:maintenanceWindow: set exactly one of targetTag")


def test_every_problem_is_reported_in_one_message(parse_with: Callable[..., StackConfig]) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with(
            "dev",
            {
                "trainops:monitoring.enabeld": True,
                "trainops:scheduledRetraining.timezone": "Nowhere",
                "trainops:models.churn.instanceType": "huge",
            },
        )
    message = str(raised.value)
    assert message.startswith("invalid stack configuration:\n")
    for key in ("monitoring.enabeld", "scheduledRetraining.timezone", "models.churn.instanceType"):
        assert f"  trainops:{key}: " in message
    assert "Traceback" not in message


def test_the_program_fails_with_a_run_error_naming_the_key() -> None:
    """Through __main__.py, invalid config is a pulumi.RunError (printed without a traceback)."""
    with pytest.raises(pulumi.RunError) as raised:
        offline.run_program("dev", {"trainops:scheduledRetraining.schedule": "cron(0 6 * * *)"})
    assert "trainops:scheduledRetraining.schedule: cron needs exactly 6 fields, found 5" in str(
        raised.value
    )


def test_a_bad_region_is_reported(parse_with: Callable[..., StackConfig]) -> None:
    (problem,) = problems_for(parse_with, {"aws:region": "moon-1"})
    assert problem == "aws:region: not an AWS region name such as us-east-1 (got 'moon-1')"


def test_a_nested_object_is_described_by_its_docstring() -> None:
    from components.platform.config_types import ConfigModel, nested
    from components.platform.model_config import SpotConfig

    field = StackConfig.model_fields["monitoring"]
    assert (
        field.description == "Alert topics, alarms, escalation, bias monitoring and the dashboard."
    )
    assert nested(SpotConfig).description == (  # type: ignore[attr-defined]
        "Managed spot training: cheaper, interruptible, resumed from checkpoints."
    )

    class Undocumented(ConfigModel):
        pass

    with pytest.raises(TypeError, match="Undocumented: its docstring must say what"):
        nested(Undocumented)


GATE = {
    "command": ["python3", "/opt/program/evaluate.py"],
    "heldOutData": "s3://example-ml-data/churn/holdout/",
    "metric": "metrics.auc.value",
    "threshold": 0.8,
}
REGISTERED = {"trainops:models.churn.registerModel": {"enabled": True}}
BAD_GATES = [
    # (override of the gate, expected line)
    (
        {"metric": "metrics..auc"},
        "trainops:models.churn.evaluation.metric: not a JSON path into the evaluation report; "
        "use names joined by dots, each optionally indexed, e.g. metrics.auc.value or "
        "classes[0].f1 (got 'metrics..auc')",
    ),
    (
        {"metric": "$.metrics.auc"},
        "trainops:models.churn.evaluation.metric: not a JSON path into the evaluation report",
    ),
    (
        {"metric": "metrics auc"},
        "trainops:models.churn.evaluation.metric: not a JSON path into the evaluation report",
    ),
    (
        {"threshold": float("nan")},
        "trainops:models.churn.evaluation.threshold: the threshold must be a finite number "
        "(not NaN or infinity)",
    ),
    (
        {"threshold": "inf"},
        "trainops:models.churn.evaluation.threshold: the threshold must be a finite number",
    ),
    (
        {"threshold": "high"},
        "trainops:models.churn.evaluation.threshold: the threshold must be a number, e.g. 0.8 "
        "(got 'high')",
    ),
    (
        {"threshold": True},
        "trainops:models.churn.evaluation.threshold: the threshold must be a number, e.g. 0.8",
    ),
    (
        {"comparison": "GreaterThan"},
        "trainops:models.churn.evaluation.comparison: Input should be 'GreaterThanOrEqualTo' or "
        "'LessThanOrEqualTo' (got 'GreaterThan')",
    ),
    (
        {"command": []},
        "trainops:models.churn.evaluation.command: List should have at least 1 item",
    ),
    (
        {"heldOutData": "churn/holdout/"},
        "trainops:models.churn.evaluation.heldOutData: not an S3 URI; use s3://<bucket>/<prefix>/",
    ),
    ({"image": "churn-eval:1"}, "trainops:models.churn.evaluation.image: not an ECR image URI"),
    (
        {"instanceType": "m5.xlarge"},
        "trainops:models.churn.evaluation.instanceType: not a SageMaker instance type",
    ),
    (
        {"maxRuntimeMinutes": 12961},
        "trainops:models.churn.evaluation.maxRuntimeMinutes: Input should be less than or equal "
        "to 12960",
    ),
    (
        {"compareWithApproved": "sometimes"},
        "trainops:models.churn.evaluation.compareWithApproved: Input should be a valid boolean",
    ),
    (
        {"treshold": 0.8},
        "trainops:models.churn.evaluation.treshold: unknown key; valid keys are command, "
        "compareWithApproved, comparison, heldOutData, image, instanceType, maxRuntimeMinutes, "
        "metric, threshold",
    ),
]


@pytest.mark.parametrize(
    ("override", "expected"), BAD_GATES, ids=[str(b[0])[:40] for b in BAD_GATES]
)
def test_each_evaluation_key_is_validated_with_a_clear_message(
    parse_with: Callable[..., StackConfig], override: dict[str, Any], expected: str
) -> None:
    problems = problems_for(
        parse_with, {**REGISTERED, "trainops:models.churn.evaluation": {**GATE, **override}}
    )
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


@pytest.mark.parametrize("missing", ["command", "heldOutData", "metric", "threshold"])
def test_an_evaluation_names_its_missing_required_keys(
    parse_with: Callable[..., StackConfig], missing: str
) -> None:
    gate = {key: value for key, value in GATE.items() if key != missing}
    (problem,) = problems_for(parse_with, {**REGISTERED, "trainops:models.churn.evaluation": gate})
    assert problem.startswith(
        f"trainops:models.churn.evaluation.{missing}: required key is missing"
    )


def test_an_evaluation_needs_registration(parse_with: Callable[..., StackConfig]) -> None:
    (problem,) = problems_for(parse_with, {"trainops:models.churn.evaluation": GATE})
    assert problem.startswith(
        "trainops:models.churn: evaluation needs registerModel.enabled: true (the gate decides "
        "whether a trained model is registered)"
    )


def test_an_evaluation_takes_its_defaults(parse_with: Callable[..., StackConfig]) -> None:
    settings = parse_with("dev", {**REGISTERED, "trainops:models.churn.evaluation": GATE})
    gate = settings.models["churn"].evaluation
    assert gate is not None
    assert gate.image is None  # the training image
    assert gate.instance_type == "ml.m5.xlarge"
    assert gate.comparison == "GreaterThanOrEqualTo"
    assert gate.compare_with_approved is False
    assert gate.max_runtime_minutes == 60
    assert settings.models["fraud"].evaluation is None
    # a threshold may arrive as a string (`pulumi config set --path`) or an integer
    for raw in ("0.75", 1):
        override = {**GATE, "threshold": raw}
        parsed = parse_with("dev", {**REGISTERED, "trainops:models.churn.evaluation": override})
        assert parsed.models["churn"].evaluation == gate.model_copy(
            update={"threshold": float(raw)}
        )


def test_prod_gates_one_model() -> None:
    models = config.parse(offline.stack_config("prod")).models
    gated = {name for name, model in models.items() if model.evaluation is not None}
    assert gated == {"churn"}
    assert models["churn"].register_model.enabled


# ---- the component package's context: a model's settings without the stack's other switches ---

OPT_INS = {
    "approval": (
        {"trainops:models.churn.endpoint.deployOnApproval": True},
        "trainops:approvalDeployment",
        "models.churn.endpoint.deployOnApproval: needs approvalDeployment.enabled: true",
        "approvalDeployment: needs monitoring.enabled: true",
    ),
    "budget": (
        {"trainops:models.churn.monthlyBudget": 100},
        "trainops:spendGuardrails.budgets",
        "models.churn.monthlyBudget: needs spendGuardrails.budgets.enabled: true",
        "spendGuardrails.budgets: needs monitoring.enabled: true",
    ),
}


@pytest.mark.parametrize("feature", sorted(OPT_INS))
def test_composed_config_skips_only_the_tie_of_a_model_setting_to_its_switch(
    feature: str,
) -> None:
    """A package component gets a model's settings (deployOnApproval, monthlyBudget) without
    the switch of the feature another component creates; the feature's own tie to monitoring
    still holds there, with the stack file's words."""
    opt_in, switch, tie_to_switch, tie_to_monitoring = OPT_INS[feature]
    endpoint = {
        "trainops:models.churn.registerModel": {"enabled": True},
        "trainops:models.churn.endpoint": {
            "deploy": True,
            "modelDataUrl": "s3://example-ml-data/churn/model.tar.gz",
        },
    }
    switched_off = offline.stack_config("dev", {**endpoint, **opt_in, switch: {"enabled": False}})
    with pytest.raises(ConfigError) as plain:
        config.parse(switched_off)
    assert any(tie_to_switch in problem for problem in plain.value.problems)
    assert config.parse(switched_off, composed=True).models["churn"] is not None
    unmonitored = offline.stack_config(
        "dev",
        {
            **endpoint,
            switch: {"enabled": True},
            "trainops:monitoring.enabled": False,
            "trainops:scheduledRetraining.notifications": "none",  # which needs monitoring too
        },
    )
    for composed in (False, True):
        with pytest.raises(ConfigError) as raised:
            config.parse(unmonitored, composed=composed)
        assert any(tie_to_monitoring in problem for problem in raised.value.problems)
