"""CloudWatch alarms with the conventions every trainops alarm follows.

Every alarm notifies its topics on ALARM and on OK (so recovery is visible), states explicitly how
missing data is treated, and is only created when there is somewhere to send it: an alarm with
no action is noise nobody sees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws


def metric_alarm(
    name: str,
    *,
    parent: pulumi.Resource,
    topic_arns: Sequence[pulumi.Input[str]],
    description: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, pulumi.Input[str]],
    statistic: str = "Sum",
    threshold: float = 1,
    comparison: str = "GreaterThanOrEqualToThreshold",
    period_seconds: int = 300,
    evaluation_periods: int = 1,
    treat_missing_data: str = "notBreaching",
) -> aws.cloudwatch.MetricAlarm:
    """A single-metric alarm that notifies ``topic_arns`` on ALARM and OK."""
    if not topic_arns:
        raise ValueError(f"alarm {name} has no topic to notify")
    return aws.cloudwatch.MetricAlarm(
        name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric_name,
        dimensions=dict(dimensions),
        statistic=statistic,
        threshold=threshold,
        comparison_operator=comparison,
        period=period_seconds,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=evaluation_periods,
        treat_missing_data=treat_missing_data,
        alarm_actions=list(topic_arns),
        ok_actions=list(topic_arns),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def queue_depth_alarm(
    name: str,
    *,
    parent: pulumi.Resource,
    topic_arns: Sequence[pulumi.Input[str]],
    queue_name: pulumi.Input[str],
    description: str,
) -> aws.cloudwatch.MetricAlarm:
    """Alarms as soon as one message waits in a dead-letter queue."""
    return metric_alarm(
        name,
        parent=parent,
        topic_arns=topic_arns,
        description=description,
        namespace="AWS/SQS",
        metric_name="ApproximateNumberOfMessagesVisible",
        dimensions={"QueueName": queue_name},
        statistic="Maximum",
        period_seconds=60,
    )
