"""The maintenance window's Systems Manager values, as pure functions in the API's own shapes.

`MaintenanceWindowRetraining` builds its resources from these, and the tests hand exactly these
values to Systems Manager (moto) and run the document's script with bash: the retrain Command
document (typed, pattern-checked parameters instead of shell text), the window, its target,
each task, and the event patterns of the window's results and of the guard alarm.

Systems Manager allows 20 tasks per window: up to 20 models each task retrains one; beyond that
the 20 tasks share the models (`task_slots`), each command retraining its share in turn.
"""

from __future__ import annotations

from typing import Any

from components.maintenance_window.config import EXTRA_ARGS_PATTERN, MaintenanceWindowConfig
from trainops_runtime.training_request import MODEL_NAME_BODY

RUN_COMMAND_EVENT = "EC2 Command Status-change Notification"
NOTIFY_ON = ["Failed", "TimedOut", "Cancelled"]
# No quotes or parentheses: the value lands inside a single-quoted shell assignment.
S3_URI_BODY = r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*/=-]*)?"
MODEL_BODY = MODEL_NAME_BODY.removeprefix("^").removesuffix("$")
# Space-separated lists: the models of one task and their data, in the same order.
MODELS_PATTERN = rf"^{MODEL_BODY}( {MODEL_BODY})*$"
S3_PATTERN = rf"^{S3_URI_BODY}( {S3_URI_BODY})*$"
# The longest value a list parameter may take (SSM checks it before anything runs).
LIST_MAX_CHARS = 4096
# aws:runShellScript's timeoutSeconds: at most 48 hours.
MAX_COMMAND_SECONDS = 48 * 3600
ALARM_PATTERN = r"^[A-Za-z0-9 ._:/-]{0,255}$"
OUTPUT_PREFIX = "maintenance-window"
# Systems Manager quota "Tasks per maintenance window": 20 (AWS General Reference, Systems
# Manager endpoints and quotas).
MAX_TASKS_PER_WINDOW = 20


def retrain_document(command: str) -> dict[str, Any]:
    """The Command document (schema 2.2): typed parameters, validated, no free shell text.

    SSM checks every parameter against its allowedPattern before anything runs, and parameters
    without a default are required, so the command cannot start without models and data URIs.
    It retrains its models one after another, each only while the guard alarm is not in ALARM;
    one model's failure does not stop the next, and the command fails if any model failed
    (the output names each model's result).
    """
    script = [
        "#!/bin/bash",
        "set -uo pipefail",
        "read -r -a MODELS <<< '{{ models }}'",
        "read -r -a DATA_URIS <<< '{{ dataUris }}'",
        "GUARD_ALARM='{{ guardAlarm }}'",
        'if [ "${#MODELS[@]}" -eq 0 ] || [ "${#MODELS[@]}" -ne "${#DATA_URIS[@]}" ]; then',
        '  echo "trainops: models and dataUris must list the same number of entries" >&2; exit 2',
        "fi",
        "FAILED=()",
        'for INDEX in "${!MODELS[@]}"; do',
        '  MODEL="${MODELS[$INDEX]}"',
        '  DATA_URI="${DATA_URIS[$INDEX]}"',
        '  if [ -n "$GUARD_ALARM" ]; then',
        "    STATE=$(aws cloudwatch describe-alarms --alarm-types CompositeAlarm "
        '--alarm-names "$GUARD_ALARM" --query "CompositeAlarms[0].StateValue" --output text) '
        '|| { echo "trainops: cannot read $GUARD_ALARM; not retraining $MODEL" >&2; exit 4; }',
        '    if [ "$STATE" = "ALARM" ]; then',
        '      echo "trainops: $GUARD_ALARM is in ALARM; not retraining $MODEL" >&2; exit 3',
        "    fi",
        "  fi",
        '  echo "trainops: retraining $MODEL from $DATA_URI"',
        f'  if {command} --model "$MODEL" --data "$DATA_URI" {{{{ extraArgs }}}}; then',
        '    echo "trainops: $MODEL succeeded"',
        "  else",
        '    echo "trainops: $MODEL failed with exit status $?" >&2',
        '    FAILED+=("$MODEL")',
        "  fi",
        "done",
        'if [ "${#FAILED[@]}" -gt 0 ]; then',
        '  echo "trainops: failed: ${FAILED[*]}" >&2; exit 1',
        "fi",
    ]
    return {
        "schemaVersion": "2.2",
        "description": "trainops: retrain models on this host, one after another",
        "parameters": {
            "models": {
                "type": "String",
                "description": "Models to retrain, separated by spaces",
                "allowedPattern": MODELS_PATTERN,
                "maxChars": LIST_MAX_CHARS,
            },
            "dataUris": {
                "type": "String",
                "description": "S3 URI of each model's training data, in the same order",
                "allowedPattern": S3_PATTERN,
                "maxChars": LIST_MAX_CHARS,
            },
            "extraArgs": {
                "type": "String",
                "description": "Extra arguments for the retraining command",
                "default": "",
                "allowedPattern": EXTRA_ARGS_PATTERN,
            },
            "guardAlarm": {
                "type": "String",
                "description": "Refuse to start while this CloudWatch alarm is in ALARM",
                "default": "",
                "allowedPattern": ALARM_PATTERN,
            },
            "executionTimeout": {
                "type": "String",
                "description": "Seconds the command may run",
                "default": "7200",
                "allowedPattern": r"^[0-9]{1,6}$",
            },
        },
        "mainSteps": [
            {
                "action": "aws:runShellScript",
                "name": "retrain",
                "precondition": {"StringEquals": ["platformType", "Linux"]},
                "inputs": {"runCommand": script, "timeoutSeconds": "{{ executionTimeout }}"},
            }
        ],
    }


