"""The approved version's metric, for a gate that compares with it (`compareWithApproved`).

Three calls, made by a starter just before it starts the model's pipeline:

* ListModelPackages of the model's package group, `Approved` only, newest first, one result;
* DescribeModelPackage of that version: its model-quality statistics (`ModelMetrics.ModelQuality
  .Statistics.S3Uri`), which the gate's RegisterModel step attached;
* GetObject of that report, only when it lies under the model's own report prefix (a package
  registered by hand may point anywhere; the starter reads nothing outside what trainops wrote).

The result is the pipeline parameter `ApprovedMetricValue`, or, when there is no approved
version, or it carries no usable trainops report (registered before the gate, by hand, or a
report without the metric), none: the gate then holds the new version to the threshold alone,
and the reason is said in the execution's description. An AWS error is not hidden: it fails the
start (`StartFailed`), so a gate never quietly compares with less than it should.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.catalog import ApprovedMetric
from trainops_runtime.errors import start_failed
from trainops_runtime.evaluation_report import ReportProblem, metric_at

# A report is a small JSON document; anything much larger is not one the gate wrote.
MAX_REPORT_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Comparison:
    """What the gate compares a new version with: the approved value, or why there is none."""

    value: float | None
    detail: str  # for the execution's description


def _statistics_uri(package: dict) -> str | None:
    metrics = package.get("ModelMetrics") or {}
    return ((metrics.get("ModelQuality") or {}).get("Statistics") or {}).get("S3Uri")


def _read(uri: str) -> bytes:
    location = urlparse(uri)
    body = clients.client("s3").get_object(
        Bucket=location.netloc,
        Key=location.path.lstrip("/"),
        Range=f"bytes=0-{MAX_REPORT_BYTES - 1}",
    )["Body"]
    return body.read()


def approved_comparison(spec: ApprovedMetric) -> Comparison:
    """The approved version's value of the gate's metric; raises StartFailed on an AWS error."""
    sagemaker = clients.client("sagemaker")
    try:
        listed = sagemaker.list_model_packages(
            ModelPackageGroupName=spec.package_group,
            ModelApprovalStatus="Approved",
            ModelPackageType="Versioned",
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=1,
        ).get("ModelPackageSummaryList", [])
        if not listed:
            return Comparison(None, "no approved version yet: gated by the threshold alone")
        arn = str(listed[0]["ModelPackageArn"])
        version = listed[0].get("ModelPackageVersion")
        uri = _statistics_uri(sagemaker.describe_model_package(ModelPackageName=arn))
        if not uri or not uri.startswith(spec.reports):
            return Comparison(
                None,
                f"approved v{version} has no trainops evaluation report: gated by the threshold "
                "alone",
            )
        report = _read(uri)
    except (ClientError, BotoCoreError) as error:
        raise start_failed(error) from error
    try:
        value = metric_at(report, spec.metric)
    except ReportProblem as problem:
        return Comparison(None, f"approved v{version}'s report: {problem}; threshold alone")
    return Comparison(value, f"compared with approved v{version} ({spec.metric} = {value:g})")
