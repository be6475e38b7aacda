"""ApprovalDeployment: a version a person approves is deployed to its model's endpoint.

For every model with `endpoint.deployOnApproval` (which needs `deploy: true` and a registered
package group):

* two **rollback alarms** on the endpoint's variant, one-minute periods so they can fire while
  a new fleet bakes: `Invocation5XXErrors` (`trainops-<stack>--<model>--deploy-5xx`) and p99
  `ModelLatency` over three minutes (`...--deploy-latency`), with the endpoint's own thresholds,
  notifying the warning topic. Their names are fixed, so the deploy function names them in each
  deployment's AutoRollbackConfiguration without looking them up; the model's execution role may
  read them (SageMaker checks the rollback alarms as that role);
* an entry in the deploy function's model catalog: the endpoint, its variant, instance type and
  count, the execution role, the stack key, data capture as the Pulumi config has it, the
  blue/green policy and the alarm names.

One `deploy_approved` function serves all of them, invoked by two rules on the default bus that
match this stack by name prefix (the same size for 3 or 500 models): approvals ("SageMaker Model
Package State Change", `ModelApprovalStatus` `Approved`, package group `trainops-<stack>--...`)
and endpoint state changes (endpoint `trainops-<stack>--...`), and by a schedule (`SWEEP_SCHEDULE`)
whose sweep settles deployments whose final state change was lost and deploys approvals that
waited for a busy endpoint. A deployment ledger (DynamoDB, one item per model) remembers the
deployment in flight, which is how a rollback is recognised, and the approval that waits.

Ownership of the endpoint: monitoring creates it (from `modelDataUrl`) and, for these models,
ignores changes to its `endpointConfigName` and `deploymentConfig`, so `pulumi up` never moves it
back to the config Pulumi made; the models and configs of approved versions belong to the
function (docs/operations.md, "Approval-driven deployment").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.approval_deployment.config import ApprovalDeploymentConfig
from components.platform import alarms, bias_metrics, data_access, iam, instance_types, naming
from components.platform.context import PlatformContext
from components.platform.dashboard import DashboardSources
from components.platform.event_rules import rule_with_target
from components.platform.lambda_function import PythonFunction, PythonFunctionArgs
from components.platform.model_config import ROLLBACK_ALARM_WINDOW_SECONDS, ModelConfig
from components.platform.sagemaker import MODEL_TAG, STACK_TAG, ExecutionRole
from trainops_runtime.deployment import (
    ENDPOINT_STATE_CHANGE,
    MAX_NAME,
    PACKAGE_STATE_CHANGE,
    SOURCE,
)
from trainops_runtime.settings import DeployApprovedSettings

# Approvals and state changes of one endpoint are decided one at a time, so the ledger sees them
# in the order they are handled; they are rare, and throttled events wait (Lambda retries them).
DEPLOY_CONCURRENCY = 1
# Rollback alarms evaluate one-minute periods: the whole bake is a few minutes.
ALARM_PERIOD_SECONDS = 60
LATENCY_PERIODS = ROLLBACK_ALARM_WINDOW_SECONDS // ALARM_PERIOD_SECONDS
DEPLOY_MARKER = "--deploy-"
# The sweep: an approval deferred behind a busy endpoint, or a deployment whose final state
# change was lost, waits at most this long (one GetItem per deploying model per run).
SWEEP_SCHEDULE = "rate(10 minutes)"
# The longest version suffix a model's names must leave room for (`-v` and six digits).
VERSION_SUFFIX = "v999999"


def deploy_alarm_name(model: str, kind: str, stack: str | None = None) -> str:
    """`trainops-<stack>--<model>--deploy-<kind>`: a rollback alarm of ``model``'s endpoint."""
    return f"{naming.model_prefix(stack)}{model}{DEPLOY_MARKER}{kind}"


def approval_pattern(stack: str) -> dict[str, Any]:
    """Approvals in any of this stack's package groups (by name prefix: the function tells the
    models apart, so the pattern does not grow with them)."""
    return {
        "source": [SOURCE],
        "detail-type": [PACKAGE_STATE_CHANGE],
        "detail": {
            "ModelPackageGroupName": [{"prefix": naming.model_prefix(stack)}],
            "ModelApprovalStatus": ["Approved"],
        },
    }


def endpoint_pattern(stack: str) -> dict[str, Any]:
    """State changes of this stack's endpoints. Every status: the function asks DescribeEndpoint
    which state the endpoint is in (the event's own spelling, `IN_SERVICE` in AWS's sample, is
    not the API's `InService`)."""
    return {
        "source": [SOURCE],
        "detail-type": [ENDPOINT_STATE_CHANGE],
        "detail": {"EndpointName": [{"prefix": naming.model_prefix(stack)}]},
    }


