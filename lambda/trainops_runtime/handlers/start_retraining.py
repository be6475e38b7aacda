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

The rules are `trainops_runtime.retraining` (behind ports, unit-tested with fakes); this module
wires the slot ledger, SageMaker, S3, EventBridge and SNS behind them, and Powertools.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability
from trainops_runtime.adapters import event_bus, slots
from trainops_runtime.adapters.data_freshness import newest_change_after
from trainops_runtime.adapters.notify import alert, notify
from trainops_runtime.adapters.training import (
    last_success_started,
    running_executions,
    start_training,
)
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import RetryableError, error_code
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.retraining import TRIGGER, Retraining, RetrainingPorts
from trainops_runtime.settings import StartRetrainingSettings
from trainops_runtime.training_request import TrainingRequest
from trainops_runtime.training_slots import Slot


def _claim_in(table: str) -> Callable[[Slot, datetime], Slot | None]:
    def claim(slot: Slot, now: datetime) -> Slot | None:
        try:
            return slots.claim(table, slot, now=now, expected_version=None)
        except (ClientError, BotoCoreError) as error:
            raise RetryableError(
                f"could not claim the slot: {error_code(error)}: {error}"
            ) from error

    return claim


def _release_in(table: str | None) -> Callable[[TrainingRequest], None]:
    def release(request: TrainingRequest) -> None:
        if table is None:  # no ledger, no slot (the tick never claims one)
            return
        try:
            slots.release(table, request.model, request.idempotency_token())
        except (ClientError, BotoCoreError) as error:
            raise RetryableError(f"{error_code(error)}: {error}") from error

    return release


def _ports(config: StartRetrainingSettings[str], catalog: ModelCatalog) -> RetrainingPorts:
    """The real adapters behind the tick's ports."""
    table = config.slots_table or None

    return RetrainingPorts(
        claim=_claim_in(table) if table else None,
        release=_release_in(table),
        running=lambda model: running_executions(model, catalog),
        last_success_started=lambda model: last_success_started(model, catalog),
        changed_since=newest_change_after,
        start=functools.partial(start_training, catalog=catalog, trigger=TRIGGER),
        publish=functools.partial(event_bus.publish, config.event_bus),
        notify=lambda subject, text: notify(config.notify_topic_arn, subject, text),
        alert=functools.partial(alert, config.warning_topic_arn, log=logger),
        count=lambda name: metrics.add_metric(name=name, unit=MetricUnit.Count, value=1),
        log=logger,
    )


def run(event: Any) -> dict[str, Any]:
    config = StartRetrainingSettings[str].from_environment()
    catalog = catalog_module.load()
    observability.tag_stack(metrics)
    return Retraining(catalog=catalog, ports=_ports(config, catalog)).run(event)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
