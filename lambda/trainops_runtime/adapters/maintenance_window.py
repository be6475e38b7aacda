"""Systems Manager maintenance windows: cancelling a window's active executions and the Run
Command commands they have in flight."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from trainops_runtime.adapters import clients

ACTIVE = ("PENDING", "IN_PROGRESS")
# How far back to look for executions still running. A window is open for at most 24 hours, but
# its tasks run on past the window's end (CONTINUE_TASK) for as long as their commands may run
# (up to 48 hours each, model after model): 30 days covers that with room to spare, and a window
# has only one execution per schedule tick to page through.
LOOKBACK = timedelta(days=30)


@dataclass
class Stopped:
    executions: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


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
