"""queue_worker: turns training requests from the FIFO queue into pipeline executions.

Invoked by an SQS event source mapping with `ReportBatchItemFailures`. Per batch it reads the
training-slot ledger once (`slots.read`: one strongly consistent GetItem, made at the first valid
request; a batch of rejects reads nothing), which says which models train now. Per message:

* not JSON (or JSON Python cannot read: nested too deep, integers too long), not a valid
  request, or an unknown model/hyperparameter: **moved to the DLQ with the reason** (message
  attribute `trainops-reject-reason`; a body too large to fit beside it is summarised),
  recorded as `TrainingRejected` under the request id the body names (else the message id),
  and acknowledged, so it is never retried;
* its model's slot already held by this very request (a duplicate delivery, or a first delivery
  that died after claiming): the start is made again with the same token, which SageMaker
  answers with the same execution, and `TrainingRequested`/`TrainingStarted` are published
  (same event ids, so the store keeps one of each);
* its model training another request (any trigger), or `maxConcurrentTrainings` slots held:
  **back-pressure**, reported as failed and its visibility extended with exponential backoff, so
  it waits in the queue (`TrainingDeferred`). One model trains one request at a time, in queue
  order, as scheduled retraining never overlaps either; different models run in parallel;
* otherwise it claims the model's slot (conditional on the ledger being unchanged since the read,
  so concurrent batches and schedule ticks cannot overshoot) and starts the model's pipeline with
  the request's idempotency token (`TrainingStarted`). A claim that lost a race defers the
  message. A start that certainly did nothing (a 4xx to its only attempt, or never sent) frees
  the slot; one that may have created the execution keeps it for the redelivery to find out.
  A retryable SageMaker error reports the message failed for redelivery with backoff; a
  permanent one moves it to the DLQ.

A request's `trigger` (`queue` unless it says `quality`: one the quality trigger sent for a
degraded model) is what its execution's display name starts with, its slot names and its events
carry.

Messages of one model (one FIFO group) stay in order: after a failure in a group, the rest of
that group in the batch is reported failed too; other models carry on.

The rules above are `trainops_runtime.intake` (the use case, behind ports, unit-tested with
fakes) and `admission` (the decisions); this module wires them to SQS, DynamoDB, SageMaker and
EventBridge, and to Powertools' batch processing, logging and metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import admission, observability
from trainops_runtime import catalog as catalog_module
from trainops_runtime.adapters import event_bus
from trainops_runtime.adapters.batch_ledger import BatchLedger
from trainops_runtime.adapters.notify import alert
from trainops_runtime.adapters.request_queue import dead_letter, delay_messages
from trainops_runtime.adapters.training import start_training
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import error_code
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.intake import Intake, IntakePorts, Message
from trainops_runtime.outcomes import RequestOutcome
from trainops_runtime.settings import QueueWorkerSettings

# the metric each outcome of a batch adds to (EMF, in the trainops namespace)
OUTCOME_METRICS = {
    RequestOutcome.STARTED: "TrainingsStarted",
    RequestOutcome.REJECTED: "TrainingRequestsRejected",
    RequestOutcome.DEFERRED: "TrainingRequestsDeferred",
}


def _ports(settings: QueueWorkerSettings[str], catalog: ModelCatalog) -> IntakePorts:
    """The real adapters behind the use case's ports."""

    def to_dead_letters(message: Message, group: str, reason: str) -> None:
        dead_letter(
            settings.dlq_url,
            body=message.body,
            group=group,
            message_id=message.message_id,
            reason=reason,
        )

    return IntakePorts(
        ledger=BatchLedger(settings.slots_table),
        # as the request's trigger: `queue`, or `quality` for a quality signal's request
        start=lambda request, *, resume: start_training(
            request, catalog, trigger=request.trigger, resume=resume
        ),
        dead_letter=to_dead_letters,
        publish=functools.partial(event_bus.publish, settings.event_bus),
        log=logger,
        alert=functools.partial(alert, settings.warning_topic_arn, log=logger),
    )


def _message(record: SQSRecord) -> Message:
    return Message(
        message_id=record.message_id,
        body=record.body,
        group=record.attributes.message_group_id,
        receive_count=record.attributes.approximate_receive_count,
    )


def _delay_failed(
    settings: QueueWorkerSettings[str], event: dict[str, Any], response: Mapping[str, Any]
) -> None:
    """Backoff for every message reported failed, in one ChangeMessageVisibilityBatch call."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    entries = [
        {
            "Id": str(index),
            "ReceiptHandle": record["receiptHandle"],
            "VisibilityTimeout": admission.backoff_seconds(
                int(record["attributes"]["ApproximateReceiveCount"]),
                base=settings.backoff_base_seconds,
                maximum=settings.backoff_max_seconds,
            ),
        }
        for index, record in enumerate(event["Records"])
        if record["messageId"] in failed
    ]
    if not entries:
        return
    try:
        result = delay_messages(settings.training_queue_url, entries)
    except (ClientError, BotoCoreError) as error:
        # The batch's outcome stands: the failed messages return after the queue's visibility
        # timeout instead of their backoff, and the others must still be deleted.
        logger.warning("could not delay failed messages", extra={"code": error_code(error)})
        return
    if result.get("Failed"):
        # Not fatal: the message still returns after the queue's visibility timeout.
        logger.warning("could not delay some messages", extra={"failed": result["Failed"]})


def run(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = QueueWorkerSettings[str].from_environment()
    catalog = catalog_module.load()
    observability.tag_stack(metrics)
    intake = Intake(
        catalog=catalog,
        max_concurrent=settings.max_concurrent_trainings,
        ports=_ports(settings, catalog),
    )
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A whole batch waiting for capacity is normal back-pressure, not an error: report the items
    # (so their backoff is set below) instead of failing the invocation.
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(
        event=event,
        record_handler=lambda record: intake.handle(_message(record)),
        processor=processor,
        context=context,
    )
    _delay_failed(settings, event, dict(response))
    for outcome, name in OUTCOME_METRICS.items():
        if count := intake.count(outcome):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    logger.info(
        "batch done",
        extra={"outcomes": intake.outcomes, "running": intake.ports.ledger.running},
    )
    return dict(response)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, context)
