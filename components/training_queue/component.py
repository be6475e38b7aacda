"""TrainingQueue: an SQS-fed training pipeline with back-pressure, completion and re-queueing.

Producers put `TrainingRequest` messages (schema: `schemas/training-request.schema.json`) on a
FIFO queue, one message group per model. The `queue_worker` Lambda starts pipeline executions
without exceeding `maxConcurrentTrainings`, counting what runs in the training-slot ledger (a
DynamoDB table this component owns; schedule ticks and the stall check use it too); requests
that can never succeed go to the FIFO dead-letter queue with their reason. When an execution
ends, `training_outcome` frees its slot, records success, re-queues retryable failures with
attempt + 1 up to `maxAttempts`, and alerts on final failures.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.platform import alarms, iam, naming, queues, spend
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.event_rules import rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.sagemaker import (
    PIPELINE_EXECUTION_EVENT,
    execution_arns,
    pipeline_arn_match,
    start_statements,
)
from components.platform.training_slots import TrainingSlotsRef, slots_table
from components.training_queue.config import TrainingQueueConfig
from trainops_runtime.adapters.request_queue import MAX_MESSAGE_BYTES, queue_name
from trainops_runtime.settings import (
    QueueWorkerSettings,
    SlotKeeperSettings,
    TrainingOutcomeSettings,
)

VISIBILITY_FACTOR = 6  # AWS: visibility timeout at least six times the function timeout
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
# Concurrent outcome handlers (checkov CKV_AWS_115): executions end about as often as they
# start, at most maxConcurrentTrainings at a time; throttled status events are retried.
OUTCOME_CONCURRENCY = 2


@dataclass
class TrainingQueueArgs:
    config: TrainingQueueConfig
    platform: PlatformContext
    # Schedule the slot keeper here. With monitoring, its stall check keeps the ledger on the
    # listing it makes anyway; a stack without monitoring needs the queue to do it.
    keep_slots: bool = False


# How often the slot keeper sweeps when the queue runs it (the stall check's default, too).
SLOT_KEEPER_SCHEDULE = "rate(5 minutes)"


def outcome_pattern(ctx: iam.AwsContext, stack: str) -> dict:
    """End states of every execution of this stack's pipelines (by name prefix)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [PIPELINE_EXECUTION_EVENT],
        "detail": {
            "currentPipelineExecutionStatus": ["Succeeded", "Failed", "Stopped"],
            "pipelineArn": pipeline_arn_match(ctx, stack),
        },
    }


