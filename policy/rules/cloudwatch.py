"""CloudWatch alarms: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

from .engine import Resource, Rule, Stack, as_list, rule

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"


@rule(
    "alarm-actions",
    description="Every alarm has actions, and they are enabled",
    source="checkov CKV_AWS_319 (actions enabled); AWS Config cloudwatch-alarm-action-check",
    types=(METRIC_ALARM, COMPOSITE_ALARM),
)
def alarm_actions(resource: Resource, _: Stack) -> list[str]:
    problems = []
    if resource.props.get("actionsEnabled") is False:
        problems.append("alarm actions are disabled (actionsEnabled is false)")
    if not as_list(resource.props.get("alarmActions")):
        problems.append("alarm notifies nobody (no alarmActions)")
    return problems


RULES: tuple[Rule, ...] = (alarm_actions,)
