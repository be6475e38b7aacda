"""SageMaker: training and processing steps, monitoring jobs, models, notebooks and endpoints are
encrypted and network-isolated."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .engine import (
    Requirement,
    Resource,
    Rule,
    Stack,
    as_list,
    decoded,
    dig,
    is_set,
    is_true,
    rule,
    unmet,
)

PIPELINE = "aws:sagemaker/pipeline:Pipeline"
MONITORING_JOB = "aws-native:sagemaker:ModelBiasJobDefinition"
MODEL = "aws:sagemaker/model:Model"
NOTEBOOK = "aws:sagemaker/notebookInstance:NotebookInstance"
ENDPOINT_CONFIGURATION = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"

# SageMaker encrypts local NVMe instance storage with a hardware module and rejects a volume KMS
# key for such instances (SageMaker API reference, ResourceConfig.VolumeKmsKeyId), so "encrypted
# volumes" means a KMS key or a local-storage instance type. Mirrors the project's
# `instance_types.has_local_storage` (tests/policy/test_sagemaker.py keeps the two in step): the
# pack cannot import the project.
LOCAL_STORAGE_FAMILIES = frozenset(
    {"dl1", "g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "p6-b200", "trn1", "trn1n", "trn2"}
)
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_local_storage(instance_type: Any) -> bool:
    """Whether an ``ml.<family>.<size>`` instance has (hardware-encrypted) local NVMe storage."""
    parts = instance_type.split(".") if isinstance(instance_type, str) else []
    family = parts[1] if len(parts) == 3 else ""
    return family in LOCAL_STORAGE_FAMILIES or bool(_D_FAMILY.match(family))


def _pipeline_value(definition: Any, value: Any) -> Any:
    """A literal pipeline value, or the default of the parameter ``{"Get": "Parameters.X"}``."""
    reference = dig(value, "Get")
    if not isinstance(reference, str) or not reference.startswith("Parameters."):
        return None if isinstance(value, Mapping) else value
    name = reference.removeprefix("Parameters.")
    for parameter in as_list(dig(definition, "Parameters")):
        if dig(parameter, "Name") == name:
            return dig(parameter, "DefaultValue")
    return None


def _steps(definition: Any, kind: str) -> list[Mapping[str, Any]]:
    steps = as_list(dig(definition, "Steps"))
    return [s for s in steps if isinstance(s, Mapping) and s.get("Type") == kind]


def _volumes_encrypted(definition: Any, cluster: Any) -> bool:
    """A job's cluster names a volume key, or runs on (hardware-encrypted) local storage."""
    instance_type = _pipeline_value(definition, dig(cluster, "InstanceType"))
    return bool(dig(cluster, "VolumeKmsKeyId")) or has_local_storage(instance_type)


def _pipeline_problems(resource: Resource) -> list[str]:
    """The pipeline's jobs: Training steps (the model) and Processing steps (an evaluation
    gate's), each network-isolated with its volumes and output under a KMS key."""
    problems = []
    definition = decoded(resource.props.get("pipelineDefinition"))
    for step in _steps(definition, "Training"):
        arguments, name = step.get("Arguments"), step.get("Name")
        if dig(arguments, "EnableNetworkIsolation") is not True:
            problems.append(f"training step {name} is not network-isolated")
        if not _volumes_encrypted(definition, dig(arguments, "ResourceConfig")):
            problems.append(f"training step {name} does not encrypt its volumes with a KMS key")
        if not dig(arguments, "OutputDataConfig", "KmsKeyId"):
            problems.append(f"training step {name} does not encrypt its output with a KMS key")
    for step in _steps(definition, "Processing"):
        arguments, name = step.get("Arguments"), step.get("Name")
        if dig(arguments, "NetworkConfig", "EnableNetworkIsolation") is not True:
            problems.append(f"processing step {name} is not network-isolated")
        if not _volumes_encrypted(
            definition, dig(arguments, "ProcessingResources", "ClusterConfig")
        ):
            problems.append(f"processing step {name} does not encrypt its volumes with a KMS key")
        if not dig(arguments, "ProcessingOutputConfig", "KmsKeyId"):
            problems.append(f"processing step {name} does not encrypt its output with a KMS key")
    return problems


def _monitoring_volumes_encrypted(job: Resource, _: Stack) -> bool:
    cluster = job.get("jobResources", "clusterConfig")
    return bool(dig(cluster, "volumeKmsKeyId")) or has_local_storage(dig(cluster, "instanceType"))


def _endpoint_storage_encrypted(configuration: Resource, _: Stack) -> bool:
    if configuration.props.get("kmsKeyArn"):
        return True
    variants = as_list(configuration.props.get("productionVariants"))
    return bool(variants) and all(has_local_storage(dig(v, "instanceType")) for v in variants)


