"""Endpoints and bias monitoring of trained models (part of TrainingMonitor).

For a model that declares `endpoint:`, trainops alarms on the signals SageMaker publishes for
endpoints (`Invocation5XXErrors`, p99 `ModelLatency`). With `deploy: true` it also creates the
Model (network isolation), EndpointConfig (stack key, data capture to the artifacts bucket, which
Model Monitor needs) and Endpoint. A model with `biasMonitoring:` gets a Clarify
`ModelBiasJobDefinition` *and* a `MonitoringSchedule` that runs it, with alarms on the bias
metrics it publishes.

With `deployOnApproval`, the endpoint serves whatever version was approved last, deployed by
approval-driven deployment: Pulumi still creates the endpoint (from `modelDataUrl`) but ignores
changes to its `endpointConfigName` and `deploymentConfig`, so `pulumi up` (with or without a
refresh) never moves it back to the config made here; and it never deletes the Model and
EndpointConfig it made (`retain_on_delete`), which the endpoint may still be serving when a
change replaces them. Retiring them is a runbook step (docs/operations.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_aws_native as aws_native
from pulumi_aws_native import sagemaker as sm

from components.platform import alarms, bias_metrics, data_access, iam, instance_types
from components.platform.config_types import S3_URI
from components.platform.context import PlatformContext
from components.platform.model_config import BiasMonitoringConfig, ModelConfig
from components.platform.sagemaker import MODEL_TAG, ExecutionRole

# What approval-driven deployment owns of an endpoint (pulumi_aws `sagemaker.Endpoint` inputs):
# the config it serves and the deployment policy of the last update.
HANDED_OVER_PROPERTIES = ["endpointConfigName", "deploymentConfig"]

# AWS's SageMaker Clarify processing image registries (from the SageMaker Python SDK's
# image_uri_config/clarify.json); other regions set `biasMonitoring.clarifyImage`.
CLARIFY_REGISTRIES = {
    "us-east-1": "205585389593",
    "us-east-2": "211330385671",
    "us-west-1": "740489534195",
    "us-west-2": "306415355426",
}


@dataclass
class EndpointArgs:
    model_name: str
    model: ModelConfig
    platform: PlatformContext
    # The model's own execution role (TrainingPipeline): the endpoint's model and the bias
    # jobs run as it, and their permissions are added to it.
    execution_role: ExecutionRole
    ladder: alarms.AlertLadder


def clarify_image(config: BiasMonitoringConfig, region: str) -> str:
    if config.clarify_image:
        return config.clarify_image
    account = CLARIFY_REGISTRIES.get(region)
    if account is None:
        raise ValueError(
            f"no default SageMaker Clarify image is known for {region}; "
            "set biasMonitoring.clarifyImage"
        )
    return f"{account}.dkr.ecr.{region}.amazonaws.com/sagemaker-clarify-processing:1.0"


def _artifacts(args: EndpointArgs, kind: str) -> pulumi.Output[str]:
    """`arn:...:<bucket>/<kind>/<model>/*`: where this model's endpoint or bias jobs write."""
    return pulumi.Output.concat(
        f"arn:{args.platform.ctx.partition}:s3:::",
        args.platform.buckets.artifacts_bucket_name,
        f"/{kind}/{args.model_name}/*",
    )


def _s3_read_statements(ctx: iam.AwsContext, uris: list[str], sid: str) -> list[iam.Statement]:
    objects, buckets = [], set()
    for uri in uris:
        match = S3_URI.match(uri)
        if match is None:
            raise ValueError(f"not an S3 URI: {uri}")
        objects.append(iam.s3_object_arn(ctx, match["bucket"], match["key"] or ""))
        buckets.add(iam.s3_bucket_arn(ctx, match["bucket"]))
    return [
        iam.allow(["s3:GetObject"], sorted(objects), sid=f"{sid}Objects"),
        iam.allow(["s3:ListBucket"], sorted(buckets), sid=f"{sid}Buckets"),
    ]


