"""PythonFunction: role, log group, runtime, packaging, layer, tracing, async failures, alarms."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from cli import offline
from components.platform import alarms, iam
from components.platform.context import PlatformContext
from components.platform.lambda_function import (
    LAMBDA_DIR,
    PythonFunction,
    PythonFunctionArgs,
    check_handler,
    packaged_files,
    powertools_layer_arn,
)

CTX = iam.AwsContext(account_id=offline.ACCOUNT_ID, region="eu-west-1")
KEY_ARN = f"arn:aws:kms:eu-west-1:{offline.ACCOUNT_ID}:key/0000"
TOPIC_ARN = f"arn:aws:sns:eu-west-1:{offline.ACCOUNT_ID}:warning"
CRITICAL_ARN = f"arn:aws:sns:eu-west-1:{offline.ACCOUNT_ID}:critical"
LADDER = alarms.AlertLadder(TOPIC_ARN, CRITICAL_ARN, escalate_after_minutes=30)
CONFIG = {"aws:region": "eu-west-1", "trainops:environment": "test"}


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    """A lambda/ folder with one handler and the clutter that must stay out of the archive."""
    package = tmp_path / "trainops_runtime"
    (package / "__pycache__").mkdir(parents=True)
    (package / "tests").mkdir()
    (package / "__init__.py").write_text("")
    (package / "echo.py").write_text("def handler(event, context):\n    return event\n")
    (package / "schema.json").write_text("{}")
    (package / "__pycache__" / "echo.cpython-311.pyc").write_bytes(b"\0")
    (package / "tests" / "test_echo.py").write_text("def test(): pass\n")
    (package / ".env").write_text("SECRET=1")
    (package / "notes.ipynb").write_text("{}")
    return tmp_path


def build(source_dir: Path, **overrides: Any) -> offline.Recording:
    def program() -> None:
        args = PythonFunctionArgs(
            handler="trainops_runtime.echo.handler",
            description="echo",
            platform=PlatformContext(
                ctx=CTX, key_arn=KEY_ARN, log_retention_days=14, powertools_layer_version=27
            ),
            memory_mb=256,
            timeout_seconds=30,
            reserved_concurrency=1,
            source_dir=source_dir,
            statements=[
                iam.allow(
                    ["sqs:ReceiveMessage"], [f"arn:aws:sqs:eu-west-1:{offline.ACCOUNT_ID}:work"]
                )
            ],
            environment={"QUEUE_URL": "https://example"},
        )
        for key, value in overrides.items():
            if key == "alerts":  # where alarms go is the platform's
                args.platform = args.platform.with_alerts(value)
            else:
                setattr(args, key, value)
        PythonFunction("echo", args)

    return offline.run_under_mocks("test", CONFIG, program)


def test_function_settings(source_dir: Path) -> None:
    recording = build(source_dir, reserved_concurrency=3)
    function = recording.one("aws:lambda/function:Function").inputs
    assert function["name"] == "trainops-test-echo"
    assert function["runtime"] == "python3.13"
    assert function["architectures"] == ["arm64"]
    assert function["handler"] == "trainops_runtime.echo.handler"
    assert function["memorySize"] == 256
    assert function["timeout"] == 30
    assert function["kmsKeyArn"] == KEY_ARN
    assert function["tracingConfig"] == {"mode": "Active"}
    assert function["reservedConcurrentExecutions"] == 3
    assert function["layers"] == [
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
    ]
    variables = function["environment"]["variables"]
    assert variables["QUEUE_URL"] == "https://example"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "trainops"
    assert function["loggingConfig"]["logFormat"] == "JSON"
    assert function["loggingConfig"]["logGroup"] == "/aws/lambda/trainops-test-echo"


def test_log_group_is_explicit_retained_and_encrypted(source_dir: Path) -> None:
    log_group = build(source_dir).one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group == {
        "name": "/aws/lambda/trainops-test-echo",
        "retentionInDays": 14,
        "kmsKeyId": KEY_ARN,
    }


def test_role_trusts_lambda_in_this_account_and_holds_only_what_it_needs(source_dir: Path) -> None:
    recording = build(source_dir)
    role = recording.one("aws:iam/role:Role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": offline.ACCOUNT_ID}}

    statements = {
        s["Sid"]: s
        for s in json.loads(recording.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])[
            "Statement"
        ]
        if "Sid" in s
    }
    log_group_arn = recording.one("aws:cloudwatch/logGroup:LogGroup").outputs["arn"]
    assert statements["WriteOwnLogs"]["Resource"] == [log_group_arn + ":*"]
    assert statements["DecryptEnvironment"]["Resource"] == [KEY_ARN]
    policy = json.loads(recording.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    caller = [s for s in policy["Statement"] if s["Action"] == ["sqs:ReceiveMessage"]]
    assert len(caller) == 1, "the caller's statement is part of the role policy"
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert "logs:CreateLogGroup" not in actions  # the log group is ours, not created on the fly


def test_synchronous_function_has_no_failure_queue_and_no_alarms_without_topics(
    source_dir: Path,
) -> None:
    recording = build(source_dir)
    assert recording.of_type("aws:sqs/queue:Queue") == []
    assert recording.of_type("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig") == []
    assert recording.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") == []


def test_async_function_gets_a_failure_destination(source_dir: Path) -> None:
    recording = build(source_dir, invoked_asynchronously=True)
    queue = recording.one("aws:sqs/queue:Queue")
    assert queue.inputs["kmsMasterKeyId"] == KEY_ARN
    assert "fifoQueue" not in queue.inputs  # Lambda destinations must be standard queues
    invoke_config = recording.one(
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
    ).inputs
    assert invoke_config["destinationConfig"] == {
        "onFailure": {"destination": queue.outputs["arn"]}
    }
    assert invoke_config["maximumRetryAttempts"] == 2
    policy = json.loads(recording.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    send = [s for s in policy["Statement"] if s["Action"] == ["sqs:SendMessage"]]
    assert send[0]["Resource"] == [queue.outputs["arn"]]
    queue_policy = json.loads(recording.one("aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])
    assert queue_policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alarms_on_errors_and_dead_letters_climb_the_ladder(source_dir: Path) -> None:
    recording = build(source_dir, invoked_asynchronously=True, alerts=LADDER)
    found = {a.name: a.inputs for a in recording.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    first_tier = {"echo-errors", "echo-throttles", "echo-failures-depth"}
    assert set(found) == first_tier | {f"{name}-escalated" for name in first_tier}
    assert found["echo-errors"]["metricName"] == "Errors"
    assert found["echo-errors"]["dimensions"] == {"FunctionName": "trainops-test-echo"}
    assert found["echo-throttles"]["metricName"] == "Throttles"
    assert found["echo-throttles"]["dimensions"] == {"FunctionName": "trainops-test-echo"}
    assert found["echo-throttles"]["evaluationPeriods"] == 3
    assert found["echo-failures-depth"]["namespace"] == "AWS/SQS"
    for name in first_tier:
        assert found[name]["alarmActions"] == [TOPIC_ARN]
        assert found[name]["okActions"] == [TOPIC_ARN]
        assert found[name]["treatMissingData"] == "notBreaching"
        escalated = found[f"{name}-escalated"]
        assert escalated["alarmActions"] == [CRITICAL_ARN]
        assert escalated["metricName"] == found[name]["metricName"]
        assert escalated["evaluationPeriods"] * escalated["period"] >= 30 * 60


def test_a_ladder_may_leave_throttle_alarms_out(source_dir: Path) -> None:
    ladder = dataclasses.replace(LADDER, lambda_throttle_alarms=False)
    recording = build(source_dir, invoked_asynchronously=True, alerts=ladder)
    names = {a.name for a in recording.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert "echo-errors" in names
    assert not [name for name in names if "throttles" in name]


def test_every_child_is_parented_to_the_component(source_dir: Path) -> None:
    recording = build(source_dir, invoked_asynchronously=True, alerts=LADDER)
    component = recording.one("trainops:lambda:PythonFunction")
    children = recording.children_of(component)
    assert {r.urn for r in children} == {r.urn for r in recording.resources if r.custom}


def test_archive_holds_only_package_sources(source_dir: Path) -> None:
    assert sorted(packaged_files(source_dir)) == [
        "trainops_runtime/__init__.py",
        "trainops_runtime/echo.py",
        "trainops_runtime/schema.json",
    ]


def test_real_lambda_archive_has_no_dev_files() -> None:
    files = packaged_files(LAMBDA_DIR)
    assert "trainops_runtime/__init__.py" in files
    assert all(name.startswith("trainops_runtime/") for name in files)
    assert all(Path(name).suffix in {".py", ".json"} for name in files)
    assert not any("__pycache__" in name or "/tests/" in name for name in files)


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        ("trainops_runtime.missing.handler", "does not exist"),
        ("trainops_runtime.echo.main", "defines no top-level 'main'"),
        ("other_package.echo.handler", "must look like trainops_runtime.<module>.<function>"),
    ],
)
def test_a_wrong_handler_fails_before_anything_is_created(
    source_dir: Path, handler: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check_handler(handler, source_dir)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("memory_mb", 64, "memory_mb must be 128-10240"),
        ("timeout_seconds", 901, "timeout_seconds must be 1-900"),
        ("reserved_concurrency", 0, "reserved_concurrency must be at least 1"),
    ],
)
def test_invalid_sizes_are_rejected(source_dir: Path, field: str, value: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(source_dir, **{field: value})


def test_powertools_layer_per_partition() -> None:
    china = iam.AwsContext(account_id="1", region="cn-north-1", partition="aws-cn")
    assert powertools_layer_arn(china, 5).startswith(
        "arn:aws-cn:lambda:cn-north-1:498634801083:layer:"
    )
    with pytest.raises(ValueError, match="no published Powertools layer"):
        powertools_layer_arn(
            iam.AwsContext(account_id="1", region="us-gov-west-1", partition="aws-us-gov"), 5
        )