def deploys_on_approval(models: Mapping[str, ModelConfig]) -> dict[str, ModelConfig]:
    return {
        name: model
        for name, model in sorted(models.items())
        if model.endpoint is not None and model.endpoint.deploy_on_approval
    }


def deployment_entry(
    model_name: str,
    model: ModelConfig,
    *,
    platform: PlatformContext,
    execution_role_arn: pulumi.Input[str],
) -> dict[str, Any]:
    """What the deploy function knows of one model (`trainops_runtime.catalog.DeploymentSpec`)."""
    endpoint = model.endpoint
    assert endpoint is not None  # noqa: S101 - only models with deployOnApproval come here
    policy = endpoint.blue_green
    capture = None
    if endpoint.data_capture:  # as monitoring's endpoint config captures
        capture = {
            "destination": pulumi.Output.concat(
                "s3://", platform.buckets.artifacts_bucket_name, f"/data-capture/{model_name}"
            ),
            "samplingPercent": endpoint.sampling_percent,
            "kmsKeyArn": platform.key_arn,
        }
    local = instance_types.has_local_storage(endpoint.instance_type)
    return {
        "packageGroup": naming.model_name(model_name, max_length=MAX_NAME),
        "endpointName": bias_metrics.endpoint_name_for(model_name, model),
        "variantName": endpoint.variant_name,
        "instanceType": endpoint.instance_type,
        "instanceCount": endpoint.initial_instance_count,
        "executionRoleArn": execution_role_arn,
        "volumeKmsKeyArn": None if local else platform.key_arn,
        "dataCapture": capture,
        "blueGreen": {
            "trafficRouting": policy.traffic_routing,
            "canarySizePercent": policy.canary_size_percent,
            "waitIntervalSeconds": policy.wait_interval_seconds,
            "terminationWaitSeconds": policy.termination_wait_seconds,
            "maximumExecutionTimeoutSeconds": policy.maximum_execution_timeout_seconds,
        },
        "rollbackAlarms": [deploy_alarm_name(model_name, kind) for kind in ("5xx", "latency")],
        "tags": {MODEL_TAG: model_name, STACK_TAG: pulumi.get_stack()},
    }


def catalog_with_deployments(
    platform: PlatformContext, execution_roles: Mapping[str, ExecutionRole]
) -> dict[str, dict[str, Any]]:
    """The catalog deploy_approved reads: each model deployed on approval says where and how."""
    opted = deploys_on_approval(platform.models)
    return {
        model: {
            **entry,
            **(
                {
                    "deployment": deployment_entry(
                        model,
                        opted[model],
                        platform=platform,
                        execution_role_arn=execution_roles[model].arn,
                    )
                }
                if model in opted
                else {}
            ),
        }
        for model, entry in platform.model_catalog.items()
    }


@dataclass
class ApprovalDeploymentArgs:
    config: ApprovalDeploymentConfig
    platform: PlatformContext
    # Each model's SageMaker execution role (TrainingPipeline): a deployed version runs as it.
    execution_roles: Mapping[str, ExecutionRole]


