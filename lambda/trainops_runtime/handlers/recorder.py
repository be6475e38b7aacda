"""recorder: appends every event on the training bus to the event store, exactly once.

Targets a rule on the training bus (retry policy and DLQ; invoked asynchronously with a failure
queue). Which facts it accepts, and the streams each belongs to:

* `trainops.training` domain events: `model#<model>` (+ `run#<execution id>`), keyed by their
  deterministic `detail.eventId`, so a fact published twice is stored once;
* `aws.sagemaker` pipeline execution status changes: `model#<model>` + `run#<execution id>`;
* `aws.sagemaker` training job state changes: `model#<model>` (from the job's tags) +
  `job#<name>`;
* `aws.ssm` Run Command status changes (maintenance windows): `maintenance#<document>`, and
  `model#<model>` for each of this stack's models the command's `models` parameter names (so a
  model's history shows its retraining on the team's own hosts too; a command that retrains
  several models, past 20 in a window, reports one status for all of them).

Anything else, or a malformed event, raises: Lambda retries it and then puts it in the failure
queue, where an alarm points at it. Nothing is dropped silently. Replayed events (they carry
`replay-name`) keep their ids and are therefore recorded once, and the recorder is the only
consumer of replays, so a replay never re-triggers side effects.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import catalog as catalog_module
from trainops_runtime.adapters import event_store
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.recording import MalformedEvent, to_stored
from trainops_runtime.settings import RecorderSettings


def run(event: dict[str, Any]) -> dict[str, Any]:
    stored = to_stored(event, catalog_module.load())
    table = RecorderSettings[str].from_environment().event_table
    versions = event_store.append(table, stored)
    if versions is None:
        metrics.add_metric(name="EventsAlreadyRecorded", unit=MetricUnit.Count, value=1)
        logger.info(
            "already recorded", extra={"event_id": stored.event_id, "replayed": stored.replayed}
        )
        return {"recorded": False, "eventId": stored.event_id}
    metrics.add_metric(name="EventsRecorded", unit=MetricUnit.Count, value=1)
    return {"recorded": True, "eventId": stored.event_id, "versions": versions}


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        return run(event)
    except MalformedEvent as error:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.error(
            "malformed event rejected", extra={"reason": str(error), "event_id": event.get("id")}
        )
        raise
