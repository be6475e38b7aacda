"""TrainingMonitor: alert topics, escalation, and alarms built from signals SageMaker emits.

* `warning` and `critical` SNS topics, encrypted with the stack key, publishable only by this
  account's alarms and rules (and IAM principals of the account), TLS only; e-mail, HTTPS
  (paging) and optional Slack (AWS Chatbot) subscribers. Other components get the resulting
  `AlertLadder` and put their alarms on it.
* EventBridge rules for failed training jobs (and jobs stopped at MaxRuntimeExceeded) and failed
  pipeline executions of *this* platform, delivering a readable message to `critical`.
* A scheduled stall detector (Lambda) and alarms on what it reports.
* Training-host alarms as Metrics Insights queries, so jobs started after deployment are covered;
  `ExecutionFailed` per pipeline.
* Endpoint alarms, optional endpoint deployment and Clarify bias monitoring per model.
* Optional Incident Manager engagement for escalated alarms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.monitoring.config import MonitoringConfig
from components.monitoring.incident_manager import build_incident_manager
from components.monitoring.model_endpoints import (
    EndpointArgs,
    build_bias_monitoring,
    build_endpoint,
    models_with_endpoints,
)
from components.platform import alarms, iam, naming, topics
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.event_rules import RuleTarget, rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.model_config import ModelConfig
from components.platform.roles import service_role
from components.platform.sagemaker import (
    PIPELINE_EXECUTION_EVENT,
    STACK_TAG,
    TRAINING_JOB_EVENT,
    ExecutionRole,
    execution_arns,
    pipeline_arn_match,
    start_statements,
)
from trainops_runtime import observability
from trainops_runtime.settings import StallDetectorSettings

GPU_FAMILIES = ("ml.g", "ml.p")
TRAINING_HOST_NAMESPACE = "/aws/sagemaker/TrainingJobs"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass
class TrainingMonitorArgs:
    """Monitoring settings plus what it watches and encrypts with."""

    config: MonitoringConfig
    platform: PlatformContext
    # Each model's SageMaker execution role (TrainingPipeline): endpoints and bias jobs run as it.
    execution_roles: Mapping[str, ExecutionRole]


def training_failure_pattern(stack: str) -> dict[str, Any]:
    """Failed training jobs, or jobs stopped at their runtime limit, carrying this stack's tag.

    AWS's sources disagree on the shape of `detail.Tags` (a key -> value map in AWS-authored
    test events, a list of {Key, Value} in the schema registry), so both shapes match.
    """
    failures = [
        {"TrainingJobStatus": ["Failed"]},
        {"TrainingJobStatus": ["Stopped"], "SecondaryStatus": ["MaxRuntimeExceeded"]},
    ]
    tag_shapes = [
        {STACK_TAG: [stack]},
        {"Key": [STACK_TAG], "Value": [stack]},
    ]
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [TRAINING_JOB_EVENT],
        "detail": {
            "$or": [{**failure, "Tags": tags} for failure in failures for tags in tag_shapes],
        },
    }


def pipeline_failure_pattern(ctx: iam.AwsContext, stack: str) -> dict[str, Any]:
    """Failed executions of this stack's pipelines (matched by name prefix, whatever their
    number)."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": [PIPELINE_EXECUTION_EVENT],
        "detail": {
            "currentPipelineExecutionStatus": ["Failed"],
            "pipelineArn": pipeline_arn_match(ctx, stack),
        },
    }


TRAINING_FAILURE_MESSAGE: aws.cloudwatch.EventTargetInputTransformerArgsDict = {
    "input_paths": {
        "job": "$.detail.TrainingJobName",
        "status": "$.detail.TrainingJobStatus",
        "secondary": "$.detail.SecondaryStatus",
        "reason": "$.detail.FailureReason",
        "region": "$.region",
    },
    "input_template": (
        '"trainops: training job <job> is <status> (<secondary>). '
        "Reason: <reason>. "
        'Console: https://<region>.console.aws.amazon.com/sagemaker/home?region=<region>#/jobs/<job>"'
    ),
}
PIPELINE_FAILURE_MESSAGE: aws.cloudwatch.EventTargetInputTransformerArgsDict = {
    "input_paths": {
        "execution": "$.detail.pipelineExecutionArn",
        "name": "$.detail.pipelineExecutionDisplayName",
        "pipeline": "$.detail.pipelineArn",
        "status": "$.detail.currentPipelineExecutionStatus",
        "region": "$.region",
    },
    "input_template": (
        '"trainops: pipeline execution <name> of <pipeline> is <status>. '
        "Execution: <execution>. "
        'Console: https://<region>.console.aws.amazon.com/sagemaker/home?region=<region>#/pipelines"'
    ),
}