class ApprovalDeployment(pulumi.ComponentResource):
    """The deploy function, its rules and ledger, and each opted-in model's rollback alarms."""

    ledger_table_name: pulumi.Output[str]
    function_name: pulumi.Output[str]
    dashboard_sources: DashboardSources

    def __init__(
        self, name: str, args: ApprovalDeploymentArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:deployment:ApprovalDeployment", name, None, opts)
        platform = args.platform
        alerts = platform.required_alerts("approvalDeployment")
        stack = pulumi.get_stack()
        models = deploys_on_approval(platform.models)
        if not models:
            pulumi.log.warn(
                "approvalDeployment is on, but no model has endpoint.deployOnApproval: approvals "
                "deploy nothing",
                resource=self,
            )
        for model in models:  # every version's name must fit SageMaker's 63 characters
            naming.model_name(model, VERSION_SUFFIX, max_length=MAX_NAME)

        ledger = aws.dynamodb.Table(
            f"{name}-ledger",
            name=naming.physical_name("deployment-ledger", max_length=255),
            billing_mode="PAY_PER_REQUEST",
            hash_key="model",
            attributes=[{"name": "model", "type": "S"}],
            server_side_encryption={"enabled": True, "kms_key_arn": platform.key_arn},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        rollback_alarms = {
            model: self._rollback_alarms(name, platform, model, config)
            for model, config in models.items()
        }
        for model, config in models.items():
            self._execution_role_grants(name, platform, model, config, args.execution_roles[model])
        function = PythonFunction(
            f"{name}-deploy",
            PythonFunctionArgs(
                platform=platform.with_catalog(
                    catalog_with_deployments(platform, args.execution_roles)
                ),
                description="trainops: deploys approved model versions to their endpoints",
                reserved_concurrency=DEPLOY_CONCURRENCY,
                memory_mb=256,
                timeout_seconds=60,
                statements=self._statements(platform, ledger, models),
                settings=DeployApprovedSettings(
                    ledger_table=ledger.name,
                    critical_topic_arn=alerts.critical_topic_arn,
                    event_bus=platform.event_bus_name,
                ),
                invoked_asynchronously=True,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        rules = [
            rule_with_target(
                f"{name}-{kind}",
                parent=self,
                platform=platform,
                description=f"trainops {stack}: {what}",
                event_pattern=pattern,
                function=function,
            )
            for kind, what, pattern in (
                ("approvals", "approved model versions", approval_pattern(stack)),
                ("endpoints", "state changes of the stack's endpoints", endpoint_pattern(stack)),
            )
        ]
        rules.append(
            rule_with_target(
                f"{name}-sweep",
                parent=self,
                platform=platform,
                description=(
                    f"trainops {stack}: settles unseen deployment ends, deploys deferred approvals"
                ),
                schedule_expression=SWEEP_SCHEDULE,
                function=function,
                max_event_age_seconds=600,  # a late sweep is useless; the next one comes soon
                max_retries=2,
            )
        )

        self.ledger_table_name = ledger.name
        self.function_name = function.function_name
        self.dashboard_sources = DashboardSources(
            dead_letter_queues=[
                *(rule.dead_letter_queue.name for rule in rules),
                *([function.failure_queue_name] if function.failure_queue_name else []),
            ],
            functions=[function.function_name],
            alarms=[*function.alarms, *(alarm for rule in rules for alarm in rule.alarms)],
        )
        self.register_outputs(
            {
                "ledger_table_name": self.ledger_table_name,
                "function_name": self.function_name,
                "rollback_alarm_names": {
                    model: [alarm.name for alarm in created]
                    for model, created in rollback_alarms.items()
                },
            }
        )

    def _rollback_alarms(
        self, name: str, platform: PlatformContext, model: str, config: ModelConfig
    ) -> list[aws.cloudwatch.MetricAlarm]:
        """The two alarms SageMaker watches while a new version's fleet bakes: the endpoint's
        5xx errors and p99 latency per minute, with the thresholds monitoring's endpoint alarms
        use per 5 minutes, so a bad version rolls back within the bake."""
        alerts = platform.required_alerts("approvalDeployment")
        endpoint = config.endpoint
        assert endpoint is not None  # noqa: S101 - only models with deployOnApproval come here
        warning = alerts.warning_topic_arn
        dimensions = {
            "EndpointName": bias_metrics.endpoint_name_for(model, config),
            "VariantName": endpoint.variant_name,
        }
        specs = (
            (
                "5xx",
                alarms.Metric("AWS/SageMaker", "Invocation5XXErrors", dimensions),
                alarms.Condition(
                    threshold=endpoint.errors_5xx_threshold, period_seconds=ALARM_PERIOD_SECONDS
                ),
                "the model returned 5xx errors",
            ),
            (
                "latency",
                alarms.Metric("AWS/SageMaker", "ModelLatency", dimensions, "p99"),
                # ModelLatency is published in microseconds.
                alarms.Condition(
                    threshold=endpoint.latency_p99_ms * 1000,
                    comparison="GreaterThanThreshold",
                    period_seconds=ALARM_PERIOD_SECONDS,
                    evaluation_periods=LATENCY_PERIODS,
                ),
                f"p99 model latency above {endpoint.latency_p99_ms} ms",
            ),
        )
        return [
            aws.cloudwatch.MetricAlarm(
                f"{name}-{model}-{kind}",
                name=deploy_alarm_name(model, kind),
                alarm_description=(
                    f"{dimensions['EndpointName']}: {what}; while a deployment bakes, SageMaker "
                    "rolls it back when this alarm fires"
                ),
                threshold=condition.threshold,
                comparison_operator=condition.comparison,
                treat_missing_data=condition.treat_missing_data,
                evaluation_periods=condition.evaluation_periods,
                datapoints_to_alarm=condition.evaluation_periods,
                alarm_actions=[warning],
                ok_actions=[warning],
                opts=pulumi.ResourceOptions(parent=self),
                **metric.signal(condition.period_seconds, ""),
            )
            for kind, metric, condition, what in specs
        ]

    def _execution_role_grants(
        self,
        name: str,
        platform: PlatformContext,
        model: str,
        config: ModelConfig,
        role: ExecutionRole,
    ) -> aws.iam.RolePolicy:
        """What a deployed version needs of its model's execution role beyond what the role
        has: reading its rollback alarms (AWS: the execution role needs cloudwatch:DescribeAlarms
        on them), and pulling the inference image the package names when it is not the training
        image (the role pulls that one already)."""
        ctx = platform.ctx
        statements = [
            iam.allow(
                ["cloudwatch:DescribeAlarms"],
                [
                    ctx.arn("cloudwatch", f"alarm:{deploy_alarm_name(model, kind)}")
                    for kind in ("5xx", "latency")
                ],
                sid="ReadRollbackAlarms",
            )
        ]
        image = config.register_model.inference_image
        if image and image != config.image:
            statements += [
                statement
                for statement in data_access.image_pull_statements(
                    ctx, [image], sid="PullInferenceImage"
                )
                if statement["Sid"] != "EcrLogin"  # the training image's grant has it
            ]
        return aws.iam.RolePolicy(
            f"{name}-{model}-permissions",
            role=role.name,
            policy=iam.to_json(iam.document(*statements)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _statements(
        platform: PlatformContext, ledger: aws.dynamodb.Table, models: Mapping[str, ModelConfig]
    ) -> list[iam.Statement]:
        """The deploy function's grants: this stack's package groups (read), models and endpoint
        configs (create, named `trainops-<stack>--...`), endpoints (read, update), the stack's
        model execution roles (pass, to SageMaker only) and key, the rollback alarms (read),
        its ledger, the critical topic and the training bus. By name prefix, so the policy is
        the same size for any number of models."""
        alerts = platform.required_alerts("approvalDeployment")
        ctx, key = platform.ctx, platform.key_arn
        prefix = naming.model_prefix()

        def own(kind: str) -> str:
            return ctx.arn("sagemaker", f"{kind}/{prefix}*")

        # A config on an instance with local NVMe storage carries no volume key (SageMaker
        # refuses one there); while every opted-in model has EBS volumes, the key is required.
        local = any(
            instance_types.has_local_storage(model.endpoint.instance_type)
            for model in models.values()
            if model.endpoint is not None
        )
        volume_key = "ArnEqualsIfExists" if local else "ArnEquals"
        return [
            iam.allow(
                ["sagemaker:DescribeModelPackage"],
                [ctx.arn("sagemaker", f"model-package/{prefix}*/*")],
                sid="ReadOwnPackages",
            ),
            iam.allow(
                ["sagemaker:CreateModel"],
                [own("model")],
                sid="CreateIsolatedModels",
                conditions={"Bool": {"sagemaker:NetworkIsolation": "true"}},
            ),
            iam.allow(
                ["sagemaker:CreateEndpointConfig"],
                [own("endpoint-config")],
                sid="CreateEncryptedEndpointConfigs",
                conditions={volume_key: {"sagemaker:VolumeKmsKey": key}},
            ),
            iam.allow(
                ["sagemaker:AddTags"],
                [own("model"), own("endpoint-config")],
                sid="TagOnCreate",
                conditions={
                    "StringEquals": {
                        "sagemaker:TaggingAction": ["CreateEndpointConfig", "CreateModel"]
                    }
                },
            ),
            iam.allow(["sagemaker:DescribeEndpoint"], [own("endpoint")], sid="ReadOwnEndpoints"),
            # UpdateEndpoint is authorized on the endpoint and on the config it moves to: only
            # configs this function creates are named by the prefix (Pulumi's are auto-named).
            iam.allow(
                ["sagemaker:UpdateEndpoint"],
                [own("endpoint"), own("endpoint-config")],
                sid="UpdateOwnEndpoints",
            ),
            iam.allow(
                ["iam:PassRole"],
                [f"arn:{ctx.partition}:iam::{ctx.account_id}:role{naming.role_path()}*"],
                sid="PassModelExecutionRoles",
                conditions={
                    "StringEquals": {"iam:PassedToService": ctx.service_principal("sagemaker")}
                },
            ),
            # Encrypted endpoint volumes and captured data go through grants only AWS services
            # may use, made with the caller's permissions when the endpoint is updated.
            iam.allow(
                ["kms:CreateGrant"],
                [key],
                sid="GrantStackKeyToEndpoints",
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            iam.allow(["kms:DescribeKey"], [key], sid="DescribeStackKey"),
            # SageMaker reads the rollback alarms a deployment names: AWS documents that the
            # execution role needs this; whether the caller of UpdateEndpoint does too it does
            # not say, so the function may read these alarms (and no others) as well.
            iam.allow(
                ["cloudwatch:DescribeAlarms"],
                [ctx.arn("cloudwatch", f"alarm:{prefix}*{DEPLOY_MARKER}*")],
                sid="ReadRollbackAlarms",
            ),
            iam.allow(["dynamodb:GetItem", "dynamodb:PutItem"], [ledger.arn], sid="KeepTheLedger"),
            iam.allow(["sns:Publish"], [alerts.critical_topic_arn], sid="AlertRollbacks"),
            iam.use_key(key, sid="StackKey"),
            *platform.publish_statements(),
        ]
