"""SageMaker quotas: resource names."""

from __future__ import annotations

from .base import Service, name_quota

SAGEMAKER_API = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/"

NAME = name_quota(
    "sagemaker-name",
    "a SageMaker model, endpoint, endpoint config, package group or monitoring name",
    63,
    SAGEMAKER_API,
)
PIPELINE_NAME = name_quota(
    "sagemaker-pipeline-name",
    "a SageMaker pipeline name",
    256,
    SAGEMAKER_API + "API_CreatePipeline.html",
)

SERVICE = Service(
    quotas=(NAME, PIPELINE_NAME),
    names={
        "aws:sagemaker/model:Model": ("name", NAME.id),
        "aws:sagemaker/endpoint:Endpoint": ("name", NAME.id),
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration": ("name", NAME.id),
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup": ("modelPackageGroupName", NAME.id),
        "aws:sagemaker/pipeline:Pipeline": ("pipelineName", PIPELINE_NAME.id),
        "aws-native:sagemaker:ModelBiasJobDefinition": ("jobDefinitionName", NAME.id),
        "aws-native:sagemaker:MonitoringSchedule": ("monitoringScheduleName", NAME.id),
    },
)
