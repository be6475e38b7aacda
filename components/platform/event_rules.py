"""EventBridge rules with one target, built the way every asynchronous path in trainops is.

Each target gets an explicit retry policy and a standard SQS dead-letter queue (encrypted with
the stack key, writable only by this rule); the rule's `FailedInvocations` and the DLQ's depth
alarm on the alert ladder. Lambda targets get the invoke permission scoped to the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import alarms, iam, queues
from components.platform.context import PlatformContext
from components.platform.lambda_function import PythonFunction
from components.platform.roles import service_role


@dataclass
class RuleTarget:
    """What `rule_with_target` built."""

    rule: aws.cloudwatch.EventRule
    target: aws.cloudwatch.EventTarget
    dead_letter_queue: aws.sqs.Queue
    alarms: list[aws.cloudwatch.MetricAlarm]


def rule_with_target(
    name: str,
    *,
    parent: pulumi.Resource,
    platform: PlatformContext,
    description: str,
    target_arn: pulumi.Input[str] | None = None,
    function: PythonFunction | None = None,
    event_pattern: Mapping[str, Any] | None = None,
    schedule_expression: str | None = None,
    event_bus_name: pulumi.Input[str] | None = None,
    input_transformer: aws.cloudwatch.EventTargetInputTransformerArgsDict | None = None,
    role_arn: pulumi.Input[str] | None = None,
    max_event_age_seconds: int = 3600,
    max_retries: int = 10,
) -> RuleTarget:
    """A rule (pattern or schedule), its single target (``function``, which it may invoke, or
    any other ``target_arn``), the target's DLQ and their alarms, on the platform's key and
    alert ladder."""
    if (event_pattern is None) == (schedule_expression is None):
        raise ValueError("a rule needs exactly one of event_pattern and schedule_expression")
    if (target_arn is None) == (function is None):
        raise ValueError("a rule needs exactly one of target_arn and function")
    key_arn, ladder = platform.key_arn, platform.alerts
    child = pulumi.ResourceOptions(parent=parent)
    rule = aws.cloudwatch.EventRule(
        name,
        description=description,
        event_bus_name=event_bus_name,
        event_pattern=json.dumps(event_pattern, sort_keys=True) if event_pattern else None,
        schedule_expression=schedule_expression,
        state="ENABLED",
        opts=child,
    )
    dead_letters = queues.encrypted_queue(
        f"{name}-dlq",
        key_arn=key_arn,
        parent=parent,
        senders=[queues.ServiceSender("events.amazonaws.com", rule.arn)],
    )
    if function is not None:
        target_arn = function.function_arn
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=function.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
            opts=child,
        )
    target = aws.cloudwatch.EventTarget(
        f"{name}-target",
        rule=rule.name,
        event_bus_name=event_bus_name,
        arn=target_arn,
        role_arn=role_arn,
        input_transformer=input_transformer,
        retry_policy={
            "maximum_event_age_in_seconds": max_event_age_seconds,
            "maximum_retry_attempts": max_retries,
        },
        dead_letter_config={"arn": dead_letters.arn},
        opts=child,
    )
    created: list[aws.cloudwatch.MetricAlarm] = []
    if ladder is not None:
        dimensions: dict[str, pulumi.Input[str]] = {"RuleName": rule.name}
        if event_bus_name is not None:
            dimensions["EventBusName"] = event_bus_name
        site = alarms.AlarmSite(parent, ladder)
        failed = site.metric(
            f"{name}-failed-invocations",
            description=f"{description}: deliveries to the target failed",
            metric=alarms.Metric("AWS/Events", "FailedInvocations", dimensions),
        )
        depth = site.queue_depth(
            f"{name}-dlq-depth",
            queue_name=dead_letters.name,
            description=f"{description}: events gave up and wait in the dead-letter queue",
        )
        created = [failed, depth]
    return RuleTarget(rule=rule, target=target, dead_letter_queue=dead_letters, alarms=created)


def forward_to_bus(
    name: str,
    *,
    rule_name: str,
    parent: pulumi.Resource,
    platform: PlatformContext,
    bus_arn: pulumi.Input[str],
    event_pattern: Mapping[str, Any],
    description: str,
    role_description: str,
) -> RuleTarget:
    """A rule on the default bus that forwards what ``event_pattern`` matches to the training
    bus, and the role EventBridge assumes for it (`events:PutEvents` on that bus alone): AWS
    services emit to the default bus only, and features that record their signals (SageMaker,
    Run Command) each forward them this way."""
    forwarder = service_role(
        f"{name}-forward",
        service="events",
        ctx=platform.ctx,
        parent=parent,
        description=role_description,
        statements=[iam.allow(["events:PutEvents"], [bus_arn], sid="ToTrainingBus")],
    )
    return rule_with_target(
        rule_name,
        parent=parent,
        platform=platform,
        description=description,
        event_pattern=event_pattern,
        target_arn=bus_arn,
        role_arn=forwarder.role.arn,
    )
