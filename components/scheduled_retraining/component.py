"""ScheduledRetraining: EventBridge Scheduler ticks that start retraining safely, for years.

One schedule group per stack and one `aws.scheduler.Schedule` per model (the feature's default
schedule, a per-model override, or opt-out). Each schedule invokes the `start_retraining`
Lambda with the model and the scheduled time; the handler makes the tick idempotent, never
overlaps a running execution, and optionally waits for new data. Every delivery path has a
retry policy and a dead-letter queue that alarms; the Scheduler role may invoke only this
function and write only its DLQ. Start notices come from the handler; finish notices from a rule
on this stack's scheduled executions (their display names start with `sch-`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import alarms, iam, naming, queues, spend, topics
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.data_access import covering_data_statements
from components.platform.event_rules import rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.model_config import ModelConfig
from components.platform.roles import service_role
from components.platform.sagemaker import (
    PIPELINE_EXECUTION_EVENT,
    pipeline_arn_match,
    start_statements,
)
from components.scheduled_retraining.config import ScheduledRetrainingConfig
from trainops_runtime.settings import StartRetrainingSettings
from trainops_runtime.training_request import TRIGGER_CODES

SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"
# Concurrent starts (checkov CKV_AWS_115): the ticks of many models in one minute wait for a
# free instance (Lambda keeps throttled asynchronous events and retries them for up to the
# maximum event age); a start takes about a second, so two drain 120 ticks a minute.
START_CONCURRENCY = 2


@dataclass(frozen=True)
class ModelSchedule:
    """The effective schedule of one model after defaults and overrides."""

    model: str
    expression: str
    timezone: str
    only_when_new_data: bool


def rfc3339_utc(moment: datetime) -> str:
    """`2027-01-01T00:00:00Z`: the form Scheduler's StartDate/EndDate take."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def effective_schedules(
    config: ScheduledRetrainingConfig, models: Mapping[str, ModelConfig]
) -> list[ModelSchedule]:
    """Feature defaults with each model's override; opted-out models are left out."""
    schedules = []
    for name, model in sorted(models.items()):
        override = model.scheduled_retraining
        if not override.enabled:
            continue
        schedules.append(
            ModelSchedule(
                model=name,
                expression=override.schedule or config.schedule,
                timezone=override.timezone or config.timezone,
                only_when_new_data=(
                    config.only_when_new_data
                    if override.only_when_new_data is None
                    else override.only_when_new_data
                ),
            )
        )
    return schedules


@dataclass
class ScheduledRetrainingArgs:
    config: ScheduledRetrainingConfig
    platform: PlatformContext


