"""MaintenanceWindowRetraining: retraining on the team's own hosts in an SSM maintenance window.

For teams that train on their own EC2/GPU hosts instead of SageMaker. The window selects
instances **by tag** (or a resource group), never by instance id; each model is one Run Command
task that runs the `trainops-<stack>-retrain` Command document, whose typed, pattern-checked
parameters replace raw shell strings. Systems Manager allows 20 tasks per window: with more
than 20 models, the window's 20 tasks each retrain a share of them, one after another, in the
same command (`task_slots`). Tasks are slots (`<name>-task-<n>`), so adding or removing a model
updates tasks in place and never has the window hold more than 20, even during a deployment.
Output goes to the artifacts bucket (encrypted) and a CloudWatch log group; failures, time-outs
and cancellations notify the warning topic through a service role that may do just that. Run
Command status changes are forwarded to the training event bus when event sourcing is on.

The window's API values are built by the pure functions of `specs`, in the shape
of the SSM API, so tests can hand exactly those values to SSM (moto).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.maintenance_window.config import MaintenanceWindowConfig
from components.maintenance_window.specs import (
    OUTPUT_PREFIX,
    guard_alarm_pattern,
    retrain_document,
    run_command_pattern,
    target_spec,
    task_label,
    task_slots,
    task_spec,
    window_spec,
)
from components.platform import iam, logs, naming
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.data_access import covering_data_statements
from components.platform.event_rules import (
    RuleTarget,
    forward_to_bus,
    rule_with_target,
)
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.roles import service_role
from trainops_runtime.settings import StopMaintenanceSettings


@dataclass
class _Stopper:
    function_name: pulumi.Output[str]
    failure_queue_name: pulumi.Output[str] | None
    alarms: list[aws.cloudwatch.MetricAlarm]
    rule: RuleTarget


@dataclass
class MaintenanceWindowArgs:
    config: MaintenanceWindowConfig
    platform: PlatformContext
    # The platform-critical alarm has a fixed name, so it is known before it exists.
    guard_alarm_name: str | None = None

    @property
    def guard_alarm_arn(self) -> str | None:
        """The guard alarm's ARN (this account and region), when there is one."""
        if self.guard_alarm_name is None:
            return None
        return self.platform.ctx.arn("cloudwatch", f"alarm:{self.guard_alarm_name}")


