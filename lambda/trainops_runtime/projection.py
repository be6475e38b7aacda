"""The fold from stored events to the read model: one pure function, shared by the projector
Lambda and `trainops replay`, so both build identical state from the same events.

Per model (`model#<name>`): the last request, the running execution, the last success and
failure, the last maintenance-window run on the team's own hosts, and counts. Per run
(`run#<execution id>`): its request, status and timeline.

Counting rule (no double counts): `succeeded`, `failed` and `stopped` come from SageMaker's own
pipeline status events; domain events (`TrainingSucceeded`, `TrainingFailed`, ...) add details
such as the request and reason, and count what only trainops knows (requested, skipped, ...).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

PIPELINE_STATUS = "SageMaker Model Building Pipeline Execution Status Change"
TRAINING_JOB_STATE = "SageMaker Training Job State Change"
RUN_COMMAND_STATUS = "EC2 Command Status-change Notification"

DOMAIN_COUNTERS = {
    "TrainingRequested": "requested",
    "TrainingStarted": "started",
    "TrainingSkipped": "skipped",
    "TrainingDeferred": "deferred",
    "TrainingRejected": "rejected",
    "TrainingRequeued": "requeued",
    "TrainingFailed": "gaveUp",
}
STATUS_COUNTERS = {"Succeeded": "succeeded", "Failed": "failed", "Stopped": "stopped"}
# Final Run Command statuses of a maintenance-window retraining on the model's own hosts.
RUN_COMMAND_COUNTERS = {
    "Success": "maintenanceSucceeded",
    "Failed": "maintenanceFailed",
    "TimedOut": "maintenanceFailed",
    "Cancelled": "maintenanceFailed",
}


def initial_model_state(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "lastVersion": 0,
        "lastEventAt": None,
        "lastRequest": None,
        "runningExecution": None,
        "lastSuccess": None,
        "lastFailure": None,
        "lastMaintenanceRun": None,
        "counts": {},
    }


def initial_run_state(run: str) -> dict[str, Any]:
    return {
        "run": run,
        "lastVersion": 0,
        "executionArn": None,
        "model": None,
        "requestId": None,
        "attempt": None,
        "status": None,
        "timeline": [],
    }


def _count(state: dict[str, Any], counter: str) -> None:
    state["counts"][counter] = state["counts"].get(counter, 0) + 1


def fold_model(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The model state after ``event`` (a stored event as `event_store.plain` returns it)."""
    return _apply_model(copy.deepcopy(state), event)


def _apply_model(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Applies ``event`` to ``state`` in place (callers own the state)."""
    if event["version"] <= state["lastVersion"]:
        return state  # already applied
    kind, payload, at = event["type"], event["payload"], event["time"]
    if kind in DOMAIN_COUNTERS:
        _count(state, DOMAIN_COUNTERS[kind])
    if kind == "TrainingRequested":
        state["lastRequest"] = {
            "requestId": payload.get("requestId"),
            "attempt": payload.get("attempt"),
            "trigger": payload.get("trigger"),
            "at": at,
        }
    elif kind == "TrainingStarted":
        state["runningExecution"] = payload.get("executionArn")
    elif kind == "TrainingSucceeded":
        state["lastSuccess"] = {
            "at": at,
            "executionArn": payload.get("executionArn"),
            "requestId": payload.get("requestId"),
        }
    elif kind in ("TrainingFailed", "TrainingRequeued"):
        state["lastFailure"] = {
            "at": at,
            "executionArn": payload.get("executionArn"),
            "requestId": payload.get("requestId"),
            "reason": payload.get("reason"),
            "final": kind == "TrainingFailed",
        }
    elif kind == PIPELINE_STATUS:
        status = payload.get("currentPipelineExecutionStatus")
        execution = payload.get("pipelineExecutionArn")
        if status == "Executing":
            state["runningExecution"] = execution
        elif status in STATUS_COUNTERS:
            _count(state, STATUS_COUNTERS[status])
            if state["runningExecution"] == execution:
                state["runningExecution"] = None
            if (
                status == "Succeeded"
                and (state["lastSuccess"] or {}).get("executionArn") != execution
            ):
                state["lastSuccess"] = {"at": at, "executionArn": execution, "requestId": None}
    elif kind == RUN_COMMAND_STATUS and payload.get("status") in RUN_COMMAND_COUNTERS:
        _count(state, RUN_COMMAND_COUNTERS[payload["status"]])
        state["lastMaintenanceRun"] = {
            "at": at,
            "commandId": payload.get("command-id"),
            "status": payload["status"],
        }
    state["lastVersion"] = event["version"]
    state["lastEventAt"] = at
    return state


def fold_run(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The run (pipeline execution) state after ``event``."""
    return _apply_run(copy.deepcopy(state), event)


def _apply_run(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    if event["version"] <= state["lastVersion"]:
        return state
    kind, payload = event["type"], event["payload"]
    state["model"] = state["model"] or event.get("model")
    state["executionArn"] = (
        state["executionArn"] or payload.get("executionArn") or payload.get("pipelineExecutionArn")
    )
    if payload.get("requestId"):
        state["requestId"] = payload["requestId"]
        state["attempt"] = payload.get("attempt")
    status = payload.get("currentPipelineExecutionStatus")
    if kind == PIPELINE_STATUS and status:
        state["status"] = status
    elif kind == "TrainingStarted" and state["status"] is None:
        state["status"] = "Executing"
    entry = {"version": event["version"], "type": kind, "at": event["time"]}
    if status:
        entry["status"] = status
    if payload.get("reason"):
        entry["reason"] = payload["reason"]
    state["timeline"].append(entry)
    state["lastVersion"] = event["version"]
    return state


def fold(
    stream: str, events: Iterable[dict[str, Any]], state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Folds ``events`` (in version order) of ``stream`` onto ``state`` (or the initial state)."""
    kind, _, name = stream.partition("#")
    if kind == "model":
        current = copy.deepcopy(state) if state else initial_model_state(name)
        for event in events:
            current = _apply_model(current, event)
        return current
    if kind == "run":
        current = copy.deepcopy(state) if state else initial_run_state(name)
        for event in events:
            current = _apply_run(current, event)
        return current
    raise ValueError(f"no projection for stream {stream!r}")


def projected(stream: str) -> bool:
    """Streams the read model keeps (models and runs)."""
    return stream.startswith(("model#", "run#"))
