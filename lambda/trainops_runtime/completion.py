"""What happens when one of the platform's pipeline executions ends: the outcome handler's rules.

`complete` reads the status change, rebuilds the request the execution ran for from its
pipeline parameters, frees its training slot, and then records success, a deliberate stop, a
re-queue of a retryable failure with attempts left, or a final failure with an alert. It calls
AWS only through `CompletionPorts`, so the rules run in unit tests with fakes; the handler
(`handlers/training_outcome.py`) wires SageMaker, DynamoDB, SQS, EventBridge and SNS behind them
and makes each event count once.

A model with an evaluation gate (`trainops:models.<name>.evaluation`) ends a run whose model
missed the threshold in the gate's Fail step, whose message (`pipeline_contract.
GATE_FAILED_MARKER` form) reaches `failure_reason` as that step's failure reason. Such a failure
is final: `GateFailed` (data: metric, value, threshold) and then `TrainingFailed` are recorded
(the latter so that every consumer of run outcomes sees the run end as today), never re-queued,
and `critical` is alerted with the metric, the value and the threshold. A gated model's
successful run passed the gate: `GatePassed` (data: metric, threshold, comparison; the measured
value is in the report, not in the status change) comes before `TrainingSucceeded`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trainops_runtime import domain_events as events
from trainops_runtime import pipeline_contract as contract
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import is_retryable_failure
from trainops_runtime.outcomes import RunOutcome
from trainops_runtime.training_request import TrainingRequest, request_trigger_of

EVENT_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"


class UnexpectedEvent(ValueError):
    """Not an execution status change of this stack's pipelines: the rule is wrong; fail loudly."""


def _pipeline_name(pipeline_arn: str) -> str:
    return pipeline_arn.rsplit(":pipeline/", 1)[-1].split("/", 1)[0]


def request_from_parameters(
    model: str,
    entry: CatalogEntry,
    parameters: dict[str, str],
    execution_arn: str,
    display_name: str | None = None,
) -> TrainingRequest:
    """The request an execution ran for, rebuilt from its pipeline parameters (and its trigger
    from the display name, so a re-queued quality retrain stays one)."""
    request_id = parameters.get(contract.REQUEST_ID, "manual")
    if request_id == "manual":  # started outside trainops (console, SDK): one id per execution
        request_id = f"manual:{execution_arn.rsplit('/', 1)[-1]}"
    hyperparameters = {
        name: parameters[contract.hyperparameter_parameter(name)]
        for name in entry.hyperparameters
        if contract.hyperparameter_parameter(name) in parameters
    }
    data_uri = parameters.get(contract.TRAINING_DATA_URI)
    return TrainingRequest(
        model=model,
        request_id=request_id,
        attempt=int(parameters.get(contract.ATTEMPT, "1")),
        data_uri=data_uri if data_uri and data_uri != entry.training_data else None,
        hyperparameters=hyperparameters,
        requested_by="training_outcome",
        trigger=request_trigger_of(display_name),
    )


def _event(
    kind: str, request: TrainingRequest, execution_arn: str, at: datetime, **fields: Any
) -> events.DomainEvent:
    """A domain event about the ended execution, dated when SageMaker ended it (the read model
    orders by event time; a delayed or retried outcome must not look newer than it is)."""
    return events.about(
        kind, request, "pipeline", occurred_at=at, execution_arn=execution_arn, **fields
    )


def _event_time(event: dict[str, Any]) -> datetime:
    """The status change's time (EventBridge's `time`), or now if it has none readable."""
    try:
        at = datetime.fromisoformat(str(event.get("time", "")).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Gate:
    """A model's evaluation gate, as the model catalog describes it."""

    metric: str
    threshold: float
    comparison: str = "GreaterThanOrEqualTo"


def gates_in_catalog(raw: Mapping[str, Any]) -> dict[str, Gate]:
    """The gated models of a model catalog document (model -> entry with `evaluation`)."""
    gates: dict[str, Gate] = {}
    for model, entry in raw.items():
        gate = entry.get("evaluation") if isinstance(entry, Mapping) else None
        if isinstance(gate, Mapping) and gate.get("metric"):
            gates[model] = Gate(
                metric=str(gate["metric"]),
                threshold=float(gate["threshold"]),
                comparison=str(gate.get("comparison") or "GreaterThanOrEqualTo"),
            )
    return gates


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


@dataclass(frozen=True)
class GateFailure:
    """What the gate's Fail step reported: the metric, its value and the bound it missed."""

    message: str
    metric: str
    value: float | str
    threshold: float | str
    approved: float | str | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
        }
        if self.approved is not None:
            data["approved"] = self.approved
        return data


_GATE_FAILURE = re.compile(
    re.escape(contract.GATE_FAILED_MARKER)
    + r" metric=(?P<metric>[^\s;]+) value=(?P<value>[^\s;]*) threshold=(?P<threshold>[^\s;]+)"
    r"(?: approved=(?P<approved>[^\s;]+))?"
)


def gate_failure(reason: str) -> GateFailure | None:
    """The gate failure a failure reason reports, if it reports one (its fixed form may sit
    among other steps' reasons: `failure_reason` joins them)."""
    found = _GATE_FAILURE.search(reason)
    if found is None:
        return None
    approved = found["approved"]
    return GateFailure(
        message=found[0],
        metric=found["metric"],
        value=_number(found["value"]),
        threshold=_number(found["threshold"]),
        approved=_number(approved) if approved is not None else None,
    )


def _no_gate(model: str) -> Gate | None:
    return None


