"""ScheduledRetraining under mocks: schedules, their safety nets, and least-privilege roles."""

from __future__ import annotations

import json

import pytest

from cli import offline
from components.platform import iam
from tests.components import helpers

ACCOUNT = offline.ACCOUNT_ID
SCHEDULE = "aws:scheduler/schedule:Schedule"


def schedules(recording: offline.Recording) -> dict[str, dict]:
    return {s.inputs["name"]: s.inputs for s in recording.of_type(SCHEDULE)}


@pytest.mark.parametrize(
    ("stack", "expression", "timezone"),
    [("dev", "cron(0 6 * * ? *)", "UTC"), ("prod", "cron(0 3 ? * MON-FRI *)", "Europe/Berlin")],
)
def test_one_schedule_per_model_with_the_configured_time(
    run_stack: helpers.RunStack, stack: str, expression: str, timezone: str
) -> None:
    recording = run_stack(stack)
    models = sorted(helpers.configured_models(stack))
    found = schedules(recording)
    assert sorted(found) == models
    group = recording.one("aws:scheduler/scheduleGroup:ScheduleGroup")
    assert group.inputs["name"] == f"trainops-{stack}"
    for model, schedule in found.items():
        assert schedule["scheduleExpression"] == expression
        assert schedule["scheduleExpressionTimezone"] == timezone
        assert schedule["groupName"] == group.outputs["name"]
        assert json.loads(schedule["target"]["input"]) == {
            "model": model,
            "scheduledTime": "<aws.scheduler.scheduled-time>",
        }


def test_schedules_have_retries_a_dead_letter_queue_and_the_stack_key(
    dev: offline.Recording,
) -> None:
    key_arn = helpers.stack_key_arn(dev)
    dlq = dev.one("aws:sqs/queue:Queue", "scheduled-retraining-dlq")
    function = dev.one("aws:lambda/function:Function", "scheduled-retraining-start-function")
    for schedule in schedules(dev).values():
        assert schedule["kmsKeyArn"] == key_arn
        assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
        target = schedule["target"]
        assert target["arn"] == function.outputs["arn"]
        assert target["retryPolicy"] == {
            "maximumEventAgeInSeconds": 3600,
            "maximumRetryAttempts": 5,
        }
        assert target["deadLetterConfig"] == {"arn": dlq.outputs["arn"]}
    assert dlq.inputs["kmsMasterKeyId"] == key_arn
    assert "fifoQueue" not in dlq.inputs
    alarm = dev.one(
        "aws:cloudwatch/metricAlarm:MetricAlarm", "scheduled-retraining-dlq-depth"
    ).inputs
    assert alarm["dimensions"] == {"QueueName": dlq.outputs["name"]}


def test_scheduler_role_may_only_invoke_its_function(dev: offline.Recording) -> None:
    role = dev.one("aws:iam/role:Role", "scheduled-retraining-scheduler")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    group = dev.one("aws:scheduler/scheduleGroup:ScheduleGroup").inputs["name"]
    # Scheduler presents its schedule *group* as the source (as AWS's set-up guide and CDK's
    # scheduler targets scope it), so a per-schedule ARN would refuse every tick.
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{group}"
        },
    }
    assert {s.inputs["groupName"] for s in dev.of_type(SCHEDULE)} == {group}
    policy = helpers.role_policy(dev, "scheduled-retraining-scheduler-policy")
    by_sid = helpers.statements_by_sid(policy)
    function = dev.one("aws:lambda/function:Function", "scheduled-retraining-start-function")
    assert by_sid["InvokeStartRetraining"] == {
        "Sid": "InvokeStartRetraining",
        "Effect": "Allow",
        "Action": ["lambda:InvokeFunction"],
        "Resource": [function.outputs["arn"]],
    }
    assert by_sid["DeadLetters"]["Resource"] == [
        dev.one("aws:sqs/queue:Queue", "scheduled-retraining-dlq").outputs["arn"]
    ]
    assert set(by_sid) == {"InvokeStartRetraining", "DeadLetters", "StackKey"}


