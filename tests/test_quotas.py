"""The AWS quota check: a planted violation of each quota fails the build, with a message that
names the resource, the quota, the value, the limit and the fix. The planted violations are
grouped like `policy/quotas/`, one group per service module.

Each case registers one offending resource (or the set whose total offends) the way the program
would, runs it under the mocks, and applies the check the offline build applies after every run
(`offline.refuse_beyond_quotas`); the same resources go through the resource transform the
program registers for `pulumi preview` / `pulumi up` (`components/platform/quota_guard.py`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from pulumi.output import Unknown

from cli import offline
from components.platform import quota_guard
from policy import quotas

ARN = "arn:aws:iam::123456789012:role/r"
# A planted violation: a program registering what offends a quota, and the logical name the
# problem is on (for a total over several resources, the start of their names: the last one
# registered carries it).
Case = tuple[Callable[[], Any], str]


def policy(size: int) -> str:
    """An IAM-shaped document of at least ``size`` characters, not counting whitespace."""
    resources: list[str] = []
    while True:
        text = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}],
            }
        )
        if quotas.iam_size(text) >= size:
            return text
        resources.append(f"arn:aws:s3:::bucket/prefix-{len(resources):05d}/*")


def dashboard(widgets: int = 1, metrics: int = 1, alarms: int = 1) -> str:
    body = [
        {"type": "metric", "properties": {"title": "m", "metrics": [["N", "M"]] * metrics}},
        {"type": "alarm", "properties": {"title": "a", "alarms": ["arn"] * alarms}},
    ]
    return json.dumps({"widgets": body + [{"type": "text"}] * (widgets - 2)})


def composite_alarm(name: str, members: Iterable[str]) -> Case:
    """A planted composite alarm called ``name`` that goes off when any of ``members`` does."""
    rule = " OR ".join(f'ALARM("{member}")' for member in members)
    return (lambda: aws.cloudwatch.CompositeAlarm(name, alarm_name=name, alarm_rule=rule), name)


def board(name: str, **counts: int) -> Case:
    """A planted dashboard called ``name`` whose body has ``counts`` (see `dashboard`)."""
    return (
        lambda: aws.cloudwatch.Dashboard(
            name, dashboard_name=name, dashboard_body=dashboard(**counts)
        ),
        name,
    )


def two_role_policies() -> None:
    role = aws.iam.Role("r", assume_role_policy=policy(100))
    for index in range(2):
        aws.iam.RolePolicy(f"half-{index}", role=role.id, policy=policy(5_400))


def tasks(count: int) -> Callable[[], None]:
    def program() -> None:
        for index in range(count):
            aws.ssm.MaintenanceWindowTask(
                f"task-{index}",
                window_id="mw-0123456789abcdef0",
                task_type="RUN_COMMAND",
                task_arn="trainops-test-retrain",
            )

    return program


def roles(count: int) -> Callable[[], None]:
    def program() -> None:
        for index in range(count):
            aws.iam.Role(f"role-{index}", assume_role_policy=policy(100))

    return program


def windows(count: int) -> Callable[[], None]:
    def program() -> None:
        for index in range(count):
            aws.ssm.MaintenanceWindow(f"w-{index}", schedule="rate(7 days)", duration=3, cutoff=1)

    return program


# Per quota service module (`policy/quotas/<service>.py`): quota id -> its planted violation
Planted = dict[str, Case]
IAM: Planted = {
    "iam-role-inline-policies": (two_role_policies, "half-"),
    "iam-managed-policy": (lambda: aws.iam.Policy("managed", policy=policy(6_200)), "managed"),
    "iam-trust-policy": (
        lambda: aws.iam.Role("trusting", assume_role_policy=policy(2_100)),
        "trusting",
    ),
    "iam-role-name": (
        lambda: aws.iam.Role("r" * 57, assume_role_policy=policy(100)),
        "r" * 57,
    ),
    "iam-roles": (roles(1_001), "role-"),
}
LAMBDA: Planted = {
    "lambda-environment": (
        lambda: aws.lambda_.Function(
            "function",
            name="function",
            role=ARN,
            environment={"variables": {"TRAINOPS_MODELS": "x" * 4_100}},
        ),
        "function",
    ),
    "lambda-function-name": (
        lambda: aws.lambda_.Function("long", name="f" * 65, role=ARN),
        "long",
    ),
}
EVENTS: Planted = {
    "eventbridge-pattern": (
        lambda: aws.cloudwatch.EventRule(
            "rule", name="rule", event_pattern=json.dumps({"source": ["s" * 2_100]})
        ),
        "rule",
    ),
    "eventbridge-input-template": (
        lambda: aws.cloudwatch.EventTarget(
            "target",
            rule="rule",
            arn=ARN,
            input_transformer={"input_template": '"' + "t" * 8_200 + '"'},
        ),
        "target",
    ),
    "eventbridge-target-input": (
        lambda: aws.cloudwatch.EventTarget("constant", rule="rule", arn=ARN, input="i" * 8_200),
        "constant",
    ),
    "eventbridge-rule-name": (
        lambda: aws.cloudwatch.EventRule("e" * 57, schedule_expression="rate(5 minutes)"),
        "e" * 57,
    ),
}
SCHEDULER: Planted = {
    "scheduler-target-input": (
        lambda: aws.scheduler.Schedule(
            "tick",
            name="tick",
            schedule_expression="rate(1 day)",
            flexible_time_window={"mode": "OFF"},
            target={"arn": ARN, "role_arn": ARN, "input": "i" * 262_145},
        ),
        "tick",
    ),
    "scheduler-name": (
        lambda: aws.scheduler.Schedule(
            "named",
            name="s" * 65,
            schedule_expression="rate(1 day)",
            flexible_time_window={"mode": "OFF"},
            target={"arn": ARN, "role_arn": ARN},
        ),
        "named",
    ),
}
SQS: Planted = {
    "sqs-queue-policy": (
        lambda: aws.sqs.QueuePolicy("queue-policy", queue_url="u", policy=policy(8_300)),
        "queue-policy",
    ),
    "sqs-queue-name": (lambda: aws.sqs.Queue("q" * 70, fifo_queue=True), "q" * 70),
}
SNS: Planted = {
    "sns-topic-policy": (
        lambda: aws.sns.TopicPolicy("topic-policy", arn="t", policy=policy(31_000)),
        "topic-policy",
    ),
}
S3: Planted = {
    "s3-bucket-policy": (
        lambda: aws.s3.BucketPolicy("bucket-policy", bucket="b", policy=policy(21_000)),
        "bucket-policy",
    ),
}
KMS: Planted = {
    "kms-key-policy": (lambda: aws.kms.Key("key", policy=policy(33_000)), "key"),
}
SAGEMAKER: Planted = {
    "sagemaker-name": (
        lambda: aws.sagemaker.EndpointConfiguration(
            "monitoring-" + "m" * 32 + "-endpoint-config",
            production_variants=[{"variant_name": "AllTraffic", "model_name": "m"}],
        ),
        "monitoring-" + "m" * 32 + "-endpoint-config",
    ),
    "sagemaker-pipeline-name": (
        lambda: aws.sagemaker.Pipeline(
            "pipeline",
            pipeline_name="p" * 257,
            pipeline_display_name="p",
            role_arn=ARN,
            pipeline_definition="{}",
        ),
        "pipeline",
    ),
}
CLOUDWATCH: Planted = {
    "cloudwatch-alarm-name": (
        lambda: aws.cloudwatch.MetricAlarm(
            "alarm",
            name="a" * 256,
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
        ),
        "alarm",
    ),
    "composite-alarm-rule": composite_alarm("composite", (f"{'n' * 120}-{i}" for i in range(80))),
    "composite-alarm-members": composite_alarm("members", (f"a{i}" for i in range(101))),
    "metrics-insights-query": (
        lambda: aws.cloudwatch.MetricAlarm(
            "query",
            name="query",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            metric_queries=[
                {"id": "q1", "expression": "SELECT MAX(X) FROM " + "s" * 2_040, "period": 300}
            ],
        ),
        "query",
    ),
    "dashboard-widgets": board("board", widgets=501),
    "dashboard-widget-metrics": board("graph", metrics=501),
    "dashboard-widget-alarms": board("states", alarms=101),
}
LOGS: Planted = {
    "log-group-name": (
        lambda: aws.cloudwatch.LogGroup("logs", name="/" + "l" * 512),
        "logs",
    ),
}
SSM: Planted = {
    "ssm-window-tasks": (tasks(21), "task-"),
    "ssm-windows": (windows(51), "w-"),
}
PLANTED_BY_SERVICE: dict[str, Planted] = {
    "iam": IAM,
    "lambda_": LAMBDA,
    "events": EVENTS,
    "scheduler": SCHEDULER,
    "sqs": SQS,
    "sns": SNS,
    "s3": S3,
    "kms": KMS,
    "sagemaker": SAGEMAKER,
    "cloudwatch": CLOUDWATCH,
    "logs": LOGS,
    "ssm": SSM,
}
PLANTED: Planted = {
    quota_id: case for planted in PLANTED_BY_SERVICE.values() for quota_id, case in planted.items()
}


def build(program: Callable[[], None]) -> offline.Recording:
    """Runs ``program`` under the mocks and applies the build's quota check."""
    recording = offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)
    offline.refuse_beyond_quotas(recording)
    return recording


