"""MaintenanceWindowRetraining: resources under mocks, and the same values accepted by SSM (moto)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import boto3
import pulumi
import pytest

from cli import offline
from components import iam
from components.config import ConfigError, MaintenanceWindowConfig
from components.event_rules import EventBusRef
from components.maintenance_window import (
    MaintenanceWindowArgs,
    MaintenanceWindowRetraining,
    retrain_document,
    run_command_pattern,
    target_spec,
    task_spec,
    window_spec,
)

ACCOUNT = offline.ACCOUNT_ID


@pytest.fixture
def prod(run_stack: Callable[..., offline.Recording]) -> offline.Recording:
    return run_stack("prod")


def test_window_is_scheduled_and_refuses_unassociated_targets(prod: offline.Recording) -> None:
    window = prod.one("aws:ssm/maintenanceWindow:MaintenanceWindow").inputs
    assert window["schedule"] == "cron(0 4 ? * SUN *)"
    assert window["scheduleTimezone"] == "UTC"
    assert window["duration"] == 3
    assert window["cutoff"] == 1
    assert window["allowUnassociatedTargets"] is False


def test_target_selects_instances_by_tag(prod: offline.Recording) -> None:
    target = prod.one("aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget").inputs
    assert target["resourceType"] == "INSTANCE"
    assert target["targets"] == [{"key": "tag:Role", "values": ["trainer", "gpu-trainer"]}]
    assert "InstanceIds" not in json.dumps(target)


def test_document_has_typed_validated_parameters(prod: offline.Recording) -> None:
    document = prod.one("aws:ssm/document:Document").inputs
    assert document["name"] == "trainops-prod-retrain"
    assert document["documentType"] == "Command"
    content = json.loads(document["content"])
    assert content["schemaVersion"] == "2.2"
    parameters = content["parameters"]
    assert "default" not in parameters["modelName"]  # required
    assert "default" not in parameters["dataUri"]
    for spec in parameters.values():
        assert spec["type"] == "String"
        assert spec["allowedPattern"].startswith("^")
    script = "\n".join(content["mainSteps"][0]["inputs"]["runCommand"])
    assert (
        'exec /opt/trainops/bin/retrain --model "$MODEL" --data "$DATA_URI" {{ extraArgs }}'
        in script
    )

    # values are substituted into single-quoted shell assignments: no quote may get through
    data = re.compile(parameters["dataUri"]["allowedPattern"])
    assert data.match("s3://example-ml-data/churn/train/")
    for hostile in ("s3://bucket/a'(id)'", "s3://bucket/a'; rm -rf /", 's3://bucket/"x"'):
        assert not data.match(hostile), hostile


def test_one_task_per_model_with_logging_notifications_and_limits(prod: offline.Recording) -> None:
    tasks = {
        t.inputs["name"]: t.inputs
        for t in prod.of_type("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
    }
    assert sorted(tasks) == ["retrain-churn", "retrain-forecast", "retrain-fraud"]
    document = prod.one("aws:ssm/document:Document")
    bucket = prod.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["bucket"]
    log_group = prod.one("aws:cloudwatch/logGroup:LogGroup", "maintenance-window-logs")
    warning = prod.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    role = prod.one("aws:iam/role:Role", "maintenance-window-service").outputs["arn"]
    churn = tasks["retrain-churn"]
    assert churn["taskType"] == "RUN_COMMAND"
    assert churn["taskArn"] == document.inputs["name"]  # what Run Command events report
    assert churn["maxConcurrency"] == "1"
    assert churn["maxErrors"] == "1"
    assert churn["serviceRoleArn"] == role
    assert churn["targets"][0]["key"] == "WindowTargetIds"
    run = churn["taskInvocationParameters"]["runCommandParameters"]
    assert run["outputS3Bucket"] == bucket
    assert run["outputS3KeyPrefix"] == "maintenance-window/churn"
    assert run["cloudwatchConfig"] == {
        "cloudwatchLogGroupName": log_group.outputs["name"],
        "cloudwatchOutputEnabled": True,
    }
    assert run["notificationConfig"] == {
        "notificationArn": warning,
        "notificationEvents": ["Failed", "TimedOut", "Cancelled"],
        "notificationType": "Command",
    }
    parameters = {p["name"]: p["values"] for p in run["parameters"]}
    assert parameters["modelName"] == ["churn"]
    assert parameters["dataUri"] == ["s3://example-ml-data/churn/train/"]
    assert log_group.inputs["retentionInDays"] == 365
    assert log_group.inputs["kmsKeyId"] == prod.one("aws:kms/key:Key").outputs["arn"]


def test_service_role_is_least_privilege(prod: offline.Recording) -> None:
    role = prod.one("aws:iam/role:Role", "maintenance-window-service")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    policy = json.loads(
        prod.one("aws:iam/rolePolicy:RolePolicy", "maintenance-window-service-policy").inputs[
            "policy"
        ]
    )
    assert iam.wildcard_allow_actions(policy) == []
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["OnTrainingHosts"]["Condition"] == {
        "StringEquals": {"ssm:resourceTag/Role": ["trainer", "gpu-trainer"]}
    }
    assert statements["NotifyFailures"]["Resource"] == [
        prod.one("aws:sns/topic:Topic", "monitoring-warning").outputs["arn"]
    ]
    star = [s["Sid"] for s in policy["Statement"] if s["Resource"] == "*"]
    assert star == ["FollowCommands"]
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {
        "ssm:SendCommand",
        "ssm:GetCommandInvocation",
        "ssm:ListCommandInvocations",
        "ssm:ListCommands",
        "iam:PassRole",
        "sns:Publish",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


def test_instance_policy_covers_output_logs_and_data(prod: offline.Recording) -> None:
    policy = json.loads(
        prod.one("aws:iam/policy:Policy", "maintenance-window-instance-policy").inputs["policy"]
    )
    statements = {s["Sid"]: s for s in policy["Statement"]}
    bucket_arn = prod.one("aws:s3/bucket:Bucket", "foundation-artifacts").outputs["arn"]
    assert statements["WriteCommandOutput"]["Resource"] == [bucket_arn + "/maintenance-window/*"]
    # the SSM agent looks up the log group before writing; AWS allows that only on "*"
    assert statements["FindCommandLogGroup"] == {
        "Sid": "FindCommandLogGroup",
        "Effect": "Allow",
        "Action": ["logs:DescribeLogGroups"],
        "Resource": "*",
    }
    assert iam.wildcard_allow_actions(policy) == []


def test_nothing_when_disabled(run_stack: Callable[..., offline.Recording]) -> None:
    recording = run_stack("prod", {"trainops:maintenanceWindow.enabled": False})
    assert recording.of_type("trainops:ssm:MaintenanceWindowRetraining") == []
    assert not [r for r in recording.resources if r.type.startswith("aws:ssm/")]


def test_resource_group_alternative_and_model_subset(
    run_stack: Callable[..., offline.Recording],
) -> None:
    recording = run_stack(
        "prod",
        {
            "trainops:maintenanceWindow.targetTag": None,
            "trainops:maintenanceWindow.resourceGroup": "gpu-trainers",
            "trainops:maintenanceWindow.models": ["fraud"],
        },
    )
    target = recording.one("aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget").inputs
    assert target["resourceType"] == "RESOURCE_GROUP"
    assert target["targets"] == [{"key": "resource-groups:Name", "values": ["gpu-trainers"]}]
    assert [
        t.inputs["name"]
        for t in recording.of_type("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
    ] == ["retrain-fraud"]
    service = json.loads(
        recording.one("aws:iam/rolePolicy:RolePolicy", "maintenance-window-service-policy").inputs[
            "policy"
        ]
    )
    by_sid = {statement["Sid"]: statement for statement in service["Statement"]}
    assert by_sid["ResolveGroup"]["Resource"] == [
        f"arn:aws:resource-groups:us-east-1:{ACCOUNT}:group/gpu-trainers"
    ]
    assert by_sid["ResolveGroupMembers"]["Action"] == ["tag:GetResources"]


def test_a_critical_alarm_stops_running_retraining(
    run_stack: Callable[..., offline.Recording],
) -> None:
    """The task's AlarmConfiguration, which the providers lack, done by a rule and a function."""
    recording = run_stack("prod")  # prod guards its hosts with the platform-critical alarm
    alarm_arn = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:trainops-prod-platform-critical"
    rule = recording.one(
        "aws:cloudwatch/eventRule:EventRule", "maintenance-window-stop-on-critical"
    )
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    assert (
        recording.one(
            "aws:cloudwatch/compositeAlarm:CompositeAlarm", "platform-critical-alarm"
        ).inputs["alarmName"]
        == "trainops-prod-platform-critical"
    )
    function = recording.one(
        "aws:lambda/function:Function", "maintenance-window-stopper-function"
    ).inputs
    assert function["handler"] == "trainops_runtime.stop_maintenance.handler"
    variables = function["environment"]["variables"]
    # the function finds the stack's windows by name: one env value, however many windows
    assert variables["TRAINOPS_MAINTENANCE_WINDOW_NAME"] == "trainops-prod-retraining"
    assert variables["TRAINOPS_GUARD_ALARM_NAME"] == "trainops-prod-platform-critical"
    target = recording.one(
        "aws:cloudwatch/eventTarget:EventTarget", "maintenance-window-stop-on-critical-target"
    ).inputs
    assert target["retryPolicy"]["maximumRetryAttempts"] == 10
    assert "deadLetterConfig" in target
    policy = json.loads(
        recording.one("aws:iam/rolePolicy:RolePolicy", "maintenance-window-stopper-policy").inputs[
            "policy"
        ]
    )
    stop = next(s for s in policy["Statement"] if s["Sid"] == "StopOwnWindows")
    assert stop["Resource"] == [f"arn:aws:ssm:us-east-1:{ACCOUNT}:maintenancewindow/*"]
    assert stop["Condition"] == {"StringEquals": {"aws:ResourceTag/trainops:stack": "prod"}}
    window = recording.one("aws:ssm/maintenanceWindow:MaintenanceWindow")
    assert window.inputs["tags"]["trainops:stack"] == "prod"
    assert iam.wildcard_allow_actions(policy) == []
    without = run_stack("prod", {"trainops:maintenanceWindow.guardWithCriticalAlarm": False})
    assert not [r for r in without.resources if "stop" in r.name]


