"""The SageMaker Pipeline definition of one model, generated from its config.

A pure function of plain values, so it is tested without Pulumi: it returns the JSON document
SageMaker's pipeline definition schema (version 2020-12-01) describes: `Parameters` that every
trigger can set per execution, a `Training` step, and optionally a `RegisterModel` step, which
an evaluation gate (`evaluation`: Processing, Condition and Fail steps) may guard.

Per-execution values are pipeline parameters referenced with `{"Get": "Parameters.<Name>"}`;
the artifacts land under `s3://<bucket>/models/<model>/<RequestId>/attempt-<Attempt>/`, so a
retried request never overwrites the output of the attempt before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.platform import instance_types
from components.training_pipeline import evaluation as gate
from trainops_runtime.pipeline_contract import (
    ATTEMPT,
    INSTANCE_COUNT,
    INSTANCE_TYPE,
    MAX_RUNTIME_SECONDS,
    REQUEST_ID,
    TRAINING_DATA_URI,
    hyperparameter_parameter,
)

SCHEMA_VERSION = "2020-12-01"
TRAIN_STEP = "Train"
REGISTER_STEP = "RegisterModel"
# The trained model (model.tar.gz), a property of the Train step (DescribeTrainingJob's shape).
MODEL_ARTIFACTS = {"Get": f"Steps.{TRAIN_STEP}.ModelArtifacts.S3ModelArtifacts"}


def get(parameter: str) -> dict[str, str]:
    return {"Get": f"Parameters.{parameter}"}


@dataclass(frozen=True)
class PipelineInputs:
    """Everything the definition depends on, resolved to plain values."""

    model: str
    stack: str
    image: str
    instance_type: str
    instance_count: int
    volume_size_gb: int
    max_runtime_seconds: int
    training_data_uri: str
    hyperparameters: Mapping[str, str]
    role_arn: str
    key_arn: str
    artifacts_bucket: str
    spot: bool = False
    spot_max_wait_seconds: int = 0
    register: bool = False
    model_package_group: str = ""
    inference_image: str = ""
    content_types: tuple[str, ...] = ("text/csv",)
    response_types: tuple[str, ...] = ("text/csv",)
    inference_instance_types: tuple[str, ...] = ("ml.m5.large",)
    tags: Mapping[str, str] = field(default_factory=dict)
    # The gate that decides whether a trained model is registered (None: registered as trained).
    evaluation: gate.EvaluationInputs | None = None


def parameters(inputs: PipelineInputs) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = [
        {"Name": TRAINING_DATA_URI, "Type": "String", "DefaultValue": inputs.training_data_uri},
        {"Name": INSTANCE_TYPE, "Type": "String", "DefaultValue": inputs.instance_type},
        {"Name": INSTANCE_COUNT, "Type": "Integer", "DefaultValue": inputs.instance_count},
        {
            "Name": MAX_RUNTIME_SECONDS,
            "Type": "Integer",
            "DefaultValue": inputs.max_runtime_seconds,
        },
        {"Name": REQUEST_ID, "Type": "String", "DefaultValue": "manual"},
        {"Name": ATTEMPT, "Type": "Integer", "DefaultValue": 1},
    ]
    declared += [
        {"Name": hyperparameter_parameter(name), "Type": "String", "DefaultValue": value}
        for name, value in sorted(inputs.hyperparameters.items())
    ]
    if inputs.evaluation is not None:
        declared += gate.parameters(inputs.evaluation)
    return declared


def _run_prefix(inputs: PipelineInputs, kind: str, file: str = "") -> dict[str, Any]:
    """s3://<bucket>/<kind>/<model>/<RequestId>/attempt-<Attempt>/ (followed by ``file``) as a
    pipeline expression."""
    return {
        "Std:Join": {
            "On": "/",
            "Values": [
                f"s3://{inputs.artifacts_bucket}/{kind}/{inputs.model}",
                get(REQUEST_ID),
                {"Std:Join": {"On": "-", "Values": ["attempt", get(ATTEMPT)]}},
                file,
            ],
        }
    }


def training_step(inputs: PipelineInputs) -> dict[str, Any]:
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": get(MAX_RUNTIME_SECONDS)}
    arguments: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": inputs.image, "TrainingInputMode": "File"},
        "RoleArn": inputs.role_arn,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": get(TRAINING_DATA_URI),
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ],
        "OutputDataConfig": {
            "S3OutputPath": _run_prefix(inputs, "models"),
            "KmsKeyId": inputs.key_arn,
        },
        "ResourceConfig": {
            "InstanceType": get(INSTANCE_TYPE),
            "InstanceCount": get(INSTANCE_COUNT),
            "VolumeSizeInGB": inputs.volume_size_gb,
        },
        "StoppingCondition": stopping,
        "HyperParameters": {
            name: get(hyperparameter_parameter(name)) for name in sorted(inputs.hyperparameters)
        },
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": inputs.spot,
        "Tags": [{"Key": key, "Value": value} for key, value in sorted(inputs.tags.items())],
    }
    if not instance_types.has_local_storage(inputs.instance_type):
        arguments["ResourceConfig"]["VolumeKmsKeyId"] = inputs.key_arn
    if inputs.spot:
        stopping["MaxWaitTimeInSeconds"] = inputs.spot_max_wait_seconds
        arguments["CheckpointConfig"] = {"S3Uri": _run_prefix(inputs, "checkpoints")}
    return {"Name": TRAIN_STEP, "Type": "Training", "Arguments": arguments}


def register_step(inputs: PipelineInputs) -> dict[str, Any]:
    return {
        "Name": REGISTER_STEP,
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": inputs.model_package_group,
            "ModelApprovalStatus": "PendingManualApproval",
            "ModelPackageDescription": f"{inputs.model} trained by trainops ({inputs.stack})",
            "InferenceSpecification": {
                "Containers": [
                    {
                        "Image": inputs.inference_image or inputs.image,
                        "ModelDataUrl": MODEL_ARTIFACTS,
                    }
                ],
                "SupportedContentTypes": list(inputs.content_types),
                "SupportedResponseMIMETypes": list(inputs.response_types),
                "SupportedRealtimeInferenceInstanceTypes": list(inputs.inference_instance_types),
            },
        },
    }


def definition(inputs: PipelineInputs) -> dict[str, Any]:
    """The complete pipeline definition document."""
    steps = [training_step(inputs)]
    if inputs.evaluation is not None and not inputs.register:
        raise ValueError("an evaluation gate guards registration: it needs a RegisterModel step")
    if inputs.register:
        if not inputs.model_package_group:
            raise ValueError("a RegisterModel step needs a model package group")
        if inputs.evaluation is None:
            steps.append(register_step(inputs))
        else:
            steps += gate.gate_steps(
                inputs.evaluation,
                register=register_step(inputs),
                model_artifacts=MODEL_ARTIFACTS,
                report_prefix=_run_prefix(inputs, "evaluation"),
                report_uri=_run_prefix(inputs, "evaluation", gate.REPORT_FILE),
                role_arn=inputs.role_arn,
                key_arn=inputs.key_arn,
                volume_size_gb=inputs.volume_size_gb,
                tags=inputs.tags,
            )
    return {
        "Version": SCHEMA_VERSION,
        "Metadata": {},
        "Parameters": parameters(inputs),
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": steps,
    }


def referenced_parameters(document: Any) -> set[str]:
    """Every `Parameters.<Name>` the document reads (for consistency checks)."""
    found: set[str] = set()
    if isinstance(document, dict):
        reference = document.get("Get")
        if isinstance(reference, str) and reference.startswith("Parameters."):
            found.add(reference.removeprefix("Parameters."))
        for value in document.values():
            found |= referenced_parameters(value)
    elif isinstance(document, list):
        for value in document:
            found |= referenced_parameters(value)
    return found


def _walk(document: Any) -> list[dict[str, Any]]:
    """Every object inside ``document`` (itself included), depth first."""
    if isinstance(document, dict):
        return [document] + [o for value in document.values() for o in _walk(value)]
    if isinstance(document, list):
        return [o for value in document for o in _walk(value)]
    return []


def declared_steps(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step of the definition by name, the branches of Condition steps included."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(document.get("Steps", []))
    while pending:
        step = pending.pop(0)
        if step["Name"] in found:
            raise ValueError(f"step name {step['Name']} is used twice")
        found[step["Name"]] = step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            pending += [*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])]
    return found


def referenced_step_properties(document: Any) -> set[str]:
    """Every `Steps.<Step>.<Property>` the document reads (for consistency checks)."""
    return {
        reference
        for o in _walk(document)
        if isinstance(reference := o.get("Get"), str) and reference.startswith("Steps.")
    }