def test_every_quota_has_a_planted_violation() -> None:
    assert set(PLANTED) == set(quotas.QUOTAS)


@pytest.mark.parametrize("service", PLANTED_BY_SERVICE)
def test_each_service_module_has_a_planted_violation_of_each_of_its_quotas(service: str) -> None:
    module = getattr(quotas, service)
    assert module.SERVICE in quotas.SERVICES
    assert [quota.id for quota in module.SERVICE.quotas] == list(PLANTED_BY_SERVICE[service])


def test_the_service_modules_declare_every_quota_once() -> None:
    declared = [quota.id for service in quotas.SERVICES for quota in service.quotas]
    assert len(declared) == len(set(declared)) == len(quotas.QUOTAS)


@pytest.mark.parametrize("quota_id", sorted(PLANTED))
def test_a_planted_violation_fails_the_build(quota_id: str) -> None:
    program, resource = PLANTED[quota_id]
    quota = quotas.QUOTAS[quota_id]
    with pytest.raises(quotas.QuotaError) as raised:
        build(program)
    (problem,) = raised.value.problems
    assert problem.quota == quota
    assert problem.resource.startswith(resource)
    assert problem.value > quota.limit
    message = problem.message()
    assert message.startswith(f"{problem.resource} ({problem.type}): {quota.what}")
    assert f"is {problem.value:,} {quota.unit}; AWS allows {quota.limit:,}." in message
    assert f"Fix: {quota.fix}." in message
    assert message.endswith(f"[{quota.source}]")
    assert quota.source.startswith("https://docs.aws.amazon.com/")
    assert message in str(raised.value)


