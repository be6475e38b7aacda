"""What happens when one of the platform's pipeline executions ends: the outcome handler's rules.

`complete` reads the status change, rebuilds the request the execution ran for from its
pipeline parameters, frees its training slot, and then records success, a deliberate stop, a
re-queue of a retryable failure with attempts left, or a final failure with an alert. It calls
AWS only through `CompletionPorts`, so the rules run in unit tests with fakes; the handler
(`handlers/training_outcome.py`) wires SageMaker, DynamoDB, SQS, EventBridge and SNS behind them
and makes each event count once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from trainops_runtime import domain_events as events
from trainops_runtime import pipeline_contract as contract
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import is_retryable_failure
from trainops_runtime.outcomes import RunOutcome
from trainops_runtime.training_request import TrainingRequest

EVENT_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"


class UnexpectedEvent(ValueError):
    """Not an execution status change of this stack's pipelines: the rule is wrong; fail loudly."""


def _pipeline_name(pipeline_arn: str) -> str:
    return pipeline_arn.rsplit(":pipeline/", 1)[-1].split("/", 1)[0]


def request_from_parameters(
    model: str, entry: CatalogEntry, parameters: dict[str, str], execution_arn: str
) -> TrainingRequest:
    """The request an execution ran for, rebuilt from its pipeline parameters."""
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
        model, catalog.get(model), ports.parameters(execution_arn), execution_arn
    )
    if status in contract.END_STATES:
        # before anything is re-queued, so the retry finds the model's slot free
        ports.free_slot(request, execution_arn)
    ended_at = _event_time(event)

    def record(kind: str, **fields: Any) -> None:
        ports.publish(_event(kind, request, execution_arn, ended_at, **fields))

    if status == "Succeeded":
        record(events.TRAINING_SUCCEEDED)
        ports.notify_success(
            f"trainops: {model} trained",
            f"Training of {model} succeeded (request {request.request_id}, "
            f"attempt {request.attempt}).\nExecution: {execution_arn}",
        )
        return {"outcome": RunOutcome.SUCCEEDED, "model": model}
    if status == "Stopped":
        record(events.TRAINING_FAILED, reason="stopped", data={"retryable": False, "stopped": True})
        return {"outcome": RunOutcome.STOPPED, "model": model}
    if status != "Failed":
        raise UnexpectedEvent(f"status {status!r} is not an end state")

    reason = ports.failure_reason(execution_arn)
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