def test_more_models_than_a_window_holds_spread_over_windows(
    run_stack: Callable[..., offline.Recording],
) -> None:
    """Systems Manager allows 20 tasks per window: 45 models need three windows, each with its
    own target, the same schedule, and its tasks in order."""
    base = json.loads(offline.stack_config("prod")["trainops:models"])["churn"]
    models = {
        f"m{index:02d}": {**base, "trainingData": f"s3://lake/ml/m{index:02d}/"}
        for index in range(45)
    }
    recording = run_stack("prod", {"trainops:models": models})
    windows = {
        w.outputs["name"]: w
        for w in recording.of_type("aws:ssm/maintenanceWindow:MaintenanceWindow")
    }
    assert sorted(windows) == [
        "trainops-prod-retraining",
        "trainops-prod-retraining-2",
        "trainops-prod-retraining-3",
    ]
    assert {w.inputs["schedule"] for w in windows.values()} == {"cron(0 4 ? * SUN *)"}
    targets = recording.of_type("aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget")
    assert sorted(t.inputs["windowId"] for t in targets) == sorted(w.id for w in windows.values())
    tasks = recording.of_type("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask")
    by_window: dict[str, list[tuple[int, str]]] = {}
    for task in tasks:
        by_window.setdefault(task.inputs["windowId"], []).append(
            (task.inputs["priority"], task.inputs["name"])
        )
    first = sorted(by_window[windows["trainops-prod-retraining"].id])
    assert first == [(index + 1, f"retrain-m{index:02d}") for index in range(20)]
    assert [
        len(by_window[w.id]) for w in sorted(windows.values(), key=lambda w: w.outputs["name"])
    ] == [
        20,
        20,
        5,
    ]
    # each task targets its own window's hosts
    target_of = {t.inputs["windowId"]: t.id for t in targets}
    for task in tasks:
        assert task.inputs["targets"] == [
            {"key": "WindowTargetIds", "values": [target_of[task.inputs["windowId"]]]}
        ]
    # the hosts read one covering prefix, however many models
    policy = json.loads(
        recording.one("aws:iam/policy:Policy", "maintenance-window-instance-policy").inputs[
            "policy"
        ]
    )
    reads = [s["Resource"] for s in policy["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert reads == [["arn:aws:s3:::lake/ml/*"]]


def test_a_host_retrains_one_model_at_a_time() -> None:
    """Windows share schedule and hosts: the document serialises on a lock on the host."""
    script = retrain_document("/opt/trainops/bin/retrain")["mainSteps"][0]["inputs"]["runCommand"]
    lock = script.index("exec 9>/var/lock/trainops-retrain.lock")
    assert script[lock + 1] == "flock 9"
    assert lock < next(i for i, line in enumerate(script) if line.startswith("exec /opt"))


def test_guard_alarm_is_passed_to_the_hosts(run_stack: Callable[..., offline.Recording]) -> None:
    recording = run_stack("prod", {"trainops:maintenanceWindow.guardWithCriticalAlarm": True})
    task = recording.one(
        "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask", "maintenance-window-task-churn"
    ).inputs
    parameters = {
        p["name"]: p["values"]
        for p in task["taskInvocationParameters"]["runCommandParameters"]["parameters"]
    }
    assert parameters["guardAlarm"] == ["trainops-prod-platform-critical"]
    composite = recording.one(
        "aws:cloudwatch/compositeAlarm:CompositeAlarm", "platform-critical-alarm"
    ).inputs
    assert composite["alarmName"] == "trainops-prod-platform-critical"
    escalated = {
        a.outputs["name"]
        for a in recording.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.name.endswith("-escalated")
    }
    referenced = set(composite["alarmRule"].replace('ALARM("', "").replace('")', "").split(" OR "))
    assert referenced == escalated
    policy = json.loads(
        recording.one("aws:iam/policy:Policy", "maintenance-window-instance-policy").inputs[
            "policy"
        ]
    )
    guard = next(s for s in policy["Statement"] if s["Sid"] == "ReadGuardAlarm")
    assert guard["Resource"] == [
        f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:trainops-prod-platform-critical"
    ]


def test_run_command_results_are_forwarded_to_the_training_bus() -> None:
    ctx = iam.AwsContext(account_id=ACCOUNT, region="us-east-1")
    config = MaintenanceWindowConfig.model_validate(
        {"enabled": True, "targetTag": {"key": "Role", "values": ["trainer"]}}
    )
    from components.config import ModelConfig

    model = ModelConfig.model_validate(
        {
            "image": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/m:1",
            "trainingData": "s3://data-bucket/m/",
        }
    )
    bus_arn = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/training"

    def program() -> None:
        MaintenanceWindowRetraining(
            "mw",
            MaintenanceWindowArgs(
                config=config,
                models={"m": model},
                ctx=ctx,
                key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
                artifacts_bucket_name="artifacts",
                artifacts_bucket_arn="arn:aws:s3:::artifacts",
                log_retention_days=30,
                event_bus=EventBusRef(name="training", arn=bus_arn),
            ),
        )

    recording = offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)
    rule = recording.one("aws:cloudwatch/eventRule:EventRule", "mw-results")
    assert json.loads(rule.inputs["eventPattern"]) == run_command_pattern("trainops-test-retrain")
    target = recording.one("aws:cloudwatch/eventTarget:EventTarget", "mw-results-target").inputs
    assert target["arn"] == bus_arn
    policy = json.loads(
        recording.one("aws:iam/rolePolicy:RolePolicy", "mw-forward-policy").inputs["policy"]
    )
    assert policy["Statement"] == [
        {
            "Sid": "ToTrainingBus",
            "Effect": "Allow",
            "Action": ["events:PutEvents"],
            "Resource": [bus_arn],
        }
    ]
    assert target["roleArn"] == recording.one("aws:iam/role:Role", "mw-forward").outputs["arn"]
    # without monitoring there are no alarms and no notifications, but the task still logs
    task = recording.one("aws:ssm/maintenanceWindowTask:MaintenanceWindowTask").inputs
    assert "notificationConfig" not in task["taskInvocationParameters"]["runCommandParameters"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"trainops:maintenanceWindow.schedule": "cron(0 4 * * SUN *)"},
            "trainops:maintenanceWindow.schedule: exactly one of day-of-month and day-of-week",
        ),
        (
            {"trainops:maintenanceWindow.schedule": "rate(1 minute)"},
            "trainops:maintenanceWindow.schedule: maintenance windows cannot run more often",
        ),
        (
            {"trainops:maintenanceWindow.cutoffHours": 3},
            "trainops:maintenanceWindow: cutoffHours (3) must be less than durationHours (3)",
        ),
        (
            {"trainops:maintenanceWindow.durationHours": 25},
            "trainops:maintenanceWindow.durationHours: Input should be less than or equal to 24",
        ),
        (
            {"trainops:maintenanceWindow.targetTag.values": []},
            "trainops:maintenanceWindow.targetTag.values: List should have at least 1 item",
        ),
        (
            {"trainops:maintenanceWindow.targetTag.key": ""},
            "trainops:maintenanceWindow.targetTag.key: String should match pattern",
        ),
        (
            {"trainops:maintenanceWindow.models": ["ghost"]},
            "trainops:maintenanceWindow.models: ghost are not configured models",
        ),
        (
            {"trainops:maintenanceWindow.extraArgs": "--x; rm -rf /"},
            "trainops:maintenanceWindow.extraArgs: String should match pattern",
        ),
    ],
)
def test_invalid_config_names_the_key(
    parse_with: Callable[..., Any], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with("prod", overrides)
    assert any(problem.startswith(message) for problem in raised.value.problems), (
        raised.value.problems
    )


def test_the_program_fails_on_a_bad_window(run_stack: Callable[..., offline.Recording]) -> None:
    with pytest.raises(pulumi.RunError, match="trainops:maintenanceWindow: cutoffHours"):
        offline.run_program("prod", {"trainops:maintenanceWindow.cutoffHours": 5})


# ---- the same values, handed to Systems Manager (moto) -----------------------------------------


def test_ssm_accepts_the_document_window_target_and_task(moto_aws: None) -> None:
    config = MaintenanceWindowConfig.model_validate(
        {
            "enabled": True,
            "targetTag": {"key": "Role", "values": ["trainer"]},
            "extraArgs": "--epochs 5",
        }
    )
    ssm = boto3.client("ssm")
    document = ssm.create_document(
        Content=json.dumps(retrain_document(config.command)),
        Name="trainops-test-retrain",
        DocumentType="Command",
        DocumentFormat="JSON",
        TargetType="/AWS::EC2::Instance",
    )["DocumentDescription"]
    assert document["SchemaVersion"] == "2.2"
    assert {p["Name"] for p in document["Parameters"]} == {
        "modelName",
        "dataUri",
        "extraArgs",
        "guardAlarm",
        "executionTimeout",
    }
    window_id = ssm.create_maintenance_window(**window_spec(config, "trainops-test-retraining"))[
        "WindowId"
    ]
    target_id = ssm.register_target_with_maintenance_window(
        WindowId=window_id, **target_spec(config)
    )["WindowTargetId"]
    spec = task_spec(
        config,
        model="churn",
        data_uri="s3://example-ml-data/churn/train/",
        priority=1,
        document="trainops-test-retrain",
        bucket="artifacts-bucket",
        log_group="/trainops/test/maintenance-window",
        notify_topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:warning",
        service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/maintenance",
    )
    task_id = ssm.register_task_with_maintenance_window(
        WindowId=window_id, Targets=[{"Key": "WindowTargetIds", "Values": [target_id]}], **spec
    )["WindowTaskId"]
    window = ssm.get_maintenance_window(WindowId=window_id)
    assert window["Schedule"] == "cron(0 4 ? * SUN *)"
    (task,) = ssm.describe_maintenance_window_tasks(WindowId=window_id)["Tasks"]
    assert task["WindowTaskId"] == task_id
    assert task["MaxConcurrency"] == "1"
    assert task["TaskArn"] == "trainops-test-retrain"
