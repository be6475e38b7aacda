"""TrainingPipeline: one SageMaker Pipeline, and the execution role it runs as, per model.

Every way trainops retrains a model (schedule, queue, maintenance window) ends in one act:
start this pipeline. The pipeline trains with the model's image on encrypted volumes with
network isolation, writes artifacts under the model's prefixes in the artifacts bucket, and
optionally registers the result for manual approval, after an evaluation gate if the model has
one (`evaluation`: a processing job on held-out data whose metric must meet a threshold).

Each model has its own SageMaker execution role (path `/trainops/<stack>/`): it reads only this
model's training (and held-out) data, pulls only its images, writes only its artifacts, creates
only training (and evaluation) jobs that carry its tag and the stack's isolation and encryption
settings, and registers only into its own package group. One role per model is least
privilege, and it is what keeps every role's policy the same size however many models the
stack trains (IAM allows 10,240 characters of inline policy per role). The component describes
itself to the Lambda runtime through `catalog_entry`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.platform import data_access, iam, instance_types, naming, spend
from components.platform.context import PlatformContext
from components.platform.model_config import ModelConfig
from components.platform.roles import service_role
from components.platform.sagemaker import MODEL_TAG, STACK_TAG, ExecutionRole
from components.training_pipeline import definition as pd
from components.training_pipeline import evaluation as gate

PIPELINE_NAME_MAX = 256
PACKAGE_GROUP_NAME_MAX = 63
# Where each model's SageMaker jobs write in the artifacts bucket (`<kind>/<model>/...`); a
# model with an evaluation gate also writes its reports under `evaluation/<model>/`.
ARTIFACT_KINDS = ("models", "checkpoints")
EVALUATION_KIND = "evaluation"


@dataclass
class TrainingPipelineArgs:
    """The model to train, on the stack's platform (its key and artifacts bucket)."""

    model_name: str
    model: ModelConfig
    platform: PlatformContext


