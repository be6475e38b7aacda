"""MaintenanceWindowRetraining: resources under mocks, and the same values accepted by SSM (moto)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest

from cli import offline
from components.config import ConfigError
from components.maintenance_window.component import (
    MaintenanceWindowArgs,
    MaintenanceWindowRetraining,
)
from components.maintenance_window.config import MaintenanceWindowConfig
from components.maintenance_window.specs import (
    retrain_document,
    run_command_pattern,
    target_spec,
    task_spec,
    window_spec,
)
from components.platform import iam
from components.platform.buckets import AccessLogs
from components.platform.context import EventBusRef, PlatformContext, Storage
from components.platform.model_config import ModelConfig
from tests.components.helpers import (
    ALARM,
    ParseWith,
    RunStack,
    configured_models,
    put_events_on,
    role_policy,
    stack_key_arn,
    statements_by_sid,
)
from tests.components.retrain_script import calls, run_script

ACCOUNT = offline.ACCOUNT_ID
TARGET = "aws:ssm/maintenanceWindowTarget:MaintenanceWindowTarget"
TASK = "aws:ssm/maintenanceWindowTask:MaintenanceWindowTask"
# prod guards its hosts with the platform-critical alarm
CRITICAL = "trainops-prod-platform-critical"
CRITICAL_ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{CRITICAL}"
DOCUMENT_PARAMETERS = {"models", "dataUris", "extraArgs", "guardAlarm", "executionTimeout"}


def task_inputs(recording: offline.Recording) -> dict[str, dict[str, Any]]:
    return {task.name: task.inputs for task in recording.of_type(TASK)}


def task_parameters(task: dict[str, Any]) -> dict[str, list[str]]:
    """The Run Command parameters a task passes to the retraining document."""
    run = task["taskInvocationParameters"]["runCommandParameters"]
    return {p["name"]: p["values"] for p in run["parameters"]}


def task_models(task: dict[str, Any]) -> list[str]:
    return task_parameters(task)["models"][0].split()


def instance_policy(recording: offline.Recording) -> dict[str, Any]:
    """What the training hosts may do (their instance profile's policy)."""
    policy = recording.one("aws:iam/policy:Policy", "maintenance-window-instance-policy")
    return json.loads(policy.inputs["policy"])


def platform_critical(recording: offline.Recording) -> dict[str, Any]:
    """The composite alarm that says the platform is in trouble."""
    composite = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
    return recording.one(composite, "platform-critical-alarm").inputs


def test_window_is_scheduled_and_refuses_unassociated_targets(prod: offline.Recording) -> None:
    window = prod.one("aws:ssm/maintenanceWindow:MaintenanceWindow").inputs
    assert window["schedule"] == "cron(0 4 ? * SUN *)"
    assert window["scheduleTimezone"] == "UTC"
    assert window["duration"] == 3
    assert window["cutoff"] == 1
    assert window["allowUnassociatedTargets"] is False


def test_target_selects_instances_by_tag(prod: offline.Recording) -> None:
    target = prod.one(TARGET).inputs
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
    assert set(parameters) == DOCUMENT_PARAMETERS
    assert "default" not in parameters["models"]  # required
    assert "default" not in parameters["dataUris"]
    for spec in parameters.values():
        assert spec["type"] == "String"
        assert spec["allowedPattern"].startswith("^")
    script = "\n".join(content["mainSteps"][0]["inputs"]["runCommand"])
    assert (
        'if /opt/trainops/bin/retrain --model "$MODEL" --data "$DATA_URI" {{ extraArgs }}; then'
        in script
    )

    # values are substituted into single-quoted shell text: no quote may get through
    data = re.compile(parameters["dataUris"]["allowedPattern"])
    assert data.match("s3://example-ml-data/churn/train/")
    assert data.match("s3://example-ml-data/churn/train/ s3://example-ml-data/fraud/")
    models = re.compile(parameters["models"]["allowedPattern"])
    assert models.match("churn")
    assert models.match("churn fraud m007-x")
    for hostile in ("s3://bucket/a'(id)'", "s3://bucket/a'; rm -rf /", 's3://bucket/"x"', ""):
        assert not data.match(hostile), hostile
    for hostile in ("churn'", "churn;id", "churn  fraud", " churn", "churn$(id)", ""):
        assert not models.match(hostile), hostile


def test_one_task_per_model_with_logging_notifications_and_limits(prod: offline.Recording) -> None:
    tasks = {t.inputs["name"]: t.inputs for t in prod.of_type(TASK)}
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
    parameters = task_parameters(churn)
    assert parameters["models"] == ["churn"]
    assert parameters["dataUris"] == ["s3://example-ml-data/churn/train/"]
    assert parameters["executionTimeout"] == ["7200"]
    assert log_group.inputs["retentionInDays"] == 365
    assert log_group.inputs["kmsKeyId"] == stack_key_arn(prod)


def test_service_role_is_least_privilege(prod: offline.Recording) -> None:
    role = prod.one("aws:iam/role:Role", "maintenance-window-service")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ssm.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    policy = role_policy(prod, "maintenance-window-service-policy")
    assert iam.wildcard_allow_actions(policy) == []
    statements = statements_by_sid(policy)
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
    policy = instance_policy(prod)
    statements = statements_by_sid(policy)
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


def test_nothing_when_disabled(run_stack: RunStack) -> None:
    recording = run_stack("prod", {"trainops:maintenanceWindow.enabled": False})
    assert recording.of_type("trainops:ssm:MaintenanceWindowRetraining") == []
    assert not [r for r in recording.resources if r.type.startswith("aws:ssm/")]


def test_resource_group_alternative_and_model_subset(run_stack: RunStack) -> None:
    recording = run_stack(
        "prod",
        {
            "trainops:maintenanceWindow.targetTag": None,
            "trainops:maintenanceWindow.resourceGroup": "gpu-trainers",
            "trainops:maintenanceWindow.models": ["fraud"],
        },
    )
    target = recording.one(TARGET).inputs
    assert target["resourceType"] == "RESOURCE_GROUP"
    assert target["targets"] == [{"key": "resource-groups:Name", "values": ["gpu-trainers"]}]
    assert [t.inputs["name"] for t in recording.of_type(TASK)] == ["retrain-fraud"]
    by_sid = statements_by_sid(role_policy(recording, "maintenance-window-service-policy"))
    assert by_sid["ResolveGroup"]["Resource"] == [
        f"arn:aws:resource-groups:us-east-1:{ACCOUNT}:group/gpu-trainers"
    ]
    assert by_sid["ResolveGroupMembers"]["Action"] == ["tag:GetResources"]


def test_a_critical_alarm_stops_running_retraining(
    prod: offline.Recording, run_stack: RunStack
) -> None:
    """The task's AlarmConfiguration, which the providers lack, done by a rule and a function."""
    rule = prod.one("aws:cloudwatch/eventRule:EventRule", "maintenance-window-stop-on-critical")
    assert json.loads(rule.inputs["eventPattern"]) == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [CRITICAL_ARN],
        "detail": {"state": {"value": ["ALARM"]}},
    }
    assert platform_critical(prod)["alarmName"] == CRITICAL
    function = prod.one(
        "aws:lambda/function:Function", "maintenance-window-stopper-function"
    ).inputs
    assert function["handler"] == "trainops_runtime.handlers.stop_maintenance.handler"
    window = prod.one("aws:ssm/maintenanceWindow:MaintenanceWindow")
    variables = function["environment"]["variables"]
    assert variables["TRAINOPS_MAINTENANCE_WINDOW_ID"] == window.id
    assert variables["TRAINOPS_GUARD_ALARM_NAME"] == CRITICAL
    target = prod.one(
        "aws:cloudwatch/eventTarget:EventTarget", "maintenance-window-stop-on-critical-target"
    ).inputs
    assert target["retryPolicy"]["maximumRetryAttempts"] == 10
    assert "deadLetterConfig" in target
    policy = role_policy(prod, "maintenance-window-stopper-policy")
    stop = statements_by_sid(policy)["StopOwnWindow"]
    assert stop["Resource"] == [f"arn:aws:ssm:us-east-1:{ACCOUNT}:maintenancewindow/{window.id}"]
    assert iam.wildcard_allow_actions(policy) == []
    without = run_stack("prod", {"trainops:maintenanceWindow.guardWithCriticalAlarm": False})
    assert not [r for r in without.resources if "stop" in r.name]


