"""The fold from stored events to the read model: one pure function, shared by the projector
Lambda and `trainops replay`, so both build identical state from the same events.

Per model (`model#<name>`): the last request, the running execution, the last success and
failure, the last maintenance-window run on the team's own hosts, and counts. Per run
(`run#<execution id>`): its request, status and timeline.

Counting rule (no double counts): `succeeded`, `failed` and `stopped` come from SageMaker's own
pipeline status events; domain events (`TrainingSucceeded`, `TrainingFailed`, ...) add details
such as the request and reason, and count what only trainops knows (requested, skipped, ...).

Arrival order is not event order (a re-published start after a worker crash, a recorder retry,
an archive replay: EventBridge keeps no order), so the fold does not trust it: an end state is
final (a late start or `Executing` neither revives a run nor makes an ended execution the
model's running one; the model remembers its last `RECENT_ENDS` ended executions for this,
under `ordering`), the running execution is the latest started one that has not ended, and the
last request, success, failure and maintenance run are the newest by event time. A run's status
only moves forward (`Executing` -> `Stopping` -> an end state).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable
from datetime import UTC, datetime
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
END_STATES = frozenset(STATUS_COUNTERS)
# How many ended executions a model remembers (`ordering.ended`), so that a late start event
# cannot revive one.
RECENT_ENDS = 20
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
        "ordering": {"ended": [], "runningSince": None},
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


def moment(at: Any) -> datetime | None:
    """An event time as an aware datetime (None when it is not one): EventBridge writes
    `...Z`, domain events an ISO offset; strings of the two forms do not compare as text."""
    return _parse_time(at) if isinstance(at, str) else None


@functools.lru_cache(maxsize=1024)
def _parse_time(at: str) -> datetime | None:
    """Cached: a fold compares each event's time with the few it keeps, again and again."""
    try:
        parsed = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _not_older(offered: Any, held: Any) -> bool:
    """Whether an event at ``offered`` may replace what one at ``held`` wrote: yes unless it
    happened earlier (or has no readable time while the held one has)."""
    held_at, offered_at = moment(held), moment(offered)
    return held_at is None or (offered_at is not None and offered_at >= held_at)


def _newest(state: dict[str, Any], field: str, record: dict[str, Any]) -> None:
    """Keeps ``record`` in ``field`` unless what is there happened later."""
    current = state.get(field)
    if current is None or _not_older(record.get("at"), current.get("at")):
        state[field] = record


def _ordering(state: dict[str, Any]) -> dict[str, Any]:
    """The fold's own bookkeeping of execution order (read models written before it existed
    have none)."""
    return state.setdefault("ordering", {"ended": [], "runningSince": None})


def _end(state: dict[str, Any], execution: Any) -> None:
    ordering = _ordering(state)
    ended = [e for e in ordering["ended"] if e != execution]
    ordering["ended"] = [*ended, execution][-RECENT_ENDS:]
    if state["runningExecution"] == execution:
        state["runningExecution"] = None
        ordering["runningSince"] = None


def _start(state: dict[str, Any], execution: Any, at: Any) -> None:
    """``execution`` becomes the running one unless it has ended or a later one started."""
    ordering = _ordering(state)
    if not execution or execution in ordering["ended"]:
        return
    if state["runningExecution"] == execution:
        return
    if state["runningExecution"] is None or _not_older(at, ordering["runningSince"]):
        state["runningExecution"] = execution
        ordering["runningSince"] = at


def fold_model(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """The model state after ``event`` (a stored event as `event_store.plain` returns it)."""
    return _apply_model(copy.deepcopy(state), event)


def _requested(state: dict[str, Any], payload: dict[str, Any], at: Any) -> None:
    record = {
        "requestId": payload.get("requestId"),
        "attempt": payload.get("attempt"),
        "trigger": payload.get("trigger"),
        "at": at,
    }
    _newest(state, "lastRequest", record)


def _succeeded(state: dict[str, Any], execution: Any, request_id: Any, at: Any) -> None:
    """A success, told by SageMaker (no request id) or by trainops (with it): one record per
    execution, the request id filled in by whichever brings it, at the earlier of the times."""
    current = state["lastSuccess"] or {}
    if execution and current.get("executionArn") == execution:
        if request_id:
            current["requestId"] = request_id
        if not _not_older(at, current.get("at")):
            current["at"] = at  # the success happened when it was first told (SageMaker's time)
        return
    _newest(state, "lastSuccess", {"at": at, "executionArn": execution, "requestId": request_id})


def _failed(state: dict[str, Any], kind: str, payload: dict[str, Any], at: Any) -> None:
    record = {
        "at": at,
        "executionArn": payload.get("executionArn"),
        "requestId": payload.get("requestId"),
        "reason": payload.get("reason"),
        "final": kind == "TrainingFailed",
    }
    _newest(state, "lastFailure", record)


def _pipeline_status(state: dict[str, Any], payload: dict[str, Any], at: Any) -> None:
    status = payload.get("currentPipelineExecutionStatus")
    execution = payload.get("pipelineExecutionArn")
    if status == "Executing":
        _start(state, execution, at)
    elif status in STATUS_COUNTERS:
        _count(state, STATUS_COUNTERS[status])
        _end(state, execution)
        if status == "Succeeded":
            _succeeded(state, execution, None, at)


def _maintenance(state: dict[str, Any], payload: dict[str, Any], at: Any) -> None:
    status = payload.get("status")
    if status in RUN_COMMAND_COUNTERS:
        _count(state, RUN_COMMAND_COUNTERS[status])
        record = {"at": at, "commandId": payload.get("command-id"), "status": status}
        _newest(state, "lastMaintenanceRun", record)


def _apply_model(state: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """Applies ``event`` to ``state`` in place (callers own the state)."""
    if event["version"] <= state["lastVersion"]:
        return state  # already applied
    kind, payload, at = event["type"], event["payload"], event["time"]
    if kind in DOMAIN_COUNTERS:
        _count(state, DOMAIN_COUNTERS[kind])
    if kind == "TrainingRequested":
        _requested(state, payload, at)
    elif kind == "TrainingStarted":
        _start(state, payload.get("executionArn"), at)
    elif kind == "TrainingSucceeded":
        _succeeded(state, payload.get("executionArn"), payload.get("requestId"), at)
    elif kind in ("TrainingFailed", "TrainingRequeued"):
        _failed(state, kind, payload, at)
    elif kind == PIPELINE_STATUS:
        _pipeline_status(state, payload, at)
    elif kind == RUN_COMMAND_STATUS:
        _maintenance(state, payload, at)
    state["lastVersion"] = event["version"]
    if _not_older(at, state["lastEventAt"]):
        state["lastEventAt"] = at  # the newest event time, not the last to arrive
    return state


def _rank(status: str | None) -> int:
    """How far along a run with ``status`` is; a status never moves back."""
    if status in END_STATES:
        return 3
    return {None: 0, "Executing": 1, "Stopping": 2}.get(status, 1)


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
    if kind == PIPELINE_STATUS and status and _rank(status) > _rank(state["status"]):
        state["status"] = status  # forward only: an end state is final, whatever arrives after
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