class TrainingPipeline(pulumi.ComponentResource):
    """The SageMaker Pipeline, execution role (and optional Model Package Group) of one model."""

    pipeline_name: str
    pipeline_arn: pulumi.Output[str]
    model_package_group_name: str | None
    execution_role: ExecutionRole
    catalog_entry: dict[str, Any]

    def __init__(
        self, name: str, args: TrainingPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("trainops:pipelines:TrainingPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        model = args.model
        stack = pulumi.get_stack()
        self.pipeline_name = naming.model_name(args.model_name, max_length=PIPELINE_NAME_MAX)

        group: aws.sagemaker.ModelPackageGroup | None = None
        self.model_package_group_name = None
        if model.register_model.enabled:
            self.model_package_group_name = naming.model_name(
                args.model_name, max_length=PACKAGE_GROUP_NAME_MAX
            )
            group = aws.sagemaker.ModelPackageGroup(
                f"{name}-package-group",
                model_package_group_name=self.model_package_group_name,
                model_package_group_description=f"Trained versions of {args.model_name} ({stack})",
                opts=child,
            )

        execution = service_role(
            f"{name}-execution",
            service="sagemaker",
            ctx=args.platform.ctx,
            parent=self,
            description=f"SageMaker execution role of {args.model_name} (trainops {stack})",
            path=naming.role_path(),
            max_session_duration=43200,  # long training jobs refresh credentials less often
            statements=lambda role: execution_role_statements(
                args.platform.ctx,
                args.model_name,
                model,
                key_arn=args.platform.key_arn,
                artifacts_bucket_name=args.platform.buckets.artifacts_bucket_name,
                role_arn=role.arn,
                model_package_group=self.model_package_group_name,
            ),
        )
        role, permissions = execution.role, execution.policy
        self.execution_role = ExecutionRole(arn=role.arn, name=role.name)

        definition = pulumi.Output.all(
            role_arn=role.arn,
            key_arn=args.platform.key_arn,
            bucket=args.platform.buckets.artifacts_bucket_name,
        ).apply(
            lambda resolved: json.dumps(
                pd.definition(self.inputs(args, resolved, stack)), sort_keys=True
            )
        )
        pipeline = aws.sagemaker.Pipeline(
            f"{name}-pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_display_name=self.pipeline_name,
            pipeline_description=f"trainops training pipeline for {args.model_name} ({stack})",
            role_arn=role.arn,
            pipeline_definition=definition,
            parallelism_configuration={"max_parallel_execution_steps": 1},
            tags={MODEL_TAG: args.model_name},
            # The role must hold this pipeline's permissions before the first execution.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[permissions, *([group] if group else [])]
            ),
        )

        self.pipeline_arn = pipeline.arn
        self.catalog_entry = catalog_entry(args.model_name, model, args.platform)
        self.register_outputs(
            {
                "pipeline_name": self.pipeline_name,
                "pipeline_arn": self.pipeline_arn,
                "model_package_group_name": self.model_package_group_name,
                "execution_role_arn": role.arn,
            }
        )

    def inputs(
        self, args: TrainingPipelineArgs, resolved: Mapping[str, str], stack: str
    ) -> pd.PipelineInputs:
        model = args.model
        return pd.PipelineInputs(
            model=args.model_name,
            stack=stack,
            image=model.image,
            instance_type=model.instance_type,
            instance_count=model.instance_count,
            volume_size_gb=model.volume_size_gb,
            max_runtime_seconds=model.max_runtime_minutes * 60,
            training_data_uri=model.training_data,
            hyperparameters=dict(model.hyperparameters),
            role_arn=resolved["role_arn"],
            key_arn=resolved["key_arn"],
            artifacts_bucket=resolved["bucket"],
            spot=model.spot.enabled,
            spot_max_wait_seconds=model.spot_max_wait_minutes * 60,
            register=model.register_model.enabled,
            model_package_group=self.model_package_group_name or "",
            inference_image=model.register_model.inference_image or "",
            content_types=tuple(model.register_model.content_types),
            response_types=tuple(model.register_model.response_types),
            inference_instance_types=tuple(model.register_model.inference_instance_types),
            tags={MODEL_TAG: args.model_name, STACK_TAG: stack},
            evaluation=evaluation_inputs(model),
        )


def evaluation_inputs(model: ModelConfig) -> gate.EvaluationInputs | None:
    """The model's evaluation gate as the definition takes it (None without one)."""
    evaluation = model.evaluation
    if evaluation is None:
        return None
    return gate.EvaluationInputs(
        image=evaluation.image or model.image,
        command=tuple(evaluation.command),
        held_out_data_uri=evaluation.held_out_data,
        metric=evaluation.metric,
        threshold=evaluation.threshold,
        instance_type=evaluation.instance_type,
        comparison=evaluation.comparison,
        compare_with_approved=evaluation.compare_with_approved,
        max_runtime_seconds=evaluation.max_runtime_minutes * 60,
    )


def artifact_kinds(model: ModelConfig) -> tuple[str, ...]:
    """The prefixes (`<kind>/<model>/`) the model's jobs write in the artifacts bucket."""
    return ARTIFACT_KINDS + ((EVALUATION_KIND,) if model.evaluation is not None else ())


def execution_role_statements(
    ctx: iam.AwsContext,
    model_name: str,
    model: ModelConfig,
    *,
    key_arn: pulumi.Input[str],
    artifacts_bucket_name: pulumi.Input[str],
    role_arn: pulumi.Input[str],
    model_package_group: str | None,
) -> list[iam.Statement]:
    """Everything one model's execution role may do: its data, images, artifacts, logs, key."""
    bucket_arn = pulumi.Output.concat(f"arn:{ctx.partition}:s3:::", artifacts_bucket_name)
    own_prefixes = [f"{kind}/{model_name}/" for kind in artifact_kinds(model)]
    evaluation = model.evaluation
    # The evaluation job reads the held-out data and runs the evaluation image, if it has its own.
    data = [model.training_data] + ([evaluation.held_out_data] if evaluation else [])
    images = [model.image] + ([evaluation.image] if evaluation and evaluation.image else [])
    return [
        *data_access.training_data_statements(ctx, data),
        iam.allow(
            ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            [pulumi.Output.concat(bucket_arn, f"/{prefix}*") for prefix in own_prefixes],
            sid="WriteOwnArtifacts",
        ),
        iam.allow(
            ["s3:ListBucket"],
            [bucket_arn],
            sid="ListOwnArtifacts",
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in own_prefixes]}},
        ),
        iam.allow(["s3:GetBucketLocation"], [bucket_arn], sid="LocateArtifactsBucket"),
        iam.allow(
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            [key_arn],
            sid="UseStackKey",
        ),
        # Volume encryption goes through grants that only AWS services may use.
        iam.allow(
            ["kms:CreateGrant"],
            [key_arn],
            sid="GrantStackKeyToSageMaker",
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        iam.allow(
            ["logs:CreateLogGroup", "logs:DescribeLogStreams"],
            [ctx.arn("logs", "log-group:/aws/sagemaker/*")],
            sid="SageMakerLogGroups",
        ),
        iam.allow(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [ctx.arn("logs", "log-group:/aws/sagemaker/*:log-stream:*")],
            sid="SageMakerLogStreams",
        ),
        # PutMetricData supports no resource ARN; scope it to SageMaker's namespaces instead:
        # training and endpoints publish under "/aws/sagemaker/...", Clarify's bias
        # monitoring under "aws/sagemaker/Endpoints/bias-metrics" (no leading slash).
        iam.allow(
            ["cloudwatch:PutMetricData"],
            "*",
            sid="SageMakerMetrics",
            conditions={
                "StringLike": {
                    "cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/Endpoints/*"]
                }
            },
        ),
        *data_access.image_pull_statements(ctx, images, sid="PullTrainingImage"),
        *pipeline_role_statements(
            ctx,
            model_name,
            instance_type=model.instance_type,
            key_arn=key_arn,
            role_arn=role_arn,
            model_package_group=model_package_group,
            evaluation_instance_type=evaluation.instance_type if evaluation else None,
        ),
    ]


