"""The evaluation gate of a model's pipeline (`trainops:models.<name>.evaluation`), as steps of
SageMaker's pipeline definition schema (version 2020-12-01).

With a gate, the pipeline after `Train` is:

* `Evaluate`, a Processing step: the evaluation image runs the configured command on the
  trained model (`model.tar.gz` of the Train step, under `/opt/ml/processing/model`) and the
  held-out data (`/opt/ml/processing/input/held-out`), and writes its report to
  `/opt/ml/processing/evaluation/evaluation.json`. SageMaker uploads it to
  `s3://<bucket>/evaluation/<model>/<RequestId>/attempt-<Attempt>/`, so a retry never
  overwrites the report of the attempt before it. Network-isolated, its volume and output
  encrypted with the stack key, tagged with the model, like the training job. The report is the
  step's property file `EvaluationReport`.
* `CheckEvaluation`, a Condition step: the report's metric (`Std:JsonGet` with the configured
  JSON path, e.g. `metrics.auc.value`) compared with the threshold (`GreaterThanOrEqualTo`, or
  `LessThanOrEqualTo` for loss-like metrics), and with `compareWithApproved` also with the
  pipeline parameter `ApprovedMetricValue` (default: the threshold; a starter that knows the
  approved package's value sets it). All conditions must hold.
* if they hold, `RegisterModel`, with the report attached as the package's model-quality
  statistics (`ModelMetrics.ModelQuality.Statistics`); else `EvaluationFailed`, a Fail step
  whose message (the step's failure reason) has the fixed form
  `trainops-gate-failed metric=<path> value=<value> threshold=<threshold>[ approved=<value>]`
  that the outcome handler recognizes as a gate failure (not retried).

The JSON shapes follow what the SageMaker Python SDK serializes: `ProcessingStep.to_request`
(`PropertyFiles`: `PropertyFileName`, `OutputName`, `FilePath`), `JsonGet`/`Join`
(`Std:JsonGet` with `PropertyFile: {"Get": "Steps.<step>.PropertyFiles.<name>"}` and `Path`;
`Std:Join` with `On` and `Values`), `ConditionStep` (`Conditions`, `IfSteps`, `ElseSteps`,
each condition `Type`, `LeftValue`, `RightValue`) and `FailStep` (`ErrorMessage`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from components.platform import instance_types
from trainops_runtime.pipeline_contract import APPROVED_METRIC_VALUE, GATE_FAILED_MARKER

EVALUATE_STEP = "Evaluate"
CHECK_STEP = "CheckEvaluation"
FAIL_STEP = "EvaluationFailed"
# The processing output that holds the report, the report's file name in it, and the name the
# Condition step reads it by.
REPORT_OUTPUT = "evaluation"
REPORT_FILE = "evaluation.json"
PROPERTY_FILE = "EvaluationReport"
REPORT_CONTENT_TYPE = "application/json"
# Where the evaluation container finds its inputs and leaves its report (also in its
# environment, so a script need not hard-code them).
MODEL_DIR = "/opt/ml/processing/model"
HELD_OUT_DIR = "/opt/ml/processing/input/held-out"
REPORT_DIR = "/opt/ml/processing/evaluation"

Comparison = Literal["GreaterThanOrEqualTo", "LessThanOrEqualTo"]


@dataclass(frozen=True)
class EvaluationInputs:
    """The gate of one model, resolved to plain values."""

    image: str
    command: tuple[str, ...]
    held_out_data_uri: str
    metric: str  # a JSON path inside the report, e.g. "metrics.auc.value"
    threshold: float
    instance_type: str = "ml.m5.xlarge"
    comparison: Comparison = "GreaterThanOrEqualTo"
    compare_with_approved: bool = False
    max_runtime_seconds: int = 3600


def parameters(gate: EvaluationInputs) -> list[dict[str, Any]]:
    """The pipeline parameters the gate declares (none, unless it compares with the approved
    package: then `ApprovedMetricValue`, defaulting to the threshold, which adds nothing)."""
    if not gate.compare_with_approved:
        return []
    return [{"Name": APPROVED_METRIC_VALUE, "Type": "Float", "DefaultValue": gate.threshold}]


def metric_value(gate: EvaluationInputs) -> dict[str, Any]:
    """The metric, read from the Evaluate step's report (SageMaker's JsonGet function)."""
    return {
        "Std:JsonGet": {
            "PropertyFile": {"Get": f"Steps.{EVALUATE_STEP}.PropertyFiles.{PROPERTY_FILE}"},
            "Path": gate.metric,
        }
    }


def evaluate_step(
    gate: EvaluationInputs,
    *,
    model_artifacts: Mapping[str, Any],
    report_prefix: Mapping[str, Any],
    role_arn: str,
    key_arn: str,
    volume_size_gb: int,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The Processing step that evaluates the trained model on the held-out data."""

    def s3_input(name: str, uri: Any, local_path: str) -> dict[str, Any]:
        return {
            "InputName": name,
            "S3Input": {
                "S3Uri": uri,
                "LocalPath": local_path,
                "S3DataType": "S3Prefix",
                "S3InputMode": "File",
                "S3DataDistributionType": "FullyReplicated",
                "S3CompressionType": "None",
            },
        }

    cluster: dict[str, Any] = {
        "InstanceCount": 1,
        "InstanceType": gate.instance_type,
        "VolumeSizeInGB": volume_size_gb,
    }
    if not instance_types.has_local_storage(gate.instance_type):
        cluster["VolumeKmsKeyId"] = key_arn
    arguments: dict[str, Any] = {
        "AppSpecification": {"ImageUri": gate.image, "ContainerEntrypoint": list(gate.command)},
        "Environment": {
            "TRAINOPS_MODEL_DIR": MODEL_DIR,
            "TRAINOPS_HELD_OUT_DIR": HELD_OUT_DIR,
            "TRAINOPS_REPORT_FILE": f"{REPORT_DIR}/{REPORT_FILE}",
            "TRAINOPS_METRIC": gate.metric,
        },
        "RoleArn": role_arn,
        "ProcessingInputs": [
            s3_input("model", dict(model_artifacts), MODEL_DIR),
            s3_input("held-out", gate.held_out_data_uri, HELD_OUT_DIR),
        ],
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": REPORT_OUTPUT,
                    "S3Output": {
                        "S3Uri": dict(report_prefix),
                        "LocalPath": REPORT_DIR,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ],
            "KmsKeyId": key_arn,
        },
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": gate.max_runtime_seconds},
        "NetworkConfig": {
            "EnableNetworkIsolation": True,
            "EnableInterContainerTrafficEncryption": True,
        },
        "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
    }
    return {
        "Name": EVALUATE_STEP,
        "Type": "Processing",
        "Arguments": arguments,
        "PropertyFiles": [
            {
                "PropertyFileName": PROPERTY_FILE,
                "OutputName": REPORT_OUTPUT,
                "FilePath": REPORT_FILE,
            }
        ],
    }


