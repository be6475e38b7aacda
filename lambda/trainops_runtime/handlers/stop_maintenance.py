"""stop_maintenance: stops the maintenance window's retraining when the platform is critical.

Systems Manager can stop a window task when a CloudWatch alarm fires (the task's
`AlarmConfiguration`), but neither Pulumi provider exposes that setting. This function does the
same job: an EventBridge rule on the platform-critical alarm's change to ALARM invokes it, and it

* cancels every pending or running execution of the window, so tasks that have not started
  never start (`CancelMaintenanceWindowExecution`);
* cancels the Run Command commands those executions have in flight, so retraining already
  running on the hosts stops (`CancelCommand`; the SSM agent ends the script).

The commands then report `Cancelled`, which the event store records in the model's history.
Anything it cannot cancel raises, so Lambda retries and then parks the event in the failure
queue, where an alarm points at it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import observability, settings
from trainops_runtime.adapters import clients

logger = Logger(service=observability.SERVICE)
metrics = Metrics(namespace=observability.METRICS_NAMESPACE, service=observability.SERVICE)

WINDOW_ENV = settings.MAINTENANCE_WINDOW_ID.name
ALARM_ENV = settings.GUARD_ALARM_NAME.name
ALARM_EVENT = "CloudWatch Alarm State Change"
ACTIVE = ("PENDING", "IN_PROGRESS")
# How far back to look for executions still running. A window is open for at most 24 hours, but
# its tasks run on past the window's end (CONTINUE_TASK) for as long as their commands may run
# (up to 48 hours each, model after model): 30 days covers that with room to spare, and a window
# has only one execution per schedule tick to page through.
LOOKBACK = timedelta(days=30)


class UnexpectedEvent(ValueError):
    """Not the guard alarm's state change: a wiring bug, so it is raised, not ignored."""


@dataclass
class Stopped:
    executions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def alarm_state(event: Any, alarm_name: str) -> str:
    """The new state of ``alarm_name`` in a CloudWatch alarm state-change event."""
    if not isinstance(event, dict) or event.get("detail-type") != ALARM_EVENT:
        raise UnexpectedEvent(f"not a {ALARM_EVENT} event: {str(event)[:200]}")
    detail = event.get("detail") or {}
    if detail.get("alarmName") != alarm_name:
        raise UnexpectedEvent(f"state change of {detail.get('alarmName')!r}, not {alarm_name!r}")
    state = (detail.get("state") or {}).get("value")
    if not isinstance(state, str):
        raise UnexpectedEvent("alarm state change without detail.state.value")
    return state


def _paged(operation: str, key: str, **request: Any) -> list[dict[str, Any]]:
    ssm = clients.client("ssm")
    found: list[dict[str, Any]] = []
    while True:
        page = getattr(ssm, operation)(**request)
        found += page.get(key, [])
        if not page.get("NextToken"):
            return found
        request["NextToken"] = page["NextToken"]


def stop_window(window_id: str, now: datetime) -> Stopped:
    """Cancels the window's active executions and the commands they are running."""
    ssm = clients.client("ssm")
    stopped = Stopped()
    executions = _paged(
        "describe_maintenance_window_executions",
        "WindowExecutions",
        WindowId=window_id,
        Filters=[
            {"Key": "ExecutedAfter", "Values": [(now - LOOKBACK).strftime("%Y-%m-%dT%H:%M:%SZ")]}
        ],
    )
    for execution in executions:
        if execution.get("Status") not in ACTIVE:
            continue
        execution_id = execution["WindowExecutionId"]
        # What is in flight is read before the execution is cancelled (statuses are checked
        # here rather than filtered server-side, so nothing depends on filter-key spelling).
        commands = [
            invocation["ExecutionId"]  # the Run Command command id
            for task in _paged(
                "describe_maintenance_window_execution_tasks",
                "WindowExecutionTaskIdentities",
                WindowExecutionId=execution_id,
            )
            if task.get("Status") in ACTIVE
            for invocation in _paged(
                "describe_maintenance_window_execution_task_invocations",
                "WindowExecutionTaskInvocationIdentities",
                WindowExecutionId=execution_id,
                TaskId=task["TaskExecutionId"],
            )
            if invocation.get("Status") in ACTIVE and invocation.get("ExecutionId")
        ]
        ssm.cancel_maintenance_window_execution(WindowExecutionId=execution_id)
        stopped.executions.append(execution_id)
        for command_id in commands:
            ssm.cancel_command(CommandId=command_id)
            stopped.commands.append(command_id)
    return stopped


def run(event: Any, now: datetime | None = None) -> dict[str, Any]:
    try:
        window_id, alarm_name = os.environ[WINDOW_ENV], os.environ[ALARM_ENV]
    except KeyError as error:
        raise RuntimeError(f"stop_maintenance is misconfigured: {error!r} is not set") from None
    state = alarm_state(event, alarm_name)
    if state != "ALARM":
        logger.info("guard alarm left ALARM; nothing to stop", extra={"state": state})
        return {"state": state, "stoppedExecutions": [], "cancelledCommands": []}
    stopped = stop_window(window_id, now or datetime.now(UTC))
    observability.tag_stack(metrics)
    metrics.add_metric(
        name="MaintenanceRunsStopped", unit=MetricUnit.Count, value=len(stopped.commands)
    )
    logger.warning(
        "platform critical: maintenance-window retraining stopped",
        extra={"executions": stopped.executions, "commands": stopped.commands},
    )
    return {
        "state": state,
        "stoppedExecutions": stopped.executions,
        "cancelledCommands": stopped.commands,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
