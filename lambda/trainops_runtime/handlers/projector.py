"""projector: keeps the read model in step with the event store's DynamoDB stream.

For every model or run stream touched by a batch, it folds the stored events newer than the
stream's read-model state (`read_model.catch_up`), so order, duplicates and retries of stream
records cannot corrupt the result. A stream that fails (e.g. a concurrent writer) is reported
with `ReportBatchItemFailures`; the event source mapping bisects, retries a bounded number of
times within a maximum record age, and then sends the record to the failure queue.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import projection
from trainops_runtime.adapters import read_model
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.settings import ProjectorSettings


def _stream_of(record: dict[str, Any]) -> str | None:
    keys = record.get("dynamodb", {}).get("Keys", {})
    stream = keys.get("stream", {}).get("S")
    return stream if stream and projection.projected(stream) else None


def run(event: dict[str, Any]) -> dict[str, Any]:
    config = ProjectorSettings[str].from_environment()
    events_table, read_table = config.event_table, config.read_model_table
    records = event.get("Records", [])
    first_record_of: dict[str, str] = {}
    for record in records:
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        stream = _stream_of(record)
        if stream is not None:
            first_record_of.setdefault(stream, record["dynamodb"]["SequenceNumber"])
    failures = []
    for stream, sequence_number in first_record_of.items():
        try:
            read_model.catch_up(events_table, read_table, stream)
            metrics.add_metric(name="StreamsProjected", unit=MetricUnit.Count, value=1)
        except read_model.StaleWrite:
            logger.warning("concurrent projection; retrying", extra={"stream": stream})
            failures.append({"itemIdentifier": sequence_number})
    return {"batchItemFailures": failures}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