class TrainingMonitor(pulumi.ComponentResource):
    """Monitoring and escalation for the training platform (see the module docstring)."""

    ladder: alarms.AlertLadder
    warning_topic_arn: pulumi.Output[str]
    critical_topic_arn: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: TrainingMonitorArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:monitoring:TrainingMonitor", name, None, opts)
        config, ctx = args.config, args.platform.ctx
        stack = pulumi.get_stack()
        child = pulumi.ResourceOptions(parent=self)

        warning = self._topic(f"{name}-warning", "trainops warning", args)
        critical = self._topic(f"{name}-critical", "trainops critical", args)
        # People get both tiers by email; webhooks (a pager, a chat relay) get the critical one.
        subscriptions = [
            *(
                (f"{tier}-email-{index}", topic, "email", address)
                for tier, topic in (("warning", warning), ("critical", critical))
                for index, address in enumerate(config.alert_emails)
            ),
            *(
                (f"critical-webhook-{index}", critical, "https", url)
                for index, url in enumerate(config.alert_webhooks)
            ),
        ]
        for suffix, topic, protocol, endpoint in subscriptions:
            aws.sns.TopicSubscription(
                f"{name}-{suffix}",
                topic=topic.arn,
                protocol=protocol,
                endpoint=endpoint,
                # an HTTPS endpoint confirms by answering, not by a person clicking a link
                endpoint_auto_confirms=True if protocol == "https" else None,
                opts=child,
            )
        if config.slack is not None:
            self._slack(name, config, [warning.arn, critical.arn], ctx)

        response_plan_arn = None
        if config.incident_manager.enabled:
            response_plan_arn = build_incident_manager(
                f"{name}-incidents",
                config.incident_manager,
                region=ctx.region,
                stage_minutes=config.incident_manager.stage_minutes_for(
                    config.escalate_after_minutes
                ),
                critical_topic_arn=critical.arn,
                parent=self,
            ).arn

        self.ladder = alarms.AlertLadder(
            warning_topic_arn=warning.arn,
            critical_topic_arn=critical.arn,
            escalate_after_minutes=config.escalate_after_minutes,
            response_plan_arn=response_plan_arn,
            escalate=config.escalate,
            lambda_throttle_alarms=config.lambda_throttle_alarms,
        )
        # What the monitor builds alarms on its own ladder, which it has just made.
        platform = args.platform.with_alerts(self.ladder)
        first_tier: list[aws.cloudwatch.MetricAlarm] = []
        dead_letter_queues: list[pulumi.Input[str]] = []

        rules: list[RuleTarget] = [
            rule_with_target(
                f"{name}-training-failed",
                parent=self,
                platform=platform,
                description=f"trainops {stack}: training job failed or hit its runtime limit",
                event_pattern=training_failure_pattern(stack),
                target_arn=critical.arn,
                input_transformer=TRAINING_FAILURE_MESSAGE,
            )
        ]
        if args.platform.models:
            pipeline_failed = rule_with_target(
                f"{name}-pipeline-failed",
                parent=self,
                platform=platform,
                description=f"trainops {stack}: pipeline execution failed",
                event_pattern=pipeline_failure_pattern(ctx, stack),
                target_arn=critical.arn,
                input_transformer=PIPELINE_FAILURE_MESSAGE,
            )
            rules.append(pipeline_failed)
            # Failed executions of every pipeline of the stack, counted by the rule that matches
            # them: one alarm (and escalation twin: "executions keep failing") for any number of
            # models, where one ExecutionFailed alarm per pipeline would grow with them.
            executions_failed = alarms.AlarmSite(self, self.ladder).metric(
                f"{name}-pipeline-executions-failed",
                description=f"trainops {stack}: pipeline executions failed",
                metric=alarms.Metric(
                    "AWS/Events", "MatchedEvents", {"RuleName": pipeline_failed.rule.name}
                ),
            )
            first_tier.append(executions_failed)
        for rule in rules:
            first_tier += rule.alarms
            dead_letter_queues.append(rule.dead_letter_queue.name)

        functions: list[pulumi.Input[str]] = []
        if args.platform.models:
            detector = self._stall_detector(name, args)
            functions.append(detector.function_name)
            first_tier += detector.alarms
            dead_letter_queues += detector.dead_letter_queues
            first_tier += self._stall_alarms(name, stack)

        first_tier += self._host_alarms(name, config, args.platform.models)
        # Endpoint and bias alarms are per model: in the alarm console, not on the dashboard.
        self._endpoints(name, args)

        self.warning_topic_arn = warning.arn
        self.critical_topic_arn = critical.arn
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=dead_letter_queues,
            functions=functions,
            pipeline_name_prefix=naming.model_prefix() if args.platform.models else None,
            alarms=first_tier,
            stall_metrics_stack=stack if args.platform.models else None,
        )
        self.register_outputs(
            {
                "warning_topic_arn": self.warning_topic_arn,
                "critical_topic_arn": self.critical_topic_arn,
            }
        )

    # ---- topics --------------------------------------------------------------------------

    def _topic(self, name: str, display_name: str, args: TrainingMonitorArgs) -> aws.sns.Topic:
        return topics.encrypted_topic(
            name,
            display_name=display_name,
            key_arn=args.platform.key_arn,
            ctx=args.platform.ctx,
            parent=self,
        )

    def _slack(
        self,
        name: str,
        config: MonitoringConfig,
        topic_arns: list[pulumi.Output[str]],
        ctx: iam.AwsContext,
    ) -> None:
        """AWS Chatbot posts both topics to Slack; its role and guardrail may only read alarms."""
        assert config.slack is not None  # noqa: S101 - checked by the caller
        child = pulumi.ResourceOptions(parent=self)
        read_alarms = iam.document(
            iam.allow(
                ["cloudwatch:DescribeAlarms"],
                [ctx.arn("cloudwatch", "alarm:*")],
                sid="ReadAlarms",
            )
        )
        guardrail = aws.iam.Policy(
            f"{name}-chatbot-guardrail",
            description="Upper bound of what trainops' Slack channel may do: read alarms",
            policy=iam.to_json(read_alarms),
            opts=child,
        )
        role = service_role(
            f"{name}-chatbot",
            service="chatbot",
            ctx=ctx,
            parent=self,
            statements=read_alarms["Statement"],
        ).role
        aws.chatbot.SlackChannelConfiguration(
            f"{name}-slack",
            configuration_name=naming.physical_name("alerts", max_length=128),
            iam_role_arn=role.arn,
            slack_team_id=config.slack.workspace_id,
            slack_channel_id=config.slack.channel_id,
            sns_topic_arns=topic_arns,
            guardrail_policy_arns=[guardrail.arn],
            logging_level="ERROR",
            opts=child,
        )

    # ---- stalls ----------------------------------------------------------------------------

    def _stall_detector(self, name: str, args: TrainingMonitorArgs) -> _Detector:
        ctx, config = args.platform.ctx, args.config
        platform = args.platform.with_alerts(self.ladder)
        stack = pulumi.get_stack()
        statements = [
            *start_statements(ctx, stack, start=False),
            iam.allow(
                ["sagemaker:ListPipelineExecutionSteps"],
                [execution_arns(ctx, stack)],
                sid="ReadExecutionSteps",
            ),
            iam.allow(
                ["sagemaker:DescribeTrainingJob"],
                [ctx.arn("sagemaker", "training-job/pipelines-*")],
                sid="DescribeOwnTrainingJobs",
                conditions={"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": stack}},
            ),
            # A job in `Training` shows progress by writing logs; their streams tell when.
            iam.allow(
                ["logs:DescribeLogStreams"],
                [ctx.arn("logs", f"log-group:{TRAINING_LOG_GROUP}:*")],
                sid="ReadTrainingLogActivity",
            ),
        ]
        if args.platform.training_slots is not None:
            statements += args.platform.training_slots.statements(args.platform.key_arn)
        function = PythonFunction(
            f"{name}-stall-detector",
            PythonFunctionArgs(
                platform=platform,
                description="trainops: reports overrunning and stalled training jobs",
                memory_mb=256,
                timeout_seconds=120,
                statements=statements,
                settings=StallDetectorSettings(
                    overrun_fraction=config.overrun_fraction,
                    stalled_after_minutes=config.stalled_after_minutes,
                    slots_table=args.platform.training_slots.name
                    if args.platform.training_slots
                    else None,
                ),
                reserved_concurrency=1,  # one sweep at a time
                invoked_asynchronously=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        schedule = rule_with_target(
            f"{name}-stall-check",
            parent=self,
            platform=platform,
            description=f"trainops {stack}: periodic stall check",
            schedule_expression=config.stall_check_schedule,
            function=function,
            max_event_age_seconds=600,  # a late sweep is useless; the next one comes soon
            max_retries=2,
        )
        return _Detector(
            function_name=function.function_name,
            alarms=[*function.alarms, *schedule.alarms],
            dead_letter_queues=[
                schedule.dead_letter_queue.name,
                *([function.failure_queue_name] if function.failure_queue_name else []),
            ],
        )

    def _stall_alarms(self, name: str, stack: str) -> list[aws.cloudwatch.MetricAlarm]:
        dimensions = observability.metric_dimensions(stack)
        created = []
        for metric, description in (
            ("OverrunningTrainingJobs", "training jobs are close to their maximum runtime"),
            ("StalledTrainingJobs", "training jobs made no progress"),
            ("OverrunningPipelineExecutions", "pipeline executions are close to their longest run"),
        ):
            warning = alarms.AlarmSite(self, self.ladder).metric(
                f"{name}-{metric.lower()}",
                description=f"trainops {stack}: {description}",
                metric=alarms.Metric(
                    observability.METRICS_NAMESPACE, metric, dimensions, "Maximum"
                ),
            )
            created.append(warning)
        return created

    # ---- training hosts ----------------------------------------------------------------------

    def _host_alarms(
        self, name: str, config: MonitoringConfig, models: Mapping[str, ModelConfig]
    ) -> list[aws.cloudwatch.MetricAlarm]:
        hosts = config.host_alarms
        # One contributor per host: a single full disk or idle GPU alarms even while the other
        # hosts are fine. SageMaker names pipeline jobs without the stack, so these cover every
        # training job of the account in this region.
        # AWS requires GROUP BY and ORDER BY in a multi-time-series alarm; ORDER BY puts the
        # hosts nearest the threshold first (fullest disk, idlest GPU).
        source = f'FROM SCHEMA("{TRAINING_HOST_NAMESPACE}", Host) GROUP BY Host'
        specs = [
            (
                "disk",
                f"SELECT MAX(DiskUtilization) {source} ORDER BY MAX() DESC",
                hosts.disk_percent,
                "GreaterThanThreshold",
                1,
            ),
            (
                "memory",
                f"SELECT MAX(MemoryUtilization) {source} ORDER BY MAX() DESC",
                hosts.memory_percent,
                "GreaterThanThreshold",
                1,
            ),
        ]
        if any(model.instance_type.startswith(GPU_FAMILIES) for model in models.values()):
            specs.append(
                (
                    "gpu-idle",
                    f"SELECT MAX(GPUUtilization) {source} ORDER BY MAX() ASC",
                    hosts.gpu_idle_percent,
                    "LessThanThreshold",
                    max(1, hosts.gpu_idle_minutes // 5),
                )
            )
        created = []
        for label, query, threshold, comparison, periods in specs:
            warning = alarms.AlarmSite(self, self.ladder).metric(
                f"{name}-training-host-{label}",
                description=f"training hosts: {label} {comparison} {threshold}",
                metric=alarms.Query(query),
                condition=alarms.Condition(
                    threshold=threshold, comparison=comparison, evaluation_periods=periods
                ),
            )
            created.append(warning)
        return created

    # ---- endpoints and bias ------------------------------------------------------------------

    def _endpoints(self, name: str, args: TrainingMonitorArgs) -> list[aws.cloudwatch.MetricAlarm]:
        created = []
        for model_name, model in models_with_endpoints(args.platform.models).items():
            endpoint_args = EndpointArgs(
                model_name=model_name,
                model=model,
                platform=args.platform,
                execution_role=args.execution_roles[model_name],
                ladder=self.ladder,
            )
            endpoint_name, endpoint_alarms = build_endpoint(
                f"{name}-{model_name}", endpoint_args, self
            )
            created += endpoint_alarms
            if model.bias_monitoring is not None:
                created += build_bias_monitoring(
                    f"{name}-{model_name}", endpoint_args, endpoint_name, self
                )
        return created


@dataclass
class _Detector:
    function_name: pulumi.Output[str]
    alarms: list[aws.cloudwatch.MetricAlarm]
    dead_letter_queues: list[pulumi.Output[str]]