def _job_conditions(
    model_name: str, *, instance_type: str, key_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """What a job the pipeline creates for this model must carry, or SageMaker refuses it: the
    model's tag, network isolation, encrypted traffic between instances, and the stack key on
    its volumes and output. Instances with local NVMe storage take no volume key
    (hardware-encrypted); for those the job must run on the configured instance type instead."""
    conditions: dict[str, Any] = {
        "StringEquals": {f"aws:RequestTag/{MODEL_TAG}": model_name},
        "Bool": {
            "sagemaker:NetworkIsolation": "true",
            "sagemaker:InterContainerTrafficEncryption": "true",
        },
        "ArnEquals": {"sagemaker:VolumeKmsKey": key_arn, "sagemaker:OutputKmsKey": key_arn},
    }
    if instance_types.has_local_storage(instance_type):
        conditions["ArnEquals"] = {"sagemaker:OutputKmsKey": key_arn}
        conditions["ForAllValues:StringEquals"] = {"sagemaker:InstanceTypes": [instance_type]}
    return conditions


def _same_conditions(training_instance_type: str, evaluation_instance_type: str) -> bool:
    """Whether training and evaluation jobs are held to identical conditions: both take the
    stack's volume key, or both run on the same local-storage instance type."""
    local = instance_types.has_local_storage
    if local(training_instance_type) or local(evaluation_instance_type):
        return training_instance_type == evaluation_instance_type
    return True


def _job_statements(
    ctx: iam.AwsContext,
    model_name: str,
    *,
    training: dict[str, Any],
    evaluation: dict[str, Any],
    same_conditions: bool,
) -> list[iam.Statement]:
    """The training and evaluation (processing) jobs of a gated model: created only with the
    model's tag, isolation and the stack's encryption, tagged only while being created,
    followed and stopped only when they carry the tag. One statement covers both kinds where
    their conditions agree, which keeps the role's policy well inside IAM's 10,240 characters."""
    training_jobs = ctx.arn("sagemaker", "training-job/pipelines-*")
    evaluation_jobs = ctx.arn("sagemaker", "processing-job/pipelines-*")
    jobs = [training_jobs, evaluation_jobs]
    if same_conditions:
        create = [
            iam.allow(
                ["sagemaker:CreateProcessingJob", "sagemaker:CreateTrainingJob"],
                jobs,
                sid="CreateIsolatedEncryptedJobs",
                conditions=training,
            )
        ]
    else:
        create = [
            iam.allow(
                ["sagemaker:CreateTrainingJob"],
                [training_jobs],
                sid="CreateIsolatedEncryptedTrainingJobs",
                conditions=training,
            ),
            iam.allow(
                ["sagemaker:CreateProcessingJob"],
                [evaluation_jobs],
                sid="CreateIsolatedEncryptedEvaluationJobs",
                conditions=evaluation,
            ),
        ]
    return [
        *create,
        iam.allow(
            ["sagemaker:AddTags"],
            jobs,
            sid="TagJobsOnCreate",
            conditions={
                "StringEquals": {
                    "sagemaker:TaggingAction": ["CreateProcessingJob", "CreateTrainingJob"]
                }
            },
        ),
        iam.allow(
            [
                "sagemaker:DescribeProcessingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopProcessingJob",
                "sagemaker:StopTrainingJob",
            ],
            jobs,
            sid="FollowJobs",
            conditions={"StringEquals": {f"aws:ResourceTag/{MODEL_TAG}": model_name}},
        ),
    ]


def pipeline_role_statements(
    ctx: iam.AwsContext,
    model_name: str,
    *,
    instance_type: str,
    key_arn: pulumi.Input[str],
    role_arn: pulumi.Input[str],
    model_package_group: str | None,
    evaluation_instance_type: str | None = None,
) -> list[iam.Statement]:
    """What the pipeline (running as the execution role) may do for this model.

    Pipelines name their training jobs `pipelines-<execution>-<step>-<suffix>`, so the job ARN
    cannot be narrowed further; instead the request must carry this model's tag and the stack's
    isolation and encryption settings (`_job_conditions`), or SageMaker refuses to create the
    job. A model with an evaluation gate (``evaluation_instance_type``) also runs processing
    jobs, named alike and held to the same conditions (`_job_statements`).
    """
    training_jobs = ctx.arn("sagemaker", "training-job/pipelines-*")
    conditions = _job_conditions(model_name, instance_type=instance_type, key_arn=key_arn)
    if evaluation_instance_type is not None:
        statements = _job_statements(
            ctx,
            model_name,
            training=conditions,
            evaluation=_job_conditions(
                model_name, instance_type=evaluation_instance_type, key_arn=key_arn
            ),
            same_conditions=_same_conditions(instance_type, evaluation_instance_type),
        )
    else:
        statements = [
            iam.allow(
                ["sagemaker:CreateTrainingJob"],
                [training_jobs],
                sid="CreateIsolatedEncryptedTrainingJobs",
                conditions=conditions,
            ),
            iam.allow(
                ["sagemaker:AddTags"],
                [training_jobs],
                sid="TagTrainingJobsOnCreate",
                conditions={"StringEquals": {"sagemaker:TaggingAction": "CreateTrainingJob"}},
            ),
            iam.allow(
                ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
                [training_jobs],
                sid="FollowTrainingJobs",
                conditions={"StringEquals": {f"aws:ResourceTag/{MODEL_TAG}": model_name}},
            ),
        ]
    statements += [
        iam.allow(
            ["iam:PassRole"],
            [role_arn],
            sid="PassExecutionRoleToTrainingJobs",
            conditions={
                "StringEquals": {"iam:PassedToService": ctx.service_principal("sagemaker")}
            },
        ),
    ]
    if model_package_group:
        statements.append(
            iam.allow(
                ["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
                [
                    ctx.arn("sagemaker", f"model-package-group/{model_package_group}"),
                    ctx.arn("sagemaker", f"model-package/{model_package_group}/*"),
                ],
                sid="RegisterIntoOwnPackageGroup",
            )
        )
    return statements


def catalog_entry(model_name: str, model: ModelConfig, platform: PlatformContext) -> dict[str, Any]:
    """What the functions know of one model's pipeline (`trainops_runtime.catalog.CatalogEntry`):
    derived from its config and the platform alone, so a caller without the pipeline (the
    component package's features) ships the same catalog."""
    group = (
        naming.model_name(model_name, max_length=PACKAGE_GROUP_NAME_MAX)
        if model.register_model.enabled
        else None
    )
    entry: dict[str, Any] = {
        "pipelineName": naming.model_name(model_name, max_length=PIPELINE_NAME_MAX),
        "trainingData": model.training_data,
        "hyperparameters": sorted(model.hyperparameters),
        "maxRuntimeMinutes": model.max_runtime_minutes,
        "maxWaitMinutes": model.spot_max_wait_minutes if model.spot.enabled else None,
        # The cap the starters hold each run to, with the run's shape (models with a cap).
        **spend.catalog_entry(model, platform.spend, platform.ctx.region),
    }
    if model.evaluation is not None:
        # What the outcome handler reports when a run passes the gate.
        entry["evaluation"] = {
            "metric": model.evaluation.metric,
            "threshold": model.evaluation.threshold,
            "comparison": model.evaluation.comparison,
        }
        if model.evaluation.compare_with_approved:
            # Where the starters find the approved version's value (`ApprovedMetricValue`).
            entry["approvedMetric"] = {
                "packageGroup": group,
                "metric": model.evaluation.metric,
                "reports": pulumi.Output.concat(
                    "s3://",
                    platform.buckets.artifacts_bucket_name,
                    f"/{EVALUATION_KIND}/{model_name}/",
                ),
            }
    return entry


def model_catalog(pipelines: Mapping[str, TrainingPipeline]) -> dict[str, dict[str, Any]]:
    """The model catalog the functions read (`trainops_runtime.catalog`): model -> pipeline
    name and the inputs a request may override."""
    return {model: dict(p.catalog_entry) for model, p in sorted(pipelines.items())}