@pytest.mark.parametrize("quota_id", sorted(PLANTED))
def test_the_transform_refuses_the_same_resource(
    quota_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `pulumi preview` runs: each registration through the program's transform."""
    program, resource = PLANTED[quota_id]
    recording = offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)
    logged: list[str] = []
    monkeypatch.setattr(pulumi.log, "error", lambda message, *_, **__: logged.append(message))
    guard = quota_guard.transform()
    refused = []
    for registered in recording.resources:
        args = pulumi.ResourceTransformArgs(
            custom=registered.custom,
            type_=registered.type,
            name=registered.name,
            props=registered.inputs,
            opts=pulumi.ResourceOptions(),
        )
        try:
            assert guard(args) is None  # the transform never changes a resource
        except quotas.QuotaError as error:
            refused.append((registered.name, [p.quota.id for p in error.problems]))
    assert [(name[: len(resource)], ids) for name, ids in refused] == [(resource, [quota_id])]
    # each problem is logged as an error for the engine, with the same message
    assert logged == [refused_problem.message() for refused_problem in _problems(recording)]


def _problems(recording: offline.Recording) -> list[quotas.Measurement]:
    return recording.quota_check().problems()


def test_values_unknown_at_preview_are_left_to_pulumi_up() -> None:
    """An ARN of a resource not created yet makes a policy unknown during preview: it is not
    measured then (`pulumi up` measures it before creating the resource)."""
    guard = quota_guard.transform()
    args = pulumi.ResourceTransformArgs(
        custom=True,
        type_="aws:iam/rolePolicy:RolePolicy",
        name="p",
        props={"role": Unknown(), "policy": Unknown()},
        opts=pulumi.ResourceOptions(),
    )
    assert guard(args) is None


def test_names_are_measured_as_pulumi_will_make_them() -> None:
    assert quotas.aws_name("aws:iam/role:Role", "r", {"name": "explicit"}) == "explicit"
    assert len(quotas.aws_name("aws:iam/role:Role", "logical", {}) or "") == len("logical") + 8
    fifo = quotas.aws_name("aws:sqs/queue:Queue", "q", {"fifoQueue": True}) or ""
    assert fifo.endswith(".fifo")
    assert quotas.aws_name("aws:iam/role:Role", "r", {"name": Unknown()}) is None


def test_iam_does_not_count_whitespace() -> None:
    assert quotas.iam_size('{"a": [1,\n  2]}') == len('{"a":[1,2]}')
    assert quotas.byte_size("é") == 2


def test_the_build_refuses_a_program_beyond_a_quota(tmp_path: Path) -> None:
    """`offline.run_program` (what `trainops plan` and the tests run) applies the check."""
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_aws as aws\n"
        "aws.iam.Policy('managed', policy='{\"Statement\": \"' + 'x' * 7000 + '\"}')\n",
        encoding="utf-8",
    )
    with pytest.raises(quotas.QuotaError, match=r"managed \(aws:iam/policy:Policy\): an IAM"):
        offline.run_program("dev", program=program)
    recording = offline.run_program("dev", program=program, check_quotas=False)
    assert [p.quota.id for p in recording.quota_check().problems()] == ["iam-managed-policy"]


def test_trainops_plan_prints_each_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cli import main

    def beyond_quotas(*_: object, **__: object) -> offline.Recording:
        return build(PLANTED["lambda-environment"][0])

    monkeypatch.setattr(offline, "run_program", beyond_quotas)
    assert main.main(["plan", "--stack", "dev"]) == 2
    error = capsys.readouterr().err
    assert "AWS would refuse these resources (service quotas)" in error
    assert "function (aws:lambda/function:Function): all environment variables" in error
