"""CloudWatch alarms: every alarm notifies someone, with its actions enabled."""

from __future__ import annotations

from .engine import Rule, as_list, requirements_rule

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"

alarm_actions = requirements_rule(
    "alarm-actions",
    description="Every alarm has actions, and they are enabled",
    source="checkov CKV_AWS_319 (actions enabled); AWS Config cloudwatch-alarm-action-check",
    types=(METRIC_ALARM, COMPOSITE_ALARM),
    requires=[
        # the provider's default is true: only an explicit false disables the actions
        (
            lambda alarm, _: alarm.props.get("actionsEnabled") is not False,
            "alarm actions are disabled (actionsEnabled is false)",
        ),
        (
            lambda alarm, _: bool(as_list(alarm.props.get("alarmActions"))),
            "alarm notifies nobody (no alarmActions)",
        ),
    ],
)

RULES: tuple[Rule, ...] = (alarm_actions,)
