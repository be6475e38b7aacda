"""start_retraining: what one EventBridge Scheduler tick does for one model.

Scheduler invokes this function asynchronously with `{"model": ..., "scheduledTime": ...}` and
delivers at least once, so the handler is safe to run twice for the same tick:

* the request id is `schedule:<model>:<scheduledTime>`, so a repeated delivery maps onto the same
  SageMaker `ClientRequestToken` and starts nothing new;
* it never overlaps: it claims the model's training slot (`slots`, shared with the training
  queue, so a tick and a queued request cannot both start the model); if another request holds
  it, the tick skips and records `TrainingSkipped` with the reason. A stack without a training
  queue has no slot ledger; there the model's own pipeline listing decides;
* with `onlyWhenNewData`, it skips when nothing under the model's training data changed since
  the last successful execution started;
* it publishes `TrainingRequested`/`TrainingStarted`/`TrainingSkipped`, emits EMF metrics, and
  notifies the configured topic that retraining started;
* on a retryable error it raises, so Lambda's async retries and failure destination apply; a
  non-retryable one is recorded as `TrainingFailed` and raised to land in the failure queue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import catalog as catalog_module
from trainops_runtime import domain_events as events
from trainops_runtime import observability
from trainops_runtime.adapters import event_bus, slots
from trainops_runtime.adapters.data_freshness import newest_change_after
from trainops_runtime.adapters.notify import notify
from trainops_runtime.adapters.training import (
    last_success_started,
    running_executions,
    start_training,
)
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import (
    RetryableError,
    error_code,
    is_retryable,
    may_have_taken_effect,
)
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.outcomes import StartOutcome
from trainops_runtime.settings import StartRetrainingSettings
from trainops_runtime.training_request import MODEL_NAME, TrainingRequest

TRIGGER = "schedule"


class InvalidTick(ValueError):
    """The schedule's payload is not what trainops configured: a deployment bug."""


@dataclass(frozen=True)
class Tick:
    model: str
    scheduled_time: datetime


def parse_tick(event: Any) -> Tick:
    """`{"model": ..., "scheduledTime": <ISO 8601>}` exactly, or InvalidTick."""
    if not isinstance(event, dict) or set(event) != {"model", "scheduledTime"}:
        raise InvalidTick(f"unexpected schedule payload {event!r}: want model and scheduledTime")
    model, when = event["model"], event["scheduledTime"]
    if not isinstance(model, str) or not re.match(MODEL_NAME, model):
        raise InvalidTick(f"unexpected schedule payload {event!r}: bad model name")
    try:
        scheduled = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidTick(f"unexpected schedule payload {event!r}: bad scheduledTime") from None
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=UTC)
    return Tick(model=model, scheduled_time=scheduled)


def request_for(tick: Tick) -> TrainingRequest:
    stamp = tick.scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return TrainingRequest(
        model=tick.model,
        request_id=f"schedule:{tick.model}:{stamp}",
        requested_by="scheduler",
        reason=f"scheduled retraining for {stamp}",
    )


def _event(kind: str, request: TrainingRequest, **fields: Any) -> events.DomainEvent:
    return events.about(kind, request, TRIGGER, **fields)


def _skip(request: TrainingRequest, reason: str, discriminator: str) -> dict[str, Any]:
    logger.info("retraining skipped", extra={"model": request.model, "reason": reason})
    event_bus.publish(
        _event(events.TRAINING_SKIPPED, request, reason=reason, discriminator=discriminator)
    )
    metrics.add_metric(name="RetrainingSkipped", unit=MetricUnit.Count, value=1)
    return {"status": StartOutcome.SKIPPED, "model": request.model, "reason": reason}


def run(event: Any) -> dict[str, Any]:
    tick = parse_tick(event)
    catalog = catalog_module.load()
    request = request_for(tick)
    observability.tag_stack(metrics)
    table = StartRetrainingSettings[str].from_environment().slots_table or None
    if table is None:
        return _run_without_ledger(request, catalog)

    skipped = _skip_without_new_data(request, catalog)
    if skipped is not None:
        return skipped
    now = slots.utc_now()
    slot = slots.new_slot(
        tick.model,
        holder=request.idempotency_token(),
        request_id=request.request_id,
        trigger=TRIGGER,
        longest_run_minutes=catalog.get(tick.model).longest_run_minutes,
        now=now,
    )
    try:
        previous = slots.claim(table, slot, now=now, expected_version=None)
    except slots.SlotTaken as taken:
        return _skip(request, str(taken), discriminator="overlap")
    except (ClientError, BotoCoreError) as error:
        raise RetryableError(f"could not claim the slot: {error_code(error)}: {error}") from error
    duplicate = (
        previous is not None and previous.holder == slot.holder and not previous.expired(now)
    )
    if duplicate:
        logger.info(
            "duplicate delivery: this tick already holds the model's slot",
            extra={"model": tick.model},
        )
    return _start(request, catalog, duplicate=duplicate, slots_table=table)