class MaintenanceWindowRetraining(pulumi.ComponentResource):
    """The window, its tag-based target, the retrain document and its tasks (one per model, or 20
    sharing the models)."""

    window_id: pulumi.Output[str]
    document_name: str
    log_group_name: pulumi.Output[str]
    instance_policy_arn: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: MaintenanceWindowArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:ssm:MaintenanceWindowRetraining", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        storage = args.platform.buckets
        models = list(config.models) or sorted(args.platform.models)
        if not models:
            raise ValueError("maintenanceWindow is enabled but no models are configured")
        self.document_name = naming.physical_name("retrain", max_length=128)

        document = aws.ssm.Document(
            f"{name}-document",
            name=self.document_name,
            document_type="Command",
            document_format="JSON",
            target_type="/AWS::EC2::Instance",
            content=json.dumps(retrain_document(config.command), indent=2),
            opts=child,
        )
        log_group = logs.log_group(
            f"{name}-logs",
            path=f"/trainops/{naming.stack_slug()}/maintenance-window",
            platform=args.platform,
            parent=self,
        )
        notify_topic = (
            args.platform.alerts.warning_topic_arn if args.platform.alerts is not None else None
        )
        role = self._service_role(name, args, document.arn, notify_topic)

        # The task names the document by name: Run Command then reports that name as the
        # `document-name` of its status events, which the forwarding rule matches.
        resolved = pulumi.Output.all(
            document=document.name,
            bucket=storage.artifacts_bucket_name,
            log_group=log_group.name,
            role=role.arn,
            topic=notify_topic if notify_topic is not None else "",
            guard=args.guard_alarm_name
            if config.guard_with_critical_alarm and args.guard_alarm_name
            else "",
        )
        window_id = self._window(name, config)
        target = self._target(name, config, window_id)
        for slot, share in enumerate(task_slots(models)):
            spec_output = resolved.apply(
                lambda r, share=share, slot=slot: task_spec(
                    config,
                    models=share,
                    data_uris=[args.platform.models[model].training_data for model in share],
                    slot=slot,
                    document=r["document"],
                    bucket=r["bucket"],
                    log_group=r["log_group"],
                    notify_topic_arn=r["topic"] or None,
                    service_role_arn=r["role"],
                    guard_alarm=r["guard"],
                )
            )
            aws.ssm.MaintenanceWindowTask(
                f"{name}-task-{slot + 1}",
                window_id=window_id,
                name=task_label(share)[:128],
                description=f"trainops: retrain {', '.join(share)}"[:128],
                task_type="RUN_COMMAND",
                task_arn=document.name,
                service_role_arn=role.arn,
                priority=slot + 1,
                max_concurrency=config.max_concurrency,
                max_errors=config.max_errors,
                cutoff_behavior="CONTINUE_TASK",
                targets=[{"key": "WindowTargetIds", "values": [target]}],
                task_invocation_parameters=spec_output.apply(_pulumi_invocation),
                # Tasks were once named by their model: a stack that had one keeps it.
                opts=pulumi.ResourceOptions(
                    parent=self, aliases=[pulumi.Alias(name=f"{name}-task-{share[0]}")]
                ),
            )

        policy = self._instance_policy(
            name, args, models, log_group.arn, storage.artifacts_bucket_arn
        )
        rules: list[RuleTarget] = []
        functions: list[pulumi.Input[str]] = []
        failure_queues: list[pulumi.Input[str]] = []
        function_alarms: list[aws.cloudwatch.MetricAlarm] = []
        if args.platform.event_bus is not None:
            rules.append(self._forward_run_command_events(name, args))
        if config.guard_with_critical_alarm and args.guard_alarm_name is not None:
            stopper = self._stop_on_critical_alarm(
                name, args, window_id, guard_alarm_name=args.guard_alarm_name
            )
            rules.append(stopper.rule)
            functions.append(stopper.function_name)
            function_alarms += stopper.alarms
            if stopper.failure_queue_name is not None:
                failure_queues.append(stopper.failure_queue_name)
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=[rule.dead_letter_queue.name for rule in rules] + failure_queues,
            functions=functions,
            alarms=[*function_alarms, *(alarm for rule in rules for alarm in rule.alarms)],
        )

        self.window_id = window_id
        self.log_group_name = log_group.name
        self.instance_policy_arn = policy.arn
        self.register_outputs(
            {
                "window_id": self.window_id,
                "document_name": self.document_name,
                "log_group_name": self.log_group_name,
                "instance_policy_arn": self.instance_policy_arn,
            }
        )

    def _window(self, name: str, config: MaintenanceWindowConfig) -> pulumi.Output[str]:
        """The window on the configured schedule."""
        spec = window_spec(config, naming.physical_name("retraining", max_length=128))
        window = aws.ssm.MaintenanceWindow(
            f"{name}-window",
            name=spec["Name"],
            description=spec["Description"],
            schedule=spec["Schedule"],
            schedule_timezone=spec["ScheduleTimezone"],
            duration=spec["Duration"],
            cutoff=spec["Cutoff"],
            allow_unassociated_targets=spec["AllowUnassociatedTargets"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return window.id

    def _target(
        self, name: str, config: MaintenanceWindowConfig, window_id: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        target_args = target_spec(config)
        target = aws.ssm.MaintenanceWindowTarget(
            f"{name}-target",
            window_id=window_id,
            name="training-hosts",
            description="trainops: hosts that retrain models",
            resource_type=target_args["ResourceType"],
            targets=[{"key": t["Key"], "values": t["Values"]} for t in target_args["Targets"]],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return target.id

    def _service_role(
        self,
        name: str,
        args: MaintenanceWindowArgs,
        document_arn: pulumi.Output[str],
        notify_topic: pulumi.Input[str] | None,
    ) -> aws.iam.Role:
        """Runs the document on the selected hosts and publishes failures; nothing more."""
        ctx, config = args.platform.ctx, args.config
        instances = ctx.arn("ec2", "instance/*")
        instance_condition = (
            {
                "StringEquals": {
                    f"ssm:resourceTag/{config.target_tag.key}": list(config.target_tag.values)
                }
            }
            if config.target_tag is not None
            else None
        )

        def grants(role: aws.iam.Role) -> list[iam.Statement]:
            statements = [
                iam.allow(["ssm:SendCommand"], [document_arn], sid="SendRetrainDocument"),
                iam.allow(
                    ["ssm:SendCommand"],
                    [instances],
                    sid="OnTrainingHosts",
                    conditions=instance_condition,
                ),
                # Reading command results supports only Resource "*".
                iam.allow(
                    ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"],
                    "*",
                    sid="FollowCommands",
                ),
                iam.allow(
                    ["iam:PassRole"],
                    [
                        pulumi.Output.concat(
                            f"arn:{ctx.partition}:iam::{ctx.account_id}:role/", role.name
                        )
                    ],
                    sid="PassSelfForNotifications",
                    conditions={
                        "StringEquals": {"iam:PassedToService": ctx.service_principal("ssm")}
                    },
                ),
            ]
            if config.resource_group is not None:
                statements += [
                    iam.allow(
                        ["resource-groups:ListGroupResources"],
                        [ctx.arn("resource-groups", f"group/{config.resource_group}")],
                        sid="ResolveGroup",
                    ),
                    # A tag-query group's members come from tag:GetResources: Resource "*" only.
                    iam.allow(["tag:GetResources"], "*", sid="ResolveGroupMembers"),
                ]
            if notify_topic is not None:
                statements += [
                    iam.allow(["sns:Publish"], [notify_topic], sid="NotifyFailures"),
                    iam.use_key(args.platform.key_arn, sid="EncryptedTopic"),
                ]
            return statements

        return service_role(
            f"{name}-service",
            service="ssm",
            ctx=ctx,
            parent=self,
            description="trainops maintenance window: run the retrain document, notify failures",
            statements=grants,
        ).role

    def _instance_policy(
        self,
        name: str,
        args: MaintenanceWindowArgs,
        models: list[str],
        log_group_arn: pulumi.Output[str],
        artifacts_bucket_arn: pulumi.Input[str],
    ) -> aws.iam.Policy:
        """What the hosts' instance role needs for these tasks; attach it to that role.

        The SSM agent on the host writes the command output (to S3 and CloudWatch Logs) as the
        instance, and the retraining reads the models' data.
        """
        statements = [
            iam.allow(
                ["s3:PutObject"],
                [pulumi.Output.concat(artifacts_bucket_arn, f"/{OUTPUT_PREFIX}/*")],
                sid="WriteCommandOutput",
            ),
            iam.allow(
                ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                [pulumi.Output.concat(log_group_arn, ":*")],
                sid="WriteCommandLogs",
            ),
            # The SSM agent looks its log group up before it writes (AWS's "Configuring
            # CloudWatch Logs for Run Command"); DescribeLogGroups supports only Resource "*".
            iam.allow(["logs:DescribeLogGroups"], "*", sid="FindCommandLogGroup"),
            iam.use_key(args.platform.key_arn, sid="StackKey"),
            # Shared by every model in the window: one prefix per data bucket covers them all,
            # so the policy (6,144 characters at most) does not grow with the models.
            *covering_data_statements(
                args.platform.ctx, [args.platform.models[m].training_data for m in models]
            ),
        ]
        if args.config.guard_with_critical_alarm and args.guard_alarm_arn is not None:
            statements.append(
                iam.allow(
                    ["cloudwatch:DescribeAlarms"], [args.guard_alarm_arn], sid="ReadGuardAlarm"
                )
            )
        return aws.iam.Policy(
            f"{name}-instance-policy",
            description="Attach to the training hosts' instance role (trainops maintenance window)",
            policy=iam.to_json(iam.document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _stop_on_critical_alarm(
        self,
        name: str,
        args: MaintenanceWindowArgs,
        window_id: pulumi.Output[str],
        *,
        guard_alarm_name: str,
    ) -> _Stopper:
        """When the platform-critical alarm fires, running retraining stops (see the handler).

        Stands in for the task's AlarmConfiguration, which the Pulumi providers do not expose.
        """
        ctx = args.platform.ctx
        window_arn = pulumi.Output.concat(
            f"arn:{ctx.partition}:ssm:{ctx.region}:{ctx.account_id}:maintenancewindow/", window_id
        )
        function = PythonFunction(
            f"{name}-stopper",
            PythonFunctionArgs(
                platform=args.platform,
                description="trainops: stop maintenance-window retraining on a critical alarm",
                reserved_concurrency=1,  # one window to stop; a second alarm finds it stopping
                memory_mb=256,
                timeout_seconds=120,
                invoked_asynchronously=True,
                settings=StopMaintenanceSettings(
                    maintenance_window_id=window_id, guard_alarm_name=guard_alarm_name
                ),
                statements=[
                    iam.allow(
                        [
                            "ssm:CancelMaintenanceWindowExecution",
                            "ssm:DescribeMaintenanceWindowExecutions",
                        ],
                        [window_arn],
                        sid="StopOwnWindow",
                    ),
                    # These three support only Resource "*" (no resource-level permissions).
                    iam.allow(
                        [
                            "ssm:CancelCommand",
                            "ssm:DescribeMaintenanceWindowExecutionTaskInvocations",
                            "ssm:DescribeMaintenanceWindowExecutionTasks",
                        ],
                        "*",
                        sid="StopRunningCommands",
                    ),
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        rule = rule_with_target(
            f"{name}-stop-on-critical",
            parent=self,
            platform=args.platform,
            description=f"trainops {pulumi.get_stack()}: stop retraining on a critical alarm",
            event_pattern=guard_alarm_pattern(args.guard_alarm_arn or ""),
            function=function,
        )
        return _Stopper(
            function_name=function.function_name,
            failure_queue_name=function.failure_queue_name,
            alarms=function.alarms,
            rule=rule,
        )

    def _forward_run_command_events(self, name: str, args: MaintenanceWindowArgs) -> RuleTarget:
        """Run Command results of this document go to the training bus (the event store)."""
        assert args.platform.event_bus is not None  # noqa: S101 - checked by the caller
        return forward_to_bus(
            name,
            rule_name=f"{name}-results",
            parent=self,
            platform=args.platform,
            bus_arn=args.platform.event_bus.arn,
            event_pattern=run_command_pattern(self.document_name),
            description=f"trainops {pulumi.get_stack()}: forward maintenance-window results",
            role_description="EventBridge: forward maintenance-window results to the training bus",
        )


def _pulumi_invocation(
    spec: Mapping[str, Any],
) -> aws.ssm.MaintenanceWindowTaskTaskInvocationParametersArgsDict:
    """task_spec's TaskInvocationParameters in pulumi-aws's argument shape."""
    run = spec["TaskInvocationParameters"]["RunCommand"]
    parameters: dict[str, Any] = {
        "comment": run["Comment"],
        "document_version": run["DocumentVersion"],
        "timeout_seconds": run["TimeoutSeconds"],
        "output_s3_bucket": run["OutputS3BucketName"],
        "output_s3_key_prefix": run["OutputS3KeyPrefix"],
        "cloudwatch_config": {
            "cloudwatch_log_group_name": run["CloudWatchOutputConfig"]["CloudWatchLogGroupName"],
            "cloudwatch_output_enabled": run["CloudWatchOutputConfig"]["CloudWatchOutputEnabled"],
        },
        "service_role_arn": run["ServiceRoleArn"],
        "parameters": [
            {"name": key, "values": values} for key, values in sorted(run["Parameters"].items())
        ],
    }
    if "NotificationConfig" in run:
        notification = run["NotificationConfig"]
        parameters["notification_config"] = {
            "notification_arn": notification["NotificationArn"],
            "notification_events": notification["NotificationEvents"],
            "notification_type": notification["NotificationType"],
        }
    return cast(
        "aws.ssm.MaintenanceWindowTaskTaskInvocationParametersArgsDict",
        {"run_command_parameters": parameters},
    )
