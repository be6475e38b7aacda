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

Messages of one model (one FIFO group) stay in order: after a failure in a group, the rest of
that group in the batch is reported failed too; other models carry on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import admission, observability
from trainops_runtime import catalog as catalog_module
from trainops_runtime import domain_events as events
from trainops_runtime.adapters import event_bus, slots
from trainops_runtime.adapters.batch_ledger import BatchLedger, Stale
from trainops_runtime.adapters.request_queue import dead_letter, delay_messages
from trainops_runtime.adapters.training import start_training
from trainops_runtime.catalog import ModelCatalog, UnknownModel
from trainops_runtime.errors import (
    RetryableError,
    error_code,
    is_retryable,
    may_have_taken_effect,
)
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.outcomes import RequestOutcome
from trainops_runtime.settings import QueueWorkerSettings
from trainops_runtime.training_request import (
    InvalidRequest,
    TrainingRequest,
    parse,
)

TRIGGER = "queue"


class Deferred(Exception):
    """Back-pressure: the platform is at capacity; the message waits in the queue."""


@dataclass
class BatchState:
    """What one invocation knows: its view of the slot ledger (`BatchLedger`: read once, then
    its own claims) and what it did with each message."""

    settings: QueueWorkerSettings[str]
    catalog: ModelCatalog
    ledger: BatchLedger = field(init=False)
    outcomes: dict[str, RequestOutcome] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ledger = BatchLedger(self.settings.slots_table)

    @property
    def running(self) -> int:
        return self.ledger.running

    def _slot(self, request: TrainingRequest, now: datetime) -> slots.Slot:
        return slots.new_slot(
            request.model,
            holder=request.idempotency_token(),
            request_id=request.request_id,
            trigger=TRIGGER,
            longest_run_minutes=self.catalog.get(request.model).longest_run_minutes,
            now=now,
        )

    def _renew(self, record: SQSRecord, request: TrainingRequest) -> None:
        try:
            self.ledger.renew(self._slot(request, slots.utc_now()))
        except Stale as stale:
            self._defer(record, request, str(stale))

    def _claim(self, record: SQSRecord, request: TrainingRequest) -> None:
        now = slots.utc_now()
        try:
            self.ledger.claim(self._slot(request, now), now)
        except Stale as stale:
            self._defer(record, request, str(stale))

    def _release(self, request: TrainingRequest) -> None:
        """Frees the slot of a request that did not start. Best effort: if this fails, the
        slot expires, or the stall detector frees it."""
        try:
            self.ledger.release(request.model, request.idempotency_token())
        except (ClientError, BotoCoreError) as error:
            logger.warning(
                "could not free the slot of a request that did not start",
                extra={"model": request.model, "code": error_code(error)},
            )

    def _event(self, kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
        return events.about(kind, request, TRIGGER, **fields)

    def reject(
        self,
        record: SQSRecord,
        reason: str,
        model: str = admission.NO_MODEL,
        request_id: str | None = None,
        attempt: int = 1,
    ) -> None:
        """Never retried: the message goes to the DLQ with the reason and is acknowledged. The
        rejection is recorded under the request's own id when the body names one."""
        reason = reason[:1024]
        dead_letter(
            self.settings.dlq_url,
            body=record.body,
            group=record.attributes.message_group_id or model,
            message_id=record.message_id,
            reason=reason,
        )
        event_bus.publish(
            events.DomainEvent(
                type=events.TRAINING_REJECTED,
                model=model if model != admission.NO_MODEL else "unknown",
                request_id=request_id or f"sqs:{record.message_id}",
                attempt=attempt,
                trigger=TRIGGER,
                reason=reason,
            )
        )
        metrics.add_metric(name="TrainingRequestsRejected", unit=MetricUnit.Count, value=1)
        logger.warning(
            "request rejected", extra={"message_id": record.message_id, "reason": reason}
        )
        self.outcomes[record.message_id] = RequestOutcome.REJECTED

    def _defer(self, record: SQSRecord, request: TrainingRequest, reason: str) -> NoReturn:
        """Back-pressure: recorded, then raised so the message is reported failed and waits."""
        event_bus.publish(
            self._event(
                events.TRAINING_DEFERRED,
                request,
                reason=reason,
                discriminator=record.message_id + record.attributes.approximate_receive_count,
            )
        )
        self.outcomes[record.message_id] = RequestOutcome.DEFERRED
        raise Deferred(reason)

    def handle(self, record: SQSRecord) -> RequestOutcome:
        try:
            request = parse(record.body)
        except InvalidRequest as error:
            self.reject(
                record,
                str(error),
                model=admission.model_hint(record.attributes.message_group_id),
                **admission.request_hint(record.body),
            )
            return RequestOutcome.REJECTED
        try:
            self.catalog.get(request.model)
        except UnknownModel as error:
            self.reject(
                record,
                str(error),
                model=admission.model_hint(record.attributes.message_group_id),
                request_id=request.request_id,
                attempt=request.attempt,
            )
            return RequestOutcome.REJECTED

        self.ledger.count()
        slot = self.ledger.held.get(request.model)
        decision = admission.admit(
            request.idempotency_token(),
            slot.holder if slot else None,
            str(slots.SlotTaken(request.model, slot)),
            running=self.running,
            max_concurrent=self.settings.max_concurrent_trainings,
        )
        if decision.admission == admission.Admission.WAIT:
            self._defer(record, request, decision.reason or "waiting")
        if decision.admission == admission.Admission.RESUME:
            self._renew(record, request)
            return self._start(record, request, duplicate=True)
        self._claim(record, request)
        return self._start(record, request, duplicate=False)

    def _start(
        self, record: SQSRecord, request: TrainingRequest, *, duplicate: bool
    ) -> RequestOutcome:
        """Starts the pipeline with the request's token (for a duplicate: the same execution)."""
        requested = self._event(events.TRAINING_REQUESTED, request, reason=request.reason or None)
        if not duplicate:
            event_bus.publish(requested)
        try:
            execution_arn = start_training(request, self.catalog, trigger=TRIGGER)
        except InvalidRequest as error:
            self._release(request)
            self.reject(
                record,
                str(error),
                model=request.model,
                request_id=request.request_id,
                attempt=request.attempt,
            )
            return RequestOutcome.REJECTED
        except (ClientError, BotoCoreError) as error:
            # Keep the slot when the execution may exist after all (a 5xx, a read timeout: the
            # redelivery's start with the same token tells), or when this is a duplicate whose
            # slot may cover its first delivery's execution.
            if not duplicate and not may_have_taken_effect(error):
                self._release(request)
            if is_retryable(error):
                self.outcomes[record.message_id] = RequestOutcome.RETRY
                raise RetryableError(f"{error_code(error)}: {error}") from error
            reason = f"SageMaker refused the start: {error_code(error)}: {error}"
            self.reject(
                record,
                reason,
                model=request.model,
                request_id=request.request_id,
                attempt=request.attempt,
            )
            event_bus.publish(
                self._event(
                    events.TRAINING_FAILED, request, reason=reason, data={"retryable": False}
                )
            )
            return RequestOutcome.REJECTED
        started = self._event(events.TRAINING_STARTED, request, execution_arn=execution_arn)
        if duplicate:
            # An earlier delivery may have died between the start and the publish.
            event_bus.publish(requested, started)
            self.outcomes[record.message_id] = RequestOutcome.DUPLICATE
            return RequestOutcome.DUPLICATE
        event_bus.publish(started)
        metrics.add_metric(name="TrainingsStarted", unit=MetricUnit.Count, value=1)
        self.outcomes[record.message_id] = RequestOutcome.STARTED
        return RequestOutcome.STARTED


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
    state = BatchState(settings=settings, catalog=catalog)
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    # A whole batch waiting for capacity is normal back-pressure, not an error: report the items
    # (so their backoff is set below) instead of failing the invocation.
    processor.raise_on_entire_batch_failure = False
    response = process_partial_response(
        event=event, record_handler=state.handle, processor=processor, context=context
    )
    _delay_failed(settings, event, dict(response))
    deferred = sum(1 for outcome in state.outcomes.values() if outcome == RequestOutcome.DEFERRED)
    if deferred:
        metrics.add_metric(name="TrainingRequestsDeferred", unit=MetricUnit.Count, value=deferred)
    logger.info("batch done", extra={"outcomes": state.outcomes, "running": state.running})
    return dict(response)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, context)