def build_endpoint(
    name: str, args: EndpointArgs, parent: pulumi.Resource
) -> tuple[str, list[aws.cloudwatch.MetricAlarm]]:
    """The endpoint (deployed or declared) and its alarms; returns its name and alarms."""
    model, endpoint = args.model, args.model.endpoint
    assert endpoint is not None  # noqa: S101 - callers only pass models with endpoints
    child = pulumi.ResourceOptions(parent=parent)
    endpoint_name = bias_metrics.endpoint_name_for(args.model_name, model)
    if endpoint.deploy:
        image = endpoint.image or model.image
        statements = _s3_read_statements(
            args.platform.ctx, [str(endpoint.model_data_url)], "ReadModelData"
        )
        if endpoint.data_capture:
            statements.append(
                iam.allow(
                    ["s3:PutObject"], [_artifacts(args, "data-capture")], sid="WriteDataCapture"
                )
            )
        if image != model.image:
            statements += [
                statement
                for statement in data_access.image_pull_statements(
                    args.platform.ctx, [image], sid="PullServingImage"
                )
                if statement["Sid"] != "EcrLogin"  # the training image's grant has it
            ]
        permissions = aws.iam.RolePolicy(
            f"{name}-endpoint-permissions",
            role=args.execution_role.name,
            policy=iam.to_json(iam.document(*statements)),
            opts=child,
        )
        # Approved versions take over the endpoint: what Pulumi made here may still serve it
        # when a change replaces it, so Pulumi never deletes it.
        handed_over = endpoint.deploy_on_approval
        # The endpoint's instances are the model's cost: its budget (filtered on the tag) counts
        # them, as it counts its training jobs.
        model_tag = {MODEL_TAG: args.model_name}
        sagemaker_model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=args.execution_role.arn,
            enable_network_isolation=True,
            primary_container={"image": image, "model_data_url": endpoint.model_data_url},
            tags=model_tag,
            opts=pulumi.ResourceOptions(
                parent=parent, depends_on=[permissions], retain_on_delete=handed_over or None
            ),
        )
        config_args: dict = {
            "tags": model_tag,
            "production_variants": [
                {
                    "variant_name": endpoint.variant_name,
                    "model_name": sagemaker_model.name,
                    "instance_type": endpoint.instance_type,
                    "initial_instance_count": endpoint.initial_instance_count,
                }
            ],
        }
        if not instance_types.has_local_storage(endpoint.instance_type):
            config_args["kms_key_arn"] = args.platform.key_arn  # local NVMe is hardware-encrypted
        if endpoint.data_capture:
            config_args["data_capture_config"] = {
                "enable_capture": True,
                "initial_sampling_percentage": endpoint.sampling_percent,
                "destination_s3_uri": pulumi.Output.concat(
                    "s3://",
                    args.platform.buckets.artifacts_bucket_name,
                    f"/data-capture/{args.model_name}",
                ),
                "kms_key_id": args.platform.key_arn,
                "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
            }
        # Auto-named `<logical name>-<7 characters>`, which SageMaker caps at 63: with the
        # component's name and a 32-character model this short logical name still fits.
        endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            # its earlier logical name: an existing config is kept, not replaced
            opts=pulumi.ResourceOptions(
                parent=parent,
                aliases=[pulumi.Alias(name=f"{name}-endpoint-config")],
                retain_on_delete=handed_over or None,
            ),
            **config_args,
        )
        aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=endpoint_name,
            endpoint_config_name=endpoint_config.name,
            tags=model_tag,
            # The deploy function owns which config the endpoint serves (and the deployment
            # policy it used): a refresh brings them into the state, and an update must never
            # send the endpoint back to the config above.
            opts=pulumi.ResourceOptions(
                parent=parent,
                ignore_changes=HANDED_OVER_PROPERTIES if handed_over else None,
            ),
        )
    dimensions = {"EndpointName": endpoint_name, "VariantName": endpoint.variant_name}
    site = alarms.AlarmSite(parent, args.ladder)
    errors = site.metric(
        f"{name}-endpoint-5xx",
        description=f"{endpoint_name}: the model returned 5xx errors",
        metric=alarms.Metric("AWS/SageMaker", "Invocation5XXErrors", dimensions),
        condition=alarms.Condition(threshold=endpoint.errors_5xx_threshold),
    )
    latency = site.metric(
        f"{name}-endpoint-latency-p99",
        description=f"{endpoint_name}: p99 model latency above {endpoint.latency_p99_ms} ms",
        metric=alarms.Metric("AWS/SageMaker", "ModelLatency", dimensions, "p99"),
        # ModelLatency is published in microseconds.
        condition=alarms.Condition(
            threshold=endpoint.latency_p99_ms * 1000,
            comparison="GreaterThanThreshold",
            evaluation_periods=3,
        ),
    )
    return endpoint_name, [errors, latency]


