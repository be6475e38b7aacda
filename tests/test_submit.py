"""`trainops submit` and the request schema producers use."""

from __future__ import annotations

import json

import boto3
import pytest

from cli import submit as submit_module
from cli.main import main
from trainops_runtime.training_request import TrainingRequest, parse


def test_the_schema_states_the_one_model_name_rule() -> None:
    from trainops_runtime import training_request

    model = json.loads(submit_module.SCHEMA_PATH.read_text())["properties"]["model"]
    assert model["pattern"] == training_request.MODEL_NAME_BODY
    assert model["maxLength"] == training_request.MODEL_NAME_MAX


def test_the_schema_file_is_the_contract_the_worker_enforces() -> None:
    schema = json.loads(submit_module.SCHEMA_PATH.read_text())
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"model", "requestId"}
    request = TrainingRequest(model="churn", request_id="r-1", hyperparameters={"epochs": "3"})
    assert json.loads(request.to_message()).keys() <= schema["properties"].keys()


def test_submit_validates_and_queues_a_fresh_request(
    moto_aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(
        QueueName="trainops-dev-training-requests.fifo", Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    assert (
        main(
            [
                "submit",
                "--stack",
                "dev",
                "--model",
                "churn",
                "--data",
                "s3://example-ml-data/churn/train/2026-11/",
                "--param",
                "epochs=5",
                "--reason",
                "new labels",
            ]
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"]).get("Messages", [])
    request = parse(message["Body"])
    assert request.request_id == printed["requestId"]
    assert request.hyperparameters == {"epochs": "5"}
    assert request.data_uri == "s3://example-ml-data/churn/train/2026-11/"
    assert request.reason == "new labels"
    assert message["Attributes"]["MessageGroupId"] == "churn"
    assert message["Attributes"]["MessageDeduplicationId"] == request.idempotency_token()
    assert main(["submit", "--stack", "dev", "--model", "churn", "--dry-run"]) == 0
    other = json.loads(capsys.readouterr().out)
    assert other["requestId"] != request.request_id  # a fresh id every time


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "ghost"], "unknown model 'ghost'; stack dev trains: churn, fraud"),
        (
            ["--model", "churn", "--param", "depth=3"],
            "hyperparameters depth are not configured for churn",
        ),
        (["--model", "churn", "--param", "epochs"], "must look like name=value"),
        (["--model", "churn", "--data", "data/local/"], "dataUri must match pattern ^s3://"),
        # the worker would dead-letter it: the execution role reads only churn's data
        (
            ["--model", "churn", "--data", "s3://other-bucket/churn/"],
            "dataUri s3://other-bucket/churn/ is outside churn's training data; use a location "
            "under s3://example-ml-data/churn/train/",
        ),
        (
            ["--model", "churn", "--data", "s3://example-ml-data/fraud/train/"],
            "is outside churn's training data",
        ),
    ],
)
def test_submit_rejects_bad_requests_before_sending(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["submit", "--stack", "dev", "--dry-run", *args]) == 2
    assert message in capsys.readouterr().err


def test_submit_accepts_data_under_the_models_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    data = "s3://example-ml-data/churn/train/2026-11/"
    assert main(["submit", "--stack", "dev", "--dry-run", "--model", "churn", "--data", data]) == 0
    assert json.loads(capsys.readouterr().out)["dataUri"] == data