def _run_without_ledger(request: TrainingRequest, catalog: ModelCatalog) -> dict[str, Any]:
    """No training queue in this stack, so no slot ledger: SageMaker's listing of the model's
    own pipeline says whether it trains (nothing else starts it)."""
    own_name = request.execution_display_name(TRIGGER)
    running = running_executions(request.model, catalog)
    own = next((e for e in running if e.display_name == own_name), None)
    if own is not None:
        logger.info(
            "duplicate delivery: this tick's execution is already running",
            extra={"model": request.model},
        )
        # An earlier delivery may have died after the start: announce it again. The events
        # keep their ids (the store records each once); the notice may arrive twice.
        _announce_start(request, own.execution_arn, again=True)
        return {
            "status": StartOutcome.DUPLICATE,
            "model": request.model,
            "executionArn": own.execution_arn,
        }
    if running:
        blocking = running[0]
        return _skip(
            request,
            f"execution {blocking.execution_arn} is still {blocking.status}",
            discriminator="overlap",
        )
    skipped = _skip_without_new_data(request, catalog)
    if skipped is not None:
        return skipped
    return _start(request, catalog, duplicate=False, slots_table=None)


def _skip_without_new_data(
    request: TrainingRequest, catalog: ModelCatalog
) -> dict[str, Any] | None:
    """With `onlyWhenNewData`: skips when nothing under the training data changed since the last
    successful execution started."""
    entry = catalog.get(request.model)
    if not entry.only_when_new_data:
        return None
    last_success = last_success_started(request.model, catalog)
    if last_success is None or newest_change_after(entry.training_data, last_success) is not None:
        return None
    return _skip(
        request,
        f"no data under {entry.training_data} changed since the last success "
        f"({last_success.isoformat()})",
        discriminator="no-new-data",
    )


def _start(
    request: TrainingRequest, catalog: ModelCatalog, *, duplicate: bool, slots_table: str | None
) -> dict[str, Any]:
    """Starts with the tick's token; a duplicate gets SageMaker's answer for the same token (the
    same execution). A first start that certainly failed frees the slot it claimed; otherwise
    the slot stays (the stall check frees it if nothing runs)."""
    if not duplicate:
        event_bus.publish(_event(events.TRAINING_REQUESTED, request, reason=request.reason))
    try:
        execution_arn = start_training(request, catalog, trigger=TRIGGER)
    except (ClientError, BotoCoreError) as error:
        # Keep the slot when the execution may exist after all (5xx, read timeout: Lambda's
        # retry, with the same token, tells) or when a duplicate's slot may cover it.
        if slots_table is not None and not duplicate and not may_have_taken_effect(error):
            _release(slots_table, request)
        if is_retryable(error):
            logger.warning("retryable error; Lambda will retry", extra={"code": error_code(error)})
            raise RetryableError(f"{error_code(error)}: {error}") from error
        event_bus.publish(
            _event(
                events.TRAINING_FAILED,
                request,
                reason=f"could not start: {error_code(error)}",
                data={"retryable": False},
            )
        )
        raise
    if duplicate:
        _announce_start(request, execution_arn, again=True)
        return {
            "status": StartOutcome.DUPLICATE,
            "model": request.model,
            "executionArn": execution_arn,
        }
    metrics.add_metric(name="RetrainingStarted", unit=MetricUnit.Count, value=1)
    _announce_start(request, execution_arn)
    return {"status": StartOutcome.STARTED, "model": request.model, "executionArn": execution_arn}


def _release(table: str, request: TrainingRequest) -> None:
    try:
        slots.release(table, request.model, request.idempotency_token())
    except (ClientError, BotoCoreError) as error:  # the slot expires, or the stall check frees it
        logger.warning("could not free the slot", extra={"code": error_code(error)})


def _announce_start(request: TrainingRequest, execution_arn: str, *, again: bool = False) -> None:
    """`TrainingStarted` on the bus (again: with `TrainingRequested`) and the notice."""
    started = _event(events.TRAINING_STARTED, request, execution_arn=execution_arn)
    if again:
        event_bus.publish(
            _event(events.TRAINING_REQUESTED, request, reason=request.reason), started
        )
    else:
        event_bus.publish(started)
    notify(
        StartRetrainingSettings[str].from_environment().notify_topic_arn,
        f"trainops: scheduled retraining of {request.model} started",
        f"Scheduled retraining of {request.model} ({request.reason}) started.\n"
        f"Execution: {execution_arn}",
    )


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