def test_the_function_may_start_only_this_stacks_pipelines(run_stack: helpers.RunStack) -> None:
    recording = run_stack("dev", {"trainops:models.fraud.scheduledRetraining": {"enabled": False}})
    assert sorted(schedules(recording)) == ["churn"]
    policy = helpers.role_policy(recording, "scheduled-retraining-start-policy")
    start = next(
        s for s in policy["Statement"] if "sagemaker:StartPipelineExecution" in s["Action"]
    )
    # One pattern for the stack's pipelines (the policy does not grow with models); the tick
    # it receives names the model, and only scheduled models have schedules.
    assert start["Resource"] == [f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/trainops-dev--*"]
    # it lists and starts; it describes no execution (tests/test_handler_grants.py: nor calls it)
    actions = {a for s in policy["Statement"] for a in s["Action"] if a.startswith("sagemaker:")}
    assert actions == {"sagemaker:ListPipelineExecutions", "sagemaker:StartPipelineExecution"}
    assert iam.wildcard_allow_actions(policy) == []
    function = recording.one(
        "aws:lambda/function:Function", "scheduled-retraining-start-function"
    ).inputs
    assert function["handler"] == "trainops_runtime.handlers.start_retraining.handler"
    invoke_config = recording.one(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "scheduled-retraining-start-async",
    )
    failures = recording.one("aws:sqs/queue:Queue", "scheduled-retraining-start-failures")
    assert (
        invoke_config.inputs["destinationConfig"]["onFailure"]["destination"]
        == failures.outputs["arn"]
    )


def test_per_model_overrides_and_new_data_gating(run_stack: helpers.RunStack) -> None:
    recording = run_stack(
        "dev",
        {
            "trainops:models.fraud.scheduledRetraining": {
                "schedule": "rate(12 hours)",
                "timezone": "Asia/Tokyo",
                "onlyWhenNewData": True,
            },
            "trainops:scheduledRetraining.flexibleWindowMinutes": 15,
            "trainops:scheduledRetraining.startDate": "2027-01-01T01:00:00+01:00",
        },
    )
    found = schedules(recording)
    assert found["fraud"]["scheduleExpression"] == "rate(12 hours)"
    assert found["fraud"]["scheduleExpressionTimezone"] == "Asia/Tokyo"
    assert found["churn"]["scheduleExpression"] == "cron(0 6 * * ? *)"
    assert found["churn"]["flexibleTimeWindow"] == {
        "mode": "FLEXIBLE",
        "maximumWindowInMinutes": 15,
    }
    assert found["churn"]["startDate"] == "2027-01-01T00:00:00Z"  # RFC 3339 in UTC
    function = recording.one("aws:lambda/function:Function", "scheduled-retraining-start-function")
    catalog = json.loads(function.archive_file("trainops_runtime/catalog.json") or "{}")
    assert {model: entry["onlyWhenNewData"] for model, entry in catalog.items()} == {
        "churn": False,
        "fraud": True,
    }
    policy = helpers.role_policy(recording, "scheduled-retraining-start-policy")
    listing = [s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"]]
    assert listing[0]["Condition"] == {"StringLike": {"s3:prefix": ["fraud/train/*"]}}


def test_notifications_go_where_configured(run_stack: helpers.RunStack) -> None:
    warning = run_stack("dev")
    warning_topic = warning.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    variables = warning.one(
        "aws:lambda/function:Function", "scheduled-retraining-start-function"
    ).inputs["environment"]["variables"]
    assert variables["TRAINOPS_NOTIFY_TOPIC_ARN"] == warning_topic
    finished = warning.one(
        "aws:cloudwatch/eventTarget:EventTarget", "scheduled-retraining-finished-target"
    ).inputs
    assert finished["arn"] == warning_topic

    dedicated = run_stack(
        "dev",
        {
            "trainops:scheduledRetraining.notifications": "dedicated",
            "trainops:scheduledRetraining.notificationEmails": ["ml-team@example.com"],
        },
    )
    topic = dedicated.one("aws:sns/topic:Topic", "scheduled-retraining-notifications")
    assert topic.inputs["kmsMasterKeyId"] == helpers.stack_key_arn(dedicated)
    subscription = dedicated.one(
        "aws:sns/topicSubscription:TopicSubscription", "scheduled-retraining-notifications-email-0"
    ).inputs
    assert subscription["endpoint"] == "ml-team@example.com"

    silent = run_stack("dev", {"trainops:scheduledRetraining.notifications": "none"})
    variables = silent.one(
        "aws:lambda/function:Function", "scheduled-retraining-start-function"
    ).inputs["environment"]["variables"]
    assert "TRAINOPS_NOTIFY_TOPIC_ARN" not in variables
    assert "scheduled-retraining-finished" not in {r.name for r in silent.resources}


def test_disabling_the_feature_removes_everything(run_stack: helpers.RunStack) -> None:
    recording = run_stack("dev", {"trainops:scheduledRetraining.enabled": False})
    assert recording.of_type("trainops:retraining:ScheduledRetraining") == []
    assert recording.of_type(SCHEDULE) == []
    assert not [r for r in recording.resources if r.name.startswith("scheduled-retraining")]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "trainops:scheduledRetraining.schedule",
            "cron(0 6 * *)",
            "trainops:scheduledRetraining.schedule: cron needs exactly 6 fields",
        ),
        (
            "trainops:scheduledRetraining.timezone",
            "Berlin",
            "trainops:scheduledRetraining.timezone: not an IANA time zone",
        ),
        (
            "trainops:models.churn.scheduledRetraining.schedule",
            "rate(1 days)",
            "trainops:models.churn.scheduledRetraining.schedule: use the singular unit",
        ),
    ],
)
def test_invalid_schedules_fail_the_program(key: str, value: str, message: str) -> None:
    import pulumi

    with pytest.raises(pulumi.RunError, match=message.replace("(", r"\(").replace(")", r"\)")):
        offline.run_program("dev", {key: value})


def test_warning_notifications_need_monitoring() -> None:
    import pulumi

    with pytest.raises(pulumi.RunError) as raised:
        offline.run_program("dev", {"trainops:monitoring.enabled": False})
    assert (
        "trainops:scheduledRetraining.notifications: 'warning' needs monitoring.enabled: true"
        in str(raised.value)
    )
