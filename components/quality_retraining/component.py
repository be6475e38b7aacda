"""QualityRetraining: a model that gets worse is retrained, through the training queue.

A quality signal of a model is
* a CloudWatch alarm named `trainops-<stack>--<model>--quality...` entering ALARM: alarms on
  Model Monitor or Clarify violations, or on any metric a team watches, named by that
  convention. One rule on the default bus matches every such alarm of the stack by name prefix,
  so it stays the same size for any number of models and alarms;
* with `qualityRetraining.biasAlarms`, this component's own alarms on the model's published
  bias metrics (the bounds of `biasMonitoring.alarms`), named by the same convention and
  notifying the warning topic;
* an event matching one of the model's `qualityRetraining.eventPatterns` (one rule each, its
  input rewritten to name the model).

The `quality_trigger` function turns a signal into a training request with trigger `quality` on
the training queue, so deduplication, training slots, back-pressure and retries apply as to any
request. A per-model cooldown and a circuit breaker (at most `maxPerDay` quality retrains per
model and UTC day, then one critical alert instead) are kept in a DynamoDB ledger with
conditional writes, so a flapping alarm cannot retrain forever and concurrent signals cannot
both pass. Every signal is recorded as domain events (QualityDegraded, then RetrainRequested or
RetrainSuppressed) when event sourcing is on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import bias_metrics, iam, naming
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.event_rules import RuleTarget, rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.model_config import ModelConfig
from components.quality_retraining.config import QualityRetrainingConfig
from trainops_runtime.quality_signals import QUALITY_MARKER
from trainops_runtime.settings import QualityTriggerSettings

# Signals of many models at once queue up behind this cap (EventBridge invokes asynchronously
# and retries); each signal takes a read, a conditional write and a send.
TRIGGER_CONCURRENCY = 2
# What the function receives from a pattern rule: the model, named by the rule, and the event.
SIGNAL_PATHS = {"id": "$.id", "source": "$.source", "detailType": "$.detail-type", "time": "$.time"}


def quality_alarm_name(model: str, *parts: str) -> str:
    """`trainops-<stack>--<model>--quality[-<parts>]`: the name that makes an alarm a quality
    signal of ``model`` (CloudWatch allows 255 characters)."""
    name = "-".join([naming.model_prefix() + model + QUALITY_MARKER, *parts])
    if len(name) > 255:
        raise ValueError(f"alarm name {name!r} is longer than CloudWatch's 255 characters")
    return name


def quality_alarm_pattern(stack: str) -> dict[str, Any]:
    """Every alarm of this stack named as a quality signal, entering ALARM (by name prefix: the
    function tells the models apart, so the pattern does not grow with them)."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {
            "alarmName": [{"prefix": naming.model_prefix(stack)}],
            "state": {"value": ["ALARM"]},
        },
    }


def signal_template(model: str) -> str:
    """The input a pattern rule sends: the model it is about, and the matched event's identity."""
    fields = ", ".join(f'"{key}": <{key}>' for key in SIGNAL_PATHS)
    return f'{{"qualitySignal": {{"model": {json.dumps(model)}, {fields}}}}}'


def catalog_with_quality(
    model_catalog: Mapping[str, Mapping[str, Any]], models: Mapping[str, ModelConfig]
) -> dict[str, dict[str, Any]]:
    """The catalog quality_trigger reads: each model says whether its signals may retrain it."""
    return {
        model: {
            **entry,
            "qualityRetraining": model in models and models[model].quality_retraining.enabled,
        }
        for model, entry in model_catalog.items()
    }


@dataclass
class QualityRetrainingArgs:
    config: QualityRetrainingConfig
    platform: PlatformContext
    # The training queue quality retrains are sent to (TrainingQueue's).
    request_queue_url: pulumi.Input[str]
    request_queue_arn: pulumi.Input[str]


