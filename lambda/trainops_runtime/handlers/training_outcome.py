"""training_outcome: what happens when one of this platform's pipeline executions ends.

Triggered by EventBridge on `SageMaker Model Building Pipeline Execution Status Change` for this
stack's pipelines (rule target with retry policy and DLQ):

First the execution's training slot is freed (`slots`), so the next request of the model can
start. Then:

* `Succeeded`: publish `TrainingSucceeded` (and notify, when configured);
* `Stopped`: someone stopped it on purpose: publish `TrainingFailed` (not retried, no page);
* `Failed`: read the request id and attempt back from the execution's parameters and the
  failure reason from the execution and its steps. A retryable failure (capacity, quotas, spot,
  service faults) with attempts left is **re-queued** as the same request with attempt + 1
  (`TrainingRequeued`); otherwise `TrainingFailed` is published and `critical` is alerted.

EventBridge delivers at least once. Each event is handled once (Powertools idempotency keyed on
the event id, its records in the training-slot ledger table, kept a day): a repeated delivery of
the final `Failed` pages no one a second time and re-queues nothing again. (Beyond that, the
re-queued message's deduplication id and the start token keep a request from training twice.)
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from trainops_runtime import catalog as catalog_module
from trainops_runtime import domain_events as events
from trainops_runtime import observability
from trainops_runtime import pipeline_contract as contract
from trainops_runtime.adapters import clients, event_bus, slots
from trainops_runtime.adapters.notify import notify
from trainops_runtime.adapters.request_queue import enqueue
from trainops_runtime.adapters.training import execution_parameters, failure_reason
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import is_retryable_failure
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.outcomes import RunOutcome
from trainops_runtime.settings import TrainingOutcomeSettings
from trainops_runtime.training_request import TrainingRequest

EVENT_DETAIL_TYPE = "SageMaker Model Building Pipeline Execution Status Change"
# How long a handled event is remembered: past EventBridge's retries (an hour here) and
# Lambda's asynchronous ones (six hours at most).
REMEMBER_EVENTS_SECONDS = 24 * 3600


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


def run(event: dict[str, Any], catalog: ModelCatalog | None = None) -> dict[str, Any]:
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
    catalog = catalog or catalog_module.load()
    model = catalog.by_pipeline(_pipeline_name(pipeline_arn))
    if model is None:
        raise UnexpectedEvent(f"{pipeline_arn} is not a pipeline of this stack")
    observability.tag_stack(metrics)
    request = request_from_parameters(
        model, catalog.get(model), execution_parameters(execution_arn), execution_arn
    )
    config = TrainingOutcomeSettings[str].from_environment()
    _free_slot(config.slots_table or None, request, execution_arn, status)
    ended_at = _event_time(event)

    def record(kind: str, **fields: Any) -> None:
        event_bus.publish(_event(kind, request, execution_arn, ended_at, **fields))

    if status == "Succeeded":
        record(events.TRAINING_SUCCEEDED)
        metrics.add_metric(name="TrainingsSucceeded", unit=MetricUnit.Count, value=1)
        notify(
            config.success_topic_arn,
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

    reason = failure_reason(execution_arn)
    retryable = is_retryable_failure(reason)
    max_attempts, queue_url = config.max_attempts, config.training_queue_url
    if retryable and request.attempt < max_attempts and queue_url:
        retry = request.next_attempt(
            reason=f"retry after attempt {request.attempt} failed: {reason}"
        )
        enqueue(queue_url, retry)
        record(events.TRAINING_REQUEUED, reason=reason, data={"nextAttempt": retry.attempt})
        metrics.add_metric(name="TrainingsRequeued", unit=MetricUnit.Count, value=1)
        return {"outcome": RunOutcome.REQUEUED, "model": model, "attempt": retry.attempt}

    record(
        events.TRAINING_FAILED,
        reason=reason,
        data={"retryable": retryable, "attempts": request.attempt},
    )
    metrics.add_metric(name="TrainingsFailed", unit=MetricUnit.Count, value=1)
    why = "attempts exhausted" if retryable else "not retryable"
    notify(
        config.critical_topic_arn,
        f"trainops: training of {model} failed ({why})",
        f"Training of {model} failed after attempt {request.attempt} of {max_attempts} ({why}).\n"
        f"Request: {request.request_id}\nReason: {reason}\nExecution: {execution_arn}",
    )
    return {"outcome": RunOutcome.FAILED, "model": model, "retryable": retryable}


def _free_slot(
    table: str | None, request: TrainingRequest, execution_arn: str, status: str
) -> None:
    """The ended execution's training slot is free again (before anything is re-queued).

    Conditional on the slot still being this request's (or, for an execution started outside
    trainops, this execution's), so a repeated or late event frees nothing else. An error
    raises, and EventBridge's retry runs the whole handler again.
    """
    if table is None or status not in contract.END_STATES:
        return
    freed = slots.release(
        table, request.model, request.idempotency_token(), slots.adopted_holder(execution_arn)
    )
    logger.info("training slot", extra={"model": request.model, "freed": freed})


def _repeated(response: Any, idempotent_data: Any) -> Any:
    """A repeated delivery: counted and logged, answered with the first result."""
    observability.tag_stack(metrics)
    metrics.add_metric(name="RepeatedEventsIgnored", unit=MetricUnit.Count, value=1)
    logger.info("event already handled", extra={"result": response})
    return response


def handle_once(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """`run`, at most once per EventBridge event id: a repeated delivery returns the first
    result without acting again. The records live in the slot ledger table (key prefix: this
    function's name); without the table there is nothing to remember them in."""
    table = TrainingOutcomeSettings[str].from_environment().slots_table or None
    if table is None:
        return run(event)
    config = IdempotencyConfig(
        event_key_jmespath="id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=REMEMBER_EVENTS_SECONDS,
        response_hook=_repeated,
    )
    if context is not None:
        config.register_lambda_context(context)
    persistence = DynamoDBPersistenceLayer(
        table_name=table, boto3_client=clients.client("dynamodb")
    )

    @idempotent_function(
        data_keyword_argument="event", persistence_store=persistence, config=config
    )
    def once(event: dict[str, Any]) -> dict[str, Any]:
        return run(event)

    return once(event=event)  # type: ignore[no-any-return]


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return handle_once(event, context)
