"""CloudWatch alarms: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

from .engine import Requirement, Resource, Rule, Stack, as_list, rule, unmet

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"

ALARM_REQUIREMENTS: list[Requirement] = [
    # the provider's default is true: only an explicit false disables the actions
    (
        lambda alarm, _: alarm.props.get("actionsEnabled") is not False,
        "alarm actions are disabled (actionsEnabled is false)",
    ),
    (
        lambda alarm, _: bool(as_list(alarm.props.get("alarmActions"))),
        "alarm notifies nobody (no alarmActions)",
    ),
]


@rule(
    "alarm-actions",
    METRIC_ALARM,
    COMPOSITE_ALARM,
    source="checkov CKV_AWS_319 (actions enabled); AWS Config cloudwatch-alarm-action-check",
)
def alarm_actions(alarm: Resource, stack: Stack) -> list[str]:
    """Every alarm has actions, and they are enabled.

    An alarm that notifies nobody only changes colour on a dashboard no one is watching.
    """
    return unmet(alarm, stack, ALARM_REQUIREMENTS)


RULES: tuple[Rule, ...] = (alarm_actions,)
