"""CloudWatch alarms on the trainops alert ladder.

Every alarm is created as a pair:

* the alarm itself notifies the `warning` topic on ALARM and OK (so recovery is visible);
* its escalation twin (`<name>-escalated`) watches the same signal over the alarm's own window
  plus `escalateAfterMinutes`, and notifies `critical` (and, when configured, engages an
  Incident Manager response plan) only when the condition held for that whole time, i.e. when
  the warning has stood for `escalateAfterMinutes`.

So "still in ALARM after N minutes" escalates without any code running, and a blip that
recovers never pages anyone. Every alarm states how missing data is treated, and an alarm is
only created with somewhere to send it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws

# CloudWatch limits evaluation periods x period to one day for periods under an hour, and to
# seven days for periods of an hour or more; alarms on Metrics Insights queries see only the
# latest three hours of data.
MAX_EVALUATION_SECONDS = 24 * 3600
MAX_EVALUATION_SECONDS_HOURLY = 7 * 24 * 3600
MAX_QUERY_EVALUATION_SECONDS = 3 * 3600


# Pulumi names a resource without an explicit name `<logical name>-<7 random characters>`.
AUTONAME_SUFFIX = 8


@dataclass(frozen=True)
class Escalation:
    """An escalated alarm: its name, and how long that name can be (known before it exists,
    so composite alarm rules can be sized at preview)."""

    name: pulumi.Output[str]
    max_name_length: int


@dataclass(frozen=True)
class AlertLadder:
    """Where alarms go: warning first, critical when the condition persists."""

    warning_topic_arn: pulumi.Input[str]
    critical_topic_arn: pulumi.Input[str]
    escalate_after_minutes: int
    response_plan_arn: pulumi.Input[str] | None = None
    # False for cheap stacks (dev): alarms notify `warning` only and no twins are created.
    escalate: bool = True
    # Per-function Throttles alarms (PythonFunction); cheap stacks may leave them out, since
    # persistent throttling also shows in queue age, iterator age and failure-queue depth.
    lambda_throttle_alarms: bool = True
    # Every escalated alarm created on this ladder, for the platform-critical alarm.
    escalations: list[Escalation] = field(default_factory=list, compare=False)

    def critical_actions(self) -> list[pulumi.Input[str]]:
        actions: list[pulumi.Input[str]] = [self.critical_topic_arn]
        if self.response_plan_arn is not None:
            actions.append(self.response_plan_arn)
        return actions


@dataclass(frozen=True)
class Condition:
    """What an alarm compares: threshold, operator and the period it is evaluated over."""

    threshold: float = 1
    comparison: str = "GreaterThanOrEqualToThreshold"
    period_seconds: int = 300
    evaluation_periods: int = 1
    treat_missing_data: str = "notBreaching"


def escalation_periods(
    condition: Condition, escalate_after_minutes: int, *, max_window_seconds: int | None = None
) -> int:
    """How many periods the escalation twin must see breaching.

    The warning alarm fires after its own `evaluation_periods`; the twin needs those plus the
    escalation delay, so it fires `escalateAfterMinutes` after the warning, not after the
    condition began. CloudWatch caps the evaluated window (one day below hourly periods, seven
    days above, three hours for Metrics Insights queries): a longer delay escalates at the cap.
    """
    delay = math.ceil(escalate_after_minutes * 60 / condition.period_seconds)
    periods = condition.evaluation_periods + max(delay, 1)
    if max_window_seconds is None:
        max_window_seconds = (
            MAX_EVALUATION_SECONDS_HOURLY
            if condition.period_seconds >= 3600
            else MAX_EVALUATION_SECONDS
        )
    limit = max(1, max_window_seconds // condition.period_seconds)
    return min(periods, limit)


def _alarm_pair(
    name: str,
    *,
    parent: pulumi.Resource,
    ladder: AlertLadder,
    description: str,
    condition: Condition,
    signal: Mapping[str, Any],
    max_window_seconds: int | None = None,
) -> tuple[aws.cloudwatch.MetricAlarm, aws.cloudwatch.MetricAlarm | None]:
    child = pulumi.ResourceOptions(parent=parent)
    common = {
        "threshold": condition.threshold,
        "comparison_operator": condition.comparison,
        "treat_missing_data": condition.treat_missing_data,
        **signal,
    }
    warning = aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        evaluation_periods=condition.evaluation_periods,
        datapoints_to_alarm=condition.evaluation_periods,
        alarm_actions=[ladder.warning_topic_arn],
        ok_actions=[ladder.warning_topic_arn],
        opts=child,
        **common,
    )
    if not ladder.escalate:
        return warning, None
    periods = escalation_periods(
        condition, ladder.escalate_after_minutes, max_window_seconds=max_window_seconds
    )
    escalated = aws.cloudwatch.MetricAlarm(
        f"{name}-escalated",
        alarm_description=(f"ESCALATED after {ladder.escalate_after_minutes} min: {description}"),
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        alarm_actions=ladder.critical_actions(),
        ok_actions=[ladder.critical_topic_arn],
        opts=child,
        **common,
    )
    ladder.escalations.append(
        Escalation(name=escalated.name, max_name_length=len(f"{name}-escalated") + AUTONAME_SUFFIX)
    )
    return warning, escalated


@dataclass(frozen=True)
class Metric:
    """What a single-metric alarm watches, and how it summarises each period: a statistic
    (`Sum`, `Maximum`, ...) or a percentile (`p99`, sent as an extended statistic)."""

    namespace: str
    name: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str = "Sum"
    max_window_seconds: ClassVar[int | None] = None

    def signal(self, period_seconds: int, _: str) -> dict[str, Any]:
        percentile = re.fullmatch(r"p\d+(\.\d+)?", self.statistic) is not None
        return {
            "namespace": self.namespace,
            "metric_name": self.name,
            "dimensions": dict(self.dimensions),
            "period": period_seconds,
            ("extended_statistic" if percentile else "statistic"): self.statistic,
        }


@dataclass(frozen=True)
class Query:
    """A CloudWatch Metrics Insights query: one alarm covers resources created later (every
    training host of the account), but CloudWatch evaluates at most three hours of its data."""

    expression: str
    max_window_seconds: ClassVar[int | None] = MAX_QUERY_EVALUATION_SECONDS

    def signal(self, period_seconds: int, description: str) -> dict[str, Any]:
        query = {
            "id": "q1",
            "expression": self.expression,
            "period": period_seconds,
            "return_data": True,
            "label": description[:255],
        }
        return {"metric_queries": [query]}


@dataclass(frozen=True)
class AlarmSite:
    """Where a component's alarms are made: under ``parent``, notifying ``ladder`` (whose
    escalation twins the platform-critical composite alarm collects)."""

    parent: pulumi.Resource
    ladder: AlertLadder

    def metric(
        self,
        name: str,
        *,
        description: str,
        metric: Metric | Query,
        condition: Condition | None = None,
    ) -> aws.cloudwatch.MetricAlarm:
        """An alarm on one metric or query: the first tier, returned; when the ladder escalates,
        its escalation twin is made too and registered on the ladder."""
        condition = condition or Condition()
        limit = metric.max_window_seconds
        if limit is not None and condition.period_seconds * condition.evaluation_periods > limit:
            raise ValueError(
                f"{name}: a Metrics Insights alarm evaluates at most {limit // 60} minutes of data"
            )
        warning, _ = _alarm_pair(
            name,
            parent=self.parent,
            ladder=self.ladder,
            description=description,
            condition=condition,
            signal=metric.signal(condition.period_seconds, description),
            max_window_seconds=limit,
        )
        return warning

    def queue_depth(
        self, name: str, *, queue_name: pulumi.Input[str], description: str
    ) -> aws.cloudwatch.MetricAlarm:
        """Alarms as soon as one message waits in a dead-letter queue."""
        return self.metric(
            name,
            description=description,
            metric=Metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": queue_name},
                "Maximum",
            ),
            condition=Condition(period_seconds=60),
        )


# CloudWatch's PutCompositeAlarm: at most 100 alarms referenced by one rule, and a rule of at
# most 10,240 characters (API reference, PutCompositeAlarm).
MAX_ALARMS_PER_RULE = 100
MAX_RULE_LENGTH = 10_240
RULE_TERM_OVERHEAD = len('ALARM("")') + len(" OR ")


def composite_rule(names: Sequence[str]) -> str:
    """`ALARM("a") OR ALARM("b") ...` for at most MAX_ALARMS_PER_RULE names."""
    if not names or len(names) > MAX_ALARMS_PER_RULE:
        raise ValueError(
            f"a composite alarm needs 1-{MAX_ALARMS_PER_RULE} alarms, got {len(names)}"
        )
    rule = " OR ".join(f'ALARM("{name}")' for name in sorted(names))
    if len(rule) > MAX_RULE_LENGTH:
        raise ValueError(
            f"a composite alarm rule is at most {MAX_RULE_LENGTH} characters, got {len(rule)}"
        )
    return rule


def rule_groups(lengths: Sequence[int]) -> list[list[int]]:
    """Indexes of ``lengths`` (alarm name lengths) packed, in order, into groups whose rule fits
    one composite alarm: at most 100 alarms and 10,240 characters each."""
    groups: list[list[int]] = [[]]
    size = 0
    for index, length in enumerate(lengths):
        term = length + RULE_TERM_OVERHEAD
        if groups[-1] and (len(groups[-1]) == MAX_ALARMS_PER_RULE or size + term > MAX_RULE_LENGTH):
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += term
    return groups


@dataclass
class PlatformCriticalAlarmArgs:
    ladder: AlertLadder
    alarm_name: str


class PlatformCriticalAlarm(pulumi.ComponentResource):
    """One composite alarm that is in ALARM while any escalated alarm of the stack is.

    Built last (in `__main__.py`), from every escalation on the ladder; it marks the platform
    as "in a critical state", e.g. for maintenance-window hosts that refuse to start then.
    When the escalations do not fit one rule (100 alarms, 10,240 characters), they are grouped
    into named composite alarms `<alarm name>-<level>-<index>`, and those again, as often as
    needed: a tree whose root is the platform-critical alarm.
    """

    alarm_name: str
    group_names: list[str]

    def __init__(
        self, name: str, args: PlatformCriticalAlarmArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:monitoring:PlatformCriticalAlarm", name, None, opts)
        ladder = args.ladder
        if not ladder.escalations:
            raise ValueError("no escalated alarms exist to summarise")
        members: list[Escalation] = list(ladder.escalations)
        self.group_names = []
        level = 1
        while len(groups := rule_groups([m.max_name_length for m in members])) > 1:
            grouped: list[Escalation] = []
            for index, group in enumerate(groups):
                group_name = f"{args.alarm_name}-{level}-{index}"
                if len(group_name) > 255:
                    raise ValueError(f"composite alarm name {group_name!r} exceeds 255 characters")
                composite = aws.cloudwatch.CompositeAlarm(
                    f"{name}-group-{level}-{index}",
                    alarm_name=group_name,
                    alarm_description="trainops: part of the platform-critical alarm",
                    alarm_rule=pulumi.Output.all(*(members[i].name for i in group)).apply(
                        composite_rule
                    ),
                    alarm_actions=[ladder.warning_topic_arn],
                    ok_actions=[ladder.warning_topic_arn],
                    opts=pulumi.ResourceOptions(parent=self),
                )
                self.group_names.append(group_name)
                grouped.append(Escalation(composite.alarm_name, len(group_name)))
            members = grouped
            level += 1
        aws.cloudwatch.CompositeAlarm(
            f"{name}-alarm",
            alarm_name=args.alarm_name,
            alarm_description="trainops: at least one escalated alarm is in ALARM",
            alarm_rule=pulumi.Output.all(*(m.name for m in members)).apply(composite_rule),
            alarm_actions=[ladder.warning_topic_arn],
            ok_actions=[ladder.warning_topic_arn],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alarm_name = args.alarm_name
        self.register_outputs({"alarm_name": self.alarm_name, "group_names": self.group_names})
