"""The fold from stored events to the read model: one pure function, shared by the projector
Lambda and `trainops replay`, so both build identical state from the same events.

Per model (`model#<name>`): the last request, the running execution, the last success and
failure, the last maintenance-window run on the team's own hosts, the last approval-driven
deployment (once the model has one), and counts (among them the quality signals and what became
of them, the evaluation gate's verdicts, approvals and deployments by outcome). Per run
(`run#<execution id>`): its request, status and timeline.

Counting rule (no double counts): `succeeded`, `failed` and `stopped` come from SageMaker's own
pipeline status events; domain events (`TrainingSucceeded`, `TrainingFailed`, ...) add details
such as the request and reason, and count what only trainops knows (requested, skipped, ...).

Arrival order is not event order (a re-published start after a worker crash, a recorder retry,
an archive replay: EventBridge keeps no order), so the fold does not trust it: an end state is
final (a late start or `Executing` neither revives a run nor makes an ended execution the
model's running one, for the last `RECENT_ENDS` ended executions the model remembers under
`ordering`); the running execution is the latest started of those not ended (`ordering` keeps
each with its start time); the last request, success, failure and maintenance run are the
newest by event time, records of the same time ordered by their content, so that no choice
depends on which arrived last. A run's status only moves forward (`Executing` -> `Stopping` ->
an end state).
"""

from __future__ import annotations

import copy
import functools
import json
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
    # quality-triggered retraining: signals, and what became of them
    "QualityDegraded": "qualityDegraded",
    "RetrainRequested": "retrainRequested",
    "RetrainSuppressed": "retrainSuppressed",
    # the pipeline's evaluation gate
    "GatePassed": "gatePassed",
    "GateFailed": "gateFailed",
    # approval-driven deployment (ModelDeployed counts by its data.status)
    "ModelApproved": "modelApproved",
    "DeploymentRolledBack": "deploymentsRolledBack",
}
MODEL_DEPLOYED, DEPLOYMENT_ROLLED_BACK = "ModelDeployed", "DeploymentRolledBack"
DEPLOYMENT_COUNTERS = {
    "started": "deploymentsStarted",
    "completed": "deploymentsCompleted",
    "failed": "deploymentsFailed",
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
    """A model no event has reached yet: what its events will tell starts unknown (None)."""
    learned = (
        "lastEventAt",
        "lastRequest",
        "runningExecution",
        "lastSuccess",
        "lastFailure",
        "lastMaintenanceRun",
    )
    return {
        "model": model,
        "lastVersion": 0,
        **dict.fromkeys(learned),
        "counts": {},
        "ordering": {"ended": [], "running": {}},
    }


def initial_run_state(run: str) -> dict[str, Any]:
    """A run (one request's attempts) no event has reached yet."""
    learned = ("executionArn", "model", "requestId", "attempt", "status")
    return {"run": run, "lastVersion": 0, **dict.fromkeys(learned), "timeline": []}


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


EARLIEST = datetime.min.replace(tzinfo=UTC)


def _time_key(at: Any) -> tuple[datetime, str]:
    """How event times order: by time (an unreadable one first), then by text, so that two
    forms of one moment (`...20Z`, `...20.000000+00:00`) still order the same way always."""
    return (moment(at) or EARLIEST, at if isinstance(at, str) else "")


def _content(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def _not_older(offered: Any, held: Any) -> bool:
    """Whether an event at ``offered`` may replace what one at ``held`` wrote."""
    return held is None or _time_key(offered) >= _time_key(held)


def _newest(state: dict[str, Any], field: str, record: dict[str, Any]) -> None:
    """Keeps in ``field`` whichever of ``record`` and what is there is the later."""
    current = state.get(field)
    if current is None:
        state[field] = record
        return
    offered, held = _time_key(record.get("at")), _time_key(current.get("at"))
    # records of the same time order by their content (rare, so compared only then): which
    # one a fold keeps never depends on which arrived last
    if offered > held or (offered == held and _content(record) >= _content(current)):
        state[field] = record


def _ordering(state: dict[str, Any]) -> dict[str, Any]:
    """The fold's own bookkeeping of execution order: executions started and not ended (with
    their start time), and the last ended ones. A read model written before it existed has
    none: its running execution is taken over, with no known start time."""
    ordering = state.get("ordering")
    if ordering is None or "running" not in ordering:
        running = state.get("runningExecution")
        ordering = {
            "ended": (ordering or {}).get("ended", []),
            "running": {running: None} if running else {},
        }
        state["ordering"] = ordering
    return ordering


def _elect(state: dict[str, Any], ordering: dict[str, Any]) -> None:
    """The model's running execution: the latest started of those not ended (ties by ARN).
    Executions of one model overlap only when one was started outside trainops."""
    running = ordering["running"]
    if len(running) > RECENT_ENDS:  # bounded: drop the oldest starts
        keep = sorted(running, key=lambda e: (_time_key(running[e]), e))[-RECENT_ENDS:]
        ordering["running"] = running = {e: running[e] for e in keep}
    state["runningExecution"] = (
        max(running, key=lambda e: (_time_key(running[e]), e)) if running else None
    )


def _end(state: dict[str, Any], execution: Any) -> None:
    ordering = _ordering(state)
    ended = [e for e in ordering["ended"] if e != execution]
    ordering["ended"] = [*ended, execution][-RECENT_ENDS:]
    ordering["running"].pop(execution, None)
    _elect(state, ordering)


def _start(state: dict[str, Any], execution: Any, at: Any) -> None:
    """``execution`` runs (from its earliest start signal) unless it has already ended."""
    ordering = _ordering(state)
    if not execution or execution in ordering["ended"]:
        return
    running = ordering["running"]
    if execution not in running or not _not_older(at, running[execution]):
        running[execution] = at
    _elect(state, ordering)


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


def _deployment(state: dict[str, Any], kind: str, payload: dict[str, Any], at: Any) -> None:
    """A step of an approval-driven deployment: counted, and the model's `lastDeployment` (the
    newest deployment by time; of one deployment, its end, which is final)."""
    raw = payload.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    status = "rolledBack" if kind == DEPLOYMENT_ROLLED_BACK else data.get("status")
    if kind == MODEL_DEPLOYED and status in DEPLOYMENT_COUNTERS:
        _count(state, DEPLOYMENT_COUNTERS[status])
    record = {
        "at": at,
        "requestId": payload.get("requestId"),
        "packageVersion": data.get("packageVersion"),
        "endpointConfig": data.get("endpointConfig"),
        "status": status,
    }
    current: dict[str, Any] = state.get("lastDeployment") or {}
    same = current.get("requestId") == record["requestId"]
    if current and same and (current.get("status") == "started") != (status == "started"):
        if status != "started":
            state["lastDeployment"] = record  # the end of the deployment, whenever it came
        return
    _newest(state, "lastDeployment", record)


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
    elif kind in (MODEL_DEPLOYED, DEPLOYMENT_ROLLED_BACK):
        _deployment(state, kind, payload, at)
    state["lastVersion"] = event["version"]
    if _not_older(at, state["lastEventAt"]):
        state["lastEventAt"] = at  # the newest event time, not the last to arrive
    return state


def _rank(status: str | None) -> int:
    """How far along a run with ``status`` is; a status never moves back."""
    # End states rank above the rest, and among themselves too: SageMaker ends a run once, but
    # should two ends ever be stored, the fold still keeps the same one in any arrival order.
    return {None: 0, "Executing": 1, "Stopping": 2, "Stopped": 3, "Failed": 4, "Succeeded": 5}.get(
        status, 1
    )


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