@dataclass(frozen=True)
class CompletionPorts:
    """What the rules need from the world."""

    parameters: Callable[[str], dict[str, str]]  # an execution's pipeline parameters
    failure_reason: Callable[[str], str]  # why an execution failed (its steps' reasons)
    free_slot: Callable[[TrainingRequest, str], None]  # the request's (or execution's) slot
    # sends the retry to the training queue; None: no queue to retry through (failures are final)
    requeue: Callable[[TrainingRequest], object] | None
    publish: Callable[..., object]
    notify_success: Callable[[str, str], object]  # subject, message (nothing when no topic)
    notify_critical: Callable[[str, str], object]
    # the model's evaluation gate (None: it has none)
    evaluation_gate: Callable[[str], Gate | None] = _no_gate


def complete(
    event: dict[str, Any], catalog: ModelCatalog, ports: CompletionPorts, *, max_attempts: int
) -> dict[str, Any]:
    """Handles one status change; returns what became of the run (`outcome`, `model`, ...)."""
    if event.get("detail-type") != EVENT_DETAIL_TYPE:
        raise UnexpectedEvent(
            f"not a pipeline execution status change: {event.get('detail-type')!r}"
        )
    detail = event.get("detail") or {}
    try:
        status = detail["currentPipelineExecutionStatus"]
        execution_arn = detail["pipelineExecutionArn"]
        pipeline_arn = detail["pipelineArn"]
    except KeyError as missing:
        raise UnexpectedEvent(f"status change without {missing}") from None
    model = catalog.by_pipeline(_pipeline_name(pipeline_arn))
    if model is None:
        raise UnexpectedEvent(f"{pipeline_arn} is not a pipeline of this stack")
    request = request_from_parameters(
        model,
        catalog.get(model),
        ports.parameters(execution_arn),
        execution_arn,
        detail.get("pipelineExecutionDisplayName"),
    )
    if status in contract.END_STATES:
        # before anything is re-queued, so the retry finds the model's slot free
        ports.free_slot(request, execution_arn)
    ended_at = _event_time(event)

    def record(kind: str, **fields: Any) -> None:
        ports.publish(_event(kind, request, execution_arn, ended_at, **fields))

    if status == "Succeeded":
        gate = ports.evaluation_gate(model)
        if gate is not None:
            record(
                events.GATE_PASSED,
                data={
                    "metric": gate.metric,
                    "threshold": gate.threshold,
                    "comparison": gate.comparison,
                },
            )
        passed = (
            f"\nIt passed its evaluation gate ({gate.metric} {gate.comparison} {gate.threshold})."
            if gate
            else ""
        )
        record(events.TRAINING_SUCCEEDED)
        ports.notify_success(
            f"trainops: {model} trained",
            f"Training of {model} succeeded (request {request.request_id}, "
            f"attempt {request.attempt}).{passed}\nExecution: {execution_arn}",
        )
        result: dict[str, Any] = {"outcome": RunOutcome.SUCCEEDED, "model": model}
        if gate is not None:
            result["gate"] = "passed"
        return result
    if status == "Stopped":
        record(events.TRAINING_FAILED, reason="stopped", data={"retryable": False, "stopped": True})
        return {"outcome": RunOutcome.STOPPED, "model": model}
    if status != "Failed":
        raise UnexpectedEvent(f"status {status!r} is not an end state")

    reason = ports.failure_reason(execution_arn)
    failure = gate_failure(reason)
    if failure is not None:
        return _gate_failed(
            failure, request, reason=reason, execution_arn=execution_arn, ports=ports, record=record
        )
    retryable = is_retryable_failure(reason)
    if retryable and request.attempt < max_attempts and ports.requeue is not None:
        retry = request.next_attempt(
            reason=f"retry after attempt {request.attempt} failed: {reason}"
        )
        ports.requeue(retry)
        record(events.TRAINING_REQUEUED, reason=reason, data={"nextAttempt": retry.attempt})
        return {"outcome": RunOutcome.REQUEUED, "model": model, "attempt": retry.attempt}

    record(
        events.TRAINING_FAILED,
        reason=reason,
        data={"retryable": retryable, "attempts": request.attempt},
    )
    why = "attempts exhausted" if retryable else "not retryable"
    ports.notify_critical(
        f"trainops: training of {model} failed ({why})",
        f"Training of {model} failed after attempt {request.attempt} of {max_attempts} ({why}).\n"
        f"Request: {request.request_id}\nReason: {reason}\nExecution: {execution_arn}",
    )
    return {"outcome": RunOutcome.FAILED, "model": model, "retryable": retryable}


def _gate_failed(
    failure: GateFailure,
    request: TrainingRequest,
    *,
    reason: str,
    execution_arn: str,
    ports: CompletionPorts,
    record: Callable[..., None],
) -> dict[str, Any]:
    """The model missed its evaluation gate: final (a retry trains on the same data), recorded
    as GateFailed and TrainingFailed, and paged with the metric, value and threshold."""
    model = request.model
    record(events.GATE_FAILED, reason=failure.message, data=failure.data())
    record(
        events.TRAINING_FAILED,
        reason=reason,
        data={"retryable": False, "attempts": request.attempt, "gate": "failed"},
    )
    approved = (
        f"\nApproved package's value: {failure.approved}" if failure.approved is not None else ""
    )
    ports.notify_critical(
        f"trainops: {model} failed its evaluation gate ({failure.metric} = {failure.value}, "
        f"threshold {failure.threshold})",
        f"The model trained for {model} (request {request.request_id}, attempt "
        f"{request.attempt}) missed its evaluation gate and was not registered; not retried.\n"
        f"Metric: {failure.metric}\nValue: {failure.value}\nThreshold: {failure.threshold}"
        f"{approved}\nExecution: {execution_arn}",
    )
    return {"outcome": RunOutcome.FAILED, "model": model, "retryable": False, "gate": "failed"}