# What each resource type other than a pipeline (whose training and processing steps are read
# from its definition) requires.
REQUIREMENTS: dict[str, list[Requirement]] = {
    MONITORING_JOB: [
        (
            is_true("networkConfig", "enableNetworkIsolation"),
            "monitoring job is not network-isolated",
        ),
        (_monitoring_volumes_encrypted, "monitoring job volumes are not encrypted with a KMS key"),
        (
            is_set("modelBiasJobOutputConfig", "kmsKeyId"),
            "monitoring job output is not encrypted with a KMS key",
        ),
    ],
    ENDPOINT_CONFIGURATION: [
        (_endpoint_storage_encrypted, "endpoint storage is not encrypted with a KMS key")
    ],
    MODEL: [(is_true("enableNetworkIsolation"), "model container is not network-isolated")],
    NOTEBOOK: [(is_set("kmsKeyId"), "notebook storage is not encrypted with a KMS key")],
}


@rule(
    "sagemaker",
    PIPELINE,
    MONITORING_JOB,
    MODEL,
    NOTEBOOK,
    ENDPOINT_CONFIGURATION,
    source="checkov CKV_AWS_22 / CKV_AWS_98 / CKV_AWS_370",
    related="checkov CKV_AWS_367 / CKV_AWS_368 (data-quality monitoring jobs)",
)
def sagemaker_isolation_encryption(resource: Resource, stack: Stack) -> list[str]:
    """SageMaker training, processing, monitoring, models and notebooks are encrypted and
    network-isolated.

    Network isolation keeps the training, evaluation and inference containers from sending data
    out; the
    KMS keys put what they leave on volumes and in S3 under key policies the stack controls.
    """
    if resource.type == PIPELINE:
        return _pipeline_problems(resource)
    return unmet(resource, stack, REQUIREMENTS.get(resource.type, ()))


# `ml.<family>.<size>`, either part `*` (trainops:spendGuardrails.allowedInstanceTypes).
INSTANCE_PATTERN = r"^ml\.(\*|[a-z0-9]+(-[a-z0-9]+)?)\.(\*|[a-z0-9]+)$"
INSTANCE_TYPES_CONFIG = {
    "allowedInstanceTypes": {
        "type": "array",
        "items": {"type": "string", "pattern": INSTANCE_PATTERN},
        "default": [],
        "description": "Instance types the stack may use (empty: any), e.g. ml.m5.*",
    }
}


def _instance_types(resource: Resource) -> Iterator[tuple[str, Any]]:
    """Every instance type a SageMaker resource asks for, with where it asks."""
    if resource.type == PIPELINE:
        definition = decoded(resource.props.get("pipelineDefinition"))
        for step in _steps(definition, "Training"):
            cluster = dig(step.get("Arguments"), "ResourceConfig", "InstanceType")
            yield f"training step {step.get('Name')}", _pipeline_value(definition, cluster)
        for step in _steps(definition, "Processing"):
            cluster = dig(step.get("Arguments"), "ProcessingResources", "ClusterConfig")
            yield (
                f"processing step {step.get('Name')}",
                _pipeline_value(definition, dig(cluster, "InstanceType")),
            )
    elif resource.type == ENDPOINT_CONFIGURATION:
        for variant in as_list(resource.props.get("productionVariants")):
            yield f"variant {dig(variant, 'variantName')}", dig(variant, "instanceType")
    elif resource.type == MONITORING_JOB:
        yield "monitoring job", resource.get("jobResources", "clusterConfig", "instanceType")
    elif resource.type == NOTEBOOK:
        yield "notebook", resource.props.get("instanceType")


@rule(
    "instance-types",
    PIPELINE,
    MONITORING_JOB,
    NOTEBOOK,
    ENDPOINT_CONFIGURATION,
    source="trainops spend guardrails (trainops:spendGuardrails.allowedInstanceTypes)",
    config=INSTANCE_TYPES_CONFIG,
)
def sagemaker_instance_types(resource: Resource, stack: Stack) -> list[str]:
    """SageMaker training and processing steps, endpoints, monitoring jobs and notebooks use only
    the instance types the stack allows.

    The allowed patterns come from the stack's config through the pack's configuration
    (`trainops policy-config --stack <s>`); without one every type is allowed. Config
    validation refuses the same types before the program runs; the pack also catches a resource
    that did not come from trainops's config.
    """
    allowed = [
        str(p) for p in as_list(stack.config_of("instance-types").get("allowedInstanceTypes"))
    ]
    if not allowed:
        return []
    return [
        f"{where} uses {instance_type}, which this stack does not allow "
        f"(allowed: {', '.join(allowed)})"
        for where, instance_type in _instance_types(resource)
        if isinstance(instance_type, str)
        and not any(fnmatch.fnmatchcase(instance_type, pattern) for pattern in allowed)
    ]


RULES: tuple[Rule, ...] = (sagemaker_isolation_encryption, sagemaker_instance_types)
