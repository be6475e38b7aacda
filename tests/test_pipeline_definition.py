"""The pipeline definition generator on its own (no Pulumi)."""

from __future__ import annotations

import json

import pytest

from components.training_pipeline import definition as pd
from trainops_runtime import pipeline_contract

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


@pytest.mark.parametrize(
    "inputs",
    [
        BASE,
        pd.PipelineInputs(**{**BASE.__dict__, "spot": True, "spot_max_wait_seconds": 7200}),
        pd.PipelineInputs(**{**BASE.__dict__, "register": True, "model_package_group": "g"}),
        pd.PipelineInputs(**{**BASE.__dict__, "hyperparameters": {}}),
    ],
    ids=["plain", "spot", "register", "no-hyperparameters"],
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