class ScheduledRetraining(pulumi.ComponentResource):
    """Schedules, the start_retraining function, notifications and their safety nets."""

    schedule_group_name: pulumi.Output[str]
    schedule_names: list[str]
    function_name: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: ScheduledRetrainingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:retraining:ScheduledRetraining", name, None, opts)
        config, ctx = args.config, args.platform.ctx
        child = pulumi.ResourceOptions(parent=self)
        stack = pulumi.get_stack()
        schedules = effective_schedules(config, args.platform.models)
        if not schedules:
            raise ValueError(
                "scheduledRetraining is enabled but every model opted out; "
                "disable the feature instead"
            )
        group_name = naming.physical_name(max_length=64)

        notify_topic_arn: pulumi.Input[str] | None = None
        if config.notifications == "warning":
            alerts = args.platform.required_alerts("scheduledRetraining.notifications: warning")
            notify_topic_arn = alerts.warning_topic_arn
        elif config.notifications == "dedicated":
            notify_topic_arn = self._dedicated_topic(name, config, args).arn

        function = PythonFunction(
            f"{name}-start",
            PythonFunctionArgs(
                # The catalog it ships also says when each model's schedule may start it.
                platform=args.platform.with_catalog(
                    self.catalog_with_schedules(args.platform.model_catalog, schedules)
                ),
                description="trainops: starts scheduled retraining (idempotent, no overlaps)",
                # Ticks of many models at one minute queue up behind this cap (Scheduler
                # invokes asynchronously); each start takes about a second.
                reserved_concurrency=START_CONCURRENCY,
                memory_mb=256,
                timeout_seconds=60,
                statements=self._function_statements(args, schedules, notify_topic_arn),
                settings=StartRetrainingSettings(
                    notify_topic_arn=notify_topic_arn,
                    slots_table=args.platform.training_slots.name
                    if args.platform.training_slots
                    else None,
                    event_bus=args.platform.event_bus_name,
                    warning_topic_arn=spend.refusal_topic(args.platform),
                ),
                invoked_asynchronously=True,
            ),
            opts=child,
        )

        group = aws.scheduler.ScheduleGroup(f"{name}-group", name=group_name, opts=child)
        dead_letters = queues.encrypted_queue(
            f"{name}-dlq", key_arn=args.platform.key_arn, parent=self
        )
        role = self._scheduler_role(name, args, group_name, function.function_arn, dead_letters.arn)

        self.schedule_names = []
        for schedule in schedules:
            window: aws.scheduler.ScheduleFlexibleTimeWindowArgsDict = (
                {"mode": "FLEXIBLE", "maximum_window_in_minutes": config.flexible_window_minutes}
                if config.flexible_window_minutes
                else {"mode": "OFF"}
            )
            aws.scheduler.Schedule(
                f"{name}-{schedule.model}",
                name=schedule.model,
                group_name=group.name,
                description=f"trainops {stack}: retrain {schedule.model}",
                schedule_expression=schedule.expression,
                schedule_expression_timezone=schedule.timezone,
                flexible_time_window=window,
                start_date=rfc3339_utc(config.start_date) if config.start_date else None,
                end_date=rfc3339_utc(config.end_date) if config.end_date else None,
                kms_key_arn=args.platform.key_arn,
                state="ENABLED",
                target={
                    "arn": function.function_arn,
                    "role_arn": role.arn,
                    "input": json.dumps({"model": schedule.model, "scheduledTime": SCHEDULED_TIME}),
                    "retry_policy": {
                        "maximum_event_age_in_seconds": config.max_event_age_minutes * 60,
                        "maximum_retry_attempts": config.retry_attempts,
                    },
                    "dead_letter_config": {"arn": dead_letters.arn},
                },
                opts=child,
            )
            self.schedule_names.append(schedule.model)

        first_tier: list[aws.cloudwatch.MetricAlarm] = list(function.alarms)
        dead_letter_names: list[pulumi.Input[str]] = [dead_letters.name]
        if function.failure_queue_name is not None:
            dead_letter_names.append(function.failure_queue_name)
        if args.platform.alerts is not None:
            warning = alarms.AlarmSite(self, args.platform.alerts).queue_depth(
                f"{name}-dlq-depth",
                queue_name=dead_letters.name,
                description=f"trainops {stack}: Scheduler could not deliver a retraining tick",
            )
            first_tier.append(warning)
        if notify_topic_arn is not None:
            finished = rule_with_target(
                f"{name}-finished",
                parent=self,
                platform=args.platform,
                description=f"trainops {stack}: scheduled retraining finished",
                event_pattern=finished_pattern(ctx, stack),
                target_arn=notify_topic_arn,
                input_transformer=FINISHED_MESSAGE,
            )
            first_tier += finished.alarms
            dead_letter_names.append(finished.dead_letter_queue.name)

        self.schedule_group_name = group.name
        self.function_name = function.function_name
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=dead_letter_names,
            functions=[function.function_name],
            alarms=first_tier,
        )
        self.register_outputs(
            {
                "schedule_group_name": self.schedule_group_name,
                "schedule_names": self.schedule_names,
                "function_name": self.function_name,
            }
        )

    @staticmethod
    def catalog_with_schedules(
        model_catalog: Mapping[str, Mapping[str, Any]], schedules: list[ModelSchedule]
    ) -> dict[str, dict[str, Any]]:
        """The catalog start_retraining reads, with each model's `onlyWhenNewData` setting."""
        fresh = {s.model for s in schedules if s.only_when_new_data}
        return {
            model: {**entry, "onlyWhenNewData": model in fresh}
            for model, entry in model_catalog.items()
        }

    def _function_statements(
        self,
        args: ScheduledRetrainingArgs,
        schedules: list[ModelSchedule],
        notify_topic_arn: pulumi.Input[str] | None,
    ) -> list[iam.Statement]:
        statements = start_statements(args.platform.ctx, pulumi.get_stack(), read_executions=False)
        fresh = [
            args.platform.models[s.model].training_data for s in schedules if s.only_when_new_data
        ]
        if fresh:
            # Listing is what the freshness check needs; reading objects is not. One prefix per
            # bucket covers every model's data, so the policy does not grow with the models.
            statements += covering_data_statements(args.platform.ctx, fresh, read_objects=False)
        if notify_topic_arn is not None:
            statements.append(iam.allow(["sns:Publish"], [notify_topic_arn], sid="NotifyStart"))
            statements.append(iam.use_key(args.platform.key_arn, sid="EncryptedTopic"))
        statements += args.platform.publish_statements()
        statements += args.platform.approved_metric_statements()
        statements += spend.refusal_statements(args.platform)
        if args.platform.training_slots is not None:
            # A tick's claim returns the slot it replaced (ALL_OLD): read as well as update.
            statements += args.platform.training_slots.statements(args.platform.key_arn)
        return statements

    def _scheduler_role(
        self,
        name: str,
        args: ScheduledRetrainingArgs,
        group_name: str,
        function_arn: pulumi.Input[str],
        dlq_arn: pulumi.Input[str],
    ) -> aws.iam.Role:
        """May invoke exactly this function and write exactly its DLQ (both encrypted)."""
        ctx = args.platform.ctx
        return service_role(
            f"{name}-scheduler",
            service="scheduler",
            ctx=ctx,
            parent=self,
            description="EventBridge Scheduler: invoke start_retraining",
            # Scheduler assumes the role on behalf of the schedule *group* (its ARN is the
            # SourceArn AWS sends), not of each schedule.
            source_arn=ctx.arn("scheduler", f"schedule-group/{group_name}"),
            statements=[
                iam.allow(["lambda:InvokeFunction"], [function_arn], sid="InvokeStartRetraining"),
                iam.allow(["sqs:SendMessage"], [dlq_arn], sid="DeadLetters"),
                # Schedules and the DLQ are encrypted with the stack key.
                iam.use_key(args.platform.key_arn, sid="StackKey"),
            ],
        ).role

    def _dedicated_topic(
        self, name: str, config: ScheduledRetrainingConfig, args: ScheduledRetrainingArgs
    ) -> aws.sns.Topic:
        return topics.encrypted_topic(
            f"{name}-notifications",
            display_name="trainops retraining",
            key_arn=args.platform.key_arn,
            ctx=args.platform.ctx,
            parent=self,
            emails=list(config.notification_emails),
        )


def finished_pattern(ctx: iam.AwsContext, stack: str) -> dict[str, Any]:
    """Scheduled executions (display name `sch-...`) of this stack's pipelines reaching an end
    state (only ticks start `sch-` executions, so models that opted out never match)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [PIPELINE_EXECUTION_EVENT],
        "detail": {
            "currentPipelineExecutionStatus": ["Succeeded", "Failed", "Stopped"],
            "pipelineArn": pipeline_arn_match(ctx, stack),
            "pipelineExecutionDisplayName": [{"prefix": f"{TRIGGER_CODES['schedule']}-"}],
        },
    }


FINISHED_MESSAGE: aws.cloudwatch.EventTargetInputTransformerArgsDict = {
    "input_paths": {
        "name": "$.detail.pipelineExecutionDisplayName",
        "status": "$.detail.currentPipelineExecutionStatus",
        "execution": "$.detail.pipelineExecutionArn",
    },
    "input_template": (
        '"trainops: scheduled retraining <name> finished: <status>. Execution: <execution>"'
    ),
}
