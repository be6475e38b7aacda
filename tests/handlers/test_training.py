"""The shared training library against moto (state) and botocore Stubber (exact calls, errors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from tests.catalog_file import use_catalog
from tests.sagemaker_sim import PipelineSim
from trainops_runtime import catalog as catalog_module
from trainops_runtime import errors
from trainops_runtime.adapters import clients
from trainops_runtime.adapters.training import running_executions, start_training
from trainops_runtime.catalog import CatalogError, ModelCatalog, UnknownModel
from trainops_runtime.training_request import InvalidRequest, parse

CATALOG = ModelCatalog.from_json(
    json.dumps(
        {
            "churn": {
                "pipelineName": "trainops-test-churn",
                "trainingData": "s3://data/churn/",
                "hyperparameters": ["epochs", "learning_rate"],
                "maxRuntimeMinutes": 240,
            },
            "fraud": {
                "pipelineName": "trainops-test-fraud",
                "trainingData": "s3://data/fraud/",
                "hyperparameters": [],
                "maxRuntimeMinutes": 60,
                "maxWaitMinutes": 180,
            },
        }
    )
)
REQUEST = {"model": "churn", "requestId": "req-1", "requestedBy": "tests", "reason": "unit test"}


@pytest.fixture
def sim(pipelines: PipelineSim) -> PipelineSim:
    pipelines.create_pipeline("trainops-test-churn")
    pipelines.create_pipeline("trainops-test-fraud")
    return pipelines


def test_start_training_maps_the_request_onto_pipeline_parameters(sim: PipelineSim) -> None:
    request = parse(
        {**REQUEST, "dataUri": "s3://data/churn/2026-11/", "hyperparameters": {"epochs": "5"}}
    )
    arn = start_training(request, CATALOG, trigger="queue")
    assert arn.startswith("arn:aws:sagemaker:us-east-1:")
    assert sim.parameters(arn) == {
        "RequestId": "req-1",
        "Attempt": "1",
        "TrainingDataUri": "s3://data/churn/2026-11/",
        "Hp-epochs": "5",
    }
    execution = sim.execution(arn)
    assert execution.client_request_token == request.idempotency_token()
    assert execution.pipeline_execution_display_name == request.execution_display_name("queue")
    assert execution.pipeline_execution_display_name.startswith("que-churn-a1-")
    assert "queue: unit test" in execution.pipeline_execution_description


def test_the_same_request_twice_starts_one_execution(sim: PipelineSim) -> None:
    first = start_training(parse(REQUEST), CATALOG, trigger="queue")
    second = start_training(parse(REQUEST), CATALOG, trigger="queue")
    assert first == second
    assert len(sim.executions("trainops-test-churn")) == 1
    retry = start_training(parse({**REQUEST, "attempt": 2}), CATALOG, trigger="queue")
    assert retry != first
    assert len(sim.executions("trainops-test-churn")) == 2


def test_the_token_sent_is_the_same_for_a_redelivery(moto_aws: None) -> None:
    """Exact request check: both deliveries send the identical ClientRequestToken."""
    sagemaker = clients.client("sagemaker")
    token = parse(REQUEST).idempotency_token()
    with Stubber(sagemaker) as stubber:
        for _ in range(2):
            stubber.add_response(
                "start_pipeline_execution",
                {
                    "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn/execution/abc"
                },
                {
                    "PipelineName": "trainops-test-churn",
                    "PipelineExecutionDisplayName": parse(REQUEST).execution_display_name("queue"),
                    "PipelineExecutionDescription": "queue: unit test (request req-1, attempt 1, by tests)",
                    "PipelineParameters": [
                        {"Name": "Attempt", "Value": "1"},
                        {"Name": "RequestId", "Value": "req-1"},
                    ],
                    "ClientRequestToken": token,
                },
            )
        start_training(parse(REQUEST), CATALOG, trigger="queue")
        start_training(parse(REQUEST), CATALOG, trigger="queue")
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": "unknown"}, "unknown model 'unknown'; this stack trains: churn, fraud"),
        (
            {"hyperparameters": {"depth": "3"}},
            "hyperparameters depth are not configured for churn (overridable: epochs, learning_rate)",
        ),
        (
            {"dataUri": "s3://data/fraud/2026-11/"},
            "dataUri s3://data/fraud/2026-11/ is outside churn's training data; use a location "
            "under s3://data/churn/",
        ),
    ],
)
def test_a_bad_request_fails_before_any_aws_call(
    moto_aws: None, overrides: dict, message: str
) -> None:
    sagemaker = clients.client("sagemaker")
    with Stubber(sagemaker) as stubber:  # no responses queued: any AWS call would fail the test
        with pytest.raises((InvalidRequest, UnknownModel)) as raised:
            start_training(parse({**REQUEST, **overrides}), CATALOG, trigger="queue")
        stubber.assert_no_pending_responses()
    assert message in str(raised.value)


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "StartPipelineExecution",
    )


@pytest.mark.parametrize(
    ("code", "status", "retryable"),
    [
        ("ThrottlingException", 400, True),
        ("ResourceLimitExceeded", 400, True),
        ("InternalServerError", 500, True),
        ("ServiceUnavailable", 503, True),
        ("SomethingNew", 502, True),
        ("ValidationException", 400, False),
        ("ResourceNotFound", 400, False),
        ("AccessDeniedException", 403, False),
        ("SomethingElse", 400, False),
    ],
)
def test_sagemaker_errors_are_classified(
    moto_aws: None, code: str, status: int, retryable: bool
) -> None:
    sagemaker = clients.client("sagemaker")
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error(
            "start_pipeline_execution", service_error_code=code, http_status_code=status
        )
        with pytest.raises(errors.StartFailed) as raised:
            start_training(parse(REQUEST), CATALOG, trigger="queue")
    assert raised.value.retryable is retryable
    assert raised.value.code == code
    # botocore's error stays attached, and is classified the same way
    assert isinstance(raised.value.__cause__, ClientError)
    assert errors.is_retryable(raised.value.__cause__) is retryable


def test_network_errors_are_retryable() -> None:
    assert errors.is_retryable(EndpointConnectionError(endpoint_url="https://sagemaker"))
    assert errors.is_retryable(errors.RetryableError("later"))
    assert not errors.is_retryable(ValueError("bug"))
    assert errors.is_retryable(client_error("Throttling", 400))
    assert errors.is_retryable(HTTPClientError(error="connection reset"))


def test_botocore_errors_about_the_call_itself_are_permanent() -> None:
    """A malformed call or a function without region or credentials fails the same way again."""
    assert not errors.is_retryable(ParamValidationError(report="PipelineName is required"))
    assert not errors.is_retryable(NoRegionError())
    assert not errors.is_retryable(NoCredentialsError())


def test_only_a_5xx_or_a_broken_connection_may_have_started_something() -> None:
    """What decides whether a failed start keeps its training slot."""
    assert errors.may_have_taken_effect(client_error("InternalFailure", 500))
    assert errors.may_have_taken_effect(ReadTimeoutError(endpoint_url="https://sagemaker"))
    assert errors.may_have_taken_effect(HTTPClientError(error="connection reset"))
    assert not errors.may_have_taken_effect(client_error("ThrottlingException", 400))
    assert not errors.may_have_taken_effect(client_error("ValidationException", 400))
    assert not errors.may_have_taken_effect(EndpointConnectionError(endpoint_url="https://x"))
    assert not errors.may_have_taken_effect(ParamValidationError(report="PipelineName"))


def test_running_executions_counts_only_live_ones(sim: PipelineSim) -> None:
    done = start_training(parse(REQUEST), CATALOG, trigger="queue")
    live = start_training(parse({**REQUEST, "requestId": "req-2"}), CATALOG, trigger="queue")
    stopping = start_training(parse({**REQUEST, "requestId": "req-3"}), CATALOG, trigger="queue")
    sim.finish(done, "Succeeded")
    sim.finish(stopping, "Stopping")
    running = running_executions("churn", CATALOG)
    assert sorted(r.execution_arn for r in running) == sorted([live, stopping])
    assert running_executions("fraud", CATALOG) == []


def test_running_executions_asks_for_recent_executions_newest_first(moto_aws: None) -> None:
    sagemaker = clients.client("sagemaker")
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    page = {
        "PipelineExecutionSummaries": [
            {
                "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/a",
                "PipelineExecutionStatus": "Executing",
            }
        ],
        "NextToken": "page-2",
    }
    last = {
        "PipelineExecutionSummaries": [
            {
                "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/b",
                "PipelineExecutionStatus": "Failed",
            }
        ]
    }
    expected = {
        "PipelineName": "trainops-test-fraud",
        "CreatedAfter": datetime(2026, 11, 21, 9, 0, tzinfo=UTC),  # 180 min spot wait + 24 h
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,
    }
    with Stubber(sagemaker) as stubber:
        stubber.add_response("list_pipeline_executions", page, expected)
        stubber.add_response("list_pipeline_executions", last, {**expected, "NextToken": "page-2"})
        running = running_executions("fraud", CATALOG, now=now)
        stubber.assert_no_pending_responses()
    assert [r.execution_arn.rsplit("/", 1)[-1] for r in running] == ["a"]


def test_a_resumed_start_returns_the_listed_execution_without_a_second_start(
    moto_aws: None,
) -> None:
    """A redelivery holding its slot looks for the first delivery's execution (any state) by
    its display name; the Stubber fails on any call beyond the listing, so no start is sent."""
    request = parse(REQUEST)
    execution = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn/execution/a"
    page = {
        "PipelineExecutionSummaries": [
            {
                "PipelineExecutionArn": execution.replace("/a", "/other"),
                "PipelineExecutionStatus": "Executing",
                "PipelineExecutionDisplayName": "que-churn-a1-someoneelse",
            },
            {
                "PipelineExecutionArn": execution,
                "PipelineExecutionStatus": "Succeeded",
                "PipelineExecutionDisplayName": request.execution_display_name("queue"),
            },
        ]
    }
    with Stubber(clients.client("sagemaker")) as stubber:
        stubber.add_response("list_pipeline_executions", page)
        assert start_training(request, CATALOG, trigger="queue", resume=True) == execution
        stubber.assert_no_pending_responses()


def test_a_resumed_start_that_finds_nothing_starts_with_the_same_token(sim: PipelineSim) -> None:
    request = parse(REQUEST)
    arn = start_training(request, CATALOG, trigger="queue", resume=True)
    assert [e.client_request_token for e in sim.executions("trainops-test-churn")] == [
        request.idempotency_token()
    ]
    # its redelivery finds it listed
    assert start_training(request, CATALOG, trigger="queue", resume=True) == arn
    assert len(sim.executions("trainops-test-churn")) == 1


def test_a_listing_that_failed_fails_the_start_as_classified(moto_aws: None) -> None:
    with Stubber(clients.client("sagemaker")) as stubber:
        stubber.add_client_error("list_pipeline_executions", "ThrottlingException", "slow down")
        with pytest.raises(errors.StartFailed) as failed:
            start_training(parse(REQUEST), CATALOG, trigger="queue", resume=True)
    assert failed.value.retryable


def test_catalog_from_the_file_in_the_code(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    catalog_module.load.cache_clear()
    monkeypatch.delenv(catalog_module.PATH_ENV, raising=False)
    # In the source tree there is no catalog: the program writes one into each code archive.
    assert catalog_module.catalog_path().name == "catalog.json"
    assert catalog_module.catalog_path().parent.name == "trainops_runtime"
    with pytest.raises(CatalogError, match="deployed without a model catalog"):
        catalog_module.load()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    monkeypatch.setenv(catalog_module.PATH_ENV, str(broken))
    catalog_module.load.cache_clear()
    with pytest.raises(CatalogError, match="not a valid model catalog"):
        catalog_module.load()
    use_catalog(
        monkeypatch,
        {"churn": {"pipelineName": "p", "trainingData": "s3://d/", "maxRuntimeMinutes": 5}},
    )
    assert catalog_module.load().get("churn").pipeline_name == "p"
    assert catalog_module.load().get("churn").only_when_new_data is False
    assert catalog_module.load().by_pipeline("p") == "churn"
    assert catalog_module.load().by_pipeline("P") == "churn"  # ARNs in events are lower case
    catalog_module.load.cache_clear()