def build_bias_monitoring(
    name: str, args: EndpointArgs, endpoint_name: str, parent: pulumi.Resource
) -> list[aws.cloudwatch.MetricAlarm]:
    """Job definition, the schedule that runs it, and alarms on the published bias metrics."""
    bias = args.model.bias_monitoring
    assert bias is not None  # noqa: S101 - callers only pass models with bias monitoring
    child = pulumi.ResourceOptions(parent=parent)
    permissions = aws.iam.RolePolicy(
        f"{name}-bias-permissions",
        role=args.execution_role.name,
        policy=iam.to_json(
            iam.document(
                *_s3_read_statements(
                    args.platform.ctx, [bias.ground_truth, bias.analysis_config], "ReadBiasInputs"
                ),
                iam.allow(
                    ["s3:GetObject"], [_artifacts(args, "data-capture")], sid="ReadDataCapture"
                ),
                iam.allow(
                    ["s3:PutObject"], [_artifacts(args, "bias-reports")], sid="WriteBiasReports"
                ),
                iam.allow(
                    ["s3:ListBucket"],
                    [
                        pulumi.Output.concat(
                            f"arn:{args.platform.ctx.partition}:s3:::",
                            args.platform.buckets.artifacts_bucket_name,
                        )
                    ],
                    sid="ListCaptureAndReports",
                    conditions={
                        "StringLike": {
                            "s3:prefix": [
                                f"data-capture/{args.model_name}/*",
                                f"bias-reports/{args.model_name}/*",
                            ]
                        }
                    },
                ),
            )
        ),
        opts=child,
    )
    job_definition_name = bias_metrics.job_definition_name(args.model_name)
    cluster: sm.ModelBiasJobDefinitionClusterConfigArgsDict = {
        "instance_count": 1,
        "instance_type": bias.instance_type,
        "volume_size_in_gb": 30,
    }
    if not instance_types.has_local_storage(bias.instance_type):
        cluster["volume_kms_key_id"] = args.platform.key_arn  # local NVMe is hardware-encrypted
    definition = aws_native.sagemaker.ModelBiasJobDefinition(
        f"{name}-bias-job",
        job_definition_name=job_definition_name,
        role_arn=args.execution_role.arn,
        model_bias_app_specification={
            "image_uri": clarify_image(bias, args.platform.ctx.region),
            "config_uri": bias.analysis_config,
            # Without it the Clarify container publishes no CloudWatch metrics to alarm on.
            "environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        model_bias_job_input={
            "endpoint_input": {
                "endpoint_name": endpoint_name,
                "local_path": "/opt/ml/processing/input/endpoint",
                "s3_input_mode": sm.ModelBiasJobDefinitionEndpointInputS3InputMode.FILE,
                "s3_data_distribution_type": (
                    sm.ModelBiasJobDefinitionEndpointInputS3DataDistributionType.FULLY_REPLICATED
                ),
            },
            "ground_truth_s3_input": {"s3_uri": bias.ground_truth},
        },
        model_bias_job_output_config={
            "kms_key_id": args.platform.key_arn,
            "monitoring_outputs": [
                {
                    "s3_output": {
                        "local_path": "/opt/ml/processing/output",
                        "s3_uri": pulumi.Output.concat(
                            "s3://",
                            args.platform.buckets.artifacts_bucket_name,
                            f"/bias-reports/{args.model_name}",
                        ),
                        "s3_upload_mode": sm.ModelBiasJobDefinitionS3OutputS3UploadMode.END_OF_JOB,
                    }
                }
            ],
        },
        job_resources={"cluster_config": cluster},
        network_config={
            "enable_network_isolation": True,
            "enable_inter_container_traffic_encryption": True,
        },
        stopping_condition={"max_runtime_in_seconds": bias.max_runtime_minutes * 60},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[permissions]),
    )
    expression, _ = bias_metrics.SCHEDULES[bias.schedule]
    aws_native.sagemaker.MonitoringSchedule(
        f"{name}-bias-schedule",
        monitoring_schedule_name=job_definition_name,
        endpoint_name=endpoint_name,
        monitoring_schedule_config={
            "monitoring_job_definition_name": job_definition_name,
            "monitoring_type": sm.MonitoringScheduleMonitoringType.MODEL_BIAS,
            "schedule_config": {"schedule_expression": expression},
        },
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[definition]),
    )
    created = []
    site = alarms.AlarmSite(parent, args.ladder)
    for alarm in bias.alarms:
        for bound in bias_metrics.bias_bounds(args.model_name, args.model, alarm):
            created.append(
                site.metric(
                    f"{name}-bias-{bound.suffix}",
                    description=bound.description,
                    metric=bound.metric,
                    condition=bound.condition,
                )
            )
    return created


def models_with_endpoints(models: Mapping[str, ModelConfig]) -> dict[str, ModelConfig]:
    return {name: model for name, model in sorted(models.items()) if model.endpoint is not None}