class TrainingQueue(pulumi.ComponentResource):
    """FIFO queue + DLQ, worker, outcome handler, alarms (see the module docstring)."""

    training_slots_table: str
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dead_letter_queue_url: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: TrainingQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:queue:TrainingQueue", name, None, opts)
        config, ctx = args.config, args.platform.ctx
        stack = pulumi.get_stack()
        child = pulumi.ResourceOptions(parent=self)
        if not args.platform.model_catalog:
            raise ValueError("trainingQueue is enabled but no models are configured")
        slug = naming.stack_slug()

        dead_letters = queues.encrypted_queue(
            f"{name}-dlq",
            key_arn=args.platform.key_arn,
            parent=self,
            fifo=True,
            physical_name=f"trainops-{slug}-training-requests-dlq.fifo",
            retention_seconds=DLQ_RETENTION_SECONDS,
            # explicit (new queues default to 1 MiB): the worker's summary of a body that would
            # not fit beside its reject reason is sized for this limit
            max_message_size=MAX_MESSAGE_BYTES,
        )
        queue = queues.encrypted_queue(
            f"{name}-requests",
            key_arn=args.platform.key_arn,
            parent=self,
            fifo=True,
            physical_name=queue_name(slug),
            content_based_deduplication=True,  # producers that set no deduplication id
            deduplication_scope="messageGroup",
            fifo_throughput_limit="perMessageGroupId",
            retention_seconds=config.retention_seconds,
            visibility_timeout_seconds=VISIBILITY_FACTOR * config.worker_timeout_seconds,
            redrive_to=dead_letters,
            max_receive_count=config.effective_max_receive_count,
            # 256 KiB, not the 1 MiB default: a batch of 10 stays under Lambda's 6 MB payload
            max_message_size=MAX_MESSAGE_BYTES,
        )

        # Which models train now: one item, claimed and released conditionally (slots.py).
        training_slots = TrainingSlotsRef.for_stack(ctx)
        slots_table(f"{name}-slots", training_slots, key_arn=args.platform.key_arn, parent=self)

        common_statements = [
            iam.use_key(args.platform.key_arn, sid="StackKey"),
            *args.platform.publish_statements(),
        ]

        worker = PythonFunction(
            f"{name}-worker",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: starts training requests from the queue, with back-pressure",
                memory_mb=256,
                timeout_seconds=config.worker_timeout_seconds,
                statements=[
                    *start_statements(ctx, stack, read_executions=False),
                    iam.allow(
                        [
                            "sqs:ChangeMessageVisibility",
                            "sqs:DeleteMessage",
                            "sqs:GetQueueAttributes",
                            "sqs:ReceiveMessage",
                        ],
                        [queue.arn],
                        sid="ConsumeRequests",
                    ),
                    iam.allow(["sqs:SendMessage"], [dead_letters.arn], sid="RejectToDeadLetters"),
                    training_slots.statement(read=True),
                    *args.platform.approved_metric_statements(),
                    *spend.refusal_statements(args.platform),
                    *common_statements,
                ],
                settings=QueueWorkerSettings(
                    max_concurrent_trainings=config.max_concurrent_trainings,
                    training_queue_url=queue.url,
                    dlq_url=dead_letters.url,
                    backoff_base_seconds=config.backoff_base_seconds,
                    backoff_max_seconds=config.backoff_max_seconds,
                    slots_table=training_slots.name,
                    event_bus=args.platform.event_bus_name,
                    warning_topic_arn=spend.refusal_topic(args.platform),
                ),
                reserved_concurrency=config.worker_concurrency,
            ),
            opts=child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-worker-source",
            event_source_arn=queue.arn,
            function_name=worker.function_arn,
            batch_size=config.batch_size,
            function_response_types=["ReportBatchItemFailures"],
            scaling_config={"maximum_concurrency": config.worker_concurrency},
            enabled=True,
            opts=child,
        )

        outcome_statements = [
            iam.allow(
                [
                    "sagemaker:DescribePipelineExecution",
                    "sagemaker:ListPipelineExecutionSteps",
                    "sagemaker:ListPipelineParametersForExecution",
                ],
                [execution_arns(ctx, stack)],
                sid="ReadOwnExecutions",
            ),
            iam.allow(["sqs:SendMessage"], [queue.arn], sid="Requeue"),
            training_slots.statement(read=False),
            training_slots.event_records_statement(PythonFunction.physical_name(f"{name}-outcome")),
            *common_statements,
        ]
        alerts = args.platform.alerts
        outcome_settings = TrainingOutcomeSettings(
            max_attempts=config.max_attempts,
            training_queue_url=queue.url,
            critical_topic_arn=alerts.critical_topic_arn if alerts else None,
            success_topic_arn=alerts.warning_topic_arn
            if alerts and config.notify_success
            else None,
            slots_table=training_slots.name,
            event_bus=args.platform.event_bus_name,
        )
        if alerts is not None:
            notify_topics = [alerts.critical_topic_arn]
            if config.notify_success:
                notify_topics.append(alerts.warning_topic_arn)
            outcome_statements.append(iam.allow(["sns:Publish"], notify_topics, sid="Alert"))
        outcome = PythonFunction(
            f"{name}-outcome",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: records finished trainings, re-queues retryable failures",
                reserved_concurrency=OUTCOME_CONCURRENCY,
                memory_mb=256,
                timeout_seconds=60,
                statements=outcome_statements,
                settings=outcome_settings,
                invoked_asynchronously=True,
            ),
            opts=child,
        )
        outcome_rule = rule_with_target(
            f"{name}-outcome",
            parent=self,
            platform=args.platform,
            description=f"trainops {stack}: pipeline executions ended",
            event_pattern=outcome_pattern(ctx, stack),
            function=outcome,
        )

        first_tier = [*worker.alarms, *outcome.alarms, *outcome_rule.alarms]
        functions: list[pulumi.Input[str]] = [worker.function_name, outcome.function_name]
        if args.keep_slots:
            keeper = self._slot_keeper(name, args, training_slots)
            first_tier += keeper.alarms
            functions.append(keeper.function_name)
        if args.platform.alerts is not None:
            site = alarms.AlarmSite(self, args.platform.alerts)
            # a request may wait for its model's running training without anything being wrong
            oldest_minutes = config.oldest_request_alarm_minutes(args.platform.models)
            dlq_alarm = site.queue_depth(
                f"{name}-dlq-depth",
                queue_name=dead_letters.name,
                description=f"trainops {stack}: training requests were rejected or gave up",
            )
            age_alarm = site.metric(
                f"{name}-oldest-request-age",
                description=(
                    f"trainops {stack}: a training request waited more than "
                    f"{oldest_minutes} minutes"
                ),
                metric=alarms.Metric(
                    "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": queue.name}, "Maximum"
                ),
                condition=alarms.Condition(threshold=oldest_minutes * 60, period_seconds=300),
            )
            first_tier += [dlq_alarm, age_alarm]

        self.training_slots_table = training_slots.name
        self.queue_url = queue.url
        self.queue_arn = queue.arn
        self.dead_letter_queue_url = dead_letters.url
        self.dashboard_sources = DashboardSources(
            queues=[queue.name],
            dead_letter_queues=[
                dead_letters.name,
                outcome_rule.dead_letter_queue.name,
                *([outcome.failure_queue_name] if outcome.failure_queue_name else []),
            ],
            functions=functions,
            alarms=first_tier,
        )
        self.register_outputs(
            {
                "training_slots_table": self.training_slots_table,
                "queue_url": self.queue_url,
                "queue_arn": self.queue_arn,
                "dead_letter_queue_url": self.dead_letter_queue_url,
            }
        )

    def _slot_keeper(
        self,
        name: str,
        args: TrainingQueueArgs,
        training_slots: TrainingSlotsRef,
    ) -> _SlotKeeper:
        """The slot keeper on its own schedule (see `slot_keeper`): lists this stack's running
        executions and repairs the ledger."""
        ctx = args.platform.ctx
        function = PythonFunction(
            f"{name}-slot-keeper",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: keeps the training-slot ledger true to what runs",
                memory_mb=256,
                timeout_seconds=120,
                statements=[
                    *start_statements(ctx, pulumi.get_stack(), start=False),
                    *training_slots.statements(args.platform.key_arn),
                ],
                settings=SlotKeeperSettings(slots_table=training_slots.name),
                reserved_concurrency=1,  # one sweep at a time
                invoked_asynchronously=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        schedule = rule_with_target(
            f"{name}-slot-keeper",
            parent=self,
            platform=args.platform,
            description=f"trainops {pulumi.get_stack()}: training-slot ledger sweep",
            schedule_expression=SLOT_KEEPER_SCHEDULE,
            function=function,
            max_event_age_seconds=600,  # a late sweep is useless; the next one comes soon
            max_retries=2,
        )
        return _SlotKeeper(
            function_name=function.function_name, alarms=[*function.alarms, *schedule.alarms]
        )


@dataclass
class _SlotKeeper:
    function_name: pulumi.Output[str]
    alarms: list[aws.cloudwatch.MetricAlarm]
