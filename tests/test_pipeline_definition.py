"""The pipeline definition generator on its own (no Pulumi)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from components.training_pipeline import definition as pd
from components.training_pipeline import evaluation as gate
from trainops_runtime import pipeline_contract
from trainops_runtime.completion import gate_failure

BASE = pd.PipelineInputs(
    model="churn",
    stack="dev",
    image="123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-train:1",
    instance_type="ml.m5.xlarge",
    instance_count=1,
    volume_size_gb=50,
    max_runtime_seconds=3600,
    training_data_uri="s3://data/churn/",
    hyperparameters={"epochs": "20", "learning.rate": "0.1"},
    role_arn="arn:aws:iam::123456789012:role/sm",
    key_arn="arn:aws:kms:us-east-1:123456789012:key/k",
    artifacts_bucket="artifacts",
)
GATE = gate.EvaluationInputs(
    image="123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-eval:1",
    command=("python3", "/opt/program/evaluate.py"),
    held_out_data_uri="s3://data/churn/holdout/",
    metric="metrics.auc.value",
    threshold=0.8,
)
GATED = pd.PipelineInputs(
    **{
        **BASE.__dict__,
        "register": True,
        "model_package_group": "g",
        "tags": {"trainops:model": "churn", "trainops:stack": "dev"},
        "evaluation": GATE,
    }
)
GATED_BY_APPROVED = pd.PipelineInputs(
    **{
        **GATED.__dict__,
        "evaluation": gate.EvaluationInputs(
            **{
                **GATE.__dict__,
                "metric": "metrics.rmse.value",
                "threshold": 12.5,
                "comparison": "LessThanOrEqualTo",
                "compare_with_approved": True,
                "instance_type": "ml.m5d.xlarge",  # local NVMe storage: no volume key
            }
        ),
    }
)


@pytest.mark.parametrize(
    "inputs",
    [
        BASE,
        pd.PipelineInputs(**{**BASE.__dict__, "spot": True, "spot_max_wait_seconds": 7200}),
        pd.PipelineInputs(**{**BASE.__dict__, "register": True, "model_package_group": "g"}),
        pd.PipelineInputs(**{**BASE.__dict__, "hyperparameters": {}}),
        GATED,
        GATED_BY_APPROVED,
    ],
    ids=["plain", "spot", "register", "no-hyperparameters", "gated", "gated-by-approved"],
)
def test_every_declared_parameter_is_used_and_every_used_one_declared(
    inputs: pd.PipelineInputs,
) -> None:
    document = json.loads(json.dumps(pd.definition(inputs)))
    declared = [p["Name"] for p in document["Parameters"]]
    assert sorted(declared) == sorted(pd.referenced_parameters(document))
    assert len(set(declared)) == len(declared)


def test_hyperparameter_names_become_valid_parameter_names() -> None:
    assert pipeline_contract.hyperparameter_parameter("learning.rate") == "Hp-learning-rate"
    steps = pd.definition(BASE)["Steps"]
    assert steps[0]["Arguments"]["HyperParameters"]["learning.rate"] == {
        "Get": "Parameters.Hp-learning-rate"
    }


def test_output_path_is_per_request_and_attempt() -> None:
    join = pd.definition(BASE)["Steps"][0]["Arguments"]["OutputDataConfig"]["S3OutputPath"][
        "Std:Join"
    ]
    assert join["On"] == "/"
    assert join["Values"] == [
        "s3://artifacts/models/churn",
        {"Get": "Parameters.RequestId"},
        {"Std:Join": {"On": "-", "Values": ["attempt", {"Get": "Parameters.Attempt"}]}},
        "",
    ]


def test_register_step_needs_a_group() -> None:
    with pytest.raises(ValueError, match="model package group"):
        pd.definition(pd.PipelineInputs(**{**BASE.__dict__, "register": True}))


def test_unknown_references_are_found() -> None:
    assert pd.referenced_parameters({"a": [{"Get": "Parameters.X"}, {"Get": "Steps.Train.Y"}]}) == {
        "X"
    }


# sha256 of json.dumps(definition, sort_keys=True) as the generator wrote it before the gate
# existed: a model without `evaluation` keeps exactly that definition.
UNGATED_DIGESTS = {
    "plain": "2a803adfe51f831a5288681aafc2687c06fe0a8396ee3d0851c2bb283b89184d",
    "spot": "e7f5217e47037221daea4928240966d4df67fc4565cf9d60399c0a6354c820b6",
    "register": "d27d77f3e4c142480319a59238233052ec55c946861ab11abac5d367ab0ab22b",
    "no-hyperparameters": "448f6c1c6805f0d37bff8eac4a825e52f9728845dc25cfcddd8d8d993f4f70b4",
}


@pytest.mark.parametrize(
    ("name", "inputs"),
    [
        ("plain", BASE),
        (
            "spot",
            pd.PipelineInputs(**{**BASE.__dict__, "spot": True, "spot_max_wait_seconds": 7200}),
        ),
        (
            "register",
            pd.PipelineInputs(**{**BASE.__dict__, "register": True, "model_package_group": "g"}),
        ),
        ("no-hyperparameters", pd.PipelineInputs(**{**BASE.__dict__, "hyperparameters": {}})),
    ],
)
def test_a_model_without_a_gate_keeps_todays_definition(
    name: str, inputs: pd.PipelineInputs
) -> None:
    text = json.dumps(pd.definition(inputs), sort_keys=True)
    assert hashlib.sha256(text.encode()).hexdigest() == UNGATED_DIGESTS[name]
    assert "evaluation" not in text


def test_the_gate_evaluates_checks_and_registers_only_on_its_true_branch() -> None:
    document = pd.definition(GATED)
    assert [(s["Name"], s["Type"]) for s in document["Steps"]] == [
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("CheckEvaluation", "Condition"),
    ]
    check = document["Steps"][2]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in check["IfSteps"]] == [
        ("RegisterModel", "RegisterModel")
    ]
    assert [(s["Name"], s["Type"]) for s in check["ElseSteps"]] == [("EvaluationFailed", "Fail")]
    assert set(pd.declared_steps(document)) == {
        "Train",
        "Evaluate",
        "CheckEvaluation",
        "RegisterModel",
        "EvaluationFailed",
    }
    assert check["Conditions"] == [
        {
            "Type": "GreaterThanOrEqualTo",
            "LeftValue": {
                "Std:JsonGet": {
                    "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
                    "Path": "metrics.auc.value",
                }
            },
            "RightValue": 0.8,
        }
    ]


KNOWN_PROPERTIES = {
    # step type -> the properties of it that the definition may read (DescribeTrainingJob's
    # response shape; a Processing step's property files by name)
    "Training": {"ModelArtifacts.S3ModelArtifacts"},
}


@pytest.mark.parametrize(
    "inputs", [BASE, GATED, GATED_BY_APPROVED], ids=["plain", "gated", "approved"]
)
def test_every_step_reference_resolves(inputs: pd.PipelineInputs) -> None:
    """Every `Steps.<Step>.<Property>` names a declared step and a property it has: a property
    file that step declares on one of its outputs, or a known property of its type."""
    document = json.loads(json.dumps(pd.definition(inputs)))
    steps = pd.declared_steps(document)
    for reference in pd.referenced_step_properties(document):
        _, name, prop = reference.split(".", 2)
        assert name in steps, reference
        step = steps[name]
        if prop.startswith("PropertyFiles."):
            files = {f["PropertyFileName"]: f for f in step.get("PropertyFiles", [])}
            property_file = files[prop.removeprefix("PropertyFiles.")]
            outputs = step["Arguments"]["ProcessingOutputConfig"]["Outputs"]
            assert property_file["OutputName"] in {o["OutputName"] for o in outputs}, reference
        else:
            assert prop in KNOWN_PROPERTIES[step["Type"]], reference


def test_a_step_name_used_twice_is_found() -> None:
    step = {"Name": "Train", "Type": "Training", "Arguments": {}}
    with pytest.raises(ValueError, match="Train is used twice"):
        pd.declared_steps({"Steps": [step, step]})


def test_the_evaluation_job_is_isolated_encrypted_tagged_and_writes_per_attempt() -> None:
    evaluate = pd.declared_steps(pd.definition(GATED))["Evaluate"]
    arguments = evaluate["Arguments"]
    assert arguments["AppSpecification"] == {
        "ImageUri": GATE.image,
        "ContainerEntrypoint": ["python3", "/opt/program/evaluate.py"],
    }
    assert arguments["RoleArn"] == BASE.role_arn
    assert arguments["NetworkConfig"] == {
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
    }
    assert arguments["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": BASE.key_arn,
    }
    assert arguments["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    model, held_out = arguments["ProcessingInputs"]
    assert model["S3Input"]["S3Uri"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    assert model["S3Input"]["LocalPath"] == "/opt/ml/processing/model"
    assert held_out["S3Input"]["S3Uri"] == "s3://data/churn/holdout/"
    (output,) = arguments["ProcessingOutputConfig"]["Outputs"]
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == BASE.key_arn
    assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3://artifacts/evaluation/churn",
        {"Get": "Parameters.RequestId"},
        {"Std:Join": {"On": "-", "Values": ["attempt", {"Get": "Parameters.Attempt"}]}},
        "",
    ]
    assert evaluate["PropertyFiles"] == [
        {
            "PropertyFileName": "EvaluationReport",
            "OutputName": output["OutputName"],
            "FilePath": "evaluation.json",
        }
    ]
    assert arguments["Tags"] == [
        {"Key": "trainops:model", "Value": "churn"},
        {"Key": "trainops:stack", "Value": "dev"},
    ]
    local = pd.declared_steps(pd.definition(GATED_BY_APPROVED))["Evaluate"]["Arguments"]
    assert "VolumeKmsKeyId" not in local["ProcessingResources"]["ClusterConfig"]
    assert local["ProcessingOutputConfig"]["KmsKeyId"] == BASE.key_arn


def render(value: Any, variables: dict[str, str]) -> str:
    """A pipeline expression as SageMaker evaluates it, with `variables` for Get and JsonGet."""
    if isinstance(value, dict) and "Std:Join" in value:
        join = value["Std:Join"]
        return join["On"].join(render(v, variables) for v in join["Values"])
    if isinstance(value, dict) and "Std:JsonGet" in value:
        return variables[value["Std:JsonGet"]["Path"]]
    if isinstance(value, dict) and "Get" in value:
        return variables[value["Get"]]
    return str(value)


def test_the_report_is_registered_as_model_quality_where_the_job_writes_it() -> None:
    steps = pd.declared_steps(pd.definition(GATED))
    register = steps["RegisterModel"]["Arguments"]
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    variables = {"Parameters.RequestId": "req-1", "Parameters.Attempt": "2"}
    (output,) = steps["Evaluate"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    (report,) = steps["Evaluate"]["PropertyFiles"]
    written = render(output["S3Output"]["S3Uri"], variables) + report["FilePath"]
    assert render(statistics["S3Uri"], variables) == written
    assert written == "s3://artifacts/evaluation/churn/req-1/attempt-2/evaluation.json"
    # registration otherwise unchanged
    assert {k: v for k, v in register.items() if k != "ModelMetrics"} == pd.register_step(GATED)[
        "Arguments"
    ]


def test_the_fail_step_names_metric_value_and_threshold_as_the_outcome_handler_reads_them() -> None:
    fail = pd.declared_steps(pd.definition(GATED))["EvaluationFailed"]
    message = render(fail["Arguments"]["ErrorMessage"], {"metrics.auc.value": "0.7312"})
    assert message == "trainops-gate-failed metric=metrics.auc.value value=0.7312 threshold=0.8"
    # as the handler gets it: the execution's reason, then each failed step's
    failure = gate_failure(
        f"Step failure: One or multiple steps failed.; EvaluationFailed: {message}"
    )
    assert failure is not None
    assert failure.data() == {"metric": "metrics.auc.value", "value": 0.7312, "threshold": 0.8}


def test_compare_with_approved_adds_a_parameter_and_a_condition() -> None:
    document = pd.definition(GATED_BY_APPROVED)
    assert document["Parameters"][-1] == {
        "Name": pipeline_contract.APPROVED_METRIC_VALUE,
        "Type": "Float",
        "DefaultValue": 12.5,  # the threshold: unset, it adds nothing
    }
    steps = pd.declared_steps(document)
    conditions = steps["CheckEvaluation"]["Arguments"]["Conditions"]
    assert [(c["Type"], c["RightValue"]) for c in conditions] == [
        ("LessThanOrEqualTo", 12.5),
        ("LessThanOrEqualTo", {"Get": "Parameters.ApprovedMetricValue"}),
    ]
    message = render(
        steps["EvaluationFailed"]["Arguments"]["ErrorMessage"],
        {"metrics.rmse.value": "13.1", "Parameters.ApprovedMetricValue": "11.9"},
    )
    failure = gate_failure(message)
    assert failure is not None
    assert failure.data() == {
        "metric": "metrics.rmse.value",
        "value": 13.1,
        "threshold": 12.5,
        "approved": 11.9,
    }


def test_a_gate_needs_registration() -> None:
    with pytest.raises(ValueError, match="evaluation gate guards registration"):
        pd.definition(pd.PipelineInputs(**{**BASE.__dict__, "evaluation": GATE}))


def test_step_references_are_found() -> None:
    assert pd.referenced_step_properties(
        {"a": [{"Get": "Parameters.X"}, {"Get": "Steps.Train.Y"}], "b": {"Get": "Steps.Z.W"}}
    ) == {"Steps.Train.Y", "Steps.Z.W"}