def with_report(register: Mapping[str, Any], report_uri: Mapping[str, Any]) -> dict[str, Any]:
    """The RegisterModel step, registering the evaluation report as model-quality metrics."""
    step = dict(register)
    step["Arguments"] = {
        **register["Arguments"],
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {"ContentType": REPORT_CONTENT_TYPE, "S3Uri": dict(report_uri)}
            }
        },
    }
    return step


def failure_message(gate: EvaluationInputs) -> dict[str, Any]:
    """`trainops-gate-failed metric=<path> value=<value> threshold=<t>[ approved=<a>]`, the
    value read from the report (a JsonGet inside a Join: how the SDK turns it into a string)."""
    values: list[Any] = [
        f"{GATE_FAILED_MARKER} metric={gate.metric} value=",
        metric_value(gate),
        f" threshold={json.dumps(gate.threshold)}",
    ]
    if gate.compare_with_approved:
        values += [" approved=", {"Get": f"Parameters.{APPROVED_METRIC_VALUE}"}]
    return {"Std:Join": {"On": "", "Values": values}}


def fail_step(gate: EvaluationInputs) -> dict[str, Any]:
    return {"Name": FAIL_STEP, "Type": "Fail", "Arguments": {"ErrorMessage": failure_message(gate)}}


def conditions(gate: EvaluationInputs) -> list[dict[str, Any]]:
    """The metric against the threshold (and the approved package's value): all must hold."""
    bounds: list[Any] = [gate.threshold]
    if gate.compare_with_approved:
        bounds.append({"Get": f"Parameters.{APPROVED_METRIC_VALUE}"})
    return [
        {"Type": gate.comparison, "LeftValue": metric_value(gate), "RightValue": bound}
        for bound in bounds
    ]


def check_step(gate: EvaluationInputs, *, register: Mapping[str, Any]) -> dict[str, Any]:
    """The Condition step: registration if the model passes, the Fail step if not."""
    return {
        "Name": CHECK_STEP,
        "Type": "Condition",
        "Arguments": {
            "Conditions": conditions(gate),
            "IfSteps": [dict(register)],
            "ElseSteps": [fail_step(gate)],
        },
    }


def gate_steps(
    gate: EvaluationInputs,
    *,
    register: Mapping[str, Any],
    model_artifacts: Mapping[str, Any],
    report_prefix: Mapping[str, Any],
    report_uri: Mapping[str, Any],
    role_arn: str,
    key_arn: str,
    volume_size_gb: int,
    tags: Mapping[str, str],
) -> list[dict[str, Any]]:
    """The steps after Train of a gated pipeline: Evaluate, then CheckEvaluation with
    RegisterModel (and the report) on its true branch and EvaluationFailed on its false one."""
    return [
        evaluate_step(
            gate,
            model_artifacts=model_artifacts,
            report_prefix=report_prefix,
            role_arn=role_arn,
            key_arn=key_arn,
            volume_size_gb=volume_size_gb,
            tags=tags,
        ),
        check_step(gate, register=with_report(register, report_uri)),
    ]
