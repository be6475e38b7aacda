"""stop_maintenance: stops the maintenance window's retraining when the platform is critical.

Systems Manager can stop a window task when a CloudWatch alarm fires (the task's
`AlarmConfiguration`), but neither Pulumi provider exposes that setting. This function does the
same job: an EventBridge rule on the platform-critical alarm's change to ALARM invokes it, and it

* cancels every pending or running execution of the window, so tasks that have not started
  never start (`CancelMaintenanceWindowExecution`);
* cancels the Run Command commands those executions have in flight, so retraining already
  running on the hosts stops (`CancelCommand`; the SSM agent ends the script).

The commands then report `Cancelled`, which the event store records in the model's history.
Anything it cannot cancel raises, so Lambda retries and then parks the event in the failure
queue, where an alarm points at it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from trainops_runtime import observability
from trainops_runtime.adapters.maintenance_window import stop_window
from trainops_runtime.handlers.instruments import logger, metrics
from trainops_runtime.settings import StopMaintenanceSettings

ALARM_EVENT = "CloudWatch Alarm State Change"


class UnexpectedEvent(ValueError):
    """Not the guard alarm's state change: a wiring bug, so it is raised, not ignored."""


def alarm_state(event: Any, alarm_name: str) -> str:
    """The new state of ``alarm_name`` in a CloudWatch alarm state-change event."""
    if not isinstance(event, dict) or event.get("detail-type") != ALARM_EVENT:
        raise UnexpectedEvent(f"not a {ALARM_EVENT} event: {str(event)[:200]}")
    detail = event.get("detail") or {}
    if detail.get("alarmName") != alarm_name:
        raise UnexpectedEvent(f"state change of {detail.get('alarmName')!r}, not {alarm_name!r}")
    state = (detail.get("state") or {}).get("value")
    if not isinstance(state, str):
        raise UnexpectedEvent("alarm state change without detail.state.value")
    return state


def run(event: Any, now: datetime | None = None) -> dict[str, Any]:
    config = StopMaintenanceSettings[str].from_environment()
    state = alarm_state(event, config.guard_alarm_name)
    if state != "ALARM":
        logger.info("guard alarm left ALARM; nothing to stop", extra={"state": state})
        return {"state": state, "stoppedExecutions": [], "cancelledCommands": []}
    stopped = stop_window(config.maintenance_window_id, now or datetime.now(UTC))
    observability.tag_stack(metrics)
    metrics.add_metric(
        name="MaintenanceRunsStopped", unit=MetricUnit.Count, value=len(stopped.commands)
    )
    logger.warning(
        "platform critical: maintenance-window retraining stopped",
        extra={"executions": stopped.executions, "commands": stopped.commands},
    )
    return {
        "state": state,
        "stoppedExecutions": stopped.executions,
        "cancelledCommands": stopped.commands,
    }


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run(event)
