"""slot_keeper: keeps the training-slot ledger true to what SageMaker runs.

The ledger (`slots`) is changed by starts and ends; this sweep repairs what those cannot: a slot
whose end event was lost, a claim whose start died and was never redelivered, a slot about to
expire under a long run, and a running execution without a slot (started in the console, or
whose slot was lost); see `slots.reconcile`. With monitoring, the stall detector runs `keep` on
the listing it makes anyway; without monitoring, the TrainingQueue schedules this module's
handler on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import catalog as catalog_module
from trainops_runtime import observability, training_slots
from trainops_runtime import pipeline_contract as contract
from trainops_runtime.adapters import slots
from trainops_runtime.adapters.training import (
    pipeline_execution_status,
    running_executions,
)
from trainops_runtime.catalog import ModelCatalog
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.settings import SlotKeeperSettings
from trainops_runtime.training_slots import RunningExecution


def still_running(execution_arn: str) -> bool:
    """SageMaker's current word on one execution (the listing may be minutes old)."""
    return pipeline_execution_status(execution_arn) in contract.RUNNING_STATES


def keep(
    catalog: ModelCatalog,
    running: Mapping[str, Sequence[RunningExecution]],
    now: datetime,
    *,
    table: str,
    confirm: Callable[[str], bool] = still_running,
) -> training_slots.Reconciliation:
    """Reconciles the ledger with ``running`` (listed just before) and logs every repair."""
    result = slots.reconcile(
        table,
        running,
        {model: catalog.get(model).longest_run_minutes for model in catalog.models},
        now=now,
        still_running=confirm,
    )
    for slot in result.freed:
        logger.warning(
            "freed a training slot whose execution is not running (its end event was lost?)",
            extra={"model": slot.model, "request_id": slot.request_id, "trigger": slot.trigger},
        )
    for slot in result.adopted:
        logger.warning(
            "counted a running execution that held no slot against capacity",
            extra={"model": slot.model, "holder": slot.holder},
        )
    for slot in result.extended:
        logger.info(
            "extended the slot of a run that outlasts its estimate",
            extra={"model": slot.model, "request_id": slot.request_id},
        )
    return result


def add_metrics(target: Metrics, result: training_slots.Reconciliation) -> None:
    target.add_metric(name="TrainingSlotsFreed", unit=MetricUnit.Count, value=len(result.freed))
    target.add_metric(name="TrainingSlotsAdopted", unit=MetricUnit.Count, value=len(result.adopted))


def run(now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, int]:
    table = SlotKeeperSettings[str].from_environment().slots_table
    catalog = catalog_module.load()
    moment = now()
    running = {model: running_executions(model, catalog, now=moment) for model in catalog.models}
    result = keep(catalog, running, moment, table=table)
    observability.tag_stack(metrics)
    add_metrics(metrics, result)
    return {
        "slotsFreed": len(result.freed),
        "slotsAdopted": len(result.adopted),
        "slotsExtended": len(result.extended),
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    return run()