class QualityRetraining(pulumi.ComponentResource):
    """The ledger, the quality_trigger function, its rules and the bias quality alarms."""

    ledger_table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: QualityRetrainingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:quality:QualityRetraining", name, None, opts)
        config, platform = args.config, args.platform
        alerts = platform.required_alerts("qualityRetraining")
        stack = pulumi.get_stack()
        models = {m: c for m, c in platform.models.items() if c.quality_retraining.enabled}

        ledger = aws.dynamodb.Table(
            f"{name}-ledger",
            name=naming.physical_name("quality-ledger", max_length=255),
            billing_mode="PAY_PER_REQUEST",
            hash_key="model",
            attributes=[{"name": "model", "type": "S"}],
            server_side_encryption={"enabled": True, "kms_key_arn": platform.key_arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        function = PythonFunction(
            f"{name}-trigger",
            PythonFunctionArgs(
                platform=platform.with_catalog(
                    catalog_with_quality(platform.model_catalog, platform.models)
                ),
                description="trainops: turns a model's quality signals into training requests",
                reserved_concurrency=TRIGGER_CONCURRENCY,
                memory_mb=256,
                timeout_seconds=30,
                statements=[
                    iam.allow(
                        ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                        [ledger.arn],
                        sid="KeepTheLedger",
                    ),
                    iam.allow(["sqs:SendMessage"], [args.request_queue_arn], sid="QueueRequests"),
                    iam.allow(["sns:Publish"], [alerts.critical_topic_arn], sid="AlertBreaker"),
                    iam.use_key(platform.key_arn, sid="StackKey"),
                    *platform.publish_statements(),
                ],
                settings=QualityTriggerSettings(
                    training_queue_url=args.request_queue_url,
                    ledger_table=ledger.name,
                    alarm_prefix=naming.model_prefix(),
                    cooldown_minutes=config.cooldown_minutes,
                    max_per_day=config.max_per_day,
                    critical_topic_arn=alerts.critical_topic_arn,
                    event_bus=platform.event_bus_name,
                ),
                invoked_asynchronously=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        alarm_rule = rule_with_target(
            f"{name}-alarms",
            parent=self,
            platform=platform,
            description=f"trainops {stack}: quality alarms of the stack's models",
            event_pattern=quality_alarm_pattern(stack),
            function=function,
        )
        # per-model rules stay off the dashboard, which is the same for 3 or 500 models
        self._pattern_rules(name, platform, models, function)
        bias_alarms = self._bias_alarms(name, platform, models)

        self.ledger_table_name = ledger.name
        self.function_name = function.function_name
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=[
                alarm_rule.dead_letter_queue.name,
                *([function.failure_queue_name] if function.failure_queue_name else []),
            ],
            functions=[function.function_name],
            alarms=[*function.alarms, *alarm_rule.alarms],
        )
        self.register_outputs(
            {
                "ledger_table_name": self.ledger_table_name,
                "function_name": self.function_name,
                "bias_alarm_names": [alarm.name for alarm in bias_alarms],
            }
        )

    def _pattern_rules(
        self,
        name: str,
        platform: PlatformContext,
        models: Mapping[str, ModelConfig],
        function: PythonFunction,
    ) -> list[RuleTarget]:
        """One rule per configured event pattern, its input rewritten to name the model."""
        return [
            rule_with_target(
                f"{name}-{model}-{index}",
                parent=self,
                platform=platform,
                description=f"trainops {pulumi.get_stack()}: quality signal {index} of {model}",
                event_pattern=pattern,
                function=function,
                input_transformer={
                    "input_paths": SIGNAL_PATHS,
                    "input_template": signal_template(model),
                },
            )
            for model, config in sorted(models.items())
            for index, pattern in enumerate(config.quality_retraining.event_patterns)
        ]

    def _bias_alarms(
        self, name: str, platform: PlatformContext, models: Mapping[str, ModelConfig]
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """Alarms on the published bias metrics of the models that take them as quality
        signals: this component's own (monitoring's alarms page people; these retrain), named as
        quality signals and telling the warning tier that a retrain is on its way."""
        alerts = platform.required_alerts("qualityRetraining")
        warning = alerts.warning_topic_arn
        created = []
        for model, config in sorted(models.items()):
            if not config.quality_retraining.bias_alarms or config.bias_monitoring is None:
                continue
            for alarm in config.bias_monitoring.alarms:
                for bound in bias_metrics.bias_bounds(model, config, alarm):
                    signal = bound.metric.signal(bound.condition.period_seconds, "")
                    created.append(
                        aws.cloudwatch.MetricAlarm(
                            f"{name}-{model}-bias-{bound.suffix}",
                            name=quality_alarm_name(model, "bias", bound.suffix),
                            alarm_description=f"quality signal: {bound.description}",
                            threshold=bound.condition.threshold,
                            comparison_operator=bound.condition.comparison,
                            treat_missing_data=bound.condition.treat_missing_data,
                            evaluation_periods=bound.condition.evaluation_periods,
                            datapoints_to_alarm=bound.condition.evaluation_periods,
                            alarm_actions=[warning],
                            ok_actions=[warning],
                            opts=pulumi.ResourceOptions(parent=self),
                            **signal,
                        )
                    )
        return created