def generated(count: int) -> dict[str, Any]:
    base = configured_models("prod")["churn"]
    return {
        f"m{index:02d}": {**base, "trainingData": f"s3://lake/ml/m{index:02d}/"}
        for index in range(count)
    }


def test_more_than_twenty_models_share_the_windows_twenty_tasks(run_stack: RunStack) -> None:
    """Systems Manager allows 20 tasks per window: 45 models share them, in order, and each
    task's command retrains its share one after another."""
    recording = run_stack("prod", {"trainops:models": generated(45)})
    (window,) = recording.of_type("aws:ssm/maintenanceWindow:MaintenanceWindow")
    tasks = task_inputs(recording)
    assert sorted(tasks) == sorted(f"maintenance-window-task-{n}" for n in range(1, 21))
    ordered = sorted(tasks.values(), key=lambda t: t["priority"])
    assert [t["priority"] for t in ordered] == list(range(1, 21))
    assert {t["windowId"] for t in ordered} == {window.id}
    shares = [task_models(t) for t in ordered]
    assert [len(share) for share in shares] == [3] * 5 + [2] * 15
    assert [model for share in shares for model in share] == sorted(generated(45))
    first = ordered[0]
    assert first["name"] == "retrain-m00-and-2-more"
    parameters = task_parameters(first)
    assert parameters["dataUris"] == ["s3://lake/ml/m00/ s3://lake/ml/m01/ s3://lake/ml/m02/"]
    assert parameters["executionTimeout"] == [str(3 * 120 * 60)]  # each model its timeout
    # the hosts read one covering prefix, however many models
    policy = instance_policy(recording)
    reads = [s["Resource"] for s in policy["Statement"] if s["Action"] == ["s3:GetObject"]]
    assert reads == [["arn:aws:s3:::lake/ml/*"]]


