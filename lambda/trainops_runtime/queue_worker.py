"""queue_worker: turns training requests from the FIFO queue into pipeline executions.

Invoked by an SQS event source mapping with `ReportBatchItemFailures`. Per batch it asks
SageMaker once (at the first valid request) how many executions are running across the
platform: one ListPipelineExecutions per configured pipeline, the only consistent,
pipeline-scoped listing SageMaker offers. Per message:

* not JSON, not a valid request, or an unknown model/hyperparameter: **moved to the DLQ with the
  reason** (message attribute `trainops-reject-reason`), recorded as `TrainingRejected`, and
  acknowledged, so it is never retried;
* its own execution already running (a duplicate delivery): acknowledged, nothing started,
  and its `TrainingRequested`/`TrainingStarted` published again (same event ids, so the store
  keeps one of each), in case the first delivery died between the start and the publish;
* its model already training (any trigger), or `maxConcurrentTrainings` reached:
  **back-pressure**, reported as failed and its visibility extended with exponential backoff, so
  it waits in the queue (`TrainingDeferred`). One model trains one request at a time, in queue
  order, as scheduled retraining never overlaps either; different models run in parallel;
* otherwise the model's pipeline starts with the request's idempotency token (`TrainingStarted`);
  a retryable SageMaker error reports the message failed for redelivery with backoff; a
  permanent one moves it to the DLQ with the reason.

Messages of one model (one FIFO group) stay in order: after a failure in a group, the rest of
that group in the batch is reported failed too; other models carry on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import catalog as catalog_module
from trainops_runtime import clients, observability
from trainops_runtime import domain_events as events
from trainops_runtime.catalog import ModelCatalog, UnknownModel
from trainops_runtime.errors import RetryableError, error_code, is_retryable
from trainops_runtime.request_queue import dead_letter
from trainops_runtime.training import running_across, start_training
from trainops_runtime.training_request import InvalidRequest, TrainingRequest, parse

logger = Logger(service=observability.SERVICE)
metrics = Metrics(namespace=observability.METRICS_NAMESPACE, service=observability.SERVICE)

TRIGGER = "queue"
MAX_CONCURRENT_ENV = "TRAINOPS_MAX_CONCURRENT_TRAININGS"
DLQ_URL_ENV = "TRAINOPS_DLQ_URL"
QUEUE_URL_ENV = "TRAINOPS_TRAINING_QUEUE_URL"
BACKOFF_BASE_ENV = "TRAINOPS_BACKOFF_BASE_SECONDS"
BACKOFF_MAX_ENV = "TRAINOPS_BACKOFF_MAX_SECONDS"
MAX_VISIBILITY = 43200  # SQS limit (12 hours)


class Deferred(Exception):
    """Back-pressure: the platform is at capacity; the message waits in the queue."""


@dataclass(frozen=True)
class Settings:
    max_concurrent: int
    dlq_url: str
    queue_url: str
    backoff_base: int
    backoff_max: int

    @classmethod
    def from_environment(cls) -> Settings:
        try:
            return cls(
                max_concurrent=int(os.environ[MAX_CONCURRENT_ENV]),
                dlq_url=os.environ[DLQ_URL_ENV],
                queue_url=os.environ[QUEUE_URL_ENV],
                backoff_base=int(os.environ.get(BACKOFF_BASE_ENV, "30")),
                backoff_max=int(os.environ.get(BACKOFF_MAX_ENV, "900")),
            )
        except (KeyError, ValueError) as error:
            raise RuntimeError(f"queue_worker is misconfigured: {error!r}") from error

    def backoff(self, receive_count: int) -> int:
        """Seconds before a failed or deferred message is delivered again."""
        delay = self.backoff_base * 2 ** max(receive_count - 1, 0)
        return min(delay, self.backoff_max, MAX_VISIBILITY)


@dataclass
class BatchState:
    """What one invocation knows: capacity left and the executions already running.

    The capacity query runs once, when the first valid request needs it: a batch of rejects
    asks SageMaker nothing.
    """

    settings: Settings
    catalog: ModelCatalog
    running: int = 0
    # display name -> execution ARN of every execution holding a slot
    running_names: dict[str, str] = field(default_factory=dict)
    # model -> ARN of one of its executions holding a slot
    busy_models: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    queried: bool = False
    capacity_error: str | None = None

    def ensure_capacity_known(self) -> None:
        """Asks SageMaker once per batch; if that fails, every later message of the batch fails
        the same way without asking again (they all come back after their backoff)."""
        if self.capacity_error is not None:
            raise RetryableError(f"capacity unknown: {self.capacity_error}")
        if self.queried:
            return
        try:
            running = running_across(self.catalog.models, self.catalog)
        except (ClientError, BotoCoreError) as error:
            self.capacity_error = f"{error_code(error)}: {error}"
            raise RetryableError(f"capacity unknown: {self.capacity_error}") from error
        self.running = len(running)
        self.running_names = {e.display_name: e.execution_arn for e in running}
        self.busy_models = {e.model: e.execution_arn for e in running}
        self.queried = True

    def _event(self, kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
        return events.DomainEvent(
            type=kind,
            model=request.model,
            request_id=request.request_id,
            attempt=request.attempt,
            trigger=TRIGGER,
            **fields,
        )

    def reject(self, record: SQSRecord, reason: str, model: str = "invalid") -> None:
        """Never retried: the message goes to the DLQ with the reason and is acknowledged."""
        dead_letter(
            self.settings.dlq_url,
            body=record.body,
            group=record.attributes.message_group_id or model,
            message_id=record.message_id,
            reason=reason,
        )
        events.publish(
            events.DomainEvent(
                type=events.TRAINING_REJECTED,
                model=model if model != "invalid" else "unknown",
                request_id=f"sqs:{record.message_id}",
                attempt=1,
                trigger=TRIGGER,
                reason=reason,
            )
        )
        metrics.add_metric(name="TrainingRequestsRejected", unit=MetricUnit.Count, value=1)
        logger.warning(
            "request rejected", extra={"message_id": record.message_id, "reason": reason}
        )
        self.outcomes[record.message_id] = "rejected"

    def _defer(self, record: SQSRecord, request: TrainingRequest, reason: str) -> NoReturn:
        """Back-pressure: recorded, then raised so the message is reported failed and waits."""
        events.publish(
            self._event(
                events.TRAINING_DEFERRED,
                request,
                reason=reason,
                discriminator=record.message_id + record.attributes.approximate_receive_count,
            )
        )
        self.outcomes[record.message_id] = "deferred"
        raise Deferred(reason)

    def handle(self, record: SQSRecord) -> str:
        try:
            request = parse(record.body)
            self.catalog.get(request.model)
        except (InvalidRequest, UnknownModel) as error:
            self.reject(record, str(error), model=_model_hint(record))
            return "rejected"

        self.ensure_capacity_known()
        own_execution = self.running_names.get(request.execution_display_name(TRIGGER))
        if own_execution is not None:
            events.publish(
                self._event(events.TRAINING_REQUESTED, request, reason=request.reason or None),
                self._event(events.TRAINING_STARTED, request, execution_arn=own_execution),
            )
            self.outcomes[record.message_id] = "duplicate"
            return "duplicate"
        busy = self.busy_models.get(request.model)
        if busy is not None:
            self._defer(record, request, f"{request.model} is still training ({busy})")
        if self.running >= self.settings.max_concurrent:
            self._defer(
                record,
                request,
                f"{self.running} of {self.settings.max_concurrent} trainings running",
            )

        events.publish(
            self._event(events.TRAINING_REQUESTED, request, reason=request.reason or None)
        )
        try:
            execution_arn = start_training(request, self.catalog, trigger=TRIGGER)
        except InvalidRequest as error:
            self.reject(record, str(error), model=request.model)
            return "rejected"
        except (ClientError, BotoCoreError) as error:
            if is_retryable(error):
                self.outcomes[record.message_id] = "retry"
                raise RetryableError(f"{error_code(error)}: {error}") from error
            reason = f"SageMaker refused the start: {error_code(error)}: {error}"
            self.reject(record, reason, model=request.model)
            events.publish(
                self._event(
                    events.TRAINING_FAILED, request, reason=reason, data={"retryable": False}
                )
            )
            return "rejected"
        self.running += 1
        self.running_names[request.execution_display_name(TRIGGER)] = execution_arn
        self.busy_models[request.model] = execution_arn
        events.publish(self._event(events.TRAINING_STARTED, request, execution_arn=execution_arn))
        metrics.add_metric(name="TrainingsStarted", unit=MetricUnit.Count, value=1)
        self.outcomes[record.message_id] = "started"
        return execution_arn


def _model_hint(record: SQSRecord) -> str:
    group = record.attributes.message_group_id
    return group if group else "invalid"


def _delay_failed(settings: Settings, event: dict[str, Any], response: Mapping[str, Any]) -> None:
    """Backoff for every message reported failed, in one ChangeMessageVisibilityBatch call."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    entries = [
        {
            "Id": str(index),
            "ReceiptHandle": record["receiptHandle"],
            "VisibilityTimeout": settings.backoff(
                int(record["attributes"]["ApproximateReceiveCount"])
            ),
        }
        for index, record in enumerate(event["Records"])
        if record["messageId"] in failed
    ]
    if not entries:
        return
    try:
        result = clients.client("sqs").change_message_visibility_batch(
            QueueUrl=settings.queue_url, Entries=entries
        )
    except (ClientError, BotoCoreError) as error:
        # The batch's outcome stands: the failed messages return after the queue's visibility
        # timeout instead of their backoff, and the others must still be deleted.
        logger.warning("could not delay failed messages", extra={"code": error_code(error)})
        return
    if result.get("Failed"):
        # Not fatal: the message still returns after the queue's visibility timeout.
        logger.warning("could not delay some messages", extra={"failed": result["Failed"]})


def run(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    settings = Settings.from_environment()
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
    deferred = sum(1 for outcome in state.outcomes.values() if outcome == "deferred")
    if deferred:
        metrics.add_metric(name="TrainingRequestsDeferred", unit=MetricUnit.Count, value=deferred)
    logger.info("batch done", extra={"outcomes": state.outcomes, "running": state.running})
    return dict(response)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event, context)
