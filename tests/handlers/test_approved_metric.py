"""A gate that compares with the approved version: the report's metric, the lookup (moto, and a
Stubber for the exact requests) and the starters' pipeline parameter."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.sagemaker_sim import PipelineSim
from trainops_runtime import errors
from trainops_runtime.adapters import clients
from trainops_runtime.adapters.approved_metric import approved_comparison
from trainops_runtime.adapters.training import start_training
from trainops_runtime.catalog import ApprovedMetric, ModelCatalog
from trainops_runtime.evaluation_report import ReportProblem, metric_at, path_steps
from trainops_runtime.training_request import parse

GROUP = "trainops-test--churn"
BUCKET = "trainops-test-artifacts"
REPORTS = f"s3://{BUCKET}/evaluation/churn/"
SPEC = ApprovedMetric(package_group=GROUP, metric="metrics.auc.value", reports=REPORTS)
PIPELINE = "trainops-test--churn"
CATALOG = ModelCatalog.from_json(
    json.dumps(
        {
            "churn": {
                "pipelineName": PIPELINE,
                "trainingData": "s3://data/churn/",
                "maxRuntimeMinutes": 60,
                "approvedMetric": {
                    "packageGroup": GROUP,
                    "metric": "metrics.auc.value",
                    "reports": REPORTS,
                },
            },
        }
    )
)
REQUEST = {"model": "churn", "requestId": "req-1", "requestedBy": "tests", "reason": "drift"}


# ---- the report ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("metrics.auc.value", ["metrics", "auc", "value"]),
        ("scores[1].value", ["scores", 1, "value"]),
        ("matrix[0][2]", ["matrix", 0, 2]),
    ],
)
def test_a_path_is_keys_and_indexes(path: str, steps: list[Any]) -> None:
    assert path_steps(path) == steps


@pytest.mark.parametrize("path", ["metrics..auc", "metrics.auc[x]", ".auc", "auc."])
def test_a_malformed_path_is_refused(path: str) -> None:
    with pytest.raises(ReportProblem, match="not a JSON path"):
        path_steps(path)


def test_the_metric_is_read_as_the_condition_step_reads_it() -> None:
    report = {"metrics": {"auc": {"value": 0.91}}, "scores": [{"value": "7"}, {"value": 3}]}
    text = json.dumps(report)
    assert metric_at(text, "metrics.auc.value") == 0.91
    assert metric_at(text.encode(), "scores[0].value") == 7.0  # JsonGet reads numeric strings
    assert metric_at(text, "scores[1].value") == 3.0


@pytest.mark.parametrize(
    ("report", "path", "problem"),
    [
        ("{not json", "a", "not JSON"),
        ('{"metrics": {}}', "metrics.auc.value", "has no metrics.auc.value"),
        ('{"scores": [1]}', "scores[3]", "has no scores[3]"),
        ('{"auc": true}', "auc", "bool, not a number"),
        ('{"auc": {"value": 1}}', "auc", "dict, not a number"),
        ('{"auc": "high"}', "auc", "not a number"),
        ('{"auc": "NaN"}', "auc", "not a finite number"),
    ],
)
def test_a_report_without_a_usable_metric_says_why(report: str, path: str, problem: str) -> None:
    with pytest.raises(ReportProblem, match=re.escape(problem)):
        metric_at(report, path)


# ---- the lookup on moto ---------------------------------------------------------------------


def _registry() -> tuple[Any, Any]:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
    return sagemaker, s3


def _register(sagemaker: Any, status: str, report_uri: str | None) -> str:
    request: dict[str, Any] = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    }
    if report_uri:
        request["ModelMetrics"] = {
            "ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report_uri}}
        }
    return str(sagemaker.create_model_package(**request)["ModelPackageArn"])


def _report(s3: Any, run: str, auc: float) -> str:
    key = f"evaluation/churn/{run}/attempt-1/evaluation.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps({"metrics": {"auc": {"value": auc}}}))
    return f"s3://{BUCKET}/{key}"


def test_no_approved_version_means_the_threshold_alone(moto_aws: None) -> None:
    sagemaker, s3 = _registry()
    _register(sagemaker, "PendingManualApproval", _report(s3, "r1", 0.95))
    comparison = approved_comparison(SPEC)
    assert comparison.value is None
    assert "no approved version yet" in comparison.detail


def test_the_newest_approved_version_is_compared_with(moto_aws: None) -> None:
    sagemaker, s3 = _registry()
    _register(sagemaker, "Approved", _report(s3, "r1", 0.84))
    _register(sagemaker, "Approved", _report(s3, "r2", 0.88))
    _register(sagemaker, "Rejected", _report(s3, "r3", 0.99))
    _register(sagemaker, "PendingManualApproval", _report(s3, "r4", 0.97))
    comparison = approved_comparison(SPEC)
    assert comparison.value == 0.88
    assert comparison.detail == "compared with approved v2 (metrics.auc.value = 0.88)"


def test_a_report_outside_the_models_prefix_is_never_read(moto_aws: None) -> None:
    """A version registered by hand may point anywhere; the starter reads only what the gate
    wrote (had it tried, the missing object would have failed the start)."""
    sagemaker, _ = _registry()
    _register(sagemaker, "Approved", f"s3://{BUCKET}/evaluation/fraud/r1/evaluation.json")
    comparison = approved_comparison(SPEC)
    assert comparison.value is None
    assert "v1 has no trainops evaluation report" in comparison.detail


def test_a_version_registered_without_a_report_is_gated_by_the_threshold(moto_aws: None) -> None:
    sagemaker, _ = _registry()
    _register(sagemaker, "Approved", None)
    assert approved_comparison(SPEC).value is None


def test_a_report_without_the_metric_is_gated_by_the_threshold(moto_aws: None) -> None:
    sagemaker, s3 = _registry()
    key = "evaluation/churn/r1/attempt-1/evaluation.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b'{"metrics": {"f1": {"value": 0.7}}}')
    _register(sagemaker, "Approved", f"s3://{BUCKET}/{key}")
    comparison = approved_comparison(SPEC)
    assert comparison.value is None
    assert "has no metrics.auc.value" in comparison.detail


def test_an_unreadable_report_fails_the_start_instead_of_loosening_the_gate(
    moto_aws: None,
) -> None:
    sagemaker, _ = _registry()
    _register(sagemaker, "Approved", f"{REPORTS}r1/attempt-1/evaluation.json")  # never written
    with pytest.raises(errors.StartFailed) as failed:
        approved_comparison(SPEC)
    assert failed.value.code == "NoSuchKey"


def test_the_lookup_sends_exactly_these_requests(moto_aws: None) -> None:
    """botocore validates each request against the service model (MaxResults, enums, ...)."""
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{GROUP}/7"
    sagemaker = clients.client("sagemaker")
    s3 = clients.client("s3")
    report = f"{REPORTS}req-9/attempt-2/evaluation.json"
    with Stubber(sagemaker) as sm, Stubber(s3) as storage:
        sm.add_response(
            "list_model_packages",
            {
                "ModelPackageSummaryList": [
                    {
                        "ModelPackageArn": arn,
                        "ModelPackageGroupName": GROUP,
                        "ModelPackageVersion": 7,
                        "CreationTime": "2026-11-30T00:00:00Z",
                        "ModelPackageStatus": "Completed",
                        "ModelApprovalStatus": "Approved",
                    }
                ]
            },
            {
                "ModelPackageGroupName": GROUP,
                "ModelApprovalStatus": "Approved",
                "ModelPackageType": "Versioned",
                "SortBy": "CreationTime",
                "SortOrder": "Descending",
                "MaxResults": 1,
            },
        )
        sm.add_response(
            "describe_model_package",
            {
                "ModelPackageName": GROUP,
                "ModelPackageArn": arn,
                "CreationTime": "2026-11-30T00:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelPackageStatusDetails": {"ValidationStatuses": []},
                "ModelMetrics": {
                    "ModelQuality": {
                        "Statistics": {"ContentType": "application/json", "S3Uri": report}
                    }
                },
            },
            {"ModelPackageName": arn},
        )
        body = json.dumps({"metrics": {"auc": {"value": 0.9}}}).encode()
        storage.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body))},
            {
                "Bucket": BUCKET,
                "Key": "evaluation/churn/req-9/attempt-2/evaluation.json",
                "Range": "bytes=0-1048575",
            },
        )
        assert approved_comparison(SPEC).value == 0.9
        sm.assert_no_pending_responses()
        storage.assert_no_pending_responses()


# ---- the starters' parameter ----------------------------------------------------------------


def test_a_start_sets_approved_metric_value_and_says_so(
    moto_aws: None, pipelines: PipelineSim
) -> None:
    pipelines.create_pipeline(PIPELINE)
    sagemaker, s3 = _registry()
    _register(sagemaker, "Approved", _report(s3, "r1", 0.875))
    arn = start_training(parse(REQUEST), CATALOG, trigger="quality")
    assert pipelines.parameters(arn)["ApprovedMetricValue"] == "0.875"
    description = pipelines.execution(arn).pipeline_execution_description
    assert description.endswith("; gate compared with approved v1 (metrics.auc.value = 0.875)")


def test_a_redelivery_after_a_new_approval_keeps_the_first_deliverys_execution(
    moto_aws: None, pipelines: PipelineSim
) -> None:
    pipelines.create_pipeline(PIPELINE)
    sagemaker, s3 = _registry()
    _register(sagemaker, "Approved", _report(s3, "r1", 0.875))
    first = start_training(parse(REQUEST), CATALOG, trigger="quality")
    _register(sagemaker, "Approved", _report(s3, "r2", 0.95))  # approved before the redelivery
    again = start_training(parse(REQUEST), CATALOG, trigger="quality", resume=True)
    assert again == first
    assert len(pipelines.executions(PIPELINE)) == 1
    assert pipelines.parameters(first)["ApprovedMetricValue"] == "0.875"


def test_without_an_approved_version_the_parameter_keeps_its_default(
    moto_aws: None, pipelines: PipelineSim
) -> None:
    pipelines.create_pipeline(PIPELINE)
    _registry()
    arn = start_training(parse(REQUEST), CATALOG, trigger="queue")
    assert "ApprovedMetricValue" not in pipelines.parameters(arn)
    assert "gate no approved version yet" in pipelines.execution(arn).pipeline_execution_description


def test_a_model_without_the_comparison_makes_no_registry_call(
    moto_aws: None, pipelines: PipelineSim
) -> None:
    pipelines.create_pipeline("plain")
    catalog = ModelCatalog.from_json(
        json.dumps(
            {"plain": {"pipelineName": "plain", "trainingData": "s3://d/", "maxRuntimeMinutes": 5}}
        )
    )
    with Stubber(clients.client("sagemaker")) as stubber:
        stubber.add_response(
            "start_pipeline_execution",
            {
                "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/plain/execution/x"
            },
        )
        start_training(parse({**REQUEST, "model": "plain"}), catalog, trigger="queue")
        stubber.assert_no_pending_responses()  # one call: no ListModelPackages before it