@functools.cache
def task_names(count: int) -> frozenset[str]:
    """The window's task names for prod with ``count`` generated models (each count built once
    per process: several cases share it)."""
    return frozenset(
        task_inputs(offline.run_program("prod", {"trainops:models": generated(count)}))
    )


@pytest.mark.parametrize(("before", "after"), [(19, 20), (20, 21), (21, 20), (45, 44), (45, 60)])
def test_adding_or_removing_a_model_never_has_a_window_hold_more_than_twenty(
    before: int, after: int
) -> None:
    """Tasks are slots: a change of models updates tasks in place. Only the slots beyond the
    smaller count are created or deleted, so no deployment step sees a 21st task."""
    old, new = task_names(before), task_names(after)
    assert len(old | new) <= 20
    assert old & new == {
        f"maintenance-window-task-{n}" for n in range(1, min(before, after, 20) + 1)
    }


def test_tasks_keep_the_names_they_had_per_model(prod: offline.Recording) -> None:
    """Up to 20 models a task holds one model, as when tasks were named after their model:
    each slot carries that name as an alias, so an existing stack updates instead of
    replacing (and briefly doubling) its tasks."""
    assert {name: task_models(task) for name, task in task_inputs(prod).items()} == {
        "maintenance-window-task-1": ["churn"],
        "maintenance-window-task-2": ["forecast"],
        "maintenance-window-task-3": ["fraud"],
    }


def test_the_script_retrains_each_model_in_turn_and_reports_failures(tmp_path: Path) -> None:
    done = run_script(tmp_path, "churn fraud", "s3://d/churn/ s3://d/fraud/", failing="churn")
    assert calls(tmp_path) == [
        "retrain --model churn --data s3://d/churn/ --epochs 5",
        "retrain --model fraud --data s3://d/fraud/ --epochs 5",  # a failure stops nothing
    ]
    assert done.returncode == 1  # the command fails: the warning topic hears of it
    assert "trainops: fraud succeeded" in done.stdout
    assert "trainops: churn failed" in done.stderr
    assert "trainops: failed: churn" in done.stderr


def test_the_script_stops_while_the_platform_is_critical(tmp_path: Path) -> None:
    done = run_script(tmp_path, "churn fraud", "s3://d/churn/ s3://d/fraud/", alarm="ALARM")
    assert done.returncode == 3
    assert calls(tmp_path) == []
    assert "is in ALARM; not retraining churn" in done.stderr


