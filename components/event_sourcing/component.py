"""TrainingEventStore: every training-workflow fact recorded once, in order per stream, replayable.

* a custom EventBridge bus `trainops-<stack>-training` for the platform's domain events, plus
  SageMaker training-job and pipeline state changes of this stack forwarded from the default bus
  (a rule with a role that may only put events on this bus); a bus policy that lets only this
  account publish; an archive with configurable retention;
* the `recorder` Lambda (rule target with retry policy and DLQ, failure queue, alarms) appends each
  event to the DynamoDB **event store**: on-demand, stack key, PITR, deletion protection,
  streams, Pulumi `protect` in prod;
* raw events to a dedicated versioned, encrypted bucket through Kinesis Data Firehose as JSON
  lines under `events/year=/month=/day=/` (optionally with S3 Object Lock);
* the `projector` Lambda on the table's stream (bisect on error, maximum record age, on-failure
  SQS destination) keeps the **read model** table: per model its current state, per run its
  timeline; `trainops replay` rebuilds it with the same fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.event_sourcing.config import EventSourcingConfig
from components.event_sourcing.notebook import build_notebook
from components.platform import alarms, buckets, iam, logs, naming, queues
from components.platform.context import EventBusRef, PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.event_rules import RuleTarget, forward_to_bus, rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.roles import service_role
from components.platform.sagemaker import (
    PIPELINE_EXECUTION_EVENT,
    STACK_TAG,
    TRAINING_JOB_EVENT,
    pipeline_arn_match,
)
from trainops_runtime import domain_events
from trainops_runtime.settings import ProjectorSettings, RecorderSettings

RECORDED_SOURCES = [domain_events.SOURCE, "aws.sagemaker", "aws.ssm"]
# Concurrent recorders (checkov CKV_AWS_115): a flood on the bus waits (throttled events are
# retried up to the maximum event age, then reach the failure queue) instead of taking the
# account's shared concurrency; fewer writers also means fewer version conflicts per stream.
RECORDER_CONCURRENCY = 4


def events_table_name(stack_slug: str) -> str:
    return f"trainops-{stack_slug}-events"


def read_model_table_name(stack_slug: str) -> str:
    return f"trainops-{stack_slug}-read-model"


def bus_name(stack_slug: str) -> str:
    return f"trainops-{stack_slug}-training"


def forward_pattern(ctx: iam.AwsContext, stack: str) -> dict[str, Any]:
    """This stack's SageMaker pipeline executions (by name prefix) and (tagged) training jobs on
    the default bus."""
    return {
        "source": ["aws.sagemaker"],
        "$or": [
            {"detail-type": [TRAINING_JOB_EVENT], "detail": {"Tags": {STACK_TAG: [stack]}}},
            {
                "detail-type": [TRAINING_JOB_EVENT],
                "detail": {"Tags": {"Key": [STACK_TAG], "Value": [stack]}},
            },
            {
                "detail-type": [PIPELINE_EXECUTION_EVENT],
                "detail": {"pipelineArn": pipeline_arn_match(ctx, stack)},
            },
        ],
    }


def recorder_pattern(account_id: str) -> dict[str, Any]:
    """Everything on the training bus (only this account may publish there, so every event
    carries this account): what the recorder cannot store, it rejects loudly."""
    return {"account": [account_id]}


def raw_events_pattern() -> dict[str, Any]:
    """Everything recorded, except replays (the raw log already holds them)."""
    return {"source": list(RECORDED_SOURCES), "replay-name": [{"exists": False}]}


@dataclass
class TrainingEventStoreArgs:
    config: EventSourcingConfig
    platform: PlatformContext


class TrainingEventStore(pulumi.ComponentResource):
    """Bus, archive, event store, raw log, recorder, projector and read model."""

    bus: EventBusRef
    events_table_name: pulumi.Output[str]
    read_model_table_name: pulumi.Output[str]
    raw_events_bucket_name: pulumi.Output[str]
    archive_name: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: TrainingEventStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:events:TrainingEventStore", name, None, opts)
        config, ctx = args.config, args.platform.ctx
        stack, slug = pulumi.get_stack(), naming.stack_slug()
        protect = (
            config.protect if config.protect is not None else args.platform.environment == "prod"
        )
        child = pulumi.ResourceOptions(parent=self)

        bus = aws.cloudwatch.EventBus(f"{name}-bus", name=bus_name(slug), opts=child)
        aws.cloudwatch.EventBusPolicy(
            f"{name}-bus-policy",
            event_bus_name=bus.name,
            policy=iam.to_json(
                iam.document(
                    iam.allow(
                        ["events:PutEvents"],
                        [bus.arn],
                        sid="OnlyThisAccountPublishes",
                        principals={"AWS": ctx.root_arn},
                    )
                )
            ),
            opts=child,
        )
        archive = aws.cloudwatch.EventArchive(
            f"{name}-archive",
            name=naming.physical_name("training-archive", max_length=48),
            event_source_arn=bus.arn,
            retention_days=config.archive_retention_days,
            description=f"trainops {stack}: every training event, for replay",
            opts=child,
        )
        self.bus = EventBusRef(name=bus.name, arn=bus.arn)
        forward = self._forward_from_default_bus(name, args, bus.arn, stack)

        events_table = self._table(
            f"{name}-events",
            events_table_name(slug),
            args,
            protect,
            hash_key="stream",
            range_key="version",
            stream=True,
        )
        read_table = self._table(
            f"{name}-read-model", read_model_table_name(slug), args, protect, hash_key="id"
        )
        raw_bucket = buckets.secure_bucket(
            f"{name}-raw-events",
            key_arn=args.platform.key_arn,
            parent=self,
            noncurrent_version_days=config.raw_events_noncurrent_days,
            access_logs=args.platform.buckets.access_logs,
            object_lock=buckets.ObjectLock(days=config.immutable_retention_days)
            if config.immutable
            else None,
            protect=protect,
        )
        raw = self._raw_events_log(name, args, bus, raw_bucket)

        recorder = PythonFunction(
            f"{name}-recorder",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: appends training events to the event store, once",
                reserved_concurrency=RECORDER_CONCURRENCY,
                memory_mb=256,
                timeout_seconds=30,
                statements=[
                    iam.allow(
                        ["dynamodb:PutItem", "dynamodb:Query"],
                        [events_table.arn],
                        sid="AppendEvents",
                    ),
                    iam.use_key(args.platform.key_arn, sid="EncryptedTable"),
                ],
                settings=RecorderSettings(event_table=events_table.name),
                invoked_asynchronously=True,
            ),
            opts=child,
        )
        record_rule = rule_with_target(
            f"{name}-record",
            parent=self,
            platform=args.platform,
            description=f"trainops {stack}: record every training event",
            event_bus_name=bus.name,
            event_pattern=recorder_pattern(ctx.account_id),
            function=recorder,
        )

        projector_failures = queues.encrypted_queue(
            f"{name}-projector-failures", key_arn=args.platform.key_arn, parent=self
        )
        projector = PythonFunction(
            f"{name}-projector",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: keeps the read model in step with the event store",
                memory_mb=256,
                timeout_seconds=60,
                statements=[
                    iam.allow(
                        [
                            "dynamodb:DescribeStream",
                            "dynamodb:GetRecords",
                            "dynamodb:GetShardIterator",
                        ],
                        [events_table.stream_arn],
                        sid="ReadChanges",
                    ),
                    # ListStreams supports only Resource "*" (the event source mapping needs it).
                    iam.allow(["dynamodb:ListStreams"], "*", sid="FindStreams"),
                    iam.allow(["dynamodb:Query"], [events_table.arn], sid="ReadEvents"),
                    iam.allow(
                        ["dynamodb:GetItem", "dynamodb:PutItem"],
                        [read_table.arn],
                        sid="WriteReadModel",
                    ),
                    iam.allow(
                        ["sqs:SendMessage"], [projector_failures.arn], sid="FailureDestination"
                    ),
                    iam.use_key(args.platform.key_arn, sid="EncryptedTables"),
                ],
                settings=ProjectorSettings(
                    event_table=events_table.name, read_model_table=read_table.name
                ),
                reserved_concurrency=2,
            ),
            opts=child,
        )
        aws.lambda_.EventSourceMapping(
            f"{name}-projector-source",
            event_source_arn=events_table.stream_arn,
            function_name=projector.function_arn,
            starting_position="TRIM_HORIZON",
            batch_size=100,
            bisect_batch_on_function_error=True,
            maximum_record_age_in_seconds=config.projector_max_record_age_seconds,
            maximum_retry_attempts=10,
            function_response_types=["ReportBatchItemFailures"],
            destination_config={"on_failure": {"destination_arn": projector_failures.arn}},
            opts=child,
        )

        first_tier = [
            *forward.alarms,
            *recorder.alarms,
            *record_rule.alarms,
            *projector.alarms,
            *raw.alarms,
        ]
        if args.platform.alerts is not None:
            site = alarms.AlarmSite(self, args.platform.alerts)
            depth = site.queue_depth(
                f"{name}-projector-failures-depth",
                queue_name=projector_failures.name,
                description=f"trainops {stack}: stream records the projector gave up on",
            )
            lag = site.metric(
                f"{name}-projector-iterator-age",
                description=f"trainops {stack}: the read model lags the event store by > 5 minutes",
                metric=alarms.Metric(
                    "AWS/Lambda",
                    "IteratorAge",
                    {"FunctionName": projector.function_name},
                    "Maximum",
                ),
                condition=alarms.Condition(threshold=300_000, period_seconds=300),
            )
            first_tier += [depth, lag]

        if config.notebook.enabled:
            build_notebook(
                f"{name}-notebook",
                config.notebook,
                ctx=ctx,
                key_arn=args.platform.key_arn,
                artifacts_bucket_arn=args.platform.buckets.artifacts_bucket_arn,
                table_arns=[events_table.arn, read_table.arn],
                parent=self,
            )

        self.events_table_name = events_table.name
        self.read_model_table_name = read_table.name
        self.raw_events_bucket_name = raw_bucket.bucket
        self.archive_name = archive.name
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=[
                record_rule.dead_letter_queue.name,
                projector_failures.name,
                *([recorder.failure_queue_name] if recorder.failure_queue_name else []),
                raw.dead_letter_queue.name,
                forward.dead_letter_queue.name,
            ],
            functions=[recorder.function_name, projector.function_name],
            alarms=first_tier,
        )
        self.register_outputs(
            {
                "bus_name": bus.name,
                "events_table_name": self.events_table_name,
                "read_model_table_name": self.read_model_table_name,
                "raw_events_bucket_name": self.raw_events_bucket_name,
                "archive_name": self.archive_name,
            }
        )

    def _table(
        self,
        name: str,
        table_name: str,
        args: TrainingEventStoreArgs,
        protect: bool,
        *,
        hash_key: str,
        range_key: str | None = None,
        stream: bool = False,
    ) -> aws.dynamodb.Table:
        attributes: list[aws.dynamodb.TableAttributeArgsDict] = [{"name": hash_key, "type": "S"}]
        if range_key:
            attributes.append({"name": range_key, "type": "N"})
        return aws.dynamodb.Table(
            name,
            name=table_name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=hash_key,
            range_key=range_key,
            attributes=attributes,
            server_side_encryption={"enabled": True, "kms_key_arn": args.platform.key_arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=True,
            stream_enabled=stream or None,
            stream_view_type="NEW_IMAGE" if stream else None,
            opts=pulumi.ResourceOptions(parent=self, protect=protect),
        )

    def _forward_from_default_bus(
        self, name: str, args: TrainingEventStoreArgs, bus_arn: pulumi.Output[str], stack: str
    ) -> RuleTarget:
        return forward_to_bus(
            name,
            rule_name=f"{name}-forward-sagemaker",
            parent=self,
            platform=args.platform,
            bus_arn=bus_arn,
            event_pattern=forward_pattern(args.platform.ctx, stack),
            description=f"trainops {stack}: SageMaker state changes to the training bus",
            role_description=(
                "EventBridge: forward this stack's SageMaker events to the training bus"
            ),
        )

    def _raw_events_log(
        self,
        name: str,
        args: TrainingEventStoreArgs,
        bus: aws.cloudwatch.EventBus,
        bucket: aws.s3.Bucket,
    ) -> RuleTarget:
        """Firehose writes every (non-replayed) event as one JSON line, partitioned by date."""
        ctx = args.platform.ctx
        child = pulumi.ResourceOptions(parent=self)
        log_group = logs.log_group(
            f"{name}-raw-events-logs",
            path=f"/trainops/{naming.stack_slug()}/raw-events",
            platform=args.platform,
            parent=self,
        )
        log_stream = aws.cloudwatch.LogStream(
            f"{name}-raw-events-log-stream",
            name="delivery",
            log_group_name=log_group.name,
            opts=child,
        )
        delivery = service_role(
            f"{name}-raw-events-delivery",
            service="firehose",
            ctx=ctx,
            parent=self,
            description="Firehose: write raw training events to their bucket",
            statements=[
                iam.allow(
                    [
                        "s3:AbortMultipartUpload",
                        "s3:GetBucketLocation",
                        "s3:ListBucket",
                        "s3:ListBucketMultipartUploads",
                        "s3:PutObject",
                    ],
                    [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                    sid="WriteRawEvents",
                ),
                iam.use_key(args.platform.key_arn, sid="StackKey"),
                iam.allow(
                    ["logs:PutLogEvents"],
                    [pulumi.Output.concat(log_group.arn, ":*")],
                    sid="DeliveryErrors",
                ),
            ],
        )
        stream = aws.kinesis.FirehoseDeliveryStream(
            f"{name}-raw-events",
            destination="extended_s3",
            server_side_encryption={
                "enabled": True,
                "key_type": "CUSTOMER_MANAGED_CMK",
                "key_arn": args.platform.key_arn,
            },
            extended_s3_configuration={
                "role_arn": delivery.role.arn,
                "bucket_arn": bucket.arn,
                "kms_key_arn": args.platform.key_arn,
                "prefix": (
                    "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
                ),
                "error_output_prefix": (
                    "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/"
                    "day=!{timestamp:dd}/"
                ),
                "buffering_interval": 60,
                "buffering_size": 5,
                "compression_format": "GZIP",
                "processing_configuration": {
                    "enabled": True,
                    "processors": [{"type": "AppendDelimiterToRecord"}],
                },
                "cloudwatch_logging_options": {
                    "enabled": True,
                    "log_group_name": log_group.name,
                    "log_stream_name": log_stream.name,
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[delivery.policy]),
        )
        put = service_role(
            f"{name}-raw-events-put",
            service="events",
            ctx=ctx,
            parent=self,
            description="EventBridge: put training events into the raw-event delivery stream",
            statements=[
                iam.allow(
                    ["firehose:PutRecord", "firehose:PutRecordBatch"],
                    [stream.arn],
                    sid="ToDeliveryStream",
                )
            ],
        )
        return rule_with_target(
            f"{name}-raw-events-rule",
            parent=self,
            platform=args.platform,
            description=f"trainops {pulumi.get_stack()}: raw training events to S3",
            event_bus_name=bus.name,
            event_pattern=raw_events_pattern(),
            target_arn=stream.arn,
            role_arn=put.role.arn,
        )
