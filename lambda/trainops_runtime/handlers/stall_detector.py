"""Stall detector: warns about training that is overrunning or stuck, before SageMaker gives up.

Runs on a schedule (default every 5 minutes). For every running execution of this platform's
pipelines it finds the running training job and reports, as CloudWatch metrics (EMF):

* `OverrunningTrainingJobs`: jobs past `TRAINOPS_OVERRUN_FRACTION` of their model's maximum
  runtime (SageMaker would stop them with MaxRuntimeExceeded at 100 %);
* `StalledTrainingJobs`: jobs that made no progress for `TRAINOPS_STALLED_AFTER_MINUTES`. Before
  and after training that is an unchanged secondary status (stuck downloading, waiting for spot
  capacity, uploading, ...). *During* training the secondary status stays `Training` for hours
  by design, so there progress means log output: the job's streams in
  `/aws/sagemaker/TrainingJobs` must have received something within that time (a hung process
  goes quiet long before MaxRuntimeExceeded);
* `OverrunningPipelineExecutions`: executions past that fraction of their longest possible run;
* `RunningTrainingJobs` and `RunningPipelineExecutions`, for the dashboard.

With a training queue it also keeps the training-slot ledger true (`slot_keeper.keep`), right
after the listing: a slot whose execution is no longer running is freed (`TrainingSlotsFreed`),
and a running execution without a slot takes its model's (`TrainingSlotsAdopted`). A ledger
error does not stop the stall checks; the invocation fails after publishing them.

Alarms on the first three live in the TrainingMonitor component. Each flagged job is also
logged with its name, model, elapsed time and last status, so the alert can be acted on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability, stalls
from trainops_runtime.adapters.training import (
    describe_training_job,
    running_executions,
    running_training_jobs,
)
from trainops_runtime.adapters.training_logs import last_log_ingestion
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.errors import RetryableError, error_code
from trainops_runtime.handlers import slot_keeper
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.settings import StallDetectorSettings
from trainops_runtime.stalls import Finding, Report, StallPorts, Thresholds, job_findings
from trainops_runtime.training_slots import RunningExecution

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
METRIC_NAMES = (
    "OverrunningTrainingJobs",
    "StalledTrainingJobs",
    "OverrunningPipelineExecutions",
    "RunningTrainingJobs",
    "RunningPipelineExecutions",
    "TrainingSlotsFreed",
    "TrainingSlotsAdopted",
)


def _ports() -> StallPorts:
    return StallPorts(
        running_jobs=running_training_jobs,
        describe_job=describe_training_job,
        last_log=lambda job: last_log_ingestion(TRAINING_LOG_GROUP, job),
    )


def check_job(
    model: str, name: str, max_runtime: timedelta, thresholds: Thresholds, now: datetime
) -> list[Finding]:
    """One training job's findings, from SageMaker and its logs."""
    ports = _ports()
    return job_findings(
        ports.describe_job(name),
        model,
        max_runtime,
        thresholds,
        now=now,
        last_log=lambda: ports.last_log(name),
    )


def list_running(catalog: ModelCatalog, now: datetime) -> dict[str, list[RunningExecution]]:
    """Model -> its executions that hold a slot, newest first: one listing per pipeline."""
    return {model: running_executions(model, catalog, now=now) for model in catalog.models}


def detect(
    catalog: ModelCatalog,
    thresholds: Thresholds,
    now: datetime,
    running: dict[str, list[RunningExecution]] | None = None,
) -> Report:
    """Inspects every running execution of every model in the catalog."""
    listed = running if running is not None else list_running(catalog, now)
    return stalls.detect(catalog, thresholds, now, listed, _ports())


def publish(report: Report) -> None:
    observability.tag_stack(metrics)
    values = {
        "OverrunningTrainingJobs": report.count("overrunning-job"),
        "StalledTrainingJobs": report.count("stalled-job"),
        "OverrunningPipelineExecutions": report.count("overrunning-execution"),
        "RunningTrainingJobs": report.running_jobs,
        "RunningPipelineExecutions": report.running_executions,
        "TrainingSlotsFreed": report.slots_freed,
        "TrainingSlotsAdopted": report.slots_adopted,
    }
    for name, value in values.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for finding in report.findings:
        logger.warning("training needs attention", extra=finding.__dict__)


def run(now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, int]:
    catalog = catalog_module.load()
    config = StallDetectorSettings[str].from_environment()
    thresholds = Thresholds.of(config)
    moment = now()
    running = list_running(catalog, moment)
    # The slot ledger first, right after the listing it is checked against (the job checks
    # below take a while, and a failing one must not leave the ledger unrepaired).
    table = config.slots_table or None
    kept, keep_error = None, None
    if table is not None:
        try:
            kept = slot_keeper.keep(catalog, running, moment, table=table)
        except (ClientError, BotoCoreError) as error:
            # Stall detection still runs and publishes; the invocation then fails (Errors alarm,
            # async retry), and the next sweep tries the ledger again.
            logger.exception("could not keep the training-slot ledger")
            keep_error = error
    report = detect(catalog, thresholds, moment, running)
    if kept is not None:
        report.slots_freed, report.slots_adopted = len(kept.freed), len(kept.adopted)
    publish(report)
    if keep_error is not None:
        raise RetryableError(f"slot ledger: {error_code(keep_error)}") from keep_error
    return {
        "runningJobs": report.running_jobs,
        "runningExecutions": report.running_executions,
        "overrunningJobs": report.count("overrunning-job"),
        "stalledJobs": report.count("stalled-job"),
        "overrunningExecutions": report.count("overrunning-execution"),
        "slotsFreed": report.slots_freed,
        "slotsAdopted": report.slots_adopted,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return run()