def test_the_script_refuses_lists_of_different_lengths(tmp_path: Path) -> None:
    done = run_script(tmp_path, "churn fraud", "s3://d/churn/")
    assert done.returncode == 2
    assert calls(tmp_path) == []


def test_guard_alarm_is_passed_to_the_hosts(run_stack: RunStack) -> None:
    recording = run_stack("prod", {"trainops:maintenanceWindow.guardWithCriticalAlarm": True})
    task = next(t for t in task_inputs(recording).values() if task_models(t) == ["churn"])
    assert task_parameters(task)["guardAlarm"] == [CRITICAL]
    composite = platform_critical(recording)
    assert composite["alarmName"] == CRITICAL
    escalated = {
        a.outputs["name"] for a in recording.of_type(ALARM) if a.name.endswith("-escalated")
    }
    referenced = set(composite["alarmRule"].replace('ALARM("', "").replace('")', "").split(" OR "))
    assert referenced == escalated
    guard = statements_by_sid(instance_policy(recording))["ReadGuardAlarm"]
    assert guard["Resource"] == [CRITICAL_ARN]


def test_run_command_results_are_forwarded_to_the_training_bus() -> None:
    config = MaintenanceWindowConfig.model_validate(
        {"enabled": True, "targetTag": {"key": "Role", "values": ["trainer"]}}
    )
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
                platform=PlatformContext(
                    ctx=iam.AwsContext(account_id=ACCOUNT, region="us-east-1"),
                    key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
                    log_retention_days=30,
                    powertools_layer_version=27,
                    models={"m": model},
                    event_bus=EventBusRef(name="training", arn=bus_arn),
                    storage=Storage(
                        artifacts_bucket_name="artifacts",
                        artifacts_bucket_arn="arn:aws:s3:::artifacts",
                        access_logs=AccessLogs(target_bucket="logs"),
                    ),
                ),
            ),
        )

    recording = offline.run_under_mocks("test", {"aws:region": "us-east-1"}, program)
    rule = recording.one("aws:cloudwatch/eventRule:EventRule", "mw-results")
    assert json.loads(rule.inputs["eventPattern"]) == run_command_pattern("trainops-test-retrain")
    target = recording.one("aws:cloudwatch/eventTarget:EventTarget", "mw-results-target").inputs
    assert target["arn"] == bus_arn
    assert role_policy(recording, "mw-forward-policy")["Statement"] == [put_events_on(bus_arn)]
    assert target["roleArn"] == recording.one("aws:iam/role:Role", "mw-forward").outputs["arn"]
    # without monitoring there are no alarms and no notifications, but the task still logs
    task = recording.one(TASK).inputs
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
    parse_with: ParseWith, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_with("prod", overrides)
    problems = raised.value.problems
    assert any(problem.startswith(message) for problem in problems), problems


def test_the_program_fails_on_a_bad_window() -> None:
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
    assert {p["Name"] for p in document["Parameters"]} == DOCUMENT_PARAMETERS
    window = window_spec(config, "trainops-test-retraining")
    window_id = ssm.create_maintenance_window(**window)["WindowId"]
    target_id = ssm.register_target_with_maintenance_window(
        WindowId=window_id, **target_spec(config)
    )["WindowTargetId"]
    spec = task_spec(
        config,
        models=["churn", "fraud"],
        data_uris=["s3://example-ml-data/churn/train/", "s3://example-ml-data/fraud/"],
        slot=0,
        document="trainops-test-retrain",
        bucket="artifacts-bucket",
        log_group="/trainops/test/maintenance-window",
        notify_topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:warning",
        service_role_arn=f"arn:aws:iam::{ACCOUNT}:role/maintenance",
    )
    task_id = ssm.register_task_with_maintenance_window(
        WindowId=window_id, Targets=[{"Key": "WindowTargetIds", "Values": [target_id]}], **spec
    )["WindowTaskId"]
    assert ssm.get_maintenance_window(WindowId=window_id)["Schedule"] == "cron(0 4 ? * SUN *)"
    (task,) = ssm.describe_maintenance_window_tasks(WindowId=window_id)["Tasks"]
    assert task["WindowTaskId"] == task_id
    assert task["MaxConcurrency"] == "1"
    assert task["TaskArn"] == "trainops-test-retrain"