def task_slots(models: list[str]) -> list[list[str]]:
    """The models each of the window's tasks retrains, in order: one model per task up to 20
    models, then the 20 tasks share them (contiguous shares differing by at most one)."""
    slots = min(len(models), MAX_TASKS_PER_WINDOW)
    size, extra = divmod(len(models), slots) if slots else (0, 0)
    shares, start = [], 0
    for index in range(slots):
        end = start + size + (1 if index < extra else 0)
        shares.append(models[start:end])
        start = end
    return shares


def task_label(models: list[str]) -> str:
    """`retrain-<model>`, or `retrain-<first>-and-<n>-more` for a shared task."""
    label = f"retrain-{models[0]}"
    return label if len(models) == 1 else f"{label}-and-{len(models) - 1}-more"


def window_spec(config: MaintenanceWindowConfig, name: str) -> dict[str, Any]:
    """CreateMaintenanceWindow parameters."""
    return {
        "Name": name,
        "Description": "trainops: retraining on tagged hosts",
        "Schedule": config.schedule,
        "ScheduleTimezone": config.timezone,
        "Duration": config.duration_hours,
        "Cutoff": config.cutoff_hours,
        "AllowUnassociatedTargets": False,
    }


def target_spec(config: MaintenanceWindowConfig) -> dict[str, Any]:
    """RegisterTargetWithMaintenanceWindow parameters (without the window id)."""
    if config.target_tag is not None:
        return {
            "ResourceType": "INSTANCE",
            "Targets": [
                {"Key": f"tag:{config.target_tag.key}", "Values": list(config.target_tag.values)}
            ],
        }
    return {
        "ResourceType": "RESOURCE_GROUP",
        "Targets": [{"Key": "resource-groups:Name", "Values": [str(config.resource_group)]}],
    }


def task_spec(
    config: MaintenanceWindowConfig,
    *,
    models: list[str],
    data_uris: list[str],
    slot: int,
    document: str,
    bucket: str,
    log_group: str,
    notify_topic_arn: str | None,
    service_role_arn: str,
    guard_alarm: str = "",
) -> dict[str, Any]:
    """RegisterTaskWithMaintenanceWindow parameters (without the window and target ids) of the
    task in position ``slot`` (its priority), which retrains ``models`` in order."""
    names, uris = " ".join(models), " ".join(data_uris)
    for parameter, value in (("models", names), ("dataUris", uris)):
        if len(value) > LIST_MAX_CHARS:
            raise ValueError(
                f"maintenanceWindow: task {slot + 1}'s {parameter} parameter would be {len(value)} "
                f"characters (the document allows {LIST_MAX_CHARS}): retrain fewer models in the "
                "window (maintenanceWindow.models) or use shorter trainingData URIs"
            )
    label = task_label(models)
    run_command: dict[str, Any] = {
        "Comment": f"trainops: {label}",
        "DocumentVersion": "$DEFAULT",
        "TimeoutSeconds": 600,  # delivery: a host that does not pick it up in 10 minutes is skipped
        "OutputS3BucketName": bucket,
        "OutputS3KeyPrefix": f"{OUTPUT_PREFIX}/{models[0] if len(models) == 1 else label}",
        "CloudWatchOutputConfig": {
            "CloudWatchLogGroupName": log_group,
            "CloudWatchOutputEnabled": True,
        },
        "Parameters": {
            "models": [names],
            "dataUris": [uris],
            "extraArgs": [config.extra_args],
            "guardAlarm": [guard_alarm],
            # each model gets commandTimeoutMinutes, within Run Command's 48 hours
            "executionTimeout": [
                str(min(config.command_timeout_minutes * 60 * len(models), MAX_COMMAND_SECONDS))
            ],
        },
        "ServiceRoleArn": service_role_arn,
    }
    if notify_topic_arn:
        run_command["NotificationConfig"] = {
            "NotificationArn": notify_topic_arn,
            "NotificationEvents": list(NOTIFY_ON),
            "NotificationType": "Command",
        }
    return {
        "Name": label[:128],
        "Description": f"trainops: retrain {', '.join(models)}"[:128],
        "TaskType": "RUN_COMMAND",
        "TaskArn": document,
        "ServiceRoleArn": service_role_arn,
        "Priority": slot + 1,
        "MaxConcurrency": config.max_concurrency,
        "MaxErrors": config.max_errors,
        "CutoffBehavior": "CONTINUE_TASK",
        "TaskInvocationParameters": {"RunCommand": run_command},
    }


def run_command_pattern(document_name: str) -> dict[str, Any]:
    """Final Run Command statuses of this stack's retraining document."""
    return {
        "source": ["aws.ssm"],
        "detail-type": [RUN_COMMAND_EVENT],
        "detail": {
            "document-name": [document_name],
            "status": ["Success", "Failed", "TimedOut", "Cancelled"],
        },
    }


def guard_alarm_pattern(alarm_arn: str) -> dict[str, Any]:
    """The platform-critical alarm going into ALARM."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }
