"""quality_trigger: a model's degraded-quality signal becomes a request on the training queue.

EventBridge invokes this function asynchronously with either a CloudWatch "Alarm State Change"
event of a quality alarm (`trainops-<stack>--<model>--quality...` entering ALARM, from the
default bus) or a configured pattern's event, rewritten by its rule's input transformer into
`{"qualitySignal": {"model", "id", "source", "detailType", "time"}}`. Per signal:

* an alarm that is no quality alarm of a catalog model, or a model whose catalog entry has
  `qualityRetraining` off: ignored, logged and counted (`QualitySignalsIgnored`);
* within the model's cooldown after its last quality retrain, or after its circuit breaker
  tripped today: `RetrainSuppressed` (`QualityRetrainsSuppressed`);
* the model already had `maxPerDay` quality retrains today (UTC): the breaker trips, with one
  critical alert per model and day (`QualityBreakerTripped`);
* otherwise a `TrainingRequest` (trigger `quality`, request id `quality:<hash>`) is sent to the
  training FIFO queue, where deduplication, slots, back-pressure and retries apply
  (`RetrainRequested`, `QualityRetrainsRequested`);
* a malformed event raises (Lambda's retries, then the failure destination, keep it).

Every signal of a quality model is `QualityDegraded` first and counts `QualitySignals`. The rules
are `trainops_runtime.quality` (behind ports, unit-tested with fakes); this module wires the
quality ledger (DynamoDB), SQS, SNS and EventBridge behind them, and Powertools.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability
from trainops_runtime.adapters import event_bus, quality_ledger
from trainops_runtime.adapters.notify import notify
from trainops_runtime.adapters.request_queue import enqueue
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.quality import QualityPorts, QualityTrigger
from trainops_runtime.quality_breaker import LedgerItem, Policy
from trainops_runtime.settings import QualityTriggerSettings
from trainops_runtime.training_request import TrainingRequest


def _ports(config: QualityTriggerSettings[str]) -> QualityPorts:
    """The real adapters behind the signal's ports."""
    table = config.ledger_table

    def save(item: LedgerItem, expected_version: int) -> bool:
        return quality_ledger.save(table, item, expected_version=expected_version)

    def send(request: TrainingRequest) -> str:
        return enqueue(config.training_queue_url, request)

    return QualityPorts(
        read=functools.partial(quality_ledger.read, table),
        save=save,
        send=send,
        alert=lambda subject, text: notify(config.critical_topic_arn, subject, text),
        publish=functools.partial(event_bus.publish, config.event_bus),
        count=lambda name: metrics.add_metric(name=name, unit=MetricUnit.Count, value=1),
        log=logger,
    )


def run(event: Any) -> dict[str, Any]:
    config = QualityTriggerSettings[str].from_environment()
    catalog = catalog_module.load()
    observability.tag_stack(metrics)
    policy = Policy(
        alarm_prefix=config.alarm_prefix,
        cooldown=timedelta(minutes=config.cooldown_minutes),
        max_per_day=config.max_per_day,
    )
    return QualityTrigger(catalog=catalog, policy=policy, ports=_ports(config)).run(event)


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
