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
  A model that missed its evaluation gate (the gate's Fail step reason) is never re-queued:
  `GateFailed` and `TrainingFailed` are published and `critical` names metric, value and
  threshold. A gated model's success publishes `GatePassed` first (the catalog names the gate).

EventBridge delivers at least once. Each event is handled once (Powertools idempotency keyed on
the event id, its records in the training-slot ledger table, kept a day): a repeated delivery of
the final `Failed` pages no one a second time and re-queues nothing again. (Beyond that, the
re-queued message's deduplication id and the start token keep a request from training twice.)
"""

from __future__ import annotations

import functools
import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability, training_slots
from trainops_runtime.adapters import clients, event_bus, slots
from trainops_runtime.adapters.notify import notify
from trainops_runtime.adapters.request_queue import enqueue
from trainops_runtime.adapters.training import execution_parameters, failure_reason
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.completion import (
    CompletionPorts,
    Gate,
    complete,
    gates_in_catalog,
)
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.outcomes import RunOutcome
from trainops_runtime.settings import TrainingOutcomeSettings
from trainops_runtime.training_request import TrainingRequest

# How long a handled event is remembered: past EventBridge's retries (an hour here) and
# Lambda's asynchronous ones (six hours at most).
REMEMBER_EVENTS_SECONDS = 24 * 3600
# the metric each outcome adds to (EMF, in the trainops namespace)
OUTCOME_METRICS = {
    RunOutcome.SUCCEEDED: "TrainingsSucceeded",
    RunOutcome.REQUEUED: "TrainingsRequeued",
    RunOutcome.FAILED: "TrainingsFailed",
}
# ... and each result of an evaluation gate
GATE_METRICS = {"passed": "GatesPassed", "failed": "GatesFailed"}


@functools.cache
def _gates_in(path: str) -> dict[str, Gate]:
    """The gated models of the catalog file at ``path`` (read once per execution environment)."""
    with open(path, encoding="utf-8") as file:
        return gates_in_catalog(json.load(file))


def evaluation_gate(model: str) -> Gate | None:
    """The model's evaluation gate, from the catalog the function ships."""
    return _gates_in(str(catalog_module.catalog_path())).get(model)


def _ports(config: TrainingOutcomeSettings[str]) -> CompletionPorts:
    """The real adapters behind the rules' ports."""

    def free_slot(request: TrainingRequest, execution_arn: str) -> None:
        """Conditional on the slot still being this request's (or, for an execution started
        outside trainops, this execution's), so a repeated or late event frees nothing else.
        An error raises, and EventBridge's retry runs the whole handler again."""
        if not config.slots_table:
            return
        freed = slots.release(
            config.slots_table,
            request.model,
            request.idempotency_token(),
            training_slots.adopted_holder(execution_arn),
        )
        logger.info("training slot", extra={"model": request.model, "freed": freed})

    queue_url = config.training_queue_url
    return CompletionPorts(
        parameters=execution_parameters,
        failure_reason=failure_reason,
        free_slot=free_slot,
        requeue=(lambda retry: enqueue(queue_url, retry)) if queue_url else None,
        publish=functools.partial(event_bus.publish, config.event_bus),
        notify_success=lambda subject, text: notify(config.success_topic_arn, subject, text),
        notify_critical=lambda subject, text: notify(config.critical_topic_arn, subject, text),
        evaluation_gate=evaluation_gate,
    )


def run(event: dict[str, Any], catalog: ModelCatalog | None = None) -> dict[str, Any]:
    config = TrainingOutcomeSettings[str].from_environment()
    result = complete(
        event,
        catalog or catalog_module.load(),
        _ports(config),
        max_attempts=config.max_attempts,
    )
    observability.tag_stack(metrics)
    if name := OUTCOME_METRICS.get(result["outcome"]):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if gate := GATE_METRICS.get(result.get("gate", "")):
        metrics.add_metric(name=gate, unit=MetricUnit.Count, value=1)
    return result


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
