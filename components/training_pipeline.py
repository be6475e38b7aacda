"""TrainingPipeline: one SageMaker Pipeline per configured model.

Every way trainops retrains a model (schedule, queue, maintenance window) ends in one act:
start this pipeline. The pipeline runs as the foundation's SageMaker role, trains with the
model's image on encrypted volumes with network isolation, writes artifacts under the model's
prefix in the artifacts bucket, and optionally registers the result for manual approval.

The component also grants the execution role what *this* pipeline needs (create training jobs
that carry this model's tag and the stack's encryption settings, register into this model's
package group) and describes itself to the Lambda runtime through `catalog_entry`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam, instance_types, naming
from components import pipeline_definition as pd
from components.config import ModelConfig

PIPELINE_NAME_MAX = 256
PACKAGE_GROUP_NAME_MAX = 63
MODEL_TAG = "trainops:model"
STACK_TAG = "trainops:stack"


@dataclass
class TrainingPipelineArgs:
    """The model to train and the foundation outputs it trains with."""

    model_name: str
    model: ModelConfig
    ctx: iam.AwsContext
    key_arn: pulumi.Input[str]
    artifacts_bucket_name: pulumi.Input[str]
    sagemaker_role_arn: pulumi.Input[str]
    sagemaker_role_name: pulumi.Input[str]


class TrainingPipeline(pulumi.ComponentResource):
    """The SageMaker Pipeline (and optional Model Package Group) of one model."""

    pipeline_name: str
    pipeline_arn: pulumi.Output[str]
    model_package_group_name: str | None
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

        permissions = aws.iam.RolePolicy(
            f"{name}-pipeline-permissions",
            role=args.sagemaker_role_name,
            policy=iam.to_json(
                iam.document(
                    *pipeline_role_statements(
                        args.ctx,
                        args.model_name,
                        instance_type=model.instance_type,
                        key_arn=args.key_arn,
                        role_arn=args.sagemaker_role_arn,
                        model_package_group=self.model_package_group_name,
                    )
                )
            ),
            opts=child,
        )

        definition = pulumi.Output.all(
            role_arn=args.sagemaker_role_arn,
            key_arn=args.key_arn,
            bucket=args.artifacts_bucket_name,
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
            role_arn=args.sagemaker_role_arn,
            pipeline_definition=definition,
            parallelism_configuration={"max_parallel_execution_steps": 1},
            tags={MODEL_TAG: args.model_name},
            # The role must hold this pipeline's permissions before the first execution.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[permissions, *([group] if group else [])]
            ),
        )

        self.pipeline_arn = pipeline.arn
        self.catalog_entry = {
            "pipelineName": self.pipeline_name,
            "trainingData": model.training_data,
            "hyperparameters": sorted(model.hyperparameters),
            "maxRuntimeMinutes": model.max_runtime_minutes,
            "maxWaitMinutes": model.spot_max_wait_minutes if model.spot.enabled else None,
        }
        self.register_outputs(
            {
                "pipeline_name": self.pipeline_name,
                "pipeline_arn": self.pipeline_arn,
                "model_package_group_name": self.model_package_group_name,
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
        )


def pipeline_role_statements(
    ctx: iam.AwsContext,
    model_name: str,
    *,
    instance_type: str,
    key_arn: pulumi.Input[str],
    role_arn: pulumi.Input[str],
    model_package_group: str | None,
) -> list[iam.Statement]:
    """What the pipeline (running as the execution role) may do for this model.

    Pipelines name their training jobs `pipelines-<execution>-<step>-<suffix>`, so the job ARN
    cannot be narrowed further; instead the request must carry this model's tag and the stack's
    isolation and encryption settings, or SageMaker refuses to create the job. Instances with
    local NVMe storage take no volume key (hardware-encrypted); for those the job must run on
    the configured instance type instead.
    """
    training_jobs = ctx.arn("sagemaker", "training-job/pipelines-*")
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


def pipeline_arn_prefix(ctx: iam.AwsContext, stack: str | None = None) -> str:
    """Every pipeline ARN of this stack starts with this: `...:pipeline/trainops-<stack>--`.

    Shared documents (role policies, event patterns) use it instead of listing each pipeline,
    so they stay the same size however many models the stack trains. It is lower case, as
    SageMaker writes pipeline ARNs in events (model and stack names are lower case).
    """
    return ctx.arn("sagemaker", f"pipeline/{naming.model_prefix(stack)}")


def pipeline_arn_match(ctx: iam.AwsContext, stack: str | None = None) -> list[dict[str, str]]:
    """An EventBridge pattern value that matches exactly this stack's pipelines."""
    return [{"prefix": pipeline_arn_prefix(ctx, stack)}]


def start_statements(
    ctx: iam.AwsContext, stack: str | None = None, *, start: bool = True
) -> list[iam.Statement]:
    """What a trigger (Lambda) needs to start and follow executions of this stack's pipelines.

    With ``start=False`` only the read side (for watchers such as the stall detector).
    """
    pipelines = pipeline_arn_prefix(ctx, stack) + "*"
    return [
        iam.allow(
            ["sagemaker:ListPipelineExecutions"]
            + (["sagemaker:StartPipelineExecution"] if start else []),
            [pipelines],
            sid="StartAndListOwnPipelines" if start else "ListOwnPipelines",
        ),
        iam.allow(
            ["sagemaker:DescribePipelineExecution", "sagemaker:ListPipelineParametersForExecution"],
            [execution_arns(ctx, stack)],
            sid="ReadOwnPipelineExecutions",
        ),
    ]


def start_only_statements(ctx: iam.AwsContext, stack: str | None = None) -> list[iam.Statement]:
    """Starting executions of this stack's pipelines, and nothing else (the queue worker learns
    what runs from the slot ledger, not from SageMaker)."""
    return [
        iam.allow(
            ["sagemaker:StartPipelineExecution"],
            [pipeline_arn_prefix(ctx, stack) + "*"],
            sid="StartOwnPipelines",
        )
    ]


def execution_arns(ctx: iam.AwsContext, stack: str | None = None) -> str:
    """Every execution of this stack's pipelines, as an IAM resource pattern."""
    return pipeline_arn_prefix(ctx, stack) + "*/execution/*"


def model_catalog(pipelines: Mapping[str, TrainingPipeline]) -> dict[str, dict[str, Any]]:
    """The model catalog the functions read (`trainops_runtime.catalog`): model -> pipeline
    name and the inputs a request may override."""
    return {model: dict(p.catalog_entry) for model, p in sorted(pipelines.items())}
