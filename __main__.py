"""trainops: load the stack config, build the foundation, compose the enabled components, export.

Kept thin on purpose: every decision lives in `components/`, every value in the stack file.
"""

import pulumi
import pulumi_aws as aws

from components import (
    AwsContext,
    Foundation,
    FoundationArgs,
    TrainingPipeline,
    TrainingPipelineArgs,
    config,
    tagging,
)

settings = config.load()
pulumi.runtime.register_resource_transform(tagging.trainops_tags)

# The only provider invokes the program makes: who and where we are.
identity = aws.get_caller_identity()
partition = aws.get_partition()
ctx = AwsContext(
    account_id=identity.account_id,
    region=settings.region,
    partition=partition.partition,
    dns_suffix=partition.dns_suffix,
)

foundation = Foundation(
    "foundation",
    FoundationArgs(
        ctx=ctx,
        environment=settings.environment,
        training_data_uris=settings.training_data_uris,
        image_uris=settings.image_uris,
        noncurrent_version_days=settings.artifacts.noncurrent_version_days,
    ),
)

# One SageMaker pipeline per configured model: what every trigger below ends up starting.
pipelines = {
    model_name: TrainingPipeline(
        f"pipeline-{model_name}",
        TrainingPipelineArgs(
            model_name=model_name,
            model=model,
            ctx=ctx,
            key_arn=foundation.key_arn,
            artifacts_bucket_name=foundation.artifacts_bucket_name,
            sagemaker_role_arn=foundation.sagemaker_role_arn,
            sagemaker_role_name=foundation.sagemaker_role_name,
        ),
    )
    for model_name, model in settings.models.items()
}

# ---- Components, each created only when its feature is enabled in the stack config. ----------
# (TrainingMonitor, ScheduledRetraining, TrainingQueue, MaintenanceWindowRetraining and
# TrainingEventStore are composed here as they land; each takes the foundation's outputs and
# the pipelines it may start.)

pulumi.export("environment", settings.environment)
pulumi.export("kmsKeyArn", foundation.key_arn)
pulumi.export("kmsKeyAlias", foundation.key_alias)
pulumi.export("artifactsBucket", foundation.artifacts_bucket_name)
pulumi.export("sagemakerRoleArn", foundation.sagemaker_role_arn)
pulumi.export("pipelines", {model: p.pipeline_name for model, p in pipelines.items()})
